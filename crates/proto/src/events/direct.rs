//! Dispatches about DMs and group DMs. Each is published once per
//! recipient ([`super::Event::Direct`]), since a private channel has no
//! guild whose sessions could carry it; the channel's few recipients are
//! known when it is published.

use hearth_model::{Emoji, Message, PrivateChannel, Snowflake, Timestamp, User};
use serde::{Deserialize, Serialize};

use crate::gateway::{intents, VoiceState};

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
    /// A call started in the channel: who is rung, and who is in it.
    /// (`recipients` and `node` are for the other nodes' mirrors of the
    /// call, not the wire.)
    CallCreate {
        call: Call,
        voice_states: Vec<VoiceState>,
        recipients: Vec<Snowflake>,
        node: String,
    },
    /// Who is rung changed.
    CallUpdate {
        call: Call,
        node: String,
    },
    /// The last participant left.
    CallDelete {
        channel_id: Snowflake,
        node: String,
    },
    /// Someone joined, changed or left the channel's call.
    VoiceStateUpdate {
        state: VoiceState,
        /// The node holding the state: the others keep it as remote.
        node: String,
        /// A leave with which that node ended the call (nobody left in it
        /// as it knew): a node that hears a leave that empties the call
        /// without it ends the call itself, so two last leaves on two
        /// nodes at once still end it.
        ends_call: bool,
    },
}

/// A call in a DM or group DM as CALL_CREATE and CALL_UPDATE carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub channel_id: Snowflake,
    /// The call's message (type 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<Snowflake>,
    /// The region of the session that started it, when it named one.
    pub region: Option<String>,
    /// The recipients being rung, by id.
    pub ringing: Vec<Snowflake>,
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
            DirectEvent::CallCreate { .. } => "CALL_CREATE",
            DirectEvent::CallUpdate { .. } => "CALL_UPDATE",
            DirectEvent::CallDelete { .. } => "CALL_DELETE",
            DirectEvent::VoiceStateUpdate { .. } => "VOICE_STATE_UPDATE",
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

    /// Calls are for people: Discord neither rings bots nor lets them
    /// into DM calls, and bot libraries do not know these events.
    pub fn for_people_only(&self) -> bool {
        matches!(
            self,
            DirectEvent::CallCreate { .. }
                | DirectEvent::CallUpdate { .. }
                | DirectEvent::CallDelete { .. }
                | DirectEvent::VoiceStateUpdate { .. }
        )
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
            DirectEvent::CallCreate {
                call, voice_states, ..
            } => serde_json::to_vec(&CallCreateD { call, voice_states }),
            DirectEvent::CallUpdate { call, .. } => serde_json::to_vec(call),
            DirectEvent::CallDelete { channel_id, .. } => {
                serde_json::to_vec(&serde_json::json!({ "channel_id": channel_id }))
            }
            DirectEvent::VoiceStateUpdate { state, .. } => serde_json::to_vec(state),
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
struct CallCreateD<'a> {
    #[serde(flatten)]
    call: &'a Call,
    voice_states: &'a [VoiceState],
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
