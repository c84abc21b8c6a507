//! What services publish on the bus for gateways to fan out: a dispatch
//! (its name and `d`) and who may receive it.

use hearth_model::Snowflake;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who a dispatch is for, beyond the intents it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    /// Every session of a member of the guild.
    Guild(Snowflake),
    /// Members of the guild who may VIEW_CHANNEL the channel.
    Channel {
        guild_id: Snowflake,
        channel_id: Snowflake,
    },
    /// The sessions of one user.
    User(Snowflake),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub audience: Audience,
    /// The dispatch name (`t`), e.g. `MESSAGE_CREATE`.
    pub name: String,
    /// The dispatch body (`d`).
    pub data: Value,
}

impl Event {
    pub fn new(audience: Audience, name: &str, data: Value) -> Self {
        Event {
            audience,
            name: name.to_owned(),
            data,
        }
    }

    /// The guild whose topic carries the event, if any.
    pub fn guild_id(&self) -> Option<Snowflake> {
        match self.audience {
            Audience::Guild(g) | Audience::Channel { guild_id: g, .. } => Some(g),
            Audience::User(_) => None,
        }
    }
}
