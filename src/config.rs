//! Configuration: command-line flags, then `HEARTH_*` environment variables
//! (clap reads both), then an optional TOML file, then defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(
    name = "hearth",
    version,
    about = "Self-hostable chat, presence and voice"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node: REST API on an embedded store.
    Serve(ServeArgs),
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// TOML file with any of the settings below (snake_case keys).
    #[arg(long, env = "HEARTH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on for HTTP. [default: 127.0.0.1:8080]
    #[arg(long, env = "HEARTH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the embedded database. [default: ./hearth-data]
    #[arg(long, env = "HEARTH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Enforce rate limits: on or off. [default: on]
    #[arg(long, env = "HEARTH_RATE_LIMITS")]
    pub rate_limits: Option<Switch>,
    /// full: fsync every commit (survives power loss); normal: survives
    /// process crashes only, faster. [default: full]
    #[arg(long, env = "HEARTH_DURABILITY")]
    pub durability: Option<String>,
    /// Largest accepted request body in bytes. [default: 1048576]
    #[arg(long, env = "HEARTH_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// This node's id (0–1023), written into every snowflake it makes. [default: 0]
    #[arg(long, env = "HEARTH_NODE_ID")]
    pub node_id: Option<u16>,
    /// Gateway heartbeat interval sent in Hello, in milliseconds. [default: 41250]
    #[arg(long, env = "HEARTH_HEARTBEAT_INTERVAL_MS")]
    pub heartbeat_interval_ms: Option<u64>,
    /// How long a dropped gateway session stays resumable, in seconds. [default: 120]
    #[arg(long, env = "HEARTH_RESUME_GRACE_SECS")]
    pub resume_grace_secs: Option<u64>,
    /// Secret that signs voice tokens; SFU nodes must share it. [default:
    /// random per start]
    #[arg(long, env = "HEARTH_VOICE_SECRET", hide_env_values = true)]
    pub voice_secret: Option<String>,
    /// The voice gateway address sent to clients, without a scheme
    /// (`host:port/voice`). [default: the bound address + `/voice`]
    #[arg(long, env = "HEARTH_VOICE_ENDPOINT")]
    pub voice_endpoint: Option<String>,
    /// Address put in media host candidates (where clients send RTP).
    /// [default: 127.0.0.1]
    #[arg(long, env = "HEARTH_RTC_IP")]
    pub rtc_ip: Option<std::net::IpAddr>,
    /// First UDP port of the SFU workers (worker i uses rtc_port + i); 0
    /// lets the system pick free ports (fine on one machine; set a fixed
    /// range to open in a firewall). [default: 0]
    #[arg(long, env = "HEARTH_RTC_PORT")]
    pub rtc_port: Option<u16>,
    /// SFU worker threads. [default: the number of cores]
    #[arg(long, env = "HEARTH_SFU_WORKERS")]
    pub sfu_workers: Option<usize>,
    /// How long a voice participant whose voice WebSocket closed (or whose
    /// ICE/DTLS failed) keeps its place, in seconds. [default: 5]
    #[arg(long, env = "HEARTH_VOICE_GRACE_SECS")]
    pub voice_grace_secs: Option<u64>,
    /// Source addresses routed to one voice participant at a time; a new
    /// one replaces the quietest. [default: 8]
    #[arg(long, env = "HEARTH_VOICE_MAX_ROUTES")]
    pub voice_max_routes: Option<usize>,
    /// Source addresses one voice participant may try over its call; past
    /// that, new ones are dropped. [default: 64]
    #[arg(long, env = "HEARTH_VOICE_MAX_NEW_ROUTES")]
    pub voice_max_new_routes: Option<usize>,
    /// m-lines (tracks) a voice client's offer may carry; more is refused
    /// with close code 4020. [default: 8]
    #[arg(long, env = "HEARTH_VOICE_MAX_TRACKS")]
    pub voice_max_tracks: Option<usize>,
    /// Largest voice WebSocket payload in bytes; larger is closed with
    /// 4020. [default: 65536]
    #[arg(long, env = "HEARTH_VOICE_MAX_PAYLOAD_BYTES")]
    pub voice_max_payload_bytes: Option<usize>,
    /// Payloads a voice WebSocket may send per minute, heartbeats
    /// included; more is closed with 4021. [default: 120]
    #[arg(long, env = "HEARTH_VOICE_RATE_LIMIT")]
    pub voice_rate_limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Switch {
    On,
    Off,
}

/// The file's shape: the same settings, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    rate_limits: Option<Switch>,
    durability: Option<String>,
    max_body_bytes: Option<usize>,
    node_id: Option<u16>,
    heartbeat_interval_ms: Option<u64>,
    resume_grace_secs: Option<u64>,
    voice_secret: Option<String>,
    voice_endpoint: Option<String>,
    rtc_ip: Option<std::net::IpAddr>,
    rtc_port: Option<u16>,
    sfu_workers: Option<usize>,
    voice_grace_secs: Option<u64>,
    voice_max_routes: Option<usize>,
    voice_max_new_routes: Option<usize>,
    voice_max_tracks: Option<usize>,
    voice_max_payload_bytes: Option<usize>,
    voice_rate_limit: Option<u32>,
}

/// Settings after merging every source.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub rate_limits: bool,
    pub durability: hearth_store::Durability,
    pub max_body_bytes: usize,
    pub node_id: u16,
    pub gateway: hearth_signaling::GatewayConfig,
    /// Set by the operator; otherwise derived from the bound address.
    pub voice_endpoint: Option<String>,
    /// The voice secret and node name are the gateway's (set in `main`).
    pub sfu: hearth_sfu::SfuConfig,
}

impl ServeArgs {
    pub fn resolve(self) -> anyhow::Result<ServeConfig> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .with_context(|| format!("parsing {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let durability = self
            .durability
            .or(file.durability)
            .unwrap_or_else(|| "full".into());
        let node_id = self.node_id.or(file.node_id).unwrap_or(0);
        anyhow::ensure!(node_id < 1024, "node_id must be below 1024");
        let mut gateway = hearth_signaling::GatewayConfig::default();
        if let Some(ms) = self.heartbeat_interval_ms.or(file.heartbeat_interval_ms) {
            anyhow::ensure!(ms >= 100, "heartbeat_interval_ms must be at least 100");
            gateway.heartbeat_interval = std::time::Duration::from_millis(ms);
        }
        if let Some(s) = self.resume_grace_secs.or(file.resume_grace_secs) {
            gateway.resume_grace = std::time::Duration::from_secs(s);
        }
        if let Some(secret) = self.voice_secret.or(file.voice_secret) {
            anyhow::ensure!(!secret.is_empty(), "voice_secret must not be empty");
            gateway.voice_secret = secret.into_bytes();
        }
        let voice_endpoint = self.voice_endpoint.or(file.voice_endpoint);
        if let Some(e) = &voice_endpoint {
            anyhow::ensure!(
                !e.is_empty() && !e.contains("://"),
                "voice_endpoint must be host:port/path, without a scheme"
            );
        }
        let mut sfu = hearth_sfu::SfuConfig::default();
        if let Some(ip) = self.rtc_ip.or(file.rtc_ip) {
            sfu.rtc_ip = ip;
        }
        sfu.rtc_port = self.rtc_port.or(file.rtc_port).unwrap_or(0);
        if let Some(n) = self.sfu_workers.or(file.sfu_workers) {
            anyhow::ensure!(
                (1..=256).contains(&n),
                "sfu_workers must be between 1 and 256"
            );
            sfu.workers = n;
        }
        if let Some(s) = self.voice_grace_secs.or(file.voice_grace_secs) {
            sfu.disconnect_grace = std::time::Duration::from_secs(s);
        }
        if let Some(n) = self.voice_max_routes.or(file.voice_max_routes) {
            anyhow::ensure!(n >= 1, "voice_max_routes must be at least 1");
            sfu.routes.max_routes = n;
        }
        if let Some(n) = self.voice_max_new_routes.or(file.voice_max_new_routes) {
            anyhow::ensure!(n >= 1, "voice_max_new_routes must be at least 1");
            sfu.routes.max_new_routes = n;
        }
        if let Some(n) = self.voice_max_tracks.or(file.voice_max_tracks) {
            anyhow::ensure!(n >= 1, "voice_max_tracks must be at least 1");
            sfu.max_tracks = n;
        }
        if let Some(n) = self
            .voice_max_payload_bytes
            .or(file.voice_max_payload_bytes)
        {
            anyhow::ensure!(
                n >= 4096,
                "voice_max_payload_bytes must be at least 4096 (an SDP offer)"
            );
            sfu.max_payload_bytes = n;
        }
        if let Some(n) = self.voice_rate_limit.or(file.voice_rate_limit) {
            anyhow::ensure!(n >= 10, "voice_rate_limit must be at least 10 a minute");
            sfu.rate_limit = n;
        }
        sfu.voice_secret = gateway.voice_secret.clone();
        sfu.node = gateway.node_name.clone();
        Ok(ServeConfig {
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            data_dir: self
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("hearth-data")),
            rate_limits: self.rate_limits.or(file.rate_limits).unwrap_or(Switch::On) == Switch::On,
            durability: durability.parse().map_err(anyhow::Error::msg)?,
            max_body_bytes: self
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(1024 * 1024),
            node_id,
            gateway,
            voice_endpoint,
            sfu,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let dir = std::env::temp_dir().join(format!("hearth-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hearth.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nrate_limits = \"off\"\nnode_id = 7\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            node_id: Some(3),
            ..Default::default()
        };
        let c = args.resolve().unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert!(!c.rate_limits);
        assert_eq!(c.node_id, 3);
        assert_eq!(c.data_dir, PathBuf::from("hearth-data"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn voice_secret_and_endpoint_come_from_flags_or_the_file() {
        let dir = std::env::temp_dir().join(format!("hearth-config-test3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hearth.toml");
        std::fs::write(
            &path,
            "voice_secret = \"from-file\"\nvoice_endpoint = \"media.example:443/voice\"\n",
        )
        .unwrap();
        let c = ServeArgs {
            config: Some(path.clone()),
            voice_secret: Some("from-flag".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(c.gateway.voice_secret, b"from-flag");
        assert_eq!(c.voice_endpoint.as_deref(), Some("media.example:443/voice"));
        assert!(
            !format!("{c:?}").contains("from-flag"),
            "the secret leaks into Debug"
        );

        let defaults = ServeArgs::default().resolve().unwrap();
        assert_eq!(defaults.gateway.voice_secret.len(), 32);
        assert_eq!(defaults.voice_endpoint, None);

        let with_scheme = ServeArgs {
            voice_endpoint: Some("wss://media.example/voice".into()),
            ..Default::default()
        };
        assert!(with_scheme.resolve().is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn voice_limits_come_from_flags_or_the_file_and_have_defaults() {
        let defaults = ServeArgs::default().resolve().unwrap().sfu;
        assert_eq!(defaults.routes.max_routes, 8);
        assert_eq!(defaults.routes.max_new_routes, 64);
        assert_eq!(defaults.max_tracks, 8);
        assert_eq!(defaults.max_payload_bytes, 65_536);
        assert_eq!(defaults.rate_limit, 120);

        let dir = std::env::temp_dir().join(format!("hearth-config-test4-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hearth.toml");
        std::fs::write(
            &path,
            "voice_max_routes = 4\nvoice_max_new_routes = 16\nvoice_max_tracks = 3\n\
             voice_max_payload_bytes = 8192\nvoice_rate_limit = 60\n",
        )
        .unwrap();
        let sfu = ServeArgs {
            config: Some(path.clone()),
            voice_max_tracks: Some(5),
            ..Default::default()
        }
        .resolve()
        .unwrap()
        .sfu;
        assert_eq!(sfu.routes.max_routes, 4);
        assert_eq!(sfu.routes.max_new_routes, 16);
        assert_eq!(sfu.max_tracks, 5, "the flag wins over the file");
        assert_eq!(sfu.max_payload_bytes, 8192);
        assert_eq!(sfu.rate_limit, 60);

        let too_small = ServeArgs {
            voice_max_payload_bytes: Some(100),
            ..Default::default()
        };
        assert!(too_small.resolve().is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        let dir = std::env::temp_dir().join(format!("hearth-config-test2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hearth.toml");
        std::fs::write(&path, "listne = \"127.0.0.1:9000\"\n").unwrap();
        let err = ServeArgs {
            config: Some(path),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(format!("{err:#}").contains("listne"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
