//! Roles: listing, creating, editing and deleting, under the hierarchy rule
//! that a member manages only roles below their own highest role and hands
//! out only permissions they hold.

use std::cmp::Reverse;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch as patch_route};
use axum::{Json, Router};
use hearth_model::{Permissions, Role, Snowflake};
use hearth_proto::rest::RoleBody;
use hearth_proto::{ErrorCode, FormErrors};
use serde::Deserialize;

use crate::access::{self, GuildAccess};
use crate::error::ApiResult;
use crate::extract::{snowflake, Body, Caller};
use crate::state::AppState;

const MAX_ROLES: usize = 250;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/guilds/{guild_id}/roles",
            get(list).post(create).patch(reorder),
        )
        .route(
            "/guilds/{guild_id}/roles/{role_id}",
            patch_route(patch).delete(remove),
        )
}

async fn manager(state: &AppState, caller: &Caller, guild_id: &str) -> ApiResult<GuildAccess> {
    let guild_id = snowflake("guild_id", guild_id)?;
    let access = access::guild(state, guild_id, caller.user.id).await?;
    access.require(Permissions::MANAGE_ROLES)?;
    Ok(access)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
) -> ApiResult<Json<Vec<Role>>> {
    let guild_id = snowflake("guild_id", &guild_id)?;
    Ok(Json(
        access::guild(&state, guild_id, caller.user.id)
            .await?
            .guild
            .roles,
    ))
}

fn apply(
    access: &GuildAccess,
    role: &mut Role,
    body: RoleBody,
    errors: &mut FormErrors,
) -> ApiResult<()> {
    let everyone = role.id == access.guild.id;
    if let Some(name) = body.name {
        if !everyone {
            errors.check_len("name", &name, 1, 100);
            role.name = name;
        }
    }
    if let Some(p) = body.permissions {
        // Only what the caller holds may be added; what is already there may stay.
        let added = Permissions(p.0 & !role.permissions.0);
        if !access.may_grant(added) {
            return Err(ErrorCode::MISSING_PERMISSIONS.into());
        }
        role.permissions = p;
    }
    if let Some(c) = body.color {
        if c > 0xFF_FFFF {
            errors.add(
                "color",
                "NUMBER_TYPE_MAX",
                "int value should be less than or equal to 16777215.",
            );
        }
        role.color = c;
    }
    if let Some(h) = body.hoist {
        role.hoist = h;
    }
    if let Some(m) = body.mentionable {
        role.mentionable = m;
    }
    if let Some(p) = body.position {
        if !everyone {
            set_position(access, role, p)?;
        }
    }
    Ok(())
}

/// Moves a role, but never to or above the caller's own highest role.
fn set_position(access: &GuildAccess, role: &mut Role, position: i32) -> ApiResult<()> {
    let target = (position.max(1), Reverse(role.id));
    if !access.is_owner() && target >= access.rank_of(&access.member) {
        return Err(ErrorCode::MISSING_PERMISSIONS.into());
    }
    role.position = position.max(1);
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
    Body(body): Body<RoleBody>,
) -> ApiResult<Json<Role>> {
    let access = manager(&state, &caller, &guild_id).await?;
    if access.guild.roles.len() >= MAX_ROLES {
        return Err(ErrorCode::MAX_GUILD_ROLES.into());
    }
    let everyone = access
        .role(access.guild.id)
        .map(|r| r.permissions)
        .unwrap_or_default();
    let mut role = Role {
        id: state.ids.next(),
        name: "new role".into(),
        color: 0,
        hoist: false,
        icon: None,
        unicode_emoji: None,
        position: 1,
        permissions: everyone,
        managed: false,
        mentionable: false,
        flags: 0,
        tags: None,
    };
    let mut errors = FormErrors::new();
    apply(&access, &mut role, body, &mut errors)?;
    errors.finish()?;
    state.store.create_role(access.guild.id, &role).await?;
    state.role_event("GUILD_ROLE_CREATE", access.guild.id, &role);
    state.roles_shifted(access.guild.id, &access.guild.roles, role.position);
    Ok(Json(role))
}

async fn target_role<'a>(access: &'a GuildAccess, role_id: &str) -> ApiResult<&'a Role> {
    let id: Snowflake = snowflake("role_id", role_id)?;
    let role = access.role(id).ok_or(ErrorCode::UNKNOWN_ROLE)?;
    if role.id != access.guild.id && !access.may_manage_role(role) {
        return Err(ErrorCode::MISSING_PERMISSIONS.into());
    }
    Ok(role)
}

async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path((guild_id, role_id)): Path<(String, String)>,
    Body(body): Body<RoleBody>,
) -> ApiResult<Json<Role>> {
    let access = manager(&state, &caller, &guild_id).await?;
    let mut role = target_role(&access, &role_id).await?.clone();
    let mut errors = FormErrors::new();
    apply(&access, &mut role, body, &mut errors)?;
    errors.finish()?;
    state.store.update_role(access.guild.id, &role).await?;
    state.role_event("GUILD_ROLE_UPDATE", access.guild.id, &role);
    Ok(Json(role))
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((guild_id, role_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = manager(&state, &caller, &guild_id).await?;
    let role = target_role(&access, &role_id).await?;
    if role.id == access.guild.id || role.managed {
        return Err(ErrorCode::INVALID_ROLE.into());
    }
    state.store.delete_role(access.guild.id, role.id).await?;
    state.role_deleted(access.guild.id, role.id);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Position {
    id: Snowflake,
    position: Option<i32>,
}

/// Discord's batch reorder: `[{id, position}]`.
async fn reorder(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
    Body(body): Body<Vec<Position>>,
) -> ApiResult<Json<Vec<Role>>> {
    let access = manager(&state, &caller, &guild_id).await?;
    let mut changed = Vec::new();
    for p in body {
        let Some(position) = p.position else { continue };
        let mut role = target_role(&access, &p.id.to_string()).await?.clone();
        if role.id == access.guild.id {
            continue;
        }
        set_position(&access, &mut role, position)?;
        changed.push(role);
    }
    for role in &changed {
        state.store.update_role(access.guild.id, role).await?;
        state.role_event("GUILD_ROLE_UPDATE", access.guild.id, role);
    }
    let mut roles = access.guild.roles.clone();
    for role in changed {
        if let Some(slot) = roles.iter_mut().find(|r| r.id == role.id) {
            *slot = role;
        }
    }
    roles.sort_by_key(Role::rank);
    Ok(Json(roles))
}
