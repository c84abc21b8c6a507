//! Thread dispatches: what changes in a thread's membership, and the `d`
//! of THREAD_CREATE, THREAD_DELETE and THREAD_MEMBERS_UPDATE.

use hearth_model::{Channel, ChannelType, Snowflake, ThreadMember};
use serde::{Deserialize, Serialize};

/// Who joined or left a thread (THREAD_MEMBERS_UPDATE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadMembersChange {
    /// The thread.
    pub id: Snowflake,
    pub guild_id: Snowflake,
    pub member_count: u32,
    pub added: Vec<ThreadMember>,
    pub removed: Vec<Snowflake>,
}

impl ThreadMembersChange {
    /// Whether the user is among those who joined or left: they hear of it
    /// without the GUILD_MEMBERS intent, as in Discord.
    pub fn concerns(&self, user: Snowflake) -> bool {
        self.removed.contains(&user) || self.added.iter().any(|m| m.user_id == user)
    }
}

#[derive(Serialize)]
pub(super) struct ThreadCreateD<'a> {
    #[serde(flatten)]
    pub thread: &'a Channel,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub newly_created: bool,
}

#[derive(Serialize)]
pub(super) struct ThreadDeleteD {
    pub id: Snowflake,
    pub guild_id: Snowflake,
    pub parent_id: Snowflake,
    #[serde(rename = "type")]
    pub kind: ChannelType,
}

/// THREAD_MEMBER_UPDATE's `d`: the user's own thread member, with the guild.
#[derive(Serialize)]
pub(super) struct ThreadMemberD<'a> {
    #[serde(flatten)]
    pub member: &'a ThreadMember,
    pub guild_id: Snowflake,
}

#[derive(Serialize)]
pub(super) struct ThreadMembersD<'a> {
    pub id: Snowflake,
    pub guild_id: Snowflake,
    #[serde(serialize_with = "hearth_model::threads::at_most_fifty")]
    pub member_count: u32,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub added_members: &'a [ThreadMember],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub removed_member_ids: &'a [Snowflake],
}
