//! Dispatches about DMs and group DMs. Each is published once per
//! recipient ([`super::Event::Direct`]), since a private channel has no
//! guild whose sessions could carry it; the channel's few recipients are
//! known when it is published.

use hearth_model::{Message, PrivateChannel, Snowflake, Timestamp, User};
use serde::{Deserialize, Serialize};

use crate::gateway::intents;

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DirectEvent {
    /// The channel as the recipient sees it (the others in `recipients`).
    ChannelCreate(PrivateChannel),
    ChannelUpdate(PrivateChannel),
    ChannelDelete(PrivateChannel),
    RecipientAdd {
        channel_id: Snowflake,
        user: User,
    },
    RecipientRemove {
        channel_id: Snowflake,
        user: User,
    },
    MessageCreate(Message),
    MessageUpdate(Message),
    MessageDelete {
        id: Snowflake,
        channel_id: Snowflake,
    },
    TypingStart {
        channel_id: Snowflake,
        user_id: Snowflake,
        /// Unix seconds.
        timestamp: u64,
    },
    PinsUpdate {
        channel_id: Snowflake,
        last_pin_timestamp: Option<Timestamp>,
    },
}

impl DirectEvent {
    pub fn name(&self) -> &'static str {
        match self {
            DirectEvent::ChannelCreate(_) => "CHANNEL_CREATE",
            DirectEvent::ChannelUpdate(_) => "CHANNEL_UPDATE",
            DirectEvent::ChannelDelete(_) => "CHANNEL_DELETE",
            DirectEvent::RecipientAdd { .. } => "CHANNEL_RECIPIENT_ADD",
            DirectEvent::RecipientRemove { .. } => "CHANNEL_RECIPIENT_REMOVE",
            DirectEvent::MessageCreate(_) => "MESSAGE_CREATE",
            DirectEvent::MessageUpdate(_) => "MESSAGE_UPDATE",
            DirectEvent::MessageDelete { .. } => "MESSAGE_DELETE",
            DirectEvent::TypingStart { .. } => "TYPING_START",
            DirectEvent::PinsUpdate { .. } => "CHANNEL_PINS_UPDATE",
        }
    }

    /// The DM intents: DIRECT_MESSAGES for messages and pins,
    /// DIRECT_MESSAGE_TYPING for typing; the channel's own changes go to
    /// every session, as Discord sends them.
    pub fn intent(&self) -> Option<u64> {
        match self {
            DirectEvent::MessageCreate(_)
            | DirectEvent::MessageUpdate(_)
            | DirectEvent::MessageDelete { .. }
            | DirectEvent::PinsUpdate { .. } => Some(intents::DIRECT_MESSAGES),
            DirectEvent::TypingStart { .. } => Some(intents::DIRECT_MESSAGE_TYPING),
            _ => None,
        }
    }

    pub fn d_json(&self) -> serde_json::Result<Vec<u8>> {
        match self {
            DirectEvent::ChannelCreate(c)
            | DirectEvent::ChannelUpdate(c)
            | DirectEvent::ChannelDelete(c) => serde_json::to_vec(c),
            DirectEvent::RecipientAdd { channel_id, user }
            | DirectEvent::RecipientRemove { channel_id, user } => {
                serde_json::to_vec(&RecipientD {
                    channel_id: *channel_id,
                    user,
                })
            }
            DirectEvent::MessageCreate(m) | DirectEvent::MessageUpdate(m) => serde_json::to_vec(m),
            DirectEvent::MessageDelete { id, channel_id } => serde_json::to_vec(&DeleteD {
                id: *id,
                channel_id: *channel_id,
            }),
            DirectEvent::TypingStart {
                channel_id,
                user_id,
                timestamp,
            } => serde_json::to_vec(&TypingD {
                channel_id: *channel_id,
                user_id: *user_id,
                timestamp: *timestamp,
            }),
            DirectEvent::PinsUpdate {
                channel_id,
                last_pin_timestamp,
            } => serde_json::to_vec(&PinsD {
                channel_id: *channel_id,
                last_pin_timestamp: *last_pin_timestamp,
            }),
        }
    }
}

#[derive(Serialize)]
struct RecipientD<'a> {
    channel_id: Snowflake,
    user: &'a User,
}

#[derive(Serialize)]
struct DeleteD {
    id: Snowflake,
    channel_id: Snowflake,
}

#[derive(Serialize)]
struct TypingD {
    channel_id: Snowflake,
    user_id: Snowflake,
    timestamp: u64,
}

#[derive(Serialize)]
struct PinsD {
    channel_id: Snowflake,
    last_pin_timestamp: Option<Timestamp>,
}
