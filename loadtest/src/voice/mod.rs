//! The voice scenario: R rooms (voice channels) of P publishers and S
//! subscribers each, every participant a real client of the server: a
//! registered user, a gateway session that sends op 4, a voice WebSocket,
//! and a WebRTC peer (str0m) that completes ICE, DTLS and SRTP and sends or
//! receives real RTP.
//!
//! 1. Register R × (P + S) users and make R guilds; guild `r`'s default
//!    voice channel is room `r`. Participant `n` is user `n`, in room
//!    `n % R`; the first P participants of each room publish.
//! 2. Start the media threads ([`engine`]) and encode the Opus frames.
//! 3. Start participants at `ramp` per second ([`signaling`]); each reports
//!    when it has joined (connected, and received media from another
//!    participant if the room has another publisher) or why it failed.
//! 4. Once every participant has joined or failed: the steady phase.
//!    Read the server's `/metrics` and `/proc`, run for `duration`, read
//!    them again.
//! 5. Publishers stop; once packets stop arriving (at most 3 s) every
//!    peer's per-track figures are collected, and every participant closes
//!    its sockets.
//!
//! A sampler prints a progress line every second and keeps the timeline
//! the report charts.

pub mod accounting;
pub mod engine;
pub mod html;
pub mod janus;
pub mod payload;
pub mod peer;
pub mod report;
pub mod server;
pub mod signaling;
pub mod simulcast;
pub mod udp_drops;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::latency::Histogram;
use crate::rest::Rest;
use crate::setup;
use crate::system::{ProcSample, ProcUsage};
use crate::Error;
use engine::{Engine, MediaShared};
use payload::OpusFrames;
use peer::{Publish, VideoPlan};
use report::{JoinReport, MediaReport, RunConfig, Sample, VoiceReport, SCHEMA_VERSION};
use server::{Scrape, ServerReport};
use signaling::{Context, Joined, Outcome, Plan};
use udp_drops::{DropCounts, UdpDrops};

/// After publishers stop, packets in flight land: the drain ends once
/// nothing arrived for `DRAIN_QUIET`, or after `DRAIN_MAX`.
const DRAIN_QUIET: Duration = Duration::from_millis(300);
const DRAIN_MAX: Duration = Duration::from_secs(3);

/// Whose signaling the participants speak.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Hearth: REST set-up, the gateway, the voice WebSocket.
    Hearth,
    /// A Janus VideoRoom behind its WebSocket API at `url`
    /// (`ws://host:8188`); see [`janus`].
    Janus { url: String },
}

#[derive(Clone, Debug)]
pub struct VoiceConfig {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub target: Target,
    pub rooms: usize,
    pub publishers: usize,
    pub subscribers: usize,
    /// Publishers also send VP8 at this many kbps.
    pub video_kbps: Option<u32>,
    /// With video: each publisher sends it as three simulcast layers (the
    /// top one at `video_kbps`), and listeners ask for different qualities.
    pub simulcast: bool,
    pub keyframe_interval: Duration,
    /// Publishers alternate talk spurts and silences (Opus DTX).
    pub simulate_speakers: bool,
    /// The steady phase, after every participant joined or failed.
    pub duration: Duration,
    /// Participants started per second.
    pub ramp: f64,
    pub client_threads: usize,
    /// Op 4 to joined, per participant.
    pub join_timeout: Duration,
    /// The largest loss ratio (0..1) that still passes.
    pub max_loss: f64,
    pub server_pid: Option<u32>,
    /// Print a progress line every second.
    pub progress: bool,
}

impl VoiceConfig {
    pub fn new(url: impl Into<String>) -> VoiceConfig {
        VoiceConfig {
            url: url.into(),
            target: Target::Hearth,
            rooms: 1,
            publishers: 2,
            subscribers: 2,
            video_kbps: None,
            simulcast: false,
            keyframe_interval: Duration::from_secs(3),
            simulate_speakers: false,
            duration: Duration::from_secs(10),
            ramp: 50.0,
            client_threads: 1,
            join_timeout: Duration::from_secs(30),
            max_loss: 0.01,
            server_pid: None,
            progress: true,
        }
    }

    fn participants(&self) -> usize {
        self.rooms * (self.publishers + self.subscribers)
    }

    /// Participant `n` is in room `n % rooms`, the `n / rooms`-th of it.
    fn room_of(&self, n: usize) -> usize {
        n % self.rooms
    }

    /// With simulcast, what listener `n` asks the SFU for: listener `k` of
    /// a room asks for high, medium, low, high, ...; publishers keep the
    /// default.
    fn quality_asked(&self, n: usize) -> Option<simulcast::Quality> {
        let k = (n / self.rooms).checked_sub(self.publishers)?;
        (self.simulcast && self.video_kbps.is_some()).then(|| simulcast::Quality::of_subscriber(k))
    }

    fn publishes(&self, n: usize) -> Publish {
        let publisher = n / self.rooms < self.publishers;
        Publish {
            audio: publisher,
            video: publisher && self.video_kbps.is_some(),
        }
    }
}

fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| str0m::crypto::from_feature_flags().install_process_default());
}

/// What the sampler keeps between ticks.
struct Sampler {
    started: Instant,
    last: Instant,
    last_in: u64,
    last_out: u64,
    last_bytes_in: u64,
    last_expected: u64,
    last_received: u64,
    timeline: Vec<Sample>,
}

impl Sampler {
    fn tick(&mut self, shared: &MediaShared, joined: usize) -> Sample {
        let now = Instant::now();
        let secs = now.duration_since(self.last).as_secs_f64().max(1e-6);
        let pin = shared.packets_in.load(Ordering::Relaxed);
        let pout = shared.packets_out.load(Ordering::Relaxed);
        let bin = shared.bytes_in.load(Ordering::Relaxed);
        let exp = shared.expected.load(Ordering::Relaxed);
        let rec = shared.received.load(Ordering::Relaxed);
        let d_exp = exp.saturating_sub(self.last_expected);
        let d_rec = rec.saturating_sub(self.last_received);
        let ms = |us: Option<u64>| us.map(|v| v as f64 / 1000.0);
        let s = Sample {
            t: now.duration_since(self.started).as_secs_f64(),
            joined,
            pps_in: (pin - self.last_in) as f64 / secs,
            pps_out: (pout - self.last_out) as f64 / secs,
            kbps_in: (bin - self.last_bytes_in) as f64 * 8.0 / 1000.0 / secs,
            loss_ratio: if d_exp > 0 {
                d_exp.saturating_sub(d_rec) as f64 / d_exp as f64
            } else {
                0.0
            },
            latency_p50_ms: ms(shared.interval_latency.quantile_micros(0.5)),
            latency_p99_ms: ms(shared.interval_latency.quantile_micros(0.99)),
        };
        shared.interval_latency.reset();
        self.last = now;
        self.last_in = pin;
        self.last_out = pout;
        self.last_bytes_in = bin;
        self.last_expected = exp;
        self.last_received = rec;
        self.timeline.push(s.clone());
        s
    }
}

fn progress_line(s: &Sample, planned: usize, phase: &str) -> String {
    let width = 20;
    let filled = (s.joined * width).checked_div(planned).unwrap_or(0);
    format!(
        "[{}{}] {phase:<7} {:>3.0}s  joined {}/{}  in {:.0} pps  out {:.0} pps  loss {:.2}%  p99 {}",
        "#".repeat(filled),
        ".".repeat(width - filled.min(width)),
        s.t,
        s.joined,
        planned,
        s.pps_in,
        s.pps_out,
        s.loss_ratio * 100.0,
        s.latency_p99_ms
            .map_or("-".into(), |v| format!("{v:.1} ms"))
    )
}

/// The server's `/metrics`, if it has them and answers.
async fn scrape(rest: Option<&Rest>) -> Option<Scrape> {
    rest?.metrics().await.ok().map(|t| Scrape::parse(&t))
}

/// What set-up made for the participants, before the media threads start.
enum Prepared {
    Hearth {
        rest: Rest,
        gateway_url: String,
        world: setup::World,
        channels: Vec<String>,
    },
    Janus {
        url: String,
        rooms: Vec<u64>,
    },
}

/// The participants' side of the target.
enum Signaling {
    Hearth {
        ctx: Arc<Context>,
        users: Vec<crate::rest::Account>,
        guilds: Vec<String>,
        channels: Vec<String>,
    },
    Janus(Arc<janus::Context>),
}

impl Signaling {
    fn engine(&self) -> &Engine {
        match self {
            Signaling::Hearth { ctx, .. } => &ctx.engine,
            Signaling::Janus(ctx) => &ctx.engine,
        }
    }

    fn joined(&self) -> usize {
        match self {
            Signaling::Hearth { ctx, .. } => ctx.joined.load(Ordering::Relaxed),
            Signaling::Janus(ctx) => ctx.joined.load(Ordering::Relaxed),
        }
    }

    fn media_addrs(&self) -> HashSet<SocketAddr> {
        let addrs = match self {
            Signaling::Hearth { ctx, .. } => &ctx.media_addrs,
            Signaling::Janus(ctx) => &ctx.media_addrs,
        };
        addrs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn start(
        &self,
        n: usize,
        config: &VoiceConfig,
        stop: watch::Receiver<bool>,
        joined: mpsc::UnboundedSender<Joined>,
    ) -> tokio::task::JoinHandle<Outcome> {
        let room = config.room_of(n);
        let publish = config.publishes(n);
        let expects_media = if publish.audio {
            config.publishers > 1
        } else {
            config.publishers > 0
        };
        match self {
            Signaling::Hearth {
                ctx,
                users,
                guilds,
                channels,
            } => {
                let plan = Plan {
                    index: n,
                    user_id: users[n].id.clone(),
                    token: users[n].token.clone(),
                    guild_id: guilds[room].clone(),
                    channel_id: channels[room].clone(),
                    publish,
                    expects_media,
                    video_quality: config.quality_asked(n),
                };
                tokio::spawn(signaling::run(plan, ctx.clone(), stop, joined))
            }
            Signaling::Janus(ctx) => {
                let plan = janus::Plan {
                    index: n,
                    room,
                    publish,
                    expects_media,
                    video_quality: config.quality_asked(n),
                };
                tokio::spawn(janus::run(plan, ctx.clone(), stop, joined))
            }
        }
    }
}

/// Runs the scenario against a server that is already up.
pub async fn run(config: VoiceConfig) -> Result<VoiceReport, Error> {
    if config.rooms == 0
        || config.publishers + config.subscribers == 0
        || config.ramp.is_nan()
        || config.ramp <= 0.0
    {
        return Err(Error::Config(
            "need at least one room, one participant per room, and a ramp above 0".into(),
        ));
    }
    if config.simulcast && config.video_kbps.is_none() {
        return Err(Error::Config("simulcast needs video (--video vp8)".into()));
    }
    install_crypto();
    let opus = OpusFrames::encode().map_err(Error::Config)?;
    let total = config.participants();
    let prepared = match &config.target {
        Target::Hearth => {
            let rest = Rest::new(&config.url, 16)?;
            let gateway_url = rest.gateway_url().await?;
            let tag = crate::chat::run_tag();
            let world = setup::build(&rest, total, config.rooms, &tag).await?;
            let mut channels = Vec::with_capacity(config.rooms);
            for g in &world.guilds {
                let owner = &world.users[g.members[0]].token;
                channels.push(rest.voice_channel(owner, &g.id).await?);
            }
            Prepared::Hearth {
                rest,
                gateway_url,
                world,
                channels,
            }
        }
        // Every participant joins as a publisher (listeners only to hear
        // of the feeds), so the room has a slot for each.
        Target::Janus { url } => Prepared::Janus {
            url: url.clone(),
            rooms: janus::create_rooms(url, config.rooms, config.publishers + config.subscribers)
                .await
                .map_err(Error::Config)?,
        },
    };

    let video = config
        .video_kbps
        .map(|k| VideoPlan::new(k, config.keyframe_interval, config.simulcast));
    let shared = Arc::new(MediaShared::new(
        total,
        |n| config.publishes(n),
        opus,
        video,
        config.simulate_speakers,
    ));
    let engine = Engine::start(config.client_threads, shared.clone())
        .map_err(|e| Error::Config(format!("starting the media threads: {e}")))?;
    let (rest, janus_rooms, ctx) = match prepared {
        Prepared::Hearth {
            rest,
            gateway_url,
            world,
            channels,
        } => {
            let ctx = Arc::new(Context {
                gateway_url,
                engine,
                participants_by_user: world
                    .users
                    .iter()
                    .enumerate()
                    .map(|(n, u)| (u.id.clone(), n))
                    .collect::<HashMap<_, _>>(),
                join_timeout: config.join_timeout,
                joined: AtomicUsize::new(0),
                media_addrs: Default::default(),
            });
            let signaling = Signaling::Hearth {
                ctx,
                users: world.users,
                guilds: world.guilds.iter().map(|g| g.id.clone()).collect(),
                channels,
            };
            (Some(rest), None, Arc::new(signaling))
        }
        Prepared::Janus { url, rooms } => {
            let ctx = Arc::new(janus::Context {
                url: url.clone(),
                engine,
                participants: total,
                rooms: rooms.clone(),
                join_timeout: config.join_timeout,
                joined: AtomicUsize::new(0),
                media_addrs: Default::default(),
            });
            (None, Some((url, rooms)), Arc::new(Signaling::Janus(ctx)))
        }
    };
    let udp_drops = |ctx: &Signaling| DropCounts::read(&ctx.media_addrs());

    // The sampler: a line a second, and the timeline.
    let sampler_stop = Arc::new(AtomicBool::new(false));
    let phase = Arc::new(std::sync::Mutex::new("joining"));
    let sampler = {
        let (shared, ctx, stop, phase) = (
            shared.clone(),
            ctx.clone(),
            sampler_stop.clone(),
            phase.clone(),
        );
        let progress = config.progress;
        tokio::spawn(async move {
            let started = Instant::now();
            let mut s = Sampler {
                started,
                last: started,
                last_in: 0,
                last_out: 0,
                last_bytes_in: 0,
                last_expected: 0,
                last_received: 0,
                timeline: Vec::new(),
            };
            let tty = std::io::stderr().is_terminal();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let sample = s.tick(&shared, ctx.joined());
                if progress {
                    let p = *phase.lock().unwrap_or_else(|p| p.into_inner());
                    let line = progress_line(&sample, total, p);
                    let mut err = std::io::stderr().lock();
                    if tty {
                        let _ = write!(err, "\r{line}\x1b[K");
                    } else if s.timeline.len() % 5 == 0 {
                        let _ = writeln!(err, "{line}");
                    }
                }
            }
            if progress && tty {
                eprintln!();
            }
            s.timeline
        })
    };

    // Participants, at the ramp's pace.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (joined_tx, mut joined_rx) = mpsc::unbounded_channel();
    let ramp_started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    let starter = {
        let ctx = ctx.clone();
        let config = config.clone();
        let stop_rx = stop_rx.clone();
        let joined_tx = joined_tx.clone();
        tokio::spawn(async move {
            let mut tasks = Vec::with_capacity(total);
            for n in 0..total {
                let due = ramp_started + Duration::from_secs_f64(n as f64 / config.ramp);
                tokio::time::sleep_until(due.into()).await;
                tasks.push(ctx.start(n, &config, stop_rx.clone(), joined_tx.clone()));
            }
            tasks
        })
    };
    drop(joined_tx);

    let mut join = JoinReport {
        planned: total,
        ..JoinReport::default()
    };
    let voice_server_h = Histogram::new();
    let connected_h = Histogram::new();
    let first_media_h = Histogram::new();
    for _ in 0..total {
        let Some(j) = joined_rx.recv().await else {
            break;
        };
        match j.result {
            Ok(t) => {
                join.joined += 1;
                voice_server_h.record(t.voice_server);
                connected_h.record(t.connected);
                if let Some(m) = t.first_media {
                    first_media_h.record(m);
                }
            }
            Err(f) => {
                join.failed += 1;
                *join.failures.entry(f.stage.to_string()).or_default() += 1;
                join.first_failure
                    .entry(f.stage.to_string())
                    .or_insert(f.detail);
            }
        }
    }
    join.ramp_secs = ramp_started.elapsed().as_secs_f64();
    join.op4_to_voice_server_update = voice_server_h.summary();
    join.op4_to_connected = connected_h.summary();
    join.op4_to_first_media = first_media_h.summary();
    if let Ok(t) = starter.await {
        tasks = t;
    }
    if config.progress {
        eprintln!(
            "\n{} of {total} participants joined in {:.1}s; steady phase for {:.0}s",
            join.joined,
            join.ramp_secs,
            config.duration.as_secs_f64()
        );
    }

    // The steady phase.
    *phase.lock().unwrap_or_else(|p| p.into_inner()) = "steady";
    let metrics_before = scrape(rest.as_ref()).await;
    let drops_before = udp_drops(&ctx);
    let server_before = config.server_pid.and_then(ProcSample::read);
    let self_before = ProcSample::of_self();
    let counters_before = (
        shared.packets_in.load(Ordering::Relaxed),
        shared.packets_out.load(Ordering::Relaxed),
        shared.bytes_in.load(Ordering::Relaxed),
        shared.bytes_out.load(Ordering::Relaxed),
    );
    let steady_started = Instant::now();
    tokio::time::sleep(config.duration).await;
    let steady_secs = steady_started.elapsed().as_secs_f64();
    let metrics_after = scrape(rest.as_ref()).await;
    let drops_after = udp_drops(&ctx);
    let server_after = config.server_pid.and_then(ProcSample::read);
    let self_after = ProcSample::of_self();
    let counters_after = (
        shared.packets_in.load(Ordering::Relaxed),
        shared.packets_out.load(Ordering::Relaxed),
        shared.bytes_in.load(Ordering::Relaxed),
        shared.bytes_out.load(Ordering::Relaxed),
    );

    // Stop, drain, collect.
    *phase.lock().unwrap_or_else(|p| p.into_inner()) = "drain";
    let drops_start = DropCounts::default();
    shared.sending.store(false, Ordering::Relaxed);
    let drain_until = Instant::now() + DRAIN_MAX;
    let mut seen = shared.packets_in.load(Ordering::Relaxed);
    let mut quiet_since = Instant::now();
    while Instant::now() < drain_until && quiet_since.elapsed() < DRAIN_QUIET {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now_seen = shared.packets_in.load(Ordering::Relaxed);
        if now_seen != seen {
            seen = now_seen;
            quiet_since = Instant::now();
        }
    }
    // Cumulative: the clients' sockets live for this run only; the
    // server's since it started.
    let drops_end = udp_drops(&ctx);
    sampler_stop.store(true, Ordering::Relaxed);
    let timeline = sampler.await.unwrap_or_default();
    // Participants stop first (their loops see `stop` before anything
    // else), so the media threads going away is not taken for a failure.
    let _ = stop_tx.send(true);
    let mut tracks = ctx.engine().finish().await;
    // A Janus participant listens on a peer of its own (index + total).
    for t in &mut tracks {
        t.subscriber %= total;
    }
    let mut dropped_during_run: BTreeMap<String, u64> = BTreeMap::new();
    for t in tasks {
        if let Ok(o) = t.await {
            if let Some(f) = o.dropped {
                *dropped_during_run.entry(f.stage.to_string()).or_default() += 1;
                join.first_failure
                    .entry(format!("dropped: {}", f.stage))
                    .or_insert(f.detail);
            }
        }
    }
    join.dropped_during_run = dropped_during_run;

    let sent = |video: bool| -> u64 { (0..total).map(|n| shared.sent(n, video)).sum() };
    let audio = MediaReport::from_tracks(tracks.iter().filter(|t| t.kind == "audio"), sent(false));
    let video = config
        .video_kbps
        .map(|_| MediaReport::from_tracks(tracks.iter().filter(|t| t.kind == "video"), sent(true)));
    let per_sec = |a: u64, b: u64| {
        if steady_secs > 0.0 {
            b.saturating_sub(a) as f64 / steady_secs
        } else {
            0.0
        }
    };
    let mut server = ServerReport::between(
        steady_secs,
        metrics_before.as_ref(),
        metrics_after.as_ref(),
        server_before.as_ref(),
        server_after.as_ref(),
    );
    if let Some((url, rooms)) = &janus_rooms {
        // No /metrics: what the subscribers received stands for what
        // Janus forwarded.
        server.forwarded_from_subscribers(counters_after.0.saturating_sub(counters_before.0));
        janus::destroy_rooms(url, rooms).await;
    }
    let mut report = VoiceReport {
        schema_version: SCHEMA_VERSION,
        config: RunConfig {
            url: match &config.target {
                Target::Hearth => config.url.clone(),
                Target::Janus { url } => url.clone(),
            },
            target: match config.target {
                Target::Hearth => "hearth".into(),
                Target::Janus { .. } => "janus".into(),
            },
            rooms: config.rooms,
            publishers_per_room: config.publishers,
            subscribers_per_room: config.subscribers,
            video: if config.video_kbps.is_some() {
                "vp8".into()
            } else {
                "none".into()
            },
            video_kbps: config.video_kbps,
            simulcast: config.simulcast,
            simulate_speakers: config.simulate_speakers,
            duration_secs: config.duration.as_secs_f64(),
            ramp_per_sec: config.ramp,
            client_threads: config.client_threads.max(1),
            max_loss: config.max_loss,
        },
        join,
        audio,
        video,
        simulcast: shared.video.filter(|v| v.simulcast()).map(|v| {
            simulcast::SimulcastReport::from_tracks(
                tracks.iter().filter(|t| t.kind == "video"),
                v.settle,
            )
        }),
        latency: shared.latency.summary(),
        steady_secs,
        pps_in: per_sec(counters_before.0, counters_after.0),
        pps_out: per_sec(counters_before.1, counters_after.1),
        kbps_in: per_sec(counters_before.2, counters_after.2) * 8.0 / 1000.0,
        kbps_out: per_sec(counters_before.3, counters_after.3) * 8.0 / 1000.0,
        client_send_drops: shared.send_drops.load(Ordering::Relaxed),
        rtp_packets_written: shared.packets_out.load(Ordering::Relaxed),
        rtp_datagrams_sent: shared.rtp_datagrams_out.load(Ordering::Relaxed),
        audio_written: shared.audio_written.load(Ordering::Relaxed),
        audio_datagrams_sent: shared.audio_datagrams_out.load(Ordering::Relaxed),
        video_written: shared.video_written.load(Ordering::Relaxed),
        video_datagrams_sent: shared.video_datagrams_out.load(Ordering::Relaxed),
        udp_drops: drops_before
            .zip(drops_after)
            .map(|(a, b)| UdpDrops::between(a, b)),
        udp_drops_cumulative: drops_end.map(|b| UdpDrops::between(drops_start, b)),
        server: Some(server),
        loadtest: self_before
            .zip(self_after)
            .map(|(a, b)| ProcUsage::between(&a, &b)),
        timeline,
        tracks,
        passed: false,
        verdict: String::new(),
    };
    report.judge();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participants_spread_over_rooms_with_the_first_publishing() {
        let c = VoiceConfig {
            rooms: 2,
            publishers: 1,
            subscribers: 2,
            ..VoiceConfig::new("http://x")
        };
        assert_eq!(c.participants(), 6);
        let publishers: Vec<usize> = (0..6).filter(|n| c.publishes(*n).audio).collect();
        assert_eq!(publishers, vec![0, 1]);
        assert_eq!(
            (0..6).map(|n| c.room_of(n)).collect::<Vec<_>>(),
            [0, 1, 0, 1, 0, 1]
        );
        assert!(!c.publishes(0).video);
    }

    #[test]
    fn with_simulcast_each_rooms_listeners_ask_for_high_medium_low_in_turn() {
        use simulcast::Quality::{High, Low, Medium};
        let mut c = VoiceConfig {
            rooms: 2,
            publishers: 1,
            subscribers: 4,
            video_kbps: Some(300),
            simulcast: true,
            ..VoiceConfig::new("http://x")
        };
        let asked: Vec<_> = (0..10).map(|n| c.quality_asked(n)).collect();
        assert_eq!(
            asked,
            [
                None,
                None,
                Some(High),
                Some(High),
                Some(Medium),
                Some(Medium),
                Some(Low),
                Some(Low),
                Some(High),
                Some(High)
            ]
        );
        c.simulcast = false;
        assert_eq!(c.quality_asked(2), None);
    }

    /// Refused before any set-up: the URL points nowhere.
    #[tokio::test]
    async fn simulcast_without_video_is_refused() {
        let no_video = VoiceConfig {
            simulcast: true,
            ..VoiceConfig::new("http://127.0.0.1:1")
        };
        match run(no_video).await {
            Err(Error::Config(why)) => assert!(why.contains("needs video"), "{why}"),
            other => panic!("{:?}", other.map(|r| r.verdict)),
        }
    }
}
