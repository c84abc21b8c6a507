//! The node's Prometheus metrics, in an explicit registry.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

/// The REST side's metrics. The node's registry is built in `main`, which
/// hands it to every component to register in, then serves it.
#[derive(Clone)]
pub struct Metrics {
    /// Store queries made to list a channel's messages (after coalescing and caching).
    pub message_list_queries: Counter,
    /// Message list requests served, whether from the store, a shared query or the cache.
    pub message_list_requests: Counter,
    pub messages_created: Counter,
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
        Metrics {
            message_list_queries,
            message_list_requests,
            messages_created,
        }
    }
}

/// `GET /metrics`: the node's registry in OpenMetrics text.
pub fn router(registry: std::sync::Arc<Registry>) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let registry = registry.clone();
            async move {
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
            }
        }),
    )
}
