//! Roles: listing, creating, editing and deleting, under the hierarchy rule
//! that a member manages only roles below their own highest role and hands
//! out only permissions they hold.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use hearth_model::{Permissions, Role, Snowflake};
use hearth_proto::rest::RoleBody;
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::edits::{place_role, RoleEdit};
use serde::Deserialize;

use crate::access::{self, GuildAccess};
use crate::error::ApiResult;
use crate::extract::{snowflake, Body, Caller};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/guilds/{guild_id}/roles",
            get(list).post(create).patch(reorder),
        )
        .route(
            "/guilds/{guild_id}/roles/{role_id}",
            get(get_one).patch(patch).delete(remove),
        )
}

/// One role, for any member of the guild.
async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path((guild_id, role_id)): Path<(String, String)>,
) -> ApiResult<Json<Role>> {
    let guild_id = snowflake("guild_id", &guild_id)?;
    let role_id = snowflake("role_id", &role_id)?;
    let access = access::guild(&state, guild_id, caller.user.id).await?;
    let role = access
        .role(role_id)
        .cloned()
        .ok_or(ErrorCode::UNKNOWN_ROLE)?;
    Ok(Json(role))
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

/// The edit a body asks for, once the caller may make it.
fn edit_of(
    access: &GuildAccess,
    role: &Role,
    body: RoleBody,
    errors: &mut FormErrors,
) -> ApiResult<RoleEdit> {
    let everyone = role.id == access.guild.id;
    let mut edit = RoleEdit::default();
    if let Some(name) = body.name {
        if !everyone {
            errors.check_name("name", &name, 1, 100);
            edit.name = Some(name);
        }
    }
    if let Some(p) = body.permissions {
        // Only what the caller holds may be added; what is already there may stay.
        let added = Permissions(p.0 & !role.permissions.0);
        if !access.may_grant(added) {
            return Err(ErrorCode::MISSING_PERMISSIONS.into());
        }
        edit.permissions = Some(p);
    }
    if let Some(c) = body
        .colors
        .as_ref()
        .and_then(|c| c.primary_color)
        .or(body.color)
    {
        if c > 0xFF_FFFF {
            errors.add(
                "color",
                "NUMBER_TYPE_MAX",
                "int value should be less than or equal to 16777215.",
            );
        }
        edit.color = Some(c);
    }
    edit.hoist = body.hoist;
    edit.mentionable = body.mentionable;
    if let Some(p) = body.position {
        if !everyone {
            check_placement(access, &mut access.guild.roles.clone(), role, p)?;
            edit.position = Some(p);
        }
    }
    Ok(edit)
}

/// A role may be moved (or created) only below the caller's own highest
/// role. Checked on the roles as they will be arranged, positions clamped
/// and renumbered as the store does, so no value a client sends (negative,
/// huge) ranks a role where the caller could not put it. `roles` is left
/// arranged with the move made, for checking a batch in turn.
fn check_placement(
    access: &GuildAccess,
    roles: &mut Vec<Role>,
    role: &Role,
    position: i32,
) -> ApiResult<()> {
    if !roles.iter().any(|r| r.id == role.id) {
        roles.push(Role {
            position: 0,
            ..role.clone()
        });
    }
    place_role(roles, access.guild.id, role.id, Some(position));
    if access.is_owner() {
        return Ok(());
    }
    let arranged = GuildAccess {
        guild: hearth_model::Guild {
            roles: roles.clone(),
            ..access.guild.clone()
        },
        ..access.clone()
    };
    let placed = arranged.role(role.id).ok_or(ErrorCode::UNKNOWN_ROLE)?;
    if arranged.rank_of(&arranged.member) > placed.rank() {
        Ok(())
    } else {
        Err(ErrorCode::MISSING_PERMISSIONS.into())
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
    Body(body): Body<RoleBody>,
) -> ApiResult<Json<Role>> {
    let access = manager(&state, &caller, &guild_id).await?;
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
    let edit = edit_of(&access, &role, body, &mut errors)?;
    errors.finish()?;
    edit.apply(&mut role);
    role.position = edit.position.unwrap_or(1);
    // The count is checked again in the store's transaction: concurrent
    // creates cannot overshoot it.
    let written = state
        .store
        .create_role(access.guild.id, &role, state.config.limits.roles_per_guild)
        .await?;
    state.role_event(
        crate::events::RoleChange::Created,
        access.guild.id,
        &written.role,
    );
    state.roles_moved(access.guild.id, &written.moved);
    Ok(Json(written.role))
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
    let role = target_role(&access, &role_id).await?;
    let mut errors = FormErrors::new();
    let edit = edit_of(&access, role, body, &mut errors)?;
    errors.finish()?;
    let written = state
        .store
        .edit_role(access.guild.id, role.id, &edit)
        .await?;
    state.role_event(
        crate::events::RoleChange::Updated,
        access.guild.id,
        &written.role,
    );
    state.roles_moved(access.guild.id, &written.moved);
    Ok(Json(written.role))
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
    // Of concurrent deletes, only the one that removed the row says so.
    if !state.store.delete_role(access.guild.id, role.id).await? {
        return Err(ErrorCode::UNKNOWN_ROLE.into());
    }
    state.role_deleted(access.guild.id, role.id);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Position {
    id: Snowflake,
    position: Option<i32>,
}

/// Discord's batch reorder: `[{id, position}]`, applied in turn.
async fn reorder(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
    Body(body): Body<Vec<Position>>,
) -> ApiResult<Json<Vec<Role>>> {
    let access = manager(&state, &caller, &guild_id).await?;
    if body.len() > state.config.limits.roles_per_guild {
        return Err(FormErrors::single(
            "_errors",
            "BASE_TYPE_MAX_LENGTH",
            "Too many roles in one reorder.",
        )
        .into());
    }
    let mut arranged = access.guild.roles.clone();
    let mut moves = Vec::new();
    for p in body {
        let Some(position) = p.position else { continue };
        let role = target_role(&access, &p.id.to_string()).await?;
        if role.id == access.guild.id {
            continue;
        }
        check_placement(&access, &mut arranged, role, position)?;
        moves.push((role.id, position));
    }
    let moved = state.store.move_roles(access.guild.id, &moves).await?;
    state.roles_moved(access.guild.id, &moved);
    let mut roles = state
        .store
        .guild(access.guild.id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_GUILD)?
        .roles;
    roles.sort_by_key(Role::rank);
    Ok(Json(roles))
}
