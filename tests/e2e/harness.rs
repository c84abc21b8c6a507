//! Test harness: spawns the real `hearth` binary on a fresh data dir and
//! talks to it over HTTP on 127.0.0.1 only.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// How long we wait for the "hearth listening on" line.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Per-request timeout so no test can hang on a stuck server.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Password used for every account the tests register.
pub const PASSWORD: &str = "correct-horse-battery";
/// A well-formed snowflake that no fresh server will have handed out.
pub const UNKNOWN_ID: &str = "1234567890123456789";

const READY_PREFIX: &str = "hearth listening on ";

/// Discord permission bits.
pub mod perm {
    pub const CREATE_INSTANT_INVITE: u64 = 1 << 0;
    pub const KICK_MEMBERS: u64 = 1 << 1;
    pub const BAN_MEMBERS: u64 = 1 << 2;
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const ADD_REACTIONS: u64 = 1 << 6;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const MANAGE_MESSAGES: u64 = 1 << 13;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const MENTION_EVERYONE: u64 = 1 << 17;
    pub const CONNECT: u64 = 1 << 20;
    pub const SPEAK: u64 = 1 << 21;
    pub const MANAGE_NICKNAMES: u64 = 1 << 27;
    pub const MANAGE_ROLES: u64 = 1 << 28;
    pub const MANAGE_WEBHOOKS: u64 = 1 << 29;
    pub const MODERATE_MEMBERS: u64 = 1 << 40;

    /// Decimal string form used on the wire.
    pub fn s(bits: u64) -> String {
        bits.to_string()
    }
}

// ---------------------------------------------------------------------------
// Temp dir (removed on drop)
// ---------------------------------------------------------------------------

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "hearth-e2e-{}-{}-{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("creating temp data dir {}: {e}", path.display()));
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------
// Server process
// ---------------------------------------------------------------------------

pub struct Server {
    child: Option<Child>,
    base: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    http: reqwest::Client,
    /// Where the node keeps its data: its own `data_dir`, or another
    /// node's (nodes of one cluster sharing an embedded store).
    dir: PathBuf,
    // Declared last so it is removed after the child is killed (Drop below
    // runs before fields are dropped anyway).
    data_dir: TempDir,
}

impl Server {
    /// Starts a server with rate limits switched off.
    pub async fn start() -> Server {
        Server::start_with(&["--rate-limits", "off"], &[]).await
    }

    /// Starts a server with the server's defaults (rate limits on).
    pub async fn start_rate_limited() -> Server {
        Server::start_with(&[], &[]).await
    }

    /// Starts `hearth serve --listen 127.0.0.1:0 --data-dir <tmp>` plus `args`.
    pub async fn start_with(args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_in(None, args, env).await
    }

    /// Starts a second node on `first`'s data directory.
    pub async fn start_beside(first: &Server, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_in(Some(first.data_dir().to_path_buf()), args, env).await
    }

    async fn start_in(dir: Option<PathBuf>, args: &[&str], env: &[(&str, &str)]) -> Server {
        let data_dir = TempDir::new();
        let dir = dir.unwrap_or_else(|| data_dir.path().to_path_buf());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (child, base) = spawn(&dir, &args, &env).await;
        let http = hearth_loadtest::http_client()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("building reqwest client");
        Server {
            child: Some(child),
            base,
            args,
            env,
            http,
            dir,
            data_dir,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The server's data directory (for `hearth admin` and file checks).
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// A client bound to the current base URL (call again after `restart`).
    pub fn api(&self) -> Api {
        Api {
            http: self.http.clone(),
            base: self.base.clone(),
        }
    }

    /// SIGKILL the server and reap it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("sending SIGKILL to hearth");
            let status = child.wait().expect("waiting for killed hearth");
            eprintln!("[harness] hearth killed: {status}");
        }
    }

    /// SIGTERM the server (a graceful shutdown) and wait for it to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let child = self.child.as_mut().expect("a running server");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM failed");
        let mut child = self.child.take().expect("a running server");
        wait_bounded(&mut child, Duration::from_secs(10)).expect("hearth's exit status")
    }

    /// Sends SIGTERM and returns at once (a node that drains keeps serving
    /// a while); see [`Server::wait_exit`].
    pub fn signal_term(&self) {
        let child = self.child.as_ref().expect("a running server");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits (bounded) for the server to exit; returns its status.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("a running server");
        wait_bounded(&mut child, within).expect("hearth's exit status")
    }

    /// Starts the server again on the same data dir (port may change).
    pub async fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let (child, base) = spawn(&self.dir, &self.args, &self.env).await;
        self.child = Some(child);
        self.base = base;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn spawn(data_dir: &Path, args: &[String], env: &[(String, String)]) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hearth"));
    cmd.arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawning the hearth binary");
    let stdout = child.stdout.take().expect("child stdout is piped");

    // Drain stdout forever in a background thread so the pipe never fills;
    // lines are forwarded to the test until it stops listening.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        let reader = BufReader::new(stdout);
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if let Err(e) = tx.send(line) {
                eprintln!("[hearth stdout] {}", e.0);
            }
        }
    });

    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(line)) => {
                eprintln!("[hearth stdout] {line}");
                if let Some(rest) = line.trim().strip_prefix(READY_PREFIX) {
                    let base = rest.trim().trim_end_matches('/').to_string();
                    assert!(
                        base.starts_with("http://127.0.0.1:"),
                        "hearth must listen on 127.0.0.1, got {base:?}"
                    );
                    let port = &base["http://127.0.0.1:".len()..];
                    assert!(
                        port.parse::<u16>().map(|p| p != 0).unwrap_or(false),
                        "bad port in ready line {line:?}"
                    );
                    return (child, base);
                }
            }
            Ok(None) => {
                // stdout closed before the ready line: the server died.
                let status = wait_bounded(&mut child, Duration::from_secs(5));
                panic!("hearth exited before printing its ready line (status: {status:?})");
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("hearth did not print {READY_PREFIX:?} within {READY_TIMEOUT:?}");
            }
        }
    }
}

fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = std::time::Instant::now();
    for _ in 0..1000 {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if start.elapsed() > limit {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    child.wait().ok()
}

// ---------------------------------------------------------------------------
// HTTP client
// ---------------------------------------------------------------------------

/// A response with its body parsed as JSON (Null when empty).
#[derive(Debug)]
pub struct Resp {
    pub method: Method,
    pub path: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn parts(self) -> (StatusCode, HeaderMap, Value) {
        (self.status, self.headers, self.body)
    }

    fn describe(&self) -> String {
        let mut text = self.text.clone();
        if text.len() > 2000 {
            text.truncate(2000);
            text.push_str("...");
        }
        format!("{} {} -> {} {}", self.method, self.path, self.status, text)
    }

    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status: {}",
            self.describe()
        );
        self.body
    }

    /// Asserts an error response: the status, the JSON error shape and the code.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: i64) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status (wanted error code {code}): {}",
            self.describe()
        );
        assert!(
            self.body.get("code").map(Value::is_i64).unwrap_or(false)
                || self.body.get("code").map(Value::is_u64).unwrap_or(false),
            "error body lacks an integer `code`: {}",
            self.describe()
        );
        assert!(
            self.body
                .get("message")
                .map(Value::is_string)
                .unwrap_or(false),
            "error body lacks a string `message`: {}",
            self.describe()
        );
        assert_eq!(
            self.body["code"].as_i64(),
            Some(code),
            "wrong error code: {}",
            self.describe()
        );
        &self.body
    }

    /// Asserts a 400 50035 with a non-empty `_errors` list at `field_path`
    /// (e.g. `&["content"]` or `&["embeds"]`).
    #[track_caller]
    pub fn expect_field_error(&self, field_path: &[&str]) -> &Value {
        self.expect_error(400, 50035);
        let mut node = self.body.get("errors").unwrap_or_else(|| {
            panic!("50035 without `errors`: {}", self.describe());
        });
        for key in field_path {
            node = node.get(*key).unwrap_or_else(|| {
                panic!("no errors.{} in {}", field_path.join("."), self.describe())
            });
        }
        let has_own = node
            .get("_errors")
            .and_then(Value::as_array)
            .map(|e| !e.is_empty())
            .unwrap_or(false);
        let has_nested = node
            .as_object()
            .map(|o| o.keys().any(|k| k != "_errors"))
            .unwrap_or(false);
        assert!(
            has_own || has_nested,
            "errors.{} has no entries: {}",
            field_path.join("."),
            self.describe()
        );
        node
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.to_string())
    }
}

/// A logged-in account (user or bot). `authorization` is the exact value of
/// the Authorization header (`<token>` for users, `Bot <token>` for bots).
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub token: String,
    pub username: String,
    pub authorization: String,
}

impl User {
    pub fn auth(&self) -> Option<&str> {
        Some(&self.authorization)
    }
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub base: String,
}

impl Api {
    /// A client of a node this harness did not start (a script's).
    pub fn at(base: &str) -> Api {
        Api {
            http: hearth_loadtest::http_client()
                .no_proxy()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .expect("building reqwest client"),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v10{}", self.base, path)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        match body {
            Some(v) => {
                let bytes = serde_json::to_vec(&v).expect("serialising request body");
                self.raw(method, path, auth, Some("application/json"), bytes)
                    .await
            }
            None => self.raw(method, path, auth, None, Vec::new()).await,
        }
    }

    /// Sends raw bytes to `/api/v10{path}`.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let url = self.url(path);
        self.send_to(method, &url, path, auth, content_type, body)
            .await
    }

    /// Sends to an absolute path on the server (not under /api/v10).
    pub async fn raw_abs(&self, method: Method, abs_path: &str, auth: Option<&str>) -> Resp {
        let url = format!("{}{}", self.base, abs_path);
        self.send_to(method, &url, abs_path, auth, None, Vec::new())
            .await
    }

    async fn send_to(
        &self,
        method: Method,
        url: &str,
        label: &str,
        auth: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut req = self.http.request(method.clone(), url);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        if !body.is_empty() || content_type.is_some() {
            req = req.body(body);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {label}: request failed: {e}"));
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{method} {label}: reading body failed: {e}"));
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Resp {
            method,
            path: label.to_string(),
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, auth: Option<&str>) -> Resp {
        self.request(Method::GET, path, auth, None).await
    }
    pub async fn post(&self, path: &str, auth: Option<&str>, body: Option<Value>) -> Resp {
        self.request(Method::POST, path, auth, body).await
    }
    pub async fn patch(&self, path: &str, auth: Option<&str>, body: Option<Value>) -> Resp {
        self.request(Method::PATCH, path, auth, body).await
    }
    pub async fn put(&self, path: &str, auth: Option<&str>, body: Option<Value>) -> Resp {
        self.request(Method::PUT, path, auth, body).await
    }
    pub async fn delete(&self, path: &str, auth: Option<&str>) -> Resp {
        self.request(Method::DELETE, path, auth, None).await
    }

    /// Prometheus text from `GET /metrics`.
    pub async fn metrics_text(&self) -> String {
        let r = self.raw_abs(Method::GET, "/metrics", None).await;
        assert_eq!(r.status.as_u16(), 200, "GET /metrics: {}", r.describe());
        r.text
    }

    /// Value of an unlabelled counter/gauge line `name <n>` in /metrics.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.metrics_text().await;
        parse_metric(&text, name)
            .unwrap_or_else(|| panic!("metric {name} not found in /metrics:\n{text}"))
    }

    // ----- accounts --------------------------------------------------------

    pub async fn register(&self, username: &str) -> User {
        let body = self
            .post(
                "/auth/register",
                None,
                Some(json!({"username": username, "password": PASSWORD})),
            )
            .await
            .expect(201);
        let token = str_field(&body, "token");
        let id = str_field(&body, "user_id");
        User {
            id,
            authorization: token.clone(),
            token,
            username: username.to_string(),
        }
    }

    pub async fn login(&self, username: &str, password: &str) -> Resp {
        self.post(
            "/auth/login",
            None,
            Some(json!({"login": username, "password": password})),
        )
        .await
    }

    /// Creates an application and its bot token; returns (application, bot).
    pub async fn create_bot(&self, owner: &User, name: &str) -> (Value, User) {
        let app = self
            .post("/applications", owner.auth(), Some(json!({"name": name})))
            .await
            .expect(201);
        let app_id = str_field(&app, "id");
        let tok = self
            .post(&format!("/applications/{app_id}/bot"), owner.auth(), None)
            .await
            .expect(200);
        let token = str_field(&tok, "token");
        let bot = User {
            id: app_id,
            authorization: format!("Bot {token}"),
            token,
            username: name.to_string(),
        };
        (app, bot)
    }

    pub async fn authorize_bot(&self, by: &User, guild_id: &str, app_id: &str, perms: u64) -> Resp {
        let p = perms.to_string();
        self.post(
            &format!("/oauth2/authorize?client_id={app_id}&scope=bot&permissions={p}"),
            by.auth(),
            Some(json!({"guild_id": guild_id, "permissions": p, "authorize": true})),
        )
        .await
    }

    // ----- guilds / channels ----------------------------------------------

    pub async fn create_guild(&self, owner: &User, name: &str) -> Value {
        self.post("/guilds", owner.auth(), Some(json!({"name": name})))
            .await
            .expect(201)
    }

    pub async fn channels(&self, user: &User, guild_id: &str) -> Vec<Value> {
        let v = self
            .get(&format!("/guilds/{guild_id}/channels"), user.auth())
            .await
            .expect(200);
        v.as_array().cloned().expect("channel list is an array")
    }

    /// Id of the channel with this name and type, as seen by `user`.
    pub async fn channel_id(&self, user: &User, guild_id: &str, name: &str, kind: i64) -> String {
        let chans = self.channels(user, guild_id).await;
        let c = chans
            .iter()
            .find(|c| c["name"] == name && c["type"].as_i64() == Some(kind))
            .unwrap_or_else(|| panic!("no channel {name:?} type {kind} in {chans:?}"));
        str_field(c, "id")
    }

    pub async fn create_channel(&self, by: &User, guild_id: &str, body: Value) -> Value {
        self.post(
            &format!("/guilds/{guild_id}/channels"),
            by.auth(),
            Some(body),
        )
        .await
        .expect(201)
    }

    pub async fn text_channel(&self, by: &User, guild_id: &str, name: &str) -> String {
        let c = self
            .create_channel(by, guild_id, json!({"name": name, "type": 0}))
            .await;
        str_field(&c, "id")
    }

    pub async fn set_overwrite(
        &self,
        by: &User,
        channel_id: &str,
        target_id: &str,
        kind: i64,
        allow: u64,
        deny: u64,
    ) {
        self.put(
            &format!("/channels/{channel_id}/permissions/{target_id}"),
            by.auth(),
            Some(json!({"type": kind, "allow": allow.to_string(), "deny": deny.to_string()})),
        )
        .await
        .expect(204);
    }

    pub async fn create_invite(&self, by: &User, channel_id: &str, body: Value) -> Value {
        self.post(
            &format!("/channels/{channel_id}/invites"),
            by.auth(),
            Some(body),
        )
        .await
        .expect(200)
    }

    pub async fn join(&self, user: &User, code: &str) -> Resp {
        self.post(&format!("/invites/{code}"), user.auth(), None)
            .await
    }

    /// `owner` invites `user` through `channel_id`; asserts the join worked.
    pub async fn invite_and_join(&self, owner: &User, channel_id: &str, user: &User) {
        let inv = self.create_invite(owner, channel_id, json!({})).await;
        let code = str_field(&inv, "code");
        self.join(user, &code).await.expect(200);
    }

    // ----- roles / members ------------------------------------------------

    pub async fn create_role(&self, by: &User, guild_id: &str, body: Value) -> Value {
        self.post(&format!("/guilds/{guild_id}/roles"), by.auth(), Some(body))
            .await
            .expect(200)
    }

    pub async fn add_role(&self, by: &User, guild_id: &str, user_id: &str, role_id: &str) {
        self.put(
            &format!("/guilds/{guild_id}/members/{user_id}/roles/{role_id}"),
            by.auth(),
            None,
        )
        .await
        .expect(204);
    }

    pub async fn member(&self, by: &User, guild_id: &str, user_id: &str) -> Resp {
        self.get(&format!("/guilds/{guild_id}/members/{user_id}"), by.auth())
            .await
    }

    // ----- messages --------------------------------------------------------

    pub async fn send(&self, by: &User, channel_id: &str, content: &str) -> Value {
        self.post(
            &format!("/channels/{channel_id}/messages"),
            by.auth(),
            Some(json!({"content": content})),
        )
        .await
        .expect(200)
    }

    /// Posts `n` messages "<prefix>0".."<prefix>{n-1}"; returns ids oldest first.
    pub async fn seed(&self, by: &User, channel_id: &str, prefix: &str, n: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let m = self.send(by, channel_id, &format!("{prefix}{i}")).await;
            ids.push(str_field(&m, "id"));
        }
        ids
    }

    /// Ids of `GET /channels/{id}/messages{query}` (query includes the `?`).
    pub async fn message_ids(&self, by: &User, channel_id: &str, query: &str) -> Vec<String> {
        let v = self
            .get(
                &format!("/channels/{channel_id}/messages{query}"),
                by.auth(),
            )
            .await
            .expect(200);
        ids_of(&v)
    }
}

// ---------------------------------------------------------------------------
// A guild with an owner and one ordinary member
// ---------------------------------------------------------------------------

pub struct World {
    pub server: Server,
    pub api: Api,
    pub owner: User,
    pub member: User,
    pub guild_id: String,
    /// The default `general` text channel.
    pub general: String,
}

impl World {
    /// Fresh server (rate limits off), `owner` creates a guild, `member` joins
    /// through an invite to `general`.
    pub async fn new() -> World {
        let server = Server::start().await;
        World::on(server).await
    }

    pub async fn on(server: Server) -> World {
        let api = server.api();
        let owner = api.register("owner").await;
        let member = api.register("member").await;
        let guild = api.create_guild(&owner, "Hearth Test Guild").await;
        let guild_id = str_field(&guild, "id");
        let general = api.channel_id(&owner, &guild_id, "general", 0).await;
        api.invite_and_join(&owner, &general, &member).await;
        World {
            server,
            api,
            owner,
            member,
            guild_id,
            general,
        }
    }

    pub fn g(&self, suffix: &str) -> String {
        format!("/guilds/{}{}", self.guild_id, suffix)
    }

    /// Registers a new user and joins them to the guild.
    pub async fn add_member(&self, username: &str) -> User {
        let u = self.api.register(username).await;
        self.api
            .invite_and_join(&self.owner, &self.general, &u)
            .await;
        u
    }

    /// Creates a role with the given permissions and gives it to `user_id`.
    pub async fn grant(&self, user_id: &str, name: &str, perms: u64) -> String {
        let role = self
            .api
            .create_role(
                &self.owner,
                &self.guild_id,
                json!({"name": name, "permissions": perms.to_string()}),
            )
            .await;
        let role_id = str_field(&role, "id");
        self.api
            .add_role(&self.owner, &self.guild_id, user_id, &role_id)
            .await;
        role_id
    }
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

#[track_caller]
pub fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("expected string field {key:?} in {v}"))
        .to_string()
}

/// The `id` of every element of a JSON array.
#[track_caller]
pub fn ids_of(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, got {v}"))
        .iter()
        .map(|m| str_field(m, "id"))
        .collect()
}

#[track_caller]
pub fn snowflake(id: &str) -> u64 {
    id.parse::<u64>()
        .unwrap_or_else(|_| panic!("id {id:?} is not a decimal snowflake"))
}

/// Parses a decimal permission string.
#[track_caller]
pub fn perms_of(v: &Value) -> u64 {
    v.as_str()
        .unwrap_or_else(|| panic!("permissions must be a decimal string, got {v}"))
        .parse::<u64>()
        .unwrap_or_else(|_| panic!("permissions {v} is not a decimal u64"))
}

pub fn parse_metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let mut parts = l.split_whitespace();
            let key = parts.next()?;
            if key != name {
                return None;
            }
            parts.next()?.parse::<f64>().ok()
        })
}

/// ISO 8601 / RFC 3339 UTC timestamp `secs_from_now` seconds from now.
pub fn iso_from_now(secs_from_now: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    iso_from_unix(now + secs_from_now)
}

/// Formats unix seconds as `YYYY-MM-DDTHH:MM:SS+00:00`.
pub fn iso_from_unix(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

#[cfg(test)]
mod self_tests {
    use super::*;

    #[test]
    fn iso_formatting_is_correct() {
        assert_eq!(iso_from_unix(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso_from_unix(951_782_400), "2000-02-29T00:00:00+00:00");
        assert_eq!(iso_from_unix(1_700_000_000), "2023-11-14T22:13:20+00:00");
        assert_eq!(iso_from_unix(4_102_444_799), "2099-12-31T23:59:59+00:00");
    }

    #[test]
    fn metric_parsing() {
        let text = "# HELP x y\n# TYPE hearth_store_message_list_queries_total counter\nhearth_store_message_list_queries_total 42\nother 1\n";
        assert_eq!(
            parse_metric(text, "hearth_store_message_list_queries_total"),
            Some(42.0)
        );
        assert_eq!(parse_metric(text, "missing"), None);
    }
}
