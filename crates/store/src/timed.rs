//! A store that times every call it passes on: `hearth_store_query_
//! duration_seconds{op}`, one histogram per trait method (the set of labels
//! is the set of methods). It wraps either backend, so SQLite and
//! PostgreSQL are measured alike, from the caller's side (a call that waits
//! for a pooled connection or SQLite's writer counts that wait).

use std::future::Future;
use std::time::Instant;

use async_trait::async_trait;
use hearth_model::{
    Application, ApplicationCommand, Ban, Channel, DmPrivacy, Guild, GuildSettingsPatch, Invite,
    Member, Message, PrivateChannel, Role, Snowflake, ThreadMember, Timestamp, User,
    UserGuildSettings, Webhook,
};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::edits::{
    ApplicationEdit, ChannelEdit, Edited, GuildEdit, MemberEdit, RoleEdit, ThreadEdit,
};
use crate::traits::*;
use crate::Result;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreOp {
    /// The store method: `insert_message`, `member`, ...
    pub op: &'static str,
}

fn query_histogram() -> Histogram {
    // 50 µs to about 1.6 s.
    Histogram::new(exponential_buckets(0.00005, 2.0, 16))
}

/// The histograms, registered once per node.
#[derive(Clone)]
pub struct StoreMetrics {
    queries: Family<StoreOp, Histogram, fn() -> Histogram>,
}

impl StoreMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let queries = Family::new_with_constructor(query_histogram as fn() -> Histogram);
        registry.register(
            "store_query_duration_seconds",
            "Store calls by method, from the caller's side (waits for a connection included)",
            queries.clone(),
        );
        StoreMetrics { queries }
    }
}

/// `inner`, with every call timed.
pub struct Timed<S: ?Sized> {
    metrics: StoreMetrics,
    inner: std::sync::Arc<S>,
}

impl<S: Store + ?Sized> Timed<S> {
    pub fn new(inner: std::sync::Arc<S>, metrics: StoreMetrics) -> Self {
        Timed { metrics, inner }
    }

    async fn timed<T>(&self, op: &'static str, call: impl Future<Output = Result<T>>) -> Result<T> {
        let started = Instant::now();
        let result = call.await;
        self.metrics
            .queries
            .get_or_create(&StoreOp { op })
            .observe(started.elapsed().as_secs_f64());
        result
    }
}

#[async_trait]
impl<S: Store + ?Sized> AccountStore for Timed<S> {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.timed("create_user", self.inner.create_user(user))
            .await
    }
    async fn user(&self, id: Snowflake) -> Result<Option<User>> {
        self.timed("user", self.inner.user(id)).await
    }
    async fn credentials(&self, username: &str) -> Result<Option<Credentials>> {
        self.timed("credentials", self.inner.credentials(username))
            .await
    }
    async fn update_user(&self, user: &User) -> Result<()> {
        self.timed("update_user", self.inner.update_user(user))
            .await
    }
    async fn insert_token(&self, hash: &[u8], user_id: Snowflake, at: Timestamp) -> Result<()> {
        self.timed("insert_token", self.inner.insert_token(hash, user_id, at))
            .await
    }
    async fn token_user(&self, hash: &[u8]) -> Result<Option<User>> {
        self.timed("token_user", self.inner.token_user(hash)).await
    }
    async fn delete_token(&self, hash: &[u8]) -> Result<()> {
        self.timed("delete_token", self.inner.delete_token(hash))
            .await
    }
    async fn replace_tokens(&self, user_id: Snowflake, hash: &[u8], at: Timestamp) -> Result<()> {
        self.timed(
            "replace_tokens",
            self.inner.replace_tokens(user_id, hash, at),
        )
        .await
    }
    async fn create_application(&self, app: &Application) -> Result<()> {
        self.timed("create_application", self.inner.create_application(app))
            .await
    }
    async fn application(&self, id: Snowflake) -> Result<Option<Application>> {
        self.timed("application", self.inner.application(id)).await
    }
    async fn edit_application(
        &self,
        id: Snowflake,
        edit: &ApplicationEdit,
    ) -> Result<Edited<Application>> {
        self.timed("edit_application", self.inner.edit_application(id, edit))
            .await
    }
    async fn set_password(
        &self,
        user_id: Snowflake,
        password_hash: &str,
        keep: Option<(&[u8], Timestamp)>,
    ) -> Result<u64> {
        self.timed(
            "set_password",
            self.inner.set_password(user_id, password_hash, keep),
        )
        .await
    }
    async fn revoke_tokens(&self, user_id: Snowflake, except: Option<&[u8]>) -> Result<u64> {
        self.timed("revoke_tokens", self.inner.revoke_tokens(user_id, except))
            .await
    }
    async fn tokens_of(&self, user_id: Snowflake) -> Result<Vec<TokenRecord>> {
        self.timed("tokens_of", self.inner.tokens_of(user_id)).await
    }
    async fn set_instance_admin(&self, user_id: Snowflake, admin: bool) -> Result<()> {
        self.timed(
            "set_instance_admin",
            self.inner.set_instance_admin(user_id, admin),
        )
        .await
    }
    async fn is_instance_admin(&self, user_id: Snowflake) -> Result<bool> {
        self.timed("is_instance_admin", self.inner.is_instance_admin(user_id))
            .await
    }
    async fn delete_user(&self, user_id: Snowflake) -> Result<()> {
        self.timed("delete_user", self.inner.delete_user(user_id))
            .await
    }
}

#[async_trait]
impl<S: Store + ?Sized> GuildStore for Timed<S> {
    async fn create_guild(
        &self,
        guild: &Guild,
        channels: &[Channel],
        joined_at: Timestamp,
    ) -> Result<()> {
        self.timed(
            "create_guild",
            self.inner.create_guild(guild, channels, joined_at),
        )
        .await
    }
    async fn guild(&self, id: Snowflake) -> Result<Option<Guild>> {
        self.timed("guild", self.inner.guild(id)).await
    }
    async fn edit_guild(&self, id: Snowflake, edit: &GuildEdit) -> Result<Edited<Guild>> {
        self.timed("edit_guild", self.inner.edit_guild(id, edit))
            .await
    }
    async fn delete_guild(&self, id: Snowflake) -> Result<()> {
        self.timed("delete_guild", self.inner.delete_guild(id))
            .await
    }
    async fn member_count(&self, guild_id: Snowflake) -> Result<u64> {
        self.timed("member_count", self.inner.member_count(guild_id))
            .await
    }
    async fn channels(&self, guild_id: Snowflake) -> Result<Vec<Channel>> {
        self.timed("channels", self.inner.channels(guild_id)).await
    }
    async fn channel(&self, id: Snowflake) -> Result<Option<Channel>> {
        self.timed("channel", self.inner.channel(id)).await
    }
    async fn create_channel(&self, channel: &Channel, max: usize) -> Result<()> {
        self.timed("create_channel", self.inner.create_channel(channel, max))
            .await
    }
    async fn edit_channel(
        &self,
        id: Snowflake,
        edit: &ChannelEdit,
        max_overwrites: usize,
    ) -> Result<Edited<Channel>> {
        self.timed(
            "edit_channel",
            self.inner.edit_channel(id, edit, max_overwrites),
        )
        .await
    }
    async fn delete_channel(&self, id: Snowflake) -> Result<()> {
        self.timed("delete_channel", self.inner.delete_channel(id))
            .await
    }
    async fn create_role(&self, guild_id: Snowflake, role: &Role, max: usize) -> Result<RoleWrite> {
        self.timed("create_role", self.inner.create_role(guild_id, role, max))
            .await
    }
    async fn edit_role(
        &self,
        guild_id: Snowflake,
        role_id: Snowflake,
        edit: &RoleEdit,
    ) -> Result<RoleWrite> {
        self.timed("edit_role", self.inner.edit_role(guild_id, role_id, edit))
            .await
    }
    async fn move_roles(
        &self,
        guild_id: Snowflake,
        moves: &[(Snowflake, i32)],
    ) -> Result<Vec<Role>> {
        self.timed("move_roles", self.inner.move_roles(guild_id, moves))
            .await
    }
    async fn delete_role(&self, guild_id: Snowflake, role_id: Snowflake) -> Result<bool> {
        self.timed("delete_role", self.inner.delete_role(guild_id, role_id))
            .await
    }
}

#[async_trait]
impl<S: Store + ?Sized> MemberStore for Timed<S> {
    async fn member(&self, guild_id: Snowflake, user_id: Snowflake) -> Result<Option<Member>> {
        self.timed("member", self.inner.member(guild_id, user_id))
            .await
    }
    async fn members(
        &self,
        guild_id: Snowflake,
        after: Snowflake,
        limit: u32,
    ) -> Result<Vec<Member>> {
        self.timed("members", self.inner.members(guild_id, after, limit))
            .await
    }
    async fn search_members(
        &self,
        guild_id: Snowflake,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<Member>> {
        self.timed(
            "search_members",
            self.inner.search_members(guild_id, prefix, limit),
        )
        .await
    }
    async fn guilds_of_user(&self, user_id: Snowflake) -> Result<Vec<Snowflake>> {
        self.timed("guilds_of_user", self.inner.guilds_of_user(user_id))
            .await
    }
    async fn add_member(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
        roles: &[Snowflake],
        at: Timestamp,
    ) -> Result<bool> {
        self.timed(
            "add_member",
            self.inner.add_member(guild_id, user_id, roles, at),
        )
        .await
    }
    async fn edit_member(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
        edit: &MemberEdit,
    ) -> Result<Edited<Member>> {
        self.timed(
            "edit_member",
            self.inner.edit_member(guild_id, user_id, edit),
        )
        .await
    }
    async fn remove_member(&self, guild_id: Snowflake, user_id: Snowflake) -> Result<bool> {
        self.timed("remove_member", self.inner.remove_member(guild_id, user_id))
            .await
    }
    async fn ban(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
        reason: Option<&str>,
        delete_since: Option<Snowflake>,
    ) -> Result<Vec<(Snowflake, Snowflake)>> {
        self.timed(
            "ban",
            self.inner.ban(guild_id, user_id, reason, delete_since),
        )
        .await
    }
    async fn unban(&self, guild_id: Snowflake, user_id: Snowflake) -> Result<bool> {
        self.timed("unban", self.inner.unban(guild_id, user_id))
            .await
    }
    async fn bans(&self, guild_id: Snowflake) -> Result<Vec<Ban>> {
        self.timed("bans", self.inner.bans(guild_id)).await
    }
    async fn ban_of(&self, guild_id: Snowflake, user_id: Snowflake) -> Result<Option<Ban>> {
        self.timed("ban_of", self.inner.ban_of(guild_id, user_id))
            .await
    }
    async fn create_invite(&self, invite: &Invite, max: usize) -> Result<()> {
        self.timed("create_invite", self.inner.create_invite(invite, max))
            .await
    }
    async fn guild_invites(&self, guild_id: Snowflake, now: Timestamp) -> Result<Vec<Invite>> {
        self.timed("guild_invites", self.inner.guild_invites(guild_id, now))
            .await
    }
    async fn delete_invite(&self, code: &str) -> Result<Option<Invite>> {
        self.timed("delete_invite", self.inner.delete_invite(code))
            .await
    }
    async fn invite(&self, code: &str) -> Result<Option<Invite>> {
        self.timed("invite", self.inner.invite(code)).await
    }
    async fn use_invite(
        &self,
        code: &str,
        user_id: Snowflake,
        now: Timestamp,
    ) -> Result<InviteUse> {
        self.timed("use_invite", self.inner.use_invite(code, user_id, now))
            .await
    }
}

#[async_trait]
impl<S: Store + ?Sized> MessageStore for Timed<S> {
    async fn insert_message(&self, message: &Message) -> Result<()> {
        self.timed("insert_message", self.inner.insert_message(message))
            .await
    }
    async fn message(&self, channel_id: Snowflake, id: Snowflake) -> Result<Option<Message>> {
        self.timed("message", self.inner.message(channel_id, id))
            .await
    }
    async fn messages(
        &self,
        channel_id: Snowflake,
        page: Page,
        limit: u32,
    ) -> Result<Vec<Message>> {
        self.timed("messages", self.inner.messages(channel_id, page, limit))
            .await
    }
    async fn update_message(
        &self,
        message: &Message,
        read_edited: Option<Timestamp>,
    ) -> Result<bool> {
        self.timed(
            "update_message",
            self.inner.update_message(message, read_edited),
        )
        .await
    }
    async fn delete_message(&self, channel_id: Snowflake, id: Snowflake) -> Result<bool> {
        self.timed("delete_message", self.inner.delete_message(channel_id, id))
            .await
    }
    async fn delete_messages(&self, channel_id: Snowflake, ids: &[Snowflake]) -> Result<u64> {
        self.timed(
            "delete_messages",
            self.inner.delete_messages(channel_id, ids),
        )
        .await
    }
    async fn dropped_files(&self, limit: u32) -> Result<Vec<Snowflake>> {
        self.timed("dropped_files", self.inner.dropped_files(limit))
            .await
    }
    async fn forget_dropped_files(&self, ids: &[Snowflake]) -> Result<()> {
        self.timed("forget_dropped_files", self.inner.forget_dropped_files(ids))
            .await
    }
}

#[async_trait]
impl<S: Store + ?Sized> PinStore for Timed<S> {
    async fn pin_message(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
        at: Timestamp,
        max: usize,
    ) -> Result<Option<Timestamp>> {
        self.timed(
            "pin_message",
            self.inner.pin_message(channel_id, message_id, at, max),
        )
        .await
    }
    async fn unpin_message(&self, channel_id: Snowflake, message_id: Snowflake) -> Result<bool> {
        self.timed(
            "unpin_message",
            self.inner.unpin_message(channel_id, message_id),
        )
        .await
    }
    async fn pins(
        &self,
        channel_id: Snowflake,
        before: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<PinnedMessage>> {
        self.timed("pins", self.inner.pins(channel_id, before, limit))
            .await
    }
    async fn last_pin_at(&self, channel_id: Snowflake) -> Result<Option<Timestamp>> {
        self.timed("last_pin_at", self.inner.last_pin_at(channel_id))
            .await
    }
}

#[async_trait]
impl<S: Store + ?Sized> PrivateChannelStore for Timed<S> {
    async fn open_dm(
        &self,
        new_id: Snowflake,
        a: Snowflake,
        b: Snowflake,
    ) -> Result<(PrivateChannel, bool)> {
        self.timed("open_dm", self.inner.open_dm(new_id, a, b))
            .await
    }
    async fn create_group_dm(&self, channel: &PrivateChannel) -> Result<()> {
        self.timed("create_group_dm", self.inner.create_group_dm(channel))
            .await
    }
    async fn private_channel(&self, id: Snowflake) -> Result<Option<PrivateChannel>> {
        self.timed("private_channel", self.inner.private_channel(id))
            .await
    }
    async fn private_channels_of(&self, user: Snowflake) -> Result<Vec<PrivateChannel>> {
        self.timed("private_channels_of", self.inner.private_channels_of(user))
            .await
    }
    async fn add_recipient(
        &self,
        channel_id: Snowflake,
        user_id: Snowflake,
        max: usize,
    ) -> Result<bool> {
        self.timed(
            "add_recipient",
            self.inner.add_recipient(channel_id, user_id, max),
        )
        .await
    }
    async fn remove_recipient(
        &self,
        channel_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<Option<PrivateChannel>> {
        self.timed(
            "remove_recipient",
            self.inner.remove_recipient(channel_id, user_id),
        )
        .await
    }
    async fn close_dm(&self, channel_id: Snowflake, user_id: Snowflake) -> Result<()> {
        self.timed("close_dm", self.inner.close_dm(channel_id, user_id))
            .await
    }
    async fn rename_group_dm(&self, channel_id: Snowflake, name: Option<&str>) -> Result<()> {
        self.timed(
            "rename_group_dm",
            self.inner.rename_group_dm(channel_id, name),
        )
        .await
    }
    async fn share_a_guild(&self, a: Snowflake, b: Snowflake) -> Result<bool> {
        self.timed("share_a_guild", self.inner.share_a_guild(a, b))
            .await
    }
    async fn block(
        &self,
        user: Snowflake,
        target: Snowflake,
        since: Timestamp,
        max: usize,
    ) -> Result<bool> {
        self.timed("block", self.inner.block(user, target, since, max))
            .await
    }
    async fn unblock(&self, user: Snowflake, target: Snowflake) -> Result<bool> {
        self.timed("unblock", self.inner.unblock(user, target))
            .await
    }
    async fn blocked_by(&self, user: Snowflake) -> Result<Vec<(Snowflake, Timestamp)>> {
        self.timed("blocked_by", self.inner.blocked_by(user)).await
    }
    async fn blocked_between(&self, a: Snowflake, b: Snowflake) -> Result<bool> {
        self.timed("blocked_between", self.inner.blocked_between(a, b))
            .await
    }
    async fn dm_privacy(&self, user: Snowflake) -> Result<DmPrivacy> {
        self.timed("dm_privacy", self.inner.dm_privacy(user)).await
    }
    async fn set_dm_privacy(
        &self,
        user: Snowflake,
        restricted: Option<&[Snowflake]>,
        default_restricted: Option<bool>,
    ) -> Result<DmPrivacy> {
        self.timed(
            "set_dm_privacy",
            self.inner
                .set_dm_privacy(user, restricted, default_restricted),
        )
        .await
    }
}

#[async_trait]
impl<S: Store + ?Sized> ReadStateStore for Timed<S> {
    async fn ack(&self, user: Snowflake, channel: Snowflake, message_id: Snowflake) -> Result<u64> {
        self.timed("ack", self.inner.ack(user, channel, message_id))
            .await
    }
    async fn ack_many(&self, acks: &[Ack]) -> Result<Vec<u64>> {
        self.timed("ack_many", self.inner.ack_many(acks)).await
    }
    async fn read_states(&self, user: Snowflake, scan: u32) -> Result<Vec<ReadState>> {
        self.timed("read_states", self.inner.read_states(user, scan))
            .await
    }
}

#[async_trait]
impl<S: Store + ?Sized> SearchStore for Timed<S> {
    async fn search_messages(&self, search: &MessageSearch) -> Result<SearchHits> {
        self.timed("search_messages", self.inner.search_messages(search))
            .await
    }
}

#[async_trait]
impl<S: Store + ?Sized> NotificationSettingsStore for Timed<S> {
    async fn guild_settings_of(&self, user: Snowflake) -> Result<Vec<UserGuildSettings>> {
        self.timed("guild_settings_of", self.inner.guild_settings_of(user))
            .await
    }
    async fn update_guild_settings(
        &self,
        user: Snowflake,
        defaults: UserGuildSettings,
        patch: &GuildSettingsPatch,
        channels: &[Snowflake],
    ) -> Result<UserGuildSettings> {
        self.timed(
            "update_guild_settings",
            self.inner
                .update_guild_settings(user, defaults, patch, channels),
        )
        .await
    }
}

#[async_trait]
impl<S: Store + ?Sized> ReactionStore for Timed<S> {
    async fn add_reaction(
        &self,
        key: ReactionKey<'_>,
        user_id: Snowflake,
        at: Timestamp,
        new_emoji: NewEmoji,
    ) -> Result<Reacted> {
        self.timed(
            "add_reaction",
            self.inner.add_reaction(key, user_id, at, new_emoji),
        )
        .await
    }
    async fn remove_reaction(&self, key: ReactionKey<'_>, user_id: Snowflake) -> Result<bool> {
        self.timed("remove_reaction", self.inner.remove_reaction(key, user_id))
            .await
    }
    async fn remove_emoji_reactions(&self, key: ReactionKey<'_>) -> Result<u64> {
        self.timed(
            "remove_emoji_reactions",
            self.inner.remove_emoji_reactions(key),
        )
        .await
    }
    async fn remove_all_reactions(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
    ) -> Result<u64> {
        self.timed(
            "remove_all_reactions",
            self.inner.remove_all_reactions(channel_id, message_id),
        )
        .await
    }
    async fn reactors(
        &self,
        key: ReactionKey<'_>,
        after: Snowflake,
        limit: u32,
    ) -> Result<Vec<User>> {
        self.timed("reactors", self.inner.reactors(key, after, limit))
            .await
    }
    async fn reaction_counts(
        &self,
        channel_id: Snowflake,
        message_ids: &[Snowflake],
        reader: Snowflake,
    ) -> Result<Vec<ReactionCount>> {
        self.timed(
            "reaction_counts",
            self.inner.reaction_counts(channel_id, message_ids, reader),
        )
        .await
    }
}

#[async_trait]
impl<S: Store + ?Sized> CommandStore for Timed<S> {
    async fn commands(
        &self,
        application_id: Snowflake,
        guild_id: Option<Snowflake>,
    ) -> Result<Vec<ApplicationCommand>> {
        self.timed("commands", self.inner.commands(application_id, guild_id))
            .await
    }
    async fn command(
        &self,
        application_id: Snowflake,
        id: Snowflake,
    ) -> Result<Option<ApplicationCommand>> {
        self.timed("command", self.inner.command(application_id, id))
            .await
    }
    async fn upsert_command(
        &self,
        command: &ApplicationCommand,
        limits: CommandLimits,
    ) -> Result<(ApplicationCommand, bool)> {
        self.timed("upsert_command", self.inner.upsert_command(command, limits))
            .await
    }
    async fn replace_command(&self, command: &ApplicationCommand) -> Result<()> {
        self.timed("replace_command", self.inner.replace_command(command))
            .await
    }
    async fn delete_command(&self, application_id: Snowflake, id: Snowflake) -> Result<bool> {
        self.timed(
            "delete_command",
            self.inner.delete_command(application_id, id),
        )
        .await
    }
    async fn overwrite_commands(
        &self,
        application_id: Snowflake,
        guild_id: Option<Snowflake>,
        commands: &[ApplicationCommand],
    ) -> Result<Vec<ApplicationCommand>> {
        self.timed(
            "overwrite_commands",
            self.inner
                .overwrite_commands(application_id, guild_id, commands),
        )
        .await
    }
    async fn guild_command_index(&self, guild_id: Snowflake) -> Result<Vec<ApplicationCommand>> {
        self.timed(
            "guild_command_index",
            self.inner.guild_command_index(guild_id),
        )
        .await
    }
}

#[async_trait]
impl<S: Store + ?Sized> InteractionStore for Timed<S> {
    async fn create_interaction(
        &self,
        interaction: &InteractionRecord,
        forget_before: Timestamp,
    ) -> Result<()> {
        self.timed(
            "create_interaction",
            self.inner.create_interaction(interaction, forget_before),
        )
        .await
    }
    async fn interaction(&self, id: Snowflake) -> Result<Option<InteractionRecord>> {
        self.timed("interaction", self.inner.interaction(id)).await
    }
    async fn interaction_by_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<InteractionRecord>> {
        self.timed(
            "interaction_by_token",
            self.inner.interaction_by_token(token_hash),
        )
        .await
    }
    async fn acknowledge(
        &self,
        id: Snowflake,
        token_hash: &[u8; 32],
        response: FirstResponse,
    ) -> Result<Acknowledge> {
        self.timed(
            "acknowledge",
            self.inner.acknowledge(id, token_hash, response),
        )
        .await
    }
    async fn close_modal(&self, id: Snowflake, user_id: Snowflake) -> Result<bool> {
        self.timed("close_modal", self.inner.close_modal(id, user_id))
            .await
    }
    async fn set_original(&self, id: Snowflake, message_id: Snowflake) -> Result<()> {
        self.timed("set_original", self.inner.set_original(id, message_id))
            .await
    }
    async fn put_ephemeral(&self, interaction_id: Snowflake, message: &Message) -> Result<()> {
        self.timed(
            "put_ephemeral",
            self.inner.put_ephemeral(interaction_id, message),
        )
        .await
    }
    async fn ephemeral(&self, id: Snowflake) -> Result<Option<(Snowflake, Message)>> {
        self.timed("ephemeral", self.inner.ephemeral(id)).await
    }
    async fn delete_ephemeral(&self, id: Snowflake) -> Result<bool> {
        self.timed("delete_ephemeral", self.inner.delete_ephemeral(id))
            .await
    }
}

#[async_trait]
impl<S: Store + ?Sized> WebhookStore for Timed<S> {
    async fn create_webhook(&self, webhook: &Webhook, max: usize) -> Result<()> {
        self.timed("create_webhook", self.inner.create_webhook(webhook, max))
            .await
    }
    async fn webhook(&self, id: Snowflake) -> Result<Option<Webhook>> {
        self.timed("webhook", self.inner.webhook(id)).await
    }
    async fn webhook_with_token(&self, id: Snowflake, token: &str) -> Result<Option<Webhook>> {
        self.timed(
            "webhook_with_token",
            self.inner.webhook_with_token(id, token),
        )
        .await
    }
    async fn channel_webhooks(&self, channel_id: Snowflake) -> Result<Vec<Webhook>> {
        self.timed("channel_webhooks", self.inner.channel_webhooks(channel_id))
            .await
    }
    async fn delete_webhook(&self, id: Snowflake) -> Result<bool> {
        self.timed("delete_webhook", self.inner.delete_webhook(id))
            .await
    }
}

#[async_trait]
impl<S: Store + ?Sized> ThreadStore for Timed<S> {
    async fn create_thread(
        &self,
        thread: &Channel,
        starter: Option<Snowflake>,
        max_active: usize,
    ) -> Result<Option<Message>> {
        self.timed(
            "create_thread",
            self.inner.create_thread(thread, starter, max_active),
        )
        .await
    }
    async fn edit_thread(
        &self,
        id: Snowflake,
        edit: &ThreadEdit,
        now: Timestamp,
        max_active: usize,
    ) -> Result<Edited<Channel>> {
        self.timed(
            "edit_thread",
            self.inner.edit_thread(id, edit, now, max_active),
        )
        .await
    }
    async fn active_threads(&self, guild_id: Snowflake) -> Result<Vec<Channel>> {
        self.timed("active_threads", self.inner.active_threads(guild_id))
            .await
    }
    async fn archived_threads(
        &self,
        parent_id: Snowflake,
        which: &ArchivedThreads,
    ) -> Result<Vec<Channel>> {
        self.timed(
            "archived_threads",
            self.inner.archived_threads(parent_id, which),
        )
        .await
    }
    async fn join_thread(
        &self,
        thread_id: Snowflake,
        user_id: Snowflake,
        at: Timestamp,
        max_members: usize,
    ) -> Result<Option<u32>> {
        self.timed(
            "join_thread",
            self.inner.join_thread(thread_id, user_id, at, max_members),
        )
        .await
    }
    async fn leave_thread(&self, thread_id: Snowflake, user_id: Snowflake) -> Result<Option<u32>> {
        self.timed("leave_thread", self.inner.leave_thread(thread_id, user_id))
            .await
    }
    async fn thread_member(
        &self,
        thread_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<Option<ThreadMember>> {
        self.timed(
            "thread_member",
            self.inner.thread_member(thread_id, user_id),
        )
        .await
    }
    async fn thread_members(
        &self,
        thread_id: Snowflake,
        after: Snowflake,
        limit: usize,
    ) -> Result<Vec<ThreadMember>> {
        self.timed(
            "thread_members",
            self.inner.thread_members(thread_id, after, limit),
        )
        .await
    }
    async fn thread_memberships(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<Vec<ThreadMember>> {
        self.timed(
            "thread_memberships",
            self.inner.thread_memberships(guild_id, user_id),
        )
        .await
    }
    async fn private_thread_members(&self, guild_id: Snowflake) -> Result<Vec<ThreadMember>> {
        self.timed(
            "private_thread_members",
            self.inner.private_thread_members(guild_id),
        )
        .await
    }
    async fn thread_index(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<Vec<ThreadEntry>> {
        self.timed("thread_index", self.inner.thread_index(guild_id, user_id))
            .await
    }
    async fn archive_idle_threads(&self, now: Timestamp) -> Result<Vec<Channel>> {
        self.timed("archive_idle_threads", self.inner.archive_idle_threads(now))
            .await
    }
}
