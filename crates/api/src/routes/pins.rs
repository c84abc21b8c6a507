//! Pinned messages, in both of Discord's forms: the older
//! `/channels/{c}/pins` (a plain list) and `/channels/{c}/messages/pins`
//! (pages of `{pinned_at, message}` by pin time).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use hearth_model::{message_type, Message, MessageReference, Permissions, Timestamp};
use hearth_proto::events::DirectEvent;
use hearth_proto::{ErrorCode, FormErrors};
use serde::{Deserialize, Serialize};

use crate::access::{self, Place};
use crate::error::ApiResult;
use crate::extract::{snowflake, Caller, Query};
use crate::state::AppState;

/// Pins one channel may hold, as on Discord.
pub const MAX_PINS_PER_CHANNEL: usize = 50;
/// The largest page of `GET /channels/{c}/messages/pins`.
const MAX_PAGE: u32 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/channels/{channel_id}/pins", get(list_legacy))
        .route(
            "/channels/{channel_id}/pins/{message_id}",
            axum::routing::put(pin).delete(unpin),
        )
        .route("/channels/{channel_id}/messages/pins", get(list))
        .route(
            "/channels/{channel_id}/messages/pins/{message_id}",
            axum::routing::put(pin).delete(unpin),
        )
}

#[derive(Debug, Deserialize)]
struct PinsQuery {
    before: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, Serialize)]
struct PinnedItem {
    pinned_at: Timestamp,
    message: Message,
}

#[derive(Debug, Serialize)]
struct PinsPage {
    items: Vec<PinnedItem>,
    has_more: bool,
}

fn page_of(q: &PinsQuery) -> ApiResult<(Option<Timestamp>, u32)> {
    let mut errors = FormErrors::new();
    let before = match q.before.as_deref() {
        None => None,
        Some(raw) => {
            let parsed = Timestamp::parse(raw);
            if parsed.is_none() {
                errors.add(
                    "before",
                    "DATE_TIME_TYPE_PARSE",
                    format!("Could not parse {raw}. Should be ISO8601."),
                );
            }
            parsed
        }
    };
    let limit = match q.limit.as_deref() {
        None => MAX_PAGE,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                errors.add(
                    "limit",
                    "NUMBER_TYPE_MAX",
                    format!("Must be between 1 and {MAX_PAGE}."),
                );
                MAX_PAGE
            }
        },
    };
    errors.finish()?;
    Ok((before, limit))
}

/// The pins of a channel the caller can see; empty without
/// READ_MESSAGE_HISTORY, as Discord answers.
async fn read(
    state: &AppState,
    caller: &Caller,
    channel_id: &str,
    before: Option<Timestamp>,
    limit: u32,
) -> ApiResult<Vec<hearth_store::PinnedMessage>> {
    let channel_id = snowflake("channel_id", channel_id)?;
    let place = access::place(state, channel_id, caller.user.id).await?;
    if !place
        .permissions()
        .contains(Permissions::READ_MESSAGE_HISTORY)
    {
        return Ok(Vec::new());
    }
    let mut pins = state.store.pins(place.id(), before, limit).await?;
    let mut messages: Vec<Message> = pins.iter().map(|p| p.message.clone()).collect();
    super::reactions::fill_reactions(state, place.id(), &mut messages, caller.user.id).await?;
    for (pin, message) in pins.iter_mut().zip(messages) {
        pin.message = message;
    }
    Ok(pins)
}

async fn list_legacy(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
) -> ApiResult<Json<Vec<Message>>> {
    let pins = read(
        &state,
        &caller,
        &channel_id,
        None,
        MAX_PINS_PER_CHANNEL as u32,
    )
    .await?;
    Ok(Json(pins.into_iter().map(|p| p.message).collect()))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    Query(q): Query<PinsQuery>,
) -> ApiResult<Json<PinsPage>> {
    let (before, limit) = page_of(&q)?;
    // One more than asked says whether there are more.
    let mut pins = read(&state, &caller, &channel_id, before, limit + 1).await?;
    let has_more = pins.len() > limit as usize;
    pins.truncate(limit as usize);
    let items = pins
        .into_iter()
        .map(|p| PinnedItem {
            pinned_at: p.pinned_at,
            message: p.message,
        })
        .collect();
    Ok(Json(PinsPage { items, has_more }))
}

/// The message a pin route names, where the caller may pin: a guild's
/// channel where they may manage messages, or a DM or group DM they are
/// in (any recipient may pin there, as on Discord).
async fn target(
    state: &AppState,
    caller: &Caller,
    channel_id: &str,
    message_id: &str,
) -> ApiResult<(Message, Place)> {
    let channel_id = snowflake("channel_id", channel_id)?;
    let message_id = snowflake("message_id", message_id)?;
    let place = access::place(state, channel_id, caller.user.id).await?;
    access::require(place.permissions(), Permissions::READ_MESSAGE_HISTORY)?;
    let message = state
        .messages
        .get(place.id(), message_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_MESSAGE)?;
    if let Place::Guild { perms, .. } = &place {
        access::require(*perms, Permissions::MANAGE_MESSAGES)?;
    }
    place.writable()?;
    Ok((message, place))
}

/// Tells whoever sees the place: the message's new `pinned`, the channel's
/// newest pin, and (for a pin) the notice posted.
fn announce(
    state: &AppState,
    place: &Place,
    message: &Message,
    last_pin: Option<Timestamp>,
    notice: Option<&Message>,
) {
    match place {
        Place::Guild { access, .. } => {
            state.message_updated(message);
            state.pins_updated(access.guild.id, message.channel_id, last_pin);
            if let Some(notice) = notice {
                state.message_created(notice, Some(&access.member));
            }
        }
        Place::Private(channel) => {
            let to = channel.recipient_ids();
            state.direct(&to, |_| DirectEvent::MessageUpdate(message.clone()));
            state.direct(&to, |_| DirectEvent::PinsUpdate {
                channel_id: channel.id,
                last_pin_timestamp: last_pin,
            });
            if let Some(notice) = notice {
                state.direct(&to, |_| DirectEvent::MessageCreate(notice.clone()));
            }
        }
    }
}

async fn pin(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (mut message, place) = target(&state, &caller, &channel_id, &message_id).await?;
    if matches!(
        message.kind,
        message_type::CHANNEL_PINNED_MESSAGE | message_type::CALL
    ) {
        return Err(ErrorCode::SYSTEM_MESSAGE.into());
    }
    let pinned = state
        .store
        .pin_message(
            message.channel_id,
            message.id,
            Timestamp::now(),
            MAX_PINS_PER_CHANNEL,
        )
        .await
        .map_err(|e| match e {
            hearth_store::StoreError::Missing(_) => ErrorCode::UNKNOWN_MESSAGE.into(),
            other => crate::error::ApiError::from(other),
        })?;
    let Some(at) = pinned else {
        return Ok(StatusCode::NO_CONTENT);
    };
    state.messages.changed(message.channel_id);
    message.pinned = true;
    let guild_id = match &place {
        Place::Guild { access, .. } => Some(access.guild.id),
        Place::Private(_) => None,
    };
    // "X pinned a message", pointing at it, as Discord posts.
    let notice = super::messages::system_message(
        &state,
        message.channel_id,
        guild_id,
        caller.user.clone(),
        message_type::CHANNEL_PINNED_MESSAGE,
        Some(MessageReference {
            kind: 0,
            message_id: Some(message.id),
            channel_id: Some(message.channel_id),
            guild_id,
            fail_if_not_exists: false,
        }),
    );
    state.messages.create(&notice).await?;
    announce(&state, &place, &message, Some(at), Some(&notice));
    Ok(StatusCode::NO_CONTENT)
}

async fn unpin(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (mut message, place) = target(&state, &caller, &channel_id, &message_id).await?;
    if !state
        .store
        .unpin_message(message.channel_id, message.id)
        .await?
    {
        return Ok(StatusCode::NO_CONTENT);
    }
    state.messages.changed(message.channel_id);
    message.pinned = false;
    let last = state.store.last_pin_at(message.channel_id).await?;
    announce(&state, &place, &message, last, None);
    Ok(StatusCode::NO_CONTENT)
}
