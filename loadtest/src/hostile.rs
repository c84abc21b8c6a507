//! Hostile clients for the soak: what a stranger on the internet does to a
//! node while its real users chat and call.
//!
//! Each kind of abuse is a loop bounded by the run's deadline and by a
//! fixed number of connections or a fixed rate, so the tool itself never
//! grows without bound:
//!
//! - idle TCP connections that never send a request line (the node must
//!   close them after its header timeout);
//! - gateway connections asking for zstd-stream that only heartbeat and
//!   never identify (the node must close them after its identify deadline);
//! - one member opening and dropping gateway sessions as fast as it may (the
//!   node must bound what those sessions hold);
//! - malformed, oversized and forged REST requests (the node must answer
//!   each with a 4xx, never a 5xx, and keep serving everyone else).
//!
//! The report counts what was tried and how the node answered.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::gateway::Connection;
use crate::rest::{Account, Rest};
use crate::Error;

#[derive(Clone, Debug)]
pub struct HostileConfig {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Idle TCP connections held open at once.
    pub idle_connections: usize,
    /// Unidentified zstd-stream gateway connections held open at once.
    pub unidentified: usize,
    /// Gateway sessions the flooding member opens and drops per second.
    pub session_flood_per_sec: f64,
    /// Bad REST requests per second.
    pub bad_requests_per_sec: f64,
}

impl HostileConfig {
    pub fn new(url: impl Into<String>) -> HostileConfig {
        HostileConfig {
            url: url.into(),
            idle_connections: 200,
            unidentified: 100,
            session_flood_per_sec: 20.0,
            bad_requests_per_sec: 20.0,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct HostileReport {
    pub idle_opened: u64,
    /// Idle connections the node closed by itself.
    pub idle_closed_by_server: u64,
    pub unidentified_opened: u64,
    /// Unidentified gateway connections the node closed by itself.
    pub unidentified_closed_by_server: u64,
    pub sessions_flooded: u64,
    /// Flood identifies the node refused (a close code instead of READY).
    pub sessions_refused: u64,
    pub bad_requests: u64,
    pub bad_answered_4xx: u64,
    /// Bad requests answered with a server error: a defect.
    pub bad_answered_5xx: u64,
    /// Bad requests that got no answer in time.
    pub bad_unanswered: u64,
}

#[derive(Default)]
struct Counters {
    idle_opened: AtomicU64,
    idle_closed_by_server: AtomicU64,
    unidentified_opened: AtomicU64,
    unidentified_closed_by_server: AtomicU64,
    sessions_flooded: AtomicU64,
    sessions_refused: AtomicU64,
    bad_requests: AtomicU64,
    bad_4xx: AtomicU64,
    bad_5xx: AtomicU64,
    bad_unanswered: AtomicU64,
}

impl Counters {
    fn report(&self) -> HostileReport {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        HostileReport {
            idle_opened: g(&self.idle_opened),
            idle_closed_by_server: g(&self.idle_closed_by_server),
            unidentified_opened: g(&self.unidentified_opened),
            unidentified_closed_by_server: g(&self.unidentified_closed_by_server),
            sessions_flooded: g(&self.sessions_flooded),
            sessions_refused: g(&self.sessions_refused),
            bad_requests: g(&self.bad_requests),
            bad_answered_4xx: g(&self.bad_4xx),
            bad_answered_5xx: g(&self.bad_5xx),
            bad_unanswered: g(&self.bad_unanswered),
        }
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// `http://host:port` → `host:port`.
fn authority(url: &str) -> Result<String, Error> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| Error::Config(format!("only http:// URLs are supported: {url}")))?;
    Ok(rest.split('/').next().unwrap_or(rest).to_owned())
}

/// Runs every kind of abuse until `deadline`.
pub async fn run(config: HostileConfig, deadline: Instant) -> Result<HostileReport, Error> {
    let addr = authority(&config.url)?;
    let rest = Rest::new(&config.url, 8)?;
    let gateway_url = rest.gateway_url().await?;
    let tag = crate::chat::run_tag();
    let flooder = rest
        .register(&format!("hostile_{tag}"), "hostile-password-1")
        .await?;
    let counters = Arc::new(Counters::default());
    let c = &counters;
    tokio::join!(
        hold_idle(&addr, config.idle_connections, deadline, c),
        hold_unidentified(&gateway_url, config.unidentified, deadline, c),
        flood_sessions(
            &gateway_url,
            &flooder,
            config.session_flood_per_sec,
            deadline,
            c
        ),
        bad_requests(
            &config.url,
            &flooder,
            config.bad_requests_per_sec,
            deadline,
            c
        ),
    );
    Ok(counters.report())
}

/// Keeps `n` connections open that never send a byte; one the node closes
/// is replaced by a new one.
async fn hold_idle(addr: &str, n: usize, deadline: Instant, c: &Counters) {
    let one = || async {
        while Instant::now() < deadline {
            let Ok(Ok(mut tcp)) =
                tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr)).await
            else {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            bump(&c.idle_opened);
            let mut buf = [0u8; 256];
            match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
                // EOF or a reset: the node let go of it.
                Ok(Ok(0)) | Ok(Err(_)) => bump(&c.idle_closed_by_server),
                // It answered something (a 408, say) and will close.
                Ok(Ok(_)) => bump(&c.idle_closed_by_server),
                Err(_) => return,
            }
        }
    };
    futures_util::future::join_all((0..n).map(|_| one())).await;
}

/// Keeps `n` gateway connections open that ask for zstd-stream and only
/// heartbeat.
async fn hold_unidentified(gateway_url: &str, n: usize, deadline: Instant, c: &Counters) {
    let url = format!("{gateway_url}?v=10&encoding=json&compress=zstd-stream");
    let one = || async {
        while Instant::now() < deadline {
            let Ok(Ok((mut ws, _))) = tokio::time::timeout(
                Duration::from_secs(10),
                tokio_tungstenite::connect_async(url.as_str()),
            )
            .await
            else {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            bump(&c.unidentified_opened);
            let mut beat = tokio::time::interval(Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => return,
                    _ = beat.tick() => {
                        let hb = json!({"op": 1, "d": null}).to_string();
                        if ws.send(Message::text(hb)).await.is_err() {
                            bump(&c.unidentified_closed_by_server);
                            break;
                        }
                    }
                    m = ws.next() => match m {
                        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => {
                            bump(&c.unidentified_closed_by_server);
                            break;
                        }
                        Some(Ok(_)) => {}
                    },
                }
            }
        }
    };
    futures_util::future::join_all((0..n).map(|_| one())).await;
}

/// One member identifies and drops its connection at `per_sec`, leaving a
/// resumable session behind each time.
async fn flood_sessions(
    gateway_url: &str,
    who: &Account,
    per_sec: f64,
    deadline: Instant,
    c: &Counters,
) {
    if per_sec <= 0.0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_sec));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while Instant::now() < deadline {
        tick.tick().await;
        let Ok(mut conn) = Connection::open(gateway_url).await else {
            continue;
        };
        if conn.identify(&who.token, 513).await.is_err() {
            continue;
        }
        bump(&c.sessions_flooded);
        // READY, or a refusal.
        match tokio::time::timeout(Duration::from_secs(5), conn.next(None)).await {
            Ok(Ok(p)) if p.op == crate::gateway::op::DISPATCH => {}
            Ok(Ok(_)) | Ok(Err(_)) => bump(&c.sessions_refused),
            Err(_) => {}
        }
        conn.abort();
    }
}

/// Requests a hostile client sends: each must get a 4xx.
async fn bad_requests(base: &str, who: &Account, per_sec: f64, deadline: Instant, c: &Counters) {
    if per_sec <= 0.0 {
        return;
    }
    let Ok(http) = crate::http_client()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
    else {
        return;
    };
    let api = format!("{}/api/v10", base.trim_end_matches('/'));
    let huge = "x".repeat(2 << 20);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_sec));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut i: u64 = 0;
    while Instant::now() < deadline {
        tick.tick().await;
        i += 1;
        let auth = who.token.as_str();
        let req = match i % 6 {
            0 => http
                .post(format!("{api}/guilds"))
                .header("Authorization", auth)
                .header("Content-Type", "application/json")
                .body("{\"name\": "),
            1 => http
                .post(format!("{api}/guilds"))
                .header("Authorization", auth)
                .header("Content-Type", "application/json")
                .body(huge.clone()),
            2 => http.get(format!("{api}/channels/not-a-snowflake/messages")),
            3 => http
                .get(format!("{api}/users/@me"))
                .header("Authorization", format!("Bearer forged.{i}")),
            4 => http
                .post(format!("{api}/guilds"))
                .header("Authorization", auth)
                .json(&json!({"name": "evil\u{202E}txt.exe\u{0}"})),
            _ => http
                .get(format!("{api}/guilds/{i}/members?limit=100000"))
                .header("Authorization", auth),
        };
        bump(&c.bad_requests);
        match req.send().await {
            Ok(r) if r.status().is_server_error() => bump(&c.bad_5xx),
            Ok(r) if r.status().is_client_error() => bump(&c.bad_4xx),
            Ok(_) => {}
            Err(_) => bump(&c.bad_unanswered),
        }
    }
}
