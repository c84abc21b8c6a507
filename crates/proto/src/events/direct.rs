//! Dispatches about DMs and group DMs. Each is published once per
//! recipient ([`super::Event::Direct`]), since a private channel has no
//! guild whose sessions could carry it; the channel's few recipients are
//! known when it is published.

use hearth_model::{Emoji, Message, PrivateChannel, Snowflake, Timestamp, User};
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
    ReactionAdd(DirectReaction),
    ReactionRemove(DirectReaction),
    ReactionRemoveAll {
        channel_id: Snowflake,
        message_id: Snowflake,
    },
    ReactionRemoveEmoji {
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: Emoji,
    },
}

/// One user's reaction added to or removed from a DM's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectReaction {
    pub user_id: Snowflake,
    pub channel_id: Snowflake,
    pub message_id: Snowflake,
    pub emoji: Emoji,
    /// On an add: the author of the message reacted to.
    pub message_author_id: Option<Snowflake>,
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
            DirectEvent::ReactionAdd(_) => "MESSAGE_REACTION_ADD",
            DirectEvent::ReactionRemove(_) => "MESSAGE_REACTION_REMOVE",
            DirectEvent::ReactionRemoveAll { .. } => "MESSAGE_REACTION_REMOVE_ALL",
            DirectEvent::ReactionRemoveEmoji { .. } => "MESSAGE_REACTION_REMOVE_EMOJI",
        }
    }

    /// The DM intents: DIRECT_MESSAGES for messages and pins,
    /// DIRECT_MESSAGE_REACTIONS for reactions, DIRECT_MESSAGE_TYPING for
    /// typing; the channel's own changes go to
    /// every session, as Discord sends them.
    pub fn intent(&self) -> Option<u64> {
        match self {
            DirectEvent::MessageCreate(_)
            | DirectEvent::MessageUpdate(_)
            | DirectEvent::MessageDelete { .. }
            | DirectEvent::PinsUpdate { .. } => Some(intents::DIRECT_MESSAGES),
            DirectEvent::TypingStart { .. } => Some(intents::DIRECT_MESSAGE_TYPING),
            DirectEvent::ReactionAdd(_)
            | DirectEvent::ReactionRemove(_)
            | DirectEvent::ReactionRemoveAll { .. }
            | DirectEvent::ReactionRemoveEmoji { .. } => Some(intents::DIRECT_MESSAGE_REACTIONS),
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
            DirectEvent::ReactionAdd(r) | DirectEvent::ReactionRemove(r) => {
                serde_json::to_vec(&ReactionD {
                    user_id: r.user_id,
                    channel_id: r.channel_id,
                    message_id: r.message_id,
                    emoji: &r.emoji,
                    message_author_id: r.message_author_id,
                    burst: false,
                    kind: 0,
                    burst_colors: r.message_author_id.map(|_| []),
                })
            }
            DirectEvent::ReactionRemoveAll {
                channel_id,
                message_id,
            } => serde_json::to_vec(&ReactionsD {
                channel_id: *channel_id,
                message_id: *message_id,
                emoji: None,
            }),
            DirectEvent::ReactionRemoveEmoji {
                channel_id,
                message_id,
                emoji,
            } => serde_json::to_vec(&ReactionsD {
                channel_id: *channel_id,
                message_id: *message_id,
                emoji: Some(emoji),
            }),
        }
    }
}

/// MESSAGE_REACTION_ADD/REMOVE as Discord sends them for a DM: no guild,
/// no member.
#[derive(Serialize)]
struct ReactionD<'a> {
    user_id: Snowflake,
    channel_id: Snowflake,
    message_id: Snowflake,
    emoji: &'a Emoji,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_author_id: Option<Snowflake>,
    /// Super reactions do not exist here.
    burst: bool,
    #[serde(rename = "type")]
    kind: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    burst_colors: Option<[&'a str; 0]>,
}

#[derive(Serialize)]
struct ReactionsD<'a> {
    channel_id: Snowflake,
    message_id: Snowflake,
    #[serde(skip_serializing_if = "Option::is_none")]
    emoji: Option<&'a Emoji>,
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
