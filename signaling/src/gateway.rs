//! The node's gateway: the registry of sessions and guild hubs, shared by
//! every connection task and by the fan-out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use hearth_bus::Bus;
use hearth_model::Snowflake;
use hearth_proto::events::{Event, Topic};
use hearth_store::Store;

use crate::cluster_presence::ClusterPresence;
use crate::codec::Prepared;
use crate::config::GatewayConfig;
use crate::hub::{GuildView, Hub};
use crate::presence::{Presences, Seen};
use crate::session::Session;
use crate::starts::{SessionStarts, StartRefusal};
use crate::voice::VoiceStates;

pub struct Gateway {
    pub config: GatewayConfig,
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn Bus>,
    pub presences: Presences,
    pub metrics: crate::metrics::GatewayMetrics,
    /// Subscriptions to guilds under way, so a removal cannot slip past one.
    pub(crate) joins: crate::joins::Joins,
    pub(crate) voice: VoiceStates,
    /// Calls in DMs and group DMs (see `calls`).
    pub(crate) calls: crate::calls::Calls,
    pub(crate) call_log: std::sync::OnceLock<Arc<dyn crate::calls::CallLog>>,
    /// Presence across nodes, once the node shares it (see
    /// `share_presence`); without it presence is this node's alone.
    cluster_presence: std::sync::OnceLock<Arc<ClusterPresence>>,
    /// The SFU, once the node has wired it (see `media`).
    pub(crate) media: std::sync::OnceLock<Arc<dyn crate::media::MediaPlane>>,
    /// In a cluster: where rooms are placed, and this node's SFU as the
    /// other nodes' voice states reach it (see `media`).
    pub(crate) placement: std::sync::OnceLock<Arc<dyn crate::media::VoicePlacement>>,
    pub(crate) media_host: std::sync::OnceLock<Arc<dyn crate::media::MediaPlane>>,
    shared_starts: std::sync::OnceLock<Arc<dyn crate::starts::SharedStarts>>,
    /// Each node's last event applied here, and sessions on their way
    /// from other nodes (see `handover`).
    pub(crate) applied: crate::handover::Applied,
    pub(crate) handovers: crate::handover::Handovers,
    /// In a cluster: voice states recorded in Redis (see `voice_remote`).
    pub(crate) shared_voice: std::sync::OnceLock<crate::voice_remote::SharedVoice>,
    /// In a cluster: sessions written down in Redis (see `journal`).
    pub(crate) journal: std::sync::OnceLock<Arc<crate::journal::Journal>>,
    /// In a cluster: connected sessions counted by every node (see
    /// `connected`).
    pub(crate) connected: std::sync::OnceLock<Arc<hearth_bus::connected::ConnectedSessions>>,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    /// Each account's Identify budget.
    starts: Mutex<SessionStarts>,
    by_user: Mutex<HashMap<Snowflake, Vec<Arc<Session>>>>,
    hubs: RwLock<HashMap<Snowflake, Arc<Hub>>>,
    /// Hubs being loaded, so concurrent first sessions load once.
    loading: tokio::sync::Mutex<()>,
    next_conn: AtomicU64,
    /// For spawning work (joining guilds) from the synchronous fan-out.
    pub(crate) me: Weak<Gateway>,
}

impl Gateway {
    pub fn new(config: GatewayConfig, store: Arc<dyn Store>, bus: Arc<dyn Bus>) -> Arc<Self> {
        let gw = Arc::new_cyclic(|me| Gateway {
            starts: Mutex::new(SessionStarts::new(config.session_starts)),
            config,
            store,
            bus: bus.clone(),
            presences: Presences::default(),
            metrics: Default::default(),
            joins: Default::default(),
            voice: VoiceStates::default(),
            calls: Default::default(),
            call_log: std::sync::OnceLock::new(),
            cluster_presence: std::sync::OnceLock::new(),
            media: std::sync::OnceLock::new(),
            placement: std::sync::OnceLock::new(),
            media_host: std::sync::OnceLock::new(),
            shared_voice: std::sync::OnceLock::new(),
            journal: std::sync::OnceLock::new(),
            connected: std::sync::OnceLock::new(),
            shared_starts: std::sync::OnceLock::new(),
            applied: Default::default(),
            handovers: Default::default(),
            sessions: Mutex::new(HashMap::new()),
            by_user: Mutex::new(HashMap::new()),
            hubs: RwLock::new(HashMap::new()),
            loading: tokio::sync::Mutex::new(()),
            next_conn: AtomicU64::new(1),
            me: me.clone(),
        });
        bus.set_receiver(gw.clone());
        gw
    }

    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    pub fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    pub fn sessions_of_user(&self, user: Snowflake) -> Vec<Arc<Session>> {
        self.by_user
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&user)
            .cloned()
            .unwrap_or_default()
    }

    /// In a cluster: journals every session from now on, so another node
    /// can resume them if this one dies (see `journal`, `recovery`).
    pub fn journal_sessions(self: &Arc<Self>, journal: Arc<crate::journal::Journal>) {
        if self.journal.set(journal.clone()).is_ok() {
            journal.start(self);
        }
    }

    /// The node's sessions with a connection, by user.
    pub(crate) fn attached_sessions(&self) -> Vec<(Snowflake, String)> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|s| s.is_attached())
            .map(|s| (s.user.id, s.id.clone()))
            .collect()
    }

    pub(crate) fn session_ids(&self) -> Vec<String> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    pub fn live_sessions(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Counts an Identify against its account's `session_start_limit`:
    /// in a cluster, with every node's.
    pub(crate) async fn start_session(&self, user: Snowflake) -> Result<(), StartRefusal> {
        let limit = self.config.session_starts;
        if let Some(shared) = self.shared_starts.get() {
            if limit != crate::starts::StartLimit::UNLIMITED {
                if let Some(verdict) = shared.start(user, limit).await {
                    return verdict;
                }
            }
        }
        self.starts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .try_start(user, std::time::Instant::now())
    }

    /// In a cluster: Identify budgets counted by every node together.
    pub fn share_session_starts(&self, shared: Arc<dyn crate::starts::SharedStarts>) {
        let _ = self.shared_starts.set(shared);
    }

    /// The account's Identify budget, as `GET /gateway/bot` reports it: in
    /// a cluster, every node's Identifies counted.
    pub async fn session_start_limit(
        &self,
        user: Snowflake,
    ) -> hearth_proto::gateway::SessionStartLimit {
        let mine = self
            .starts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .status(user, std::time::Instant::now());
        let limit = self.config.session_starts;
        let Some(shared) = self
            .shared_starts
            .get()
            .filter(|_| limit != crate::starts::StartLimit::UNLIMITED)
        else {
            return mine;
        };
        match shared.used_today(user).await {
            Some(Some((used, reset_after))) => hearth_proto::gateway::SessionStartLimit {
                remaining: limit.total.saturating_sub(used),
                reset_after: reset_after.as_millis() as u64,
                ..mine
            },
            Some(None) => hearth_proto::gateway::SessionStartLimit {
                remaining: limit.total,
                reset_after: 0,
                ..mine
            },
            None => mine,
        }
    }

    /// Takes the session out of the registry; false if it was not in it.
    pub(crate) fn forget_session(&self, session: &Arc<Session>) -> bool {
        let registered = self
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&session.id)
            .is_some();
        if registered {
            self.metrics.sessions.dec();
        }
        let mut by_user = self.by_user.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = by_user.get_mut(&session.user.id) {
            list.retain(|s| !Arc::ptr_eq(s, session));
            if list.is_empty() {
                by_user.remove(&session.user.id);
            }
        }
        registered
    }

    /// Registers a session handed over by another node (detached; its
    /// client is resuming it).
    pub(crate) fn adopt(&self, session: &Arc<Session>) {
        self.by_user
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(session.user.id)
            .or_default()
            .push(session.clone());
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(session.id.clone(), session.clone());
        self.metrics.sessions.inc();
    }

    /// Registers a new, attached session, unless its user already has
    /// `max_sessions_per_user` connected ones. The count and the insertion
    /// happen under one lock, so concurrent Identifies cannot overshoot.
    pub(crate) fn register(&self, session: &Arc<Session>) -> bool {
        {
            let mut by_user = self.by_user.lock().unwrap_or_else(|p| p.into_inner());
            let mine = by_user.entry(session.user.id).or_default();
            let connected = mine.iter().filter(|s| s.is_attached()).count();
            if connected >= self.config.max_sessions_per_user {
                if mine.is_empty() {
                    by_user.remove(&session.user.id);
                }
                return false;
            }
            mine.push(session.clone());
        }
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(session.id.clone(), session.clone());
        self.metrics.sessions.inc();
        self.metrics.identifies.inc();
        true
    }

    /// A session lost its connection and waits for a resume. If that makes
    /// more than `max_resumable_per_user` waiting sessions of its user, the
    /// longest-waiting ones end: a client that opens and drops sessions in
    /// a loop cannot keep them all subscribed and buffering.
    pub(crate) fn detached(&self, session: &Session) {
        self.disconnected(session);
        let mut waiting: Vec<(std::time::Instant, Arc<Session>)> = self
            .sessions_of_user(session.user.id)
            .into_iter()
            .filter_map(|s| s.detached_at().map(|at| (at, s)))
            .collect();
        let Some(excess) = waiting
            .len()
            .checked_sub(self.config.max_resumable_per_user)
        else {
            return;
        };
        waiting.sort_by_key(|(at, _)| *at);
        for (_, s) in waiting.into_iter().take(excess) {
            tracing::debug!(session = %s.id, user = %s.user.id, "too many resumable sessions: ending the oldest");
            self.end_session(&s);
        }
    }

    pub fn hub(&self, guild: Snowflake) -> Option<Arc<Hub>> {
        self.hubs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&guild)
            .cloned()
    }

    /// Every hub this node holds watches its guild's topic on the bus,
    /// from before its view is read until it is dropped.
    pub(crate) fn drop_hub(&self, guild: Snowflake) -> Option<Arc<Hub>> {
        let hub = self
            .hubs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&guild);
        if hub.is_some() {
            self.bus.unwatch(Topic::Guild(guild));
        }
        hub
    }

    /// The guild's hub, loading it from the store if this node has none.
    /// `None` if the guild does not exist.
    pub async fn load_hub(
        &self,
        guild: Snowflake,
    ) -> Result<Option<Arc<Hub>>, hearth_store::StoreError> {
        if let Some(hub) = self.hub(guild).filter(|h| h.is_ready()) {
            return Ok(Some(hub));
        }
        let _one_loader = self.loading.lock().await;
        if let Some(hub) = self.hub(guild).filter(|h| h.is_ready()) {
            return Ok(Some(hub));
        }
        // Registered, and the guild's events flowing from other nodes,
        // before reading the store: events from now on queue up in it and
        // are applied over what the store returns.
        let hub = Arc::new(Hub::loading(guild));
        let replaced = self
            .hubs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(guild, hub.clone());
        if replaced.is_none() {
            self.bus.watch(Topic::Guild(guild)).await;
            // Once the guild's events flow: an event wins over a record.
            self.seed_voice_states(guild).await;
        }
        let loaded = async {
            let Some(g) = self.store.guild(guild).await? else {
                return Ok(None);
            };
            let channels = self.store.channels(guild).await?;
            let threads = self.store.active_threads(guild).await?;
            let private_members = self.store.private_thread_members(guild).await?;
            Ok(Some(
                GuildView::new(g, channels).with_threads(threads, private_members),
            ))
        }
        .await;
        match loaded {
            Ok(Some(view)) => {
                hub.loaded(view);
                Ok(Some(hub))
            }
            Ok(None) => {
                self.drop_hub(guild);
                Ok(None)
            }
            Err(e) => {
                self.drop_hub(guild);
                Err(e)
            }
        }
    }

    /// Tokens of `user` were revoked: the sessions they opened (or last
    /// resumed) end, and their connections close with 4004. A `None` hash
    /// means every token of the user.
    pub fn revoke_sessions(&self, user: Snowflake, token_hash: Option<&[u8; 32]>) {
        for s in self.sessions_of_user(user) {
            if token_hash.is_none_or(|h| s.uses_token(h)) {
                s.set_close_code(hearth_proto::gateway::CloseCode::AuthenticationFailed);
                self.end_session(&s);
            }
        }
    }

    /// Ends a session for good: unsubscribes it, ends its voice states and
    /// updates presence.
    pub fn end_session(&self, session: &Arc<Session>) {
        if !session.end() {
            return;
        }
        if self.forget_session(session) {
            // Watched by `identify` before it registered the session.
            self.bus.unwatch(Topic::User(session.user.id));
        }
        let guilds = session.guilds();
        for g in &guilds {
            if let Some(hub) = self.hub(*g) {
                hub.unsubscribe(session);
            }
        }
        self.end_voice_of_session(session);
        if let Some(journal) = self.journal.get() {
            journal.forget(&session.id);
        }
        self.disconnected(session);
        let seen = self.presences.remove(session.user.id, &session.id);
        if let Some(cluster) = self.cluster_presence.get() {
            cluster.mark(session.user.id, &guilds);
        } else if let Some(seen) = seen {
            // The user's other sessions may be in guilds this one was not.
            let mut everywhere = guilds.clone();
            everywhere.extend(self.guilds_of_user(session.user.id));
            everywhere.sort();
            everywhere.dedup();
            self.announce_presence(session.user.id, &seen, &everywhere);
        }
        tracing::debug!(session = %session.id, user = %session.user.id, "session ended");
    }

    /// The guilds a user's live sessions are subscribed to.
    pub fn guilds_of_user(&self, user: Snowflake) -> Vec<Snowflake> {
        let mut all: Vec<Snowflake> = self
            .sessions_of_user(user)
            .iter()
            .flat_map(|s| s.guilds())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Makes presence the union of each user's sessions on every node that
    /// shares `shared`. Once, before sessions arrive.
    pub fn share_presence(
        self: &Arc<Self>,
        shared: Arc<dyn hearth_bus::presence::SharedPresences>,
    ) {
        self.cluster_presence
            .get_or_init(|| ClusterPresence::start(self, shared));
    }

    pub(crate) fn cluster_presence(&self) -> Option<Arc<ClusterPresence>> {
        self.cluster_presence.get().cloned()
    }

    /// A session's presence was set. `seen`: what this node's view became,
    /// if it changed; alone, the node announces that in `guilds`; in a
    /// cluster, what the cluster shows is worked out and announced.
    pub(crate) fn presence_changed(
        &self,
        user: Snowflake,
        seen: Option<Seen>,
        guilds: &[Snowflake],
    ) {
        match self.cluster_presence.get() {
            Some(cluster) => cluster.mark(user, guilds),
            None => {
                if let Some(seen) = seen {
                    self.announce_presence(user, &seen, guilds);
                }
            }
        }
    }

    /// What the cluster shows of each of `users` some node has, for the
    /// presences of GUILD_CREATE and member chunks (see [`Self::seen`]).
    /// Empty on a single node.
    pub(crate) async fn cluster_presences(&self, users: &[Snowflake]) -> HashMap<Snowflake, Seen> {
        match self.cluster_presence.get() {
            Some(cluster) => cluster.shown(users).await,
            None => HashMap::new(),
        }
    }

    /// What others see of a user: the cluster's view, else this node's.
    pub(crate) fn seen(&self, user: Snowflake, cluster: &HashMap<Snowflake, Seen>) -> Seen {
        cluster
            .get(&user)
            .cloned()
            .unwrap_or_else(|| self.presences.seen(user))
    }

    /// Publishes a presence change to the given guilds.
    pub fn announce_presence(&self, user: Snowflake, seen: &Seen, guilds: &[Snowflake]) {
        for g in guilds {
            self.bus
                .publish(Event::PresenceUpdate(seen.in_guild(user, *g)));
        }
    }

    fn all_sessions(&self) -> Vec<Arc<Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Before the node stops: tell every connected client to reconnect.
    pub fn shutdown(&self) {
        for s in self.all_sessions() {
            s.reconnect();
        }
    }

    /// The node stops (after `shutdown`): in a cluster its sessions are
    /// written down and other nodes may take them over at once, so the
    /// clients told to reconnect resume elsewhere with nothing lost.
    pub async fn hand_off(&self) {
        if let Some(journal) = self.journal.get() {
            journal.close().await;
        }
    }

    /// Events from other nodes were lost: every hub's view and every
    /// session's stream may lack some. Sessions end, so their clients
    /// identify again and get the state afresh (4009 tells them to start a
    /// new session; a resume would replay the same gaps), and hubs are
    /// loaded again by those identifies.
    pub(crate) fn forget_everything(&self) {
        let sessions = self.all_sessions();
        tracing::warn!(
            sessions = sessions.len(),
            "events from other nodes were missed: ending every session so its client starts afresh"
        );
        for s in sessions {
            s.set_close_code(hearth_proto::gateway::CloseCode::SessionTimedOut);
            self.end_session(&s);
        }
        let guilds: Vec<Snowflake> = self
            .hubs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .copied()
            .collect();
        for g in guilds {
            self.drop_hub(g);
        }
    }

    /// Queues a dispatch for one session.
    pub fn send_to(&self, session: &Session, name: &str, data: serde_json::Value) {
        session.push(Prepared::new(name, &data), self.config.resume_limit());
    }
}
