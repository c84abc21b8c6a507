//! What the services need from storage, one trait per resource.

use async_trait::async_trait;
use hearth_model::{
    Application, ApplicationCommand, Ban, Channel, DmPrivacy, Guild, GuildSettingsPatch, Invite,
    Member, Message, PrivateChannel, Role, Snowflake, ThreadMember, Timestamp, User,
    UserGuildSettings, Webhook,
};

use crate::edits::{
    ApplicationEdit, ChannelEdit, Edited, GuildEdit, MemberEdit, RoleEdit, ThreadEdit,
};
use crate::Result;

/// Every store; what services hold as `Arc<dyn Store>`.
pub trait Store:
    AccountStore
    + GuildStore
    + MemberStore
    + MessageStore
    + ReactionStore
    + PinStore
    + ThreadStore
    + PrivateChannelStore
    + ReadStateStore
    + SearchStore
    + NotificationSettingsStore
    + CommandStore
    + InteractionStore
    + WebhookStore
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: AccountStore
        + GuildStore
        + MemberStore
        + MessageStore
        + ReactionStore
        + PinStore
        + ThreadStore
        + PrivateChannelStore
        + ReadStateStore
        + SearchStore
        + NotificationSettingsStore
        + CommandStore
        + InteractionStore
        + WebhookStore
        + Send
        + Sync
{
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: Snowflake,
    pub username: String,
    pub global_name: Option<String>,
    pub password_hash: Option<String>,
    pub bot: bool,
}

/// A user and the argon2 hash of their password.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: Option<String>,
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Fails with `Conflict("username")` when the name is taken.
    async fn create_user(&self, user: NewUser) -> Result<User>;
    async fn user(&self, id: Snowflake) -> Result<Option<User>>;
    async fn credentials(&self, username: &str) -> Result<Option<Credentials>>;
    /// Writes username, global name and avatar. `Conflict("username")` when taken.
    async fn update_user(&self, user: &User) -> Result<()>;

    /// Tokens are kept only as hashes.
    async fn insert_token(&self, hash: &[u8], user_id: Snowflake, at: Timestamp) -> Result<()>;
    async fn token_user(&self, hash: &[u8]) -> Result<Option<User>>;
    async fn delete_token(&self, hash: &[u8]) -> Result<()>;
    /// Revokes every token of the user and stores a new one, atomically.
    async fn replace_tokens(&self, user_id: Snowflake, hash: &[u8], at: Timestamp) -> Result<()>;

    /// Creates the application and its bot user (same id) together.
    async fn create_application(&self, app: &Application) -> Result<()>;
    async fn application(&self, id: Snowflake) -> Result<Option<Application>>;
    /// Changes only the fields the edit names. `Missing("application")`.
    async fn edit_application(
        &self,
        id: Snowflake,
        edit: &ApplicationEdit,
    ) -> Result<Edited<Application>>;

    // Account controls: password changes, logging out everywhere, and the
    // operator's tools (`hearth admin`).

    /// Sets the user's password hash and revokes every token of the user,
    /// storing `keep` (a new token's hash and time) as the only one, in one
    /// transaction. Returns how many tokens were revoked. `Missing("user")`
    /// when there is no such user.
    async fn set_password(
        &self,
        user_id: Snowflake,
        password_hash: &str,
        keep: Option<(&[u8], Timestamp)>,
    ) -> Result<u64>;
    /// Revokes every token of the user except `except`; returns how many.
    async fn revoke_tokens(&self, user_id: Snowflake, except: Option<&[u8]>) -> Result<u64>;
    /// The user's tokens (as hashes), oldest first.
    async fn tokens_of(&self, user_id: Snowflake) -> Result<Vec<TokenRecord>>;
    /// Makes the user an instance administrator, or not. `Missing("user")`
    /// when there is no such user.
    async fn set_instance_admin(&self, user_id: Snowflake, admin: bool) -> Result<()>;
    async fn is_instance_admin(&self, user_id: Snowflake) -> Result<bool>;
    /// Removes a user with no other traces (a registration undone).
    async fn delete_user(&self, user_id: Snowflake) -> Result<()>;
}

/// A stored token: its hash and when it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub hash: Vec<u8>,
    pub created_at: Timestamp,
}

#[async_trait]
pub trait GuildStore: Send + Sync {
    /// Writes the guild, its roles, its channels and the owner's membership in
    /// one transaction.
    async fn create_guild(
        &self,
        guild: &Guild,
        channels: &[Channel],
        joined_at: Timestamp,
    ) -> Result<()>;
    /// The guild with its roles.
    async fn guild(&self, id: Snowflake) -> Result<Option<Guild>>;
    /// Changes only the fields the edit names (not roles). A system or AFK
    /// channel must still be a channel of the guild of the right type:
    /// `Missing("channel")` otherwise, `Missing("guild")` when it is gone.
    async fn edit_guild(&self, id: Snowflake, edit: &GuildEdit) -> Result<Edited<Guild>>;
    /// Removes the guild and everything in it.
    async fn delete_guild(&self, id: Snowflake) -> Result<()>;
    async fn member_count(&self, guild_id: Snowflake) -> Result<u64>;

    async fn channels(&self, guild_id: Snowflake) -> Result<Vec<Channel>>;
    async fn channel(&self, id: Snowflake) -> Result<Option<Channel>>;
    /// `Full(Capacity::Channels)` when the guild has `max` channels already.
    async fn create_channel(&self, channel: &Channel, max: usize) -> Result<()>;
    /// Changes only the fields the edit names. Role overwrites must name
    /// roles of the guild (`Missing("role")`), a parent must be a category
    /// of the guild (`Missing("parent")`), and at most `max_overwrites` may
    /// result (`Full(Capacity::Overwrites)`). `Missing("channel")` when gone.
    async fn edit_channel(
        &self,
        id: Snowflake,
        edit: &ChannelEdit,
        max_overwrites: usize,
    ) -> Result<Edited<Channel>>;
    /// Removes the channel, its messages, invites and webhooks; its children
    /// move to the top level and the guild forgets it as system/AFK channel.
    async fn delete_channel(&self, id: Snowflake) -> Result<()>;

    /// Inserts the role at its position (clamped, see
    /// [`crate::edits::place_role`]), moving the others to keep positions
    /// dense. `Full(Capacity::Roles)` when the guild has `max` roles already
    /// (@everyone counts).
    async fn create_role(&self, guild_id: Snowflake, role: &Role, max: usize) -> Result<RoleWrite>;
    /// Changes only the fields the edit names. `Missing("role")` when gone.
    async fn edit_role(
        &self,
        guild_id: Snowflake,
        role_id: Snowflake,
        edit: &RoleEdit,
    ) -> Result<RoleWrite>;
    /// Moves each role in turn to its position; returns every role whose
    /// position changed. Roles of other guilds or unknown are skipped.
    async fn move_roles(
        &self,
        guild_id: Snowflake,
        moves: &[(Snowflake, i32)],
    ) -> Result<Vec<Role>>;
    /// Removes the role, takes it from every member and drops its overwrites,
    /// in one transaction. False when there was no such role.
    async fn delete_role(&self, guild_id: Snowflake, role_id: Snowflake) -> Result<bool>;
}

/// A role as written, and the other roles whose position moved to make room.
#[derive(Debug, Clone)]
pub struct RoleWrite {
    pub role: Role,
    pub moved: Vec<Role>,
}

/// What a successful invite use did.
#[derive(Debug, Clone)]
pub struct InviteUse {
    pub invite: Invite,
    /// False when the user was already a member.
    pub joined: bool,
}

#[async_trait]
pub trait MemberStore: Send + Sync {
    async fn member(&self, guild_id: Snowflake, user_id: Snowflake) -> Result<Option<Member>>;
    /// Ordered by user id, strictly after `after`.
    async fn members(
        &self,
        guild_id: Snowflake,
        after: Snowflake,
        limit: u32,
    ) -> Result<Vec<Member>>;
    /// Members whose username or nickname starts with `prefix` (case-insensitive).
    async fn search_members(
        &self,
        guild_id: Snowflake,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<Member>>;
    /// Guild ids the user is a member of.
    async fn guilds_of_user(&self, user_id: Snowflake) -> Result<Vec<Snowflake>>;
    /// Adds the member unless banned (`Banned`); returns false if already a member.
    async fn add_member(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
        roles: &[Snowflake],
        at: Timestamp,
    ) -> Result<bool>;
    /// Changes only the fields the edit names; roles that are no longer the
    /// guild's are dropped. `Missing("member")` when not a member.
    async fn edit_member(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
        edit: &MemberEdit,
    ) -> Result<Edited<Member>>;
    async fn remove_member(&self, guild_id: Snowflake, user_id: Snowflake) -> Result<bool>;

    /// Bans the user, removes their membership and deletes their messages in
    /// the guild with ids at or above `delete_since`, in one transaction.
    /// Returns the deleted messages as `(channel_id, message_id)`.
    async fn ban(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
        reason: Option<&str>,
        delete_since: Option<Snowflake>,
    ) -> Result<Vec<(Snowflake, Snowflake)>>;
    async fn unban(&self, guild_id: Snowflake, user_id: Snowflake) -> Result<bool>;
    async fn bans(&self, guild_id: Snowflake) -> Result<Vec<Ban>>;
    async fn ban_of(&self, guild_id: Snowflake, user_id: Snowflake) -> Result<Option<Ban>>;

    /// Stores a new invite, unless its guild already holds `max` invites
    /// usable at the invite's creation (`Full(Invites)`); invites no longer
    /// usable are deleted on the way.
    async fn create_invite(&self, invite: &Invite, max: usize) -> Result<()>;
    async fn invite(&self, code: &str) -> Result<Option<Invite>>;
    /// The guild's invites usable at `now`, oldest first, with inviters.
    async fn guild_invites(&self, guild_id: Snowflake, now: Timestamp) -> Result<Vec<Invite>>;
    /// Deletes the invite; what it was, or `None` if there was none.
    async fn delete_invite(&self, code: &str) -> Result<Option<Invite>>;
    /// Joins the guild through the invite if it is still usable at `now`
    /// (`Missing("invite")` otherwise) and the user is not banned (`Banned`).
    async fn use_invite(&self, code: &str, user_id: Snowflake, now: Timestamp)
        -> Result<InviteUse>;
}

/// Which page of a channel's history to read. Results are newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Page {
    Latest,
    Before(Snowflake),
    After(Snowflake),
    Around(Snowflake),
}

#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Stores the message and advances the channel's `last_message_id`.
    async fn insert_message(&self, message: &Message) -> Result<()>;
    async fn message(&self, channel_id: Snowflake, id: Snowflake) -> Result<Option<Message>>;
    async fn messages(&self, channel_id: Snowflake, page: Page, limit: u32)
        -> Result<Vec<Message>>;
    /// Writes content, embeds, mentions, flags, attachments and the edit
    /// time, only if the message's edit time is still `read_edited` (what
    /// it was when the edit read it): false if another edit came first (or
    /// the message is gone), so the edit re-reads and applies itself again
    /// rather than overwrite the other's fields with what it read.
    async fn update_message(
        &self,
        message: &Message,
        read_edited: Option<Timestamp>,
    ) -> Result<bool>;
    async fn delete_message(&self, channel_id: Snowflake, id: Snowflake) -> Result<bool>;
    /// Deletes those of `ids` that are in the channel; returns how many were.
    async fn delete_messages(&self, channel_id: Snowflake, ids: &[Snowflake]) -> Result<u64>;
    /// Attachments dropped by any write (a delete of their message, of its
    /// channel or guild, a ban's purge, an edit), whose blobs are still to
    /// be deleted: at most `limit`, by id.
    async fn dropped_files(&self, limit: u32) -> Result<Vec<Snowflake>>;
    /// Forgets dropped attachments whose blobs are deleted.
    async fn forget_dropped_files(&self, ids: &[Snowflake]) -> Result<()>;
}

/// A message's reactions with one emoji: the emoji's key is its unicode
/// text, or `name:id` for a custom emoji.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReactionKey<'a> {
    pub channel_id: Snowflake,
    pub message_id: Snowflake,
    pub emoji: &'a str,
}

/// Whether a reaction may bring a new emoji to its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewEmoji {
    /// Yes, while the message has fewer than `max` emoji.
    Allowed { max: usize },
    /// No (the user lacks ADD_REACTIONS): only emoji already there.
    Forbidden,
}

/// What adding a reaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reacted {
    Added,
    /// The user had already reacted with that emoji; nothing changed.
    AlreadyThere,
    /// The emoji is not on the message and `NewEmoji::Forbidden` was given.
    NewEmojiForbidden,
}

/// One emoji's reactions on a message, as one reader sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionCount {
    pub message_id: Snowflake,
    pub emoji: String,
    pub count: u32,
    /// Whether the reader reacted with it.
    pub me: bool,
}

#[async_trait]
pub trait ReactionStore: Send + Sync {
    /// Adds the user's reaction, in one transaction with its checks:
    /// `Missing("message")` when the message is gone,
    /// `Full(Capacity::Reactions)` when a new emoji would exceed the limit.
    async fn add_reaction(
        &self,
        key: ReactionKey<'_>,
        user_id: Snowflake,
        at: Timestamp,
        new_emoji: NewEmoji,
    ) -> Result<Reacted>;
    /// Removes one user's reaction; false when there was none.
    async fn remove_reaction(&self, key: ReactionKey<'_>, user_id: Snowflake) -> Result<bool>;
    /// Removes every reaction with the key's emoji; returns how many.
    async fn remove_emoji_reactions(&self, key: ReactionKey<'_>) -> Result<u64>;
    /// Removes every reaction on the message; returns how many.
    async fn remove_all_reactions(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
    ) -> Result<u64>;
    /// Who reacted with the emoji, by user id, strictly after `after`.
    async fn reactors(
        &self,
        key: ReactionKey<'_>,
        after: Snowflake,
        limit: u32,
    ) -> Result<Vec<User>>;
    /// The reactions on each of the messages (of one channel), as `reader`
    /// sees them: by message, each message's emoji in order of their first
    /// reaction.
    async fn reaction_counts(
        &self,
        channel_id: Snowflake,
        message_ids: &[Snowflake],
        reader: Snowflake,
    ) -> Result<Vec<ReactionCount>>;
}

/// A pinned message and when it was pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedMessage {
    pub pinned_at: Timestamp,
    pub message: Message,
}

#[async_trait]
pub trait PinStore: Send + Sync {
    /// Pins the message and sets its `pinned` flag, in one transaction
    /// with its checks: `Missing("message")` when the message is gone,
    /// `Full(Capacity::Pins)` when the channel already holds `max` pins.
    /// Returns the pin's time: `at`, or just after the channel's newest pin
    /// if that is later, so a channel's pin times are distinct. `None` when
    /// it was already pinned (nothing changes).
    async fn pin_message(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
        at: Timestamp,
        max: usize,
    ) -> Result<Option<Timestamp>>;
    /// Unpins the message and clears its flag; false when it was not pinned.
    async fn unpin_message(&self, channel_id: Snowflake, message_id: Snowflake) -> Result<bool>;
    /// The channel's pinned messages pinned strictly before `before` (all
    /// when `None`), most recently pinned first.
    async fn pins(
        &self,
        channel_id: Snowflake,
        before: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<PinnedMessage>>;
    /// When the newest of the channel's pins was made; `None` without pins.
    async fn last_pin_at(&self, channel_id: Snowflake) -> Result<Option<Timestamp>>;
}

#[async_trait]
pub trait PrivateChannelStore: Send + Sync {
    /// The DM between `a` and `b`, made with `new_id` if they have none;
    /// it is (re)opened in `a`'s list. True when it was made now.
    async fn open_dm(
        &self,
        new_id: Snowflake,
        a: Snowflake,
        b: Snowflake,
    ) -> Result<(PrivateChannel, bool)>;
    /// Stores a new group DM with its recipients.
    async fn create_group_dm(&self, channel: &PrivateChannel) -> Result<()>;
    /// The channel with every recipient, open or not.
    async fn private_channel(&self, id: Snowflake) -> Result<Option<PrivateChannel>>;
    /// The channels in the user's list (those they have not closed).
    async fn private_channels_of(&self, user: Snowflake) -> Result<Vec<PrivateChannel>>;
    /// Adds a user to a group DM, unless it already has `max` recipients
    /// (`Full(Capacity::Recipients)`). False when they were already in it.
    async fn add_recipient(
        &self,
        channel_id: Snowflake,
        user_id: Snowflake,
        max: usize,
    ) -> Result<bool>;
    /// Takes a user out of a group DM; the group goes when its last user
    /// does, and passes to another when its owner leaves. Returns the
    /// group as it is afterwards (`None` when it is gone); `Missing` when
    /// the user was not in it.
    async fn remove_recipient(
        &self,
        channel_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<Option<PrivateChannel>>;
    /// Takes a DM out of the user's list until its next message.
    async fn close_dm(&self, channel_id: Snowflake, user_id: Snowflake) -> Result<()>;
    /// Renames a group DM (`None` clears the name).
    async fn rename_group_dm(&self, channel_id: Snowflake, name: Option<&str>) -> Result<()>;
    /// Whether the two users share a guild where `b` takes DMs from its
    /// members (the guild is not among `b`'s restricted ones).
    async fn share_a_guild(&self, a: Snowflake, b: Snowflake) -> Result<bool>;
    /// `user` blocks `target` from `since`, unless they already block
    /// `max` users (`Full(Capacity::Blocks)`). False when they already did.
    async fn block(
        &self,
        user: Snowflake,
        target: Snowflake,
        since: Timestamp,
        max: usize,
    ) -> Result<bool>;
    /// False when `user` did not block `target`.
    async fn unblock(&self, user: Snowflake, target: Snowflake) -> Result<bool>;
    /// Whom the user blocks, and since when, oldest first.
    async fn blocked_by(&self, user: Snowflake) -> Result<Vec<(Snowflake, Timestamp)>>;
    /// Whether either of the two blocks the other.
    async fn blocked_between(&self, a: Snowflake, b: Snowflake) -> Result<bool>;
    /// The guilds whose members may not open DMs with the user, and
    /// whether guilds they join are so.
    async fn dm_privacy(&self, user: Snowflake) -> Result<DmPrivacy>;
    /// Sets what is given, in one transaction: `restricted` replaces the
    /// set of guilds (ids of guilds the user is not in are ignored).
    async fn set_dm_privacy(
        &self,
        user: Snowflake,
        restricted: Option<&[Snowflake]>,
        default_restricted: Option<bool>,
    ) -> Result<DmPrivacy>;
}

/// A user's ack of a channel up to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ack {
    pub user: Snowflake,
    pub channel: Snowflake,
    pub message_id: Snowflake,
}

/// How far a user has read a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadState {
    pub channel_id: Snowflake,
    pub last_message_id: Snowflake,
    /// The user's acks of the channel so far.
    pub version: u64,
    /// Newer messages that mention the user (directly, by one of their
    /// roles, or @everyone), or any newer message of someone else in a DM:
    /// counted over at most the newest `scan` messages after the read one.
    pub mention_count: u32,
}

#[async_trait]
pub trait ReadStateStore: Send + Sync {
    /// Marks the channel read up to `message_id` (never backwards); returns
    /// the new version.
    async fn ack(&self, user: Snowflake, channel: Snowflake, message_id: Snowflake) -> Result<u64>;
    /// Each of `acks` as [`ReadStateStore::ack`] does, in one transaction;
    /// the new versions, in the same order. Several acks of one user and
    /// channel each count.
    async fn ack_many(&self, acks: &[Ack]) -> Result<Vec<u64>>;
    /// The user's read states, with their mention counts.
    async fn read_states(&self, user: Snowflake, scan: u32) -> Result<Vec<ReadState>>;
}

/// What a message must carry to match a search's `has` filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageHas {
    /// An http or https link in its content.
    Link,
    Embed,
    /// An attachment of any kind (images, videos and sounds are attachments).
    File,
    Image,
    Video,
    Sound,
    Sticker,
    Poll,
    Snapshot,
}

/// Where a search looks: what the searcher may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchIn {
    /// Every channel of the guild: narrowed by the guild at once.
    Guild(Snowflake),
    /// These channels only (none finds nothing).
    Channels(Vec<Snowflake>),
}

impl Default for SearchIn {
    fn default() -> Self {
        SearchIn::Channels(Vec::new())
    }
}

/// One page of a message search: what every hit must satisfy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageSearch {
    pub scope: SearchIn,
    /// Words the content must hold, each as a whole word (in any case);
    /// a word of several tokens ("don't") must appear as that phrase.
    pub words: Vec<String>,
    /// Written by any of these (none: anyone).
    pub authors: Vec<Snowflake>,
    /// Mentioning any of these users (none: no condition).
    pub mentions: Vec<Snowflake>,
    /// Calling on this user: mentioning them, one of their roles, or
    /// everyone (a mentions inbox).
    pub calling: Option<CallsOn>,
    /// Not written by this user.
    pub not_by: Option<Snowflake>,
    /// Carrying every one of these.
    pub has: Vec<MessageHas>,
    /// Strictly newer than this id.
    pub after: Option<Snowflake>,
    /// Strictly older than this id.
    pub before: Option<Snowflake>,
    pub pinned: Option<bool>,
    pub oldest_first: bool,
    pub offset: u32,
    pub limit: u32,
}

/// Where a search stops counting its hits: no page starts past it (the
/// route's offset and limit end there), and counting a common word's
/// hundred thousand hits would cost more than the page.
pub const SEARCH_COUNT_CAP: u64 = 10_000;

/// Whom a message calls on, for a user's mentions: them by name, any of
/// `roles`, or everyone when `everyone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallsOn {
    pub user: Snowflake,
    pub roles: Vec<Snowflake>,
    pub everyone: bool,
}

/// A search's page of hits and how many there are in all (at most
/// [`SEARCH_COUNT_CAP`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHits {
    pub total: u64,
    pub messages: Vec<Message>,
}

#[async_trait]
pub trait SearchStore: Send + Sync {
    /// People's messages (not system notices) matching the search, newest
    /// first unless `oldest_first`.
    async fn search_messages(&self, search: &MessageSearch) -> Result<SearchHits>;
}

#[async_trait]
pub trait NotificationSettingsStore: Send + Sync {
    /// The user's settings for every guild they changed any in.
    async fn guild_settings_of(&self, user: Snowflake) -> Result<Vec<UserGuildSettings>>;
    /// Applies `patch` to the user's settings for `defaults.guild_id`
    /// (starting from `defaults` when they have none) in one transaction,
    /// so concurrent changes each keep the other's; returns the result.
    /// `Missing("member")` when the user is not (or no longer) a member.
    /// `channels`: the guild's channels, which overrides are kept for.
    async fn update_guild_settings(
        &self,
        user: Snowflake,
        defaults: UserGuildSettings,
        patch: &GuildSettingsPatch,
        channels: &[Snowflake],
    ) -> Result<UserGuildSettings>;
}

/// How many commands of each type one scope (global, or one guild) may
/// hold, by command type (1, 2, 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandLimits {
    pub chat_input: usize,
    pub user: usize,
    pub message: usize,
}

impl CommandLimits {
    pub fn of(&self, kind: u8) -> usize {
        match kind {
            1 => self.chat_input,
            2 => self.user,
            _ => self.message,
        }
    }
}

#[async_trait]
pub trait CommandStore: Send + Sync {
    /// The application's commands in a scope (`None`: global), by name.
    async fn commands(
        &self,
        application_id: Snowflake,
        guild_id: Option<Snowflake>,
    ) -> Result<Vec<ApplicationCommand>>;
    async fn command(
        &self,
        application_id: Snowflake,
        id: Snowflake,
    ) -> Result<Option<ApplicationCommand>>;
    /// Creates the command, or replaces the one of the same scope, type
    /// and name (keeping its id): Discord's upsert. True when created.
    /// `Full(Capacity::Commands)` when a new one would pass the limit.
    async fn upsert_command(
        &self,
        command: &ApplicationCommand,
        limits: CommandLimits,
    ) -> Result<(ApplicationCommand, bool)>;
    /// Replaces the command's definition. `Missing("command")` when gone,
    /// `Conflict("name")` when another command of its scope has the name.
    async fn replace_command(&self, command: &ApplicationCommand) -> Result<()>;
    async fn delete_command(&self, application_id: Snowflake, id: Snowflake) -> Result<bool>;
    /// Makes the scope's commands exactly `commands`, in one transaction;
    /// a command keeps its id when one of the same type and name was there.
    async fn overwrite_commands(
        &self,
        application_id: Snowflake,
        guild_id: Option<Snowflake>,
        commands: &[ApplicationCommand],
    ) -> Result<Vec<ApplicationCommand>>;
    /// Every command a member of the guild may see listed: the global ones
    /// and the guild's of every application whose bot is a member.
    async fn guild_command_index(&self, guild_id: Snowflake) -> Result<Vec<ApplicationCommand>>;
}

/// An interaction, for the 15 minutes its token lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionRecord {
    pub id: Snowflake,
    pub token_hash: [u8; 32],
    pub application_id: Snowflake,
    pub kind: u8,
    pub guild_id: Snowflake,
    pub channel_id: Snowflake,
    pub user_id: Snowflake,
    pub created_at: Timestamp,
    /// The message a component interaction came from.
    pub message_id: Option<Snowflake>,
    /// A command interaction's command: its name and type.
    pub command_name: Option<String>,
    pub command_type: Option<u8>,
    /// The invoking client's nonce, echoed in what it is told.
    pub nonce: Option<String>,
    /// The callback type of the first response.
    pub response: Option<u8>,
    pub ephemeral: bool,
    pub original_id: Option<Snowflake>,
}

/// The first response to an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstResponse {
    pub callback_type: u8,
    pub ephemeral: bool,
    pub original_id: Option<Snowflake>,
    /// Responses after this are refused: the interaction's deadline.
    pub deadline_created_after: Timestamp,
}

/// What an attempt at the first response found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acknowledge {
    Done,
    /// It had been answered already.
    Already,
    /// No such interaction, or it was not answered in time.
    Unknown,
}

#[async_trait]
pub trait InteractionStore: Send + Sync {
    /// Stores the interaction, and forgets those created before
    /// `forget_before` (tokens that no longer work) with their messages.
    async fn create_interaction(
        &self,
        interaction: &InteractionRecord,
        forget_before: Timestamp,
    ) -> Result<()>;
    async fn interaction(&self, id: Snowflake) -> Result<Option<InteractionRecord>>;
    async fn interaction_by_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<InteractionRecord>>;
    /// Records the first response, if there was none and the interaction
    /// was created after the deadline, atomically.
    async fn acknowledge(
        &self,
        id: Snowflake,
        token_hash: &[u8; 32],
        response: FirstResponse,
    ) -> Result<Acknowledge>;
    /// Closes the modal the interaction opened (its callback was a modal),
    /// for a submit by `user_id`: true once, false after or otherwise.
    async fn close_modal(&self, id: Snowflake, user_id: Snowflake) -> Result<bool>;
    /// Records the original response message (a deferred response's
    /// message, once the application sends it).
    async fn set_original(&self, id: Snowflake, message_id: Snowflake) -> Result<()>;
    /// Stores an ephemeral message of the interaction.
    async fn put_ephemeral(&self, interaction_id: Snowflake, message: &Message) -> Result<()>;
    /// An ephemeral message and the interaction it belongs to.
    async fn ephemeral(&self, id: Snowflake) -> Result<Option<(Snowflake, Message)>>;
    async fn delete_ephemeral(&self, id: Snowflake) -> Result<bool>;
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// `Full(Capacity::Webhooks)` when the channel has `max` already.
    async fn create_webhook(&self, webhook: &Webhook, max: usize) -> Result<()>;
    /// The webhook; its token is never returned (only a hash is kept).
    async fn webhook(&self, id: Snowflake) -> Result<Option<Webhook>>;
    /// The webhook, if `token` is its token.
    async fn webhook_with_token(&self, id: Snowflake, token: &str) -> Result<Option<Webhook>>;
    async fn channel_webhooks(&self, channel_id: Snowflake) -> Result<Vec<Webhook>>;
    async fn delete_webhook(&self, id: Snowflake) -> Result<bool>;
}

/// Which archived threads of a channel to list, newest archived first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedThreads {
    /// Private threads (type 12) rather than public ones.
    pub private: bool,
    /// Only threads this user is a member of.
    pub joined_by: Option<Snowflake>,
    /// Only threads archived before this instant.
    pub before: Option<Timestamp>,
    pub limit: usize,
}

/// A thread as [`ThreadStore::thread_index`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadEntry {
    pub id: Snowflake,
    pub parent_id: Snowflake,
    pub private: bool,
    /// Whether the user asked about is a member of it.
    pub joined: bool,
}

/// Threads: channels of type 11 and 12 in `channels`, plus their members.
#[async_trait]
pub trait ThreadStore: Send + Sync {
    /// Writes the thread (a channel with `thread` fields, its parent a text
    /// channel of the guild: `Missing("channel")` otherwise) and its owner as
    /// its first member, in one transaction. From a message (`starter`,
    /// whose id is the thread's): the message must be in the parent
    /// (`Missing("message")`) and must not have started a thread already
    /// (`Conflict("thread")`); it gains the HAS_THREAD flag and is returned.
    /// `Full(ActiveThreads)` when the guild has `max_active` unarchived
    /// threads.
    async fn create_thread(
        &self,
        thread: &Channel,
        starter: Option<Snowflake>,
        max_active: usize,
    ) -> Result<Option<Message>>;
    /// Changes only the fields the edit names; unarchiving restarts the
    /// inactivity clock and counts against `max_active`
    /// (`Full(ActiveThreads)`). `Missing("channel")` when gone.
    async fn edit_thread(
        &self,
        id: Snowflake,
        edit: &ThreadEdit,
        now: Timestamp,
        max_active: usize,
    ) -> Result<Edited<Channel>>;
    /// The guild's unarchived threads, oldest first.
    async fn active_threads(&self, guild_id: Snowflake) -> Result<Vec<Channel>>;
    async fn archived_threads(
        &self,
        parent_id: Snowflake,
        which: &ArchivedThreads,
    ) -> Result<Vec<Channel>>;
    /// Adds the user to the thread and returns its new member count;
    /// `None` when they were a member already. `Full(ThreadMembers)` at
    /// `max_members`; `Missing("channel")`.
    async fn join_thread(
        &self,
        thread_id: Snowflake,
        user_id: Snowflake,
        at: Timestamp,
        max_members: usize,
    ) -> Result<Option<u32>>;
    /// Removes the user and returns the new member count; `None` when they
    /// were not a member.
    async fn leave_thread(&self, thread_id: Snowflake, user_id: Snowflake) -> Result<Option<u32>>;
    async fn thread_member(
        &self,
        thread_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<Option<ThreadMember>>;
    /// Members by user id, after `after`.
    async fn thread_members(
        &self,
        thread_id: Snowflake,
        after: Snowflake,
        limit: usize,
    ) -> Result<Vec<ThreadMember>>;
    /// The user's memberships of the guild's unarchived threads.
    async fn thread_memberships(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<Vec<ThreadMember>>;
    /// The members of the guild's unarchived private threads (what the
    /// gateway needs to decide who sees them).
    async fn private_thread_members(&self, guild_id: Snowflake) -> Result<Vec<ThreadMember>>;
    /// Every thread of the guild, archived ones too, as much as deciding
    /// who may read it needs: for searches.
    async fn thread_index(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<Vec<ThreadEntry>>;
    /// Archives every thread idle past its auto-archive duration at `now`
    /// and returns them; a thread is returned by one call only, so of
    /// several nodes sweeping at once, one announces each.
    async fn archive_idle_threads(&self, now: Timestamp) -> Result<Vec<Channel>>;
}
