//! The voice states each node holds, kept in Redis for the nodes that start
//! watching a guild later (the others hear of every change as it happens,
//! as VOICE_STATE_UPDATE on the guild's channel).
//!
//! One hash per guild, `{prefix}voice:{guild}`: field the user's id, value
//! `{node}\t{VoiceState as JSON}`. A node writes only its own users' states,
//! in the order it makes the changes (one writer task); a leave removes the
//! field only if the node still holds it, so a user who moved their voice
//! state to a session on another node keeps the newer one.

use hearth_model::Snowflake;
use hearth_proto::gateway::VoiceState;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;

use crate::BusError;

/// Changes waiting for Redis; beyond them changes are dropped (and logged):
/// the live events still carry them, only late watchers miss them.
const QUEUE: usize = 65_536;
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

const REMOVE_IF_HELD: &str = r"
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and string.sub(v, 1, #ARGV[2] + 1) == ARGV[2] .. '\t' then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
";

enum Change {
    Set {
        key: String,
        user: Snowflake,
        value: String,
    },
    Remove {
        key: String,
        user: Snowflake,
        node: String,
    },
}

/// A voice state as recorded, with the node holding it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedVoiceState {
    pub node: String,
    pub state: VoiceState,
}

pub struct VoiceDirectory {
    conn: ConnectionManager,
    prefix: String,
    node: String,
    changes: mpsc::Sender<Change>,
    remove: redis::Script,
}

impl VoiceDirectory {
    /// `node`: this node's name, which its records carry.
    pub async fn connect(url: &str, prefix: &str, node: &str) -> Result<Self, BusError> {
        let (_, conn) = crate::remote::connect_to(url).await?;
        let (changes, queue) = mpsc::channel(QUEUE);
        let remove = redis::Script::new(REMOVE_IF_HELD);
        tokio::spawn(write(conn.clone(), remove.clone(), queue));
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            node: node.to_owned(),
            changes,
            remove,
        })
    }

    fn key(&self, guild: Snowflake) -> String {
        format!("{}voice:{guild}", self.prefix)
    }

    /// Records a state this node holds; a state without a channel is a
    /// leave.
    pub fn record(&self, guild: Snowflake, state: &VoiceState) {
        let key = self.key(guild);
        let change = match state.channel_id {
            Some(_) => match serde_json::to_string(state) {
                Ok(json) => Change::Set {
                    key,
                    user: state.user_id,
                    value: format!("{}\t{json}", self.node),
                },
                Err(_) => return,
            },
            None => Change::Remove {
                key,
                user: state.user_id,
                node: self.node.clone(),
            },
        };
        if self.changes.try_send(change).is_err() {
            tracing::warn!(%guild, "voice states queued for Redis are too many: a change is not recorded there");
        }
    }

    /// The states recorded for the guild.
    pub async fn load(&self, guild: Snowflake) -> Result<Vec<RecordedVoiceState>, BusError> {
        let mut conn = self.conn.clone();
        let all: Vec<(String, String)> = tokio::time::timeout(
            REQUEST_TIMEOUT,
            redis::cmd("HGETALL")
                .arg(self.key(guild))
                .query_async(&mut conn),
        )
        .await
        .map_err(|_| unreachable("timed out"))?
        .map_err(|e| unreachable(&e.to_string()))?;
        Ok(all
            .into_iter()
            .filter_map(|(_, v)| {
                let (node, json) = v.split_once('\t')?;
                Some(RecordedVoiceState {
                    node: node.to_owned(),
                    state: serde_json::from_str(json).ok()?,
                })
            })
            .collect())
    }

    /// Removes the user's record if `node` (a node that is gone) holds it.
    pub async fn forget(&self, guild: Snowflake, user: Snowflake, node: &str) {
        let mut conn = self.conn.clone();
        let mut call = self.remove.prepare_invoke();
        call.key(self.key(guild)).arg(user.0).arg(node);
        let _ = tokio::time::timeout(REQUEST_TIMEOUT, call.invoke_async::<i64>(&mut conn)).await;
    }
}

fn unreachable(reason: &str) -> BusError {
    BusError::Unreachable {
        url: "(voice states)".into(),
        reason: reason.to_owned(),
    }
}

async fn write(
    mut conn: ConnectionManager,
    remove: redis::Script,
    mut queue: mpsc::Receiver<Change>,
) {
    let mut failing = false;
    while let Some(change) = queue.recv().await {
        let result: redis::RedisResult<()> = match change {
            Change::Set { key, user, value } => {
                redis::cmd("HSET")
                    .arg(key)
                    .arg(user.0)
                    .arg(value)
                    .query_async(&mut conn)
                    .await
            }
            Change::Remove { key, user, node } => {
                let mut call = remove.prepare_invoke();
                call.key(key).arg(user.0).arg(node);
                call.invoke_async::<i64>(&mut conn).await.map(drop)
            }
        };
        match (result, failing) {
            (Err(e), false) => {
                tracing::warn!(error = %e, "voice states cannot be recorded in Redis: nodes that start watching a guild meanwhile miss them");
                failing = true;
            }
            (Ok(()), true) => failing = false,
            _ => {}
        }
    }
}
