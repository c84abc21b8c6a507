//! In a cluster, every session is written down in Redis as it goes, so
//! that if this node dies without a word (`kill -9`, a lost machine) its
//! sessions resume on another node with nothing lost (see `recovery`).
//!
//! Write-ahead: a dispatch reaches the client only once Redis has it. Each
//! push queues (session, sequence, the bus event it came from, payload)
//! here; one task flushes the queue in one pipeline, then marks the
//! sessions' dispatches durable, and the connections waiting on them send.
//! Under load a flush carries many dispatches, so the cost is a round trip
//! per batch, not per dispatch, and a payload is written once however many
//! sessions get it (`Prepared::journal_id`).
//!
//! Beside the dispatches the journal keeps each session's record (who,
//! intents, guilds, presence, voice) and the node's watermarks: the last
//! event of each origin its fan-out applied. The node that takes a dead
//! node's session over replays, from the topics' streams, the events after
//! those watermarks.
//!
//! If Redis cannot take a flush, the dispatches go out anyway (the node
//! keeps serving its sessions; the bus ends them when Redis is back).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use hearth_bus::journal::{JournalEntry, JournalStore, JournalWrite, SessionAppend};
use hearth_proto::events::EventId;
use tokio::sync::{watch, Notify};

use crate::codec::Prepared;
use crate::gateway::Gateway;
use crate::session::Session;

/// How often every live session's record is written again (presence and
/// voice states kept current, keys kept from expiring).
const REFRESH_EVERY: Duration = Duration::from_secs(20);
/// Entries a session's list may hold beyond its buffer before it is
/// trimmed (a resume from an acknowledged one replays a little more).
const TRIM_SLACK: usize = 64;

/// A session's place in the journal.
#[derive(Debug)]
pub struct JournalTag {
    pub(crate) id: String,
    /// The last sequence number Redis has.
    durable: AtomicU64,
    /// How many dispatches the session's resume buffer holds.
    buffered: AtomicUsize,
    /// How many entries its Redis list holds (about: trimmed now and then).
    listed: AtomicUsize,
    /// Watermarks the session came with from another node (its journal
    /// there is not this node's).
    base: Mutex<Vec<EventId>>,
}

impl JournalTag {
    pub(crate) fn set_buffered(&self, n: usize) {
        self.buffered.store(n, Ordering::Relaxed);
    }

    pub(crate) fn set_base(&self, applied: Vec<EventId>) {
        *self.base.lock().unwrap_or_else(|p| p.into_inner()) = applied;
    }

    fn base(&self) -> Vec<EventId> {
        self.base.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

struct Queued {
    tag: Arc<JournalTag>,
    seq: u64,
    source: Option<EventId>,
    event: Arc<Prepared>,
}

#[derive(Default)]
struct Queue {
    entries: Vec<Queued>,
    /// Sessions whose record must be written, and whether they were
    /// adopted from another node (the record is taken over).
    records: HashMap<String, bool>,
    forgotten: Vec<String>,
    touched: HashSet<String>,
}

pub struct Journal {
    store: JournalStore,
    queue: Mutex<Queue>,
    wake: Notify,
    /// Counts flushes; connections waiting for durability watch it.
    flushed: watch::Sender<u64>,
    next_payload: AtomicU64,
    /// Redis did not take the last flush: dispatches go out without
    /// waiting for it until a flush succeeds.
    down: AtomicBool,
    /// The node stopped (no more heartbeats).
    closed: AtomicBool,
    /// How long a dead node's journal must outlive it.
    keep_for: Duration,
    gateway: OnceLock<Weak<Gateway>>,
}

impl Journal {
    pub fn new(store: JournalStore, resume_grace: Duration) -> Arc<Self> {
        Arc::new(Journal {
            store,
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            flushed: watch::Sender::new(0),
            next_payload: AtomicU64::new(1),
            down: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            keep_for: resume_grace + Duration::from_secs(60),
            gateway: OnceLock::new(),
        })
    }

    pub(crate) fn store(&self) -> &JournalStore {
        &self.store
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn tag(&self, id: &str) -> Arc<JournalTag> {
        Arc::new(JournalTag {
            id: id.to_owned(),
            durable: AtomicU64::new(0),
            buffered: AtomicUsize::new(0),
            listed: AtomicUsize::new(0),
            base: Mutex::new(Vec::new()),
        })
    }

    /// Queues a dispatch; called under the session's lock, so a session's
    /// dispatches queue in sequence order.
    pub(crate) fn append(
        &self,
        tag: &Arc<JournalTag>,
        seq: u64,
        source: Option<EventId>,
        event: &Arc<Prepared>,
    ) {
        let first = {
            let mut q = self.queue();
            q.entries.push(Queued {
                tag: tag.clone(),
                seq,
                source,
                event: event.clone(),
            });
            q.entries.len() == 1
        };
        if first {
            self.wake.notify_one();
        }
    }

    /// The session's record must be written (again).
    pub(crate) fn record(&self, id: &str, adopted: bool) {
        *self.queue().records.entry(id.to_owned()).or_default() |= adopted;
        self.wake.notify_one();
    }

    /// The session ended here: its record and dispatches go.
    pub(crate) fn forget(&self, id: &str) {
        let mut q = self.queue();
        q.records.remove(id);
        q.forgotten.push(id.to_owned());
        drop(q);
        self.wake.notify_one();
    }

    /// Waits until Redis has the session's dispatches up to `seq`.
    pub(crate) async fn durable(&self, tag: &JournalTag, seq: u64) {
        if tag.durable.load(Ordering::Acquire) >= seq || self.down.load(Ordering::Acquire) {
            return;
        }
        let mut flushes = self.flushed.subscribe();
        while tag.durable.load(Ordering::Acquire) < seq && !self.down.load(Ordering::Acquire) {
            if flushes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Starts the flushing and the node's heartbeat.
    pub fn start(self: &Arc<Self>, gw: &Arc<Gateway>) {
        let _ = self.gateway.set(Arc::downgrade(gw));
        let me = self.clone();
        tokio::spawn(async move { me.run().await });
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(hearth_bus::journal::ALIVE_EVERY);
            loop {
                tick.tick().await;
                let Some(journal) = me.upgrade() else { return };
                if journal.closed.load(Ordering::Acquire) {
                    return;
                }
                if let Err(e) = journal.store.alive().await {
                    tracing::debug!(error = %e, "journal heartbeat failed");
                }
            }
        });
    }

    /// The node stops: what is queued is written, then the node says it
    /// is gone, so other nodes take its sessions over without waiting for
    /// its heartbeat to lapse.
    pub(crate) async fn close(&self) {
        let mut flushes = self.flushed.subscribe();
        // A flush under way may have started before the last pushes: until
        // a flush leaves the queue empty (a few at most).
        for _ in 0..3 {
            self.wake.notify_one();
            let _ = tokio::time::timeout(Duration::from_secs(2), flushes.changed()).await;
            let q = self.queue();
            if q.entries.is_empty() && q.records.is_empty() && q.forgotten.is_empty() {
                break;
            }
        }
        self.closed.store(true, Ordering::Release);
        if let Err(e) = self.store.gone().await {
            tracing::warn!(error = %e, "could not tell Redis this gateway is gone");
        }
    }

    async fn run(self: Arc<Self>) {
        let mut refresh = tokio::time::interval(REFRESH_EVERY);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_applied: Vec<EventId> = Vec::new();
        loop {
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = refresh.tick() => self.refresh_all(),
            }
            let Some(gw) = self.gateway.get().and_then(Weak::upgrade) else {
                return;
            };
            // The watermarks before the batch: every dispatch of an event
            // they cover is in this batch or an earlier one.
            let mut applied = gw.applied.all();
            applied.sort_by_key(|id| id.origin);
            let queue = std::mem::take(&mut *self.queue());
            let mut write = JournalWrite::default();
            // Per session (by its tag): its new entries, in sequence order.
            let mut sessions: HashMap<usize, (Arc<JournalTag>, Vec<JournalEntry>)> = HashMap::new();
            for q in &queue.entries {
                let (payload, fresh) = q
                    .event
                    .journal_id(|| self.next_payload.fetch_add(1, Ordering::Relaxed));
                if fresh {
                    write
                        .payloads
                        .push((payload, q.event.name.clone(), q.event.json().to_vec()));
                }
                sessions
                    .entry(Arc::as_ptr(&q.tag) as usize)
                    .or_insert_with(|| (q.tag.clone(), Vec::new()))
                    .1
                    .push(JournalEntry {
                        seq: q.seq,
                        payload,
                        source: q.source,
                    });
            }
            let mut durable = Vec::with_capacity(sessions.len());
            for (tag, entries) in sessions.into_values() {
                let last = entries.last().map_or(0, |e| e.seq);
                let before = tag.listed.fetch_add(entries.len(), Ordering::Relaxed);
                let keep = tag.buffered.load(Ordering::Relaxed).max(1);
                let trim = (before + entries.len() > keep + TRIM_SLACK).then(|| {
                    tag.listed.store(keep, Ordering::Relaxed);
                    keep
                });
                write.appends.push(SessionAppend {
                    session: tag.id.clone(),
                    entries,
                    trim,
                    expire: before == 0,
                });
                durable.push((tag, last));
            }
            for (id, adopted) in &queue.records {
                if let Some(snapshot) = gw.record_of(id) {
                    write.records.push((snapshot, *adopted));
                }
            }
            write.forgotten = queue.forgotten;
            write.touched = queue.touched.into_iter().collect();
            if applied != last_applied {
                write.applied = Some(applied.clone());
            }
            if !write.is_empty() {
                match self.store.write(&write, self.keep_for).await {
                    Ok(()) => {
                        gw.metrics.journal_flushes.inc();
                        gw.metrics
                            .journal_dispatches
                            .inc_by(queue.entries.len() as u64);
                        gw.metrics
                            .journal_payloads
                            .inc_by(write.payloads.len() as u64);
                        if let Some(a) = write.applied {
                            last_applied = a;
                        }
                        if self.down.swap(false, Ordering::AcqRel) {
                            tracing::info!("journal flushes reach Redis again");
                        }
                    }
                    Err(e) => {
                        gw.metrics.journal_failures.inc();
                        if !self.down.swap(true, Ordering::AcqRel) {
                            tracing::warn!(error = %e, entries = queue.entries.len(), "journal flush failed: dispatches go out unjournaled until Redis takes them again");
                        }
                    }
                }
            }
            for (tag, seq) in durable {
                tag.durable.fetch_max(seq, Ordering::AcqRel);
            }
            self.flushed.send_modify(|n| *n += 1);
        }
    }

    /// Every live session's record again, and its keys' lifetimes renewed.
    fn refresh_all(&self) {
        let Some(gw) = self.gateway.get().and_then(Weak::upgrade) else {
            return;
        };
        let ids = gw.session_ids();
        let mut q = self.queue();
        for id in ids {
            q.records.entry(id.clone()).or_default();
            q.touched.insert(id);
        }
    }
}

impl Gateway {
    /// What the journal records of a live session: all but its buffer
    /// (the dispatches are journaled one by one).
    pub(crate) fn record_of(&self, id: &str) -> Option<hearth_proto::events::SessionSnapshot> {
        let session = self.session(id)?;
        if session.is_ended() {
            return None;
        }
        let mut snapshot = session.record();
        snapshot.presence = self.presences.of_session(session.user.id, id);
        snapshot.voice = self.handed_voice(&session);
        snapshot.applied = session.journal_tag().map(|t| t.base()).unwrap_or_default();
        Some(snapshot)
    }
}

/// What a session needs of the journal.
#[derive(Debug, Clone)]
pub struct Journaled {
    pub(crate) journal: Arc<Journal>,
    pub(crate) tag: Arc<JournalTag>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("keep_for", &self.keep_for)
            .finish()
    }
}

impl Session {
    /// Waits until the dispatch `seq` may reach the client: at once without
    /// a journal.
    pub async fn journaled(&self, seq: u64) {
        if let Some(j) = self.journal() {
            j.journal.durable(&j.tag, seq).await;
        }
    }
}
