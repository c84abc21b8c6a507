//! Notification settings: a user changes what of a guild (and of each of
//! its channels) notifies them, and their sessions on every device hear of
//! it (`USER_GUILD_SETTINGS_UPDATE`); READY carries them. And the user
//! settings that say who may DM them (`USER_SETTINGS_UPDATE`).

use axum::extract::{Path, State};
use axum::routing::{get, patch};
use axum::{Json, Router};
use hearth_model::{DmPrivacy, GuildSettingsPatch, NotifyLevel, Snowflake, UserGuildSettings};
use hearth_proto::events::Event;
use hearth_proto::{ErrorCode, FormErrors};
use serde::Deserialize;

use crate::access;
use crate::error::ApiResult;
use crate::extract::{snowflake, Body, Caller};
use crate::state::AppState;

/// Guilds one user may list as restricted: more than anyone joins.
const MAX_RESTRICTED_GUILDS: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/users/@me/guilds/{guild_id}/settings",
            patch(update_guild_settings),
        )
        .route(
            "/users/@me/settings",
            get(user_settings).patch(update_user_settings),
        )
}

/// `PATCH /users/@me/settings`: of Discord's user settings, those Hearth
/// keeps (who may DM the user); the others are accepted and ignored.
#[derive(Debug, Deserialize)]
struct UserSettingsPatch {
    restricted_guilds: Option<Vec<Snowflake>>,
    default_guilds_restricted: Option<bool>,
}

async fn user_settings(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<DmPrivacy>> {
    if caller.user.bot {
        return Err(ErrorCode::BOTS_CANNOT_USE.into());
    }
    Ok(Json(state.store.dm_privacy(caller.user.id).await?))
}

async fn update_user_settings(
    State(state): State<AppState>,
    caller: Caller,
    Body(change): Body<UserSettingsPatch>,
) -> ApiResult<Json<DmPrivacy>> {
    if caller.user.bot {
        return Err(ErrorCode::BOTS_CANNOT_USE.into());
    }
    if change
        .restricted_guilds
        .as_ref()
        .is_some_and(|g| g.len() > MAX_RESTRICTED_GUILDS)
    {
        return Err(FormErrors::single(
            "restricted_guilds",
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {MAX_RESTRICTED_GUILDS} or fewer in length."),
        )
        .into());
    }
    let privacy = state
        .store
        .set_dm_privacy(
            caller.user.id,
            change.restricted_guilds.as_deref(),
            change.default_guilds_restricted,
        )
        .await?;
    state.bus.publish(Event::UserSettingsUpdate {
        user_id: caller.user.id,
        privacy: privacy.clone(),
    });
    Ok(Json(privacy))
}

async fn update_guild_settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
    Body(change): Body<GuildSettingsPatch>,
) -> ApiResult<Json<UserGuildSettings>> {
    // Notifications are people's; Discord refuses bots here too.
    if caller.user.bot {
        return Err(ErrorCode::BOTS_CANNOT_USE.into());
    }
    let guild_id = snowflake("guild_id", &guild_id)?;
    let access = access::guild(&state, guild_id, caller.user.id).await?;
    let channels: Vec<Snowflake> = state
        .store
        .channels(guild_id)
        .await?
        .iter()
        .map(|c| c.id)
        .collect();
    let mut errors = FormErrors::new();
    for id in change.channel_overrides.keys() {
        if !channels.contains(id) {
            errors.add(
                &format!("channel_overrides.{id}"),
                "CHANNEL_NOT_FOUND",
                "Unknown channel.",
            );
        }
    }
    if change.message_notifications == Some(NotifyLevel::ParentDefault) {
        errors.add(
            "message_notifications",
            "BASE_TYPE_CHOICES",
            "A guild's level is 0, 1 or 2.",
        );
    }
    errors.finish()?;
    let guild_default =
        NotifyLevel::try_from(access.guild.default_message_notifications).unwrap_or_default();
    let settings = state
        .store
        .update_guild_settings(
            caller.user.id,
            UserGuildSettings::defaults(guild_id, guild_default),
            &change,
            &channels,
        )
        .await
        .map_err(|e| match e {
            // Left the guild since the check above.
            hearth_store::StoreError::Missing(_) => ErrorCode::MISSING_ACCESS.into(),
            other => crate::error::ApiError::from(other),
        })?;
    state.bus.publish(Event::UserGuildSettingsUpdate {
        user_id: caller.user.id,
        settings: settings.clone(),
    });
    Ok(Json(settings))
}
