use std::net::IpAddr;
use std::time::Duration;

use crate::routes::RouteLimits;

#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// Worker threads; each owns one UDP socket and the rooms placed on it.
    pub workers: usize,
    /// The address the workers' UDP sockets bind to: an interface of this
    /// machine, or the unspecified address for all of them.
    pub rtc_bind: IpAddr,
    /// The address put in host candidates, where clients send media: the
    /// bind address itself, or the public address a 1:1 NAT (a cloud VM's,
    /// a container's port mapping) forwards to it. Never unspecified.
    pub rtc_advertise: IpAddr,
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
    /// How long a join waits for the user's voice state to reach this node
    /// when it is not here yet: zero alone (the gateway beside the SFU has
    /// it before the client has its token), longer in a cluster, where it
    /// crosses Redis while the client crosses the Internet.
    pub voice_state_wait: Duration,
}

impl Default for SfuConfig {
    fn default() -> Self {
        SfuConfig {
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            rtc_bind: IpAddr::from([127, 0, 0, 1]),
            rtc_advertise: IpAddr::from([127, 0, 0, 1]),
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
            voice_state_wait: Duration::ZERO,
        }
    }
}

/// Whether clients can be told to send media to `ip`: a unicast address of
/// some host, not the unspecified, a multicast or the broadcast address,
/// nor an IPv4 link-local one (str0m refuses such host candidates).
pub fn is_concrete(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast() || v4.is_link_local())
        }
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
    }
}
