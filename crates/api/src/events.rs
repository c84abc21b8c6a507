//! The dispatches REST changes cause, published on the bus for gateways.
//!
//! Each function builds the [`Event`] variant of a change; the variant
//! knows its name, intent and audience (the gateway adds, for channel
//! events, VIEW_CHANNEL).

use hearth_model::{
    Channel, Emoji, Guild, Invite, Member, Message, Role, Snowflake, Timestamp, User,
};
use hearth_proto::events::{DirectEvent, Event, ReactionChange, ThreadMembersChange};

use crate::state::AppState;

/// What happened to a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelChange {
    Created,
    Updated,
    Deleted,
}

/// What happened to a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    Created,
    Updated,
}

/// Whether a ban was added or lifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanChange {
    Added,
    Removed,
}

impl AppState {
    fn publish(&self, event: Event) {
        self.bus.publish(event);
    }

    pub fn guild_updated(&self, guild: &Guild) {
        self.publish(Event::GuildUpdate(guild.clone()));
    }

    pub fn guild_deleted(&self, guild: Snowflake) {
        self.publish(Event::GuildDelete { guild_id: guild });
    }

    pub fn channel_event(&self, change: ChannelChange, channel: &Channel) {
        let channel = channel.clone();
        self.publish(match change {
            ChannelChange::Created => Event::ChannelCreate(channel),
            ChannelChange::Updated => Event::ChannelUpdate(channel),
            ChannelChange::Deleted => Event::ChannelDelete(channel),
        });
    }

    pub fn thread_created(&self, thread: &Channel) {
        self.publish(Event::ThreadCreate {
            thread: thread.clone(),
            newly_created: true,
        });
    }

    /// `members`: a private thread's, when this unarchives it.
    pub fn thread_updated(&self, thread: &Channel, members: Option<Vec<Snowflake>>) {
        self.publish(Event::ThreadUpdate {
            thread: thread.clone(),
            members,
        });
    }

    /// `members`: a private thread's.
    pub fn thread_deleted(&self, thread: &Channel, members: Option<Vec<Snowflake>>) {
        self.publish(Event::ThreadDelete {
            thread: thread.clone(),
            members,
        });
    }

    pub fn thread_members_changed(&self, change: ThreadMembersChange) {
        // Each who joined hears of their own membership too.
        for member in &change.added {
            self.publish(Event::ThreadMemberUpdate {
                guild_id: change.guild_id,
                member: member.clone(),
            });
        }
        self.publish(Event::ThreadMembersUpdate(change));
    }

    /// A private thread appears for a user just added to it.
    pub fn thread_shown(&self, user: Snowflake, thread: &Channel) {
        self.publish(Event::ThreadShown {
            user_id: user,
            thread: thread.clone(),
        });
    }

    pub fn role_event(&self, change: RoleChange, guild: Snowflake, role: &Role) {
        let role = role.clone();
        self.publish(match change {
            RoleChange::Created => Event::GuildRoleCreate {
                guild_id: guild,
                role,
            },
            RoleChange::Updated => Event::GuildRoleUpdate {
                guild_id: guild,
                role,
            },
        });
    }

    /// Roles a create, edit or reorder moved to keep positions dense
    /// (`GuildStore::create_role`); clients learn their new positions.
    pub fn roles_moved(&self, guild: Snowflake, moved: &[Role]) {
        for role in moved {
            self.role_event(RoleChange::Updated, guild, role);
        }
    }

    pub fn role_deleted(&self, guild: Snowflake, role: Snowflake) {
        self.publish(Event::GuildRoleDelete {
            guild_id: guild,
            role_id: role,
        });
    }

    pub fn member_added(&self, guild: Snowflake, member: &Member) {
        self.publish(Event::GuildMemberAdd {
            guild_id: guild,
            member: member.clone(),
        });
    }

    pub fn member_updated(&self, guild: Snowflake, member: &Member) {
        self.publish(Event::GuildMemberUpdate {
            guild_id: guild,
            member: member.clone(),
        });
    }

    pub fn member_removed(&self, guild: Snowflake, user: &User) {
        self.publish(Event::GuildMemberRemove {
            guild_id: guild,
            user: user.clone(),
        });
    }

    pub fn ban_event(&self, change: BanChange, guild: Snowflake, user: &User) {
        let user = user.clone();
        self.publish(match change {
            BanChange::Added => Event::GuildBanAdd {
                guild_id: guild,
                user,
            },
            BanChange::Removed => Event::GuildBanRemove {
                guild_id: guild,
                user,
            },
        });
    }

    pub fn message_created(&self, message: &Message, member: Option<&Member>) {
        self.publish(Event::MessageCreate {
            message: message.clone(),
            member: member.cloned(),
        });
    }

    pub fn message_updated(&self, message: &Message) {
        self.publish(Event::MessageUpdate(message.clone()));
    }

    pub fn message_deleted(&self, guild: Snowflake, channel: Snowflake, id: Snowflake) {
        self.publish(Event::MessageDelete {
            id,
            channel_id: channel,
            guild_id: guild,
        });
    }

    pub fn messages_deleted(&self, guild: Snowflake, channel: Snowflake, ids: &[Snowflake]) {
        self.publish(Event::MessageDeleteBulk {
            ids: ids.to_vec(),
            channel_id: channel,
            guild_id: guild,
        });
    }

    /// One dispatch about a private channel to each of `recipients`,
    /// made for each (a channel is shown without its viewer).
    pub fn direct(&self, recipients: &[Snowflake], event: impl Fn(Snowflake) -> DirectEvent) {
        for &recipient in recipients {
            self.publish(Event::Direct {
                recipient,
                event: event(recipient),
            });
        }
    }

    pub fn invite_created(&self, invite: &Invite) {
        self.publish(Event::InviteCreate(invite.clone()));
    }

    pub fn invite_deleted(&self, invite: &Invite) {
        self.publish(Event::InviteDelete {
            guild_id: invite.guild.id,
            channel_id: invite.channel.id,
            code: invite.code.clone(),
        });
    }

    pub fn pins_updated(&self, guild: Snowflake, channel: Snowflake, last: Option<Timestamp>) {
        self.publish(Event::ChannelPinsUpdate {
            guild_id: guild,
            channel_id: channel,
            last_pin_timestamp: last,
        });
    }

    pub fn reaction_added(&self, change: ReactionChange, member: Member, author: Snowflake) {
        self.publish(Event::MessageReactionAdd {
            reaction: change,
            member,
            message_author_id: author,
        });
    }

    pub fn reaction_removed(&self, change: ReactionChange) {
        self.publish(Event::MessageReactionRemove(change));
    }

    pub fn reaction_emoji_removed(
        &self,
        guild: Snowflake,
        channel: Snowflake,
        message: Snowflake,
        emoji: Emoji,
    ) {
        self.publish(Event::MessageReactionRemoveEmoji {
            channel_id: channel,
            message_id: message,
            guild_id: guild,
            emoji,
        });
    }

    pub fn reactions_cleared(&self, guild: Snowflake, channel: Snowflake, message: Snowflake) {
        self.publish(Event::MessageReactionRemoveAll {
            channel_id: channel,
            message_id: message,
            guild_id: guild,
        });
    }

    pub fn ephemeral_created(&self, user: Snowflake, message: &Message) {
        self.publish(Event::EphemeralCreate {
            user_id: user,
            message: message.clone(),
        });
    }

    pub fn ephemeral_updated(&self, user: Snowflake, message: &Message) {
        self.publish(Event::EphemeralUpdate {
            user_id: user,
            message: message.clone(),
        });
    }

    pub fn ephemeral_deleted(&self, user: Snowflake, message: &Message) {
        self.publish(Event::EphemeralDelete {
            user_id: user,
            id: message.id,
            channel_id: message.channel_id,
            guild_id: message.guild_id.unwrap_or_default(),
        });
    }

    pub fn interaction_created(&self, interaction: hearth_proto::interactions::Interaction) {
        self.publish(Event::InteractionCreate(Box::new(interaction)));
    }

    pub fn interaction_outcome(
        &self,
        user: Snowflake,
        id: Snowflake,
        nonce: Option<String>,
        answered: bool,
    ) {
        self.publish(Event::InteractionOutcome {
            user_id: user,
            id,
            nonce,
            answered,
        });
    }

    pub fn modal_shown(&self, user: Snowflake, modal: hearth_proto::interactions::ModalShown) {
        self.publish(Event::InteractionModalCreate {
            user_id: user,
            modal,
        });
    }

    pub fn autocomplete_result(
        &self,
        user: Snowflake,
        id: Snowflake,
        nonce: Option<String>,
        choices: Vec<hearth_model::CommandChoice>,
    ) {
        self.publish(Event::AutocompleteResult {
            user_id: user,
            id,
            nonce,
            choices,
        });
    }

    pub fn typing(&self, channel: &Channel, member: &Member, unix_secs: u64) {
        self.publish(Event::TypingStart {
            channel_id: channel.id,
            guild_id: channel.guild_id,
            timestamp: unix_secs,
            member: member.clone(),
        });
    }

    pub fn user_updated(&self, user: &User) {
        self.publish(Event::UserUpdate(user.clone()));
    }
}
