use std::fmt;
use std::time::Duration;

use rand::RngCore;

use crate::session::ResumeLimit;
use crate::starts::StartLimit;

#[derive(Clone)]
pub struct GatewayConfig {
    /// Where clients reach the node (`https://chat.example.org`); READY's
    /// `resume_gateway_url` is derived from it. None: from the Host header.
    pub public_url: Option<String>,
    /// Sent in Hello; a connection silent for 1.5 intervals is closed.
    pub heartbeat_interval: Duration,
    /// A connection that has not identified or resumed this long after
    /// Hello is closed with 4003, heartbeats or not.
    pub identify_timeout: Duration,
    /// How long a session whose connection dropped stays resumable.
    pub resume_grace: Duration,
    /// How long a DM call rings a recipient who neither joins nor declines.
    pub call_ring: Duration,
    /// Dispatches kept for resuming, beyond what the client acknowledged.
    pub resume_buffer: usize,
    /// The same buffer's bound in bytes (of the dispatches' JSON); the
    /// oldest go first when either bound is passed.
    pub resume_buffer_bytes: usize,
    /// Connected sessions one account may hold; an Identify beyond them
    /// is closed with 4008.
    pub max_sessions_per_user: usize,
    /// Dropped-but-resumable sessions one account may hold; beyond them
    /// the longest-detached is ended.
    pub max_resumable_per_user: usize,
    /// Identifies per account per day and per five seconds.
    pub session_starts: StartLimit,
    /// Dispatches queued for a connection's writer; a client that falls this
    /// far behind is disconnected (resumably) rather than let memory grow.
    pub outbox: usize,
    /// Signs the voice tokens of VOICE_SERVER_UPDATE; the SFU nodes verify
    /// them with the same secret.
    pub voice_secret: Vec<u8>,
    /// Where clients open the voice gateway, without a scheme
    /// (`host:port/voice`), as sent in VOICE_SERVER_UPDATE.
    pub voice_endpoint: String,
    /// The SFU node voice tokens are issued for.
    pub node_name: String,
    /// A request header (lower case) in which the operator's proxy names
    /// the client's region, for placing voice rooms near it.
    pub region_header: Option<String>,
    /// READY's `resume_gateway_url` when set (this node's own address,
    /// so resumes come back to it); else the URL the client used.
    pub resume_url: Option<String>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        // A fresh secret per process: tokens are short-lived and checked by
        // this node's own SFU unless the operator shares one across nodes.
        let mut voice_secret = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut voice_secret);
        GatewayConfig {
            heartbeat_interval: Duration::from_millis(41_250),
            identify_timeout: Duration::from_secs(20),
            resume_grace: Duration::from_secs(120),
            call_ring: Duration::from_secs(60),
            resume_buffer: 4096,
            resume_buffer_bytes: 4 << 20,
            max_sessions_per_user: 16,
            max_resumable_per_user: 8,
            session_starts: StartLimit {
                total: 1000,
                max_concurrency: 16,
            },
            outbox: 1024,
            voice_secret,
            voice_endpoint: "127.0.0.1:8080/voice".into(),
            node_name: "local".into(),
            region_header: None,
            resume_url: None,
            public_url: None,
        }
    }
}

impl GatewayConfig {
    pub fn resume_limit(&self) -> ResumeLimit {
        ResumeLimit {
            dispatches: self.resume_buffer,
            bytes: self.resume_buffer_bytes,
        }
    }
}

/// By hand, so the voice secret never reaches a log.
impl fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("identify_timeout", &self.identify_timeout)
            .field("resume_grace", &self.resume_grace)
            .field("call_ring", &self.call_ring)
            .field("resume_buffer", &self.resume_buffer)
            .field("resume_buffer_bytes", &self.resume_buffer_bytes)
            .field("max_sessions_per_user", &self.max_sessions_per_user)
            .field("max_resumable_per_user", &self.max_resumable_per_user)
            .field("session_starts", &self.session_starts)
            .field("outbox", &self.outbox)
            .field("voice_secret", &"<redacted>")
            .field("voice_endpoint", &self.voice_endpoint)
            .field("node_name", &self.node_name)
            .field("public_url", &self.public_url)
            .finish()
    }
}
