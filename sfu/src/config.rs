use std::net::IpAddr;
use std::time::Duration;

use crate::routes::RouteLimits;

#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// Worker threads; each owns one UDP socket and the rooms placed on it.
    pub workers: usize,
    /// The address put in host candidates (what clients send media to).
    pub rtc_ip: IpAddr,
    /// Worker `i` binds `rtc_port + i`; 0 lets the system pick per worker.
    pub rtc_port: u16,
    /// Shared with the gateway, which signs the voice tokens.
    pub voice_secret: Vec<u8>,
    /// This node's name, as voice tokens name it.
    pub node: String,
    /// Sent in the voice gateway's Hello.
    pub heartbeat_interval: Duration,
    /// How long a participant whose voice WebSocket closed (or whose ICE or
    /// DTLS failed) keeps its place, waiting for a resume.
    pub disconnect_grace: Duration,
    /// Source addresses routed to one participant at a time, and over the
    /// life of its call (see `routes`).
    pub routes: RouteLimits,
    /// m-lines a client's offer may carry: each track it publishes becomes
    /// an m-line in every other participant's session, so this bounds what
    /// one participant costs the room.
    pub max_tracks: usize,
    /// Largest voice WebSocket payload, in bytes (an SDP offer with
    /// `max_tracks` m-lines fits several times over).
    pub max_payload_bytes: usize,
    /// Payloads a voice WebSocket may send per `rate_window` (heartbeats
    /// included), as the main gateway allows.
    pub rate_limit: u32,
    pub rate_window: Duration,
}

impl Default for SfuConfig {
    fn default() -> Self {
        SfuConfig {
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            rtc_ip: IpAddr::from([127, 0, 0, 1]),
            rtc_port: 0,
            voice_secret: Vec::new(),
            node: "local".into(),
            heartbeat_interval: Duration::from_millis(13_750),
            disconnect_grace: Duration::from_secs(5),
            routes: RouteLimits::default(),
            max_tracks: 8,
            max_payload_bytes: 64 * 1024,
            rate_limit: 120,
            rate_window: Duration::from_secs(60),
        }
    }
}
