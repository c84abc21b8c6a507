//! Direct and group messages: channels outside any guild, shared by their
//! recipients.

use serde::{Deserialize, Serialize};

use crate::{Snowflake, User};

/// A user the viewer has a relationship with. Hearth has blocks only
/// (Discord's type 2): no friends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relationship {
    /// The other user's id.
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: u8,
    pub user: User,
    pub nickname: Option<String>,
    pub since: crate::Timestamp,
}

impl Relationship {
    /// Discord's relationship type of a block.
    pub const BLOCKED: u8 = 2;

    pub fn block(user: User, since: crate::Timestamp) -> Relationship {
        Relationship {
            id: user.id,
            kind: Relationship::BLOCKED,
            user,
            nickname: None,
            since,
        }
    }
}

/// The two kinds of private channel (Discord's channel types 1 and 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum PrivateChannelType {
    Dm = 1,
    GroupDm = 3,
}

impl From<PrivateChannelType> for u8 {
    fn from(t: PrivateChannelType) -> u8 {
        t as u8
    }
}

impl TryFrom<u8> for PrivateChannelType {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            1 => Ok(PrivateChannelType::Dm),
            3 => Ok(PrivateChannelType::GroupDm),
            other => Err(format!("channel type {other} is not a private channel")),
        }
    }
}

/// A DM or group DM. `recipients` holds every user in it; on the wire each
/// viewer sees the others only (see [`PrivateChannel::seen_by`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateChannel {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: PrivateChannelType,
    pub last_message_id: Option<Snowflake>,
    pub recipients: Vec<User>,
    /// Group DMs only: its name (left out until set), icon and owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<Snowflake>,
    pub flags: u32,
}

impl PrivateChannel {
    pub fn is_recipient(&self, user: Snowflake) -> bool {
        self.recipients.iter().any(|u| u.id == user)
    }

    pub fn recipient_ids(&self) -> Vec<Snowflake> {
        self.recipients.iter().map(|u| u.id).collect()
    }

    /// The channel as `viewer` sees it: the other recipients only.
    pub fn seen_by(&self, viewer: Snowflake) -> PrivateChannel {
        let mut c = self.clone();
        c.recipients.retain(|u| u.id != viewer);
        c
    }
}
