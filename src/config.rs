//! Configuration: command-line flags, then `HEARTH_*` environment variables
//! (clap reads both), then an optional TOML file, then defaults.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
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

impl Cli {
    /// Parses the command line (exiting with clap's message on an error),
    /// with `serve`'s settings grouped under [`HEADINGS`].
    pub fn parse_grouped() -> Cli {
        let matches = with_headings(Cli::command()).get_matches();
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

/// The headings `hearth serve --help` groups its settings under, in one
/// table rather than an attribute on each field: settings added on other
/// branches then merge without touching these lines, and the test
/// `every_serve_setting_has_a_heading` names any left out. Names of
/// settings not (yet) defined are skipped.
const HEADINGS: &[(&str, &[&str])] = &[
    (
        "Network",
        &[
            "listen",
            "public_url",
            "trusted_proxy",
            "max_connections",
            "max_connections_per_address",
            "http_header_timeout_secs",
            "http_body_timeout_secs",
            "http_upload_timeout_secs",
            "max_body_bytes",
        ],
    ),
    (
        "Storage",
        &[
            "data_dir",
            "durability",
            "database",
            "s3_endpoint",
            "s3_bucket",
            "s3_region",
            "s3_access_key",
            "s3_secret_key",
            "s3_prefix",
            "ack_batch_max",
        ],
    ),
    (
        "Gateway",
        &[
            "heartbeat_interval_ms",
            "identify_timeout_ms",
            "resume_grace_secs",
            "call_ring_secs",
            "resume_buffer_bytes",
            "resume_buffer_dispatches",
            "outbox_dispatches",
        ],
    ),
    (
        "Limits",
        &[
            "rate_limits",
            "registration",
            "max_sessions_per_user",
            "max_resumable_per_user",
            "session_start_limit",
            "identify_max_concurrency",
            "max_roles_per_guild",
            "max_channels_per_guild",
            "max_webhooks_per_channel",
            "max_overwrites_per_channel",
            "max_upload_bytes",
            "max_message_upload_bytes",
        ],
    ),
    (
        "Media (SFU)",
        &[
            "voice_endpoint",
            "voice_secret",
            "rtc_bind",
            "rtc_advertise",
            "rtc_ip",
            "rtc_port",
            "sfu_workers",
            "sfu_max_participants",
            "voice_grace_secs",
            "voice_max_routes",
            "voice_max_new_routes",
            "voice_max_tracks",
            "voice_max_payload_bytes",
            "voice_rate_limit",
        ],
    ),
    (
        "Cluster",
        &[
            "role",
            "region",
            "region_header",
            "resume_url",
            "node_id",
            "redis",
            "drain_timeout_secs",
            "session_journal",
        ],
    ),
    (
        "Logging and metrics",
        &["log_format", "metrics_listen", "metrics_token"],
    ),
];

/// `command` with the headings of [`HEADINGS`] on `serve`'s settings.
fn with_headings(command: clap::Command) -> clap::Command {
    command.mut_subcommand("serve", |serve| {
        let ids: Vec<String> = serve
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .collect();
        ids.iter().fold(serve, |serve, id| {
            match HEADINGS.iter().find(|(_, ids)| ids.contains(&id.as_str())) {
                Some((heading, _)) => serve.mut_arg(id, |a| a.help_heading(*heading)),
                None => serve,
            }
        })
    })
}

// Parsed once at start: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node: REST API on an embedded store.
    Serve(ServeArgs),
    /// Operator's account controls on a node's data directory (the node may
    /// be running or stopped).
    Admin(crate::admin::AdminArgs),
    /// Drain an SFU node of a cluster (as SIGTERM does), or list them.
    Drain(crate::drain::DrainArgs),
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
    /// A PostgreSQL database shared by the nodes of a cluster
    /// (`postgres://user:password@host:5432/hearth`). Without it the node
    /// keeps an embedded SQLite database in --data-dir. [default: none]
    #[arg(
        long,
        env = "HEARTH_DATABASE",
        hide_env_values = true,
        help_heading = "Storage"
    )]
    pub database: Option<String>,
    /// Connections this node keeps to PostgreSQL at most; all nodes'
    /// together must stay under the server's `max_connections`. [default: 16]
    #[arg(long, env = "HEARTH_DATABASE_POOL", help_heading = "Storage")]
    pub database_pool: Option<u32>,
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
    /// Read-state acks written in one transaction at most (1: each its
    /// own). [default: 1024]
    #[arg(long, env = "HEARTH_ACK_BATCH_MAX")]
    pub ack_batch_max: Option<usize>,
    /// This node's id (0–1022), written into every snowflake it makes; every
    /// node of a cluster needs its own. [default: 0 alone; with --redis, a
    /// free id leased from Redis]
    #[arg(long, env = "HEARTH_NODE_ID")]
    pub node_id: Option<u16>,
    /// The region this node serves (a name such as `eu-west`: letters,
    /// digits, `.`, `_`, `-`), on every log line; voice placement prefers
    /// nodes of the caller's region. [default: default]
    #[arg(long, env = "HEARTH_REGION")]
    pub region: Option<String>,
    /// A request header in which a proxy in front names the client's
    /// region (e.g. a geo-aware load balancer's); voice rooms a client
    /// opens go to that region's SFU nodes. Without it (or a usable value)
    /// a client's Identify `properties.region`, else this node's region.
    /// [default: none]
    #[arg(long, env = "HEARTH_REGION_HEADER", help_heading = "Cluster")]
    pub region_header: Option<String>,
    /// text: human-readable lines; json: one JSON object per line, for log
    /// collectors. Colour only when stderr is a terminal. [default: text]
    #[arg(long, env = "HEARTH_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Gateway heartbeat interval sent in Hello, in milliseconds. [default: 41250]
    #[arg(long, env = "HEARTH_HEARTBEAT_INTERVAL_MS")]
    pub heartbeat_interval_ms: Option<u64>,
    /// How long a gateway connection may stay without Identify or Resume
    /// before it is closed with 4003, in milliseconds. [default: 20000]
    #[arg(long, env = "HEARTH_IDENTIFY_TIMEOUT_MS")]
    pub identify_timeout_ms: Option<u64>,
    /// Connected gateway sessions one account may hold; more Identifies
    /// close with 4008. [default: 16; unlimited with --rate-limits off]
    #[arg(long, env = "HEARTH_MAX_SESSIONS_PER_USER")]
    pub max_sessions_per_user: Option<usize>,
    /// Dropped-but-resumable gateway sessions one account may hold; the
    /// longest-dropped beyond them end. [default: 8; unlimited with
    /// --rate-limits off]
    #[arg(long, env = "HEARTH_MAX_RESUMABLE_PER_USER")]
    pub max_resumable_per_user: Option<usize>,
    /// A session's resume buffer, in bytes of dispatch JSON. [default: 4194304]
    #[arg(long, env = "HEARTH_RESUME_BUFFER_BYTES")]
    pub resume_buffer_bytes: Option<usize>,
    /// A session's resume buffer, in dispatches. [default: 4096]
    #[arg(long, env = "HEARTH_RESUME_BUFFER_DISPATCHES")]
    pub resume_buffer_dispatches: Option<usize>,
    /// Dispatches queued for a connection's writer; a client that falls
    /// this far behind is disconnected (resumably). [default: 1024]
    #[arg(long, env = "HEARTH_OUTBOX_DISPATCHES")]
    pub outbox_dispatches: Option<usize>,
    /// Identifies per account per 24 hours (`session_start_limit.total`);
    /// more close with 4008. [default: 1000; unlimited with --rate-limits off]
    #[arg(long, env = "HEARTH_SESSION_START_LIMIT")]
    pub session_start_limit: Option<u32>,
    /// Identifies per account per 5 seconds (`max_concurrency`); more get
    /// op 9. [default: 16; unlimited with --rate-limits off]
    #[arg(long, env = "HEARTH_IDENTIFY_MAX_CONCURRENCY")]
    pub identify_max_concurrency: Option<u32>,
    /// How long a dropped gateway session stays resumable, in seconds. [default: 120]
    #[arg(long, env = "HEARTH_RESUME_GRACE_SECS")]
    pub resume_grace_secs: Option<u64>,
    /// How long a DM call rings a recipient who neither joins nor
    /// declines, in seconds (1 to 600). [default: 60]
    #[arg(long, env = "HEARTH_CALL_RING_SECS")]
    pub call_ring_secs: Option<u64>,
    /// Secret that signs voice tokens; SFU nodes must share it. [default:
    /// random per start]
    #[arg(long, env = "HEARTH_VOICE_SECRET", hide_env_values = true)]
    pub voice_secret: Option<String>,
    /// The voice gateway address sent to clients, without a scheme
    /// (`host:port/voice`). [default: the bound address + `/voice`]
    #[arg(long, env = "HEARTH_VOICE_ENDPOINT")]
    pub voice_endpoint: Option<String>,
    /// Address the SFU's UDP media sockets bind to: an interface of this
    /// machine, or 0.0.0.0 / :: for all of them. [default: 127.0.0.1]
    #[arg(long, env = "HEARTH_RTC_BIND")]
    pub rtc_bind: Option<std::net::IpAddr>,
    /// Address put in media host candidates, where clients send RTP: the
    /// public address when a 1:1 NAT, a container's port mapping or a
    /// cloud VM's private interface stands between clients and the bind
    /// address. Must be a concrete address. [default: the bind address]
    #[arg(long, env = "HEARTH_RTC_ADVERTISE")]
    pub rtc_advertise: Option<std::net::IpAddr>,
    /// Deprecated: sets both --rtc-bind and --rtc-advertise.
    #[arg(long, env = "HEARTH_RTC_IP", hide = true)]
    pub rtc_ip: Option<std::net::IpAddr>,
    /// First UDP port of the SFU workers (worker i uses rtc_port + i); 0
    /// lets the system pick free ports (fine on one machine; set a fixed
    /// range to open in a firewall). [default: 0]
    #[arg(long, env = "HEARTH_RTC_PORT")]
    pub rtc_port: Option<u16>,
    /// SFU worker threads. [default: the number of cores]
    #[arg(long, env = "HEARTH_SFU_WORKERS")]
    pub sfu_workers: Option<usize>,
    /// In a cluster, an SFU node with this many participants takes no new
    /// rooms (its rooms in progress still take newcomers). 0: no limit.
    /// [default: 0]
    #[arg(long, env = "HEARTH_SFU_MAX_PARTICIPANTS")]
    pub sfu_max_participants: Option<usize>,
    /// How long a voice participant whose voice WebSocket closed (or whose
    /// ICE/DTLS failed) keeps its place, in seconds. [default: 5]
    #[arg(long, env = "HEARTH_VOICE_GRACE_SECS")]
    pub voice_grace_secs: Option<u64>,
    /// Seconds an HTTP connection may take to send a complete request head,
    /// after it opens and between requests on a kept-alive connection;
    /// then it is closed. [default: 10]
    #[arg(long, env = "HEARTH_HTTP_HEADER_TIMEOUT_SECS")]
    pub http_header_timeout_secs: Option<u64>,
    /// Seconds a request's body may take to arrive after its head; then
    /// the request fails and the connection is closed. [default: 30]
    #[arg(long, env = "HEARTH_HTTP_BODY_TIMEOUT_SECS")]
    pub http_body_timeout_secs: Option<u64>,
    /// Open connections (HTTP and WebSocket) one client address may hold;
    /// IPv6 addresses count per /64. 0: no limit (behind a reverse proxy
    /// every client has the proxy's address). [default: 256]
    #[arg(long, env = "HEARTH_MAX_CONNECTIONS_PER_ADDRESS")]
    pub max_connections_per_address: Option<u32>,
    /// A reverse proxy's address or range (`10.0.0.0/8`); repeat, or
    /// separate with commas. Connections from it name their client in
    /// `X-Forwarded-For` (the right-most address not itself trusted), which
    /// rate limits and per-address limits then key on; from anywhere else
    /// the header is ignored. [default: none]
    #[arg(long, env = "HEARTH_TRUSTED_PROXY", value_delimiter = ',')]
    pub trusted_proxy: Vec<crate::forwarded::Cidr>,
    /// Open connections in all. Kept below the open-file limit, with room
    /// for the database and the SFU's sockets. [default: the open-file limit
    /// minus 512]
    #[arg(long, env = "HEARTH_MAX_CONNECTIONS")]
    pub max_connections: Option<u32>,
    /// Serve `/metrics` on this address instead of the main listener.
    #[arg(long, env = "HEARTH_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Require `Authorization: Bearer <token>` on `/metrics`.
    #[arg(long, env = "HEARTH_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// The URL clients reach this node at (`https://chat.example.org`); the
    /// gateway URLs handed out are derived from it instead of the request's
    /// Host header. [default: the Host header]
    #[arg(long, env = "HEARTH_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The largest file one upload may be, in bytes; larger ones get 413
    /// (40005). [default: 26214400, 25 MiB]
    #[arg(long, env = "HEARTH_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<u64>,
    /// The most bytes of files one message may carry. [default: 52428800]
    #[arg(long, env = "HEARTH_MAX_MESSAGE_UPLOAD_BYTES")]
    pub max_message_upload_bytes: Option<u64>,
    /// Seconds an upload's (multipart) body may take to arrive after its
    /// head; other bodies have http_body_timeout_secs. [default: 600]
    #[arg(long, env = "HEARTH_HTTP_UPLOAD_TIMEOUT_SECS")]
    pub http_upload_timeout_secs: Option<u64>,
    /// Keep uploaded files in this S3-compatible object store
    /// (`https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`)
    /// instead of `<data dir>/files`; every node of a cluster needs it.
    /// Needs s3_bucket, s3_access_key and s3_secret_key.
    #[arg(long, env = "HEARTH_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    #[arg(long, env = "HEARTH_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// [default: us-east-1]
    #[arg(long, env = "HEARTH_S3_REGION")]
    pub s3_region: Option<String>,
    #[arg(long, env = "HEARTH_S3_ACCESS_KEY")]
    pub s3_access_key: Option<String>,
    #[arg(long, env = "HEARTH_S3_SECRET_KEY", hide_env_values = true)]
    pub s3_secret_key: Option<String>,
    /// Keys inside the bucket start with this (`hearth/`). [default: none]
    #[arg(long, env = "HEARTH_S3_PREFIX")]
    pub s3_prefix: Option<String>,
    /// This node's own URL (`https://node1.chat.example.org`), handed out
    /// as READY's `resume_gateway_url`, so that behind a load balancer a
    /// dropped session resumes on the node that holds it. [default: the
    /// gateway URL the client connected to]
    #[arg(long, env = "HEARTH_RESUME_URL", help_heading = "Cluster")]
    pub resume_url: Option<String>,
    /// Who may create an account: open, invite-only (with an invite code
    /// in the registration, which joins its guild) or closed (accounts are
    /// made with `hearth admin create-user`). [default: open]
    #[arg(long, env = "HEARTH_REGISTRATION")]
    pub registration: Option<Registration>,
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
    /// Roles a guild may hold, @everyone included; more: 30005. [default: 250]
    #[arg(long, env = "HEARTH_MAX_ROLES_PER_GUILD")]
    pub max_roles_per_guild: Option<usize>,
    /// Channels a guild may hold, categories included; more: 30013.
    /// [default: 500]
    #[arg(long, env = "HEARTH_MAX_CHANNELS_PER_GUILD")]
    pub max_channels_per_guild: Option<usize>,
    /// Webhooks a channel may hold; more: 30007. [default: 15]
    #[arg(long, env = "HEARTH_MAX_WEBHOOKS_PER_CHANNEL")]
    pub max_webhooks_per_channel: Option<usize>,
    /// Permission overwrites a channel may hold; more: 50035. [default: 500]
    #[arg(long, env = "HEARTH_MAX_OVERWRITES_PER_CHANNEL")]
    pub max_overwrites_per_channel: Option<usize>,
    /// Redis that carries events between this node and the others of its
    /// cluster (`redis://[user:password@]host:port[/db]`). [default: none:
    /// a single node, events stay in the process]
    #[arg(
        long,
        env = "HEARTH_REDIS",
        hide_env_values = true,
        help_heading = "Cluster"
    )]
    pub redis: Option<String>,
    /// Put before every Redis key and channel, so several clusters can share
    /// one Redis. [default: hearth:]
    #[arg(long, env = "HEARTH_REDIS_PREFIX", help_heading = "Cluster")]
    pub redis_prefix: Option<String>,
    /// What this node serves: all (REST, gateway and an SFU), api (REST and
    /// gateway; its voice channels' rooms live on SFU nodes) or sfu (voice
    /// only: the voice gateway and media). api and sfu need --redis.
    /// [default: all]
    #[arg(long, env = "HEARTH_ROLE")]
    pub role: Option<Role>,
    /// On SIGTERM an SFU node of a cluster drains: it takes no new rooms
    /// and keeps its calls until they end or this many seconds pass, then
    /// sends the rest to other SFU nodes and stops. [default: 60]
    #[arg(long, env = "HEARTH_DRAIN_TIMEOUT_SECS", help_heading = "Cluster")]
    pub drain_timeout_secs: Option<u64>,
    /// In a cluster, write every gateway session and its dispatches to
    /// Redis before they are sent, so that if this node dies its sessions
    /// resume on another node with nothing lost. Off: they identify again.
    /// [default: on]
    #[arg(long, env = "HEARTH_SESSION_JOURNAL", help_heading = "Cluster")]
    pub session_journal: Option<Switch>,
}

/// What a node serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    All,
    Api,
    Sfu,
}

impl Role {
    /// Whether the node runs an SFU.
    pub fn media(self) -> bool {
        self != Role::Api
    }

    /// Whether the node serves REST and the main gateway.
    pub fn api(self) -> bool {
        self != Role::Sfu
    }
}

/// Who may create an account through `POST /auth/register`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Registration {
    Open,
    InviteOnly,
    Closed,
}

impl From<Registration> for hearth_api::Registration {
    fn from(r: Registration) -> Self {
        match r {
            Registration::Open => hearth_api::Registration::Open,
            Registration::InviteOnly => hearth_api::Registration::InviteOnly,
            Registration::Closed => hearth_api::Registration::Closed,
        }
    }
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
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
    database: Option<String>,
    rate_limits: Option<Switch>,
    durability: Option<String>,
    max_body_bytes: Option<usize>,
    ack_batch_max: Option<usize>,
    node_id: Option<u16>,
    region: Option<String>,
    log_format: Option<LogFormat>,
    heartbeat_interval_ms: Option<u64>,
    identify_timeout_ms: Option<u64>,
    max_sessions_per_user: Option<usize>,
    max_resumable_per_user: Option<usize>,
    resume_buffer_bytes: Option<usize>,
    resume_buffer_dispatches: Option<usize>,
    outbox_dispatches: Option<usize>,
    session_start_limit: Option<u32>,
    identify_max_concurrency: Option<u32>,
    resume_grace_secs: Option<u64>,
    call_ring_secs: Option<u64>,
    voice_secret: Option<String>,
    voice_endpoint: Option<String>,
    rtc_bind: Option<std::net::IpAddr>,
    rtc_advertise: Option<std::net::IpAddr>,
    /// Deprecated, as the flag.
    rtc_ip: Option<std::net::IpAddr>,
    rtc_port: Option<u16>,
    sfu_workers: Option<usize>,
    voice_grace_secs: Option<u64>,
    http_header_timeout_secs: Option<u64>,
    http_body_timeout_secs: Option<u64>,
    max_connections_per_address: Option<u32>,
    max_connections: Option<u32>,
    /// A list of ranges.
    trusted_proxy: Option<Vec<String>>,
    metrics_listen: Option<SocketAddr>,
    metrics_token: Option<String>,
    public_url: Option<String>,
    max_upload_bytes: Option<u64>,
    max_message_upload_bytes: Option<u64>,
    http_upload_timeout_secs: Option<u64>,
    s3_endpoint: Option<String>,
    s3_bucket: Option<String>,
    s3_region: Option<String>,
    s3_access_key: Option<String>,
    s3_secret_key: Option<String>,
    s3_prefix: Option<String>,
    registration: Option<Registration>,
    voice_max_routes: Option<usize>,
    voice_max_new_routes: Option<usize>,
    voice_max_tracks: Option<usize>,
    voice_max_payload_bytes: Option<usize>,
    voice_rate_limit: Option<u32>,
    max_roles_per_guild: Option<usize>,
    max_channels_per_guild: Option<usize>,
    max_webhooks_per_channel: Option<usize>,
    max_overwrites_per_channel: Option<usize>,
    redis: Option<String>,
    redis_prefix: Option<String>,
    role: Option<Role>,
    drain_timeout_secs: Option<u64>,
    session_journal: Option<Switch>,
    region_header: Option<String>,
    resume_url: Option<String>,
    database_pool: Option<u32>,
    sfu_max_participants: Option<usize>,
    /// Where each region is (`[regions.eu] lat = 50.1, lon = 8.7`): a room
    /// wanted in a region without SFU nodes goes to the nearest one.
    regions: Option<HashMap<String, Place>>,
}

/// Settings after merging every source.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// None: the embedded SQLite database in `data_dir`.
    pub database: Option<hearth_store::PostgresUrl>,
    /// PostgreSQL connections at most.
    pub database_pool: u32,
    pub rate_limits: bool,
    pub durability: hearth_store::Durability,
    pub max_body_bytes: usize,
    /// Read-state acks written in one transaction at most.
    pub ack_batch_max: usize,
    /// None: 0 for a node alone, leased from Redis in a cluster.
    pub node_id: Option<u16>,
    pub region: String,
    pub log_format: LogFormat,
    pub gateway: hearth_signaling::GatewayConfig,
    /// Set by the operator; otherwise derived from the bound address.
    pub voice_endpoint: Option<String>,
    /// Whether the operator gave the voice secret (else it is random, or in
    /// a cluster shared through Redis).
    pub voice_secret_set: bool,
    /// The voice secret and node name are the gateway's (set in `main`).
    pub sfu: hearth_sfu::SfuConfig,
    pub http_header_timeout: std::time::Duration,
    pub http_body_timeout: std::time::Duration,
    /// None: no limit.
    pub max_connections_per_address: Option<u32>,
    /// None: derived from the open-file limit at start.
    pub max_connections: Option<u32>,
    pub trusted_proxies: crate::forwarded::TrustedProxies,
    pub metrics_listen: Option<SocketAddr>,
    pub metrics_token: Option<Secret>,
    /// Without a trailing slash.
    pub public_url: Option<String>,
    pub uploads: hearth_api::files::UploadLimits,
    pub http_upload_timeout: std::time::Duration,
    /// None: files under `<data dir>/files`.
    pub s3: Option<hearth_files::s3::S3Config>,
    pub registration: Registration,
    pub guild_limits: hearth_api::GuildLimits,
    /// Said once logging is set up: deprecated settings in use.
    pub warnings: Vec<String>,
    pub cluster: Option<Cluster>,
    pub role: Role,
    /// How long an SFU node of a cluster keeps its calls after SIGTERM.
    pub drain_timeout: std::time::Duration,
    /// In a cluster: sessions journaled in Redis (see `journal`).
    pub session_journal: bool,
    /// Regions' places (latitude, longitude), from the TOML file.
    pub regions: hearth_bus::sfu_registry::Coordinates,
    /// In a cluster, the participants beyond which the SFU takes no new
    /// rooms; None: no limit.
    pub sfu_max_participants: Option<usize>,
}

/// A region's place on Earth, in degrees.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    pub lat: f64,
    pub lon: f64,
}

/// How this node reaches the rest of its cluster.
#[derive(Clone)]
pub struct Cluster {
    /// May hold a password: shown only through `hearth_bus::redacted`.
    pub redis: String,
    pub prefix: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("redis", &hearth_bus::redacted(&self.redis))
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// A setting that must not show up in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Checks a public URL and drops its trailing slash.
fn public_url(url: String) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    anyhow::ensure!(
        rest.is_some_and(|r| !r.is_empty() && !r.contains(['?', '#', ' '])),
        "public_url must be an http:// or https:// URL without query, like https://chat.example.org"
    );
    Ok(url.trim_end_matches('/').to_owned())
}

/// An empty setting (`HEARTH_DATABASE=`) means none, as an absent one does.
fn database_url(setting: Option<String>) -> anyhow::Result<Option<hearth_store::PostgresUrl>> {
    setting
        .filter(|url| !url.trim().is_empty())
        .map(|url| hearth_store::PostgresUrl::parse(&url).map_err(anyhow::Error::msg))
        .transpose()
}

/// What `hearth admin` reads of the config file: the cluster's database
/// and Redis.
#[derive(Debug, Default)]
pub struct FileCluster {
    pub database: Option<String>,
    pub redis: Option<String>,
    pub redis_prefix: Option<String>,
}

pub fn file_cluster(config: Option<&std::path::Path>) -> anyhow::Result<FileCluster> {
    let Some(path) = config else {
        return Ok(FileCluster::default());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file = toml::from_str::<FileConfig>(&text)
        .with_context(|| format!("parsing {}", path.display()))?;
    Ok(FileCluster {
        database: file.database,
        redis: file.redis,
        redis_prefix: file.redis_prefix,
    })
}

/// The data directory `hearth admin` works on: the flag (or
/// `HEARTH_DATA_DIR`), else the config file's, else the default.
pub fn data_dir(config: Option<PathBuf>, flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir);
    }
    let from_file = match config {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str::<FileConfig>(&text)
                .with_context(|| format!("parsing {}", path.display()))?
                .data_dir
        }
        None => None,
    };
    Ok(from_file.unwrap_or_else(|| PathBuf::from("hearth-data")))
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
        let node_id = self.node_id.or(file.node_id);
        // 1023 makes the ids of `hearth admin`.
        anyhow::ensure!(
            node_id.is_none_or(|n| n < 1023),
            "node_id must be below 1023"
        );
        let region = self
            .region
            .or(file.region)
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        check_region(&region)?;
        let mut gateway = hearth_signaling::GatewayConfig::default();
        if let Some(ms) = self.heartbeat_interval_ms.or(file.heartbeat_interval_ms) {
            anyhow::ensure!(ms >= 100, "heartbeat_interval_ms must be at least 100");
            gateway.heartbeat_interval = std::time::Duration::from_millis(ms);
        }
        if let Some(ms) = self.identify_timeout_ms.or(file.identify_timeout_ms) {
            anyhow::ensure!(ms >= 100, "identify_timeout_ms must be at least 100");
            gateway.identify_timeout = std::time::Duration::from_millis(ms);
        }
        let rate_limits = self.rate_limits.or(file.rate_limits).unwrap_or(Switch::On) == Switch::On;
        // Load tests and trusted deployments (rate limits off) open
        // thousands of sessions per account: the per-account limits are
        // lifted there unless set explicitly.
        if !rate_limits {
            gateway.max_sessions_per_user = usize::MAX;
            gateway.max_resumable_per_user = usize::MAX;
            gateway.session_starts = hearth_signaling::starts::StartLimit::UNLIMITED;
        }
        if let Some(n) = self.max_sessions_per_user.or(file.max_sessions_per_user) {
            anyhow::ensure!(n >= 1, "max_sessions_per_user must be at least 1");
            gateway.max_sessions_per_user = n;
        }
        if let Some(n) = self.max_resumable_per_user.or(file.max_resumable_per_user) {
            gateway.max_resumable_per_user = n;
        }
        if let Some(n) = self.resume_buffer_bytes.or(file.resume_buffer_bytes) {
            gateway.resume_buffer_bytes = n;
        }
        if let Some(n) = self
            .resume_buffer_dispatches
            .or(file.resume_buffer_dispatches)
        {
            anyhow::ensure!(n >= 1, "resume_buffer_dispatches must be at least 1");
            gateway.resume_buffer = n;
        }
        if let Some(n) = self.outbox_dispatches.or(file.outbox_dispatches) {
            anyhow::ensure!(n >= 16, "outbox_dispatches must be at least 16");
            gateway.outbox = n;
        }
        if let Some(n) = self.session_start_limit.or(file.session_start_limit) {
            gateway.session_starts.total = n;
        }
        if let Some(n) = self
            .identify_max_concurrency
            .or(file.identify_max_concurrency)
        {
            anyhow::ensure!(n >= 1, "identify_max_concurrency must be at least 1");
            gateway.session_starts.max_concurrency = n;
        }
        if let Some(s) = self.resume_grace_secs.or(file.resume_grace_secs) {
            gateway.resume_grace = std::time::Duration::from_secs(s);
        }
        if let Some(s) = self.call_ring_secs.or(file.call_ring_secs) {
            anyhow::ensure!((1..=600).contains(&s), "call_ring_secs must be 1 to 600");
            gateway.call_ring = std::time::Duration::from_secs(s);
        }
        let voice_secret_set = match self.voice_secret.or(file.voice_secret) {
            Some(secret) => {
                anyhow::ensure!(!secret.is_empty(), "voice_secret must not be empty");
                gateway.voice_secret = secret.into_bytes();
                true
            }
            None => false,
        };
        let voice_endpoint = self.voice_endpoint.or(file.voice_endpoint);
        if let Some(e) = &voice_endpoint {
            anyhow::ensure!(
                !e.is_empty() && !e.contains("://"),
                "voice_endpoint must be host:port/path, without a scheme"
            );
        }
        let mut sfu = hearth_sfu::SfuConfig::default();
        let mut warnings = Vec::new();
        let (rtc_bind, rtc_advertise) = media_addresses(
            self.rtc_bind.or(file.rtc_bind),
            self.rtc_advertise.or(file.rtc_advertise),
            self.rtc_ip.or(file.rtc_ip),
            &mut warnings,
        )?;
        sfu.rtc_bind = rtc_bind;
        sfu.rtc_advertise = rtc_advertise;
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
        let http_header_timeout_secs = self
            .http_header_timeout_secs
            .or(file.http_header_timeout_secs)
            .unwrap_or(10);
        anyhow::ensure!(
            http_header_timeout_secs >= 1,
            "http_header_timeout_secs must be at least 1"
        );
        let http_body_timeout_secs = self
            .http_body_timeout_secs
            .or(file.http_body_timeout_secs)
            .unwrap_or(30);
        anyhow::ensure!(
            http_body_timeout_secs >= 1,
            "http_body_timeout_secs must be at least 1"
        );
        let upload_defaults = hearth_api::files::UploadLimits::default();
        let uploads = hearth_api::files::UploadLimits {
            per_file: self
                .max_upload_bytes
                .or(file.max_upload_bytes)
                .unwrap_or(upload_defaults.per_file),
            per_message: self
                .max_message_upload_bytes
                .or(file.max_message_upload_bytes)
                .unwrap_or(upload_defaults.per_message),
        };
        anyhow::ensure!(
            uploads.per_file >= 1 && uploads.per_message >= uploads.per_file,
            "max_upload_bytes must be at least 1 and at most max_message_upload_bytes"
        );
        let http_upload_timeout_secs = self
            .http_upload_timeout_secs
            .or(file.http_upload_timeout_secs)
            .unwrap_or(600);
        anyhow::ensure!(
            http_upload_timeout_secs >= 1,
            "http_upload_timeout_secs must be at least 1"
        );
        let s3 = match self.s3_endpoint.or(file.s3_endpoint) {
            None => None,
            Some(endpoint) => {
                anyhow::ensure!(
                    endpoint.starts_with("http://") || endpoint.starts_with("https://"),
                    "s3_endpoint must be an http:// or https:// URL"
                );
                let need = |v: Option<String>, name: &str| {
                    v.filter(|v| !v.is_empty())
                        .ok_or_else(|| anyhow::anyhow!("s3_endpoint needs {name}"))
                };
                Some(hearth_files::s3::S3Config {
                    endpoint: endpoint.trim_end_matches('/').to_owned(),
                    bucket: need(self.s3_bucket.or(file.s3_bucket), "s3_bucket")?,
                    region: self
                        .s3_region
                        .or(file.s3_region)
                        .unwrap_or_else(|| "us-east-1".to_owned()),
                    access_key: need(self.s3_access_key.or(file.s3_access_key), "s3_access_key")?,
                    secret_key: need(self.s3_secret_key.or(file.s3_secret_key), "s3_secret_key")?,
                    prefix: self.s3_prefix.or(file.s3_prefix).unwrap_or_default(),
                })
            }
        };
        let defaults = hearth_api::GuildLimits::default();
        let limit = |flag: Option<usize>, key: Option<usize>, default: usize, name: &str| {
            let n = flag.or(key).unwrap_or(default);
            anyhow::ensure!(n >= 1, "{name} must be at least 1");
            Ok(n)
        };
        let guild_limits = hearth_api::GuildLimits {
            roles_per_guild: limit(
                self.max_roles_per_guild,
                file.max_roles_per_guild,
                defaults.roles_per_guild,
                "max_roles_per_guild",
            )?,
            channels_per_guild: limit(
                self.max_channels_per_guild,
                file.max_channels_per_guild,
                defaults.channels_per_guild,
                "max_channels_per_guild",
            )?,
            webhooks_per_channel: limit(
                self.max_webhooks_per_channel,
                file.max_webhooks_per_channel,
                defaults.webhooks_per_channel,
                "max_webhooks_per_channel",
            )?,
            overwrites_per_channel: limit(
                self.max_overwrites_per_channel,
                file.max_overwrites_per_channel,
                defaults.overwrites_per_channel,
                "max_overwrites_per_channel",
            )?,
        };
        let trusted_proxies = if self.trusted_proxy.is_empty() {
            file.trusted_proxy
                .unwrap_or_default()
                .iter()
                .map(|r| r.parse().map_err(anyhow::Error::msg))
                .collect::<anyhow::Result<Vec<_>>>()
                .context("trusted_proxy")?
        } else {
            self.trusted_proxy
        };
        let metrics_token = self.metrics_token.or(file.metrics_token);
        if let Some(t) = &metrics_token {
            anyhow::ensure!(!t.trim().is_empty(), "metrics_token must not be empty");
        }
        let cluster = match self.redis.or(file.redis) {
            None => None,
            Some(redis) => {
                anyhow::ensure!(
                    redis.starts_with("redis://") || redis.starts_with("rediss://"),
                    "redis must be a redis:// or rediss:// URL, not {}",
                    hearth_bus::redacted(&redis)
                );
                let prefix = self
                    .redis_prefix
                    .or(file.redis_prefix)
                    .unwrap_or_else(|| "hearth:".into());
                anyhow::ensure!(
                    prefix.len() <= 64 && !prefix.contains(char::is_whitespace),
                    "redis_prefix must be at most 64 characters, without spaces"
                );
                Some(Cluster { redis, prefix })
            }
        };
        let role = self.role.or(file.role).unwrap_or_default();
        anyhow::ensure!(
            role == Role::All || cluster.is_some(),
            "role {role:?} needs --redis: alone, a node serves everything (role all)"
        );
        if let Some(url) = self.resume_url.or(file.resume_url) {
            let url = public_url(url).map_err(|_| {
                anyhow::anyhow!("resume_url must be an http:// or https:// URL without query, like https://node1.chat.example.org")
            })?;
            gateway.resume_url = Some(hearth_proto::gateway::public_gateway_url(&url));
        }
        if let Some(h) = self.region_header.or(file.region_header) {
            anyhow::ensure!(
                axum::http::HeaderName::from_bytes(h.as_bytes()).is_ok(),
                "region_header must be an HTTP header name, not {h:?}"
            );
            gateway.region_header = Some(h.to_ascii_lowercase());
        }
        let mut regions = hearth_bus::sfu_registry::Coordinates::new();
        for (name, place) in file.regions.unwrap_or_default() {
            check_region(&name)?;
            anyhow::ensure!(
                (-90.0..=90.0).contains(&place.lat) && (-180.0..=180.0).contains(&place.lon),
                "regions.{name}: lat must be within ±90 and lon within ±180"
            );
            regions.insert(name, (place.lat, place.lon));
        }
        let drain_timeout = std::time::Duration::from_secs(
            self.drain_timeout_secs
                .or(file.drain_timeout_secs)
                .unwrap_or(60),
        );
        let session_journal = self
            .session_journal
            .or(file.session_journal)
            .unwrap_or(Switch::On)
            == Switch::On;
        Ok(ServeConfig {
            session_journal,
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            data_dir: self
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("hearth-data")),
            database: database_url(self.database.or(file.database))?,
            database_pool: {
                let n = self
                    .database_pool
                    .or(file.database_pool)
                    .unwrap_or(hearth_store::DEFAULT_POOL_SIZE);
                anyhow::ensure!(
                    (1..=1000).contains(&n),
                    "database_pool must be between 1 and 1000"
                );
                n
            },
            rate_limits,
            durability: durability.parse().map_err(anyhow::Error::msg)?,
            max_body_bytes: self
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(1024 * 1024),
            ack_batch_max: {
                let n = self.ack_batch_max.or(file.ack_batch_max).unwrap_or(1024);
                anyhow::ensure!(
                    (1..=65536).contains(&n),
                    "ack_batch_max must be between 1 and 65536"
                );
                n
            },
            node_id,
            region,
            log_format: self.log_format.or(file.log_format).unwrap_or_default(),
            gateway,
            voice_endpoint,
            voice_secret_set,
            sfu,
            http_header_timeout: std::time::Duration::from_secs(http_header_timeout_secs),
            http_body_timeout: std::time::Duration::from_secs(http_body_timeout_secs),
            max_connections_per_address: match self
                .max_connections_per_address
                .or(file.max_connections_per_address)
                .unwrap_or(256)
            {
                0 => None,
                n => Some(n),
            },
            max_connections: self
                .max_connections
                .or(file.max_connections)
                .filter(|&n| n > 0),
            trusted_proxies: crate::forwarded::TrustedProxies::new(trusted_proxies),
            metrics_listen: self.metrics_listen.or(file.metrics_listen),
            metrics_token: metrics_token.map(Secret),
            public_url: self
                .public_url
                .or(file.public_url)
                .map(public_url)
                .transpose()?,
            uploads,
            http_upload_timeout: std::time::Duration::from_secs(http_upload_timeout_secs),
            s3,
            registration: self
                .registration
                .or(file.registration)
                .unwrap_or(Registration::Open),
            guild_limits,
            cluster,
            role,
            drain_timeout,
            regions,
            sfu_max_participants: match self
                .sfu_max_participants
                .or(file.sfu_max_participants)
                .unwrap_or(0)
            {
                0 => None,
                n => Some(n),
            },
            warnings,
        })
    }
}

/// The region of a node nobody placed in one: every such node is in the
/// same region, which is what a single machine or one data centre wants.
pub const DEFAULT_REGION: &str = "default";

/// Region names go into logs, metrics labels and the cluster registry:
/// short, and nothing that needs quoting.
fn check_region(region: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=64).contains(&region.len())
            && region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')),
        "region must be 1 to 64 letters, digits, '.', '_' or '-', not {region:?}"
    );
    Ok(())
}

/// The SFU's bind and advertised media addresses. The deprecated `rtc_ip`
/// sets both, unless they are set themselves. The advertised address
/// defaults to the bind address, which then has to be a concrete one.
fn media_addresses(
    bind: Option<IpAddr>,
    advertise: Option<IpAddr>,
    deprecated: Option<IpAddr>,
    warnings: &mut Vec<String>,
) -> anyhow::Result<(IpAddr, IpAddr)> {
    if let Some(ip) = deprecated {
        warnings.push(format!(
            "rtc_ip is deprecated: use rtc_bind and rtc_advertise (rtc_ip = {ip} sets both)"
        ));
    }
    let bind = bind.or(deprecated).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let advertise = match advertise.or(deprecated) {
        Some(ip) => ip,
        None => {
            anyhow::ensure!(
                !bind.is_unspecified(),
                "rtc_bind is {bind}, which clients cannot send media to: set rtc_advertise \
                 to the address they reach this machine at"
            );
            bind
        }
    };
    anyhow::ensure!(
        hearth_sfu::config::is_concrete(advertise),
        "rtc_advertise must be an address clients can send media to, not {advertise} \
         (unspecified, multicast, broadcast and link-local addresses are not)"
    );
    anyhow::ensure!(
        bind.is_ipv4() == advertise.is_ipv4(),
        "rtc_bind ({bind}) and rtc_advertise ({advertise}) must both be IPv4 or both IPv6"
    );
    Ok((bind, advertise))
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
        assert_eq!(c.node_id, Some(3));
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
    fn edge_and_account_settings_come_from_the_file() {
        let dir = std::env::temp_dir().join(format!("hearth-config-test4-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hearth.toml");
        std::fs::write(
            &path,
            "registration = \"invite-only\"\npublic_url = \"https://chat.example.org/\"\nmax_connections_per_address = 0\nmetrics_token = \"s3cret\"\n",
        )
        .unwrap();
        let c = ServeArgs {
            config: Some(path),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(c.registration, Registration::InviteOnly);
        assert_eq!(c.public_url.as_deref(), Some("https://chat.example.org"));
        assert_eq!(c.max_connections_per_address, None);
        assert!(
            !format!("{c:?}").contains("s3cret"),
            "the token leaks into Debug"
        );

        let d = ServeArgs::default().resolve().unwrap();
        assert_eq!(d.registration, Registration::Open);
        assert_eq!(d.max_connections_per_address, Some(256));
        assert_eq!(d.http_header_timeout, std::time::Duration::from_secs(10));
        assert!(ServeArgs {
            public_url: Some("chat.example.org".into()),
            ..Default::default()
        }
        .resolve()
        .is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn per_account_gateway_limits_are_lifted_with_rate_limits_off_unless_set() {
        let on = ServeArgs::default().resolve().unwrap().gateway;
        assert_eq!(on.max_sessions_per_user, 16);
        assert_eq!(on.max_resumable_per_user, 8);
        assert_eq!(on.session_starts.total, 1000);
        let off = ServeArgs {
            rate_limits: Some(Switch::Off),
            ..Default::default()
        }
        .resolve()
        .unwrap()
        .gateway;
        assert_eq!(off.max_sessions_per_user, usize::MAX);
        assert_eq!(
            off.session_starts,
            hearth_signaling::starts::StartLimit::UNLIMITED
        );
        let set = ServeArgs {
            rate_limits: Some(Switch::Off),
            max_sessions_per_user: Some(3),
            session_start_limit: Some(5),
            identify_timeout_ms: Some(1500),
            ..Default::default()
        }
        .resolve()
        .unwrap()
        .gateway;
        assert_eq!(set.max_sessions_per_user, 3);
        assert_eq!(set.session_starts.total, 5);
        assert_eq!(set.identify_timeout, std::time::Duration::from_millis(1500));
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
    fn media_is_advertised_at_the_bind_address_unless_told_otherwise() {
        let d = ServeArgs::default().resolve().unwrap().sfu;
        assert_eq!(d.rtc_bind, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(d.rtc_advertise, IpAddr::from([127, 0, 0, 1]));

        let nat = ServeArgs {
            rtc_bind: Some(IpAddr::from([0, 0, 0, 0])),
            rtc_advertise: Some(IpAddr::from([203, 0, 113, 7])),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(nat.sfu.rtc_bind, IpAddr::from([0, 0, 0, 0]));
        assert_eq!(nat.sfu.rtc_advertise, IpAddr::from([203, 0, 113, 7]));
        assert!(nat.warnings.is_empty());

        let private = ServeArgs {
            rtc_bind: Some(IpAddr::from([10, 0, 0, 5])),
            ..Default::default()
        }
        .resolve()
        .unwrap()
        .sfu;
        assert_eq!(private.rtc_advertise, IpAddr::from([10, 0, 0, 5]));
    }

    #[test]
    fn an_advertised_media_address_nobody_can_send_to_is_refused() {
        let err = |bind: &str, advertise: Option<&str>| {
            let e = ServeArgs {
                rtc_bind: Some(bind.parse().unwrap()),
                rtc_advertise: advertise.map(|a| a.parse().unwrap()),
                ..Default::default()
            }
            .resolve()
            .unwrap_err();
            format!("{e:#}")
        };
        let e = err("0.0.0.0", None);
        assert!(e.contains("set rtc_advertise"), "{e}");
        let e = err("0.0.0.0", Some("0.0.0.0"));
        assert!(e.contains("rtc_advertise must be"), "{e}");
        let e = err("::", Some("::"));
        assert!(e.contains("rtc_advertise must be"), "{e}");
        let e = err("10.0.0.5", Some("224.0.0.1"));
        assert!(e.contains("rtc_advertise must be"), "{e}");
        let e = err("0.0.0.0", Some("2001:db8::1"));
        assert!(e.contains("must both be IPv4 or both IPv6"), "{e}");
    }

    #[test]
    fn the_deprecated_rtc_ip_sets_both_media_addresses_with_a_warning() {
        let dir = std::env::temp_dir().join(format!("hearth-config-test5-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hearth.toml");
        std::fs::write(&path, "rtc_ip = \"192.0.2.10\"\n").unwrap();
        let c = ServeArgs {
            config: Some(path.clone()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(c.sfu.rtc_bind, IpAddr::from([192, 0, 2, 10]));
        assert_eq!(c.sfu.rtc_advertise, IpAddr::from([192, 0, 2, 10]));
        assert!(c
            .warnings
            .iter()
            .any(|w| w.contains("rtc_ip is deprecated")));

        // The new settings win over the old one.
        let c = ServeArgs {
            config: Some(path),
            rtc_advertise: Some(IpAddr::from([198, 51, 100, 1])),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(c.sfu.rtc_bind, IpAddr::from([192, 0, 2, 10]));
        assert_eq!(c.sfu.rtc_advertise, IpAddr::from([198, 51, 100, 1]));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn regions_places_come_from_the_file_and_the_region_header_is_a_header_name() {
        let dir =
            std::env::temp_dir().join(format!("hearth-config-regions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hearth.toml");
        let resolve = |toml: &str, header: Option<&str>| {
            std::fs::write(&path, toml).unwrap();
            ServeArgs {
                config: Some(path.clone()),
                region_header: header.map(str::to_owned),
                ..Default::default()
            }
            .resolve()
        };
        let c = resolve(
            "[regions.eu]\nlat = 50.1\nlon = 8.7\n[regions.us-east]\nlat = 39.0\nlon = -77.5\n",
            Some("X-Client-Region"),
        )
        .unwrap();
        assert_eq!(c.regions.get("eu"), Some(&(50.1, 8.7)));
        assert_eq!(c.regions.get("us-east"), Some(&(39.0, -77.5)));
        assert_eq!(c.gateway.region_header.as_deref(), Some("x-client-region"));
        let e = resolve("[regions.eu]\nlat = 95.0\nlon = 8.7\n", None).unwrap_err();
        assert!(format!("{e:#}").contains("regions.eu"), "{e:#}");
        let e = resolve("[regions.\"eu west\"]\nlat = 1.0\nlon = 1.0\n", None).unwrap_err();
        assert!(format!("{e:#}").contains("region must be"), "{e:#}");
        let e = resolve("", Some("bad header")).unwrap_err();
        assert!(format!("{e:#}").contains("region_header"), "{e:#}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_resume_url_is_a_gateway_url_made_from_a_plain_url() {
        let c = ServeArgs {
            resume_url: Some("http://node1.internal:8080/".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            c.gateway.resume_url.as_deref(),
            Some("ws://node1.internal:8080/gateway")
        );
        let e = ServeArgs {
            resume_url: Some("wss://node1".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(format!("{e:#}").contains("resume_url must be"), "{e:#}");
    }

    #[test]
    fn roles_other_than_all_need_a_cluster_and_drains_have_a_timeout() {
        let d = ServeArgs::default().resolve().unwrap();
        assert_eq!(d.role, Role::All);
        assert_eq!(d.drain_timeout, std::time::Duration::from_secs(60));
        for role in [Role::Api, Role::Sfu] {
            let e = ServeArgs {
                role: Some(role),
                ..Default::default()
            }
            .resolve()
            .unwrap_err();
            assert!(format!("{e:#}").contains("needs --redis"), "{e:#}");
            let ok = ServeArgs {
                role: Some(role),
                redis: Some("redis://127.0.0.1:6379".into()),
                drain_timeout_secs: Some(5),
                ..Default::default()
            }
            .resolve()
            .unwrap();
            assert_eq!(ok.role, role);
            assert_eq!(ok.drain_timeout, std::time::Duration::from_secs(5));
        }
        assert!(Role::Api.api() && !Role::Api.media());
        assert!(!Role::Sfu.api() && Role::Sfu.media());
        assert!(Role::All.api() && Role::All.media());
    }

    #[test]
    fn region_and_log_format_have_defaults_and_regions_are_plain_names() {
        let d = ServeArgs::default().resolve().unwrap();
        assert_eq!(d.region, "default");
        assert_eq!(d.log_format, LogFormat::Text);
        let set = ServeArgs {
            region: Some("eu-west.1".into()),
            log_format: Some(LogFormat::Json),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(set.region, "eu-west.1");
        assert_eq!(set.log_format, LogFormat::Json);
        for bad in ["", "eu west", "\"eu\"", "région", &"x".repeat(65)] {
            let e = ServeArgs {
                region: Some(bad.into()),
                ..Default::default()
            }
            .resolve()
            .unwrap_err();
            assert!(
                format!("{e:#}").contains("region must be"),
                "{bad:?}: {e:#}"
            );
        }
    }

    #[test]
    fn every_serve_setting_has_a_heading() {
        let mut command = with_headings(Cli::command());
        let serve = command
            .find_subcommand_mut("serve")
            .expect("a serve subcommand");
        let without: Vec<String> = serve
            .get_arguments()
            .filter(|a| a.get_help_heading().is_none())
            .map(|a| a.get_id().to_string())
            .filter(|id| !["config", "help"].contains(&id.as_str()))
            .collect();
        assert!(
            without.is_empty(),
            "settings without a heading in `hearth serve --help` (add them to HEADINGS): {without:?}"
        );
        let help = serve.render_long_help().to_string();
        for (heading, _) in HEADINGS {
            assert!(
                help.contains(&format!("{heading}:")),
                "{heading} missing:\n{help}"
            );
        }
        let cluster = help.split("Cluster:").nth(1).expect("a Cluster section");
        let cluster = cluster.split("\n\n\n").next().unwrap_or(cluster);
        assert!(
            cluster.contains("--region") && cluster.contains("--node-id"),
            "{cluster}"
        );
        assert!(
            !help.contains("--rtc-ip"),
            "the deprecated alias stays hidden"
        );
    }

    #[test]
    fn trusted_proxies_come_from_flags_or_a_list_in_the_file() {
        let dir = std::env::temp_dir().join(format!("hearth-config-test6-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hearth.toml");
        std::fs::write(&path, "trusted_proxy = [\"10.0.0.0/8\", \"192.0.2.1\"]\n").unwrap();
        let from_file = ServeArgs {
            config: Some(path.clone()),
            ..Default::default()
        }
        .resolve()
        .unwrap()
        .trusted_proxies;
        assert!(from_file.contains(IpAddr::from([10, 1, 2, 3])));
        assert!(from_file.contains(IpAddr::from([192, 0, 2, 1])));
        let from_flag = ServeArgs {
            config: Some(path.clone()),
            trusted_proxy: vec!["172.16.0.0/12".parse().unwrap()],
            ..Default::default()
        }
        .resolve()
        .unwrap()
        .trusted_proxies;
        assert!(from_flag.contains(IpAddr::from([172, 16, 0, 1])));
        assert!(
            !from_flag.contains(IpAddr::from([10, 1, 2, 3])),
            "the flag replaces the file's list"
        );
        assert!(ServeArgs::default()
            .resolve()
            .unwrap()
            .trusted_proxies
            .is_empty());

        std::fs::write(&path, "trusted_proxy = [\"10.0.0.0/99\"]\n").unwrap();
        let e = ServeArgs {
            config: Some(path),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(format!("{e:#}").contains("trusted_proxy"), "{e:#}");
        std::fs::remove_dir_all(dir).unwrap();

        let parsed = Cli::try_parse_from([
            "hearth",
            "serve",
            "--trusted-proxy",
            "10.0.0.1",
            "--trusted-proxy",
            "fd00::/8,127.0.0.1",
        ])
        .unwrap();
        let Command::Serve(args) = parsed.command else {
            panic!("not serve")
        };
        assert_eq!(args.trusted_proxy.len(), 3);
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

    #[test]
    fn the_database_comes_from_the_flag_or_the_file_and_hides_its_password() {
        assert!(ServeArgs::default().resolve().unwrap().database.is_none());
        let dir =
            std::env::temp_dir().join(format!("hearth-config-test-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hearth.toml");
        std::fs::write(
            &path,
            "database = \"postgres://hearth:filesecret@db.internal/hearth\"\n",
        )
        .unwrap();
        let from_file = ServeArgs {
            config: Some(path.clone()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        let url = from_file.database.as_ref().expect("the file's database");
        assert_eq!(url.to_string(), "postgres://hearth:***@db.internal/hearth");
        assert!(!format!("{from_file:?}").contains("filesecret"));
        assert_eq!(
            file_cluster(Some(&path)).unwrap().database.as_deref(),
            Some("postgres://hearth:filesecret@db.internal/hearth")
        );
        let flag = ServeArgs {
            config: Some(path),
            database: Some("postgresql://other@db2/hearth".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            flag.database.unwrap().to_string(),
            "postgresql://other@db2/hearth"
        );
        let empty = ServeArgs {
            database: Some(String::new()),
            ..Default::default()
        };
        assert!(empty.resolve().unwrap().database.is_none());
        let err = ServeArgs {
            database: Some("mysql://root:pw@db/x".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(format!("{err:#}").contains("not a PostgreSQL URL"));
        assert!(!format!("{err:#}").contains(":pw@"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
