//! `GET /voice/regions`: the regions voice calls can be placed in, for a
//! channel's `rtc_region`. Alone, a node offers its own region; in a
//! cluster, the regions of the SFU nodes running now.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::extract::Caller;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/voice/regions", get(list))
        // A guild's regions are the same: every guild may use every one.
        .route("/guilds/{guild_id}/regions", get(guild_list))
}

/// For members of the guild only, as any guild route.
async fn guild_list(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let guild_id = crate::extract::snowflake("guild_id", &guild_id)?;
    crate::access::guild(&state, guild_id, caller.user.id).await?;
    list(State(state), caller).await
}

async fn list(State(state): State<AppState>, _caller: Caller) -> ApiResult<Json<Value>> {
    let Some(regions) = state.voice_regions() else {
        return Ok(Json(json!([])));
    };
    let mut names = regions.regions().await;
    names.sort();
    names.dedup();
    let home = regions.home();
    Ok(Json(Value::Array(
        names
            .into_iter()
            .map(|id| {
                json!({
                    "id": id,
                    "name": id,
                    "optimal": id == home,
                    "deprecated": false,
                    "custom": false,
                })
            })
            .collect(),
    )))
}
