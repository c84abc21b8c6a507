//! Read states: a user's client says how far it has read a channel, and
//! the user's other sessions hear of it (MESSAGE_ACK), so unread marks and
//! mention badges agree on every device. READY carries them with their
//! mention counts (the gateway asks the store).

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use hearth_proto::ErrorCode;
use serde_json::{json, Value};

use crate::access;
use crate::error::ApiResult;
use crate::extract::{snowflake, Caller};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/channels/{channel_id}/messages/{message_id}/ack",
        post(ack),
    )
}

/// The body (Discord's client sends `token`, `manual` and more) is not
/// needed: the path says everything.
async fn ack(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    // Read states are the people's; Discord refuses bots here too.
    if caller.user.bot {
        return Err(ErrorCode::BOTS_CANNOT_USE.into());
    }
    let channel_id = snowflake("channel_id", &channel_id)?;
    let message_id = snowflake("message_id", &message_id)?;
    let place = access::place(&state, channel_id, caller.user.id).await?;
    state
        .messages
        .get(place.id(), message_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_MESSAGE)?;
    // Written with the other acks queued meanwhile, which also tells the
    // user's other sessions (MESSAGE_ACK).
    state
        .acks()
        .ack(hearth_store::Ack {
            user: caller.user.id,
            channel: place.id(),
            message_id,
        })
        .await?;
    Ok(Json(json!({ "token": null })))
}
