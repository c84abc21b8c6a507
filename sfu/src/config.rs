use std::net::IpAddr;
use std::time::Duration;

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
        }
    }
}
