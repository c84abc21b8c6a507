use std::time::Duration;

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Sent in Hello; a connection silent for 1.5 intervals is closed.
    pub heartbeat_interval: Duration,
    /// How long a session whose connection dropped stays resumable.
    pub resume_grace: Duration,
    /// Dispatches kept for resuming, beyond what the client acknowledged.
    pub resume_buffer: usize,
    /// Dispatches queued for a connection's writer; a client that falls this
    /// far behind is disconnected (resumably) rather than let memory grow.
    pub outbox: usize,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            heartbeat_interval: Duration::from_millis(41_250),
            resume_grace: Duration::from_secs(120),
            resume_buffer: 4096,
            outbox: 1024,
        }
    }
}
