//! The bus across nodes, through Redis pub/sub.
//!
//! Two tasks per node talk to Redis. The publisher drains a bounded outbox
//! in batches (one pipeline of PUBLISH per batch, so one round trip carries
//! many events) over one connection, which keeps this node's events in
//! publish order. The subscriber holds a pub/sub connection subscribed to
//! the watched topics, pings it, and when it breaks reconnects, subscribes
//! again and tells the receiver that events were missed.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use hearth_proto::events::{Event, EventId, NodeCommand, Topic};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use redis::aio::{ConnectionManager, PubSubSink, PubSubStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::delivery::Delivery;
use crate::envelope;
use crate::envelope::Carried;
use crate::{Bus, BusError, BusHealth, Receiver};

/// How long one Redis request may take before the connection counts as
/// lost.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the subscription is checked: a connection that died without
/// closing (a peer gone, a cable pulled) is noticed within this plus the
/// request timeout.
const PING_EVERY: Duration = Duration::from_secs(2);
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// Events per pipeline.
const BATCH: usize = 256;
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub struct RedisBusConfig {
    /// `redis://[user:password@]host:port[/db]`.
    pub url: String,
    /// Put before every channel name, so several clusters (or tests) can
    /// share one Redis.
    pub prefix: String,
    /// Events waiting for Redis beyond this are dropped (and counted):
    /// memory stays bounded through an outage.
    pub max_queued: usize,
}

/// What the bus has done since the node started.
#[derive(Debug)]
pub struct BusCounters {
    /// Events that reached Redis.
    pub published: Counter,
    /// Events from other nodes handed to the receiver.
    pub received: Counter,
    /// Events dropped because the outbox was full.
    pub dropped: Counter,
    /// Messages that did not decode (a node of another version).
    pub undecodable: Counter,
    /// Times the subscription was lost and made again.
    pub reconnects: Counter,
    /// 1 while the subscription is up.
    pub connected: Gauge,
    /// From an event's publication on its node to its arrival here.
    pub lag: Histogram,
}

impl Default for BusCounters {
    fn default() -> Self {
        BusCounters {
            published: Counter::default(),
            received: Counter::default(),
            dropped: Counter::default(),
            undecodable: Counter::default(),
            reconnects: Counter::default(),
            connected: Gauge::default(),
            // 0.5 ms … about 16 s.
            lag: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
        }
    }
}

impl BusCounters {
    fn register(&self, registry: &mut Registry) {
        let bus = registry.sub_registry_with_prefix("bus");
        for (name, help, counter) in [
            (
                "published",
                "Events this node sent to Redis",
                &self.published,
            ),
            (
                "received",
                "Events from other nodes delivered here",
                &self.received,
            ),
            (
                "dropped",
                "Events for other nodes dropped: the outbox was full",
                &self.dropped,
            ),
            (
                "undecodable",
                "Bus messages that did not decode",
                &self.undecodable,
            ),
            (
                "reconnects",
                "Times the Redis subscription was lost and made again",
                &self.reconnects,
            ),
        ] {
            bus.register(name, help, counter.clone());
        }
        bus.register(
            "connected",
            "1 while this node is subscribed to Redis",
            self.connected.clone(),
        );
        bus.register(
            "lag_seconds",
            "From an event's publication on another node to its arrival here (it includes the difference of the two nodes' clocks, at most 10 s)",
            self.lag.clone(),
        );
    }
}

/// A client of the Redis at `url` and a connection to it, or an error
/// naming the URL without its password.
pub(crate) async fn connect_to(url: &str) -> Result<(redis::Client, ConnectionManager), BusError> {
    let unreachable = |reason: String| BusError::Unreachable {
        url: redacted(url),
        reason,
    };
    let client = redis::Client::open(url).map_err(|e| unreachable(e.to_string()))?;
    let conn = tokio::time::timeout(REQUEST_TIMEOUT, client.get_connection_manager())
        .await
        .map_err(|_| unreachable("timed out".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
    Ok((client, conn))
}

/// The URL with its password replaced, for logs and errors.
pub fn redacted(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let user = match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => "***".to_owned(),
    };
    format!("{}{user}{}", &url[..scheme_end], &rest[at..])
}

/// A topic's subscription: how many watchers want it, and whether Redis
/// has confirmed it.
struct Watched {
    count: usize,
    subscribed: Arc<watch::Sender<bool>>,
}

enum Command {
    Subscribe(String, Arc<watch::Sender<bool>>),
    Unsubscribe(String),
}

/// What the node's handle and its two tasks share.
struct Shared {
    origin: u64,
    prefix: String,
    /// This node's receiver, fed by the fan-out thread.
    delivery: Delivery,
    watched: Mutex<HashMap<Topic, Watched>>,
    connected: AtomicBool,
    counters: BusCounters,
}

/// One copy of an event or a command for Redis.
struct Copy {
    channel: String,
    /// The topic's stream of recent events (see `journal`): events only.
    log: Option<String>,
    message: Vec<u8>,
}

/// One event's (or command's) copies.
type Outgoing = Vec<Copy>;

pub struct RedisBus {
    shared: Arc<Shared>,
    /// The last event's counter (see `publish`).
    publishing: Mutex<u64>,
    outbox: mpsc::Sender<Outgoing>,
    commands: mpsc::UnboundedSender<Command>,
    tasks: Vec<JoinHandle<()>>,
}

impl RedisBus {
    /// Connects to Redis, and fails with the (redacted) URL when it cannot.
    pub async fn connect(config: RedisBusConfig) -> Result<Arc<Self>, BusError> {
        let unreachable = |reason: String| BusError::Unreachable {
            url: redacted(&config.url),
            reason,
        };
        let (client, publisher) = connect_to(&config.url).await?;
        let origin = rand::random::<u64>() | 1;
        let (sink, stream) = subscribe(&client, &own_channel(&config.prefix, origin), Vec::new())
            .await
            .map_err(|e| unreachable(e.to_string()))?;

        let shared = Arc::new(Shared {
            origin,
            prefix: config.prefix,
            delivery: Delivery::start(),
            watched: Mutex::new(HashMap::new()),
            connected: AtomicBool::new(true),
            counters: BusCounters::default(),
        });
        shared.counters.connected.set(1);
        let (outbox, outgoing) = mpsc::channel(config.max_queued.max(1));
        let (commands, command_rx) = mpsc::unbounded_channel();
        let tasks = vec![
            tokio::spawn(run_publisher(shared.clone(), publisher, outgoing)),
            tokio::spawn(run_subscriber(
                shared.clone(),
                client,
                (sink, stream),
                command_rx,
            )),
        ];
        tracing::info!(redis = %redacted(&config.url), "bus connected");
        Ok(Arc::new(Self {
            shared,
            publishing: Mutex::new(0),
            outbox,
            commands,
            tasks,
        }))
    }

    fn send(&self, copies: Outgoing) {
        if self.outbox.try_send(copies).is_err() {
            let dropped = self.shared.counters.dropped.inc();
            // Once per thousand: an outage drops events by the thousand.
            if dropped.is_multiple_of(1000) {
                tracing::warn!(
                    dropped = dropped + 1,
                    "bus outbox full: events for other nodes dropped"
                );
            }
        }
    }

    pub fn counters(&self) -> &BusCounters {
        &self.shared.counters
    }

    /// Adds the bus's counters to the node's metrics (`hearth_bus_*`).
    pub fn register_metrics(&self, registry: &mut Registry) {
        self.shared.counters.register(registry);
        crate::delivery::register(registry, &self.shared.delivery);
    }

    /// Waits until every event handed to this node's fan-out so far
    /// reached its receiver.
    pub fn settle(&self) {
        self.shared.delivery.settle();
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBus")
            .field("prefix", &self.shared.prefix)
            .field("health", &self.health())
            .finish()
    }
}

#[async_trait]
impl Bus for RedisBus {
    fn publish(&self, event: Event) {
        let bytes = event.to_bus();
        // Before the lock: the fan-out may publish while it delivers.
        self.shared.delivery.wait_for_room();
        // The counter, the outbox and this node's fan-out take events in
        // one order: the fan-out applies this node's events in the order
        // Redis receives them, as every other node does.
        let mut counter = lock(&self.publishing);
        *counter += 1;
        let id = EventId {
            origin: self.shared.origin,
            counter: *counter,
        };
        let copies: Outgoing = envelope::destinations(&event)
            .into_iter()
            .map(|(topic, also_on_guild)| Copy {
                channel: envelope::channel(&self.shared.prefix, topic),
                log: Some(crate::journal::log_key(&self.shared.prefix, topic)),
                message: envelope::encode(id, also_on_guild, &bytes),
            })
            .collect();
        // Other nodes first, then this node's fan-out thread.
        self.send(copies);
        self.shared.delivery.event(Arc::new(event), id);
    }

    fn command(&self, command: NodeCommand) {
        let copies = vec![Copy {
            channel: envelope::channel(&self.shared.prefix, command.topic()),
            log: None,
            message: envelope::encode_command(self.shared.origin, &command),
        }];
        self.send(copies);
        self.shared.delivery.command(command);
    }

    fn set_receiver(&self, receiver: Arc<dyn Receiver>) {
        self.shared.delivery.set_receiver(receiver);
    }

    async fn watch(&self, topic: Topic) {
        let mut subscribed = {
            let mut watched = lock(&self.shared.watched);
            match watched.get_mut(&topic) {
                Some(w) => {
                    w.count += 1;
                    w.subscribed.subscribe()
                }
                None => {
                    let (tx, rx) = watch::channel(false);
                    let tx = Arc::new(tx);
                    watched.insert(
                        topic,
                        Watched {
                            count: 1,
                            subscribed: tx.clone(),
                        },
                    );
                    let channel = envelope::channel(&self.shared.prefix, topic);
                    let _ = self.commands.send(Command::Subscribe(channel, tx));
                    rx
                }
            }
        };
        if !self.shared.connected.load(Ordering::Acquire) {
            // The reconnection subscribes every watched topic, then says
            // events were missed.
            return;
        }
        // Err: the subscription broke before Redis confirmed (the same
        // reconnection covers it), or the bus is gone.
        let _ = tokio::time::timeout(REQUEST_TIMEOUT, subscribed.wait_for(|s| *s)).await;
    }

    fn unwatch(&self, topic: Topic) {
        let mut watched = lock(&self.shared.watched);
        let Some(w) = watched.get_mut(&topic) else {
            return;
        };
        w.count -= 1;
        if w.count == 0 {
            watched.remove(&topic);
            let channel = envelope::channel(&self.shared.prefix, topic);
            let _ = self.commands.send(Command::Unsubscribe(channel));
        }
    }

    fn health(&self) -> BusHealth {
        if self.shared.connected.load(Ordering::Acquire) {
            BusHealth::Connected
        } else {
            BusHealth::Disconnected
        }
    }
}

/// The channel only this node subscribes to (nothing is sent on it yet).
fn own_channel(prefix: &str, origin: u64) -> String {
    format!("{prefix}node:{origin:016x}")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A pub/sub connection subscribed to `channels` and to the node's own
/// channel, so it is always in subscribed mode and PING always answers in
/// one form (`["pong", ""]`; unsubscribed, it would be a plain PONG).
async fn subscribe(
    client: &redis::Client,
    own: &str,
    mut channels: Vec<String>,
) -> redis::RedisResult<(PubSubSink, PubSubStream)> {
    channels.push(own.to_owned());
    let timed_out = || redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
    let pubsub = tokio::time::timeout(REQUEST_TIMEOUT, client.get_async_pubsub())
        .await
        .map_err(|_| timed_out())??;
    let (mut sink, stream) = pubsub.split();
    tokio::time::timeout(REQUEST_TIMEOUT, sink.subscribe(channels))
        .await
        .map_err(|_| timed_out())??;
    Ok((sink, stream))
}

async fn run_publisher(
    shared: Arc<Shared>,
    mut connection: ConnectionManager,
    mut outgoing: mpsc::Receiver<Outgoing>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while outgoing.recv_many(&mut batch, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        for copy in batch.iter().flatten() {
            // The stream first: a node that hears the event and dies can be
            // taken over by one that finds it there.
            if let Some(log) = &copy.log {
                pipe.cmd("XADD")
                    .arg(log)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(crate::journal::LOG_LEN)
                    .arg("*")
                    .arg("e")
                    .arg(&copy.message)
                    .ignore();
                pipe.cmd("PEXPIRE")
                    .arg(log)
                    .arg(crate::journal::LOG_TTL.as_millis() as u64)
                    .ignore();
            }
            pipe.cmd("PUBLISH")
                .arg(&copy.channel)
                .arg(&copy.message)
                .ignore();
        }
        // Until Redis takes the batch: events are delivered at least once
        // (a batch whose reply was lost is sent again) and in order.
        let mut backoff = Duration::from_millis(100);
        loop {
            match tokio::time::timeout(REQUEST_TIMEOUT, pipe.query_async::<()>(&mut connection))
                .await
            {
                Ok(Ok(())) => break,
                Ok(Err(e)) => tracing::warn!(error = %e, "bus publish failed; retrying"),
                Err(_) => tracing::warn!("bus publish timed out; retrying"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        shared.counters.published.inc_by(batch.len() as u64);
        batch.clear();
    }
}

async fn run_subscriber(
    shared: Arc<Shared>,
    client: redis::Client,
    first: (PubSubSink, PubSubStream),
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut connection = Some(first);
    let mut backoff = Duration::from_millis(100);
    loop {
        let (sink, stream) = match connection.take() {
            Some(c) => c,
            None => {
                // Commands sent while down are covered by subscribing to
                // everything watched now.
                while commands.try_recv().is_ok() {}
                let watched: Vec<(String, Arc<watch::Sender<bool>>)> = lock(&shared.watched)
                    .iter()
                    .map(|(t, w)| (envelope::channel(&shared.prefix, *t), w.subscribed.clone()))
                    .collect();
                let channels = watched.iter().map(|(c, _)| c.clone()).collect();
                let own = own_channel(&shared.prefix, shared.origin);
                match subscribe(&client, &own, channels).await {
                    Ok(c) => {
                        for (_, subscribed) in &watched {
                            subscribed.send_replace(true);
                        }
                        shared.counters.reconnects.inc();
                        shared.connected.store(true, Ordering::Release);
                        shared.counters.connected.set(1);
                        tracing::warn!(
                            "bus reconnected: events from other nodes may have been missed"
                        );
                        shared.delivery.missed();
                        backoff = Duration::from_millis(100);
                        c
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "bus still unreachable");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                }
            }
        };
        let lost = serve_subscription(&shared, sink, stream, &mut commands).await;
        shared.connected.store(false, Ordering::Release);
        shared.counters.connected.set(0);
        match lost {
            Lost::Bus => return,
            Lost::Connection(why) => {
                tracing::warn!(
                    reason = why,
                    "bus subscription lost; local sessions keep working, reconnecting"
                )
            }
        }
    }
}

enum Lost {
    /// The node's bus was dropped.
    Bus,
    Connection(&'static str),
}

async fn serve_subscription(
    shared: &Shared,
    mut sink: PubSubSink,
    mut stream: PubSubStream,
    commands: &mut mpsc::UnboundedReceiver<Command>,
) -> Lost {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else {
                    return Lost::Connection("closed");
                };
                receive(shared, message.get_payload_bytes());
            }
            command = commands.recv() => {
                let result = match command {
                    None => return Lost::Bus,
                    Some(Command::Subscribe(channel, subscribed)) => {
                        let r = tokio::time::timeout(REQUEST_TIMEOUT, sink.subscribe(&channel)).await;
                        if matches!(r, Ok(Ok(()))) {
                            let _ = subscribed.send(true);
                        }
                        r
                    }
                    Some(Command::Unsubscribe(channel)) => {
                        tokio::time::timeout(REQUEST_TIMEOUT, sink.unsubscribe(&channel)).await
                    }
                };
                match result {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Lost::Connection("subscribe failed"),
                    Err(_) => return Lost::Connection("subscribe timed out"),
                }
            }
            _ = ping.tick() => {
                match tokio::time::timeout(PING_TIMEOUT, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) => return Lost::Connection("ping failed"),
                    Err(_) => return Lost::Connection("ping timed out"),
                }
            }
        }
    }
}

fn receive(shared: &Shared, bytes: &[u8]) {
    let received = match envelope::decode(bytes) {
        Ok(r) => r,
        Err(e) => {
            let n = shared.counters.undecodable.inc();
            if n.is_multiple_of(1000) {
                tracing::warn!(error = %e, "undecodable bus message skipped");
            }
            return;
        }
    };
    if received.id.origin == shared.origin {
        return;
    }
    if let Some(guild) = received.also_on_guild {
        // The guild's own channel brings this node the same event.
        if lock(&shared.watched).contains_key(&Topic::Guild(guild)) {
            return;
        }
    }
    shared.counters.received.inc();
    let lag_ms = envelope::now_ms().saturating_sub(received.sent_ms);
    shared.counters.lag.observe(lag_ms as f64 / 1000.0);
    match received.carried {
        Carried::Event(event) => shared.delivery.event(Arc::new(event), received.id),
        Carried::Command(command) => shared.delivery.command(command),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redacted("redis://127.0.0.1:6379/2"),
            "redis://127.0.0.1:6379/2"
        );
        assert_eq!(
            redacted("redis://app:s3cr@t@redis.internal:6379"),
            "redis://app:***@redis.internal:6379"
        );
        assert_eq!(redacted("redis://:pw@h/0"), "redis://:***@h/0");
        assert_eq!(redacted("rediss://token@h"), "rediss://***@h");
    }
}
