//! Invites: made for a channel, looked at by anyone, used to join; listed
//! and revoked by those who manage the channel or the guild.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use hearth_model::{Invite, PartialChannel, PartialGuild, Permissions, Timestamp};
use hearth_proto::rest::CreateInvite;
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::StoreError;

use crate::access;
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{snowflake, Body, Caller};
use crate::state::AppState;

/// Usable invites one guild may hold, as on Discord.
pub const MAX_INVITES: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/channels/{channel_id}/invites",
            get(channel_invites).post(create),
        )
        .route("/guilds/{guild_id}/invites", get(guild_invites))
        .route("/invites/{code}", get(get_one).post(join).delete(revoke))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    Body(body): Body<CreateInvite>,
) -> ApiResult<Json<Invite>> {
    let id = snowflake("channel_id", &channel_id)?;
    let (channel, access, perms) = access::channel(&state, id, caller.user.id).await?;
    access::require(perms, Permissions::CREATE_INSTANT_INVITE)?;
    let max_age = body.max_age.unwrap_or(86_400);
    let max_uses = body.max_uses.unwrap_or(0);
    let mut errors = FormErrors::new();
    if max_age > 604_800 {
        errors.add(
            "max_age",
            "NUMBER_TYPE_MAX",
            "int value should be less than or equal to 604800.",
        );
    }
    if max_uses > 100 {
        errors.add(
            "max_uses",
            "NUMBER_TYPE_MAX",
            "int value should be less than or equal to 100.",
        );
    }
    errors.finish()?;
    let created_at = Timestamp::now();
    let invite = Invite {
        kind: 0,
        code: auth::random_code(6),
        guild: PartialGuild {
            id: access.guild.id,
            name: access.guild.name.clone(),
            icon: access.guild.icon.clone(),
        },
        channel: PartialChannel {
            id: channel.id,
            name: channel.name.clone(),
            kind: channel.kind,
        },
        inviter: Some(caller.user),
        max_age,
        max_uses,
        uses: 0,
        temporary: body.temporary,
        created_at,
        expires_at: (max_age > 0).then(|| Timestamp(created_at.0 + i64::from(max_age) * 1000)),
    };
    state.store.create_invite(&invite, MAX_INVITES).await?;
    state.invite_created(&invite);
    Ok(Json(invite))
}

/// The guild's usable invites, for those who may MANAGE_GUILD.
async fn guild_invites(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
) -> ApiResult<Json<Vec<Invite>>> {
    let id = snowflake("guild_id", &guild_id)?;
    let access = access::guild(&state, id, caller.user.id).await?;
    access::require(access.permissions(), Permissions::MANAGE_GUILD)?;
    Ok(Json(state.store.guild_invites(id, Timestamp::now()).await?))
}

/// The channel's usable invites, for those who may MANAGE_CHANNELS there.
async fn channel_invites(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
) -> ApiResult<Json<Vec<Invite>>> {
    let id = snowflake("channel_id", &channel_id)?;
    let (channel, access, perms) = access::channel(&state, id, caller.user.id).await?;
    access::require(perms, Permissions::MANAGE_CHANNELS)?;
    let mut invites = state
        .store
        .guild_invites(access.guild.id, Timestamp::now())
        .await?;
    invites.retain(|i| i.channel.id == channel.id);
    Ok(Json(invites))
}

/// Revokes an invite: MANAGE_CHANNELS in its channel, or MANAGE_GUILD.
/// Someone who may not manage it learns no more than that it is unknown
/// to them when they cannot see its channel.
async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<Json<Invite>> {
    let invite = state
        .store
        .invite(&code)
        .await?
        .ok_or(ErrorCode::UNKNOWN_INVITE)?;
    let (_, access, perms) = access::channel(&state, invite.channel.id, caller.user.id).await?;
    if !perms.contains(Permissions::MANAGE_CHANNELS)
        && !access.permissions().contains(Permissions::MANAGE_GUILD)
    {
        return Err(ErrorCode::MISSING_PERMISSIONS.into());
    }
    let gone = state
        .store
        .delete_invite(&code)
        .await?
        .ok_or(ErrorCode::UNKNOWN_INVITE)?;
    state.invite_deleted(&gone);
    Ok(Json(gone))
}

async fn get_one(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Json<Invite>> {
    let invite = state
        .store
        .invite(&code)
        .await?
        .filter(|i| i.usable_at(Timestamp::now()))
        .ok_or(ErrorCode::UNKNOWN_INVITE)?;
    Ok(Json(invite))
}

async fn join(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<Json<Invite>> {
    if caller.user.bot {
        return Err(ErrorCode::BOTS_CANNOT_USE.into());
    }
    let used = state
        .store
        .use_invite(&code, caller.user.id, Timestamp::now())
        .await
        .map_err(|e| match e {
            StoreError::Missing(_) => ApiError::Code(ErrorCode::UNKNOWN_INVITE),
            other => other.into(),
        })?;
    if used.joined {
        let guild = used.invite.guild.id;
        if let Some(member) = state.store.member(guild, caller.user.id).await? {
            state.member_added(guild, &member);
        }
    }
    Ok(Json(used.invite))
}
