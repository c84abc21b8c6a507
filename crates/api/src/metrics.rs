//! The node's Prometheus metrics, in an explicit registry.

use axum::response::IntoResponse;
use hearth_proto::ErrorCode;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::error::ApiError;

/// The REST side's metrics. The node's registry is built in `main`, which
/// hands it to every component to register in, then serves it.
#[derive(Clone)]
pub struct Metrics {
    /// Store queries made to list a channel's messages (after coalescing and caching).
    pub message_list_queries: Counter,
    /// Message list requests served, whether from the store, a shared query or the cache.
    pub message_list_requests: Counter,
    pub messages_created: Counter,
    /// REST requests by route template (not by path: the set of labels is
    /// the set of routes), method and status class.
    pub http_requests: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// Read states each commit of acks wrote (see `acks`).
    pub ack_batch_size: Histogram,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    /// The route's template, `/channels/{channel_id}/messages`.
    pub route: String,
    /// `2xx`, `4xx`, ...
    pub status: String,
}

fn request_histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    pub fn register(registry: &mut Registry) -> Self {
        let message_list_queries = Counter::default();
        let message_list_requests = Counter::default();
        let messages_created = Counter::default();
        registry.register(
            "store_message_list_queries",
            "Store queries made to list channel messages",
            message_list_queries.clone(),
        );
        registry.register(
            "message_list_requests",
            "Message list requests answered",
            message_list_requests.clone(),
        );
        registry.register(
            "messages_created",
            "Messages created",
            messages_created.clone(),
        );
        let http_requests: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(request_histogram);
        registry.register(
            "http_request_duration_seconds",
            "REST requests by route, method and status class, from routing to response",
            http_requests.clone(),
        );
        // 1 to 1024 read states a commit.
        let ack_batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 11));
        registry.register(
            "read_state_ack_batch_size",
            "Read states written by each commit of queued acks",
            ack_batch_size.clone(),
        );
        Metrics {
            message_list_queries,
            message_list_requests,
            messages_created,
            http_requests,
            ack_batch_size,
        }
    }
}

/// `GET /metrics`: the node's registry in OpenMetrics text.
///
/// Metrics say how busy the node is and how many sessions and calls it
/// holds; by default anyone who reaches the listener can read them. With a
/// `token`, a request must carry `Authorization: Bearer <token>` (401 in
/// Discord's shape otherwise); the binary can also serve this router on a
/// separate, private address instead.
pub fn router(registry: std::sync::Arc<Registry>, token: Option<String>) -> axum::Router {
    // Compared as hashes: the comparison's time says nothing about how
    // much of a guessed token was right.
    let expected = token.map(|t| hearth_store::token_hash(&t));
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let registry = registry.clone();
            async move {
                if let Some(expected) = expected {
                    let presented = headers
                        .get(axum::http::header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.strip_prefix("Bearer "))
                        .map(|t| hearth_store::token_hash(t.trim()));
                    if presented != Some(expected) {
                        return ApiError::Code(ErrorCode::UNAUTHORIZED).into_response();
                    }
                }
                let mut out = String::new();
                // Writing into a String cannot fail.
                encode(&mut out, &registry).expect("encoding metrics into a String");
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    out,
                )
                    .into_response()
            }
        }),
    )
}
