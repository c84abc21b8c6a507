//! Wiring the gateway (which owns voice states) to the SFU (which owns
//! media), both ways, and to the REST side (moderator moves). Neither crate
//! knows the other. Alone, the two traits are plain calls; in a cluster
//! voice states travel to every node as [`NodeCommand::MediaState`] (the
//! node hosting the room applies it) and a lost participant travels back
//! to its user's nodes as [`NodeCommand::MediaGone`], and rooms are placed
//! on SFU nodes through the registry in Redis.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use hearth_bus::sfu_registry::{
    Coordinates, PlacementError, Preference, RoomRef, SfuEntry, SfuRegistry,
};
use hearth_bus::{Bus, NodeNames};
use hearth_proto::events::NodeCommand;
use hearth_signaling::media::{BoxFuture, Placing, VoicePlacement, VoiceServer};

use hearth_api::voice::{RingRefused, VoiceControl};
use hearth_api::AppState;
use hearth_model::Snowflake;
use hearth_sfu::room::{Flags, RoomKey};
use hearth_sfu::{Sfu, VoiceHooks};
use hearth_signaling::calls::{CallLog, RingRefusal};
use hearth_signaling::media::{MediaPlane, MediaState};
use hearth_signaling::Gateway;

fn flags(s: &MediaState) -> Flags {
    Flags {
        self_mute: s.self_mute,
        self_deaf: s.self_deaf,
        mute: s.mute,
        deaf: s.deaf,
        can_speak: s.can_speak,
    }
}

/// The gateway's voice states, as the SFU asks for them.
struct FromGateway(Weak<Gateway>);

impl VoiceHooks for FromGateway {
    fn flags(&self, guild: Snowflake, channel: Snowflake, user: Snowflake) -> Option<Flags> {
        self.0
            .upgrade()?
            .media_state(guild, channel, user)
            .as_ref()
            .map(flags)
    }

    fn participant_gone(&self, room: RoomKey, user: Snowflake, session_id: &str) {
        if let Some(gw) = self.0.upgrade() {
            gw.media_gone(room.guild, user, room.channel, session_id, gw.node_name());
        }
    }
}

/// Voice-state changes, told to the SFU.
struct ToSfu(Arc<Sfu>);

impl MediaPlane for ToSfu {
    fn voice_state(&self, guild: Snowflake, user: Snowflake, state: Option<MediaState>) {
        match &state {
            Some(s) => self
                .0
                .voice_state(guild, user, Some((s.channel, &s.session_id, flags(s)))),
            None => self.0.voice_state(guild, user, None),
        }
    }
}

fn ring_refused(r: RingRefusal) -> RingRefused {
    match r {
        RingRefusal::NoCall => RingRefused::NoCall,
    }
}

/// Moderator moves and ringing from the REST side.
struct VoiceOfGateway(Weak<Gateway>);

impl VoiceControl for VoiceOfGateway {
    fn channel_of(&self, guild: Snowflake, user: Snowflake) -> Option<Snowflake> {
        self.0.upgrade()?.voice_channel_of(guild, user)
    }

    fn move_member(&self, guild: Snowflake, user: Snowflake, channel: Option<Snowflake>) -> bool {
        self.0
            .upgrade()
            .is_some_and(|gw| gw.move_voice(guild, user, channel))
    }

    fn ring(&self, channel: Snowflake, who: Option<Vec<Snowflake>>) -> Result<(), RingRefused> {
        let gw = self.0.upgrade().ok_or(RingRefused::NoCall)?;
        gw.ring(channel, who.as_deref()).map_err(ring_refused)
    }

    fn stop_ringing(&self, channel: Snowflake, who: &[Snowflake]) -> Result<(), RingRefused> {
        let gw = self.0.upgrade().ok_or(RingRefused::NoCall)?;
        gw.stop_ringing(channel, who).map_err(ring_refused)
    }
}

/// DM calls' messages, written by the REST side.
struct CallMessages(AppState);

impl CallLog for CallMessages {
    fn started(&self, channel: Snowflake, caller: Snowflake) -> Snowflake {
        hearth_api::messages::call_log::started(&self.0, channel, caller)
    }

    fn ended(&self, channel: Snowflake, message: Snowflake, participants: Vec<Snowflake>) {
        hearth_api::messages::call_log::ended(&self.0, channel, message, participants);
    }
}

pub fn connect(gateway: &Arc<Gateway>, sfu: &Arc<Sfu>, api: &AppState, region: &str) {
    gateway.set_call_log(Arc::new(CallMessages(api.clone())));
    api.set_voice_regions(Arc::new(OwnRegion(region.to_owned())));
    sfu.set_hooks(Arc::new(FromGateway(Arc::downgrade(gateway))));
    gateway.set_media_plane(Arc::new(ToSfu(sfu.clone())));
    api.set_voice(Arc::new(VoiceOfGateway(Arc::downgrade(gateway))));
}

/// How long a join on this node's SFU waits for the user's voice state to
/// come from the node holding it.
pub const CLUSTER_VOICE_STATE_WAIT: Duration = Duration::from_secs(3);

/// The gateway's voice-state changes, told to every node.
/// (The bus, and this node's name: the states' holder.)
struct ToCluster(Arc<dyn Bus>, String);

impl MediaPlane for ToCluster {
    fn voice_state(&self, guild: Snowflake, user: Snowflake, state: Option<MediaState>) {
        self.0.command(NodeCommand::MediaState {
            guild_id: guild,
            user_id: user,
            state,
            holder: self.1.clone(),
        });
    }
}

/// How often an SFU node looks for voice states whose holding node is gone.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// This node's SFU in a cluster: it keeps the voice states every node
/// announces (what a join here is checked against), applies them to its
/// calls, and tells the user's nodes when it loses a participant.
struct HostedVoice {
    sfu: Arc<Sfu>,
    bus: Arc<dyn Bus>,
    /// One entry per user in voice anywhere in the cluster, with the node
    /// holding the state.
    known: Mutex<HashMap<(Snowflake, Snowflake), (MediaState, String)>>,
}

type Known = HashMap<(Snowflake, Snowflake), (MediaState, String)>;

impl HostedVoice {
    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends the calls of users whose voice state's node is gone (killed:
    /// nobody is left to say they left), every [`SWEEP_EVERY`].
    fn sweep(me: Weak<HostedVoice>, nodes: NodeNames) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(me) = me.upgrade() else { return };
                let mut holders: Vec<String> =
                    me.known().values().map(|(_, h)| h.clone()).collect();
                holders.sort();
                holders.dedup();
                if holders.is_empty() {
                    continue;
                }
                let Ok(alive) = nodes.alive(&holders).await else {
                    continue;
                };
                let gone: Vec<&String> = holders
                    .iter()
                    .zip(alive)
                    .filter(|(_, a)| !a)
                    .map(|(h, _)| h)
                    .collect();
                if gone.is_empty() {
                    continue;
                }
                let orphans: Vec<(Snowflake, Snowflake)> = me
                    .known()
                    .iter()
                    .filter(|(_, (_, h))| gone.contains(&h))
                    .map(|(k, _)| *k)
                    .collect();
                tracing::info!(nodes = ?gone, calls = orphans.len(), "calls of users whose gateway node is gone end");
                for (guild, user) in orphans {
                    me.voice_state(guild, user, None);
                }
            }
        });
    }
}

impl MediaPlane for HostedVoice {
    fn voice_state(&self, guild: Snowflake, user: Snowflake, state: Option<MediaState>) {
        self.voice_state_of(guild, user, state, "");
    }

    fn voice_state_of(
        &self,
        guild: Snowflake,
        user: Snowflake,
        state: Option<MediaState>,
        holder: &str,
    ) {
        match &state {
            Some(s) => self
                .known()
                .insert((guild, user), (s.clone(), holder.to_owned())),
            None => self.known().remove(&(guild, user)),
        };
        ToSfu(self.sfu.clone()).voice_state(guild, user, state);
    }
}

impl VoiceHooks for HostedVoice {
    fn flags(&self, guild: Snowflake, channel: Snowflake, user: Snowflake) -> Option<Flags> {
        self.known()
            .get(&(guild, user))
            .filter(|(s, _)| s.channel == channel)
            .map(|(s, _)| flags(s))
    }

    fn participant_gone(&self, room: RoomKey, user: Snowflake, session_id: &str) {
        self.bus.command(NodeCommand::MediaGone {
            guild_id: room.guild,
            user_id: user,
            channel_id: room.channel,
            session_id: session_id.to_owned(),
            node: self.sfu.config.node.clone(),
        });
    }
}

/// Rooms placed through the cluster's SFU registry; a room with no
/// `rtc_region` goes to this node's region when it has an SFU node.
struct Placement {
    registry: Arc<SfuRegistry>,
    region: String,
    coordinates: Coordinates,
}

impl VoicePlacement for Placement {
    fn place<'a>(
        &'a self,
        room: RoomRef,
        rtc_region: Option<&'a str>,
        user_region: Option<&'a str>,
    ) -> Placing<'a> {
        Box::pin(async move {
            let regions: Vec<&str> = [rtc_region, user_region, Some(self.region.as_str())]
                .into_iter()
                .flatten()
                .collect();
            let want = Preference {
                regions: &regions,
                coordinates: &self.coordinates,
            };
            let entry = self.registry.place(room, &want).await?;
            Ok(VoiceServer {
                node: entry.node,
                endpoint: entry.endpoint,
            })
        })
    }

    fn live(&self) -> BoxFuture<'_, Result<Vec<String>, PlacementError>> {
        Box::pin(async move {
            let live = self.registry.live().await?;
            Ok(live.into_iter().map(|e| e.node).collect())
        })
    }
}

/// Alone, calls go to this node's own region.
pub struct OwnRegion(pub String);

#[async_trait::async_trait]
impl hearth_api::voice::VoiceRegions for OwnRegion {
    async fn regions(&self) -> Vec<String> {
        vec![self.0.clone()]
    }

    fn home(&self) -> &str {
        &self.0
    }
}

#[async_trait::async_trait]
impl hearth_api::voice::VoiceRegions for Placement {
    /// The regions of the SFU nodes taking rooms now.
    async fn regions(&self) -> Vec<String> {
        match self.registry.live().await {
            Ok(live) => live
                .into_iter()
                .filter(|e| !e.draining)
                .map(|e| e.region)
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn home(&self) -> &str {
        &self.region
    }
}

/// The wiring of a cluster's node (see the module's documentation); `sfu`
/// is the node's own, unless it serves only the API.
pub fn connect_cluster(
    gateway: &Arc<Gateway>,
    sfu: Option<&Arc<Sfu>>,
    api: &AppState,
    registry: Arc<SfuRegistry>,
    region: String,
    coordinates: Coordinates,
    nodes: NodeNames,
) {
    gateway.set_call_log(Arc::new(CallMessages(api.clone())));
    let hosted = sfu.map(|sfu| {
        let hosted = Arc::new(HostedVoice {
            sfu: sfu.clone(),
            bus: gateway.bus.clone(),
            known: Mutex::new(HashMap::new()),
        });
        sfu.set_hooks(hosted.clone());
        HostedVoice::sweep(Arc::downgrade(&hosted), nodes);
        hosted as Arc<dyn MediaPlane>
    });
    gateway.set_media_plane(Arc::new(ToCluster(
        gateway.bus.clone(),
        gateway.node_name().to_owned(),
    )));
    let placement = Arc::new(Placement {
        registry,
        region,
        coordinates,
    });
    api.set_voice_regions(placement.clone());
    gateway.set_cluster_media(placement, hosted);
    api.set_voice(Arc::new(VoiceOfGateway(Arc::downgrade(gateway))));
}

/// Where an SFU node of a cluster stands in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Serving = 0,
    /// Takes no new rooms; keeps its calls.
    Draining = 1,
    /// Out of the registry: its remaining calls are being moved.
    Leaving = 2,
}

/// This node's SFU as the cluster's registry knows it.
pub struct AnnouncedSfu {
    sfu: Arc<Sfu>,
    registry: Arc<SfuRegistry>,
    region: String,
    endpoint: String,
    stage: std::sync::atomic::AtomicU8,
    /// `hearth_sfu_draining`: 1 from SIGTERM on.
    draining: prometheus_client::metrics::gauge::Gauge,
    /// Told when `hearth drain` asks for this node.
    drain_asked: tokio::sync::Notify,
    /// Beyond this many participants it takes no new rooms.
    max_participants: Option<usize>,
    /// The work counters at the last announcement, for rates.
    last_work: Mutex<Option<(std::time::Instant, hearth_sfu::Work)>>,
}

/// After a drain's timeout, how long the moved calls' clients have to
/// leave for their new node before the node stops anyway.
const MOVE_GRACE: Duration = Duration::from_secs(10);

impl AnnouncedSfu {
    fn stage(&self) -> Stage {
        match self.stage.load(std::sync::atomic::Ordering::Acquire) {
            0 => Stage::Serving,
            1 => Stage::Draining,
            _ => Stage::Leaving,
        }
    }

    fn set_stage(&self, stage: Stage) {
        self.stage
            .store(stage as u8, std::sync::atomic::Ordering::Release);
        self.draining.set(i64::from(stage != Stage::Serving));
    }

    /// What this node tells the registry about its SFU: its load since the
    /// last announcement, and whether it takes new rooms.
    fn entry(&self) -> SfuEntry {
        let work = self.sfu.work();
        let now = std::time::Instant::now();
        let (packets_per_sec, cpu) = {
            let mut last = self.last_work.lock().unwrap_or_else(|p| p.into_inner());
            let (then, before) = last.replace((now, work)).unwrap_or((now, work));
            let secs = now.duration_since(then).as_secs_f64();
            match secs > 0.0 {
                true => (
                    (work.packets_out.saturating_sub(before.packets_out) as f64 / secs) as u64,
                    ((work.busy_seconds - before.busy_seconds) / secs / work.workers.max(1) as f64)
                        .clamp(0.0, 1.0) as f32,
                ),
                false => (0, 0.0),
            }
        };
        let participants = self.sfu.participants();
        SfuEntry {
            node: self.sfu.config.node.clone(),
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            rooms: u32::try_from(self.sfu.rooms().len()).unwrap_or(u32::MAX),
            participants: u32::try_from(participants).unwrap_or(u32::MAX),
            packets_per_sec,
            cpu,
            draining: self.stage() != Stage::Serving,
            full: self.max_participants.is_some_and(|max| participants >= max),
        }
    }

    async fn renew(&self) -> Result<(), PlacementError> {
        let rooms: Vec<RoomRef> = self
            .sfu
            .rooms()
            .into_iter()
            .map(|r| RoomRef {
                guild: r.guild,
                channel: r.channel,
            })
            .collect();
        self.registry.announce(&self.entry()).await?;
        self.registry.renew(&self.sfu.config.node, &rooms).await?;
        Ok(())
    }

    /// Resolves once `hearth drain` named this node.
    pub async fn drain_asked(&self) {
        self.drain_asked.notified().await;
    }

    /// Drains the node: no new rooms from now; the calls here go on until
    /// they end or `timeout` passes; then the node leaves the registry, so
    /// the nodes holding the remaining calls' voice states move them to
    /// other SFU nodes, and waits (a while) for their clients to go.
    pub async fn drain(&self, timeout: Duration) {
        self.set_stage(Stage::Draining);
        if let Err(e) = self.registry.announce(&self.entry()).await {
            tracing::warn!(error = %e, "could not tell the registry this node drains");
        }
        let calls = self.sfu.participants();
        tracing::info!(
            calls,
            timeout_secs = timeout.as_secs(),
            "draining: no new rooms; waiting for the calls here to end"
        );
        if !wait_until_empty(&self.sfu, timeout).await {
            tracing::info!(
                calls = self.sfu.participants(),
                "drain timeout: moving the remaining calls to other SFU nodes"
            );
        }
        self.set_stage(Stage::Leaving);
        if let Err(e) = self.registry.leave(&self.sfu.config.node).await {
            tracing::warn!(error = %e, "could not leave the registry: the calls here move when its entry expires");
        }
        wait_until_empty(&self.sfu, MOVE_GRACE).await;
    }
}

/// Waits until the SFU has no participant (true) or `timeout` passed.
async fn wait_until_empty(sfu: &Sfu, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while sfu.participants() > 0 {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    true
}

/// Announces the SFU once (so the node's first joins find it), then keeps
/// announcing it and its rooms every two seconds, in the background, until
/// it leaves the registry.
pub async fn announce(
    sfu: Arc<Sfu>,
    registry: Arc<SfuRegistry>,
    region: String,
    endpoint: String,
    max_participants: Option<usize>,
    metrics: &mut prometheus_client::registry::Registry,
) -> anyhow::Result<Arc<AnnouncedSfu>> {
    let draining = prometheus_client::metrics::gauge::Gauge::default();
    metrics.register(
        "sfu_draining",
        "1 while this SFU node drains (takes no new rooms) or hands its calls on",
        draining.clone(),
    );
    let announced = Arc::new(AnnouncedSfu {
        sfu,
        registry,
        region,
        endpoint,
        stage: std::sync::atomic::AtomicU8::new(Stage::Serving as u8),
        draining,
        drain_asked: tokio::sync::Notify::new(),
        max_participants,
        last_work: Mutex::new(None),
    });
    announced
        .registry
        .announce(&announced.entry())
        .await
        .map_err(|e| anyhow::anyhow!("announcing the SFU in Redis: {e}"))?;
    let me = announced.clone();
    tokio::spawn(async move {
        let mut failing = false;
        let mut tick = tokio::time::interval(hearth_bus::sfu_registry::ANNOUNCE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if me.stage() == Stage::Leaving {
                return;
            }
            if me.stage() == Stage::Serving
                && me
                    .registry
                    .drain_requested(&me.sfu.config.node)
                    .await
                    .unwrap_or(false)
            {
                tracing::info!("`hearth drain` asked this node to drain");
                me.drain_asked.notify_one();
            }
            match (me.renew().await, failing) {
                (Err(e), false) => {
                    tracing::warn!(error = %e, "the SFU registry is unreachable: no new rooms come to this node until it is back");
                    failing = true;
                }
                (Ok(_), true) => {
                    tracing::info!("the SFU registry is reachable again");
                    failing = false;
                }
                _ => {}
            }
        }
    });
    Ok(announced)
}
