//! Registration, log-in, tokens and the user's own resources.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use hearth_model::{Timestamp, User, UserGuild};
use hearth_proto::rest::{Login, PatchUser, Register, TokenReply};
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::{NewUser, StoreError};
use serde::Deserialize;
use serde_json::Value;

use crate::access;
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{snowflake, Body, Caller};
use crate::files::avatars;
use crate::sessions::Revoked;
use crate::state::{AppState, Registration};

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

/// `registration = closed`: accounts are made by the operator.
const REGISTRATION_CLOSED: ErrorCode = ErrorCode {
    code: 0,
    status: 403,
    message: "Registration is closed on this server.",
};
/// `registration = invite-only` and the body carries no invite.
const INVITE_REQUIRED: ErrorCode = ErrorCode {
    code: 0,
    status: 403,
    message: "Registration on this server needs an invite.",
};

fn check_password(field: &str, password: &str, errors: &mut FormErrors) {
    let pw = password.chars().count();
    if pw < 8 {
        errors.add(field, "PASSWORD_TOO_SHORT", "Must be 8 or more in length.");
    } else if pw > 72 {
        errors.add(
            field,
            "BASE_TYPE_MAX_LENGTH",
            "Must be 72 or fewer in length.",
        );
    }
}

async fn register(
    State(state): State<AppState>,
    Body(body): Body<Register>,
) -> ApiResult<impl IntoResponse> {
    match state.config.registration {
        Registration::Open => {}
        Registration::InviteOnly if body.invite.is_some() => {}
        Registration::InviteOnly => return Err(INVITE_REQUIRED.into()),
        Registration::Closed => return Err(REGISTRATION_CLOSED.into()),
    }
    let mut errors = FormErrors::new();
    check_username("username", &body.username, &mut errors);
    check_global_name(&body.global_name, &mut errors);
    check_password("password", &body.password, &mut errors);
    errors.finish()?;
    // An unknown invite is refused before an account exists (and before
    // the password's hashing is paid for).
    if let Some(code) = &body.invite {
        if state.store.invite(code).await?.is_none() {
            return Err(ErrorCode::UNKNOWN_INVITE.into());
        }
    }
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
    if let Some(code) = &body.invite {
        join_on_registration(&state, &user, code).await?;
    }
    let token = issue_token(&state, &user).await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenReply {
            token,
            user_id: Some(user.id),
        }),
    ))
}

/// Joins a just-registered user to the invite's guild. The invite may have
/// run out since it was checked: then the account is removed again, so an
/// invite-only node never keeps an account that came in without one.
async fn join_on_registration(state: &AppState, user: &User, code: &str) -> ApiResult<()> {
    match state
        .store
        .use_invite(code, user.id, Timestamp::now())
        .await
    {
        Ok(used) => {
            let guild = used.invite.guild.id;
            if let Some(member) = state.store.member(guild, user.id).await? {
                state.member_added(guild, &member);
            }
            Ok(())
        }
        Err(e) => {
            state.store.delete_user(user.id).await?;
            Err(match e {
                StoreError::Missing(_) => ErrorCode::UNKNOWN_INVITE.into(),
                other => other.into(),
            })
        }
    }
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

/// `POST /auth/logout`: revokes the presented token; with
/// `{"everywhere": true}` every token of the user. The gateway sessions
/// those tokens opened end with 4004.
#[derive(Debug, Default, Deserialize)]
struct Logout {
    #[serde(default)]
    everywhere: bool,
}

async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<Logout>,
) -> ApiResult<StatusCode> {
    if body.everywhere {
        state.store.revoke_tokens(caller.user.id, None).await?;
        state.sessions_revoked(caller.user.id, Revoked::AllTokens);
    } else {
        state.store.delete_token(&caller.token_hash).await?;
        state.sessions_revoked(caller.user.id, Revoked::Token(caller.token_hash));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn me(caller: Caller) -> axum::response::Response {
    use axum::response::IntoResponse;
    Json(hearth_model::CurrentUser::of(&caller.user)).into_response()
}

async fn patch_me(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<PatchUser>,
) -> ApiResult<Json<Value>> {
    let mut errors = FormErrors::new();
    let mut user = caller.user;
    // What others see of the user, to tell them only of a change.
    let seen_before = user.clone();
    let username_before = user.username.clone();
    if let Some(new) = &body.new_password {
        check_password("new_password", new, &mut errors);
        if body.password.is_none() {
            errors.add("password", "BASE_TYPE_REQUIRED", "This field is required");
        }
    }
    if let Some(name) = body.username {
        check_username("username", &name, &mut errors);
        user.username = name;
    }
    if let Some(global) = body.global_name {
        check_global_name(&global, &mut errors);
        user.global_name = global;
    }
    errors.finish()?;
    // The current password is checked before anything is written.
    let new_password = match (body.password, body.new_password) {
        (Some(current), Some(new)) => {
            if !current_password_matches(&state, user.id, &username_before, current).await? {
                return Err(ApiError::Form(FormErrors::single(
                    "password",
                    "PASSWORD_DOES_NOT_MATCH",
                    "Password does not match.",
                )));
            }
            Some(new)
        }
        _ => None,
    };
    // The picture goes to the file store; the user carries its hash.
    let avatar_before = user.avatar.clone();
    match body.avatar {
        Some(Some(data)) => user.avatar = Some(avatars::store(&state, user.id, &data).await?),
        Some(None) => user.avatar = None,
        None => {}
    }
    state.store.update_user(&user).await.map_err(|e| match e {
        hearth_store::StoreError::Conflict(_) => ApiError::Form(FormErrors::single(
            "username",
            "USERNAME_ALREADY_TAKEN",
            "Username is unavailable.",
        )),
        other => other.into(),
    })?;
    state.user_updated(&user);
    if let Some(old) = avatar_before.filter(|old| user.avatar.as_ref() != Some(old)) {
        avatars::forget(&state, user.id, &old).await;
    }
    // Those who share a guild see the new name or picture at once, as the
    // member's GUILD_MEMBER_UPDATE, as on Discord; a password change alone
    // tells them nothing.
    if user != seen_before {
        for guild_id in state.store.guilds_of_user(user.id).await? {
            if let Some(member) = state.store.member(guild_id, user.id).await? {
                state.member_updated(guild_id, &member);
            }
        }
    }
    let mut reply = serde_json::to_value(hearth_model::CurrentUser::of(&user))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(new) = new_password {
        // As Discord: a password change ends every other session, and the
        // reply carries the caller's new token.
        let hash = auth::hash_password(new).await.map_err(ApiError::Internal)?;
        let token = auth::new_token(user.id);
        state
            .store
            .set_password(
                user.id,
                &hash,
                Some((&auth::hash_token(&token), Timestamp::now())),
            )
            .await?;
        state.sessions_revoked(user.id, Revoked::AllTokens);
        reply["token"] = Value::String(token);
    }
    Ok(Json(reply))
}

async fn current_password_matches(
    state: &AppState,
    user_id: hearth_model::Snowflake,
    username: &str,
    presented: String,
) -> ApiResult<bool> {
    let hash = state
        .store
        .credentials(username)
        .await?
        .filter(|c| c.user.id == user_id)
        .and_then(|c| c.password_hash);
    match hash {
        Some(hash) => Ok(auth::verify_password(presented, hash).await),
        // Bots and accounts without a password have none to change.
        None => Ok(false),
    }
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
