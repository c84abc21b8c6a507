//! Ringing in DM calls: `POST /channels/{id}/call/ring` rings recipients
//! again (every one not in the call, or those named), and
//! `POST /channels/{id}/call/stop-ringing` stops it (a recipient declining,
//! or the caller giving up). The call itself starts and ends with op 4 on
//! the gateway, which owns it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use hearth_model::{PrivateChannel, Snowflake};
use hearth_proto::{ErrorCode, FormErrors};
use serde::Deserialize;

use crate::access::{self, Place};
use crate::error::ApiResult;
use crate::extract::{snowflake, Body, Caller};
use crate::state::AppState;
use crate::voice::RingRefused;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/channels/{channel_id}/call/ring", post(ring))
        .route(
            "/channels/{channel_id}/call/stop-ringing",
            post(stop_ringing),
        )
}

#[derive(Debug, Deserialize)]
struct RingBody {
    #[serde(default)]
    recipients: Option<Vec<Snowflake>>,
}

/// The DM or group DM the caller (a person) is in: 20001 for a bot,
/// 10003 or 50001 as for its other routes, 50024 for a guild channel.
async fn call_place(
    state: &AppState,
    caller: &Caller,
    channel_id: &str,
) -> ApiResult<PrivateChannel> {
    if caller.user.bot {
        return Err(ErrorCode::BOTS_CANNOT_USE.into());
    }
    let id = snowflake("channel_id", channel_id)?;
    match access::place(state, id, caller.user.id).await? {
        Place::Private(c) => Ok(c),
        Place::Guild { .. } => Err(ErrorCode::INVALID_CHANNEL_TYPE.into()),
    }
}

/// The named users, each a recipient (50035 otherwise); at most the
/// channel's recipients, so the list is bounded.
fn named(
    channel: &PrivateChannel,
    recipients: Option<Vec<Snowflake>>,
) -> ApiResult<Option<Vec<Snowflake>>> {
    let Some(mut ids) = recipients else {
        return Ok(None);
    };
    ids.sort();
    ids.dedup();
    if let Some(stranger) = ids.iter().find(|id| !channel.is_recipient(**id)) {
        return Err(FormErrors::single(
            "recipients",
            "INVALID_RECIPIENT",
            format!("{stranger} is not a recipient of this channel."),
        )
        .into());
    }
    Ok(Some(ids))
}

fn refused(r: RingRefused) -> crate::error::ApiError {
    match r {
        // No call to ring for: a call starts by joining it (op 4).
        RingRefused::NoCall => ErrorCode::NOT_FOUND.into(),
    }
}

async fn ring(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    Body(body): Body<RingBody>,
) -> ApiResult<StatusCode> {
    let channel = call_place(&state, &caller, &channel_id).await?;
    // Nobody rings a user they may not write to (a block, no shared guild).
    super::private::may_write(&state, caller.user.id, &channel).await?;
    let who = named(&channel, body.recipients)?;
    let voice = state.voice().ok_or(ErrorCode::NOT_FOUND)?;
    voice.ring(channel.id, who).map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn stop_ringing(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    Body(body): Body<RingBody>,
) -> ApiResult<StatusCode> {
    let channel = call_place(&state, &caller, &channel_id).await?;
    // Without a list, the caller declines for themselves.
    let who = named(&channel, body.recipients)?.unwrap_or_else(|| vec![caller.user.id]);
    let voice = state.voice().ok_or(ErrorCode::NOT_FOUND)?;
    voice.stop_ringing(channel.id, &who).map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}
