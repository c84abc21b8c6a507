//! The gateway's metrics (`hearth_gateway_*`), registered in the node's
//! registry by `main`.
//!
//! Counted where the work is already done, never per session in the
//! fan-out's inner loop: dispatches are added once per event.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Default)]
pub struct GatewayMetrics {
    /// Registered sessions, connected or waiting for a resume.
    pub sessions: Gauge,
    pub identifies: Counter,
    pub resumes: Counter,
    /// Resumes answered with op 9: the session was unknown here.
    pub resumes_refused: Counter,
    /// Connections cut loose because they did not read fast enough.
    pub slow_consumers: Counter,
    /// Events fanned out by this node.
    pub events: Counter,
    /// Dispatches queued for sessions (one event makes many).
    pub dispatches: Counter,
    /// Sessions of dead nodes carried on here (see `recovery`).
    pub takeovers: Counter,
    /// Journal flushes written to Redis, and those Redis did not take.
    pub journal_flushes: Counter,
    pub journal_failures: Counter,
    /// Dispatches journaled, and payloads written (one per event and form,
    /// however many sessions got it).
    pub journal_dispatches: Counter,
    pub journal_payloads: Counter,
}

impl GatewayMetrics {
    pub fn register(&self, registry: &mut Registry) {
        let gateway = registry.sub_registry_with_prefix("gateway");
        gateway.register(
            "sessions",
            "Gateway sessions held, connected or resumable",
            self.sessions.clone(),
        );
        for (name, help, counter) in [
            (
                "identifies",
                "Sessions started by Identify",
                &self.identifies,
            ),
            ("resumes", "Sessions resumed", &self.resumes),
            (
                "resumes_refused",
                "Resumes of sessions this node does not hold (op 9)",
                &self.resumes_refused,
            ),
            (
                "slow_consumers",
                "Connections cut loose for reading too slowly (resumable)",
                &self.slow_consumers,
            ),
            ("events", "Events fanned out to sessions", &self.events),
            (
                "dispatches",
                "Dispatches queued for sessions",
                &self.dispatches,
            ),
            (
                "takeovers",
                "Sessions of dead nodes resumed here from their journal",
                &self.takeovers,
            ),
            (
                "journal_flushes",
                "Session journal flushes written to Redis",
                &self.journal_flushes,
            ),
            (
                "journal_failures",
                "Session journal flushes Redis did not take",
                &self.journal_failures,
            ),
            (
                "journal_dispatches",
                "Dispatches written to the session journal",
                &self.journal_dispatches,
            ),
            (
                "journal_payloads",
                "Dispatch payloads written to the session journal",
                &self.journal_payloads,
            ),
        ] {
            gateway.register(name, help, counter.clone());
        }
    }
}
