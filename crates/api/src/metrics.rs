//! The node's Prometheus metrics, in an explicit registry.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

#[derive(Clone)]
pub struct Metrics {
    registry: std::sync::Arc<Registry>,
    /// Store queries made to list a channel's messages (after coalescing and caching).
    pub message_list_queries: Counter,
    /// Message list requests served, whether from the store, a shared query or the cache.
    pub message_list_requests: Counter,
    pub messages_created: Counter,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hearth");
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
            registry: std::sync::Arc::new(registry),
            message_list_queries,
            message_list_requests,
            messages_created,
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        encode(&mut out, &self.registry).expect("encoding metrics into a String");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
