//! A gateway session: what outlives a connection.
//!
//! Every dispatch for the session gets the next sequence number and goes
//! into its resume buffer, then to the attached connection's outbox if one
//! is attached. The buffer drops what the client acknowledged in its
//! heartbeats, so an idle, healthy session holds almost nothing; a detached
//! session keeps collecting until it is resumed or its grace ends. The
//! outbox is bounded: a connection that cannot keep up is cut loose (its
//! sender dropped) and the client resumes from the buffer.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use hearth_model::{Snowflake, User};
use hearth_proto::gateway::CloseCode;
use tokio::sync::mpsc;

use crate::codec::Prepared;

/// How much a resume buffer may hold; the oldest dispatches go first when
/// either bound is passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumeLimit {
    pub dispatches: usize,
    pub bytes: usize,
}

/// What a connection's writer receives.
#[derive(Debug)]
pub enum Outgoing {
    Dispatch(u64, Arc<Prepared>),
    /// The node is going away: send op 7 and close.
    Reconnect,
}

/// Who the session belongs to and what it asked for; fixed at Identify.
#[derive(Debug)]
pub struct Session {
    pub id: String,
    pub user: User,
    pub intents: u64,
    pub shard: Option<[u32; 2]>,
    pub large_threshold: u32,
    /// The client's region, for placing the voice rooms it opens.
    pub region: Option<String>,
    core: Mutex<Core>,
    /// Counts this session's connections cut loose for reading too slowly.
    slow_consumers: prometheus_client::metrics::counter::Counter,
    /// In a cluster: where its dispatches are written before they are sent.
    journal: Option<crate::journal::Journaled>,
}

#[derive(Debug)]
struct Core {
    seq: u64,
    buffer: VecDeque<(u64, Arc<Prepared>)>,
    /// The sum of the buffered events' sizes.
    buffered_bytes: usize,
    /// The oldest sequence number a resume can still start after.
    replay_from: u64,
    conn: Option<(u64, mpsc::Sender<Outgoing>)>,
    detached_at: Option<Instant>,
    ended: bool,
    guilds: HashSet<Snowflake>,
    /// The hash of the token that identified or last resumed the session,
    /// so revoking a token closes exactly the sessions it opened.
    token_hash: [u8; 32],
    /// Why the session ended, when the gateway ended it with a close code
    /// the connection should send (4004 for a revoked token).
    close_code: Option<CloseCode>,
    /// A new session's dispatches that came before its READY: held, so
    /// READY is always the first (s = 1), then given their numbers
    /// (`Session::ready`). None once READY went, or for a resumed one.
    held: Option<Vec<(Arc<Prepared>, Option<hearth_proto::events::EventId>)>>,
}

impl Core {
    /// Drops the oldest buffered dispatch; a resume can no longer start
    /// before it. False if the buffer was empty.
    fn drop_oldest(&mut self) -> bool {
        match self.buffer.pop_front() {
            Some((s, event)) => {
                self.replay_from = s;
                self.buffered_bytes -= event.size();
                true
            }
            None => false,
        }
    }
}

/// Dispatches to send again, with their sequence numbers.
pub type Replay = Vec<(u64, Arc<Prepared>)>;

/// Why a resume cannot go ahead.
#[derive(Debug, PartialEq, Eq)]
pub enum ResumeRefusal {
    /// The client claims a sequence number the server never sent (4007).
    SeqAhead,
    /// The session is over, or the buffer no longer holds what the client
    /// missed (op 9, not resumable).
    Gone,
}

impl Session {
    pub fn new(
        id: String,
        user: User,
        intents: u64,
        shard: Option<[u32; 2]>,
        large_threshold: u32,
        token_hash: [u8; 32],
    ) -> Self {
        Session {
            id,
            user,
            intents,
            shard,
            large_threshold,
            region: None,
            core: Mutex::new(Core {
                seq: 0,
                buffer: VecDeque::new(),
                buffered_bytes: 0,
                replay_from: 0,
                conn: None,
                detached_at: None,
                ended: false,
                guilds: HashSet::new(),
                token_hash,
                close_code: None,
                held: None,
            }),
            slow_consumers: Default::default(),
            journal: None,
        }
    }

    /// Journals the session's dispatches (see `journal`).
    pub fn journaled_in(mut self, journal: Option<Arc<crate::journal::Journal>>) -> Self {
        self.journal = journal.map(|journal| crate::journal::Journaled {
            tag: journal.tag(&self.id),
            journal,
        });
        self
    }

    pub(crate) fn journal(&self) -> Option<&crate::journal::Journaled> {
        self.journal.as_ref()
    }

    pub(crate) fn journal_tag(&self) -> Option<&Arc<crate::journal::JournalTag>> {
        self.journal.as_ref().map(|j| &j.tag)
    }

    /// Journals everything the buffer holds (a session that came from
    /// another node): the journal of that node is not this one's.
    pub(crate) fn journal_buffer(&self) {
        let Some(j) = &self.journal else { return };
        let core = self.core();
        for (seq, event) in &core.buffer {
            j.journal.append(&j.tag, *seq, None, event);
        }
        j.tag.set_buffered(core.buffer.len());
    }

    /// Counts this session's slow-consumer cuts in `counter` (the
    /// gateway's metric).
    /// What another node needs to carry the session on (see `handover`):
    /// its sequence, resume buffer, guilds and token. The caller adds what
    /// the gateway knows (presence, voice states).
    pub fn snapshot(&self) -> hearth_proto::events::SessionSnapshot {
        self.snapshot_with(true)
    }

    /// The same without the buffer (what the journal records: it has the
    /// dispatches already).
    pub(crate) fn record(&self) -> hearth_proto::events::SessionSnapshot {
        self.snapshot_with(false)
    }

    fn snapshot_with(&self, buffer: bool) -> hearth_proto::events::SessionSnapshot {
        let core = self.core();
        hearth_proto::events::SessionSnapshot {
            id: self.id.clone(),
            user: self.user.clone(),
            intents: self.intents,
            shard: self.shard,
            large_threshold: self.large_threshold,
            region: self.region.clone(),
            token_hash: core.token_hash,
            guilds: core.guilds.iter().copied().collect(),
            seq: core.seq,
            replay_from: core.replay_from,
            buffer: core
                .buffer
                .iter()
                .filter(|_| buffer)
                .map(|(seq, p)| hearth_proto::events::BufferedDispatch {
                    seq: *seq,
                    name: p.name.clone(),
                    d: p.json().to_vec(),
                })
                .collect(),
            presence: None,
            voice: Vec::new(),
            applied: Vec::new(),
        }
    }

    /// A session handed over by another node, detached, as it was there.
    pub fn restored(snapshot: &hearth_proto::events::SessionSnapshot) -> Self {
        let session = Session::new(
            snapshot.id.clone(),
            snapshot.user.clone(),
            snapshot.intents,
            snapshot.shard,
            snapshot.large_threshold,
            snapshot.token_hash,
        )
        .in_region(snapshot.region.clone());
        {
            let mut core = session.core();
            core.seq = snapshot.seq;
            core.replay_from = snapshot.replay_from;
            for b in &snapshot.buffer {
                let p = crate::codec::Prepared::from_json(b.name.clone(), b.d.clone());
                core.buffered_bytes += p.size();
                core.buffer.push_back((b.seq, p));
            }
            core.detached_at = Some(Instant::now());
        }
        session
    }

    pub fn in_region(mut self, region: Option<String>) -> Self {
        self.region = region;
        self
    }

    pub fn counting_slow_consumers_in(
        mut self,
        counter: prometheus_client::metrics::counter::Counter,
    ) -> Self {
        self.slow_consumers = counter;
        self
    }

    fn core(&self) -> MutexGuard<'_, Core> {
        // Every critical section leaves Core consistent; a panic in one does
        // not make it unreadable.
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a dispatch; returns false if the session has ended.
    pub fn push(&self, event: Arc<Prepared>, limit: ResumeLimit) -> bool {
        self.push_from(event, limit, None)
    }

    /// Holds every dispatch until [`Session::ready`]: for a session that
    /// identified, whose events flow before its READY is built.
    pub fn hold_until_ready(&self) {
        self.core().held = Some(Vec::new());
    }

    /// Queues READY first, then what came while it was being built, in
    /// their order: under one lock, so nothing else slips in between.
    pub fn ready(&self, ready: Arc<Prepared>, limit: ResumeLimit) {
        let mut core = self.core();
        if core.ended {
            return;
        }
        let held = core.held.take();
        self.queue(&mut core, ready, limit, None);
        for (event, source) in held.into_iter().flatten() {
            self.queue(&mut core, event, limit, source);
        }
    }

    /// Queues a dispatch made from the bus event `source`.
    pub fn push_from(
        &self,
        event: Arc<Prepared>,
        limit: ResumeLimit,
        source: Option<hearth_proto::events::EventId>,
    ) -> bool {
        let mut core = self.core();
        if core.ended {
            return false;
        }
        if let Some(held) = core.held.as_mut() {
            // Bounded as the resume buffer is: a session whose READY takes
            // that long keeps the newest, as a slow reader's buffer would.
            if held.len() >= limit.dispatches {
                held.remove(0);
            }
            held.push((event, source));
            return true;
        }
        self.queue(&mut core, event, limit, source);
        true
    }

    /// Numbers the dispatch, keeps it for a resume and hands it to the
    /// connection.
    fn queue(
        &self,
        core: &mut Core,
        event: Arc<Prepared>,
        limit: ResumeLimit,
        source: Option<hearth_proto::events::EventId>,
    ) {
        core.seq += 1;
        let seq = core.seq;
        core.buffered_bytes += event.size();
        core.buffer.push_back((seq, event.clone()));
        while core.buffer.len() > limit.dispatches || core.buffered_bytes > limit.bytes {
            if !core.drop_oldest() {
                break;
            }
        }
        if let Some(j) = &self.journal {
            j.journal.append(&j.tag, seq, source, &event);
            j.tag.set_buffered(core.buffer.len());
        }
        if let Some((_, tx)) = &core.conn {
            if let Err(e) = tx.try_send(Outgoing::Dispatch(seq, event)) {
                // Full (a slow reader) or closed: either way the connection
                // is done; the buffer has everything for a resume.
                if matches!(e, mpsc::error::TrySendError::Full(_)) {
                    self.slow_consumers.inc();
                }
                core.conn = None;
                core.detached_at = Some(Instant::now());
            }
        }
    }

    /// Attaches a new connection (Identify). Returns its outbox.
    pub fn attach(&self, conn_id: u64, outbox: usize) -> mpsc::Receiver<Outgoing> {
        let (tx, rx) = mpsc::channel(outbox);
        let mut core = self.core();
        core.conn = Some((conn_id, tx));
        core.detached_at = None;
        rx
    }

    /// Attaches a connection that resumes after `seq`: returns the dispatches
    /// to replay and the outbox for what follows.
    pub fn resume(
        &self,
        conn_id: u64,
        seq: u64,
        outbox: usize,
        token_hash: [u8; 32],
    ) -> Result<(Replay, mpsc::Receiver<Outgoing>), ResumeRefusal> {
        let mut core = self.core();
        if core.ended {
            return Err(ResumeRefusal::Gone);
        }
        if seq > core.seq {
            return Err(ResumeRefusal::SeqAhead);
        }
        if seq < core.replay_from {
            return Err(ResumeRefusal::Gone);
        }
        let replay = core
            .buffer
            .iter()
            .filter(|(s, _)| *s > seq)
            .cloned()
            .collect();
        let (tx, rx) = mpsc::channel(outbox);
        // Replacing the sender cuts off any connection still attached.
        core.conn = Some((conn_id, tx));
        core.token_hash = token_hash;
        core.detached_at = None;
        Ok((replay, rx))
    }

    /// The connection `conn_id` is gone. Returns when it detached, if this
    /// call did it (another connection may have taken over meanwhile).
    pub fn detach(&self, conn_id: u64) -> Option<Instant> {
        let mut core = self.core();
        match &core.conn {
            Some((id, _)) if *id == conn_id => {
                core.conn = None;
                let now = Instant::now();
                core.detached_at = Some(now);
                Some(now)
            }
            // Already cut loose by a slow-consumer check: the grace starts then.
            None if core.detached_at.is_some() && !core.ended => core.detached_at,
            _ => None,
        }
    }

    /// Whether the session is still detached since `since` (its grace may end it).
    pub fn detached_since(&self, since: Instant) -> bool {
        let core = self.core();
        !core.ended && core.conn.is_none() && core.detached_at == Some(since)
    }

    /// The client acknowledged everything up to `seq` in a heartbeat.
    pub fn acknowledge(&self, seq: u64) {
        let mut core = self.core();
        while core.buffer.front().is_some_and(|(s, _)| *s <= seq) {
            core.drop_oldest();
        }
        if core.buffer.is_empty() && core.buffer.capacity() > 64 {
            core.buffer.shrink_to_fit();
        }
        if let Some(j) = &self.journal {
            j.tag.set_buffered(core.buffer.len());
        }
    }

    /// Ends the session; returns false if it had already ended.
    pub fn end(&self) -> bool {
        let mut core = self.core();
        let was = core.ended;
        core.ended = true;
        core.conn = None;
        core.buffer.clear();
        core.buffered_bytes = 0;
        !was
    }

    /// Whether the session was opened or last resumed with this token.
    pub fn uses_token(&self, token_hash: &[u8; 32]) -> bool {
        self.core().token_hash == *token_hash
    }

    /// The close code the connection must send once the session's outbox
    /// ends, if the gateway ended the session for a reason the client must
    /// hear (the default is 4000, resumable).
    pub fn close_code(&self) -> Option<CloseCode> {
        self.core().close_code
    }

    pub(crate) fn set_close_code(&self, code: CloseCode) {
        self.core().close_code = Some(code);
    }

    /// Whether a connection is attached (the session is not ended, and not
    /// waiting for a resume).
    pub fn is_attached(&self) -> bool {
        let core = self.core();
        !core.ended && core.conn.is_some()
    }

    /// Since when the session waits for a resume, if it does.
    pub fn detached_at(&self) -> Option<Instant> {
        let core = self.core();
        match (&core.conn, core.ended) {
            (None, false) => core.detached_at,
            _ => None,
        }
    }

    pub fn is_ended(&self) -> bool {
        self.core().ended
    }

    pub fn seq(&self) -> u64 {
        self.core().seq
    }

    /// Sends op 7 to the attached connection, if any.
    pub fn reconnect(&self) {
        if let Some((_, tx)) = &self.core().conn {
            let _ = tx.try_send(Outgoing::Reconnect);
        }
    }

    pub fn add_guild(&self, guild: Snowflake) -> bool {
        let added = self.core().guilds.insert(guild);
        if added {
            self.record_changed();
        }
        added
    }

    pub fn remove_guild(&self, guild: Snowflake) -> bool {
        let removed = self.core().guilds.remove(&guild);
        if removed {
            self.record_changed();
        }
        removed
    }

    /// What the journal records of the session changed.
    pub(crate) fn record_changed(&self) {
        if let Some(j) = &self.journal {
            j.journal.record(&self.id, false);
        }
    }

    pub fn guilds(&self) -> Vec<Snowflake> {
        self.core().guilds.iter().copied().collect()
    }

    /// Whether the shard this session asked for carries the guild.
    /// Whether DMs come to this session: as on Discord, only shard 0 of a
    /// sharded bot gets them.
    pub fn holds_dms(&self) -> bool {
        !matches!(self.shard, Some([id, _]) if id != 0)
    }

    pub fn shard_has(&self, guild: Snowflake) -> bool {
        match self.shard {
            Some([id, count]) if count > 0 => (guild.0 >> 22) % u64::from(count) == u64::from(id),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn session() -> Session {
        let user = User {
            id: Snowflake(1),
            username: "u".into(),
            discriminator: "0".into(),
            global_name: None,
            avatar: None,
            bot: false,
        };
        Session::new("s".into(), user, 0, None, 50, [0; 32])
    }

    fn ev(n: &str) -> Arc<Prepared> {
        Prepared::new(n, &Value::Null)
    }

    fn lim(dispatches: usize) -> ResumeLimit {
        ResumeLimit {
            dispatches,
            bytes: usize::MAX,
        }
    }

    fn drain(rx: &mut mpsc::Receiver<Outgoing>) -> Vec<u64> {
        let mut out = vec![];
        while let Ok(Outgoing::Dispatch(s, _)) = rx.try_recv() {
            out.push(s);
        }
        out
    }

    #[test]
    fn sequence_numbers_increase_and_reach_the_connection() {
        let s = session();
        let mut rx = s.attach(1, 16);
        for _ in 0..3 {
            s.push(ev("A"), lim(100));
        }
        assert_eq!(drain(&mut rx), vec![1, 2, 3]);
    }

    #[test]
    fn ready_is_always_first_and_what_came_before_it_follows() {
        let s = session();
        s.hold_until_ready();
        let mut rx = s.attach(1, 16);
        s.push(ev("CHANNEL_CREATE"), lim(100));
        s.push(ev("GUILD_MEMBER_UPDATE"), lim(100));
        assert!(drain(&mut rx).is_empty(), "nothing before READY");
        s.ready(ev("READY"), lim(100));
        let mut names = vec![];
        while let Ok(Outgoing::Dispatch(seq, e)) = rx.try_recv() {
            names.push((seq, e.name.clone()));
        }
        assert_eq!(
            names,
            [
                (1, "READY".to_owned()),
                (2, "CHANNEL_CREATE".to_owned()),
                (3, "GUILD_MEMBER_UPDATE".to_owned())
            ]
        );
        s.push(ev("AFTER"), lim(100));
        assert_eq!(drain(&mut rx), vec![4]);
    }

    #[test]
    fn a_resume_replays_exactly_what_was_missed() {
        let s = session();
        let mut rx = s.attach(1, 16);
        s.push(ev("A"), lim(100));
        drain(&mut rx);
        let since = s.detach(1).unwrap();
        assert!(s.detached_since(since));
        for _ in 0..5 {
            s.push(ev("B"), lim(100));
        }
        let (replay, _rx) = s.resume(2, 1, 16, [0; 32]).unwrap();
        assert_eq!(
            replay.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            vec![2, 3, 4, 5, 6]
        );
        assert!(!s.detached_since(since));
    }

    #[test]
    fn resume_refuses_seq_ahead_and_evicted_history() {
        let s = session();
        for _ in 0..10 {
            s.push(ev("A"), lim(4));
        }
        assert_eq!(
            s.resume(2, 11, 16, [0; 32]).unwrap_err(),
            ResumeRefusal::SeqAhead
        );
        // Only 7..=10 are buffered: resuming after 5 would lose 6.
        assert_eq!(
            s.resume(2, 5, 16, [0; 32]).unwrap_err(),
            ResumeRefusal::Gone
        );
        assert_eq!(s.resume(2, 6, 16, [0; 32]).unwrap().0.len(), 4);
        s.end();
        assert_eq!(
            s.resume(3, 10, 16, [0; 32]).unwrap_err(),
            ResumeRefusal::Gone
        );
    }

    #[test]
    fn acknowledged_dispatches_leave_the_buffer() {
        let s = session();
        for _ in 0..10 {
            s.push(ev("A"), lim(100));
        }
        s.acknowledge(8);
        assert_eq!(s.resume(2, 8, 16, [0; 32]).unwrap().0.len(), 2);
        assert_eq!(
            s.resume(3, 7, 16, [0; 32]).unwrap_err(),
            ResumeRefusal::Gone
        );
    }

    #[test]
    fn the_buffer_is_bounded_in_bytes_too() {
        let s = session();
        let big = Prepared::new("A", &Value::String("x".repeat(1000)));
        let limit = ResumeLimit {
            dispatches: 100,
            bytes: 3 * big.size(),
        };
        for _ in 0..10 {
            s.push(big.clone(), limit);
        }
        // Only 8..=10 fit in three events' bytes.
        assert_eq!(
            s.resume(2, 6, 16, [0; 32]).unwrap_err(),
            ResumeRefusal::Gone
        );
        assert_eq!(s.resume(2, 7, 16, [0; 32]).unwrap().0.len(), 3);
    }

    #[test]
    fn a_slow_connection_is_cut_loose_but_nothing_is_lost() {
        let cuts = prometheus_client::metrics::counter::Counter::default();
        let s = session().counting_slow_consumers_in(cuts.clone());
        let mut rx = s.attach(1, 2);
        for _ in 0..5 {
            s.push(ev("A"), lim(100));
        }
        // Two fit; the third found the outbox full and detached the connection.
        assert_eq!(drain(&mut rx), vec![1, 2]);
        assert_eq!(cuts.get(), 1, "one cut, counted once");
        assert!(rx.try_recv().is_err());
        let (replay, _rx) = s.resume(2, 2, 16, [0; 32]).unwrap();
        assert_eq!(replay.len(), 3);
    }
}
