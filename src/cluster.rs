//! A node's part in its cluster: what it takes from and shares through
//! Redis (`--redis`). Alone, a node has none of this: events stay in the
//! process and everything is counted locally.

use std::sync::Arc;

use hearth_api::AppState;
use hearth_bus::connected::ConnectedSessions;
use hearth_bus::journal::JournalStore;
use hearth_bus::presence::RedisPresences;
use hearth_bus::sfu_registry::SfuRegistry;
use hearth_bus::voice_directory::VoiceDirectory;
use hearth_bus::NodeNames;
use hearth_bus::{Bus, LocalBus, NodeIdLease, RedisBus, RedisBusConfig, SharedWindows};
use hearth_signaling::journal::Journal;
use hearth_signaling::Gateway;
use prometheus_client::registry::Registry;

use crate::config::{Cluster, ServeConfig};

/// Events this node may hold for other nodes while Redis is away (some
/// hundreds of bytes each). Beyond them events are dropped, counted and
/// logged; an outage of Redis itself also broke the other nodes'
/// subscriptions, so they start their sessions afresh when it is back.
const BUS_OUTBOX: usize = 100_000;

/// This node's id: leased in a cluster, so no two nodes share one
/// (`wanted` is then checked to be free); else `wanted` or 0.
pub async fn node_id(
    cluster: Option<&Cluster>,
    wanted: Option<u16>,
) -> anyhow::Result<(u16, Option<Arc<NodeIdLease>>)> {
    match cluster {
        None => Ok((wanted.unwrap_or(0), None)),
        Some(c) => {
            let lease = NodeIdLease::acquire(&c.redis, &c.prefix, wanted).await?;
            Ok((lease.id(), Some(Arc::new(lease))))
        }
    }
}

/// The bus events travel on: Redis in a cluster (its counters registered
/// as `hearth_bus_*`), the process alone.
pub async fn bus(
    cluster: Option<&Cluster>,
    registry: &mut Registry,
) -> anyhow::Result<Arc<dyn Bus>> {
    let Some(c) = cluster else {
        let local = LocalBus::new();
        local.register_metrics(registry);
        return Ok(Arc::new(local));
    };
    let redis = RedisBus::connect(RedisBusConfig {
        url: c.redis.clone(),
        prefix: c.prefix.clone(),
        max_queued: BUS_OUTBOX,
    })
    .await?;
    redis.register_metrics(registry);
    Ok(redis)
}

/// Shares what the nodes must count together: each user's presence, and
/// (when limits are on) REST rate limits. Before the node serves anyone.
pub async fn share(
    c: &Cluster,
    gateway: &Arc<Gateway>,
    api: &AppState,
    rate_limits: bool,
    session_journal: bool,
) -> anyhow::Result<()> {
    let presences = RedisPresences::connect(&c.redis, &c.prefix).await?;
    gateway.share_presence(Arc::new(presences));
    let directory = VoiceDirectory::connect(&c.redis, &c.prefix, gateway.node_name()).await?;
    let nodes = NodeNames::connect(&c.redis, &c.prefix).await?;
    gateway.share_voice_states(Arc::new(directory), Arc::new(nodes));
    // Every session written down as it goes, so another node resumes it
    // if this one dies.
    if gateway.config.max_sessions_per_user != usize::MAX {
        let connected = ConnectedSessions::connect(&c.redis, &c.prefix).await?;
        gateway.share_connected_sessions(Arc::new(connected));
    }
    if session_journal {
        let journal = JournalStore::connect(&c.redis, &c.prefix, gateway.node_name()).await?;
        gateway.journal_sessions(Journal::new(journal, gateway.config.resume_grace));
    }
    if rate_limits {
        let windows = SharedWindows::connect(&c.redis, &c.prefix).await?;
        api.set_shared_limits(Arc::new(crate::limits::RedisLimits::new(windows)));
        let windows = SharedWindows::connect(&c.redis, &c.prefix).await?;
        gateway.share_session_starts(Arc::new(crate::limits::RedisStarts::new(windows)));
    }
    Ok(())
}

/// The node's voice identity in its cluster, before the gateway and the SFU
/// are made from `config`: its name (from its id lease, so no other node,
/// running or past, has it), the voice secret every node verifies tokens
/// with (the operator's, else one shared through Redis), and a wait for
/// voice states that cross Redis. Returns the SFU registry.
pub async fn voice_identity(
    c: &Cluster,
    config: &mut ServeConfig,
    lease: &NodeIdLease,
) -> anyhow::Result<Arc<SfuRegistry>> {
    let registry = SfuRegistry::connect(&c.redis, &c.prefix).await?;
    if !config.voice_secret_set {
        config.gateway.voice_secret = registry
            .shared_voice_secret()
            .await
            .map_err(|e| anyhow::anyhow!("sharing the voice secret through Redis: {e}"))?;
    }
    config.gateway.node_name = lease.node_name();
    config.sfu.node = config.gateway.node_name.clone();
    config.sfu.voice_secret = config.gateway.voice_secret.clone();
    config.sfu.voice_state_wait = crate::media::CLUSTER_VOICE_STATE_WAIT;
    Ok(Arc::new(registry))
}
