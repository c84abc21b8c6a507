//! Blocking users: Discord's relationships of type 2. A block holds both
//! ways: neither user may open a DM with, write in a DM to, add to a group
//! DM or call the other (50007). Hearth has no friends, so no other type
//! is accepted. Only the blocker hears of it (RELATIONSHIP_ADD/REMOVE,
//! READY's `relationships`); bots cannot block, as on Discord.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use hearth_model::{Relationship, Snowflake, Timestamp};
use hearth_proto::events::Event;
use hearth_proto::{ErrorCode, FormErrors};
use serde::Deserialize;

use crate::error::ApiResult;
use crate::extract::{snowflake, Body, Caller};
use crate::state::AppState;

/// Users one user may block.
pub const MAX_BLOCKS: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users/@me/relationships", get(list))
        .route(
            "/users/@me/relationships/{user_id}",
            put(block).delete(unblock),
        )
}

#[derive(Debug, Deserialize)]
struct BlockBody {
    #[serde(default, rename = "type")]
    kind: Option<u8>,
}

fn people_only(caller: &Caller) -> ApiResult<()> {
    if caller.user.bot {
        return Err(ErrorCode::BOTS_CANNOT_USE.into());
    }
    Ok(())
}

/// The users the caller blocks (those since deleted left out).
pub async fn blocks_of(state: &AppState, user: Snowflake) -> ApiResult<Vec<Relationship>> {
    let mut out = Vec::new();
    for (id, since) in state.store.blocked_by(user).await? {
        if let Some(u) = state.store.user(id).await? {
            out.push(Relationship::block(u, since));
        }
    }
    Ok(out)
}

async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Relationship>>> {
    people_only(&caller)?;
    Ok(Json(blocks_of(&state, caller.user.id).await?))
}

async fn block(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    Body(body): Body<BlockBody>,
) -> ApiResult<StatusCode> {
    people_only(&caller)?;
    let target = snowflake("user_id", &user_id)?;
    if body.kind != Some(Relationship::BLOCKED) {
        return Err(FormErrors::single(
            "type",
            "BASE_TYPE_CHOICES",
            "Only blocking (type 2) is supported: there are no friends here.",
        )
        .into());
    }
    if target == caller.user.id {
        return Err(FormErrors::single(
            "user_id",
            "BASE_TYPE_INVALID",
            "You cannot block yourself.",
        )
        .into());
    }
    let user = state
        .store
        .user(target)
        .await?
        .ok_or(ErrorCode::UNKNOWN_USER)?;
    let since = Timestamp::now();
    if state
        .store
        .block(caller.user.id, target, since, MAX_BLOCKS)
        .await?
    {
        state.bus.publish(Event::RelationshipAdd {
            user_id: caller.user.id,
            relationship: Relationship::block(user, since),
        });
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn unblock(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> ApiResult<StatusCode> {
    people_only(&caller)?;
    let target = snowflake("user_id", &user_id)?;
    if state.store.unblock(caller.user.id, target).await? {
        state.bus.publish(Event::RelationshipRemove {
            user_id: caller.user.id,
            other: target,
        });
    }
    Ok(StatusCode::NO_CONTENT)
}
