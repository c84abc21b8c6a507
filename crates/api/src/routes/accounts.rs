//! Registration, log-in, tokens and the user's own resources.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use hearth_model::{Timestamp, User, UserGuild};
use hearth_proto::rest::{Login, PatchUser, Register, TokenReply};
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::NewUser;

use crate::access;
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{snowflake, Body, Caller};
use crate::sessions::Revoked;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/users/@me", get(me).patch(patch_me))
        .route("/users/@me/guilds", get(my_guilds))
        .route("/users/@me/guilds/{guild_id}", delete(leave_guild))
        .route("/users/{user_id}", get(user))
}

/// Discord's current username rules: 2–32 of a-z, 0-9, `_` and `.`.
pub fn check_username(field: &str, name: &str, errors: &mut FormErrors) {
    let n = name.chars().count();
    if !(2..=32).contains(&n) {
        errors.add(
            field,
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 2 and 32 in length.",
        );
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
        || name.contains("..")
    {
        errors.add(
            field,
            "USERNAME_INVALID_CHARACTERS",
            "Username can only contain lowercase letters, numbers, underscores and periods.",
        );
    }
}

fn check_global_name(name: &Option<String>, errors: &mut FormErrors) {
    if let Some(n) = name {
        errors.check_len("global_name", n, 1, 32);
    }
}

async fn register(
    State(state): State<AppState>,
    Body(body): Body<Register>,
) -> ApiResult<impl IntoResponse> {
    let mut errors = FormErrors::new();
    check_username("username", &body.username, &mut errors);
    check_global_name(&body.global_name, &mut errors);
    let pw = body.password.chars().count();
    if pw < 8 {
        errors.add(
            "password",
            "PASSWORD_TOO_SHORT",
            "Must be 8 or more in length.",
        );
    } else if pw > 72 {
        errors.add(
            "password",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 72 or fewer in length.",
        );
    }
    errors.finish()?;
    let hash = auth::hash_password(body.password)
        .await
        .map_err(ApiError::Internal)?;
    let id = state.ids.next();
    let user = state
        .store
        .create_user(NewUser {
            id,
            username: body.username,
            global_name: body.global_name,
            password_hash: Some(hash),
            bot: false,
        })
        .await
        .map_err(|e| match e {
            hearth_store::StoreError::Conflict(_) => ApiError::Form(FormErrors::single(
                "username",
                "USERNAME_ALREADY_TAKEN",
                "Username is unavailable. Try adding numbers, letters, underscores _ , or periods.",
            )),
            other => other.into(),
        })?;
    let token = issue_token(&state, &user).await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenReply {
            token,
            user_id: Some(user.id),
        }),
    ))
}

async fn issue_token(state: &AppState, user: &User) -> ApiResult<String> {
    let token = auth::new_token(user.id);
    state
        .store
        .insert_token(&auth::hash_token(&token), user.id, Timestamp::now())
        .await?;
    Ok(token)
}

async fn login(
    State(state): State<AppState>,
    Body(body): Body<Login>,
) -> ApiResult<Json<TokenReply>> {
    let invalid = || {
        let mut e = FormErrors::new();
        e.add("login", "INVALID_LOGIN", "Login or password is invalid.");
        e.add("password", "INVALID_LOGIN", "Login or password is invalid.");
        ApiError::Form(e)
    };
    let creds = state.store.credentials(&body.login).await?;
    let Some((user, Some(hash))) = creds.map(|c| (c.user, c.password_hash)) else {
        // Spend what a verification costs, so timing does not reveal which
        // usernames exist.
        let _ = auth::hash_password(body.password).await;
        return Err(invalid());
    };
    if !auth::verify_password(body.password, hash).await {
        return Err(invalid());
    }
    let token = issue_token(&state, &user).await?;
    Ok(Json(TokenReply {
        token,
        user_id: Some(user.id),
    }))
}

async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    state.store.delete_token(&caller.token_hash).await?;
    state.sessions_revoked(caller.user.id, Revoked::Token(caller.token_hash));
    Ok(StatusCode::NO_CONTENT)
}

async fn me(caller: Caller) -> Json<User> {
    Json(caller.user)
}

async fn patch_me(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<PatchUser>,
) -> ApiResult<Json<User>> {
    let mut errors = FormErrors::new();
    let mut user = caller.user;
    if let Some(name) = body.username {
        check_username("username", &name, &mut errors);
        user.username = name;
    }
    if let Some(global) = body.global_name {
        check_global_name(&global, &mut errors);
        user.global_name = global;
    }
    if let Some(avatar) = body.avatar {
        user.avatar = avatar;
    }
    errors.finish()?;
    state.store.update_user(&user).await.map_err(|e| match e {
        hearth_store::StoreError::Conflict(_) => ApiError::Form(FormErrors::single(
            "username",
            "USERNAME_ALREADY_TAKEN",
            "Username is unavailable.",
        )),
        other => other.into(),
    })?;
    state.user_updated(&user);
    Ok(Json(user))
}

async fn user(
    State(state): State<AppState>,
    _caller: Caller,
    Path(user_id): Path<String>,
) -> ApiResult<Json<User>> {
    let id = snowflake("user_id", &user_id)?;
    let user = state.store.user(id).await?.ok_or(ErrorCode::UNKNOWN_USER)?;
    Ok(Json(user))
}

async fn my_guilds(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<UserGuild>>> {
    let mut out = Vec::new();
    for guild_id in state.store.guilds_of_user(caller.user.id).await? {
        // A guild deleted or left between the two reads is simply skipped.
        let Ok(access) = access::guild(&state, guild_id, caller.user.id).await else {
            continue;
        };
        out.push(UserGuild {
            id: access.guild.id,
            name: access.guild.name.clone(),
            icon: access.guild.icon.clone(),
            owner: access.is_owner(),
            permissions: access.permissions(),
            features: Vec::new(),
        });
    }
    Ok(Json(out))
}

async fn leave_guild(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
) -> ApiResult<StatusCode> {
    let guild_id = snowflake("guild_id", &guild_id)?;
    let access = access::guild(&state, guild_id, caller.user.id)
        .await
        .map_err(|e| match e {
            ApiError::Code(c) if c == ErrorCode::MISSING_ACCESS => {
                ApiError::Code(ErrorCode::UNKNOWN_GUILD)
            }
            other => other,
        })?;
    if access.is_owner() {
        // Discord: an owner must transfer or delete the guild instead.
        return Err(ApiError::Form(FormErrors::single(
            "",
            "OWNER_CANNOT_LEAVE",
            "The guild owner cannot leave the guild.",
        )));
    }
    if state.store.remove_member(guild_id, caller.user.id).await? {
        state.member_removed(guild_id, &caller.user);
    }
    Ok(StatusCode::NO_CONTENT)
}
