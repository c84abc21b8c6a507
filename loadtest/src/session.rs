//! A simulated client session across its connections: Identify, wait for
//! READY and the GUILD_CREATEs, then read dispatches until the run stops,
//! resuming (op 6 with the last sequence number) whenever the connection is
//! lost, whether the server closed it, the network dropped it, or the churn
//! controller told the session to drop it.
//!
//! Every dispatch goes through the session's [`SessionLog`], so what a
//! resume replays is checked exactly like what arrives live.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Notify, Semaphore};

use crate::deliveries::{Delivery, SessionLog};
use crate::gateway::{op, Connection, Ended, Payload};
use crate::latency::Histogram;
use crate::spread::node_of_message;

/// How long Identify may take to produce READY and every GUILD_CREATE, and
/// a resume to produce RESUMED.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connection attempts per Identify or resume before the session gives up.
const ATTEMPTS: u32 = 4;

/// When each message was posted: the shared table the delivery latency is
/// measured against. Message `i`'s slot holds nanoseconds since `epoch`,
/// plus one (zero: not posted yet).
pub struct SendClock {
    epoch: Instant,
    sent: Box<[AtomicU64]>,
}

impl SendClock {
    pub fn new(messages: usize) -> SendClock {
        SendClock {
            epoch: Instant::now(),
            sent: (0..messages).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Message `i` is being posted now.
    pub fn mark(&self, i: usize) {
        if let Some(slot) = self.sent.get(i) {
            slot.store(self.nanos(Instant::now()) + 1, Ordering::Release);
        }
    }

    /// How long ago, as of `now`, message `i` was posted.
    pub fn since_sent(&self, i: usize, now: Instant) -> Option<Duration> {
        let sent = self.sent.get(i)?.load(Ordering::Acquire);
        (sent > 0).then(|| Duration::from_nanos(self.nanos(now).saturating_sub(sent - 1)))
    }
}

/// Message content: `lt:<run tag>:<message index> <filler>`. The tag keeps
/// runs that share a server apart.
pub fn message_content(tag: &str, index: usize) -> String {
    format!("lt:{tag}:{index} the quick brown fox jumps over the lazy dog, twice over")
}

/// The message index in content this run wrote; `None` for anything else.
pub fn message_index(tag: &str, content: &str) -> Option<usize> {
    let rest = content
        .strip_prefix("lt:")?
        .strip_prefix(tag)?
        .strip_prefix(':')?;
    rest.split(' ').next()?.parse().ok()
}

/// Counters every session adds to.
#[derive(Default)]
pub struct Stats {
    /// Connections dropped on purpose (churn).
    pub drops: AtomicU64,
    pub resumes: AtomicU64,
    /// Resumes answered with op 9: the session was gone.
    pub resumes_refused: AtomicU64,
    /// Resumes that never got RESUMED after every attempt.
    pub resumes_failed: AtomicU64,
    /// Connections the server ended, by how they ended.
    pub endings: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    fn ended(&self, how: &Ended) {
        *self
            .endings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(how.label())
            .or_default() += 1;
    }

    pub fn endings(&self) -> BTreeMap<String, u64> {
        self.endings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// What every session of a run shares.
pub struct Shared {
    /// Per node, as `GET /gateway` on that node gives it.
    pub gateway_urls: Vec<String>,
    pub intents: u64,
    pub guilds: usize,
    /// Messages per guild this run can post (the size of each log).
    pub ordinals: usize,
    pub tag: String,
    pub clock: SendClock,
    pub latency: Histogram,
    /// Per node: first deliveries to its sessions, and their latency.
    pub nodes: Vec<NodeDeliveries>,
    /// First deliveries to a session on the node the message was posted
    /// through, and to a session on another node (with one node, all are
    /// the first kind).
    pub latency_same_node: Histogram,
    pub latency_cross_node: Histogram,
    /// First deliveries so far, over all sessions: the drain watches it.
    pub delivered: AtomicU64,
    /// When the latest first delivery arrived, in `clock` nanoseconds.
    pub last_delivery: AtomicU64,
    /// Connections being opened and identified at once.
    pub connecting: Semaphore,
    /// How long a churned session stays away before resuming.
    pub churn_downtime: Duration,
    pub stats: Stats,
}

/// The deliveries to one node's sessions.
#[derive(Default)]
pub struct NodeDeliveries {
    pub delivered: AtomicU64,
    pub latency: Histogram,
}

impl Shared {
    /// The gateway of the session's node.
    fn gateway_url(&self, plan: &Plan) -> &str {
        self.gateway_urls
            .get(plan.node)
            .or(self.gateway_urls.first())
            .map_or("", String::as_str)
    }

    /// A dispatch arrived at a session on `node`.
    fn on_dispatch(&self, log: &mut SessionLog, node: usize, p: &Payload) {
        let now = Instant::now();
        if let Some(s) = p.s {
            log.sequence(s);
        }
        if p.t.as_deref() != Some("MESSAGE_CREATE") {
            return;
        }
        let Some(index) =
            p.d.content
                .as_deref()
                .and_then(|c| message_index(&self.tag, c))
        else {
            return;
        };
        if log.message(index) == Delivery::First {
            let counts = self.nodes.get(node);
            if let Some(latency) = self.clock.since_sent(index, now) {
                self.latency.record(latency);
                if let Some(c) = counts {
                    c.latency.record(latency);
                }
                if node_of_message(index, self.guilds, self.nodes.len()) == node {
                    self.latency_same_node.record(latency);
                } else {
                    self.latency_cross_node.record(latency);
                }
            }
            if let Some(c) = counts {
                c.delivered.fetch_add(1, Ordering::Relaxed);
            }
            self.delivered.fetch_add(1, Ordering::Relaxed);
            self.last_delivery
                .fetch_max(self.clock.nanos(now), Ordering::Relaxed);
        }
    }
}

/// Which session to run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub index: usize,
    pub token: String,
    pub guild: usize,
    /// The node it connects (and resumes) to: an index into
    /// [`Shared::gateway_urls`].
    pub node: usize,
}

/// How a session's Identify went, as soon as it is known.
#[derive(Debug)]
pub struct Readiness {
    pub index: usize,
    pub guild: usize,
    pub result: Result<(), String>,
}

/// How a session's run went.
#[derive(Debug)]
pub struct Outcome {
    pub index: usize,
    pub identified: bool,
    /// Still connected when the run stopped.
    pub alive: bool,
    /// Why the session ended early, if it did.
    pub error: Option<String>,
    pub log: SessionLog,
    pub heartbeats: u64,
}

enum Step {
    Stop,
    Churn,
    Payload(Result<Payload, Ended>),
}

/// Runs one session until `stop` turns true. `churn` asks it to drop its
/// connection and resume.
pub async fn run(
    plan: Plan,
    shared: Arc<Shared>,
    churn: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    ready: mpsc::Sender<Readiness>,
) -> Outcome {
    let mut log = SessionLog::new(plan.guild, shared.guilds, shared.ordinals);
    let mut heartbeats = 0;
    let identified = {
        let _permit = shared.connecting.acquire().await;
        identify(&plan, &shared, &mut log).await
    };
    let _ = ready
        .send(Readiness {
            index: plan.index,
            guild: plan.guild,
            result: identified.as_ref().map(|_| ()).map_err(Clone::clone),
        })
        .await;
    let (mut conn, session_id) = match identified {
        Ok(ok) => ok,
        Err(e) => {
            return Outcome {
                index: plan.index,
                identified: false,
                alive: false,
                error: Some(e),
                log,
                heartbeats,
            }
        }
    };

    let error = loop {
        let step = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => Step::Stop,
            _ = churn.notified() => Step::Churn,
            p = conn.next(log.last_seq()) => Step::Payload(p),
        };
        let churned = match step {
            Step::Stop => {
                heartbeats += conn.heartbeats_sent;
                conn.close().await;
                return Outcome {
                    index: plan.index,
                    identified: true,
                    alive: true,
                    error: None,
                    log,
                    heartbeats,
                };
            }
            Step::Churn => {
                shared.stats.drops.fetch_add(1, Ordering::Relaxed);
                true
            }
            Step::Payload(Ok(p)) => match p.op {
                op::DISPATCH => {
                    shared.on_dispatch(&mut log, plan.node, &p);
                    continue;
                }
                op::RECONNECT => false,
                op::INVALID_SESSION => break "op 9 Invalid Session on a live connection".into(),
                _ => continue,
            },
            Step::Payload(Err(ended)) => {
                shared.stats.ended(&ended);
                if !ended.resumable() {
                    break format!("server ended the session: {ended:?}");
                }
                false
            }
        };
        heartbeats += conn.heartbeats_sent;
        // A reset, as from a client whose network went away.
        conn.abort();
        if churned {
            tokio::time::sleep(shared.churn_downtime).await;
        }
        let resumed = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => Err("stopped while resuming".to_string()),
            r = resume(&plan, &shared, &session_id, &mut log) => r,
        };
        conn = match resumed {
            Ok(c) => c,
            Err(e) => break e,
        };
    };
    Outcome {
        index: plan.index,
        identified: true,
        alive: false,
        error: Some(error),
        log,
        heartbeats,
    }
}

/// Identify and wait for READY and every GUILD_CREATE it announces.
async fn identify(
    plan: &Plan,
    shared: &Shared,
    log: &mut SessionLog,
) -> Result<(Connection, String), String> {
    let mut last_error = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            // A fresh session: its sequence numbers start again at 1.
            *log = SessionLog::new(plan.guild, shared.guilds, shared.ordinals);
        }
        let mut conn = match Connection::open(shared.gateway_url(plan)).await {
            Ok(c) => c,
            Err(e) => {
                last_error = e.to_string();
                continue;
            }
        };
        if let Err(e) = conn.identify(&plan.token, shared.intents).await {
            last_error = format!("sending Identify: {e:?}");
            continue;
        }
        let handshake = async {
            let mut session_id = None;
            let mut guilds_due = usize::MAX;
            loop {
                let p = conn.next(log.last_seq()).await?;
                match p.op {
                    op::DISPATCH => {
                        shared.on_dispatch(log, plan.node, &p);
                        match p.t.as_deref() {
                            Some("READY") => {
                                session_id = p.d.session_id.clone();
                                guilds_due = p.d.guilds.unwrap_or(0);
                            }
                            Some("GUILD_CREATE") => guilds_due = guilds_due.saturating_sub(1),
                            _ => {}
                        }
                        if let (Some(id), 0) = (&session_id, guilds_due) {
                            return Ok(id.clone());
                        }
                    }
                    op::INVALID_SESSION => return Err(Ended::Closed(None)),
                    _ => {}
                }
            }
        };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
            Ok(Ok(id)) => return Ok((conn, id)),
            Ok(Err(ended)) => {
                last_error = format!("Identify: connection ended: {ended:?}");
                if !ended.resumable() {
                    break;
                }
            }
            Err(_) => last_error = "Identify: no READY and GUILD_CREATE within 60 s".into(),
        }
    }
    Err(last_error)
}

/// Open a new connection and resume after the last sequence number seen.
async fn resume(
    plan: &Plan,
    shared: &Shared,
    session_id: &str,
    log: &mut SessionLog,
) -> Result<Connection, String> {
    let mut last_error = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        let mut conn = match Connection::open(shared.gateway_url(plan)).await {
            Ok(c) => c,
            Err(e) => {
                last_error = e.to_string();
                continue;
            }
        };
        let seq = log.last_seq().unwrap_or(0);
        if let Err(e) = conn.resume(&plan.token, session_id, seq).await {
            last_error = format!("sending Resume: {e:?}");
            continue;
        }
        let handshake = async {
            loop {
                let p = conn.next(log.last_seq()).await?;
                match p.op {
                    op::DISPATCH => {
                        shared.on_dispatch(log, plan.node, &p);
                        if p.t.as_deref() == Some("RESUMED") {
                            return Ok(true);
                        }
                    }
                    op::INVALID_SESSION => return Ok(false),
                    _ => {}
                }
            }
        };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
            Ok(Ok(true)) => {
                shared.stats.resumes.fetch_add(1, Ordering::Relaxed);
                return Ok(conn);
            }
            Ok(Ok(false)) => {
                shared.stats.resumes_refused.fetch_add(1, Ordering::Relaxed);
                return Err(format!("resume after seq {seq} refused with op 9"));
            }
            Ok(Err(ended)) => {
                shared.stats.ended(&ended);
                last_error = format!("resume: connection ended: {ended:?}");
                if !ended.resumable() {
                    break;
                }
            }
            Err(_) => last_error = "resume: no RESUMED within 60 s".into(),
        }
    }
    shared.stats.resumes_failed.fetch_add(1, Ordering::Relaxed);
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_indices_round_trip_through_content() {
        let c = message_content("ab12", 345);
        assert_eq!(message_index("ab12", &c), Some(345));
        assert_eq!(message_index("ab13", &c), None);
        assert_eq!(message_index("ab12", "hello"), None);
    }

    #[test]
    fn the_clock_measures_from_the_post() {
        let clock = SendClock::new(2);
        assert!(clock.since_sent(0, Instant::now()).is_none());
        clock.mark(0);
        let later = Instant::now() + Duration::from_millis(5);
        let d = clock.since_sent(0, later).unwrap();
        assert!(d >= Duration::from_millis(5) && d < Duration::from_secs(5));
        assert!(clock.since_sent(7, later).is_none());
    }
}
