use std::sync::Arc;

use hearth_bus::Bus;
use hearth_model::SnowflakeGenerator;
use hearth_store::Store;

use crate::messages::MessageService;
use crate::metrics::Metrics;
use crate::ratelimit::{RateLimiter, Slowmode};

/// Settings the API takes from the node's configuration.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Off only for load tests and trusted deployments.
    pub rate_limits: bool,
    /// Requests with a larger body get 413.
    pub max_body_bytes: usize,
    /// Read-state acks written in one transaction at most (see `acks`).
    pub ack_batch_max: usize,
    /// How many of each thing a guild or channel may hold.
    pub limits: GuildLimits,
    /// Where clients reach the node (`https://chat.example.org`, no
    /// trailing slash); gateway URLs are derived from it. None: from the
    /// request's Host header.
    pub public_url: Option<String>,
    pub registration: Registration,
}

/// Discord's limits on what a guild holds; each is checked in the same
/// transaction as the write, so concurrent creates cannot overshoot it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuildLimits {
    /// Roles, @everyone included (Discord: 250).
    pub roles_per_guild: usize,
    /// Channels of every type, categories included (Discord: 500).
    pub channels_per_guild: usize,
    /// Webhooks per channel (Discord: 15).
    pub webhooks_per_channel: usize,
    /// Permission overwrites per channel.
    pub overwrites_per_channel: usize,
}

impl Default for GuildLimits {
    fn default() -> Self {
        GuildLimits {
            roles_per_guild: 250,
            channels_per_guild: 500,
            webhooks_per_channel: 15,
            overwrites_per_channel: 500,
        }
    }
}

/// Who may create an account through `POST /auth/register`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Registration {
    #[default]
    Open,
    /// Only with a valid invite code in the body; the new account joins
    /// the invite's guild.
    InviteOnly,
    /// Accounts are made by the operator (`hearth admin create-user`).
    Closed,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            rate_limits: true,
            max_body_bytes: 1024 * 1024,
            ack_batch_max: crate::acks::MAX_BATCH,
            limits: GuildLimits::default(),
            public_url: None,
            registration: Registration::Open,
        }
    }
}

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    /// Where the dispatches of REST changes go (see `events`).
    pub bus: Arc<dyn Bus>,
    pub ids: SnowflakeGenerator,
    pub messages: MessageService,
    pub limiter: std::sync::Mutex<RateLimiter>,
    pub slowmode: std::sync::Mutex<Slowmode>,
    /// Recent `enforce_nonce` posts (see `messages::nonces`).
    pub nonces: std::sync::Mutex<crate::messages::nonces::NonceTable>,
    pub metrics: Metrics,
    pub config: ApiConfig,
    voice: std::sync::OnceLock<Arc<dyn crate::voice::VoiceControl>>,
    voice_regions: std::sync::OnceLock<Arc<dyn crate::voice::VoiceRegions>>,
    sessions: std::sync::OnceLock<Arc<dyn crate::sessions::GatewaySessions>>,
    shared_limits: std::sync::OnceLock<Arc<dyn crate::ratelimit::SharedLimits>>,
    files: std::sync::OnceLock<Arc<crate::files::Files>>,
    acks: std::sync::OnceLock<crate::acks::AckWriter>,
}

impl AppState {
    /// `registry` is the node's: the API registers its metrics there.
    pub fn new(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        ids: SnowflakeGenerator,
        config: ApiConfig,
        registry: &mut prometheus_client::registry::Registry,
    ) -> Self {
        let metrics = Metrics::register(registry);
        // Alone, a node sees every write to a channel; in a cluster it does
        // not (see `MessageService::cached`).
        let alone = bus.health() == hearth_bus::BusHealth::Local;
        let messages = MessageService::new(
            store.clone(),
            alone,
            metrics.message_list_queries.clone(),
            metrics.message_list_requests.clone(),
        );
        AppState(Arc::new(Inner {
            store,
            bus,
            ids,
            messages,
            limiter: std::sync::Mutex::new(RateLimiter::new()),
            slowmode: std::sync::Mutex::new(Slowmode::default()),
            nonces: std::sync::Mutex::new(crate::messages::nonces::NonceTable::new(100_000)),
            metrics,
            config,
            voice: std::sync::OnceLock::new(),
            voice_regions: std::sync::OnceLock::new(),
            sessions: std::sync::OnceLock::new(),
            shared_limits: std::sync::OnceLock::new(),
            files: std::sync::OnceLock::new(),
            acks: std::sync::OnceLock::new(),
        }))
    }

    /// The node's ack writer, started by the first ack (in a handler, so
    /// on the runtime).
    pub fn acks(&self) -> &crate::acks::AckWriter {
        self.0.acks.get_or_init(|| {
            crate::acks::AckWriter::start(
                self.0.store.clone(),
                self.0.bus.clone(),
                self.0.config.ack_batch_max,
                self.0.metrics.ack_batch_size.clone(),
            )
        })
    }

    /// Gives the REST side a hand on voice states (moderator moves).
    pub fn set_voice(&self, voice: Arc<dyn crate::voice::VoiceControl>) {
        let _ = self.0.voice.set(voice);
    }

    pub fn voice(&self) -> Option<&Arc<dyn crate::voice::VoiceControl>> {
        self.0.voice.get()
    }

    /// Where voice calls can go (`GET /voice/regions`).
    pub fn set_voice_regions(&self, regions: Arc<dyn crate::voice::VoiceRegions>) {
        let _ = self.0.voice_regions.set(regions);
    }

    pub fn voice_regions(&self) -> Option<&Arc<dyn crate::voice::VoiceRegions>> {
        self.0.voice_regions.get()
    }

    /// Gives the REST side a hand on gateway sessions (Identify budgets,
    /// revoked tokens).
    pub fn set_sessions(&self, sessions: Arc<dyn crate::sessions::GatewaySessions>) {
        let _ = self.0.sessions.set(sessions);
    }

    pub fn sessions(&self) -> Option<&Arc<dyn crate::sessions::GatewaySessions>> {
        self.0.sessions.get()
    }

    /// In a cluster: rate limits counted with the other nodes.
    pub fn set_shared_limits(&self, limits: Arc<dyn crate::ratelimit::SharedLimits>) {
        let _ = self.0.shared_limits.set(limits);
    }

    pub fn shared_limits(&self) -> Option<&Arc<dyn crate::ratelimit::SharedLimits>> {
        self.0.shared_limits.get()
    }
}

impl AppState {
    /// Where uploads go and how they are served.
    /// Starts the reaper of dropped files (see `files::Files::reap`).
    pub fn set_files(&self, files: Arc<crate::files::Files>) {
        if self.0.files.set(files.clone()).is_ok() {
            tokio::spawn(files.reap(self.0.store.clone()));
        }
    }

    /// A write may have dropped files: reap them now.
    pub fn files_dropped(&self) {
        if let Some(files) = self.files() {
            files.reap_soon();
        }
    }

    pub fn files(&self) -> Option<&Arc<crate::files::Files>> {
        self.0.files.get()
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
