//! How long each REST route takes, by its template: the middleware that
//! fills `hearth_http_request_duration_seconds`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::metrics::RouteLabels;
use crate::state::AppState;

pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // `/api/v9/...` and `/api/v10/...` are one route.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| {
            m.as_str()
                .trim_start_matches("/api/v9")
                .trim_start_matches("/api/v10")
                .to_owned()
        })
        .unwrap_or_default();
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    let labels = RouteLabels {
        method,
        route,
        status: format!("{}xx", res.status().as_u16() / 100),
    };
    state
        .metrics
        .http_requests
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    res
}
