//! Where the gateway is: `GET /gateway` and `GET /gateway/bot`.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::routing::get;
use axum::{Json, Router};
use hearth_proto::gateway::{gateway_url, public_gateway_url};
use hearth_proto::ErrorCode;
use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::extract::Caller;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/gateway", get(gateway))
        .route("/gateway/bot", get(gateway_bot))
}

/// The gateway is served by this same node: at the operator's public URL
/// when one is set (a client's Host header must not choose where others are
/// sent), else at the host the client used.
fn url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(public) = &state.config.public_url {
        return public_gateway_url(public);
    }
    let header = |name| {
        headers
            .get(name)
            .and_then(|h: &axum::http::HeaderValue| h.to_str().ok())
    };
    let host = header(header::HOST.as_str()).unwrap_or("127.0.0.1");
    gateway_url(host, header("x-forwarded-proto") == Some("https"))
}

async fn gateway(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    Json(json!({ "url": url(&state, &headers) }))
}

async fn gateway_bot(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    if !caller.user.bot {
        return Err(ErrorCode::UNAUTHORIZED.into());
    }
    // One node serves every guild: one shard. The Identify budget is the
    // gateway's count for this bot.
    let limit = match state.sessions() {
        Some(s) => Some(s.session_start_limit(caller.user.id).await),
        None => None,
    };
    Ok(Json(json!({
        "url": url(&state, &headers),
        "shards": 1,
        "session_start_limit": limit,
    })))
}
