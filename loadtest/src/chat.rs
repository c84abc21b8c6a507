//! The chat scenario: N gateway sessions in G guilds receive messages posted
//! over REST at a fixed total rate, and every delivery is accounted for.
//!
//! 1. Register users, make the guilds, join the users (see [`crate::setup`]).
//! 2. Open every session (Identify; wait for READY and GUILD_CREATE), a
//!    bounded number at a time.
//! 3. Post messages for the duration: message `i` at `start + i / rate`, to
//!    guild `i % G`'s text channel, by one of that guild's users in turn.
//!    Its send time goes into a table shared with the sessions (the content
//!    carries only the message's number), just before the request leaves.
//! 4. With churn, every `every` a fraction of the sessions drop their TCP
//!    connection and resume after `downtime`.
//! 5. Drain: wait until every expected delivery has arrived or `drain`
//!    passes, then close every session (1000, which ends it on the server).
//!
//! A message is expected at every session whose user is in its guild, once.
//! Latency is from just before the POST is written to the moment the
//! session's task has read the dispatch, so it includes the REST call's own
//! processing (the store's commit and fsync) and the time the client takes
//! to get to the frame.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::seq::index::sample;
use serde::Serialize;
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::deliveries::{posted_per_guild, Tally};
use crate::latency::{Histogram, LatencySummary};
use crate::rest::Rest;
use crate::session::{
    self, message_content, NodeDeliveries, Outcome, Plan, Readiness, SendClock, Shared, Stats,
};
use crate::setup::{self, World};
use crate::spread::{node_of_message, Spread};
use crate::system::{ProcSample, ProcUsage};
use crate::voice::server::Scrape;
use crate::{Error, DEFAULT_INTENTS};

/// Dropping connections during the run.
#[derive(Clone, Debug, Serialize)]
pub struct Churn {
    /// How often a round of drops happens.
    pub every: Duration,
    /// The share of sessions each round drops (at least one).
    pub fraction: f64,
    /// How long a dropped session waits before resuming.
    pub downtime: Duration,
}

impl Default for Churn {
    fn default() -> Self {
        Churn {
            every: Duration::from_secs(1),
            fraction: 0.02,
            downtime: Duration::from_millis(250),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ChatConfig {
    /// The nodes' base URLs, `http://127.0.0.1:PORT`. Sessions connect to
    /// them and messages are posted through them in turn (see
    /// [`crate::spread`]); the first also makes the users and guilds.
    pub urls: Vec<String>,
    pub sessions: usize,
    pub guilds: usize,
    /// Users to register; by default [`setup::default_users`].
    pub users: Option<usize>,
    /// Messages per second over all guilds together.
    pub rate: f64,
    pub duration: Duration,
    pub churn: Option<Churn>,
    /// How long to wait after the last post for outstanding deliveries.
    pub drain: Duration,
    pub intents: u64,
    /// Connections being opened and identified at once.
    pub connect_concurrency: usize,
    /// Posts in flight at once; a slower server makes the tool fall behind
    /// the rate rather than pile up requests.
    pub post_concurrency: usize,
    /// The nodes' process ids, none or one per node in the order of
    /// `urls`, to report their memory and CPU.
    pub server_pids: Vec<u32>,
    /// The process id of the Redis the nodes share, to report its CPU.
    pub redis_pid: Option<u32>,
    /// Members of the guild who ack each posted message (read states), as
    /// clients with the channel open do; 0: none.
    pub acks_per_message: usize,
}

impl ChatConfig {
    /// A run against one node.
    pub fn new(url: impl Into<String>) -> ChatConfig {
        ChatConfig {
            urls: vec![url.into()],
            sessions: 100,
            guilds: 1,
            users: None,
            rate: 10.0,
            duration: Duration::from_secs(10),
            churn: None,
            drain: Duration::from_secs(10),
            intents: DEFAULT_INTENTS,
            connect_concurrency: 64,
            post_concurrency: 64,
            server_pids: Vec::new(),
            redis_pid: None,
            acks_per_message: 0,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ChurnReport {
    pub drops: u64,
    pub resumes: u64,
    pub resumes_refused: u64,
    pub resumes_failed: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ChatReport {
    pub sessions: usize,
    pub guilds: usize,
    pub users: usize,
    pub rate: f64,
    pub duration_secs: f64,
    pub churn: Option<ChurnReport>,

    pub sessions_connected: usize,
    pub sessions_failed: usize,
    pub connect_secs: f64,
    /// Connected sessions still connected when the run stopped.
    pub sessions_alive_at_end: usize,
    pub first_session_error: Option<String>,

    pub messages_planned: usize,
    pub messages_posted: u64,
    pub posts_failed: u64,
    pub posts_rate_limited: u64,
    pub first_post_error: Option<String>,
    /// Posts per second actually sent (below `rate` if the tool fell behind).
    pub post_rate_achieved: f64,

    pub expected_deliveries: u64,
    pub deliveries_received: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// Deliveries of messages whose POST failed or timed out.
    pub unconfirmed: u64,
    pub misrouted: u64,
    pub seq_gaps: u64,
    pub seq_repeats: u64,
    /// Distinct deliveries per second, from the first post to the last delivery.
    pub deliveries_per_sec: f64,
    pub latency: LatencySummary,
    /// Deliveries to sessions on the node the message was posted through.
    pub latency_same_node: LatencySummary,
    /// Deliveries to sessions on another node than the one the message was
    /// posted through: the event crossed nodes (none with one node).
    pub latency_cross_node: LatencySummary,
    /// How long the successful POSTs took (request sent → response read).
    pub post_latency: LatencySummary,
    /// Acks of posted messages (`acks_per_message`): answered, failed, and
    /// how long the answered ones took.
    pub acks_ok: u64,
    pub acks_failed: u64,
    pub ack_latency: LatencySummary,
    /// Answered acks per second over the posting phase.
    pub ack_rate_achieved: f64,
    /// Per node, in the order of the URLs (one entry for a single node).
    pub nodes: Vec<NodeReport>,

    /// Connections the server ended (or that broke), by how.
    pub connection_endings: BTreeMap<String, u64>,
    pub heartbeats_sent: u64,
    /// The server during the posting phase, if its pid was given; with
    /// several nodes, all of them together (RSS and CPU added up).
    pub server: Option<ProcUsage>,
    /// The servers' CPU time over the posting phase divided by the first
    /// deliveries in that phase.
    pub server_cpu_us_per_delivery: Option<f64>,
    /// The Redis the nodes share during the posting phase, if its pid was
    /// given.
    pub redis: Option<ProcUsage>,
    /// This tool during the posting phase.
    pub loadtest: Option<ProcUsage>,
}

/// One node of the run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NodeReport {
    pub url: String,
    /// Sessions that identified on it.
    pub sessions_connected: usize,
    /// Messages posted through it (HTTP 200), and the posts that failed.
    pub messages_posted: u64,
    pub posts_failed: u64,
    /// The deliveries to its sessions, as in the totals.
    pub expected_deliveries: u64,
    pub deliveries_received: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub latency: LatencySummary,
    /// The node during the posting phase, if its pid was given.
    pub server: Option<ProcUsage>,
    /// Its CPU time over the posting phase divided by the first deliveries
    /// to its sessions in that phase.
    pub cpu_us_per_delivery: Option<f64>,
    /// How much each of its `hearth_bus_*_total` counters (from
    /// `/metrics`) went up during the posting phase: events it published
    /// to Redis and received from other nodes. Empty when the node has no
    /// such counters or its `/metrics` could not be read.
    pub bus: BTreeMap<String, f64>,
}

impl ChatReport {
    /// Whether every expected delivery arrived exactly once, in sequence.
    pub fn clean(&self) -> bool {
        self.tally().clean()
    }

    fn tally(&self) -> Tally {
        Tally {
            expected: self.expected_deliveries,
            received: self.deliveries_received,
            lost: self.lost,
            duplicated: self.duplicated,
            unconfirmed: self.unconfirmed,
            misrouted: self.misrouted,
            seq_gaps: self.seq_gaps,
            seq_repeats: self.seq_repeats,
        }
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1} ms"))
}

impl fmt::Display for ChatReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "chat: {} sessions, {} users, {} guilds, {} msg/s for {:.0} s{}",
            self.sessions,
            self.users,
            self.guilds,
            self.rate,
            self.duration_secs,
            if self.churn.is_some() {
                ", with churn"
            } else {
                ""
            }
        )?;
        writeln!(
            f,
            "  sessions connected   {} ({} failed) in {:.1} s; {} still connected at the end",
            self.sessions_connected,
            self.sessions_failed,
            self.connect_secs,
            self.sessions_alive_at_end
        )?;
        if let Some(e) = &self.first_session_error {
            writeln!(f, "  first session error  {e}")?;
        }
        writeln!(
            f,
            "  messages posted      {} of {} ({} failed, {} rate-limited), {:.1}/s sent",
            self.messages_posted,
            self.messages_planned,
            self.posts_failed,
            self.posts_rate_limited,
            self.post_rate_achieved
        )?;
        if let Some(e) = &self.first_post_error {
            writeln!(f, "  first post error     {e}")?;
        }
        writeln!(
            f,
            "  deliveries           expected {}, received {}, lost {}, duplicated {}",
            self.expected_deliveries, self.deliveries_received, self.lost, self.duplicated
        )?;
        writeln!(
            f,
            "                       unconfirmed {}, misrouted {}, seq gaps {}, seq repeats {}",
            self.unconfirmed, self.misrouted, self.seq_gaps, self.seq_repeats
        )?;
        writeln!(f, "  deliveries/s         {:.0}", self.deliveries_per_sec)?;
        let l = &self.latency;
        writeln!(
            f,
            "  delivery latency     p50 {}, p95 {}, p99 {}, max {} (n={})",
            ms(l.p50_ms),
            ms(l.p95_ms),
            ms(l.p99_ms),
            ms(l.max_ms),
            l.count
        )?;
        if self.nodes.len() > 1 {
            for (label, l) in [
                ("  same node          ", &self.latency_same_node),
                ("  across nodes       ", &self.latency_cross_node),
            ] {
                writeln!(
                    f,
                    "{label}  p50 {}, p95 {}, p99 {}, max {} (n={})",
                    ms(l.p50_ms),
                    ms(l.p95_ms),
                    ms(l.p99_ms),
                    ms(l.max_ms),
                    l.count
                )?;
            }
        }
        let l = &self.post_latency;
        writeln!(
            f,
            "  POST latency         p50 {}, p95 {}, p99 {}, max {}",
            ms(l.p50_ms),
            ms(l.p95_ms),
            ms(l.p99_ms),
            ms(l.max_ms),
        )?;
        if self.acks_ok + self.acks_failed > 0 {
            let l = &self.ack_latency;
            writeln!(
                f,
                "  acks                 {} ok ({:.0}/s), {} failed; p50 {}, p95 {}, p99 {}, max {}",
                self.acks_ok,
                self.ack_rate_achieved,
                self.acks_failed,
                ms(l.p50_ms),
                ms(l.p95_ms),
                ms(l.p99_ms),
                ms(l.max_ms),
            )?;
        }
        if self.nodes.len() > 1 {
            for (k, n) in self.nodes.iter().enumerate() {
                write!(f, "{}", NodeLine(k, n))?;
            }
        }
        if let Some(c) = &self.churn {
            writeln!(
                f,
                "  churn                {} drops, {} resumes, {} refused, {} failed",
                c.drops, c.resumes, c.resumes_refused, c.resumes_failed
            )?;
        }
        if !self.connection_endings.is_empty() {
            let e: Vec<String> = self
                .connection_endings
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            writeln!(f, "  connections ended    {}", e.join(", "))?;
        }
        if let Some(s) = &self.server {
            write!(
                f,
                "  server (posting)     {:.0}% CPU, RSS {} → {} KiB",
                s.cpu_percent, s.rss_start_kib, s.rss_end_kib
            )?;
            match self.server_cpu_us_per_delivery {
                Some(us) => writeln!(f, "; {us:.1} µs CPU per delivery")?,
                None => writeln!(f)?,
            }
        }
        if let Some(s) = &self.redis {
            writeln!(f, "  redis (posting)      {:.0}% CPU", s.cpu_percent)?;
        }
        if let Some(s) = &self.loadtest {
            writeln!(
                f,
                "  loadtest (posting)   {:.0}% CPU, RSS {} → {} KiB",
                s.cpu_percent, s.rss_start_kib, s.rss_end_kib
            )?;
        }
        write!(
            f,
            "  result               {}",
            if self.clean() {
                "every delivery arrived exactly once"
            } else {
                "LOST, DUPLICATED OR OUT-OF-SEQUENCE DELIVERIES"
            }
        )
    }
}

/// One node's lines of the summary.
struct NodeLine<'a>(usize, &'a NodeReport);

impl fmt::Display for NodeLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let NodeLine(k, n) = *self;
        writeln!(
            f,
            "  node {k:<15} {}: {} sessions, {} posts ({} failed)",
            n.url, n.sessions_connected, n.messages_posted, n.posts_failed
        )?;
        writeln!(
            f,
            "                       deliveries expected {}, received {}, lost {}, duplicated {}; \
             p50 {}, p99 {}",
            n.expected_deliveries,
            n.deliveries_received,
            n.lost,
            n.duplicated,
            ms(n.latency.p50_ms),
            ms(n.latency.p99_ms)
        )?;
        if let Some(s) = &n.server {
            write!(f, "                       {:.0}% CPU", s.cpu_percent)?;
            if let Some(us) = n.cpu_us_per_delivery {
                write!(f, ", {us:.1} µs per delivery to its sessions")?;
            }
            writeln!(f)?;
        }
        if !n.bus.is_empty() {
            let counters: Vec<String> = n
                .bus
                .iter()
                .map(|(k, v)| {
                    let name = k
                        .trim_start_matches("hearth_bus_")
                        .trim_end_matches("_total");
                    format!("{name} {v:.0}")
                })
                .collect();
            writeln!(f, "                       bus: {}", counters.join(", "))?;
        }
        Ok(())
    }
}

/// A short random tag that keeps this run's users and messages apart from
/// other runs on the same server.
pub fn run_tag() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// Sessions of a run, started and waited on together.
pub(crate) struct Fleet {
    pub shared: Arc<Shared>,
    pub stop: watch::Sender<bool>,
    pub churn: Vec<Arc<Notify>>,
    pub tasks: Vec<JoinHandle<Outcome>>,
    ready_tx: mpsc::Sender<Readiness>,
    ready_rx: mpsc::Receiver<Readiness>,
    /// Per session: whether its Identify succeeded.
    pub identified: Vec<bool>,
    /// Per session: the node it connects to.
    pub nodes: Vec<usize>,
    spread: Spread,
    pub failed: usize,
    pub first_error: Option<String>,
}

impl Fleet {
    pub fn new(shared: Arc<Shared>, capacity: usize) -> Fleet {
        let (ready_tx, ready_rx) = mpsc::channel(capacity.max(1));
        let spread = Spread::new(shared.gateway_urls.len(), shared.guilds);
        Fleet {
            shared,
            stop: watch::channel(false).0,
            churn: Vec::with_capacity(capacity),
            tasks: Vec::with_capacity(capacity),
            ready_tx,
            ready_rx,
            identified: Vec::with_capacity(capacity),
            nodes: Vec::with_capacity(capacity),
            spread,
            failed: 0,
            first_error: None,
        }
    }

    /// Starts sessions `len()..upto` and waits until each has identified or
    /// given up.
    pub async fn grow(&mut self, world: &World, upto: usize) {
        let from = self.tasks.len();
        for index in from..upto {
            let user = world.user_of_session(index);
            let guild = world.guild_of_user(user);
            let node = self.spread.place_session(guild);
            self.nodes.push(node);
            let plan = Plan {
                index,
                token: world.users[user].token.clone(),
                guild,
                node,
            };
            let notify = Arc::new(Notify::new());
            self.churn.push(notify.clone());
            self.identified.push(false);
            self.tasks.push(tokio::spawn(session::run(
                plan,
                self.shared.clone(),
                notify,
                self.stop.subscribe(),
                self.ready_tx.clone(),
            )));
        }
        let started = Instant::now();
        for done in 0..(upto - from) {
            // Every task sends exactly once, and the fleet holds a sender.
            let Some(r) = self.ready_rx.recv().await else {
                break;
            };
            match r.result {
                Ok(()) => self.identified[r.index] = true,
                Err(e) => {
                    self.failed += 1;
                    self.first_error.get_or_insert(e);
                }
            }
            if (done + 1) % 1000 == 0 {
                eprintln!(
                    "  {} sessions identified ({:.1}s)",
                    from + done + 1,
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }

    pub fn connected(&self) -> usize {
        self.identified.iter().filter(|i| **i).count()
    }

    /// Stops every session and collects how each went.
    pub async fn finish(self) -> Vec<Outcome> {
        let _ = self.stop.send(true);
        let mut outcomes = Vec::with_capacity(self.tasks.len());
        for t in self.tasks {
            if let Ok(o) = t.await {
                outcomes.push(o);
            }
        }
        outcomes
    }
}

pub(crate) fn shared(
    gateway_urls: Vec<String>,
    intents: u64,
    guilds: usize,
    messages: usize,
    tag: String,
    connect_concurrency: usize,
    churn_downtime: Duration,
) -> Arc<Shared> {
    let nodes = gateway_urls.len();
    Arc::new(Shared {
        gateway_urls,
        intents,
        guilds,
        ordinals: messages.div_ceil(guilds.max(1)),
        tag,
        clock: SendClock::new(messages),
        latency: Histogram::new(),
        nodes: (0..nodes).map(|_| NodeDeliveries::default()).collect(),
        latency_same_node: Histogram::new(),
        latency_cross_node: Histogram::new(),
        delivered: AtomicU64::new(0),
        last_delivery: AtomicU64::new(0),
        connecting: Semaphore::new(connect_concurrency.max(1)),
        churn_downtime,
        stats: Stats::default(),
    })
}

const POST_PENDING: u8 = 0;
const POST_OK: u8 = 1;
const POST_FAILED: u8 = 2;

/// What is read at the start and at the end of the posting phase: the
/// processes' CPU and memory, the nodes' `/metrics` and the deliveries so
/// far, so that figures per delivery cover the same window.
struct Reading {
    servers: Vec<Option<ProcSample>>,
    redis: Option<ProcSample>,
    loadtest: Option<ProcSample>,
    metrics: Vec<Option<Scrape>>,
    delivered: u64,
    delivered_by_node: Vec<u64>,
}

impl Reading {
    async fn take(config: &ChatConfig, rests: &[Arc<Rest>], shared: &Shared) -> Reading {
        let mut metrics = Vec::with_capacity(rests.len());
        for rest in rests {
            metrics.push(rest.metrics().await.ok().map(|t| Scrape::parse(&t)));
        }
        Reading {
            servers: config
                .server_pids
                .iter()
                .map(|pid| ProcSample::read(*pid))
                .collect(),
            redis: config.redis_pid.and_then(ProcSample::read),
            loadtest: ProcSample::of_self(),
            metrics,
            delivered: shared.delivered.load(Ordering::Relaxed),
            delivered_by_node: shared
                .nodes
                .iter()
                .map(|n| n.delivered.load(Ordering::Relaxed))
                .collect(),
        }
    }
}

/// What the node's bus counters did between two readings of its metrics.
fn bus_counters(before: Option<&Scrape>, after: Option<&Scrape>) -> BTreeMap<String, f64> {
    let (Some(a), Some(b)) = (before, after) else {
        return BTreeMap::new();
    };
    b.sums
        .iter()
        .filter(|(k, _)| k.starts_with("hearth_bus_") && k.ends_with("_total"))
        .map(|(k, v)| (k.clone(), v - a.sums.get(k).copied().unwrap_or(0.0)))
        .collect()
}

/// CPU microseconds per delivery; `None` without either.
fn cpu_us_per(usage: Option<&ProcUsage>, deliveries: u64) -> Option<f64> {
    usage
        .filter(|_| deliveries > 0)
        .map(|u| u.cpu_secs * 1e6 / deliveries as f64)
}

/// Several processes as one: memory and CPU added up. `None` unless every
/// one was measured.
fn added_up(usages: &[Option<ProcUsage>]) -> Option<ProcUsage> {
    if usages.is_empty() {
        return None;
    }
    usages.iter().try_fold(ProcUsage::default(), |sum, u| {
        let u = u.as_ref()?;
        Some(ProcUsage {
            rss_start_kib: sum.rss_start_kib + u.rss_start_kib,
            rss_end_kib: sum.rss_end_kib + u.rss_end_kib,
            cpu_percent: sum.cpu_percent + u.cpu_percent,
            cpu_secs: sum.cpu_secs + u.cpu_secs,
        })
    })
}

fn usage(start: Option<&ProcSample>, end: Option<&ProcSample>) -> Option<ProcUsage> {
    start.zip(end).map(|(a, b)| ProcUsage::between(a, b))
}

/// Runs the scenario against a server (or the nodes of a cluster) that is
/// already up.
pub async fn run(config: ChatConfig) -> Result<ChatReport, Error> {
    if config.sessions == 0 || config.guilds == 0 || config.rate.is_nan() || config.rate < 0.0 {
        return Err(Error::Config(
            "sessions and guilds must be at least 1, and the rate not negative".into(),
        ));
    }
    if config.urls.is_empty() {
        return Err(Error::Config("no node URL given".into()));
    }
    if !config.server_pids.is_empty() && config.server_pids.len() != config.urls.len() {
        return Err(Error::Config(format!(
            "{} server pids for {} nodes: give one per node, in the order of the URLs",
            config.server_pids.len(),
            config.urls.len()
        )));
    }
    let users = config
        .users
        .unwrap_or_else(|| setup::default_users(config.sessions, config.guilds));
    let messages = (config.rate * config.duration.as_secs_f64()).round() as usize;
    let nodes = config.urls.len();
    let rests = config
        .urls
        .iter()
        .map(|url| Rest::new(url, config.post_concurrency).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;
    let mut gateway_urls = Vec::with_capacity(nodes);
    for rest in &rests {
        gateway_urls.push(rest.gateway_url().await?);
    }
    let tag = run_tag();
    let world = Arc::new(setup::build(&rests[0], users, config.guilds, &tag).await?);

    let shared = shared(
        gateway_urls,
        config.intents,
        config.guilds,
        messages,
        tag.clone(),
        config.connect_concurrency,
        config.churn.as_ref().map_or(Duration::ZERO, |c| c.downtime),
    );
    let mut fleet = Fleet::new(shared.clone(), config.sessions);
    let connect_started = Instant::now();
    fleet.grow(&world, config.sessions).await;
    let connect_secs = connect_started.elapsed().as_secs_f64();
    let connected = fleet.connected();
    eprintln!(
        "{connected} of {} sessions identified in {connect_secs:.1}s",
        config.sessions
    );
    let mut per_guild = vec![0u64; config.guilds];
    let mut node_reports: Vec<NodeReport> = config
        .urls
        .iter()
        .map(|url| NodeReport {
            url: url.clone(),
            ..NodeReport::default()
        })
        .collect();
    for (i, ok) in fleet.identified.iter().enumerate() {
        if *ok {
            per_guild[world.guild_of_session(i)] += 1;
            node_reports[fleet.nodes[i]].sessions_connected += 1;
        }
    }
    let session_nodes = fleet.nodes.clone();

    // Posting, with churn alongside.
    let start = Reading::take(&config, &rests, &shared).await;
    let status: Arc<Vec<AtomicU8>> =
        Arc::new((0..messages).map(|_| AtomicU8::new(POST_PENDING)).collect());
    let first_post_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let in_flight = Arc::new(Semaphore::new(config.post_concurrency.max(1)));
    let post_latency = Arc::new(Histogram::new());
    let ack_latency = Arc::new(Histogram::new());
    let acks_ok = Arc::new(AtomicU64::new(0));
    let acks_failed = Arc::new(AtomicU64::new(0));
    let posting = watch::channel(true);
    let churner = config.churn.clone().map(|churn| {
        let notify: Vec<Arc<Notify>> = fleet
            .identified
            .iter()
            .zip(&fleet.churn)
            .filter(|(ok, _)| **ok)
            .map(|(_, n)| n.clone())
            .collect();
        let mut posting = posting.1.clone();
        tokio::spawn(async move {
            if notify.is_empty() {
                return;
            }
            let per_round =
                ((notify.len() as f64 * churn.fraction).ceil() as usize).clamp(1, notify.len());
            let mut tick = tokio::time::interval(churn.every);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = posting.wait_for(|p| !*p) => return,
                    _ = tick.tick() => {}
                }
                for i in sample(&mut rand::thread_rng(), notify.len(), per_round) {
                    notify[i].notify_one();
                }
            }
        })
    });
    let post_started = Instant::now();
    let mut last_sent = post_started;
    if messages > 0 {
        eprintln!(
            "posting {messages} messages at {}/s for {:.0}s{}",
            config.rate,
            config.duration.as_secs_f64(),
            if nodes > 1 {
                format!(" through {nodes} nodes")
            } else {
                String::new()
            }
        );
    }
    for i in 0..messages {
        let due = post_started + Duration::from_secs_f64(i as f64 / config.rate);
        tokio::time::sleep_until(due.into()).await;
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        last_sent = Instant::now();
        let g = i % config.guilds;
        let guild = &world.guilds[g];
        let poster = guild.members[(i / config.guilds) % guild.members.len()];
        let rest = rests[node_of_message(i, config.guilds, nodes)].clone();
        let (world, shared, status, first_post_error, post_latency) = (
            world.clone(),
            shared.clone(),
            status.clone(),
            first_post_error.clone(),
            post_latency.clone(),
        );
        let (ack_latency, acks_ok, acks_failed) =
            (ack_latency.clone(), acks_ok.clone(), acks_failed.clone());
        let acks_per_message = config.acks_per_message;
        let turn = i / config.guilds;
        tokio::spawn(async move {
            let content = message_content(&shared.tag, i);
            let token = &world.users[poster].token;
            let channel = &world.guilds[g].channel;
            shared.clock.mark(i);
            let sent = Instant::now();
            let result = rest.post_message(token, channel, &content).await;
            let s = match result {
                Ok(id) => {
                    post_latency.record(sent.elapsed());
                    // Others in the guild read it: each acks it.
                    let members = &world.guilds[g].members;
                    let readers = acks_per_message.min(members.len().saturating_sub(1));
                    let acks = (1..=readers).map(|k| {
                        let reader = &world.users[members[(turn + k) % members.len()]];
                        let (rest, id) = (&rest, &id);
                        async move {
                            let started = Instant::now();
                            let done = rest.ack(&reader.token, channel, id).await;
                            (done, started.elapsed())
                        }
                    });
                    for (done, took) in futures_util::future::join_all(acks).await {
                        match done {
                            Ok(()) => {
                                ack_latency.record(took);
                                acks_ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) => {
                                acks_failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    POST_OK
                }
                Err(e) => {
                    first_post_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e.to_string());
                    POST_FAILED
                }
            };
            status[i].store(s, Ordering::Release);
            drop(permit);
        });
    }
    // Every post has finished once all permits are back.
    let _all = in_flight
        .acquire_many(config.post_concurrency.max(1) as u32)
        .await;
    let post_secs = last_sent.duration_since(post_started).as_secs_f64();
    if messages == 0 {
        tokio::time::sleep(config.duration).await;
    }
    let end = Reading::take(&config, &rests, &shared).await;
    let _ = posting.0.send(false);
    if let Some(c) = churner {
        let _ = c.await;
    }

    // Drain: wait for what is still on its way.
    let ok: Vec<bool> = status
        .iter()
        .map(|s| s.load(Ordering::Acquire) == POST_OK)
        .collect();
    let mut posted_in_guild = vec![0u64; config.guilds];
    for (i, ok) in ok.iter().enumerate() {
        let node = &mut node_reports[node_of_message(i, config.guilds, nodes)];
        if *ok {
            posted_in_guild[i % config.guilds] += 1;
            node.messages_posted += 1;
        } else {
            node.posts_failed += 1;
        }
    }
    let due: u64 = posted_in_guild
        .iter()
        .zip(&per_guild)
        .map(|(m, s)| m * s)
        .sum();
    let drain_until = Instant::now() + config.drain;
    // Churn has stopped, but a session dropped by its last round may still
    // be resuming: stopping it then would count it as lost.
    let resuming = || {
        let s = &shared.stats;
        let settled = s.resumes.load(Ordering::Relaxed)
            + s.resumes_refused.load(Ordering::Relaxed)
            + s.resumes_failed.load(Ordering::Relaxed);
        s.drops.load(Ordering::Relaxed) > settled
    };
    while (shared.delivered.load(Ordering::Relaxed) < due || resuming())
        && Instant::now() < drain_until
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut first_session_error = fleet.first_error.take();
    let outcomes = fleet.finish().await;
    let posted = posted_per_guild(&ok, config.guilds, shared.ordinals);
    let mut tally = Tally::default();
    let mut node_tallies = vec![Tally::default(); nodes];
    let mut heartbeats = 0;
    let mut alive = 0;
    for o in &outcomes {
        heartbeats += o.heartbeats;
        if !o.identified {
            continue;
        }
        tally.add(&o.log, &posted);
        if let Some(t) = session_nodes
            .get(o.index)
            .and_then(|n| node_tallies.get_mut(*n))
        {
            t.add(&o.log, &posted);
        }
        if o.alive {
            alive += 1;
        } else if let Some(e) = &o.error {
            first_session_error.get_or_insert_with(|| e.clone());
        }
    }
    let servers: Vec<Option<ProcUsage>> = start
        .servers
        .iter()
        .zip(&end.servers)
        .map(|(a, b)| usage(a.as_ref(), b.as_ref()))
        .collect();
    for (k, node) in node_reports.iter_mut().enumerate() {
        let t = &node_tallies[k];
        node.expected_deliveries = t.expected;
        node.deliveries_received = t.received;
        node.lost = t.lost;
        node.duplicated = t.duplicated;
        node.latency = shared.nodes[k].latency.summary();
        node.server = servers.get(k).cloned().flatten();
        node.cpu_us_per_delivery = cpu_us_per(
            node.server.as_ref(),
            end.delivered_by_node[k].saturating_sub(start.delivered_by_node[k]),
        );
        node.bus = bus_counters(start.metrics[k].as_ref(), end.metrics[k].as_ref());
    }
    let server = added_up(&servers);
    let stats = &shared.stats;
    let last_delivery = shared.last_delivery.load(Ordering::Relaxed);
    let delivery_window =
        Duration::from_nanos(last_delivery.saturating_sub(shared.clock.nanos(post_started)));
    let posts_rate_limited: u64 = rests
        .iter()
        .map(|r| r.rate_limited.load(Ordering::Relaxed))
        .sum();
    if posts_rate_limited > 0 {
        eprintln!(
            "warning: the server answered 429 to {posts_rate_limited} posts; \
             run it with `--rate-limits off`"
        );
    }
    let messages_posted = ok.iter().filter(|o| **o).count() as u64;
    let first_post_error = first_post_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    Ok(ChatReport {
        sessions: config.sessions,
        guilds: config.guilds,
        users,
        rate: config.rate,
        duration_secs: config.duration.as_secs_f64(),
        churn: config.churn.as_ref().map(|_| ChurnReport {
            drops: stats.drops.load(Ordering::Relaxed),
            resumes: stats.resumes.load(Ordering::Relaxed),
            resumes_refused: stats.resumes_refused.load(Ordering::Relaxed),
            resumes_failed: stats.resumes_failed.load(Ordering::Relaxed),
        }),
        sessions_connected: connected,
        sessions_failed: config.sessions - connected,
        connect_secs,
        sessions_alive_at_end: alive,
        first_session_error,
        messages_planned: messages,
        messages_posted,
        posts_failed: messages as u64 - messages_posted,
        posts_rate_limited,
        first_post_error,
        post_rate_achieved: if post_secs > 0.0 {
            (messages.saturating_sub(1)) as f64 / post_secs
        } else {
            0.0
        },
        expected_deliveries: tally.expected,
        deliveries_received: tally.received,
        lost: tally.lost,
        duplicated: tally.duplicated,
        unconfirmed: tally.unconfirmed,
        misrouted: tally.misrouted,
        seq_gaps: tally.seq_gaps,
        seq_repeats: tally.seq_repeats,
        deliveries_per_sec: if delivery_window.is_zero() {
            0.0
        } else {
            shared.delivered.load(Ordering::Relaxed) as f64 / delivery_window.as_secs_f64()
        },
        latency: shared.latency.summary(),
        latency_same_node: shared.latency_same_node.summary(),
        latency_cross_node: shared.latency_cross_node.summary(),
        post_latency: post_latency.summary(),
        acks_ok: acks_ok.load(Ordering::Relaxed),
        acks_failed: acks_failed.load(Ordering::Relaxed),
        ack_latency: ack_latency.summary(),
        ack_rate_achieved: if post_secs > 0.0 {
            acks_ok.load(Ordering::Relaxed) as f64 / post_secs
        } else {
            0.0
        },
        nodes: node_reports,
        connection_endings: stats.endings(),
        heartbeats_sent: heartbeats,
        server_cpu_us_per_delivery: cpu_us_per(
            server.as_ref(),
            end.delivered.saturating_sub(start.delivered),
        ),
        server,
        redis: usage(start.redis.as_ref(), end.redis.as_ref()),
        loadtest: usage(start.loadtest.as_ref(), end.loadtest.as_ref()),
    })
}
