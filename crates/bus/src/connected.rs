//! Each user's connected gateway sessions on every node of a cluster, so
//! that `--max-sessions-per-user` is one limit however the sessions spread
//! over nodes.
//!
//! One sorted set per user, `{prefix}conns:{user}`: member the session id,
//! score the time (Redis's clock, ms) until which the entry counts. A node
//! admits a session with one script (drop lapsed entries, count, add if
//! under the limit), so two nodes admitting at once cannot both take the
//! last place. It renews its connected sessions every [`RENEW_EVERY`] and
//! removes a session when its connection goes; a dead node's entries lapse
//! after [`ENTRY_TTL`].

use std::time::Duration;

use hearth_model::Snowflake;
use redis::aio::ConnectionManager;

use crate::BusError;

/// How long an entry counts unless renewed.
pub const ENTRY_TTL: Duration = Duration::from_secs(30);
/// How often a node renews its connected sessions' entries.
pub const RENEW_EVERY: Duration = Duration::from_secs(10);
/// How long a node waits for the shared count before deciding alone.
pub const COUNT_TIMEOUT: Duration = Duration::from_millis(250);

/// KEYS[1] the user's set; ARGV: session, limit, ttl. 1 admitted, 0 not.
const ADMIT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

#[derive(Debug, thiserror::Error)]
#[error("the shared session counts did not answer: {0}")]
pub struct CountsUnavailable(String);

pub struct ConnectedSessions {
    conn: ConnectionManager,
    prefix: String,
    admit: redis::Script,
}

impl ConnectedSessions {
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, BusError> {
        let (_, conn) = crate::remote::connect_to(url).await?;
        Ok(ConnectedSessions {
            conn,
            prefix: prefix.to_owned(),
            admit: redis::Script::new(ADMIT),
        })
    }

    fn key(&self, user: Snowflake) -> String {
        format!("{}conns:{user}", self.prefix)
    }

    /// Counts the session as connected if the user has fewer than `limit`
    /// connected sessions on all nodes (or it is counted already); false
    /// if they have `limit`.
    pub async fn admit(
        &self,
        user: Snowflake,
        session: &str,
        limit: usize,
    ) -> Result<bool, CountsUnavailable> {
        let mut conn = self.conn.clone();
        let mut call = self.admit.prepare_invoke();
        call.key(self.key(user))
            .arg(session)
            .arg(limit.min(i64::MAX as usize) as i64)
            .arg(ENTRY_TTL.as_millis() as u64);
        let admitted: i64 = tokio::time::timeout(COUNT_TIMEOUT, call.invoke_async(&mut conn))
            .await
            .map_err(|_| CountsUnavailable("timed out".into()))?
            .map_err(|e| CountsUnavailable(e.to_string()))?;
        Ok(admitted == 1)
    }

    /// The sessions are connected still (a resumed one counts again).
    pub async fn renew(&self, sessions: &[(Snowflake, String)]) -> Result<(), CountsUnavailable> {
        if sessions.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for (user, session) in sessions {
            let mut call = self.admit.key(self.key(*user));
            call.arg(session)
                .arg(i64::MAX)
                .arg(ENTRY_TTL.as_millis() as u64);
            pipe.invoke_script(&call).ignore();
        }
        let renewed = async {
            match pipe.query_async::<()>(&mut conn).await {
                // Redis restarted and lost the script: once more.
                Err(e)
                    if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
                {
                    self.admit.prepare_invoke().load_async(&mut conn).await?;
                    pipe.query_async::<()>(&mut conn).await
                }
                done => done,
            }
        };
        tokio::time::timeout(Duration::from_secs(5), renewed)
            .await
            .map_err(|_| CountsUnavailable("timed out".into()))?
            .map_err(|e| CountsUnavailable(e.to_string()))
    }

    /// The session's connection is gone: it counts no more.
    pub async fn release(&self, user: Snowflake, session: &str) -> Result<(), CountsUnavailable> {
        let mut conn = self.conn.clone();
        let mut zrem = redis::cmd("ZREM");
        zrem.arg(self.key(user)).arg(session);
        tokio::time::timeout(Duration::from_secs(5), zrem.query_async::<()>(&mut conn))
            .await
            .map_err(|_| CountsUnavailable("timed out".into()))?
            .map_err(|e| CountsUnavailable(e.to_string()))
    }
}
