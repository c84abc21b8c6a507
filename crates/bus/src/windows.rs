//! Fixed-window counters the nodes of a cluster share, so that a budget
//! (a rate limit) is one budget however requests spread over nodes.
//!
//! A window is a Redis key counted up with INCR and given its period as
//! time to live by the request that opens it. One script takes from an
//! outer window (a caller's global limit) and, only if that one allows it,
//! from an inner one (the route's bucket): one round trip per request.

use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::BusError;

const TAKE: &str = r"
local function take(key, period)
  local used = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if used == 1 or ttl < 0 then
    redis.call('PEXPIRE', key, period)
    ttl = tonumber(period)
  end
  return used, ttl
end
local outer_used, outer_ttl = take(KEYS[1], ARGV[2])
if outer_used > tonumber(ARGV[1]) then
  return {outer_used, outer_ttl, -1, -1}
end
local inner_used, inner_ttl = take(KEYS[2], ARGV[3])
return {outer_used, outer_ttl, inner_used, inner_ttl}
";

/// Sets a cooldown key if there is none; else says how long it has left.
const COOLDOWN: &str = r"
if redis.call('SET', KEYS[1], 1, 'PX', ARGV[1], 'NX') then
  return -1
end
return redis.call('PTTL', KEYS[1])
";

/// How long a node waits for the shared count before deciding alone.
pub const WINDOW_TIMEOUT: Duration = Duration::from_millis(250);

/// A window to take one from.
#[derive(Debug, Clone, Copy)]
pub struct WindowSpec<'a> {
    pub name: &'a str,
    /// How many the window allows (only the outer one's is checked here).
    pub count: u32,
    pub period: Duration,
}

/// A window after taking one from it: how many it has counted, this
/// request included, and when it resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    pub used: u32,
    pub reset_after: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("the shared counters did not answer: {0}")]
pub struct WindowsUnavailable(String);

pub struct SharedWindows {
    conn: ConnectionManager,
    prefix: String,
    script: redis::Script,
    cooldown: redis::Script,
}

impl SharedWindows {
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, BusError> {
        let (_, conn) = crate::remote::connect_to(url).await?;
        Ok(Self {
            conn,
            prefix: format!("{prefix}rl:"),
            script: redis::Script::new(TAKE),
            cooldown: redis::Script::new(COOLDOWN),
        })
    }

    /// Starts a cooldown of `period` named `name` unless one runs: `None`
    /// when it started (the action may go ahead), else the time it has
    /// left (slow mode).
    pub async fn cooldown(
        &self,
        name: &str,
        period: Duration,
    ) -> Result<Option<Duration>, WindowsUnavailable> {
        let mut conn = self.conn.clone();
        let mut call = self.cooldown.prepare_invoke();
        call.key(format!("{}{name}", self.prefix))
            .arg(period.as_millis().max(1) as u64);
        let left: i64 = tokio::time::timeout(WINDOW_TIMEOUT, call.invoke_async(&mut conn))
            .await
            .map_err(|_| WindowsUnavailable("timed out".into()))?
            .map_err(|e| WindowsUnavailable(e.to_string()))?;
        Ok((left >= 0).then(|| Duration::from_millis(left as u64)))
    }

    /// The window named `name` as it stands, without taking from it; None
    /// when no window is open.
    pub async fn peek(&self, name: &str) -> Result<Option<Taken>, WindowsUnavailable> {
        let mut conn = self.conn.clone();
        let key = format!("{}{name}", self.prefix);
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(&key).cmd("PTTL").arg(&key);
        let (used, ttl): (Option<i64>, i64) =
            tokio::time::timeout(WINDOW_TIMEOUT, pipe.query_async(&mut conn))
                .await
                .map_err(|_| WindowsUnavailable("timed out".into()))?
                .map_err(|e| WindowsUnavailable(e.to_string()))?;
        Ok(used.filter(|_| ttl > 0).map(|used| Taken {
            used: u32::try_from(used).unwrap_or(u32::MAX),
            reset_after: Duration::from_millis(ttl as u64),
        }))
    }

    /// Takes one from `outer`, and if `outer` still allows it, one from
    /// `inner` (None when it did not).
    pub async fn take(
        &self,
        outer: WindowSpec<'_>,
        inner: WindowSpec<'_>,
    ) -> Result<(Taken, Option<Taken>), WindowsUnavailable> {
        let mut conn = self.conn.clone();
        let mut call = self.script.prepare_invoke();
        call.key(format!("{}{}", self.prefix, outer.name))
            .key(format!("{}{}", self.prefix, inner.name))
            .arg(outer.count)
            .arg(outer.period.as_millis() as u64)
            .arg(inner.period.as_millis() as u64);
        let answer: (i64, i64, i64, i64) =
            tokio::time::timeout(WINDOW_TIMEOUT, call.invoke_async(&mut conn))
                .await
                .map_err(|_| WindowsUnavailable("timed out".into()))?
                .map_err(|e| WindowsUnavailable(e.to_string()))?;
        let taken = |used: i64, ttl: i64| Taken {
            used: u32::try_from(used).unwrap_or(u32::MAX),
            reset_after: Duration::from_millis(ttl.max(0) as u64),
        };
        let (outer_used, outer_ttl, inner_used, inner_ttl) = answer;
        Ok((
            taken(outer_used, outer_ttl),
            (inner_used >= 0).then(|| taken(inner_used, inner_ttl)),
        ))
    }
}
