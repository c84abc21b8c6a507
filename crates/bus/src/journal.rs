//! Gateway sessions written down in Redis as they go, so that another node
//! can carry a session on after its node died without a word (`kill -9`, a
//! lost machine): the Redis half of the gateway's journal.
//!
//! Keys, under the prefix:
//! - `gs:{session}`, a hash: `node` (the node holding the session), `since`
//!   (when it was first recorded, Redis's clock, ms) and `data` (the
//!   session as a [`SessionSnapshot`] without its buffer).
//! - `gj:{node}:{session}`, a list: the session's dispatches as that node
//!   gave them, oldest first, each a fixed-size [`JournalEntry`].
//! - `gp:{node}:{n}`: one dispatch's name and body, shared by every session
//!   that got it (one copy for a message to ten thousand sessions).
//! - `ga:{node}`, a hash: the node's watermarks (the last event of each
//!   origin its fan-out applied) and when they were written.
//! - `galive:{node}`: exists while the node's gateway runs.
//! - `log:g:{guild}`, `log:u:{user}`: streams of the topics' recent events,
//!   written beside every publication (see `remote`), from which a node
//!   taking over a dead node's session replays what the session missed.
//!
//! Everything expires on its own: a dead node's keys are gone once a
//! resume could no longer use them.

use std::collections::HashMap;
use std::time::Duration;

use hearth_proto::events::{EventId, SessionSnapshot, Topic};
use redis::aio::ConnectionManager;
use redis::Value;

use crate::envelope::{self, Carried, Received};
use crate::BusError;

/// A gateway's `galive` key lives this long unless renewed.
pub const ALIVE_FOR: Duration = Duration::from_secs(3);
/// How often a gateway renews its `galive` key.
pub const ALIVE_EVERY: Duration = Duration::from_secs(1);
/// Events kept per topic stream (approximately: Redis trims in whole
/// nodes of the stream).
pub const LOG_LEN: usize = 2_000;
/// An idle topic's stream goes after this.
pub const LOG_TTL: Duration = Duration::from_secs(600);
/// How far before the dead node's last watermarks the replay starts: an
/// event reaches Redis's stream before it reaches a node's fan-out.
const LOG_LEAD: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Dispatches wait for a journal write: past this, Redis counts as
/// unreachable and they go out without it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

const PUT: &str = r"
local holder = redis.call('HGET', KEYS[1], 'node')
if holder and holder ~= ARGV[1] and ARGV[4] ~= '1' then
  return 0
end
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'data', ARGV[2])
if redis.call('HEXISTS', KEYS[1], 'since') == 0 then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[1], 'since', t[1] .. string.format('%03d', math.floor(t[2] / 1000)))
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

const FORGET: &str = r"
if redis.call('HGET', KEYS[1], 'node') == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return redis.call('DEL', KEYS[2])
";

const CLAIM: &str = r"
if redis.call('HGET', KEYS[1], 'node') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'node', ARGV[2])
  return 1
end
return 0
";

const APPLIED: &str = r"
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'ms', t[1] .. string.format('%03d', math.floor(t[2] / 1000)), 'w', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// One dispatch as a node gave it to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalEntry {
    pub seq: u64,
    /// The payload (`gp:{node}:{payload}`).
    pub payload: u64,
    /// The bus event it came from, if it came from one.
    pub source: Option<EventId>,
}

impl JournalEntry {
    pub const SIZE: usize = 32;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        let source = self.source.unwrap_or(EventId {
            origin: 0,
            counter: 0,
        });
        for (i, v) in [self.seq, self.payload, source.origin, source.counter]
            .into_iter()
            .enumerate()
        {
            out[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != Self::SIZE {
            return None;
        }
        let at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_be_bytes(b)
        };
        // Origin 0 is the in-process bus's, which has no journal: none.
        let source = (at(2) != 0).then(|| EventId {
            origin: at(2),
            counter: at(3),
        });
        Some(JournalEntry {
            seq: at(0),
            payload: at(1),
            source,
        })
    }
}

/// A dispatch's name and JSON body, as stored once per payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchPayload {
    pub name: String,
    pub json: Vec<u8>,
}

impl DispatchPayload {
    fn encode(name: &str, json: &[u8]) -> Vec<u8> {
        let name = &name.as_bytes()[..name.len().min(255)];
        let mut out = Vec::with_capacity(1 + name.len() + json.len());
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        out.extend_from_slice(json);
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let (&len, rest) = bytes.split_first()?;
        let len = usize::from(len);
        if rest.len() < len {
            return None;
        }
        Some(DispatchPayload {
            name: String::from_utf8(rest[..len].to_vec()).ok()?,
            json: rest[len..].to_vec(),
        })
    }
}

/// What one flush of a node's journal writes, in one pipeline.
#[derive(Debug, Default)]
pub struct JournalWrite {
    /// New payloads: (id, name, JSON).
    pub payloads: Vec<(u64, String, Vec<u8>)>,
    pub appends: Vec<SessionAppend>,
    /// Sessions to record again; `adopted` ones take the record over from
    /// whichever node had it.
    pub records: Vec<(SessionSnapshot, bool)>,
    /// Sessions ended here.
    pub forgotten: Vec<String>,
    /// Sessions whose keys must not expire yet.
    pub touched: Vec<String>,
    /// The node's watermarks, when they moved.
    pub applied: Option<Vec<EventId>>,
}

impl JournalWrite {
    pub fn is_empty(&self) -> bool {
        self.payloads.is_empty()
            && self.appends.is_empty()
            && self.records.is_empty()
            && self.forgotten.is_empty()
            && self.touched.is_empty()
            && self.applied.is_none()
    }
}

/// A session's new dispatches.
#[derive(Debug)]
pub struct SessionAppend {
    pub session: String,
    pub entries: Vec<JournalEntry>,
    /// Trim the list to its newest `n` entries (those a resume may still
    /// need, and at least one, which carries the session's sequence).
    /// Trimming now and then, not on every append, keeps a dispatch at one
    /// command.
    pub trim: Option<usize>,
    /// The list is new: give it its lifetime (renewed with the record's).
    pub expire: bool,
}

/// A session as the journal of a dead node left it.
#[derive(Debug)]
pub struct Recovered {
    /// The node that held it.
    pub node: String,
    /// When it was first recorded (Redis's clock, ms).
    pub since_ms: u64,
    /// Without its buffer: see `dispatches`.
    pub snapshot: SessionSnapshot,
    /// Its dispatches still kept, oldest first, with their payloads.
    pub dispatches: Vec<(JournalEntry, DispatchPayload)>,
    /// The node's watermarks, and when it wrote them (Redis's clock, ms).
    pub node_applied: Vec<EventId>,
    pub node_applied_ms: u64,
}

/// Why a dead node's session cannot be carried on.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("no record of the session")]
    Unknown,
    #[error("the session's record does not decode: {0}")]
    Undecodable(String),
    #[error("a dispatch the session may need is gone from Redis")]
    PayloadGone,
    #[error("the stream of {0:?} no longer holds what the session missed")]
    Trimmed(Topic),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("Redis did not answer in time")]
    TimedOut,
}

/// Events of a topic's stream, in the order Redis received them.
pub type LoggedEvents = Vec<(std::sync::Arc<hearth_proto::events::Event>, EventId)>;

pub struct JournalStore {
    conn: ConnectionManager,
    prefix: String,
    node: String,
    put: redis::Script,
    forget: redis::Script,
    claim: redis::Script,
    applied: redis::Script,
}

impl JournalStore {
    /// `node`: this node's name, under which it writes.
    pub async fn connect(url: &str, prefix: &str, node: &str) -> Result<Self, BusError> {
        let (_, conn) = crate::remote::connect_to(url).await?;
        let store = JournalStore {
            conn,
            prefix: prefix.to_owned(),
            node: node.to_owned(),
            put: redis::Script::new(PUT),
            forget: redis::Script::new(FORGET),
            claim: redis::Script::new(CLAIM),
            applied: redis::Script::new(APPLIED),
        };
        store
            .load_scripts()
            .await
            .map_err(|e| BusError::Unreachable {
                url: crate::remote::redacted(url),
                reason: e.to_string(),
            })?;
        Ok(store)
    }

    /// Pipelines call scripts by their hash: Redis must know them (again,
    /// after a restart of Redis).
    async fn load_scripts(&self) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        for script in [&self.put, &self.forget, &self.claim, &self.applied] {
            let invocation = script.prepare_invoke();
            match tokio::time::timeout(REQUEST_TIMEOUT, invocation.load_async(&mut conn)).await {
                Ok(r) => {
                    r?;
                }
                Err(_) => return Err(timed_out()),
            }
        }
        Ok(())
    }

    fn record_key(&self, session: &str) -> String {
        format!("{}gs:{session}", self.prefix)
    }

    fn entries_key(&self, node: &str, session: &str) -> String {
        format!("{}gj:{node}:{session}", self.prefix)
    }

    fn payload_key(&self, node: &str, id: u64) -> String {
        format!("{}gp:{node}:{id}", self.prefix)
    }

    fn applied_key(&self, node: &str) -> String {
        format!("{}ga:{node}", self.prefix)
    }

    fn alive_key(&self, node: &str) -> String {
        format!("{}galive:{node}", self.prefix)
    }

    /// Writes one flush; `keep_for` is how long it must outlive this node
    /// (the resume grace and a margin).
    pub async fn write(&self, w: &JournalWrite, keep_for: Duration) -> redis::RedisResult<()> {
        // A failure may be Redis not knowing the scripts (it restarted):
        // once more after loading them.
        match self.write_once(w, keep_for).await {
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                self.load_scripts().await?;
                self.write_once(w, keep_for).await
            }
            done => done,
        }
    }

    async fn write_once(&self, w: &JournalWrite, keep_for: Duration) -> redis::RedisResult<()> {
        let ttl = keep_for.as_millis() as u64;
        let mut pipe = redis::pipe();
        for (id, name, json) in &w.payloads {
            pipe.cmd("SET")
                .arg(self.payload_key(&self.node, *id))
                .arg(DispatchPayload::encode(name, json))
                .arg("PX")
                .arg(ttl)
                .ignore();
        }
        for a in &w.appends {
            let key = self.entries_key(&self.node, &a.session);
            if !a.entries.is_empty() {
                let mut rpush = redis::cmd("RPUSH");
                rpush.arg(&key);
                for e in &a.entries {
                    rpush.arg(&e.encode()[..]);
                }
                pipe.add_command(rpush).ignore();
            }
            if let Some(keep) = a.trim {
                let keep = keep.max(1) as i64;
                pipe.cmd("LTRIM").arg(&key).arg(-keep).arg(-1).ignore();
            }
            if a.expire {
                pipe.cmd("PEXPIRE").arg(&key).arg(ttl).ignore();
            }
        }
        for (snapshot, adopted) in &w.records {
            let mut invocation = self.put.key(self.record_key(&snapshot.id));
            invocation
                .arg(&self.node)
                .arg(snapshot.to_bus())
                .arg(ttl)
                .arg(if *adopted { "1" } else { "0" });
            pipe.invoke_script(&invocation).ignore();
        }
        for session in &w.touched {
            pipe.cmd("PEXPIRE")
                .arg(self.record_key(session))
                .arg(ttl)
                .ignore();
            pipe.cmd("PEXPIRE")
                .arg(self.entries_key(&self.node, session))
                .arg(ttl)
                .ignore();
        }
        for session in &w.forgotten {
            let mut invocation = self.forget.key(self.record_key(session));
            invocation
                .key(self.entries_key(&self.node, session))
                .arg(&self.node);
            pipe.invoke_script(&invocation).ignore();
        }
        if let Some(applied) = &w.applied {
            let bytes = encode_watermarks(applied);
            let mut invocation = self.applied.key(self.applied_key(&self.node));
            invocation.arg(bytes).arg(ttl);
            pipe.invoke_script(&invocation).ignore();
        }
        let mut conn = self.conn.clone();
        match tokio::time::timeout(WRITE_TIMEOUT, pipe.query_async::<()>(&mut conn)).await {
            Ok(r) => r,
            Err(_) => Err(timed_out()),
        }
    }

    /// Says this node's gateway runs, for the next [`ALIVE_FOR`].
    pub async fn alive(&self) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        let mut set = redis::cmd("SET");
        set.arg(self.alive_key(&self.node))
            .arg(1)
            .arg("PX")
            .arg(ALIVE_FOR.as_millis() as u64);
        match tokio::time::timeout(REQUEST_TIMEOUT, set.query_async::<()>(&mut conn)).await {
            Ok(r) => r,
            Err(_) => Err(timed_out()),
        }
    }

    /// This node's gateway stops: its sessions may be taken over at once.
    pub async fn gone(&self) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        let mut del = redis::cmd("DEL");
        del.arg(self.alive_key(&self.node));
        match tokio::time::timeout(REQUEST_TIMEOUT, del.query_async::<()>(&mut conn)).await {
            Ok(r) => r,
            Err(_) => Err(timed_out()),
        }
    }

    /// Whether the node's gateway is running (or died less than
    /// [`ALIVE_FOR`] ago).
    pub async fn is_alive(&self, node: &str) -> Result<bool, RecoveryError> {
        let mut conn = self.conn.clone();
        let mut exists = redis::cmd("EXISTS");
        exists.arg(self.alive_key(node));
        Ok(timeout(exists.query_async::<i64>(&mut conn)).await? == 1)
    }

    /// The node recorded as holding the session, if any.
    pub async fn holder(&self, session: &str) -> Result<Option<String>, RecoveryError> {
        let mut conn = self.conn.clone();
        let mut get = redis::cmd("HGET");
        get.arg(self.record_key(session)).arg("node");
        timeout(get.query_async::<Option<String>>(&mut conn)).await
    }

    /// Takes the record of the session from `from` (a dead node): true if
    /// it was still that node's.
    pub async fn claim(&self, session: &str, from: &str) -> Result<bool, RecoveryError> {
        let mut conn = self.conn.clone();
        let mut invocation = self.claim.key(self.record_key(session));
        invocation.arg(from).arg(&self.node);
        let claimed = invocation.invoke_async::<i64>(&mut conn);
        Ok(timeout(claimed).await? == 1)
    }

    /// Everything the journal of the session's holder says of it.
    pub async fn recover(&self, session: &str) -> Result<Recovered, RecoveryError> {
        let mut conn = self.conn.clone();
        let record: HashMap<String, Vec<u8>> = timeout(
            redis::cmd("HGETALL")
                .arg(self.record_key(session))
                .query_async(&mut conn),
        )
        .await?;
        let (Some(node), Some(since), Some(data)) =
            (record.get("node"), record.get("since"), record.get("data"))
        else {
            return Err(RecoveryError::Unknown);
        };
        let node = String::from_utf8_lossy(node).into_owned();
        let since_ms = parse_ms(since);
        let snapshot = SessionSnapshot::from_bus(data)
            .map_err(|e| RecoveryError::Undecodable(e.to_string()))?;
        let raw: Vec<Vec<u8>> = timeout(
            redis::cmd("LRANGE")
                .arg(self.entries_key(&node, session))
                .arg(0)
                .arg(-1)
                .query_async(&mut conn),
        )
        .await?;
        let mut entries: Vec<JournalEntry> =
            raw.iter().filter_map(|e| JournalEntry::decode(e)).collect();
        entries.sort_by_key(|e| e.seq);
        entries.dedup_by_key(|e| e.seq);
        let mut dispatches = Vec::with_capacity(entries.len());
        if !entries.is_empty() {
            let mut mget = redis::cmd("MGET");
            for e in &entries {
                mget.arg(self.payload_key(&node, e.payload));
            }
            let payloads: Vec<Option<Vec<u8>>> = timeout(mget.query_async(&mut conn)).await?;
            for (e, p) in entries.into_iter().zip(payloads) {
                let p = p
                    .as_deref()
                    .and_then(DispatchPayload::decode)
                    .ok_or(RecoveryError::PayloadGone)?;
                dispatches.push((e, p));
            }
        }
        let applied: HashMap<String, Vec<u8>> = timeout(
            redis::cmd("HGETALL")
                .arg(self.applied_key(&node))
                .query_async(&mut conn),
        )
        .await?;
        Ok(Recovered {
            node,
            since_ms,
            snapshot,
            dispatches,
            node_applied: applied
                .get("w")
                .map(|w| decode_watermarks(w))
                .unwrap_or_default(),
            node_applied_ms: applied.get("ms").map_or(since_ms, |m| parse_ms(m)),
        })
    }

    /// The events of each topic's stream from a little before `applied_ms`
    /// (and not before `since_ms`), in the order Redis took them. Fails if
    /// a stream was trimmed past what may be needed.
    pub async fn read_logs(
        &self,
        topics: &[Topic],
        since_ms: u64,
        applied_ms: u64,
    ) -> Result<Vec<LoggedEvents>, RecoveryError> {
        let from = since_ms.max(applied_ms.saturating_sub(LOG_LEAD.as_millis() as u64));
        let mut conn = self.conn.clone();
        let mut all = Vec::with_capacity(topics.len());
        for topic in topics {
            let key = log_key(&self.prefix, *topic);
            let first: Value = timeout(
                redis::cmd("XRANGE")
                    .arg(&key)
                    .arg("-")
                    .arg("+")
                    .arg("COUNT")
                    .arg(1)
                    .query_async(&mut conn),
            )
            .await?;
            let len: usize = timeout(redis::cmd("XLEN").arg(&key).query_async(&mut conn)).await?;
            if let Some((first_ms, _)) = stream_entries(first).first() {
                // A full stream whose oldest event is newer than where the
                // replay starts may have lost what the session missed.
                if len >= LOG_LEN && *first_ms > from {
                    return Err(RecoveryError::Trimmed(*topic));
                }
            }
            let range: Value = timeout(
                redis::cmd("XRANGE")
                    .arg(&key)
                    .arg(format!("{from}-0"))
                    .arg("+")
                    .query_async(&mut conn),
            )
            .await?;
            let events = stream_entries(range)
                .into_iter()
                .filter_map(|(_, bytes)| match envelope::decode(&bytes) {
                    Ok(Received {
                        id,
                        carried: Carried::Event(event),
                        ..
                    }) => Some((std::sync::Arc::new(event), id)),
                    _ => None,
                })
                .collect();
            all.push(events);
        }
        Ok(all)
    }
}

/// The stream of a topic's recent events.
pub(crate) fn log_key(prefix: &str, topic: Topic) -> String {
    match topic {
        Topic::Guild(g) => format!("{prefix}log:g:{g}"),
        Topic::User(u) => format!("{prefix}log:u:{u}"),
        Topic::Voice => format!("{prefix}log:voice"),
    }
}

/// (ms of the entry's id, its `e` field) of an XRANGE reply.
fn stream_entries(reply: Value) -> Vec<(u64, Vec<u8>)> {
    let Value::Array(entries) = reply else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter_map(|entry| {
            let Value::Array(mut parts) = entry else {
                return None;
            };
            if parts.len() != 2 {
                return None;
            }
            let fields = parts.pop()?;
            let id = parts.pop()?;
            let id = match id {
                Value::BulkString(b) => String::from_utf8(b).ok()?,
                Value::SimpleString(s) => s,
                _ => return None,
            };
            let ms = id.split('-').next()?.parse().ok()?;
            let Value::Array(fields) = fields else {
                return None;
            };
            let value = fields.into_iter().nth(1)?;
            match value {
                Value::BulkString(b) => Some((ms, b)),
                _ => None,
            }
        })
        .collect()
}

fn parse_ms(bytes: &[u8]) -> u64 {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Watermarks as `origin counter` pairs, 16 bytes each.
fn encode_watermarks(applied: &[EventId]) -> Vec<u8> {
    let mut out = Vec::with_capacity(applied.len() * 16);
    for id in applied {
        out.extend_from_slice(&id.origin.to_be_bytes());
        out.extend_from_slice(&id.counter.to_be_bytes());
    }
    out
}

fn decode_watermarks(bytes: &[u8]) -> Vec<EventId> {
    bytes
        .chunks_exact(16)
        .map(|c| {
            let mut o = [0u8; 8];
            let mut n = [0u8; 8];
            o.copy_from_slice(&c[..8]);
            n.copy_from_slice(&c[8..]);
            EventId {
                origin: u64::from_be_bytes(o),
                counter: u64::from_be_bytes(n),
            }
        })
        .collect()
}

fn timed_out() -> redis::RedisError {
    redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut))
}

async fn timeout<T>(
    f: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, RecoveryError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, f).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(RecoveryError::TimedOut),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_payloads_round_trip() {
        let e = JournalEntry {
            seq: 7,
            payload: 99,
            source: Some(EventId {
                origin: 5,
                counter: 12,
            }),
        };
        assert_eq!(JournalEntry::decode(&e.encode()), Some(e));
        let local = JournalEntry { source: None, ..e };
        assert_eq!(JournalEntry::decode(&local.encode()), Some(local));
        assert_eq!(JournalEntry::decode(&[0; 5]), None);
        let p = DispatchPayload::encode("MESSAGE_CREATE", br#"{"id":"1"}"#);
        assert_eq!(
            DispatchPayload::decode(&p),
            Some(DispatchPayload {
                name: "MESSAGE_CREATE".into(),
                json: br#"{"id":"1"}"#.to_vec(),
            })
        );
        assert_eq!(DispatchPayload::decode(&[9, b'a']), None);
        let w = vec![
            EventId {
                origin: 1,
                counter: 2,
            },
            EventId {
                origin: u64::MAX,
                counter: 3,
            },
        ];
        assert_eq!(decode_watermarks(&encode_watermarks(&w)), w);
    }
}
