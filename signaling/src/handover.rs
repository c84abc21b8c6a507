//! Resuming, on this node, a gateway session another node holds (a client
//! behind a load balancer reconnects wherever it lands).
//!
//! Every event carries its id: the node that published it and its place in
//! that node's order (`EventId`). A node's fan-out applies each node's
//! events in that order, so "the last event of node N applied" is a
//! watermark this gateway keeps per node (`Applied`).
//!
//! The resuming node:
//! 1. authenticates the token, loads the hubs of the user's guilds and
//!    watches the user's topic, and starts collecting every event in the
//!    user's scope (`Pending`);
//! 2. sends [`NodeCommand::HandOver`] on the user's topic.
//!
//! The holding node, in its fan-out (so between two events), takes the
//! session out quietly (no presence change, no voice state ended: the
//! session lives on), and sends [`NodeCommand::HandedOver`]: the session's
//! sequence and resume buffer, guilds, presence, voice states and its
//! watermarks. The resuming node, in its fan-out too, rebuilds the session,
//! subscribes it, and adds the collected events that come after the
//! watermarks, in order: nothing the session missed is lost (every event
//! published after the holder let go reached this node, which watched the
//! user's topics before asking) and nothing is given twice. Then the
//! resume proceeds as a local one.
//!
//! A holder that does not answer within [`HANDOVER_TIMEOUT`] (dead, or no
//! such session) means op 9: the client identifies again.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hearth_bus::BusHealth;
use hearth_model::{Member, Snowflake};
use hearth_proto::events::{
    Audience, Event, EventId, HandedVoice, NodeCommand, SessionSnapshot, Topic,
};
use tokio::sync::oneshot;

use crate::gateway::Gateway;
use crate::media::VoiceServer;
use crate::session::Session;
use crate::voice::VoiceState;

/// How long a resume waits for the holding node.
pub const HANDOVER_TIMEOUT: Duration = Duration::from_secs(3);
/// Events a pending handover may collect; beyond them it fails (op 9).
const MAX_COLLECTED: usize = 100_000;

/// For each node, the counter of its last event this node's fan-out
/// applied.
#[derive(Debug, Default)]
pub(crate) struct Applied(Mutex<HashMap<u64, u64>>);

impl Applied {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, u64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn record(&self, id: EventId) {
        let mut all = self.lock();
        let last = all.entry(id.origin).or_insert(0);
        *last = (*last).max(id.counter);
    }

    pub(crate) fn all(&self) -> Vec<EventId> {
        self.lock()
            .iter()
            .map(|(origin, counter)| EventId {
                origin: *origin,
                counter: *counter,
            })
            .collect()
    }
}

struct Pending {
    session_id: String,
    user: Snowflake,
    /// The user's guilds whose hubs are loaded, with their member.
    members: HashMap<Snowflake, Member>,
    collected: Vec<(Arc<Event>, EventId)>,
    overflowed: bool,
    done: Option<oneshot::Sender<Arc<Session>>>,
}

#[derive(Default)]
pub(crate) struct Handovers {
    pending: Mutex<HashMap<u64, Pending>>,
    /// How many are pending: the fan-out looks only when some are.
    active: AtomicUsize,
}

impl Handovers {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts events read off the topics' streams in front of those the
    /// pending handover collected (without the ones it collected too).
    /// False if it is no longer pending.
    pub(crate) fn put_first(
        &self,
        ticket: u64,
        logged: Vec<(Arc<Event>, EventId)>,
        ids: &HashSet<EventId>,
    ) -> bool {
        let mut pending = self.lock();
        let Some(p) = pending.get_mut(&ticket) else {
            return false;
        };
        if p.overflowed || p.collected.len() + logged.len() > MAX_COLLECTED {
            return false;
        }
        p.collected.retain(|(_, id)| !ids.contains(id));
        p.collected.splice(0..0, logged);
        true
    }

    fn remove(&self, ticket: u64) -> Option<Pending> {
        let p = self.lock().remove(&ticket);
        if p.is_some() {
            self.active.fetch_sub(1, Ordering::AcqRel);
        }
        p
    }
}

/// The session another node holds, now here; None if no node handed it
/// over in time.
pub(crate) async fn fetch(
    gw: &Arc<Gateway>,
    session_id: &str,
    user: &hearth_model::User,
) -> Option<Arc<Session>> {
    if gw.bus.health() != BusHealth::Connected || !plausible_id(session_id) {
        return None;
    }
    let ticket = rand::random::<u64>();
    gw.handovers.lock().insert(
        ticket,
        Pending {
            session_id: session_id.to_owned(),
            user: user.id,
            members: HashMap::new(),
            collected: Vec::new(),
            overflowed: false,
            done: None,
        },
    );
    gw.handovers.active.fetch_add(1, Ordering::AcqRel);
    // Collecting from here on: whatever comes before the holder lets go is
    // dropped by its watermarks.
    gw.bus.watch(Topic::User(user.id)).await;
    let mut members = HashMap::new();
    if let Ok(guilds) = gw.store.guilds_of_user(user.id).await {
        for g in guilds {
            let Ok(Some(member)) = gw.store.member(g, user.id).await else {
                continue;
            };
            if let Ok(Some(_)) = gw.load_hub(g).await {
                members.insert(g, member);
            }
        }
    }
    let (tx, rx) = oneshot::channel();
    match gw.handovers.lock().get_mut(&ticket) {
        Some(p) => {
            p.members = members;
            p.done = Some(tx);
        }
        None => return None,
    }
    gw.bus.command(NodeCommand::HandOver {
        session_id: session_id.to_owned(),
        user_id: user.id,
        ticket,
    });
    // A live holder answers at once. With a journal, a dead one is noticed
    // by its heartbeat lapsing, and the session taken over (`recovery`).
    let started = tokio::time::Instant::now();
    let journal = gw.journal.get().cloned();
    let deadline = started
        + HANDOVER_TIMEOUT
        + if journal.is_some() {
            hearth_bus::journal::ALIVE_FOR + Duration::from_secs(1)
        } else {
            Duration::ZERO
        };
    let mut rx = rx;
    let mut recovering = false;
    let arrived = loop {
        let wait = tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + LOOK_EVERY));
        tokio::select! {
            r = &mut rx => break r.ok(),
            _ = wait => {}
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            break None;
        }
        let Some(journal) = journal.as_ref().filter(|_| !recovering) else {
            continue;
        };
        match crate::recovery::attempt(gw, journal, session_id, user, ticket).await {
            crate::recovery::Attempt::Sent => recovering = true,
            // Its holder's heartbeat may lapse yet (it died just now).
            crate::recovery::Attempt::Wait => {}
            // No record: only a holder without a journal could answer.
            crate::recovery::Attempt::Unrecorded if now < started + HANDOVER_TIMEOUT => {}
            crate::recovery::Attempt::Unrecorded | crate::recovery::Attempt::Impossible => {
                break None
            }
        }
    };
    if arrived.is_none() {
        // Unless the session arrived just now: it holds the watch then
        // (and its grace ends it if nobody resumes it).
        if gw.handovers.remove(ticket).is_some() {
            gw.bus.unwatch(Topic::User(user.id));
        }
    }
    arrived
}

/// How often a resume waiting for a holder looks whether it died.
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// Session ids are 32 hex characters: anything else is no session.
fn plausible_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Gateway {
    /// In the fan-out, for every event: the events pending handovers
    /// collect.
    pub(crate) fn note_event(&self, event: &Arc<Event>, id: EventId) {
        if self.handovers.active.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut pending = self.handovers.lock();
        for p in pending.values_mut() {
            let concerns = match event.audience() {
                Audience::User(u) => u == p.user,
                Audience::Guild(g) | Audience::Channel { guild_id: g, .. } => {
                    p.members.contains_key(&g)
                }
            };
            if !concerns || p.overflowed {
                continue;
            }
            if p.collected.len() >= MAX_COLLECTED {
                p.overflowed = true;
                p.collected.clear();
                continue;
            }
            p.collected.push((event.clone(), id));
        }
    }

    /// [`NodeCommand::HandOver`]: if this node holds the session, it lets
    /// it go to the asking node.
    pub(crate) fn hand_over(&self, session_id: &str, user: Snowflake, ticket: u64) {
        if self.handovers.lock().contains_key(&ticket) {
            // Our own request, back from Redis.
            return;
        }
        let Some(session) = self.session(session_id) else {
            return;
        };
        if session.user.id != user || session.is_ended() {
            return;
        }
        let mut snapshot = session.snapshot();
        snapshot.presence = self.presences.of_session(user, session_id);
        snapshot.voice = self.handed_voice(&session);
        snapshot.applied = self.applied.all();
        self.let_go(&session);
        tracing::info!(session = %session.id, user = %user, "session handed over to another node");
        self.bus.command(NodeCommand::HandedOver {
            user_id: user,
            ticket,
            session: Box::new(snapshot),
        });
    }

    /// The session's voice states, as another node takes them over.
    pub(crate) fn handed_voice(&self, session: &Session) -> Vec<HandedVoice> {
        let registry = self.voice.registry();
        registry
            .all()
            .filter(|s| s.user_id == session.user.id && s.session_id == session.id)
            .map(|s| HandedVoice {
                state: s.joined(),
                node: s.server.node.clone(),
                endpoint: s.server.endpoint.clone(),
            })
            .collect()
    }

    /// Takes a session out of this node without ending what it stands for
    /// (its presence, its voice states): it goes on elsewhere.
    fn let_go(&self, session: &Arc<Session>) {
        if !session.end() {
            return;
        }
        let registered = self.forget_session(session);
        if registered {
            self.bus.unwatch(Topic::User(session.user.id));
        }
        for g in session.guilds() {
            if let Some(hub) = self.hub(g) {
                hub.unsubscribe(session);
            }
        }
        let _changing = self.voice.changing();
        let gone = self
            .voice
            .registry()
            .remove_session(session.user.id, &session.id);
        // A DM call is not handed over (the new node could not announce it
        // to recipients it may not know yet): the user leaves it, and
        // joins again from the new node.
        let calls: Vec<VoiceState> = gone.into_iter().filter(VoiceState::in_call).collect();
        self.announce_left(calls);
        // This node's record of the user's presence stays until its next
        // renewal: by then the new node has recorded its own, so nobody
        // sees the user go offline and back.
        let _ = self.presences.remove(session.user.id, &session.id);
    }

    /// [`NodeCommand::HandedOver`]: the session this node asked for.
    pub(crate) fn handed_over(&self, ticket: u64, snapshot: SessionSnapshot) {
        let Some(pending) = self.handovers.remove(ticket) else {
            return;
        };
        let Some(done) = pending.done else { return };
        if pending.overflowed || snapshot.id != pending.session_id {
            return;
        }
        let session = Arc::new(
            Session::restored(&snapshot)
                .counting_slow_consumers_in(self.metrics.slow_consumers.clone())
                .journaled_in(self.journal.get().cloned()),
        );
        self.adopt(&session);
        // Journaled here from now on, buffer first; the record is this
        // node's (a resume will wait for the buffer to be in Redis).
        if let (Some(journal), Some(tag)) = (self.journal.get(), session.journal_tag()) {
            tag.set_base(snapshot.applied.clone());
            session.journal_buffer();
            journal.record(&session.id, true);
        }
        // As for a session whose connection dropped here: ended unless
        // resumed within the grace (the resume asking for it may yet fail).
        if let (Some(since), Some(gw)) = (session.detached_at(), self.me.upgrade()) {
            let waiting = session.clone();
            tokio::spawn(async move {
                tokio::time::sleep(gw.config.resume_grace).await;
                if waiting.detached_since(since) {
                    gw.end_session(&waiting);
                }
            });
        }
        let user = session.user.id;
        // Guilds the user left while the session was on its way stay left.
        let left: HashSet<Snowflake> = pending
            .collected
            .iter()
            .filter_map(|(e, _)| match &**e {
                Event::GuildMemberRemove { guild_id, user: u } if u.id == user => Some(*guild_id),
                _ => None,
            })
            .collect();
        for g in &snapshot.guilds {
            let (Some(hub), Some(member)) = (self.hub(*g), pending.members.get(g)) else {
                continue;
            };
            if left.contains(g) {
                continue;
            }
            let g = *g;
            hub.subscribe(&session, member, || true, |_| session.add_guild(g));
        }
        let applied: HashMap<u64, u64> = snapshot
            .applied
            .iter()
            .map(|id| (id.origin, id.counter))
            .collect();
        let mut added = 0usize;
        // An event may have been collected twice (read off a topic's
        // stream and heard live, see `recovery`).
        let mut seen = HashSet::new();
        for (event, id) in &pending.collected {
            if applied
                .get(&id.origin)
                .is_some_and(|last| id.counter <= *last)
                || !seen.insert(*id)
            {
                continue;
            }
            if self.deliver_to(&session, event, *id) {
                added += 1;
            }
        }
        let seen = self
            .presences
            .set(user, &session.id, snapshot.presence.clone());
        self.presence_changed(user, seen, &session.guilds());
        self.adopt_voice(&session, &snapshot.voice);
        tracing::info!(session = %session.id, user = %user, seq = snapshot.seq, added, "session handed over from another node");
        let _ = done.send(session);
    }

    /// Voice states that came with a session: held here now, announced
    /// so every node knows which node holds them.
    fn adopt_voice(&self, session: &Session, voice: &[HandedVoice]) {
        for v in voice {
            let (Some(guild), Some(channel), Some(member)) =
                (v.state.guild_id, v.state.channel_id, v.state.member.clone())
            else {
                continue;
            };
            let state = VoiceState {
                guild_id: guild,
                channel_id: channel,
                user_id: session.user.id,
                session_id: session.id.clone(),
                member: Some(member),
                self_mute: v.state.self_mute,
                self_deaf: v.state.self_deaf,
                self_video: v.state.self_video,
                self_stream: v.state.self_stream,
                server: VoiceServer {
                    node: v.node.clone(),
                    endpoint: v.endpoint.clone(),
                },
            };
            self.adopt_voice_state(state);
        }
    }
}
