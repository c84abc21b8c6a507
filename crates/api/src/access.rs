//! Who may do what: loads a caller's membership and computes Discord's
//! permissions for it, and the role-hierarchy rules for managing others.

use std::cmp::Reverse;

use hearth_model::permissions::MemberContext;
use hearth_model::{
    Channel, ChannelType, Guild, Member, Permissions, PrivateChannel, Role, Snowflake, Timestamp,
};
use hearth_proto::ErrorCode;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A caller's standing in one guild.
#[derive(Debug, Clone)]
pub struct GuildAccess {
    pub guild: Guild,
    pub member: Member,
    pub now: Timestamp,
}

/// A member's place in the hierarchy: their highest role's rank.
pub type Rank = (i32, Reverse<Snowflake>);

impl GuildAccess {
    pub fn is_owner(&self) -> bool {
        self.guild.owner_id == self.member.user.id
    }

    fn with_context<R>(&self, member: &Member, f: impl FnOnce(&MemberContext<'_>) -> R) -> R {
        let everyone = self
            .guild
            .roles
            .iter()
            .find(|r| r.id == self.guild.id)
            .map(|r| r.permissions)
            .unwrap_or_default();
        let roles: Vec<(Snowflake, Permissions)> = self
            .guild
            .roles
            .iter()
            .filter(|r| r.id != self.guild.id && member.roles.contains(&r.id))
            .map(|r| (r.id, r.permissions))
            .collect();
        let ctx = MemberContext {
            guild_id: self.guild.id,
            owner_id: self.guild.owner_id,
            user_id: member.user.id,
            everyone,
            roles: &roles,
            timed_out: member.timed_out_at(self.now),
        };
        f(&ctx)
    }

    pub fn permissions(&self) -> Permissions {
        self.with_context(&self.member, |c| c.guild_permissions())
    }

    /// Another member's permissions in the guild.
    pub fn permissions_of(&self, member: &Member) -> Permissions {
        self.with_context(member, |c| c.guild_permissions())
    }

    pub fn channel_permissions(&self, channel: &Channel) -> Permissions {
        self.channel_permissions_of(&self.member, channel)
    }

    /// Another member's permissions in a channel (mentions, for instance).
    pub fn channel_permissions_of(&self, member: &Member, channel: &Channel) -> Permissions {
        let rules = channel.overwrite_rules();
        self.with_context(member, |c| c.channel_permissions(&rules))
    }

    pub fn require(&self, needed: Permissions) -> ApiResult<()> {
        if self.permissions().contains(needed) {
            Ok(())
        } else {
            Err(ErrorCode::MISSING_PERMISSIONS.into())
        }
    }

    pub fn role(&self, id: Snowflake) -> Option<&Role> {
        self.guild.roles.iter().find(|r| r.id == id)
    }

    /// The rank of a member's highest role (@everyone ranks lowest).
    pub fn rank_of(&self, member: &Member) -> Rank {
        self.guild
            .roles
            .iter()
            .filter(|r| member.roles.contains(&r.id))
            .map(Role::rank)
            .max()
            .unwrap_or((i32::MIN, Reverse(Snowflake(u64::MAX))))
    }

    /// Whether the caller may act on `target` (kick, ban, nick, roles,
    /// time-out): the owner may act on anyone else; nobody on the owner;
    /// otherwise the caller's highest role must rank above the target's.
    pub fn outranks(&self, target: &Member) -> bool {
        if target.user.id == self.guild.owner_id {
            return false;
        }
        self.is_owner() || self.rank_of(&self.member) > self.rank_of(target)
    }

    /// Whether the caller may edit, assign or remove `role`.
    pub fn may_manage_role(&self, role: &Role) -> bool {
        self.is_owner() || self.rank_of(&self.member) > role.rank()
    }

    /// A caller may only hand out permissions they hold themselves.
    pub fn may_grant(&self, perms: Permissions) -> bool {
        self.permissions().contains(perms)
    }
}

/// The caller's access to a guild: 10004 when it does not exist, 50001
/// when the caller is not a member.
pub async fn guild(
    state: &AppState,
    guild_id: Snowflake,
    user_id: Snowflake,
) -> ApiResult<GuildAccess> {
    let guild = state
        .store
        .guild(guild_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_GUILD)?;
    let member = state
        .store
        .member(guild_id, user_id)
        .await?
        .ok_or(ErrorCode::MISSING_ACCESS)?;
    Ok(GuildAccess {
        guild,
        member,
        now: Timestamp::now(),
    })
}

/// A channel the caller can see, with their permissions in it: 10003 when
/// it does not exist, 50001 when they cannot see it.
pub async fn channel(
    state: &AppState,
    channel_id: Snowflake,
    user_id: Snowflake,
) -> ApiResult<(Channel, GuildAccess, Permissions)> {
    let channel = state
        .store
        .channel(channel_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_CHANNEL)?;
    guild_channel(state, channel, user_id).await
}

async fn guild_channel(
    state: &AppState,
    channel: Channel,
    user_id: Snowflake,
) -> ApiResult<(Channel, GuildAccess, Permissions)> {
    let access = guild(state, channel.guild_id, user_id).await?;
    let perms = if channel.kind.is_thread() {
        thread_permissions(state, &access, &channel).await?
    } else {
        access.channel_permissions(&channel)
    };
    if !perms.contains(Permissions::VIEW_CHANNEL) {
        return Err(ErrorCode::MISSING_ACCESS.into());
    }
    Ok((channel, access, perms))
}

/// The caller's permissions in a thread: see
/// [`hearth_model::threads::thread_permissions`]. None without its parent.
pub async fn thread_permissions(
    state: &AppState,
    access: &GuildAccess,
    thread: &Channel,
) -> ApiResult<Permissions> {
    let parent = match thread.parent_id {
        Some(p) => state.store.channel(p).await?,
        None => None,
    };
    let Some(parent) = parent else {
        return Ok(Permissions::NONE);
    };
    let in_parent = access.channel_permissions(&parent);
    let private = thread.kind == ChannelType::PrivateThread;
    // Membership matters only for a private thread its viewer cannot manage.
    let is_member = private
        && !in_parent.contains(Permissions::MANAGE_THREADS)
        && state
            .store
            .thread_member(thread.id, access.member.user.id)
            .await?
            .is_some();
    Ok(hearth_model::threads::thread_permissions(
        in_parent, private, is_member,
    ))
}

/// Where messages can be: a guild's channel, or a DM or group DM.
// Made once per request and moved, never stored: boxing the larger
// variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Place {
    Guild {
        channel: Channel,
        access: GuildAccess,
        perms: Permissions,
    },
    Private(PrivateChannel),
}

/// What every recipient may do in a DM or group DM. Nobody manages
/// another's messages there.
pub const PRIVATE_PERMISSIONS: Permissions = Permissions(
    Permissions::VIEW_CHANNEL.0
        | Permissions::SEND_MESSAGES.0
        | Permissions::READ_MESSAGE_HISTORY.0
        | Permissions::ADD_REACTIONS.0
        | Permissions::EMBED_LINKS.0
        | Permissions::ATTACH_FILES.0,
);

impl Place {
    pub fn id(&self) -> Snowflake {
        match self {
            Place::Guild { channel, .. } => channel.id,
            Place::Private(c) => c.id,
        }
    }

    pub fn permissions(&self) -> Permissions {
        match self {
            Place::Guild { perms, .. } => *perms,
            Place::Private(_) => PRIVATE_PERMISSIONS,
        }
    }

    /// Fails with 50083 in an archived thread: its messages are read,
    /// deleted or unarchived by a post, not reacted to, pinned or edited.
    pub fn writable(&self) -> ApiResult<()> {
        if let Place::Guild { channel, .. } = self {
            let archived = channel
                .thread
                .as_ref()
                .is_some_and(|t| t.thread_metadata.archived);
            if archived {
                return Err(ErrorCode::THREAD_ARCHIVED.into());
            }
        }
        Ok(())
    }
}

/// A channel the caller can see, of a guild or private: 10003 when it
/// does not exist, 50001 when they cannot see it (or are not among a
/// private channel's recipients).
pub async fn place(
    state: &AppState,
    channel_id: Snowflake,
    user_id: Snowflake,
) -> ApiResult<Place> {
    if let Some(channel) = state.store.channel(channel_id).await? {
        let (channel, access, perms) = guild_channel(state, channel, user_id).await?;
        return Ok(Place::Guild {
            channel,
            access,
            perms,
        });
    }
    let private = state
        .store
        .private_channel(channel_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_CHANNEL)?;
    if !private.is_recipient(user_id) {
        return Err(ErrorCode::MISSING_ACCESS.into());
    }
    Ok(Place::Private(private))
}

/// The application, if the caller is its bot or its owner (who manage its
/// commands and read its lists): 10002 when there is none, 50001 for
/// anyone else.
pub async fn application(
    state: &AppState,
    application_id: Snowflake,
    caller: Snowflake,
) -> ApiResult<hearth_model::Application> {
    let app = state
        .store
        .application(application_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_APPLICATION)?;
    if caller != app.id && caller != app.owner.id {
        return Err(ErrorCode::MISSING_ACCESS.into());
    }
    Ok(app)
}

/// Fails with 50013 unless `perms` holds `needed`.
pub fn require(perms: Permissions, needed: Permissions) -> ApiResult<()> {
    if perms.contains(needed) {
        Ok(())
    } else {
        Err(ApiError::Code(ErrorCode::MISSING_PERMISSIONS))
    }
}
