//! Channels of a guild and their permission overwrites.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use hearth_model::{Channel, ChannelType, Overwrite, Permissions, Snowflake};
use hearth_proto::rest::{CreateChannel, PatchChannel, PutOverwrite};
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::edits::{ChannelEdit, OverwritesEdit};

use crate::access::{self, GuildAccess, Place};
use crate::error::{ApiError, ApiResult};
use crate::extract::{snowflake, Body, Caller};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/guilds/{guild_id}/channels",
            get(list).post(create).patch(reorder),
        )
        .route(
            "/channels/{channel_id}",
            get(get_one).patch(patch).delete(remove),
        )
        .route(
            "/channels/{channel_id}/permissions/{overwrite_id}",
            put(put_overwrite).delete(delete_overwrite),
        )
        .route("/channels/{channel_id}/typing", post(typing))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
) -> ApiResult<Json<Vec<Channel>>> {
    let guild_id = snowflake("guild_id", &guild_id)?;
    let access = access::guild(&state, guild_id, caller.user.id).await?;
    let visible = state
        .store
        .channels(guild_id)
        .await?
        .into_iter()
        .filter(|c| {
            access
                .channel_permissions(c)
                .contains(Permissions::VIEW_CHANNEL)
        })
        .collect();
    Ok(Json(visible))
}

/// Overwrites may only name roles and members of the guild, and only hand
/// out or take away permissions the caller holds.
async fn check_overwrites(
    state: &AppState,
    access: &GuildAccess,
    overwrites: &[Overwrite],
    errors: &mut FormErrors,
) -> ApiResult<()> {
    for (i, o) in overwrites.iter().enumerate() {
        let exists = match o.kind {
            0 => access.role(o.id).is_some(),
            1 => state.store.member(access.guild.id, o.id).await?.is_some(),
            _ => {
                errors.add(
                    &format!("permission_overwrites.{i}.type"),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {0, 1}.",
                );
                continue;
            }
        };
        if !exists {
            errors.add(
                &format!("permission_overwrites.{i}.id"),
                "UNKNOWN_OVERWRITE_TARGET",
                "Unknown role or member.",
            );
        }
        if !access.may_grant(o.allow | o.deny) {
            return Err(ErrorCode::MISSING_PERMISSIONS.into());
        }
    }
    Ok(())
}

fn check_fields(channel: &Channel, errors: &mut FormErrors) {
    errors.check_name("name", &channel.name, 1, 100);
    if let Some(topic) = &channel.topic {
        errors.check_len("topic", topic, 0, 1024);
    }
    if channel
        .bitrate
        .is_some_and(|b| !(8_000..=384_000).contains(&b))
    {
        errors.add(
            "bitrate",
            "NUMBER_TYPE_MIN",
            "Bitrate must be between 8000 and 384000.",
        );
    }
    if channel.user_limit.is_some_and(|u| u > 99) {
        errors.add(
            "user_limit",
            "NUMBER_TYPE_MAX",
            "int value should be less than or equal to 99.",
        );
    }
    // A region's name as nodes are named (whether it has SFU nodes now or
    // not: a room wanted in a region without any goes to the nearest).
    if let Some(Some(region)) = &channel.rtc_region {
        let plain = (1..=64).contains(&region.len())
            && region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !plain {
            errors.add(
                "rtc_region",
                "BASE_TYPE_CHOICES",
                "Value must be a region's name: 1 to 64 letters, digits, '.', '_' or '-'.",
            );
        }
    }
    if channel.rate_limit_per_user.is_some_and(|r| r > 21_600) {
        errors.add(
            "rate_limit_per_user",
            "NUMBER_TYPE_MAX",
            "int value should be less than or equal to 21600.",
        );
    }
}

async fn check_parent(
    state: &AppState,
    channel: &Channel,
    errors: &mut FormErrors,
) -> ApiResult<()> {
    let Some(parent) = channel.parent_id else {
        return Ok(());
    };
    let ok = channel.kind != ChannelType::Category
        && state
            .store
            .channel(parent)
            .await?
            .is_some_and(|p| p.guild_id == channel.guild_id && p.kind == ChannelType::Category);
    if !ok {
        errors.add(
            "parent_id",
            "CHANNEL_PARENT_INVALID",
            "Not a category of this guild.",
        );
    }
    Ok(())
}

/// One entry of `PATCH /guilds/{id}/channels`.
#[derive(Debug, serde::Deserialize)]
struct ChannelPosition {
    id: Snowflake,
    #[serde(default)]
    position: Option<i32>,
    #[serde(default, deserialize_with = "hearth_proto::rest::nullable")]
    parent_id: Option<Option<Snowflake>>,
    /// Take the new parent's overwrites.
    #[serde(default)]
    lock_permissions: bool,
}

/// Moves channels (positions, parents), as bot libraries do when a
/// channel's position is set. Every entry is checked before any is
/// written; each channel that changed is announced.
async fn reorder(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
    Body(moves): Body<Vec<ChannelPosition>>,
) -> ApiResult<StatusCode> {
    let guild_id = snowflake("guild_id", &guild_id)?;
    let access = access::guild(&state, guild_id, caller.user.id).await?;
    access.require(Permissions::MANAGE_CHANNELS)?;
    let channels = state.store.channels(guild_id).await?;
    let mut errors = FormErrors::new();
    if moves.len() > channels.len() {
        errors.add(
            "",
            "BASE_TYPE_MAX_LENGTH",
            "More entries than the guild has channels.",
        );
    }
    let mut edits = Vec::with_capacity(moves.len());
    for (i, m) in moves.iter().enumerate() {
        let Some(channel) = channels.iter().find(|c| c.id == m.id) else {
            errors.add(
                &format!("{i}.id"),
                "CHANNEL_UNKNOWN",
                "Not a channel of this guild.",
            );
            continue;
        };
        if moves[..i].iter().any(|o| o.id == m.id) {
            errors.add(
                &format!("{i}.id"),
                "CHANNEL_DUPLICATED",
                "Channel given twice.",
            );
        }
        if m.position.is_some_and(|p| p < 0) {
            errors.add(
                &format!("{i}.position"),
                "NUMBER_TYPE_MIN",
                "Must be 0 or more.",
            );
        }
        let mut edit = ChannelEdit {
            position: m.position,
            parent_id: m.parent_id,
            ..ChannelEdit::default()
        };
        if let Some(Some(parent)) = m.parent_id {
            let parent_ok = channel.kind != ChannelType::Category
                && channels
                    .iter()
                    .any(|c| c.id == parent && c.kind == ChannelType::Category);
            if !parent_ok {
                errors.add(
                    &format!("{i}.parent_id"),
                    "CHANNEL_PARENT_INVALID",
                    "Not a category of this guild.",
                );
            } else if m.lock_permissions {
                access.require(Permissions::MANAGE_ROLES)?;
                let overwrites = channels
                    .iter()
                    .find(|c| c.id == parent)
                    .map(|c| c.permission_overwrites.clone())
                    .unwrap_or_default();
                edit.overwrites = Some(OverwritesEdit::Set(overwrites));
            }
        }
        edits.push((channel.id, edit));
    }
    errors.finish()?;
    for (id, edit) in edits {
        let edited = state
            .store
            .edit_channel(id, &edit, state.config.limits.overwrites_per_channel)
            .await?;
        if edited.changed {
            state.channel_event(crate::events::ChannelChange::Updated, &edited.now);
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
    Body(body): Body<CreateChannel>,
) -> ApiResult<impl IntoResponse> {
    let guild_id = snowflake("guild_id", &guild_id)?;
    let access = access::guild(&state, guild_id, caller.user.id).await?;
    access.require(Permissions::MANAGE_CHANNELS)?;
    let mut errors = FormErrors::new();
    let kind = match ChannelType::try_from(body.kind.unwrap_or(0)) {
        Ok(k) if !k.is_thread() => k,
        Ok(_) => {
            errors.add(
                "type",
                "BASE_TYPE_CHOICES",
                "Threads are started with POST /channels/{channel_id}/threads.",
            );
            ChannelType::Text
        }
        Err(msg) => {
            errors.add("type", "BASE_TYPE_CHOICES", msg);
            ChannelType::Text
        }
    };
    if !body.permission_overwrites.is_empty() {
        access.require(Permissions::MANAGE_ROLES)?;
        check_overwrites(&state, &access, &body.permission_overwrites, &mut errors).await?;
    }
    let voice = kind == ChannelType::Voice;
    let text = kind == ChannelType::Text;
    let position = match body.position {
        Some(p) => p,
        None => state
            .store
            .channels(guild_id)
            .await?
            .iter()
            .map(|c| c.position + 1)
            .max()
            .unwrap_or(0),
    };
    let channel = Channel {
        id: state.ids.next(),
        kind,
        guild_id,
        position,
        permission_overwrites: body.permission_overwrites,
        name: body.name,
        parent_id: body.parent_id,
        nsfw: body.nsfw.unwrap_or(false),
        flags: 0,
        topic: text.then(|| body.topic.unwrap_or_default()),
        last_message_id: None,
        rate_limit_per_user: (kind != ChannelType::Category)
            .then(|| body.rate_limit_per_user.unwrap_or(0)),
        bitrate: voice.then(|| body.bitrate.unwrap_or(64_000)),
        user_limit: voice.then(|| body.user_limit.unwrap_or(0)),
        rtc_region: voice.then_some(body.rtc_region),
        thread: None,
    };
    check_fields(&channel, &mut errors);
    check_parent(&state, &channel, &mut errors).await?;
    errors.finish()?;
    state
        .store
        .create_channel(&channel, state.config.limits.channels_per_guild)
        .await?;
    state.channel_event(crate::events::ChannelChange::Created, &channel);
    Ok((StatusCode::CREATED, Json(channel)))
}

async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
) -> ApiResult<Response> {
    let id = snowflake("channel_id", &channel_id)?;
    match access::place(&state, id, caller.user.id).await? {
        Place::Guild { channel, .. } => Ok(Json(channel).into_response()),
        Place::Private(c) => Ok(Json(super::private::shown(&caller, &c)).into_response()),
    }
}

async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    Body(body): Body<PatchChannel>,
) -> ApiResult<Response> {
    let id = snowflake("channel_id", &channel_id)?;
    let (channel, access, perms) = match access::place(&state, id, caller.user.id).await? {
        Place::Private(c) => {
            let now = super::private::patch(&state, &caller, c, body.name).await?;
            return Ok(Json(now).into_response());
        }
        Place::Guild { channel, perms, .. } if channel.kind.is_thread() => {
            let now = super::threads::patch(&state, &caller, channel, perms, body).await?;
            return Ok(Json(now).into_response());
        }
        Place::Guild {
            channel,
            access,
            perms,
        } => (channel, access, perms),
    };
    access::require(perms, Permissions::MANAGE_CHANNELS)?;
    let mut errors = FormErrors::new();
    let voice = channel.kind == ChannelType::Voice;
    let text = channel.kind == ChannelType::Text;
    // Only what the body names goes into the edit; fields of another kind
    // of channel are ignored, as Discord does.
    let mut edit = ChannelEdit {
        name: body.name,
        position: body.position,
        topic: body
            .topic
            .filter(|_| text)
            .map(|t| Some(t.unwrap_or_default())),
        nsfw: body.nsfw,
        rate_limit_per_user: body
            .rate_limit_per_user
            .filter(|_| channel.kind != ChannelType::Category),
        parent_id: body.parent_id,
        ..ChannelEdit::default()
    };
    if voice {
        edit.bitrate = body.bitrate;
        edit.user_limit = body.user_limit;
        edit.rtc_region = body.rtc_region;
    }
    if let Some(overwrites) = body.permission_overwrites {
        access::require(perms, Permissions::MANAGE_ROLES)?;
        check_overwrites(&state, &access, &overwrites, &mut errors).await?;
        edit.overwrites = Some(OverwritesEdit::Set(overwrites));
    }
    // Validate the values on a scratch copy; the store applies the edit to
    // the row as it is when the write happens.
    let mut preview = channel.clone();
    edit.apply(&mut preview);
    check_fields(&preview, &mut errors);
    if edit.parent_id.is_some() {
        check_parent(&state, &preview, &mut errors).await?;
    }
    errors.finish()?;
    let edited = state
        .store
        .edit_channel(id, &edit, state.config.limits.overwrites_per_channel)
        .await?;
    if edited.changed {
        state.channel_event(crate::events::ChannelChange::Updated, &edited.now);
    }
    Ok(Json(edited.now).into_response())
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
) -> ApiResult<Response> {
    let id = snowflake("channel_id", &channel_id)?;
    let (channel, access, perms) = match access::place(&state, id, caller.user.id).await? {
        Place::Private(c) => {
            let closed = super::private::remove(&state, &caller, c).await?;
            return Ok(Json(closed).into_response());
        }
        Place::Guild { channel, perms, .. } if channel.kind.is_thread() => {
            let gone = super::threads::remove(&state, channel, perms).await?;
            return Ok(Json(gone).into_response());
        }
        Place::Guild {
            channel,
            access,
            perms,
        } => (channel, access, perms),
    };
    access::require(perms, Permissions::MANAGE_CHANNELS)?;
    let children: Vec<Channel> = state
        .store
        .channels(channel.guild_id)
        .await?
        .into_iter()
        .filter(|c| c.parent_id == Some(id))
        .collect();
    state.store.delete_channel(id).await?;
    state.files_dropped();
    state.messages.changed(id);
    state.channel_event(crate::events::ChannelChange::Deleted, &channel);
    // The store moved the children to the top level and dropped the guild's
    // references to the channel; tell clients what changed.
    for mut child in children {
        child.parent_id = None;
        state.channel_event(crate::events::ChannelChange::Updated, &child);
    }
    let mut guild = access.guild;
    if guild.system_channel_id == Some(id) || guild.afk_channel_id == Some(id) {
        guild.system_channel_id = guild.system_channel_id.filter(|c| *c != id);
        guild.afk_channel_id = guild.afk_channel_id.filter(|c| *c != id);
        state.guild_updated(&guild);
    }
    Ok(Json(channel).into_response())
}

async fn overwrite_target(
    channel_id: &str,
    overwrite_id: &str,
) -> ApiResult<(Snowflake, Snowflake)> {
    Ok((
        snowflake("channel_id", channel_id)?,
        snowflake("overwrite_id", overwrite_id)?,
    ))
}

async fn put_overwrite(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, overwrite_id)): Path<(String, String)>,
    Body(body): Body<PutOverwrite>,
) -> ApiResult<StatusCode> {
    let (id, target) = overwrite_target(&channel_id, &overwrite_id).await?;
    let (channel, access, perms) = access::channel(&state, id, caller.user.id).await?;
    access::require(perms, Permissions::MANAGE_ROLES)?;
    let overwrite = Overwrite {
        id: target,
        kind: body.kind,
        allow: body.allow.unwrap_or_default(),
        deny: body.deny.unwrap_or_default(),
    };
    let mut errors = FormErrors::new();
    check_overwrites(
        &state,
        &access,
        std::slice::from_ref(&overwrite),
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        // Report at the body's own fields, not as an element of a list.
        return Err(match body.kind {
            0 => ErrorCode::UNKNOWN_ROLE.into(),
            1 => ErrorCode::UNKNOWN_MEMBER.into(),
            _ => ApiError::Form(FormErrors::single(
                "type",
                "BASE_TYPE_CHOICES",
                "Value must be one of {0, 1}.",
            )),
        });
    }
    edit_overwrites(&state, channel.id, OverwritesEdit::Put(overwrite)).await
}

/// Puts or deletes one overwrite, and tells the guild if that changed
/// anything.
async fn edit_overwrites(
    state: &AppState,
    channel_id: Snowflake,
    overwrites: OverwritesEdit,
) -> ApiResult<StatusCode> {
    let edit = ChannelEdit {
        overwrites: Some(overwrites),
        ..ChannelEdit::default()
    };
    let edited = state
        .store
        .edit_channel(
            channel_id,
            &edit,
            state.config.limits.overwrites_per_channel,
        )
        .await?;
    if edited.changed {
        state.channel_event(crate::events::ChannelChange::Updated, &edited.now);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_overwrite(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, overwrite_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (id, target) = overwrite_target(&channel_id, &overwrite_id).await?;
    let (channel, _, perms) = access::channel(&state, id, caller.user.id).await?;
    access::require(perms, Permissions::MANAGE_ROLES)?;
    edit_overwrites(&state, channel.id, OverwritesEdit::Delete(target)).await
}

async fn typing(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = snowflake("channel_id", &channel_id)?;
    let (channel, access, perms) = match access::place(&state, id, caller.user.id).await? {
        Place::Private(c) => {
            super::private::typing(&state, &caller, &c);
            return Ok(StatusCode::NO_CONTENT);
        }
        Place::Guild {
            channel,
            access,
            perms,
        } => (channel, access, perms),
    };
    if !channel.kind.holds_messages() {
        return Err(ErrorCode::INVALID_CHANNEL_TYPE.into());
    }
    access::require(perms, Permissions::SEND_MESSAGES)?;
    let now_secs = hearth_model::snowflake::now_unix_ms() / 1000;
    state.typing(&channel, &access.member, now_secs);
    Ok(StatusCode::NO_CONTENT)
}
