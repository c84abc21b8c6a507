//! One WebSocket connection: the async edge around [`Protocol`].
//!
//! A single task reads client frames, writes queued dispatches and watches
//! the heartbeat deadline. When it ends, the session is either ended (a
//! 1000/1001 close from the client, or a close code that forbids resuming)
//! or detached, and then ended only if no resume comes within the grace.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use hearth_proto::gateway::{gateway_url, op, public_gateway_url, CloseCode, Hello};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::codec::{Codec, Compression, Encoding};
use crate::gateway::Gateway;
use crate::identify::{self, Refused, ResumeOutcome};
use crate::protocol::Protocol;
use crate::request::Request;
use crate::session::{Outgoing, Session};
use crate::voice;

/// A write that takes longer than this means the client stopped reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing connection waits for the client's close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

pub fn router(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route("/gateway", get(upgrade))
        .route("/gateway/", get(upgrade))
        .with_state(gw)
}

/// What the URL asked for.
#[derive(Debug, Clone)]
pub struct Params {
    pub encoding: Encoding,
    pub compression: Compression,
    /// A query the gateway must refuse, with the close code to refuse it with.
    pub refuse: Option<CloseCode>,
    pub gateway_url: String,
    /// The client's region, from the header the operator named
    /// (`GatewayConfig::region_header`), when it holds a region name.
    pub region: Option<String>,
}

impl Params {
    pub fn parse(query: &HashMap<String, String>, gateway_url: String) -> Params {
        let mut refuse = None;
        match query.get("v").map(String::as_str) {
            None | Some("9") | Some("10") => {}
            Some(_) => refuse = Some(CloseCode::InvalidApiVersion),
        }
        let encoding = match query.get("encoding").map(String::as_str) {
            None | Some("json") => Encoding::Json,
            Some("msgpack") => Encoding::MsgPack,
            Some("etf") => Encoding::Etf,
            Some(_) => {
                refuse.get_or_insert(CloseCode::DecodeError);
                Encoding::Json
            }
        };
        let compression = match query.get("compress").map(String::as_str) {
            None => Compression::None,
            Some("zstd-stream") => Compression::ZstdStream,
            Some("zlib-stream") => Compression::ZlibStream,
            Some(_) => {
                refuse.get_or_insert(CloseCode::DecodeError);
                Compression::None
            }
        };
        Params {
            encoding,
            compression,
            refuse,
            gateway_url,
            region: None,
        }
    }
}

async fn upgrade(
    State(gw): State<Arc<Gateway>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let header = |name| {
        headers
            .get(name)
            .and_then(|h: &axum::http::HeaderValue| h.to_str().ok())
    };
    let host = header(header::HOST.as_str()).unwrap_or("127.0.0.1");
    let url = match &gw.config.public_url {
        Some(public) => public_gateway_url(public),
        None => gateway_url(host, header("x-forwarded-proto") == Some("https")),
    };
    let mut params = Params::parse(&query, url);
    params.region = gw
        .config
        .region_header
        .as_deref()
        .and_then(header)
        .filter(|r| crate::voice::is_region_name(r))
        .map(str::to_owned);
    // Small buffers: most connections are idle most of the time, and client
    // payloads are at most 4 KiB (larger ones are refused with 4002).
    ws.read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
        .on_upgrade(move |socket| run(gw, socket, params))
}

/// How a connection ended.
enum Ending {
    /// The client closed with this code (or none).
    ClientClosed(Option<u16>),
    /// The TCP connection broke.
    Dropped,
    /// We close with this code.
    Close(CloseCode),
}

struct Conn {
    socket: WebSocket,
    codec: Codec,
}

impl Conn {
    async fn send(&mut self, message: std::io::Result<Message>) -> bool {
        let Ok(message) = message else { return false };
        matches!(
            tokio::time::timeout(WRITE_TIMEOUT, self.socket.send(message)).await,
            Ok(Ok(()))
        )
    }

    async fn op(&mut self, opcode: u8, d: Value) -> bool {
        let m = self.codec.op(opcode, &d);
        self.send(m).await
    }

    /// Sends the close frame, then reads until the client answers it (or a
    /// short while passes). Dropping the socket with unread client data in
    /// the kernel's buffer would reset the TCP connection, and the client
    /// could lose the close frame and its code.
    async fn close(&mut self, code: CloseCode) {
        let frame = CloseFrame {
            code: code.code(),
            reason: code.reason().into(),
        };
        let sent =
            tokio::time::timeout(WRITE_TIMEOUT, self.socket.send(Message::Close(Some(frame))))
                .await;
        if !matches!(sent, Ok(Ok(()))) {
            return;
        }
        let _ = tokio::time::timeout(CLOSE_LINGER, async {
            while let Some(Ok(m)) = self.socket.recv().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

async fn next_outgoing(
    live: &mut Option<(Arc<Session>, mpsc::Receiver<Outgoing>)>,
) -> Option<Outgoing> {
    match live {
        Some((_, rx)) => rx.recv().await,
        None => std::future::pending().await,
    }
}

pub async fn run(gw: Arc<Gateway>, socket: WebSocket, params: Params) {
    let conn_id = gw.next_conn_id();
    let codec = Codec::new(params.encoding, params.compression);
    let mut conn = Conn { socket, codec };
    if let Some(code) = params.refuse {
        conn.close(code).await;
        return;
    }
    let interval = gw.config.heartbeat_interval;
    let mut protocol = Protocol::new(Instant::now(), interval, gw.config.identify_timeout);
    if !conn
        .op(
            op::HELLO,
            json!(Hello {
                heartbeat_interval: interval.as_millis() as u64
            }),
        )
        .await
    {
        return;
    }
    let mut live: Option<(Arc<Session>, mpsc::Receiver<Outgoing>)> = None;
    let ending = loop {
        let (deadline, timeout_code) = protocol.deadline();
        let deadline = tokio::time::Instant::from_std(deadline);
        tokio::select! {
            frame = conn.socket.recv() => {
                let message = match frame {
                    None | Some(Err(_)) => break Ending::Dropped,
                    Some(Ok(Message::Close(frame))) => break Ending::ClientClosed(frame.map(|f| f.code)),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(m)) => m,
                };
                match handle(&gw, &mut conn, &mut protocol, &mut live, conn_id, &params, message).await {
                    Ok(()) => {}
                    Err(code) => break Ending::Close(code),
                }
            }
            out = next_outgoing(&mut live) => match out {
                Some(Outgoing::Dispatch(seq, event)) => {
                    // In a cluster, not before Redis has it (see `journal`).
                    if let Some((session, _)) = &live {
                        session.journaled(seq).await;
                    }
                    let m = conn.codec.dispatch(seq, &event);
                    if !conn.send(m).await {
                        break Ending::Dropped;
                    }
                }
                Some(Outgoing::Reconnect) => {
                    conn.op(op::RECONNECT, Value::Null).await;
                    break Ending::Close(CloseCode::UnknownError);
                }
                // Cut loose for falling behind (the client resumes), or
                // ended by the gateway with a code of its own (a revoked
                // token: 4004).
                None => {
                    let code = live.as_ref().and_then(|(s, _)| s.close_code());
                    break Ending::Close(code.unwrap_or(CloseCode::UnknownError));
                }
            },
            _ = tokio::time::sleep_until(deadline) => break Ending::Close(timeout_code),
        }
    };
    let keep = match ending {
        Ending::ClientClosed(Some(1000 | 1001)) => false,
        Ending::ClientClosed(_) | Ending::Dropped => true,
        Ending::Close(code) => {
            conn.close(code).await;
            code.keeps_session()
        }
    };
    if let Some((session, _)) = live {
        if keep {
            if let Some(since) = session.detach(conn_id) {
                gw.detached(&session);
                let gw = gw.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(gw.config.resume_grace).await;
                    if session.detached_since(since) {
                        gw.end_session(&session);
                    }
                });
            }
        } else {
            gw.end_session(&session);
        }
    }
}

async fn handle(
    gw: &Arc<Gateway>,
    conn: &mut Conn,
    protocol: &mut Protocol,
    live: &mut Option<(Arc<Session>, mpsc::Receiver<Outgoing>)>,
    conn_id: u64,
    params: &Params,
    message: Message,
) -> Result<(), CloseCode> {
    let payload = conn
        .codec
        .decode(&message)
        .map_err(|_| CloseCode::DecodeError)?;
    protocol.on_payload(payload.op, Instant::now())?;
    match Request::parse(payload)? {
        Request::Heartbeat(seq) => {
            if let (Some((session, _)), Some(seq)) = (live.as_ref(), seq) {
                session.acknowledge(seq);
            }
            if !conn.op(op::HEARTBEAT_ACK, Value::Null).await {
                return Err(CloseCode::UnknownError);
            }
        }
        Request::Identify(ident) => {
            let done = match identify::identify(gw, conn_id, *ident, params).await {
                Ok(done) => done,
                Err(Refused::Close(code)) => return Err(code),
                // Too many Identifies within five seconds: as Discord, op 9;
                // the client identifies again a little later.
                Err(Refused::TryLater) => {
                    if !conn.op(op::INVALID_SESSION, Value::Bool(false)).await {
                        return Err(CloseCode::UnknownError);
                    }
                    return Ok(());
                }
            };
            protocol.authenticated();
            let compressing = conn.codec.authenticated();
            *live = Some((done.session, done.outbox));
            compressing.map_err(|_| CloseCode::UnknownError)?;
        }
        Request::Resume(r) => {
            match identify::resume(gw, conn_id, r).await {
                ResumeOutcome::Resumed {
                    session,
                    replay,
                    outbox,
                } => {
                    protocol.authenticated();
                    if conn.codec.authenticated().is_err() {
                        *live = Some((session, outbox));
                        return Err(CloseCode::UnknownError);
                    }
                    for (seq, event) in replay {
                        session.journaled(seq).await;
                        let m = conn.codec.dispatch(seq, &event);
                        if !conn.send(m).await {
                            // Still resumable from where the client got to.
                            *live = Some((session, outbox));
                            return Err(CloseCode::UnknownError);
                        }
                    }
                    *live = Some((session, outbox));
                }
                ResumeOutcome::Invalid => {
                    conn.op(op::INVALID_SESSION, Value::Bool(false)).await;
                }
                ResumeOutcome::Close(code) => return Err(code),
            }
        }
        Request::PresenceUpdate(update) => {
            if let Some((session, _)) = live.as_ref() {
                identify::update_presence(gw, session, update);
            }
        }
        Request::RequestGuildMembers(req) => {
            if let Some((session, _)) = live.as_ref() {
                if let Err(e) = identify::request_members(gw, session, req).await {
                    tracing::error!(error = %e, "request guild members failed");
                }
            }
        }
        Request::VoiceStateUpdate(update) => {
            if let Some((session, _)) = live.as_ref() {
                if let Err(e) = voice::update_voice_state(gw, session, update).await {
                    tracing::error!(error = %e, "voice state update failed");
                }
            }
        }
    }
    Ok(())
}
