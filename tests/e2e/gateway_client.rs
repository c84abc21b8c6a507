//! A small gateway (WebSocket) client for the end-to-end tests.
//!
//! Each connection is driven by a background task that owns the socket: it
//! decodes every server payload (JSON or MessagePack, optionally through one
//! zstd streaming decoder for the whole connection), sends heartbeats on its
//! own while `auto_heartbeat` is on (so slow REST calls in a test never let a
//! session time out), and forwards frames to the test through a channel.
//!
//! The test side (`Gateway`) keeps frames it has read but not yet consumed in
//! a queue, so `expect_dispatch("X")` can skip unrelated events without losing
//! them for a later `expect_dispatch("Y")`. Every wait is bounded.
//!
//! Checked on every frame, for every test:
//! - the envelope: `s`/`t` set on op 0 only;
//! - sequence numbers: each dispatch's `s` is the previous one plus 1 (READY
//!   of a fresh session is 1; after a resume, the first one is `seq + 1`);
//! - the frame kind: MessagePack and zstd-stream payloads come in binary frames.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use zstd::stream::raw::{Decoder as ZstdDecoder, InBuffer, Operation, OutBuffer};

use crate::harness::{str_field, Api, User};

/// How long a test waits for an event it expects.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a test watches for an event that must not come.
pub const QUIET: Duration = Duration::from_secs(1);
/// How long a test waits for the server to close a connection.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Gateway opcodes.
pub mod op {
    pub const DISPATCH: u64 = 0;
    pub const HEARTBEAT: u64 = 1;
    pub const IDENTIFY: u64 = 2;
    pub const PRESENCE_UPDATE: u64 = 3;
    pub const VOICE_STATE_UPDATE: u64 = 4;
    pub const RESUME: u64 = 6;
    pub const RECONNECT: u64 = 7;
    pub const REQUEST_GUILD_MEMBERS: u64 = 8;
    pub const INVALID_SESSION: u64 = 9;
    pub const HELLO: u64 = 10;
    pub const HEARTBEAT_ACK: u64 = 11;
}

/// Gateway intent bits.
pub mod intents {
    pub const GUILDS: u64 = 1 << 0;
    pub const GUILD_MEMBERS: u64 = 1 << 1;
    pub const GUILD_MODERATION: u64 = 1 << 2;
    pub const GUILD_EXPRESSIONS: u64 = 1 << 3;
    pub const GUILD_INTEGRATIONS: u64 = 1 << 4;
    pub const GUILD_WEBHOOKS: u64 = 1 << 5;
    pub const GUILD_INVITES: u64 = 1 << 6;
    pub const GUILD_VOICE_STATES: u64 = 1 << 7;
    pub const GUILD_PRESENCES: u64 = 1 << 8;
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    pub const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
    pub const GUILD_MESSAGE_TYPING: u64 = 1 << 11;
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
    pub const DIRECT_MESSAGE_REACTIONS: u64 = 1 << 13;
    pub const DIRECT_MESSAGE_TYPING: u64 = 1 << 14;
    pub const MESSAGE_CONTENT: u64 = 1 << 15;
    pub const GUILD_SCHEDULED_EVENTS: u64 = 1 << 16;
    pub const AUTO_MODERATION_CONFIGURATION: u64 = 1 << 20;
    pub const AUTO_MODERATION_EXECUTION: u64 = 1 << 21;
    pub const GUILD_MESSAGE_POLLS: u64 = 1 << 24;
    pub const DIRECT_MESSAGE_POLLS: u64 = 1 << 25;

    /// Every defined intent bit.
    pub const ALL: u64 = GUILDS
        | GUILD_MEMBERS
        | GUILD_MODERATION
        | GUILD_EXPRESSIONS
        | GUILD_INTEGRATIONS
        | GUILD_WEBHOOKS
        | GUILD_INVITES
        | GUILD_VOICE_STATES
        | GUILD_PRESENCES
        | GUILD_MESSAGES
        | GUILD_MESSAGE_REACTIONS
        | GUILD_MESSAGE_TYPING
        | DIRECT_MESSAGES
        | DIRECT_MESSAGE_REACTIONS
        | DIRECT_MESSAGE_TYPING
        | MESSAGE_CONTENT
        | GUILD_SCHEDULED_EVENTS
        | AUTO_MODERATION_CONFIGURATION
        | AUTO_MODERATION_EXECUTION
        | GUILD_MESSAGE_POLLS
        | DIRECT_MESSAGE_POLLS;
    /// The privileged ones.
    pub const PRIVILEGED: u64 = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT;
    /// Every defined, unprivileged intent bit.
    pub const UNPRIVILEGED: u64 = ALL & !PRIVILEGED;
}

/// Application flags that enable privileged intents.
pub mod app_flags {
    pub const GATEWAY_PRESENCE: u64 = 1 << 12;
    pub const GATEWAY_PRESENCE_LIMITED: u64 = 1 << 13;
    pub const GATEWAY_GUILD_MEMBERS: u64 = 1 << 14;
    pub const GATEWAY_GUILD_MEMBERS_LIMITED: u64 = 1 << 15;
    pub const GATEWAY_MESSAGE_CONTENT: u64 = 1 << 18;
    pub const GATEWAY_MESSAGE_CONTENT_LIMITED: u64 = 1 << 19;
}

// ---------------------------------------------------------------------------
// Options, frames
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Msgpack,
    Etf,
}

impl Encoding {
    fn query(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::Msgpack => "msgpack",
            Encoding::Etf => "etf",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    pub encoding: Encoding,
    /// Ask for `compress=zstd-stream`.
    pub zstd: bool,
    /// Ask for `compress=zlib-stream`.
    pub zlib: bool,
    /// The `v` query parameter; `None` leaves it out.
    pub version: Option<String>,
    /// Heartbeat on the server's interval without the test asking.
    pub auto_heartbeat: bool,
    /// A name for panic messages.
    pub label: String,
    /// Identify's `properties.region`.
    pub region: Option<String>,
    /// Extra headers on the WebSocket upgrade request.
    pub headers: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            encoding: Encoding::Json,
            zstd: false,
            zlib: false,
            version: Some("10".to_string()),
            auto_heartbeat: true,
            label: "gateway".to_string(),
            region: None,
            headers: Vec::new(),
        }
    }
}

impl Options {
    pub fn label(mut self, label: &str) -> Self {
        self.label = label.to_string();
        self
    }
    pub fn etf(mut self) -> Self {
        self.encoding = Encoding::Etf;
        self
    }

    pub fn msgpack(mut self) -> Self {
        self.encoding = Encoding::Msgpack;
        self
    }
    pub fn zstd(mut self) -> Self {
        self.zstd = true;
        self
    }
    pub fn zlib(mut self) -> Self {
        self.zlib = true;
        self
    }
    pub fn version(mut self, v: &str) -> Self {
        self.version = Some(v.to_string());
        self
    }
    /// Identify claims the client is in `region`.
    pub fn region(mut self, region: &str) -> Self {
        self.region = Some(region.to_string());
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    /// The session never heartbeats unless the test sends op 1 itself.
    pub fn silent(mut self) -> Self {
        self.auto_heartbeat = false;
        self
    }
}

/// One decoded server payload.
#[derive(Clone, Debug)]
pub struct Frame {
    pub op: u64,
    pub d: Value,
    pub s: Option<u64>,
    pub t: Option<String>,
    /// The whole decoded payload.
    pub raw: Value,
    /// Whether it arrived in a binary WebSocket frame.
    pub binary: bool,
}

/// A dispatch (op 0).
#[derive(Clone, Debug)]
pub struct Dispatch {
    pub t: String,
    pub s: u64,
    pub d: Value,
}

/// How a connection ended, as the client saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closed {
    /// The close code, or `None` if the connection ended without a close frame.
    pub code: Option<u16>,
    pub reason: String,
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(c) => write!(f, "close {c} ({:?})", self.reason),
            None => write!(
                f,
                "connection ended without a close frame ({})",
                self.reason
            ),
        }
    }
}

enum Stop {
    Timeout,
    Closed(Closed),
}

enum Event {
    Frame(Frame),
    Closed(Closed),
    Bad(String),
}

enum Cmd {
    Send(Message, oneshot::Sender<Result<(), String>>),
    AutoHeartbeat(bool),
    SetSeq(Option<u64>),
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

// ---------------------------------------------------------------------------
// URLs and login helpers
// ---------------------------------------------------------------------------

/// `GET /api/v10/gateway` → its `url`.
pub async fn gateway_url(api: &Api) -> String {
    let body = api.get("/gateway", None).await.expect(200);
    str_field(&body, "url")
}

/// `url` plus the query string for these options.
pub fn connect_url(url: &str, opts: &Options) -> String {
    let mut q = Vec::new();
    if let Some(v) = &opts.version {
        q.push(format!("v={v}"));
    }
    q.push(format!("encoding={}", opts.encoding.query()));
    if opts.zstd {
        q.push("compress=zstd-stream".to_string());
    }
    if opts.zlib {
        q.push("compress=zlib-stream".to_string());
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", q.join("&"))
}

/// The `d` of an Identify.
pub fn identify_d(token: &str, intents: u64) -> Value {
    json!({
        "token": token,
        "properties": {"os": "linux", "browser": "hearth-e2e", "device": "hearth-e2e"},
        "intents": intents,
    })
}

/// Connects (JSON), identifies `user` and waits for READY and its GUILD_CREATEs.
pub async fn login(api: &Api, user: &User, intents: u64) -> Gateway {
    login_opts(api, user, intents, Options::default().label(&user.username)).await
}

pub async fn login_opts(api: &Api, user: &User, intents: u64, opts: Options) -> Gateway {
    let url = gateway_url(api).await;
    let mut gw = Gateway::connect(&url, opts).await;
    gw.identify(&user.token, intents).await;
    gw.await_ready(intents).await;
    gw
}

/// What a client needs to resume a session.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub token: String,
    pub session_id: String,
    pub resume_url: String,
    pub seq: u64,
}

// ---------------------------------------------------------------------------
// The connection
// ---------------------------------------------------------------------------

pub struct Gateway {
    cmds: mpsc::UnboundedSender<Cmd>,
    events: mpsc::UnboundedReceiver<Event>,
    task: Option<JoinHandle<()>>,
    pending: VecDeque<Frame>,
    closed: Option<Closed>,
    pub opts: Options,
    /// The Hello payload's `d`.
    pub hello: Value,
    /// The last dispatch sequence number seen on this session.
    pub last_seq: Option<u64>,
    /// READY's `d`, once seen.
    pub ready: Option<Value>,
    /// The GUILD_CREATEs that followed READY.
    pub guild_creates: Vec<Value>,
    pub token: Option<String>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Gateway {
    /// Opens a WebSocket to `url` (query added from `opts`) without reading
    /// anything. Use for connections the server is expected to close at once.
    pub async fn open(url: &str, opts: Options) -> Gateway {
        let full = connect_url(url, &opts);
        assert!(
            full.starts_with("ws://127.0.0.1:"),
            "gateway URL must be on 127.0.0.1: {full}"
        );
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = full
            .as_str()
            .into_client_request()
            .expect("a WebSocket request");
        for (name, value) in &opts.headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .expect("a header name"),
                value.parse().expect("a header value"),
            );
        }
        let (ws, _resp) =
            tokio::time::timeout(EVENT_TIMEOUT, tokio_tungstenite::connect_async(request))
                .await
                .unwrap_or_else(|_| {
                    panic!("[{}] WebSocket handshake to {full} timed out", opts.label)
                })
                .unwrap_or_else(|e| {
                    panic!("[{}] WebSocket handshake to {full} failed: {e}", opts.label)
                });
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(pump(ws, opts.clone(), cmd_rx, ev_tx));
        Gateway {
            cmds: cmd_tx,
            events: ev_rx,
            task: Some(task),
            pending: VecDeque::new(),
            closed: None,
            opts,
            hello: Value::Null,
            last_seq: None,
            ready: None,
            guild_creates: Vec::new(),
            token: None,
        }
    }

    /// Opens a connection and reads Hello, which must be the first payload.
    pub async fn connect(url: &str, opts: Options) -> Gateway {
        let mut gw = Gateway::open(url, opts).await;
        let hello = gw.next_frame(EVENT_TIMEOUT).await;
        assert_eq!(
            hello.op,
            op::HELLO,
            "[{}] first payload must be Hello: {}",
            gw.opts.label,
            hello.raw
        );
        let interval = hello.d["heartbeat_interval"].as_u64();
        assert!(
            interval.map(|i| i > 0).unwrap_or(false),
            "[{}] Hello needs a positive integer heartbeat_interval: {}",
            gw.opts.label,
            hello.raw
        );
        gw.hello = hello.d;
        gw
    }

    pub fn label(&self) -> &str {
        &self.opts.label
    }

    pub fn heartbeat_interval(&self) -> u64 {
        self.hello["heartbeat_interval"].as_u64().unwrap_or(0)
    }

    // ----- sending ---------------------------------------------------------

    /// Sends a raw WebSocket message; `Err` once the connection is gone.
    pub async fn send_raw(&mut self, msg: Message) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        if self.cmds.send(Cmd::Send(msg, tx)).is_err() {
            return Err("client task has ended".to_string());
        }
        match tokio::time::timeout(EVENT_TIMEOUT, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err("client task has ended".to_string()),
            Err(_) => Err("send timed out".to_string()),
        }
    }

    /// Encodes `payload` in this connection's encoding and sends it.
    pub async fn try_send(&mut self, payload: Value) -> Result<(), String> {
        let msg = encode(self.opts.encoding, &payload);
        self.send_raw(msg).await
    }

    /// Sends a payload; panics if the connection is gone.
    pub async fn send(&mut self, payload: Value) {
        let label = self.opts.label.clone();
        if let Err(e) = self.try_send(payload.clone()).await {
            panic!("[{label}] sending {payload}: {e}");
        }
    }

    pub async fn send_op(&mut self, op: u64, d: Value) {
        self.send(json!({"op": op, "d": d})).await;
    }

    pub async fn identify(&mut self, token: &str, intents: u64) {
        self.token = Some(token.to_string());
        let mut d = identify_d(token, intents);
        if let Some(region) = &self.opts.region {
            d["properties"]["region"] = json!(region);
        }
        self.send_op(op::IDENTIFY, d).await;
    }

    pub async fn identify_with(&mut self, d: Value) {
        if let Some(t) = d["token"].as_str() {
            self.token = Some(t.to_string());
        }
        self.send_op(op::IDENTIFY, d).await;
    }

    /// Sends op 6. Dispatches that follow must continue from `seq + 1`.
    pub async fn resume(&mut self, info: &SessionInfo) {
        self.resume_at(info, info.seq).await;
    }

    /// Sends op 6 with an arbitrary `seq` (which the sequence check then
    /// expects the replay to continue from).
    pub async fn resume_at(&mut self, info: &SessionInfo, seq: u64) {
        self.token = Some(info.token.clone());
        self.last_seq = Some(seq);
        let _ = self.cmds.send(Cmd::SetSeq(Some(seq)));
        self.send_op(
            op::RESUME,
            json!({"token": info.token, "session_id": info.session_id, "seq": seq}),
        )
        .await;
    }

    /// Sends op 1 with the last sequence number.
    pub async fn heartbeat(&mut self) {
        let seq = self.last_seq;
        self.send_op(op::HEARTBEAT, json!(seq)).await;
    }

    pub fn set_auto_heartbeat(&mut self, on: bool) {
        let _ = self.cmds.send(Cmd::AutoHeartbeat(on));
    }

    /// Closes with `code` and waits (bounded) for the connection to end.
    pub async fn close(mut self, code: u16) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: "bye".into(),
        };
        let _ = self.send_raw(Message::Close(Some(frame))).await;
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        while self.pull(deadline).await.is_ok() {}
        self.shutdown().await;
    }

    /// Drops the TCP connection without a close frame.
    pub async fn drop_tcp(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, task).await;
        }
    }

    // ----- session state ---------------------------------------------------

    /// Waits for READY (s = 1) and, if `intents` has GUILDS, the GUILD_CREATE
    /// of every guild READY lists. Returns READY's `d`.
    pub async fn await_ready(&mut self, intents_asked: u64) -> Value {
        let ready = self.expect_dispatch("READY", EVENT_TIMEOUT).await;
        assert_eq!(ready.s, 1, "[{}] READY must be s=1", self.label());
        let d = ready.d;
        for key in ["session_id", "resume_gateway_url"] {
            assert!(
                d[key].as_str().map(|s| !s.is_empty()).unwrap_or(false),
                "[{}] READY lacks {key}: {d}",
                self.label()
            );
        }
        self.ready = Some(d.clone());
        if intents_asked & intents::GUILDS != 0 {
            let ids: Vec<String> = d["guilds"]
                .as_array()
                .unwrap_or_else(|| panic!("READY.guilds must be an array: {d}"))
                .iter()
                .map(|g| str_field(g, "id"))
                .collect();
            for id in ids {
                let gc = self
                    .expect_dispatch_where(
                        "GUILD_CREATE",
                        |g| g["id"] == id.as_str(),
                        EVENT_TIMEOUT,
                    )
                    .await;
                self.guild_creates.push(gc.d);
            }
        }
        d
    }

    pub fn session_id(&self) -> String {
        let ready = self.ready.as_ref().expect("no READY seen yet");
        str_field(ready, "session_id")
    }

    pub fn resume_url(&self) -> String {
        let ready = self.ready.as_ref().expect("no READY seen yet");
        str_field(ready, "resume_gateway_url")
    }

    /// What a client would keep to resume this session (seq = last seen).
    pub fn session_info(&self) -> SessionInfo {
        SessionInfo {
            token: self.token.clone().expect("no token sent yet"),
            session_id: self.session_id(),
            resume_url: self.resume_url(),
            seq: self.last_seq.expect("no dispatch seen yet"),
        }
    }

    /// The GUILD_CREATE of `guild_id` received after READY.
    pub fn guild_create(&self, guild_id: &str) -> &Value {
        self.guild_creates
            .iter()
            .find(|g| g["id"] == guild_id)
            .unwrap_or_else(|| {
                panic!(
                    "[{}] no GUILD_CREATE for {guild_id} after READY",
                    self.label()
                )
            })
    }

    // ----- receiving -------------------------------------------------------

    /// The next payload from the socket (not the queue).
    async fn pull(&mut self, deadline: Instant) -> Result<Frame, Stop> {
        if let Some(c) = &self.closed {
            return Err(Stop::Closed(c.clone()));
        }
        let ev = match tokio::time::timeout_at(deadline, self.events.recv()).await {
            Err(_) => return Err(Stop::Timeout),
            Ok(None) => Event::Closed(Closed {
                code: None,
                reason: "client task ended".to_string(),
            }),
            Ok(Some(ev)) => ev,
        };
        match ev {
            Event::Frame(f) => {
                self.check(&f);
                Ok(f)
            }
            Event::Closed(c) => {
                self.closed = Some(c.clone());
                Err(Stop::Closed(c))
            }
            Event::Bad(msg) => panic!("[{}] {msg}", self.label()),
        }
    }

    /// Envelope and sequence checks applied to every payload.
    fn check(&mut self, f: &Frame) {
        let label = self.opts.label.clone();
        if f.op == op::DISPATCH {
            let s =
                f.s.unwrap_or_else(|| panic!("[{label}] dispatch without integer s: {}", f.raw));
            assert!(
                f.t.is_some(),
                "[{label}] dispatch without string t: {}",
                f.raw
            );
            let want = self.last_seq.map(|x| x + 1).unwrap_or(1);
            assert_eq!(
                s, want,
                "[{label}] dispatch sequence must increase by exactly 1: {}",
                f.raw
            );
            self.last_seq = Some(s);
        } else {
            assert!(
                f.raw.get("s").map(Value::is_null).unwrap_or(true)
                    && f.raw.get("t").map(Value::is_null).unwrap_or(true),
                "[{label}] s and t must be null outside op 0: {}",
                f.raw
            );
        }
    }

    /// The next payload of any kind (queued ones first). Panics on timeout/close.
    pub async fn next_frame(&mut self, within: Duration) -> Frame {
        if let Some(f) = self.pending.pop_front() {
            return f;
        }
        match self.pull(Instant::now() + within).await {
            Ok(f) => f,
            Err(Stop::Timeout) => panic!("[{}] no payload within {within:?}", self.label()),
            Err(Stop::Closed(c)) => panic!("[{}] waiting for a payload: {c}", self.label()),
        }
    }

    /// The next dispatch in order, skipping (and dropping) other payloads.
    pub async fn next_dispatch(&mut self, within: Duration) -> Dispatch {
        let deadline = Instant::now() + within;
        loop {
            let f = match self.pending.pop_front() {
                Some(f) => f,
                None => match self.pull(deadline).await {
                    Ok(f) => f,
                    Err(Stop::Timeout) => {
                        panic!("[{}] no dispatch within {within:?}", self.label())
                    }
                    Err(Stop::Closed(c)) => {
                        panic!("[{}] waiting for a dispatch: {c}", self.label())
                    }
                },
            };
            if let Some(d) = as_dispatch(&f) {
                return d;
            }
        }
    }

    /// Finds the first queued or incoming payload matching `pred`; others are
    /// queued. `Err` on timeout or close.
    async fn find(
        &mut self,
        pred: &dyn Fn(&Frame) -> bool,
        deadline: Instant,
    ) -> Result<Frame, Stop> {
        if let Some(i) = self.pending.iter().position(pred) {
            return Ok(self.pending.remove(i).expect("index is in range"));
        }
        loop {
            let f = self.pull(deadline).await?;
            if pred(&f) {
                return Ok(f);
            }
            self.pending.push_back(f);
        }
    }

    pub async fn expect_dispatch(&mut self, name: &str, within: Duration) -> Dispatch {
        self.expect_dispatch_where(name, |_| true, within).await
    }

    /// The first dispatch called `name` whose `d` satisfies `pred`.
    pub async fn expect_dispatch_where(
        &mut self,
        name: &str,
        pred: impl Fn(&Value) -> bool,
        within: Duration,
    ) -> Dispatch {
        let m = |f: &Frame| f.op == op::DISPATCH && f.t.as_deref() == Some(name) && pred(&f.d);
        match self.find(&m, Instant::now() + within).await {
            Ok(f) => as_dispatch(&f).expect("matched a dispatch"),
            Err(Stop::Timeout) => panic!(
                "[{}] expected a matching {name} within {within:?}; got instead: {}",
                self.label(),
                self.describe_pending()
            ),
            Err(Stop::Closed(c)) => panic!(
                "[{}] expected a matching {name}, but: {c}; got before: {}",
                self.label(),
                self.describe_pending()
            ),
        }
    }

    pub async fn expect_no_dispatch(&mut self, name: &str, within: Duration) {
        self.expect_no_dispatch_where(name, |_| true, within).await
    }

    /// Watches for `within`: no dispatch called `name` with a `d` satisfying
    /// `pred` may be queued or arrive. Other payloads stay queued.
    pub async fn expect_no_dispatch_where(
        &mut self,
        name: &str,
        pred: impl Fn(&Value) -> bool,
        within: Duration,
    ) {
        let m = |f: &Frame| f.op == op::DISPATCH && f.t.as_deref() == Some(name) && pred(&f.d);
        match self.find(&m, Instant::now() + within).await {
            Ok(f) => panic!("[{}] unexpected {name}: {}", self.label(), f.raw),
            Err(Stop::Timeout) => {}
            Err(Stop::Closed(c)) => panic!(
                "[{}] connection ended while watching for no {name}: {c}",
                self.label()
            ),
        }
    }

    /// The next payload with this opcode (others are queued).
    pub async fn expect_op(&mut self, opcode: u64, within: Duration) -> Frame {
        let m = |f: &Frame| f.op == opcode;
        match self.find(&m, Instant::now() + within).await {
            Ok(f) => f,
            Err(Stop::Timeout) => panic!(
                "[{}] expected op {opcode} within {within:?}; got instead: {}",
                self.label(),
                self.describe_pending()
            ),
            Err(Stop::Closed(c)) => panic!("[{}] expected op {opcode}, but: {c}", self.label()),
        }
    }

    /// Sends a heartbeat and waits for its ACK: proves the connection works.
    pub async fn assert_alive(&mut self) {
        self.heartbeat().await;
        self.expect_op(op::HEARTBEAT_ACK, EVENT_TIMEOUT).await;
    }

    /// Waits for the connection to end; payloads before it are queued.
    pub async fn expect_closed(&mut self, within: Duration) -> Closed {
        let deadline = Instant::now() + within;
        loop {
            match self.pull(deadline).await {
                Ok(f) => self.pending.push_back(f),
                Err(Stop::Closed(c)) => return c,
                Err(Stop::Timeout) => panic!(
                    "[{}] connection still open after {within:?}; received: {}",
                    self.label(),
                    self.describe_pending()
                ),
            }
        }
    }

    /// Waits for the server to close with exactly `code`.
    pub async fn expect_close_code(&mut self, code: u16) {
        let c = self.expect_closed(CLOSE_TIMEOUT).await;
        assert_eq!(
            c.code,
            Some(code),
            "[{}] wanted close {code}, got {c}; received before: {}",
            self.label(),
            self.describe_pending()
        );
    }

    /// The connection must stay open for `within` (payloads are queued).
    pub async fn expect_open(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            match self.pull(deadline).await {
                Ok(f) => self.pending.push_back(f),
                Err(Stop::Timeout) => return,
                Err(Stop::Closed(c)) => panic!("[{}] connection ended: {c}", self.label()),
            }
        }
    }

    /// Everything that arrives within `within` (queued payloads first).
    pub async fn collect(&mut self, within: Duration) -> Vec<Frame> {
        let deadline = Instant::now() + within;
        let mut out: Vec<Frame> = self.pending.drain(..).collect();
        while let Ok(f) = self.pull(deadline).await {
            out.push(f);
        }
        out
    }

    fn describe_pending(&self) -> String {
        if self.pending.is_empty() {
            return "nothing".to_string();
        }
        let parts: Vec<String> = self
            .pending
            .iter()
            .map(|f| match &f.t {
                Some(t) => format!("{t}(s={})", f.s.unwrap_or(0)),
                None => format!("op{}", f.op),
            })
            .collect();
        let mut s = parts.join(", ");
        if s.len() > 3000 {
            s.truncate(3000);
            s.push_str("...");
        }
        s
    }
}

fn as_dispatch(f: &Frame) -> Option<Dispatch> {
    if f.op != op::DISPATCH {
        return None;
    }
    Some(Dispatch {
        t: f.t.clone().unwrap_or_default(),
        s: f.s.unwrap_or(0),
        d: f.d.clone(),
    })
}

fn encode(enc: Encoding, payload: &Value) -> Message {
    match enc {
        Encoding::Json => Message::text(payload.to_string()),
        Encoding::Msgpack => Message::binary(
            rmp_serde::to_vec_named(payload).expect("encoding a payload as MessagePack"),
        ),
        Encoding::Etf => {
            let mut out = vec![hearth_signaling::etf::VERSION];
            hearth_signaling::etf::write(payload, &mut out);
            Message::binary(out)
        }
    }
}

// ---------------------------------------------------------------------------
// The background task
// ---------------------------------------------------------------------------

struct Decoding {
    encoding: Encoding,
    zstd: Option<ZstdDecoder<'static>>,
    /// One inflater for the connection, as Discord's libraries keep.
    zlib: Option<flate2::Decompress>,
}

impl Decoding {
    fn decode(&mut self, bytes: &[u8], binary: bool) -> Result<Frame, String> {
        let inflated;
        let payload: &[u8] = match &mut self.zstd {
            Some(dec) => {
                if !binary {
                    return Err("zstd-stream connection sent a text frame".to_string());
                }
                inflated = inflate(dec, bytes)?;
                if inflated.is_empty() {
                    return Err(
                        "a zstd-stream message decoded to nothing (not flushed?)".to_string()
                    );
                }
                &inflated
            }
            None => match &mut self.zlib {
                Some(inflater) => {
                    if !binary {
                        return Err("zlib-stream connection sent a text frame".to_string());
                    }
                    // Libraries inflate once a message ends in a sync flush.
                    if !bytes.ends_with(&[0x00, 0x00, 0xff, 0xff]) {
                        return Err("a zlib-stream message without the sync-flush suffix".into());
                    }
                    inflated = inflate_zlib(inflater, bytes)?;
                    &inflated
                }
                None => bytes,
            },
        };
        let raw: Value = match self.encoding {
            Encoding::Json => serde_json::from_slice(payload).map_err(|e| {
                format!(
                    "payload is not one complete JSON document ({e}): {}",
                    String::from_utf8_lossy(payload)
                )
            })?,
            Encoding::Msgpack => {
                if !binary {
                    return Err(format!(
                        "msgpack connection sent a text frame: {}",
                        String::from_utf8_lossy(bytes)
                    ));
                }
                rmp_serde::from_slice(payload).map_err(|e| {
                    format!("payload is not one complete MessagePack value ({e}): {payload:?}")
                })?
            }
            Encoding::Etf => {
                if !binary {
                    return Err("etf connection sent a text frame".to_string());
                }
                hearth_signaling::etf::read(payload).map_err(|e| {
                    format!("payload is not one complete ETF term ({e}): {payload:?}")
                })?
            }
        };
        if !raw.is_object() {
            return Err(format!("payload is not a map: {raw}"));
        }
        let op = raw["op"]
            .as_u64()
            .ok_or_else(|| format!("payload without integer op: {raw}"))?;
        Ok(Frame {
            op,
            d: raw.get("d").cloned().unwrap_or(Value::Null),
            s: raw.get("s").and_then(Value::as_u64),
            t: raw.get("t").and_then(Value::as_str).map(str::to_string),
            raw,
            binary,
        })
    }
}

/// Feeds one message into the connection's zlib stream.
fn inflate_zlib(inflater: &mut flate2::Decompress, input: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(input.len() * 4 + 1024);
    let start = inflater.total_in();
    loop {
        let consumed = (inflater.total_in() - start) as usize;
        out.reserve(16 * 1024);
        inflater
            .decompress_vec(&input[consumed..], &mut out, flate2::FlushDecompress::Sync)
            .map_err(|e| format!("zlib-stream inflating failed: {e}"))?;
        if (inflater.total_in() - start) as usize == input.len() && out.len() < out.capacity() {
            return Ok(out);
        }
    }
}

/// Feeds one message into the connection's zstd stream; returns everything
/// it decodes to.
fn inflate(dec: &mut ZstdDecoder<'static>, input: &[u8]) -> Result<Vec<u8>, String> {
    let mut inbuf = InBuffer::around(input);
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let written = {
            let mut outbuf = OutBuffer::around(&mut chunk[..]);
            dec.run(&mut inbuf, &mut outbuf)
                .map_err(|e| format!("zstd-stream decoding failed: {e}"))?;
            outbuf.pos()
        };
        out.extend_from_slice(&chunk[..written]);
        if inbuf.pos() >= input.len() && written < chunk.len() {
            return Ok(out);
        }
    }
}

async fn pump(
    mut ws: Ws,
    opts: Options,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut decoding = Decoding {
        encoding: opts.encoding,
        zstd: if opts.zstd {
            Some(ZstdDecoder::new().expect("creating a zstd decoder"))
        } else {
            None
        },
        zlib: opts.zlib.then(|| flate2::Decompress::new(true)),
    };
    let mut auto = opts.auto_heartbeat;
    let mut interval: Option<Duration> = None;
    let mut next_hb = Instant::now() + Duration::from_secs(3600);
    let mut seq: Option<u64> = None;
    let mut close_reported = false;

    loop {
        let hb_armed = auto && interval.is_some();
        tokio::select! {
            msg = ws.next() => {
                let (bytes, binary) = match msg {
                    None => {
                        if !close_reported {
                            let _ = events.send(Event::Closed(Closed {
                                code: None,
                                reason: "stream ended".to_string(),
                            }));
                        }
                        return;
                    }
                    Some(Err(e)) => {
                        if !close_reported {
                            let _ = events.send(Event::Closed(Closed {
                                code: None,
                                reason: e.to_string(),
                            }));
                        }
                        return;
                    }
                    Some(Ok(Message::Close(frame))) => {
                        if !close_reported {
                            close_reported = true;
                            let c = match frame {
                                Some(f) => Closed {
                                    code: Some(u16::from(f.code)),
                                    reason: f.reason.as_str().to_string(),
                                },
                                None => Closed {
                                    code: None,
                                    reason: "close frame without a code".to_string(),
                                },
                            };
                            let _ = events.send(Event::Closed(c));
                        }
                        // Keep polling so tungstenite completes the handshake.
                        continue;
                    }
                    Some(Ok(Message::Text(t))) => (t.as_str().as_bytes().to_vec(), false),
                    Some(Ok(Message::Binary(b))) => (b.to_vec(), true),
                    Some(Ok(_)) => continue,
                };
                match decoding.decode(&bytes, binary) {
                    Ok(f) => {
                        if f.op == op::HELLO {
                            if let Some(ms) = f.d["heartbeat_interval"].as_u64() {
                                let iv = Duration::from_millis(ms.max(1));
                                interval = Some(iv);
                                next_hb = Instant::now() + iv * 3 / 4;
                            }
                        }
                        if f.op == op::DISPATCH {
                            if let Some(s) = f.s {
                                seq = Some(s);
                            }
                        }
                        let _ = events.send(Event::Frame(f));
                    }
                    Err(e) => {
                        let _ = events.send(Event::Bad(e));
                    }
                }
            }
            cmd = cmds.recv() => match cmd {
                None => return,
                Some(Cmd::Send(msg, ack)) => {
                    let r = ws.send(msg).await.map_err(|e| e.to_string());
                    let _ = ack.send(r);
                }
                Some(Cmd::AutoHeartbeat(on)) => {
                    auto = on;
                    if let Some(iv) = interval {
                        next_hb = Instant::now() + iv * 3 / 4;
                    }
                }
                Some(Cmd::SetSeq(s)) => seq = s,
            },
            _ = tokio::time::sleep_until(next_hb), if hb_armed => {
                let iv = interval.expect("armed only with an interval");
                next_hb = Instant::now() + iv * 3 / 4;
                let hb = encode(opts.encoding, &json!({"op": op::HEARTBEAT, "d": seq}));
                if ws.send(hb).await.is_err() {
                    // The read side reports how the connection ended.
                }
            }
        }
    }
}
