//! What services publish on the bus for gateways to fan out: one variant
//! per dispatch, carrying model types.
//!
//! An [`Event`] is the contract between the API, the gateway and, through
//! the bus, other nodes: the compiler checks every consumer, and nothing
//! that decides who may see what is parsed back out of a JSON tree. Each
//! variant knows its dispatch name (`t`), the intent a session needs for it,
//! who may receive it, and how its `d` is written on the gateway wire.
//! Between nodes an event travels as MessagePack of the enum itself
//! ([`Event::to_bus`], [`Event::from_bus`]); `d` is written once per event
//! by the node that delivers it.

use hearth_model::{
    Channel, DmPrivacy, Emoji, Guild, Invite, Member, Message, Permissions, Role, Snowflake,
    Timestamp, User, UserGuildSettings,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::gateway::{intents, Status, VoiceState};
use crate::interactions::{Interaction, ModalShown};
use crate::voice::MediaState;

mod direct;
mod threads;
pub use direct::{Call, DirectEvent, DirectReaction};
pub use threads::ThreadMembersChange;

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

impl Audience {
    /// The bus topic that carries events for this audience.
    pub fn topic(self) -> Topic {
        match self {
            Audience::Guild(g) | Audience::Channel { guild_id: g, .. } => Topic::Guild(g),
            Audience::User(u) => Topic::User(u),
        }
    }
}

/// A bus topic: a node listens to the guilds and users of its sessions,
/// and every node to the cluster's voice plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    Guild(Snowflake),
    User(Snowflake),
    /// What the SFU nodes must know of voice states: every node hears it.
    Voice,
}

/// A user's presence as one guild sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    pub user_id: Snowflake,
    pub guild_id: Snowflake,
    /// What others see: never `Invisible`.
    pub status: Status,
    /// As the client set them (Discord's activity objects).
    pub activities: Vec<Value>,
}

impl Presence {
    /// PRESENCE_UPDATE's `d`, also an entry of GUILD_CREATE's `presences`.
    pub fn to_wire(&self) -> Value {
        serde_json::to_value(PresenceD::of(self)).unwrap_or(Value::Null)
    }
}

/// A change the gateway tells sessions about.
// An event is made once and shared behind an `Arc` by everything that
// delivers it, so the size of its largest variant costs nothing per session.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    GuildUpdate(Guild),
    GuildDelete {
        guild_id: Snowflake,
    },
    ChannelCreate(Channel),
    ChannelUpdate(Channel),
    ChannelDelete(Channel),
    /// A thread was made (`newly_created`), to those who may see it.
    ThreadCreate {
        thread: Channel,
        newly_created: bool,
    },
    ThreadUpdate {
        thread: Channel,
        /// When a private thread is unarchived: its members. Gateways keep
        /// only unarchived threads, so they learn them again here.
        members: Option<Vec<Snowflake>>,
    },
    /// Written as `{id, guild_id, parent_id, type}`; the whole thread and
    /// a private one's members travel so that gateways, which keep only
    /// unarchived threads, can tell who saw an archived one.
    ThreadDelete {
        thread: Channel,
        members: Option<Vec<Snowflake>>,
    },
    ThreadMembersUpdate(ThreadMembersChange),
    /// The user's own membership of a thread, when they join it: to them.
    ThreadMemberUpdate {
        guild_id: Snowflake,
        member: hearth_model::ThreadMember,
    },
    /// THREAD_CREATE for one user, added to a private thread they could
    /// not see before.
    ThreadShown {
        user_id: Snowflake,
        thread: Channel,
    },
    GuildRoleCreate {
        guild_id: Snowflake,
        role: Role,
    },
    GuildRoleUpdate {
        guild_id: Snowflake,
        role: Role,
    },
    GuildRoleDelete {
        guild_id: Snowflake,
        role_id: Snowflake,
    },
    GuildMemberAdd {
        guild_id: Snowflake,
        member: Member,
    },
    GuildMemberUpdate {
        guild_id: Snowflake,
        member: Member,
    },
    GuildMemberRemove {
        guild_id: Snowflake,
        user: User,
    },
    GuildBanAdd {
        guild_id: Snowflake,
        user: User,
    },
    GuildBanRemove {
        guild_id: Snowflake,
        user: User,
    },
    /// An invite to the channel was made: to those who may manage it.
    InviteCreate(Invite),
    /// An invite was revoked: to those who may manage its channel.
    InviteDelete {
        guild_id: Snowflake,
        channel_id: Snowflake,
        code: String,
    },
    MessageCreate {
        message: Message,
        /// The author as a member of the guild (guild messages only).
        member: Option<Member>,
    },
    MessageUpdate(Message),
    MessageDelete {
        id: Snowflake,
        channel_id: Snowflake,
        guild_id: Snowflake,
    },
    MessageDeleteBulk {
        ids: Vec<Snowflake>,
        channel_id: Snowflake,
        guild_id: Snowflake,
    },
    MessageReactionAdd {
        reaction: ReactionChange,
        /// The reacting member.
        member: Member,
        message_author_id: Snowflake,
    },
    MessageReactionRemove(ReactionChange),
    MessageReactionRemoveAll {
        channel_id: Snowflake,
        message_id: Snowflake,
        guild_id: Snowflake,
    },
    MessageReactionRemoveEmoji {
        channel_id: Snowflake,
        message_id: Snowflake,
        guild_id: Snowflake,
        emoji: Emoji,
    },
    /// A message was pinned or unpinned; `last_pin_timestamp` is the newest
    /// pin's time, `None` when none remain.
    ChannelPinsUpdate {
        guild_id: Snowflake,
        channel_id: Snowflake,
        last_pin_timestamp: Option<Timestamp>,
    },
    /// To the application whose command or component was used.
    InteractionCreate(Box<Interaction>),
    /// To the user who used it: the application opened a modal.
    InteractionModalCreate {
        user_id: Snowflake,
        modal: ModalShown,
    },
    /// To the user who used it: whether the application answered in time.
    InteractionOutcome {
        user_id: Snowflake,
        id: Snowflake,
        nonce: Option<String>,
        answered: bool,
    },
    /// To the user typing a command: the application's suggestions.
    AutocompleteResult {
        user_id: Snowflake,
        /// The autocomplete interaction.
        id: Snowflake,
        nonce: Option<String>,
        choices: Vec<hearth_model::CommandChoice>,
    },
    /// An ephemeral message, seen only by `user_id`.
    EphemeralCreate {
        user_id: Snowflake,
        message: Message,
    },
    EphemeralUpdate {
        user_id: Snowflake,
        message: Message,
    },
    EphemeralDelete {
        user_id: Snowflake,
        id: Snowflake,
        channel_id: Snowflake,
        guild_id: Snowflake,
    },
    TypingStart {
        channel_id: Snowflake,
        guild_id: Snowflake,
        /// Unix seconds.
        timestamp: u64,
        member: Member,
    },
    UserUpdate(User),
    PresenceUpdate(Presence),
    /// The user read a channel up to a message (on another of their
    /// devices, perhaps): their other sessions clear its unread mark.
    MessageAck {
        user_id: Snowflake,
        channel_id: Snowflake,
        message_id: Snowflake,
        version: u64,
    },
    /// The user changed their notification settings for a guild: their
    /// sessions (on every device) follow.
    UserGuildSettingsUpdate {
        user_id: Snowflake,
        settings: UserGuildSettings,
    },
    /// The user changed who may DM them: their sessions follow.
    UserSettingsUpdate {
        user_id: Snowflake,
        privacy: DmPrivacy,
    },
    /// The user blocked someone: their sessions follow.
    RelationshipAdd {
        user_id: Snowflake,
        relationship: hearth_model::Relationship,
    },
    /// The user unblocked `other`.
    RelationshipRemove {
        user_id: Snowflake,
        other: Snowflake,
    },
    /// About a DM or group DM, for one of its recipients.
    Direct {
        recipient: Snowflake,
        event: DirectEvent,
    },
    VoiceStateUpdate {
        guild_id: Snowflake,
        state: VoiceState,
        /// The node holding the voice state (its gateway's node name):
        /// the other nodes keep the states they hear of, and drop those of
        /// a node that is gone.
        node: String,
    },
}

/// Why an event from another node could not be read.
#[derive(Debug, thiserror::Error)]
#[error("undecodable bus event: {0}")]
pub struct BusDecodeError(String);

impl Event {
    /// The dispatch name (`t`).
    pub fn name(&self) -> &'static str {
        match self {
            Event::GuildUpdate(_) => "GUILD_UPDATE",
            Event::GuildDelete { .. } => "GUILD_DELETE",
            Event::ChannelCreate(_) => "CHANNEL_CREATE",
            Event::ChannelUpdate(_) => "CHANNEL_UPDATE",
            Event::ChannelDelete(_) => "CHANNEL_DELETE",
            Event::ThreadCreate { .. } | Event::ThreadShown { .. } => "THREAD_CREATE",
            Event::ThreadUpdate { .. } => "THREAD_UPDATE",
            Event::ThreadDelete { .. } => "THREAD_DELETE",
            Event::ThreadMembersUpdate(_) => "THREAD_MEMBERS_UPDATE",
            Event::ThreadMemberUpdate { .. } => "THREAD_MEMBER_UPDATE",
            Event::GuildRoleCreate { .. } => "GUILD_ROLE_CREATE",
            Event::GuildRoleUpdate { .. } => "GUILD_ROLE_UPDATE",
            Event::GuildRoleDelete { .. } => "GUILD_ROLE_DELETE",
            Event::GuildMemberAdd { .. } => "GUILD_MEMBER_ADD",
            Event::GuildMemberUpdate { .. } => "GUILD_MEMBER_UPDATE",
            Event::GuildMemberRemove { .. } => "GUILD_MEMBER_REMOVE",
            Event::GuildBanAdd { .. } => "GUILD_BAN_ADD",
            Event::GuildBanRemove { .. } => "GUILD_BAN_REMOVE",
            Event::InviteCreate(_) => "INVITE_CREATE",
            Event::InviteDelete { .. } => "INVITE_DELETE",
            Event::MessageCreate { .. } => "MESSAGE_CREATE",
            Event::MessageUpdate(_) => "MESSAGE_UPDATE",
            Event::MessageDelete { .. } => "MESSAGE_DELETE",
            Event::MessageDeleteBulk { .. } => "MESSAGE_DELETE_BULK",
            Event::MessageReactionAdd { .. } => "MESSAGE_REACTION_ADD",
            Event::MessageReactionRemove(_) => "MESSAGE_REACTION_REMOVE",
            Event::MessageReactionRemoveAll { .. } => "MESSAGE_REACTION_REMOVE_ALL",
            Event::MessageReactionRemoveEmoji { .. } => "MESSAGE_REACTION_REMOVE_EMOJI",
            Event::ChannelPinsUpdate { .. } => "CHANNEL_PINS_UPDATE",
            Event::InteractionCreate(_) => "INTERACTION_CREATE",
            Event::InteractionModalCreate { .. } => "INTERACTION_MODAL_CREATE",
            Event::InteractionOutcome { answered: true, .. } => "INTERACTION_SUCCESS",
            Event::InteractionOutcome {
                answered: false, ..
            } => "INTERACTION_FAILURE",
            Event::AutocompleteResult { .. } => "APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE",
            Event::EphemeralCreate { .. } => "MESSAGE_CREATE",
            Event::EphemeralUpdate { .. } => "MESSAGE_UPDATE",
            Event::EphemeralDelete { .. } => "MESSAGE_DELETE",
            Event::TypingStart { .. } => "TYPING_START",
            Event::UserUpdate(_) => "USER_UPDATE",
            Event::PresenceUpdate(_) => "PRESENCE_UPDATE",
            Event::VoiceStateUpdate { .. } => "VOICE_STATE_UPDATE",
            Event::Direct { event, .. } => event.name(),
            Event::MessageAck { .. } => "MESSAGE_ACK",
            Event::UserGuildSettingsUpdate { .. } => "USER_GUILD_SETTINGS_UPDATE",
            Event::UserSettingsUpdate { .. } => "USER_SETTINGS_UPDATE",
            Event::RelationshipAdd { .. } => "RELATIONSHIP_ADD",
            Event::RelationshipRemove { .. } => "RELATIONSHIP_REMOVE",
        }
    }

    /// The intent a session needs to receive it; `None`: every session.
    pub fn intent(&self) -> Option<u64> {
        if let Event::Direct { event, .. } = self {
            return event.intent();
        }
        intents::for_event(self.name())
    }

    /// Who may receive it.
    pub fn audience(&self) -> Audience {
        let channel = |guild_id, channel_id| Audience::Channel {
            guild_id,
            channel_id,
        };
        match self {
            Event::GuildUpdate(g) => Audience::Guild(g.id),
            Event::ChannelCreate(c) | Event::ChannelUpdate(c) | Event::ChannelDelete(c) => {
                channel(c.guild_id, c.id)
            }
            Event::ThreadCreate { thread, .. } | Event::ThreadUpdate { thread, .. } => {
                channel(thread.guild_id, thread.id)
            }
            Event::ThreadDelete { thread, .. } => channel(thread.guild_id, thread.id),
            Event::ThreadMembersUpdate(c) => channel(c.guild_id, c.id),
            Event::InviteCreate(i) => channel(i.guild.id, i.channel.id),
            Event::InviteDelete {
                guild_id,
                channel_id,
                ..
            } => channel(*guild_id, *channel_id),
            Event::ThreadShown { user_id, .. } => Audience::User(*user_id),
            Event::ThreadMemberUpdate { member, .. } => Audience::User(member.user_id),
            Event::GuildDelete { guild_id }
            | Event::GuildRoleCreate { guild_id, .. }
            | Event::GuildRoleUpdate { guild_id, .. }
            | Event::GuildRoleDelete { guild_id, .. }
            | Event::GuildMemberAdd { guild_id, .. }
            | Event::GuildMemberUpdate { guild_id, .. }
            | Event::GuildMemberRemove { guild_id, .. }
            | Event::GuildBanAdd { guild_id, .. }
            | Event::GuildBanRemove { guild_id, .. }
            | Event::VoiceStateUpdate { guild_id, .. } => Audience::Guild(*guild_id),
            Event::PresenceUpdate(p) => Audience::Guild(p.guild_id),
            Event::MessageCreate { message, .. } | Event::MessageUpdate(message) => {
                match message.guild_id {
                    Some(g) => channel(g, message.channel_id),
                    None => Audience::User(message.author.id),
                }
            }
            Event::MessageDelete {
                channel_id,
                guild_id,
                ..
            }
            | Event::MessageDeleteBulk {
                channel_id,
                guild_id,
                ..
            }
            | Event::TypingStart {
                channel_id,
                guild_id,
                ..
            }
            | Event::MessageReactionRemoveAll {
                channel_id,
                guild_id,
                ..
            }
            | Event::MessageReactionRemoveEmoji {
                channel_id,
                guild_id,
                ..
            }
            | Event::ChannelPinsUpdate {
                channel_id,
                guild_id,
                ..
            } => channel(*guild_id, *channel_id),
            Event::MessageReactionAdd { reaction, .. } | Event::MessageReactionRemove(reaction) => {
                channel(reaction.guild_id, reaction.channel_id)
            }
            Event::UserUpdate(u) => Audience::User(u.id),
            Event::Direct { recipient, .. } => Audience::User(*recipient),
            Event::MessageAck { user_id, .. }
            | Event::UserGuildSettingsUpdate { user_id, .. }
            | Event::UserSettingsUpdate { user_id, .. }
            | Event::RelationshipAdd { user_id, .. }
            | Event::RelationshipRemove { user_id, .. } => Audience::User(*user_id),
            Event::InteractionCreate(i) => Audience::User(i.application_id),
            Event::InteractionModalCreate { user_id, .. }
            | Event::InteractionOutcome { user_id, .. }
            | Event::AutocompleteResult { user_id, .. }
            | Event::EphemeralCreate { user_id, .. }
            | Event::EphemeralUpdate { user_id, .. }
            | Event::EphemeralDelete { user_id, .. } => Audience::User(*user_id),
        }
    }

    /// What a receiver of a channel's event needs there beyond
    /// VIEW_CHANNEL: invite codes are for those who may manage the channel,
    /// as on Discord, not for everyone who sees it.
    pub fn channel_permission(&self) -> Permissions {
        match self {
            Event::InviteCreate(_) | Event::InviteDelete { .. } => Permissions::MANAGE_CHANNELS,
            _ => Permissions::NONE,
        }
    }

    /// The user the event is about, for the rules that treat a user's own
    /// events apart (their own presence, their own member updates).
    pub fn subject(&self) -> Option<Snowflake> {
        match self {
            Event::GuildMemberAdd { member, .. } | Event::GuildMemberUpdate { member, .. } => {
                Some(member.user.id)
            }
            Event::GuildMemberRemove { user, .. }
            | Event::GuildBanAdd { user, .. }
            | Event::GuildBanRemove { user, .. } => Some(user.id),
            Event::PresenceUpdate(p) => Some(p.user_id),
            _ => None,
        }
    }

    /// The message a MESSAGE_CONTENT-less bot may see emptied.
    pub fn message(&self) -> Option<&Message> {
        match self {
            Event::MessageCreate { message, .. } | Event::MessageUpdate(message) => Some(message),
            _ => None,
        }
    }

    /// `d` as the gateway sends it, in JSON.
    pub fn d_json(&self) -> Vec<u8> {
        // Model types and maps of them always serialise.
        let written = match self {
            Event::GuildUpdate(g) => serde_json::to_vec(g),
            Event::GuildDelete { guild_id } => serde_json::to_vec(&IdOnly { id: *guild_id }),
            Event::ChannelCreate(c) | Event::ChannelUpdate(c) | Event::ChannelDelete(c) => {
                serde_json::to_vec(c)
            }
            Event::ThreadCreate {
                thread,
                newly_created,
            } => serde_json::to_vec(&threads::ThreadCreateD {
                thread,
                newly_created: *newly_created,
            }),
            Event::ThreadShown { thread, .. } => serde_json::to_vec(&threads::ThreadCreateD {
                thread,
                newly_created: false,
            }),
            Event::ThreadUpdate { thread, .. } => serde_json::to_vec(thread),
            Event::ThreadDelete { thread, .. } => serde_json::to_vec(&threads::ThreadDeleteD {
                id: thread.id,
                guild_id: thread.guild_id,
                parent_id: thread.parent_id.unwrap_or_default(),
                kind: thread.kind,
            }),
            Event::ThreadMembersUpdate(c) => serde_json::to_vec(&threads::ThreadMembersD {
                id: c.id,
                guild_id: c.guild_id,
                member_count: c.member_count,
                added_members: &c.added,
                removed_member_ids: &c.removed,
            }),
            Event::ThreadMemberUpdate { guild_id, member } => {
                serde_json::to_vec(&threads::ThreadMemberD {
                    member,
                    guild_id: *guild_id,
                })
            }
            Event::GuildRoleCreate { guild_id, role }
            | Event::GuildRoleUpdate { guild_id, role } => serde_json::to_vec(&RoleD {
                guild_id: *guild_id,
                role,
            }),
            Event::GuildRoleDelete { guild_id, role_id } => serde_json::to_vec(&RoleDeleteD {
                guild_id: *guild_id,
                role_id: *role_id,
            }),
            Event::GuildMemberAdd { guild_id, member }
            | Event::GuildMemberUpdate { guild_id, member } => serde_json::to_vec(&MemberD {
                member,
                guild_id: *guild_id,
            }),
            Event::GuildMemberRemove { guild_id, user }
            | Event::GuildBanAdd { guild_id, user }
            | Event::GuildBanRemove { guild_id, user } => serde_json::to_vec(&UserD {
                guild_id: *guild_id,
                user,
            }),
            Event::InviteCreate(i) => serde_json::to_vec(&InviteCreateD {
                channel_id: i.channel.id,
                code: &i.code,
                created_at: i.created_at,
                guild_id: i.guild.id,
                inviter: i.inviter.as_ref(),
                max_age: i.max_age,
                max_uses: i.max_uses,
                temporary: i.temporary,
                uses: i.uses,
                expires_at: i.expires_at,
            }),
            Event::InviteDelete {
                guild_id,
                channel_id,
                code,
            } => serde_json::to_vec(&InviteDeleteD {
                channel_id: *channel_id,
                guild_id: *guild_id,
                code,
            }),
            Event::MessageCreate { message, member } => serde_json::to_vec(&MessageCreateD {
                message,
                member: member.as_ref().map(PartialMember::of),
            }),
            Event::MessageUpdate(m) => serde_json::to_vec(m),
            Event::MessageDelete {
                id,
                channel_id,
                guild_id,
            } => serde_json::to_vec(&MessageDeleteD {
                id: *id,
                channel_id: *channel_id,
                guild_id: *guild_id,
            }),
            Event::MessageDeleteBulk {
                ids,
                channel_id,
                guild_id,
            } => serde_json::to_vec(&MessageDeleteBulkD {
                ids,
                channel_id: *channel_id,
                guild_id: *guild_id,
            }),
            Event::TypingStart {
                channel_id,
                guild_id,
                timestamp,
                member,
            } => serde_json::to_vec(&TypingStartD {
                channel_id: *channel_id,
                guild_id: *guild_id,
                user_id: member.user.id,
                timestamp: *timestamp,
                member,
            }),
            Event::MessageReactionAdd {
                reaction,
                member,
                message_author_id,
            } => serde_json::to_vec(&ReactionAddD {
                change: ReactionChangeD::of(reaction),
                member,
                message_author_id: *message_author_id,
                burst_colors: [],
            }),
            Event::MessageReactionRemove(reaction) => {
                serde_json::to_vec(&ReactionChangeD::of(reaction))
            }
            Event::MessageReactionRemoveAll {
                channel_id,
                message_id,
                guild_id,
            } => serde_json::to_vec(&ReactionRemoveAllD {
                channel_id: *channel_id,
                message_id: *message_id,
                guild_id: *guild_id,
            }),
            Event::MessageReactionRemoveEmoji {
                channel_id,
                message_id,
                guild_id,
                emoji,
            } => serde_json::to_vec(&ReactionRemoveEmojiD {
                channel_id: *channel_id,
                message_id: *message_id,
                guild_id: *guild_id,
                emoji,
            }),
            Event::ChannelPinsUpdate {
                guild_id,
                channel_id,
                last_pin_timestamp,
            } => serde_json::to_vec(&PinsUpdateD {
                guild_id: *guild_id,
                channel_id: *channel_id,
                last_pin_timestamp: *last_pin_timestamp,
            }),
            Event::InteractionCreate(i) => serde_json::to_vec(i),
            Event::InteractionModalCreate { modal, .. } => serde_json::to_vec(modal),
            Event::InteractionOutcome { id, nonce, .. } => {
                serde_json::to_vec(&InteractionOutcomeD { id: *id, nonce })
            }
            Event::AutocompleteResult {
                id, nonce, choices, ..
            } => serde_json::to_vec(&AutocompleteD {
                id: *id,
                nonce,
                choices,
            }),
            Event::EphemeralCreate { message, .. } => serde_json::to_vec(&MessageCreateD {
                message,
                member: None,
            }),
            Event::EphemeralUpdate { message, .. } => serde_json::to_vec(message),
            Event::EphemeralDelete {
                id,
                channel_id,
                guild_id,
                ..
            } => serde_json::to_vec(&MessageDeleteD {
                id: *id,
                channel_id: *channel_id,
                guild_id: *guild_id,
            }),
            Event::UserUpdate(u) => serde_json::to_vec(u),
            Event::PresenceUpdate(p) => serde_json::to_vec(&PresenceD::of(p)),
            Event::VoiceStateUpdate { state, .. } => serde_json::to_vec(state),
            Event::Direct { event, .. } => event.d_json(),
            Event::MessageAck {
                channel_id,
                message_id,
                version,
                ..
            } => serde_json::to_vec(&AckD {
                channel_id: *channel_id,
                message_id: *message_id,
                version: *version,
            }),
            Event::UserGuildSettingsUpdate { settings, .. } => serde_json::to_vec(settings),
            Event::UserSettingsUpdate { privacy, .. } => serde_json::to_vec(privacy),
            Event::RelationshipAdd { relationship, .. } => serde_json::to_vec(relationship),
            Event::RelationshipRemove { other, .. } => serde_json::to_vec(&serde_json::json!({
                "id": other,
                "type": hearth_model::Relationship::BLOCKED,
                "nickname": null,
            })),
        };
        written.unwrap_or_else(|_| b"null".to_vec())
    }

    /// The event as it travels between nodes.
    pub fn to_bus(&self) -> Vec<u8> {
        // The enum and the model types serialise to MessagePack without
        // failure: maps with string keys, no non-string map keys.
        rmp_serde::to_vec_named(self).unwrap_or_default()
    }

    pub fn from_bus(bytes: &[u8]) -> Result<Event, BusDecodeError> {
        rmp_serde::from_slice(bytes).map_err(|e| BusDecodeError(e.to_string()))
    }
}

/// What one node asks of the gateways of every node, beside events: no
/// session sees these, they change what sessions exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NodeCommand {
    /// Tokens of the user were revoked (a logout, a password change, a bot
    /// token reset): end the sessions they opened or last resumed, with
    /// 4004. `None`: every token of the user.
    EndSessions {
        user_id: Snowflake,
        token_hash: Option<[u8; 32]>,
    },
    /// The user's voice state in the guild as the media plane needs it
    /// (`None`: they left), from the node holding the voice state to every
    /// SFU node: the one hosting the channel's room applies it, the one
    /// hosting the room they left ends that call.
    MediaState {
        guild_id: Snowflake,
        user_id: Snowflake,
        state: Option<MediaState>,
        /// The node holding the voice state: if it dies, the SFU ends the
        /// call (nobody is left to say the user left).
        holder: String,
    },
    /// A client resumes, on the node that sent this, a session another node
    /// holds: the holder hands it over ([`NodeCommand::HandedOver`]).
    HandOver {
        session_id: String,
        user_id: Snowflake,
        ticket: u64,
    },
    /// The session asked for by the `HandOver` with `ticket`, now no
    /// longer on its former node.
    HandedOver {
        user_id: Snowflake,
        ticket: u64,
        session: Box<SessionSnapshot>,
    },
    /// A moderator moved the user to another voice channel of the guild
    /// (`None`: disconnected them) through a node that does not hold their
    /// voice state: the node holding it makes the move.
    MoveVoice {
        guild_id: Snowflake,
        user_id: Snowflake,
        channel_id: Option<Snowflake>,
    },
    /// The SFU node `node` lost the participant of this voice connection:
    /// the node holding the voice state ends it, if it is still that one
    /// and still on that SFU node (a call moved off a draining node ends
    /// there without ending the voice state).
    MediaGone {
        guild_id: Snowflake,
        user_id: Snowflake,
        channel_id: Snowflake,
        session_id: String,
        node: String,
    },
}

impl NodeCommand {
    /// The nodes that may hold what the command is about.
    pub fn topic(&self) -> Topic {
        match self {
            NodeCommand::EndSessions { user_id, .. }
            | NodeCommand::HandOver { user_id, .. }
            | NodeCommand::HandedOver { user_id, .. }
            | NodeCommand::MediaGone { user_id, .. }
            | NodeCommand::MoveVoice { user_id, .. } => Topic::User(*user_id),
            NodeCommand::MediaState { .. } => Topic::Voice,
        }
    }

    pub fn to_bus(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).unwrap_or_default()
    }

    pub fn from_bus(bytes: &[u8]) -> Result<NodeCommand, BusDecodeError> {
        rmp_serde::from_slice(bytes).map_err(|e| BusDecodeError(e.to_string()))
    }
}

/// A gateway session as one node hands it to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSnapshot {
    pub id: String,
    pub user: User,
    pub intents: u64,
    pub shard: Option<[u32; 2]>,
    pub large_threshold: u32,
    pub region: Option<String>,
    pub token_hash: [u8; 32],
    pub guilds: Vec<Snowflake>,
    /// The last sequence number it was given.
    pub seq: u64,
    /// The oldest sequence number a resume may start after.
    pub replay_from: u64,
    /// Dispatches kept for a resume, oldest first.
    pub buffer: Vec<BufferedDispatch>,
    /// What the session set with Identify or op 3.
    pub presence: Option<crate::gateway::PresenceUpdate>,
    /// Its voice states, with the SFU node each connection goes to.
    pub voice: Vec<HandedVoice>,
    /// For each node, the last of its events (by [`EventId::counter`]) the
    /// former node had applied when it let the session go: the new node
    /// replays only what comes after.
    pub applied: Vec<EventId>,
}

impl SessionSnapshot {
    pub fn to_bus(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).unwrap_or_default()
    }

    pub fn from_bus(bytes: &[u8]) -> Result<SessionSnapshot, BusDecodeError> {
        rmp_serde::from_slice(bytes).map_err(|e| BusDecodeError(e.to_string()))
    }
}

/// Which event this is: its node and its place in that node's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventId {
    /// The publishing node's bus identity.
    pub origin: u64,
    /// 1, 2, 3… in the order the node published (and Redis received) them.
    pub counter: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BufferedDispatch {
    pub seq: u64,
    pub name: String,
    /// `d` as JSON.
    pub d: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandedVoice {
    pub state: VoiceState,
    pub node: String,
    pub endpoint: String,
}

#[derive(Serialize)]
struct IdOnly {
    id: Snowflake,
}

#[derive(Serialize)]
struct RoleD<'a> {
    guild_id: Snowflake,
    role: &'a Role,
}

#[derive(Serialize)]
struct RoleDeleteD {
    guild_id: Snowflake,
    role_id: Snowflake,
}

/// A member as dispatches carry it: the member object plus `guild_id`.
#[derive(Serialize)]
struct MemberD<'a> {
    #[serde(flatten)]
    member: &'a Member,
    guild_id: Snowflake,
}

#[derive(Serialize)]
struct UserD<'a> {
    guild_id: Snowflake,
    user: &'a User,
}

/// The member Discord attaches to MESSAGE_CREATE: without its `user`.
#[derive(Serialize)]
struct PartialMember<'a> {
    nick: &'a Option<String>,
    avatar: &'a Option<String>,
    roles: &'a [Snowflake],
    joined_at: hearth_model::Timestamp,
    deaf: bool,
    mute: bool,
    flags: u32,
    pending: bool,
    communication_disabled_until: Option<hearth_model::Timestamp>,
}

impl<'a> PartialMember<'a> {
    fn of(m: &'a Member) -> Self {
        PartialMember {
            nick: &m.nick,
            avatar: &m.avatar,
            roles: &m.roles,
            joined_at: m.joined_at,
            deaf: m.deaf,
            mute: m.mute,
            flags: m.flags,
            pending: m.pending,
            communication_disabled_until: m.communication_disabled_until,
        }
    }
}

#[derive(Serialize)]
struct MessageCreateD<'a> {
    #[serde(flatten)]
    message: &'a Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<PartialMember<'a>>,
}

/// One user's reaction added or removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReactionChange {
    pub user_id: Snowflake,
    pub channel_id: Snowflake,
    pub message_id: Snowflake,
    pub guild_id: Snowflake,
    pub emoji: Emoji,
}

#[derive(Serialize)]
struct ReactionChangeD<'a> {
    user_id: Snowflake,
    channel_id: Snowflake,
    message_id: Snowflake,
    guild_id: Snowflake,
    emoji: &'a Emoji,
    /// Super reactions do not exist here.
    burst: bool,
    #[serde(rename = "type")]
    kind: u8,
}

impl<'a> ReactionChangeD<'a> {
    fn of(r: &'a ReactionChange) -> Self {
        ReactionChangeD {
            user_id: r.user_id,
            channel_id: r.channel_id,
            message_id: r.message_id,
            guild_id: r.guild_id,
            emoji: &r.emoji,
            burst: false,
            kind: 0,
        }
    }
}

#[derive(Serialize)]
struct ReactionAddD<'a> {
    #[serde(flatten)]
    change: ReactionChangeD<'a>,
    member: &'a Member,
    message_author_id: Snowflake,
    burst_colors: [&'a str; 0],
}

#[derive(Serialize)]
struct AckD {
    channel_id: Snowflake,
    message_id: Snowflake,
    version: u64,
}

#[derive(Serialize)]
struct PinsUpdateD {
    guild_id: Snowflake,
    channel_id: Snowflake,
    last_pin_timestamp: Option<Timestamp>,
}

#[derive(Serialize)]
struct ReactionRemoveAllD {
    channel_id: Snowflake,
    message_id: Snowflake,
    guild_id: Snowflake,
}

#[derive(Serialize)]
struct ReactionRemoveEmojiD<'a> {
    channel_id: Snowflake,
    message_id: Snowflake,
    guild_id: Snowflake,
    emoji: &'a Emoji,
}

#[derive(Serialize)]
struct AutocompleteD<'a> {
    id: Snowflake,
    nonce: &'a Option<String>,
    choices: &'a [hearth_model::CommandChoice],
}

#[derive(Serialize)]
struct InteractionOutcomeD<'a> {
    id: Snowflake,
    nonce: &'a Option<String>,
}

/// INVITE_CREATE's `d`: Discord's shape, the guild and channel by id.
#[derive(Serialize)]
struct InviteCreateD<'a> {
    channel_id: Snowflake,
    code: &'a str,
    created_at: Timestamp,
    guild_id: Snowflake,
    inviter: Option<&'a User>,
    max_age: u32,
    max_uses: u32,
    temporary: bool,
    uses: u32,
    expires_at: Option<Timestamp>,
}

#[derive(Serialize)]
struct InviteDeleteD<'a> {
    channel_id: Snowflake,
    guild_id: Snowflake,
    code: &'a str,
}

#[derive(Serialize)]
struct MessageDeleteD {
    id: Snowflake,
    channel_id: Snowflake,
    guild_id: Snowflake,
}

#[derive(Serialize)]
struct MessageDeleteBulkD<'a> {
    ids: &'a [Snowflake],
    channel_id: Snowflake,
    guild_id: Snowflake,
}

#[derive(Serialize)]
struct TypingStartD<'a> {
    channel_id: Snowflake,
    guild_id: Snowflake,
    user_id: Snowflake,
    timestamp: u64,
    member: &'a Member,
}

#[derive(Serialize)]
struct PresenceUser {
    id: Snowflake,
}

#[derive(Serialize)]
struct ClientStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    desktop: Option<Status>,
}

#[derive(Serialize)]
struct PresenceD<'a> {
    user: PresenceUser,
    guild_id: Snowflake,
    status: Status,
    activities: &'a [Value],
    client_status: ClientStatus,
}

impl<'a> PresenceD<'a> {
    fn of(p: &'a Presence) -> Self {
        PresenceD {
            user: PresenceUser { id: p.user_id },
            guild_id: p.guild_id,
            status: p.status,
            activities: &p.activities,
            client_status: ClientStatus {
                desktop: (p.status != Status::Offline).then_some(p.status),
            },
        }
    }
}

#[cfg(test)]
mod tests;
