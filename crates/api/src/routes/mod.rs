//! The router: one small function per resource, composed here, served under
//! `/api/v10` and `/api/v9`.

mod absent;
pub(crate) mod accounts;
mod applications;
mod calls;
mod channels;
mod commands;
mod gateway;
mod guilds;
mod interactions;
mod invites;
mod limits;
mod members;
pub(crate) mod messages;
mod notifications;
mod observe;
mod pins;
mod private;
mod reactions;
mod read_states;
pub mod relationships;
mod roles;
mod search;
pub(crate) mod threads;
mod unsupported;
mod voice_regions;
mod webhooks;

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::Router;
use hearth_proto::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let api = || {
        Router::new()
            .merge(accounts::routes())
            .merge(applications::routes())
            .merge(guilds::routes())
            .merge(commands::routes())
            .merge(channels::routes())
            .merge(gateway::routes())
            .merge(roles::routes())
            .merge(members::routes())
            .merge(invites::routes())
            .merge(interactions::routes())
            .merge(messages::routes())
            .merge(reactions::routes())
            .merge(pins::routes())
            .merge(threads::routes())
            .merge(private::routes())
            .merge(calls::routes())
            .merge(relationships::routes())
            .merge(read_states::routes())
            .merge(search::routes())
            .merge(notifications::routes())
            .merge(webhooks::routes())
            .merge(voice_regions::routes())
            .merge(absent::routes())
            .route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                limits::rate_limit,
            ))
            // Outside the rate limiter: a refused request is timed too.
            .route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                observe::observe,
            ))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
    };
    Router::new()
        .nest("/api/v10", api())
        .nest("/api/v9", api())
        .merge(crate::files::serve::routes())
        .merge(crate::files::avatars::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .with_state(state)
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    unsupported::refusal(&method, &uri, ApiError::Code(ErrorCode::NOT_FOUND))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    unsupported::refusal(&method, &uri, ApiError::Code(ErrorCode::METHOD_NOT_ALLOWED))
}
