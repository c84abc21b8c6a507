//! Notification settings: a user changes what of a guild (and of each of
//! its channels) notifies them, and their sessions on every device hear of
//! it (`USER_GUILD_SETTINGS_UPDATE`); READY carries them.

use axum::extract::{Path, State};
use axum::routing::patch;
use axum::{Json, Router};
use hearth_model::{GuildSettingsPatch, NotifyLevel, Snowflake, UserGuildSettings};
use hearth_proto::events::Event;
use hearth_proto::{ErrorCode, FormErrors};

use crate::access;
use crate::error::ApiResult;
use crate::extract::{snowflake, Body, Caller};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/users/@me/guilds/{guild_id}/settings",
        patch(update_guild_settings),
    )
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
        .await?;
    state.bus.publish(Event::UserGuildSettingsUpdate {
        user_id: caller.user.id,
        settings: settings.clone(),
    });
    Ok(Json(settings))
}
