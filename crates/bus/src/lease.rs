//! Node ids leased from Redis, so two nodes of a cluster never write the
//! same snowflake worker id into the ids they make.
//!
//! A lease is the key `{prefix}node-id:{id}` holding a random holder token,
//! set only if absent, with a time to live that the node renews. A node
//! that finds its key held by another (its lease ran out while it could not
//! reach Redis, and another node took the id) must stop making ids: the
//! lease says so through [`NodeIdLease::lost`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionManager;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::remote::redacted;
use crate::BusError;

/// How long a lease outlives its last renewal.
const TTL: Duration = Duration::from_secs(30);
const RENEW_EVERY: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Ids a lease may take: 1023 is the operator's (`hearth admin`).
pub const LEASABLE: u16 = 1023;
/// A node whose clock differs from Redis's by more than this refuses to
/// start: snowflakes carry its time, and messages are ordered by them.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(10);

/// Characters of the holder token in a node's name.
const NAME_TAG: usize = 8;

/// The lease a node name (see [`NodeIdLease::node_name`]) stands for.
fn parse_name(name: &str) -> Option<(u16, &str)> {
    let (id, tag) = name.strip_prefix("node-")?.split_once('-')?;
    Some((id.parse().ok()?, tag)).filter(|(_, t)| t.len() == NAME_TAG)
}

/// Which nodes of the cluster are still running, by the names their
/// leases gave them.
pub struct NodeNames {
    conn: ConnectionManager,
    prefix: String,
}

impl NodeNames {
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, BusError> {
        let (_, conn) = crate::remote::connect_to(url).await?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
        })
    }

    /// Whether each named node still holds its lease (a name that is no
    /// lease's is not alive).
    pub async fn alive(&self, names: &[String]) -> Result<Vec<bool>, BusError> {
        let parsed: Vec<Option<(u16, &str)>> = names.iter().map(|n| parse_name(n)).collect();
        let mut pipe = redis::pipe();
        for (id, _) in parsed.iter().flatten() {
            pipe.cmd("GET").arg(format!("{}node-id:{id}", self.prefix));
        }
        let mut conn = self.conn.clone();
        let holders: Vec<Option<String>> =
            tokio::time::timeout(REQUEST_TIMEOUT, pipe.query_async(&mut conn))
                .await
                .map_err(|_| BusError::Unreachable {
                    url: "(node leases)".into(),
                    reason: "timed out".into(),
                })?
                .map_err(|e| BusError::Unreachable {
                    url: "(node leases)".into(),
                    reason: e.to_string(),
                })?;
        let mut holders = holders.into_iter();
        Ok(parsed
            .iter()
            .map(|p| match p {
                None => false,
                Some((_, tag)) => holders.next().flatten().is_some_and(|h| h.starts_with(tag)),
            })
            .collect())
    }
}

/// Renews the lease only if this node still holds it.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
";
/// Gives the id back, if this node still holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(transparent)]
    Unreachable(#[from] BusError),
    #[error("node id {0} is held by another running node: give each node its own --node-id, or none to lease a free one")]
    Taken(u16),
    #[error("every node id (0-{}) is held by a running node", LEASABLE - 1)]
    Exhausted,
    #[error("this machine's clock is {skew_ms} ms off Redis's: fix its time (NTP) before starting the node")]
    ClockSkew { skew_ms: i64 },
}

pub struct NodeIdLease {
    id: u16,
    lost: watch::Receiver<bool>,
    renewal: JoinHandle<()>,
    conn: ConnectionManager,
    key: String,
    holder: String,
}

impl NodeIdLease {
    /// Takes `wanted`, or any free id when `None`.
    pub async fn acquire(url: &str, prefix: &str, wanted: Option<u16>) -> Result<Self, LeaseError> {
        let unreachable = |reason: String| BusError::Unreachable {
            url: redacted(url),
            reason,
        };
        let (_, mut conn) = crate::remote::connect_to(url).await?;

        let (secs, micros): (i64, i64) = redis::cmd("TIME")
            .query_async(&mut conn)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let theirs_ms = secs * 1000 + micros / 1000;
        let ours_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let skew_ms = ours_ms - theirs_ms;
        if skew_ms.unsigned_abs() > MAX_CLOCK_SKEW.as_millis() as u64 {
            return Err(LeaseError::ClockSkew { skew_ms });
        }

        let holder = format!("{:032x}", rand::random::<u128>());
        let key = |id: u16| format!("{prefix}node-id:{id}");
        let candidates: Vec<u16> = match wanted {
            Some(id) => vec![id],
            None => {
                // From a random start, so nodes starting together do not
                // race for the same ids.
                let start = rand::random::<u16>() % LEASABLE;
                (0..LEASABLE).map(|i| (start + i) % LEASABLE).collect()
            }
        };
        let mut taken = None;
        for id in candidates {
            let set: Option<String> = redis::cmd("SET")
                .arg(key(id))
                .arg(&holder)
                .arg("NX")
                .arg("PX")
                .arg(TTL.as_millis() as u64)
                .query_async(&mut conn)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            if set.is_some() {
                taken = Some(id);
                break;
            }
        }
        let id = match (taken, wanted) {
            (Some(id), _) => id,
            (None, Some(id)) => return Err(LeaseError::Taken(id)),
            (None, None) => return Err(LeaseError::Exhausted),
        };

        let (lost_tx, lost) = watch::channel(false);
        let renewal = tokio::spawn(renew(conn.clone(), key(id), holder.clone(), id, lost_tx));
        Ok(Self {
            id,
            lost,
            renewal,
            conn,
            key: key(id),
            holder,
        })
    }

    /// The node's name in its cluster, `node-{id}-{tag}`: the tag comes
    /// from this lease's holder token, so a node that later takes the same
    /// id has another name, and [`NodeNames::alive`] can tell the two apart.
    pub fn node_name(&self) -> String {
        format!("node-{}-{}", self.id, &self.holder[..NAME_TAG])
    }

    pub fn id(&self) -> u16 {
        self.id
    }

    /// Resolves once another node holds this node's id.
    pub async fn lost(&self) {
        let mut lost = self.lost.clone();
        let _ = lost.wait_for(|l| *l).await;
    }

    /// Gives the id back for the next node to start.
    pub async fn release(&self) {
        self.renewal.abort();
        let mut conn = self.conn.clone();
        let _ = tokio::time::timeout(
            REQUEST_TIMEOUT,
            redis::Script::new(RELEASE)
                .key(&self.key)
                .arg(&self.holder)
                .invoke_async::<i64>(&mut conn),
        )
        .await;
    }
}

impl Drop for NodeIdLease {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

async fn renew(
    mut conn: ConnectionManager,
    key: String,
    holder: String,
    id: u16,
    lost: watch::Sender<bool>,
) {
    let script = redis::Script::new(RENEW);
    let mut every = tokio::time::interval(RENEW_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        let renewed = tokio::time::timeout(
            REQUEST_TIMEOUT,
            script
                .key(&key)
                .arg(&holder)
                .arg(TTL.as_millis() as u64)
                .invoke_async::<i64>(&mut conn),
        )
        .await;
        match renewed {
            Ok(Ok(1)) => {}
            Ok(Ok(_)) => {
                tracing::error!(node_id = id, "another node holds this node's id: stopping");
                let _ = lost.send(true);
                return;
            }
            // Unreachable: the lease holds for its time to live, and is
            // taken again (if still free) once Redis answers.
            Ok(Err(e)) => {
                tracing::warn!(error = %e, node_id = id, "cannot renew the node id lease")
            }
            Err(_) => tracing::warn!(node_id = id, "renewing the node id lease timed out"),
        }
    }
}
