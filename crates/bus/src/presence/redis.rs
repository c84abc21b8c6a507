//! The nodes' views of users in Redis.
//!
//! One hash per user, `{prefix}presence:{user}`: a counter `seq` that
//! orders the stamps, and per node three fields, `d:{node}` (the deadline,
//! in Redis's milliseconds, after which the view counts as gone), `s:{node}`
//! (its stamp) and `p:{node}` (the presence, as JSON). Redis 7.0 has no
//! expiry per field, so the deadline is checked (and an expired view
//! deleted) by the script that reads, against Redis's own clock; the hash
//! as a whole expires [`VIEW_TTL`] after its last write (a write never
//! shortens it), so a user whose nodes all died leaves nothing behind. A
//! node is named by a random id drawn at start: a restarted node never
//! takes over a dead one's views.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use hearth_model::Snowflake;
use hearth_proto::gateway::PresenceUpdate;
use redis::aio::ConnectionManager;

use super::{Exchange, NodeView, PresenceError, Record, SharedPresences, MAX_VIEWS, VIEW_TTL};
use crate::remote::redacted;
use crate::BusError;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// KEYS[1]: the user's hash. ARGV: this node, the TTL in ms, the mode
/// (`fresh`, `kept`, `gone`), the stamp (`kept`), the presence (`fresh`,
/// `kept`). Returns `{stamp or 0, views, expired}`, each view `{node,
/// stamp, presence}`: the live views as they were before this write (this
/// node's included), and the other nodes' views it removed because their
/// deadline had passed.
const RECORD: &str = r"
local key, me, ttl, mode = KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', key)
local fields = {}
for i = 1, #all, 2 do fields[all[i]] = all[i + 1] end
local views, expired = {}, {}
for f, v in pairs(fields) do
  if string.sub(f, 1, 2) == 'd:' then
    local node = string.sub(f, 3)
    local s, p = fields['s:' .. node], fields['p:' .. node]
    if (tonumber(v) or 0) < now or not s or not p then
      redis.call('HDEL', key, f, 's:' .. node, 'p:' .. node)
      if s and p and node ~= me then table.insert(expired, {node, s, p}) end
    else
      table.insert(views, {node, s, p})
    end
  end
end
local stamp = 0
if mode == 'gone' then
  redis.call('HDEL', key, 'd:' .. me, 's:' .. me, 'p:' .. me)
else
  local seq = tonumber(fields['seq']) or 0
  if mode == 'fresh' then
    stamp = seq + 1
  else
    stamp = tonumber(ARGV[4])
  end
  if stamp > seq then redis.call('HSET', key, 'seq', stamp) end
  redis.call('HSET', key, 'd:' .. me, now + ttl, 's:' .. me, stamp, 'p:' .. me, ARGV[5])
end
if redis.call('HLEN', key) <= 1 then
  redis.call('DEL', key)
elseif redis.call('PTTL', key) < ttl then
  redis.call('PEXPIRE', key, ttl)
end
return {stamp, views, expired}
";

/// KEYS[1]: the user's hash. Returns the presence of the live view with
/// the highest stamp, or nil. Deletes nothing: a read does not write.
const SHOWN: &str = r"
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', key)
local fields = {}
for i = 1, #all, 2 do fields[all[i]] = all[i + 1] end
local best, shown = -1, false
for f, v in pairs(fields) do
  if string.sub(f, 1, 2) == 'd:' and (tonumber(v) or 0) >= now then
    local node = string.sub(f, 3)
    local s, p = tonumber(fields['s:' .. node]), fields['p:' .. node]
    if s and p and s > best then best, shown = s, p end
  end
end
return shown
";

/// Users read at once (one connection, pipelined by the client).
const READS_IN_FLIGHT: usize = 32;

pub struct RedisPresences {
    conn: ConnectionManager,
    prefix: String,
    /// This node, as its fields name it.
    node: String,
    script: redis::Script,
    read: redis::Script,
    ttl: Duration,
}

impl RedisPresences {
    /// Connects to Redis, and fails with the (redacted) URL when it cannot.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, BusError> {
        let unreachable = |reason: String| BusError::Unreachable {
            url: redacted(url),
            reason,
        };
        let client = redis::Client::open(url).map_err(|e| unreachable(e.to_string()))?;
        // Fail fast rather than retry for long: a node that cannot reach
        // Redis announces its own view meanwhile (`signaling`'s
        // `cluster_presence`), and records every user again once it can.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_connection_timeout(Some(REQUEST_TIMEOUT))
            .set_response_timeout(Some(REQUEST_TIMEOUT));
        let conn = tokio::time::timeout(
            REQUEST_TIMEOUT,
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| unreachable("timed out".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
        Ok(RedisPresences {
            conn,
            prefix: prefix.to_owned(),
            node: format!("{:016x}", rand::random::<u64>()),
            script: redis::Script::new(RECORD),
            read: redis::Script::new(SHOWN),
            ttl: VIEW_TTL,
        })
    }

    /// How long this node's views outlive their last record: [`VIEW_TTL`]
    /// unless a test wants a node that dies quickly.
    pub fn with_view_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    fn key(&self, user: Snowflake) -> String {
        format!("{}presence:{user}", self.prefix)
    }

    async fn run(
        &self,
        user: Snowflake,
        record: &Record,
    ) -> Result<(u64, Vec<RawView>, Vec<RawView>), PresenceError> {
        let (mode, stamp, update) = match record {
            Record::Fresh(update) => ("fresh", 0, Some(update)),
            Record::Kept(v) => ("kept", v.stamp, Some(&v.update)),
            Record::Gone => ("gone", 0, None),
        };
        let payload = match update {
            // Serialising a struct of plain fields and JSON values cannot fail.
            Some(u) => {
                serde_json::to_vec(u).map_err(|e| PresenceError::Unreadable(e.to_string()))?
            }
            None => Vec::new(),
        };
        let mut invocation = self.script.key(self.key(user));
        invocation
            .arg(&self.node)
            .arg(self.ttl.as_millis() as u64)
            .arg(mode)
            .arg(stamp)
            .arg(payload);
        let mut conn = self.conn.clone();
        tokio::time::timeout(REQUEST_TIMEOUT, invocation.invoke_async(&mut conn))
            .await
            .map_err(|_| PresenceError::Unreachable("timed out".into()))?
            .map_err(failure)
    }

    async fn read(&self, user: Snowflake) -> Result<Option<PresenceUpdate>, PresenceError> {
        let mut conn = self.conn.clone();
        let payload: Option<Vec<u8>> = tokio::time::timeout(
            REQUEST_TIMEOUT,
            self.read.key(self.key(user)).invoke_async(&mut conn),
        )
        .await
        .map_err(|_| PresenceError::Unreachable("timed out".into()))?
        .map_err(failure)?;
        Ok(payload.and_then(|p| decode(0, &p)).map(|v| v.update))
    }
}

fn failure(e: redis::RedisError) -> PresenceError {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() {
        PresenceError::Unreachable(e.to_string())
    } else {
        PresenceError::Unreadable(e.to_string())
    }
}

/// A view as the scripts return it: node, stamp, presence.
type RawView = (String, u64, Vec<u8>);

/// A view as the script returned it; `None` for one that does not decode
/// (a node of another version), which is skipped.
fn decode(stamp: u64, payload: &[u8]) -> Option<NodeView> {
    let update: PresenceUpdate = serde_json::from_slice(payload).ok()?;
    Some(NodeView { stamp, update })
}

#[async_trait]
impl SharedPresences for RedisPresences {
    async fn record(&self, user: Snowflake, record: Record) -> Result<Exchange, PresenceError> {
        let (stamp, views, expired) = self.run(user, &record).await?;
        let mut others = Vec::new();
        let mut mine_before = None;
        for (node, s, payload) in views.into_iter().take(MAX_VIEWS) {
            let Some(view) = decode(s, &payload) else {
                tracing::warn!(%user, node, "a node's presence view does not decode: ignored");
                continue;
            };
            if node == self.node {
                mine_before = Some(view);
            } else {
                others.push(view);
            }
        }
        let expired = expired
            .into_iter()
            .take(MAX_VIEWS)
            .filter_map(|(_, s, payload)| decode(s, &payload))
            .collect();
        let mine_after = match record {
            Record::Fresh(update) => Some(NodeView { stamp, update }),
            Record::Kept(view) => Some(view),
            Record::Gone => None,
        };
        Ok(Exchange {
            others,
            mine_before,
            mine_after,
            expired,
        })
    }

    async fn shown(
        &self,
        users: &[Snowflake],
    ) -> Result<Vec<Option<PresenceUpdate>>, PresenceError> {
        futures_util::stream::iter(users.to_vec())
            .map(|u| self.read(u))
            .buffered(READS_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }
}
