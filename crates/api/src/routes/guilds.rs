//! Guilds: create, read, modify, delete.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use hearth_model::{Channel, ChannelType, Guild, Permissions, Role, Timestamp};
use hearth_proto::rest::{CreateGuild, GuildQuery, PatchGuild};
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::edits::GuildEdit;
use hearth_store::StoreError;

use crate::access;
use crate::error::ApiResult;
use crate::extract::{snowflake, Body, Caller, Query};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/guilds", post(create)).route(
        "/guilds/{guild_id}",
        axum::routing::get(get_one).patch(patch).delete(remove),
    )
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<CreateGuild>,
) -> ApiResult<impl IntoResponse> {
    let mut errors = FormErrors::new();
    errors.check_name("name", body.name.trim(), 2, 100);
    if let Some(d) = &body.description {
        errors.check_len("description", d, 0, 120);
    }
    errors.finish()?;
    let id = state.ids.next();
    let text = Channel {
        id: state.ids.next(),
        kind: ChannelType::Text,
        guild_id: id,
        position: 0,
        permission_overwrites: Vec::new(),
        name: "general".into(),
        parent_id: None,
        nsfw: false,
        flags: 0,
        topic: Some(String::new()),
        last_message_id: None,
        rate_limit_per_user: Some(0),
        bitrate: None,
        user_limit: None,
        rtc_region: None,
        thread: None,
    };
    let voice = Channel {
        id: state.ids.next(),
        kind: ChannelType::Voice,
        name: "General".into(),
        topic: None,
        bitrate: Some(64_000),
        user_limit: Some(0),
        rtc_region: Some(None),
        ..text.clone()
    };
    let everyone = Role {
        id,
        name: "@everyone".into(),
        color: 0,
        hoist: false,
        icon: None,
        unicode_emoji: None,
        position: 0,
        permissions: Permissions::EVERYONE_DEFAULT,
        managed: false,
        mentionable: false,
        flags: 0,
        tags: None,
    };
    let guild = Guild {
        id,
        name: body.name.trim().to_owned(),
        icon: body.icon,
        description: body.description,
        owner_id: caller.user.id,
        afk_channel_id: None,
        afk_timeout: 300,
        system_channel_id: Some(text.id),
        verification_level: 0,
        default_message_notifications: 0,
        explicit_content_filter: 0,
        mfa_level: 0,
        nsfw_level: 0,
        premium_tier: 0,
        preferred_locale: "en-US".into(),
        features: Vec::new(),
        emojis: Vec::new(),
        stickers: Vec::new(),
        roles: vec![everyone],
        approximate_member_count: None,
        unused: Default::default(),
    };
    state
        .store
        .create_guild(&guild, &[text, voice], Timestamp::now())
        .await?;
    // The owner's sessions learn of the guild as any new member's do.
    if let Some(owner) = state.store.member(guild.id, caller.user.id).await? {
        state.member_added(guild.id, &owner);
    }
    Ok((StatusCode::CREATED, Json(guild)))
}

async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
    Query(q): Query<GuildQuery>,
) -> ApiResult<Json<Guild>> {
    let guild_id = snowflake("guild_id", &guild_id)?;
    let mut guild = access::guild(&state, guild_id, caller.user.id).await?.guild;
    if q.with_counts == Some(true) {
        guild.approximate_member_count = Some(state.store.member_count(guild_id).await?);
    }
    Ok(Json(guild))
}

async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
    Body(body): Body<PatchGuild>,
) -> ApiResult<Json<Guild>> {
    let guild_id = snowflake("guild_id", &guild_id)?;
    let access = access::guild(&state, guild_id, caller.user.id).await?;
    access.require(Permissions::MANAGE_GUILD)?;
    let mut errors = FormErrors::new();
    if let Some(name) = &body.name {
        errors.check_name("name", name.trim(), 2, 100);
    }
    if let Some(Some(d)) = &body.description {
        errors.check_len("description", d, 0, 120);
    }
    if let Some(afk) = body.afk_timeout {
        if ![60, 300, 900, 1800, 3600].contains(&afk) {
            errors.add(
                "afk_timeout",
                "BASE_TYPE_CHOICES",
                "Value must be one of {60, 300, 900, 1800, 3600}.",
            );
        }
    }
    if body
        .default_message_notifications
        .is_some_and(|level| level > 1)
    {
        errors.add(
            "default_message_notifications",
            "BASE_TYPE_CHOICES",
            "Value must be one of {0, 1}.",
        );
    }
    let channels = state.store.channels(guild_id).await?;
    for (field, value, kind) in [
        (
            "system_channel_id",
            body.system_channel_id,
            ChannelType::Text,
        ),
        ("afk_channel_id", body.afk_channel_id, ChannelType::Voice),
    ] {
        if let Some(Some(id)) = value {
            if !channels.iter().any(|c| c.id == id && c.kind == kind) {
                errors.add(
                    field,
                    "CHANNEL_INVALID",
                    "Not a suitable channel of this guild.",
                );
            }
        }
    }
    errors.finish()?;
    let edit = GuildEdit {
        name: body.name.map(|n| n.trim().to_owned()),
        description: body.description,
        icon: body.icon,
        afk_timeout: body.afk_timeout,
        system_channel_id: body.system_channel_id,
        afk_channel_id: body.afk_channel_id,
        default_message_notifications: body.default_message_notifications,
    };
    let edited = match state.store.edit_guild(guild_id, &edit).await {
        // The channel went away since the check above.
        Err(StoreError::Missing("channel")) => {
            return Err(FormErrors::single(
                "system_channel_id",
                "CHANNEL_INVALID",
                "Not a suitable channel of this guild.",
            )
            .into())
        }
        other => other?,
    };
    if edited.changed {
        state.guild_updated(&edited.now);
    }
    Ok(Json(edited.now))
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
) -> ApiResult<StatusCode> {
    let guild_id = snowflake("guild_id", &guild_id)?;
    let access = access::guild(&state, guild_id, caller.user.id).await?;
    if !access.is_owner() {
        return Err(ErrorCode::MISSING_PERMISSIONS.into());
    }
    let channels = state.store.channels(guild_id).await?;
    state.store.delete_guild(guild_id).await?;
    state.files_dropped();
    state.guild_deleted(guild_id);
    for channel in channels {
        state.messages.changed(channel.id);
    }
    Ok(StatusCode::NO_CONTENT)
}
