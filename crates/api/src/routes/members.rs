//! Members, their roles, time-outs, kicks and bans.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch as patch_route, put};
use axum::{Json, Router};
use hearth_model::{Ban, Member, Permissions, Snowflake, Timestamp};
use hearth_proto::rest::{CreateBan, MembersQuery, PatchMember, PatchSelfMember};
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::edits::{MemberEdit, RolesEdit};

use crate::access::{self, GuildAccess};
use crate::error::{ApiError, ApiResult};
use crate::extract::{snowflake, Body, Caller, Query};
use crate::state::AppState;

/// Discord's longest time-out.
const MAX_TIMEOUT_MS: i64 = 28 * 24 * 60 * 60 * 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/guilds/{guild_id}/members", get(list))
        .route("/guilds/{guild_id}/members/@me", patch_route(patch_self))
        .route("/guilds/{guild_id}/members/search", get(search))
        .route(
            "/guilds/{guild_id}/members/{user_id}",
            get(get_one).patch(patch).delete(kick),
        )
        .route(
            "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
            put(add_role).delete(remove_role),
        )
        .route("/guilds/{guild_id}/bans", get(bans))
        .route(
            "/guilds/{guild_id}/bans/{user_id}",
            get(ban_of).put(ban).delete(unban),
        )
}

async fn guild_of(state: &AppState, caller: &Caller, guild_id: &str) -> ApiResult<GuildAccess> {
    access::guild(state, snowflake("guild_id", guild_id)?, caller.user.id).await
}

async fn target(state: &AppState, access: &GuildAccess, user_id: &str) -> ApiResult<Member> {
    let id = snowflake("user_id", user_id)?;
    Ok(state
        .store
        .member(access.guild.id, id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_MEMBER)?)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
    Query(q): Query<MembersQuery>,
) -> ApiResult<Json<Vec<Member>>> {
    let access = guild_of(&state, &caller, &guild_id).await?;
    let limit = q.limit.unwrap_or(1);
    if !(1..=1000).contains(&limit) {
        return Err(
            FormErrors::single("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 1000.").into(),
        );
    }
    Ok(Json(
        state
            .store
            .members(access.guild.id, q.after.unwrap_or_default(), limit)
            .await?,
    ))
}

#[derive(Debug, serde::Deserialize)]
struct SearchQuery {
    query: Option<String>,
    limit: Option<String>,
}

/// Members whose username or nickname starts with `query`.
async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<Vec<Member>>> {
    let mut errors = FormErrors::new();
    let limit = match q.limit.as_deref().map(str::parse::<u32>) {
        None => 1,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => {
            errors.add("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 1000.");
            1
        }
    };
    let query = q.query.unwrap_or_default();
    if query.is_empty() {
        errors.add("query", "BASE_TYPE_REQUIRED", "This field is required");
    }
    errors.check_len("query", &query, 0, 100);
    errors.finish()?;
    let access = guild_of(&state, &caller, &guild_id).await?;
    Ok(Json(
        state
            .store
            .search_members(access.guild.id, &query, limit)
            .await?,
    ))
}

async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path((guild_id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<Member>> {
    let access = guild_of(&state, &caller, &guild_id).await?;
    Ok(Json(target(&state, &access, &user_id).await?))
}

/// Checks a role may be given or taken by the caller.
fn assignable(access: &GuildAccess, role_id: Snowflake) -> ApiResult<()> {
    let role = access.role(role_id).ok_or(ErrorCode::UNKNOWN_ROLE)?;
    if role.id == access.guild.id || role.managed {
        return Err(ErrorCode::INVALID_ROLE.into());
    }
    if !access.may_manage_role(role) {
        return Err(ErrorCode::MISSING_PERMISSIONS.into());
    }
    Ok(())
}

async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path((guild_id, user_id)): Path<(String, String)>,
    Body(body): Body<PatchMember>,
) -> ApiResult<Json<Member>> {
    let access = guild_of(&state, &caller, &guild_id).await?;
    let member = target(&state, &access, &user_id).await?;
    let is_self = member.user.id == caller.user.id;
    let mut errors = FormErrors::new();
    let mut edit = MemberEdit::default();
    if let Some(nick) = body.nick {
        if is_self {
            access
                .require(Permissions::CHANGE_NICKNAME)
                .or_else(|_| access.require(Permissions::MANAGE_NICKNAMES))?;
        } else {
            access.require(Permissions::MANAGE_NICKNAMES)?;
            outrank(&access, &member)?;
        }
        if let Some(n) = nick.as_ref().filter(|n| !n.is_empty()) {
            errors.check_name("nick", n, 1, 32);
        }
        edit.nick = Some(nick.filter(|n| !n.is_empty()));
    }
    if let Some(roles) = body.roles {
        access.require(Permissions::MANAGE_ROLES)?;
        let mut wanted: Vec<Snowflake> = Vec::new();
        for (i, id) in roles.iter().enumerate() {
            if access.role(*id).is_none() || *id == access.guild.id {
                errors.add(&format!("roles.{i}"), "UNKNOWN_ROLE", "Unknown role.");
            } else if !wanted.contains(id) {
                wanted.push(*id);
            }
        }
        errors.clone().finish()?;
        let changed = wanted
            .iter()
            .filter(|r| !member.roles.contains(r))
            .chain(member.roles.iter().filter(|r| !wanted.contains(r)));
        for role_id in changed {
            assignable(&access, *role_id)?;
        }
        edit.roles = Some(RolesEdit::Set(wanted));
    }
    if let Some(mute) = body.mute {
        access.require(Permissions::MUTE_MEMBERS)?;
        edit.mute = Some(mute);
    }
    if let Some(deaf) = body.deaf {
        access.require(Permissions::DEAFEN_MEMBERS)?;
        edit.deaf = Some(deaf);
    }
    let voice_move = match body.channel_id {
        Some(target) => {
            access.require(Permissions::MOVE_MEMBERS)?;
            let in_voice = state
                .voice()
                .and_then(|v| v.channel_of(access.guild.id, member.user.id));
            if in_voice.is_none() {
                return Err(ErrorCode::TARGET_NOT_IN_VOICE.into());
            }
            if let Some(c) = target {
                // The destination must be a voice channel of the guild the
                // moderator may connect to, as in Discord.
                let channel = state
                    .store
                    .channel(c)
                    .await?
                    .filter(|ch| ch.guild_id == access.guild.id);
                let Some(channel) =
                    channel.filter(|ch| ch.kind == hearth_model::ChannelType::Voice)
                else {
                    return Err(FormErrors::single(
                        "channel_id",
                        "CHANNEL_INVALID",
                        "Not a voice channel of this guild.",
                    )
                    .into());
                };
                if !access
                    .channel_permissions(&channel)
                    .contains(Permissions::CONNECT)
                {
                    return Err(ErrorCode::MISSING_PERMISSIONS.into());
                }
            }
            Some(target)
        }
        None => None,
    };
    if let Some(until) = body.communication_disabled_until {
        access.require(Permissions::MODERATE_MEMBERS)?;
        outrank(&access, &member)?;
        if let Some(t) = until {
            let now = Timestamp::now();
            if t.0 > now.0 + MAX_TIMEOUT_MS {
                errors.add(
                    "communication_disabled_until",
                    "BASE_TYPE_BAD_TIME",
                    "Time-outs can last at most 28 days.",
                );
            }
            let target_perms = GuildAccess {
                member: member.clone(),
                ..access.clone()
            }
            .permissions();
            if target_perms.contains(Permissions::ADMINISTRATOR) {
                return Err(ErrorCode::MISSING_PERMISSIONS.into());
            }
        }
        edit.communication_disabled_until = Some(until);
    }
    errors.finish()?;
    let edited = state
        .store
        .edit_member(access.guild.id, member.user.id, &edit)
        .await?;
    if edited.changed {
        state.member_updated(access.guild.id, &edited.now);
    }
    if let (Some(target), Some(voice)) = (voice_move, state.voice()) {
        voice.move_member(access.guild.id, member.user.id, target);
    }
    Ok(Json(edited.now))
}

fn outrank(access: &GuildAccess, member: &Member) -> ApiResult<()> {
    if access.outranks(member) {
        Ok(())
    } else {
        Err(ErrorCode::MISSING_PERMISSIONS.into())
    }
}

async fn patch_self(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
    Body(body): Body<PatchSelfMember>,
) -> ApiResult<Json<Member>> {
    let access = guild_of(&state, &caller, &guild_id).await?;
    let mut edit = MemberEdit::default();
    if let Some(nick) = body.nick {
        access.require(Permissions::CHANGE_NICKNAME)?;
        if let Some(n) = nick.as_ref().filter(|n| !n.is_empty()) {
            let mut errors = FormErrors::new();
            errors.check_name("nick", n, 1, 32);
            errors.finish()?;
        }
        edit.nick = Some(nick.filter(|n| !n.is_empty()));
    }
    // Only the nick is written: a self-edit racing a moderator's role
    // change or time-out must not write the old roles or time-out back.
    let edited = state
        .store
        .edit_member(access.guild.id, caller.user.id, &edit)
        .await?;
    if edited.changed {
        state.member_updated(access.guild.id, &edited.now);
    }
    Ok(Json(edited.now))
}

async fn kick(
    State(state): State<AppState>,
    caller: Caller,
    Path((guild_id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = guild_of(&state, &caller, &guild_id).await?;
    access.require(Permissions::KICK_MEMBERS)?;
    let member = target(&state, &access, &user_id).await?;
    outrank(&access, &member)?;
    if state
        .store
        .remove_member(access.guild.id, member.user.id)
        .await?
    {
        state.member_removed(access.guild.id, &member.user);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn role_change(
    state: &AppState,
    caller: &Caller,
    guild_id: &str,
    user_id: &str,
    role_id: &str,
) -> ApiResult<(GuildAccess, Member, Snowflake)> {
    let access = guild_of(state, caller, guild_id).await?;
    access.require(Permissions::MANAGE_ROLES)?;
    let member = target(state, &access, user_id).await?;
    let role_id = snowflake("role_id", role_id)?;
    assignable(&access, role_id)?;
    Ok((access, member, role_id))
}

async fn add_role(
    State(state): State<AppState>,
    caller: Caller,
    Path((g, u, r)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let (access, member, role_id) = role_change(&state, &caller, &g, &u, &r).await?;
    let now = edit_roles(&state, &access, &member, RolesEdit::Add(role_id)).await?;
    if !now.roles.contains(&role_id) {
        // Deleted between the check and the write.
        return Err(ErrorCode::UNKNOWN_ROLE.into());
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_role(
    State(state): State<AppState>,
    caller: Caller,
    Path((g, u, r)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let (access, member, role_id) = role_change(&state, &caller, &g, &u, &r).await?;
    edit_roles(&state, &access, &member, RolesEdit::Remove(role_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Grants or takes one role, and tells the guild if that changed anything.
async fn edit_roles(
    state: &AppState,
    access: &GuildAccess,
    member: &Member,
    roles: RolesEdit,
) -> ApiResult<Member> {
    let edit = MemberEdit {
        roles: Some(roles),
        ..MemberEdit::default()
    };
    let edited = state
        .store
        .edit_member(access.guild.id, member.user.id, &edit)
        .await?;
    if edited.changed {
        state.member_updated(access.guild.id, &edited.now);
    }
    Ok(edited.now)
}

async fn bans(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
) -> ApiResult<Json<Vec<Ban>>> {
    let access = guild_of(&state, &caller, &guild_id).await?;
    access.require(Permissions::BAN_MEMBERS)?;
    Ok(Json(state.store.bans(access.guild.id).await?))
}

async fn ban_of(
    State(state): State<AppState>,
    caller: Caller,
    Path((guild_id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<Ban>> {
    let access = guild_of(&state, &caller, &guild_id).await?;
    access.require(Permissions::BAN_MEMBERS)?;
    let user_id = snowflake("user_id", &user_id)?;
    Ok(Json(
        state
            .store
            .ban_of(access.guild.id, user_id)
            .await?
            .ok_or(ErrorCode::UNKNOWN_BAN)?,
    ))
}

async fn ban(
    State(state): State<AppState>,
    caller: Caller,
    Path((guild_id, user_id)): Path<(String, String)>,
    Body(body): Body<CreateBan>,
) -> ApiResult<StatusCode> {
    let access = guild_of(&state, &caller, &guild_id).await?;
    access.require(Permissions::BAN_MEMBERS)?;
    let user_id = snowflake("user_id", &user_id)?;
    let user = state
        .store
        .user(user_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_USER)?;
    if user.id == access.guild.owner_id || user.id == caller.user.id {
        return Err(ErrorCode::MISSING_PERMISSIONS.into());
    }
    let was_member = state.store.member(access.guild.id, user.id).await?;
    if let Some(member) = &was_member {
        outrank(&access, member)?;
    }
    let seconds = body
        .delete_message_seconds
        .or(body.delete_message_days.map(|d| d.saturating_mul(86_400)))
        .unwrap_or(0);
    if seconds > 604_800 {
        return Err(ApiError::Form(FormErrors::single(
            "delete_message_seconds",
            "NUMBER_TYPE_MAX",
            "int value should be less than or equal to 604800.",
        )));
    }
    let since = (seconds > 0).then(|| {
        let now = hearth_model::snowflake::now_unix_ms();
        Snowflake::from_timestamp_ms(now.saturating_sub(u64::from(seconds) * 1000))
    });
    let deleted = state
        .store
        .ban(access.guild.id, user.id, body.reason.as_deref(), since)
        .await?;
    if !deleted.is_empty() {
        state.files_dropped();
    }
    if was_member.is_some() {
        state.member_removed(access.guild.id, &user);
    }
    state.ban_event(crate::events::BanChange::Added, access.guild.id, &user);
    let mut by_channel: std::collections::BTreeMap<Snowflake, Vec<Snowflake>> = Default::default();
    for (channel, id) in deleted {
        by_channel.entry(channel).or_default().push(id);
    }
    for (channel, ids) in by_channel {
        state.messages.changed(channel);
        state.messages_deleted(access.guild.id, channel, &ids);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn unban(
    State(state): State<AppState>,
    caller: Caller,
    Path((guild_id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = guild_of(&state, &caller, &guild_id).await?;
    access.require(Permissions::BAN_MEMBERS)?;
    let user_id = snowflake("user_id", &user_id)?;
    if !state.store.unban(access.guild.id, user_id).await? {
        return Err(ErrorCode::UNKNOWN_BAN.into());
    }
    if let Some(user) = state.store.user(user_id).await? {
        state.ban_event(crate::events::BanChange::Removed, access.guild.id, &user);
    }
    Ok(StatusCode::NO_CONTENT)
}
