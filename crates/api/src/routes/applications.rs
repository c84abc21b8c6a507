//! Applications, their bot users, and adding a bot to a guild through
//! Discord's OAuth2 authorize flow.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use hearth_model::{Application, Permissions, Role, RoleTags, Snowflake, Timestamp, User};
use hearth_proto::rest::{
    Authorize, AuthorizeQuery, CreateApplication, PatchApplication, TokenReply,
};
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::edits::ApplicationEdit;

use crate::access;
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{snowflake, Body, Caller, Query};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/applications", post(create))
        .route("/applications/@me", get(current))
        .route("/oauth2/applications/@me", get(current))
        .route("/applications/{application_id}", get(get_one).patch(patch))
        .route("/applications/{application_id}/bot", post(bot_token))
        .route("/applications/{application_id}/bot/reset", post(bot_token))
        .route("/oauth2/authorize", post(authorize))
}

/// A bot's username from its application's name: the allowed characters,
/// made unique with the id when the plain form is taken.
fn bot_usernames(name: &str, id: Snowflake) -> [String; 2] {
    let mut base: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    base.truncate(32);
    if base.len() < 2 {
        base = "bot".to_owned();
    }
    let suffix = format!("_{}", id.0 % 1_000_000);
    let mut unique = base.clone();
    unique.truncate(32 - suffix.len());
    unique.push_str(&suffix);
    [base, unique]
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<CreateApplication>,
) -> ApiResult<impl IntoResponse> {
    if caller.user.bot {
        return Err(ErrorCode::BOTS_CANNOT_USE.into());
    }
    let mut errors = FormErrors::new();
    errors.check_name("name", &body.name, 2, 32);
    if let Some(d) = &body.description {
        errors.check_len("description", d, 0, 400);
    }
    errors.finish()?;
    let id = state.ids.next();
    let mut last_err = None;
    for username in bot_usernames(&body.name, id) {
        let app = Application {
            id,
            name: body.name.clone(),
            description: body.description.clone().unwrap_or_default(),
            icon: None,
            bot_public: true,
            bot_require_code_grant: false,
            flags: 0,
            owner: caller.user.clone(),
            bot: User {
                id,
                username,
                discriminator: "0".into(),
                global_name: Some(body.name.clone()),
                avatar: None,
                bot: true,
            },
        };
        match state.store.create_application(&app).await {
            Ok(()) => return Ok((StatusCode::CREATED, Json(app))),
            Err(hearth_store::StoreError::Conflict(_)) => {
                last_err = Some(hearth_store::StoreError::Conflict("username"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last_err
        .map(ApiError::from)
        .unwrap_or(ApiError::Internal("no bot username".into())))
}

async fn owned(state: &AppState, caller: &Caller, raw_id: &str) -> ApiResult<Application> {
    let id = snowflake("application_id", raw_id)?;
    let app = state
        .store
        .application(id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_APPLICATION)?;
    if app.owner.id != caller.user.id && app.id != caller.user.id {
        return Err(ErrorCode::MISSING_ACCESS.into());
    }
    Ok(app)
}

async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Application>> {
    Ok(Json(owned(&state, &caller, &id).await?))
}

/// A bot asking about its own application.
async fn current(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Application>> {
    if !caller.user.bot {
        return Err(ErrorCode::UNKNOWN_APPLICATION.into());
    }
    let app = state
        .store
        .application(caller.user.id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_APPLICATION)?;
    Ok(Json(app))
}

async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<PatchApplication>,
) -> ApiResult<Json<Application>> {
    let app = owned(&state, &caller, &id).await?;
    // The bot may read its application but not change it: its flags grant
    // privileged intents, which only the owner decides.
    if caller.user.id != app.owner.id {
        return Err(ErrorCode::MISSING_ACCESS.into());
    }
    let mut errors = FormErrors::new();
    if let Some(name) = &body.name {
        errors.check_name("name", name, 2, 32);
    }
    if let Some(d) = &body.description {
        errors.check_len("description", d, 0, 400);
    }
    errors.finish()?;
    let edit = ApplicationEdit {
        name: body.name,
        description: body.description,
        flags: body.flags,
    };
    Ok(Json(state.store.edit_application(app.id, &edit).await?.now))
}

/// Issues a new bot token, revoking the previous one.
async fn bot_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenReply>> {
    let app = owned(&state, &caller, &id).await?;
    if caller.user.id != app.owner.id {
        return Err(ErrorCode::MISSING_ACCESS.into());
    }
    let token = auth::new_token(app.bot.id);
    state
        .store
        .replace_tokens(app.bot.id, &auth::hash_token(&token), Timestamp::now())
        .await?;
    // The bot's sessions were opened with the tokens just replaced.
    state.sessions_revoked(app.bot.id, crate::sessions::Revoked::AllTokens);
    Ok(Json(TokenReply {
        token,
        user_id: None,
    }))
}

async fn authorize(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AuthorizeQuery>,
    Body(body): Body<Authorize>,
) -> ApiResult<Json<serde_json::Value>> {
    if caller.user.bot {
        return Err(ErrorCode::BOTS_CANNOT_USE.into());
    }
    if query
        .scope
        .as_deref()
        .is_some_and(|s| !s.split([' ', '+']).any(|s| s == "bot"))
    {
        return Err(FormErrors::single(
            "scope",
            "INVALID_SCOPE",
            "Only the bot scope is supported.",
        )
        .into());
    }
    if !body.authorize {
        return Ok(Json(
            serde_json::json!({ "location": "/oauth2/authorized?error=access_denied" }),
        ));
    }
    let app = state
        .store
        .application(query.client_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_APPLICATION)?;
    let access = access::guild(&state, body.guild_id, caller.user.id).await?;
    access.require(Permissions::MANAGE_GUILD)?;
    let perms = body.permissions.or(query.permissions).unwrap_or_default();
    if !access.may_grant(perms) {
        return Err(ErrorCode::MISSING_PERMISSIONS.into());
    }
    if state
        .store
        .member(body.guild_id, app.bot.id)
        .await?
        .is_some()
    {
        return Ok(Json(
            serde_json::json!({ "location": "/oauth2/authorized" }),
        ));
    }
    let role = Role {
        id: state.ids.next(),
        name: app.name.clone(),
        color: 0,
        hoist: false,
        icon: None,
        unicode_emoji: None,
        position: 1,
        permissions: perms,
        managed: true,
        mentionable: false,
        flags: 0,
        tags: Some(RoleTags {
            bot_id: Some(app.bot.id),
        }),
    };
    let written = state
        .store
        .create_role(body.guild_id, &role, state.config.limits.roles_per_guild)
        .await?;
    if let Err(e) = state
        .store
        .add_member(body.guild_id, app.bot.id, &[role.id], Timestamp::now())
        .await
    {
        // Leave nothing half-done: the role exists only for this member.
        state.store.delete_role(body.guild_id, role.id).await?;
        return Err(e.into());
    }
    state.role_event(
        crate::events::RoleChange::Created,
        body.guild_id,
        &written.role,
    );
    state.roles_moved(body.guild_id, &written.moved);
    if let Some(member) = state.store.member(body.guild_id, app.bot.id).await? {
        state.member_added(body.guild_id, &member);
    }
    Ok(Json(
        serde_json::json!({ "location": "/oauth2/authorized" }),
    ))
}
