//! Calls in DMs and group DMs: op 4 with no guild and the DM's id.
//!
//! A call's voice states live in the same registry as a guild's, keyed by
//! the DM channel's id where a guild's id would be (as the voice gateway's
//! `server_id` is for a DM call), so voice tokens, the SFU room, the media
//! plane and the end of a state on a session's end or a lost participant
//! work unchanged. What differs is admission (the recipients, who are
//! people: Discord neither rings bots nor lets them into DM calls), and the
//! audience: a call's events go to each recipient as
//! [`Event::Direct`], as a DM's messages do.
//!
//! The call itself — who is rung — is a [`CallRecord`] from the first join
//! to the last leave. The first join rings every other recipient
//! (CALL_CREATE); a recipient stops ringing by joining, by declining
//! (`POST /channels/{id}/call/stop-ringing`), or after `call_ring` (60 s
//! unless the operator says otherwise); the
//! last leave ends the call (CALL_DELETE). A user is in one call at a time:
//! joining another leaves the first.
//!
//! In a cluster every node that holds a session of a recipient hears the
//! call's events, and mirrors the call from those another node sent: its
//! states (so the call ends only when its last participant anywhere
//! leaves) and its ringing.
//!
//! Locking: every change runs under `VoiceStates::changing`, as voice
//! states do; the records' own lock is brief and never held while
//! publishing.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use hearth_bus::sfu_registry::RoomRef;
use hearth_model::{PrivateChannelType, Snowflake};
use hearth_proto::events::{Call, DirectEvent, Event};
use hearth_proto::gateway::{self as wire, VoiceStateUpdate};
use hearth_store::StoreError;

use crate::gateway::Gateway;
use crate::media::VoiceServer;
use crate::session::Session;
use crate::voice::VoiceState;

/// What a call leaves in its channel's history (Discord's call message,
/// type 3), written by the REST side, which writes every message.
pub trait CallLog: Send + Sync {
    /// `caller` started a call in `channel`: the id its message will have
    /// (written in the background).
    fn started(&self, channel: Snowflake, caller: Snowflake) -> Snowflake;
    /// The call whose message is `message` ended, with these participants.
    fn ended(&self, channel: Snowflake, message: Snowflake, participants: Vec<Snowflake>);
}

/// A call from its first join to its last leave, as this node knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// The channel's recipients who are people: whom its events reach.
    pub recipients: Vec<Snowflake>,
    pub region: Option<String>,
    pub ringing: BTreeSet<Snowflake>,
    /// The call's message, when the node writes them.
    pub message_id: Option<Snowflake>,
    /// Everyone who joined, for the message at the end.
    pub participants: BTreeSet<Snowflake>,
    /// States other nodes hold, with the holding node.
    pub remote: HashMap<Snowflake, (String, wire::VoiceState)>,
    /// When the latest ring ends (a ring from this node).
    ring_until: Option<tokio::time::Instant>,
    /// Whether a timer is waiting for `ring_until`: one per call, however
    /// often it is rung.
    ring_timer: bool,
}

impl CallRecord {
    fn wire(&self, channel_id: Snowflake) -> Call {
        Call {
            channel_id,
            message_id: self.message_id,
            region: self.region.clone(),
            ringing: self.ringing.iter().copied().collect(),
        }
    }
}

/// The calls this node knows of, by DM channel.
#[derive(Debug, Default)]
pub struct Calls {
    records: Mutex<HashMap<Snowflake, CallRecord>>,
}

impl Calls {
    fn records(&self) -> MutexGuard<'_, HashMap<Snowflake, CallRecord>> {
        // Each critical section leaves the map consistent.
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The call in the channel, if there is one.
    pub fn get(&self, channel: Snowflake) -> Option<CallRecord> {
        self.records().get(&channel).cloned()
    }
}

/// Why a change of ringing was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingRefusal {
    /// No call in the channel (as this node knows).
    NoCall,
}

/// Op 4 with no guild: join (or change one's flags in) the call of the DM
/// `channel_id`, or, with no channel, leave the call one is in. A refusal
/// is silent, as for guild voice channels.
pub async fn update_call_state(
    gw: &Gateway,
    session: &Session,
    update: VoiceStateUpdate,
) -> Result<(), StoreError> {
    let user = session.user.id;
    let Some(channel_id) = update.channel_id else {
        gw.leave_calls_of(session, None);
        return Ok(());
    };
    if session.user.bot || !session.holds_dms() {
        tracing::debug!(session = %session.id, "op 4 for a DM call from a bot or a shard without DMs: ignored");
        return Ok(());
    }
    let Some(channel) = gw.store.private_channel(channel_id).await? else {
        return Ok(());
    };
    if !channel.is_recipient(user) {
        return Ok(());
    }
    // A DM call follows the DM's rule for messages: the two still share
    // a guild that lets them DM, and neither blocks the other.
    if channel.kind == PrivateChannelType::Dm {
        for other in channel.recipients.iter().filter(|u| u.id != user) {
            if !gw.store.share_a_guild(user, other.id).await?
                || gw.store.blocked_between(user, other.id).await?
            {
                return Ok(());
            }
        }
    }
    let people: Vec<Snowflake> = channel
        .recipients
        .iter()
        .filter(|u| !u.bot)
        .map(|u| u.id)
        .collect();
    let room = RoomRef {
        guild: channel_id,
        channel: channel_id,
    };
    let region = session.region.as_deref();
    let server = match gw.voice_server(room, None, region).await {
        Ok(server) => server,
        Err(e) => {
            let current = gw
                .voice
                .registry()
                .get(channel_id, user)
                .map(|s| s.server.clone());
            match current {
                Some(server) => server,
                None => {
                    tracing::warn!(channel = %channel_id, error = %e, "op 4 refused: no SFU node for the call");
                    return Ok(());
                }
            }
        }
    };
    gw.join_call(session, people, channel_id, &update, server);
    Ok(())
}

impl Gateway {
    /// Where calls write their messages (the node wires the REST side in).
    pub fn set_call_log(&self, log: std::sync::Arc<dyn CallLog>) {
        let _ = self.call_log.set(log);
    }

    /// Joins the session's user to the call (under `changing`).
    fn join_call(
        &self,
        session: &Session,
        people: Vec<Snowflake>,
        channel_id: Snowflake,
        update: &VoiceStateUpdate,
        server: VoiceServer,
    ) {
        let user = session.user.id;
        let _changing = self.voice.changing();
        if session.is_ended() {
            return;
        }
        let next = VoiceState {
            guild_id: channel_id,
            channel_id,
            user_id: user,
            session_id: session.id.clone(),
            member: None,
            self_mute: update.self_mute,
            self_deaf: update.self_deaf,
            self_video: update.self_video,
            self_stream: update.self_stream,
            server,
        };
        let current = self.voice.registry().get(channel_id, user).cloned();
        let same_connection = current
            .as_ref()
            .is_some_and(|c| c.session_id == session.id && c.server == next.server);
        if same_connection && current.as_ref() != Some(&next) {
            // A change of self_* flags: the connection keeps its token.
            self.voice.registry().set(next.clone());
            self.publish_voice_state(channel_id, next.joined());
            return;
        }
        // Otherwise a join, or the same request again for a fresh token
        // (as for guild voice).
        // One call at a time: the one the user was in ends for them.
        self.leave_other_calls(user, channel_id);
        let region = session.region.clone();
        let mut started = None;
        let mut rung_off = false;
        {
            let mut records = self.calls.records();
            match records.get_mut(&channel_id) {
                Some(record) => {
                    record.recipients = people;
                    record.participants.insert(user);
                    rung_off = record.ringing.remove(&user);
                }
                None => {
                    let ringing = people.iter().copied().filter(|p| *p != user).collect();
                    let message_id = self.call_log.get().map(|log| log.started(channel_id, user));
                    let record = CallRecord {
                        recipients: people,
                        region,
                        ringing,
                        message_id,
                        participants: BTreeSet::from([user]),
                        remote: HashMap::new(),
                        ring_until: None,
                        ring_timer: false,
                    };
                    started = Some(record.clone());
                    records.insert(channel_id, record);
                }
            }
        }
        self.voice.registry().set(next.clone());
        if let Some(record) = &started {
            let call = record.wire(channel_id);
            let node = self.config.node_name.clone();
            self.to_recipients(&record.recipients, || DirectEvent::CallCreate {
                call: call.clone(),
                voice_states: vec![next.joined()],
                recipients: record.recipients.clone(),
                node: node.clone(),
            });
            self.ring_for_a_while(channel_id);
        }
        self.publish_voice_state(channel_id, next.joined());
        if rung_off {
            self.call_updated(channel_id);
        }
        self.send_to(
            session,
            "VOICE_SERVER_UPDATE",
            serde_json::json!(self.voice_server_update(&next)),
        );
        tracing::debug!(session = %session.id, channel = %channel_id, "joined a DM call");
    }

    /// Ends the user's states in calls other than `except` (under
    /// `changing`).
    fn leave_other_calls(&self, user: Snowflake, except: Snowflake) {
        let gone = self.voice.registry().remove_calls_of(user, Some(except));
        self.announce_left(gone);
    }

    /// Op 4 `{guild_id: null, channel_id: null}`: the session's user leaves
    /// their call. Or a recipient left the channel `only`: their state in
    /// its call ends.
    pub(crate) fn leave_calls_of(&self, session: &Session, only: Option<Snowflake>) {
        let _changing = self.voice.changing();
        let gone = {
            let mut registry = self.voice.registry();
            match only {
                Some(channel) => registry
                    .remove(channel, session.user.id)
                    .into_iter()
                    .collect(),
                None => registry.remove_calls_of(session.user.id, None),
            }
        };
        self.announce_left(gone);
    }

    /// A recipient left or was removed from a group DM (or closed a DM):
    /// they are out of its call, and no longer hear of it.
    pub(crate) fn recipient_gone(&self, channel: Snowflake, user: Snowflake) {
        let _changing = self.voice.changing();
        let rung_off = match self.calls.records().get_mut(&channel) {
            Some(record) => {
                record.recipients.retain(|r| *r != user);
                record.ringing.remove(&user)
            }
            None => false,
        };
        if rung_off {
            self.call_updated(channel);
        }
        let gone = self.voice.registry().remove(channel, user);
        self.announce_left(gone.into_iter().collect());
    }

    /// A state in a call changed here: its recipients hear of it; a leave
    /// may end the call (under `changing`).
    pub(crate) fn publish_call_state(&self, channel: Snowflake, state: wire::VoiceState) {
        let Some(record) = self.calls.get(channel) else {
            return;
        };
        let ends_call = state.channel_id.is_none() && self.call_is_empty(channel);
        let node = self.config.node_name.clone();
        self.to_recipients(&record.recipients, || DirectEvent::VoiceStateUpdate {
            state: state.clone(),
            node: node.clone(),
            ends_call,
        });
        if ends_call {
            self.end_call(channel);
        }
    }

    /// Whether nobody, on any node, is in the call as this node knows.
    fn call_is_empty(&self, channel: Snowflake) -> bool {
        self.voice.registry().in_guild(channel).is_empty()
            && self
                .calls
                .records()
                .get(&channel)
                .is_none_or(|r| r.remote.is_empty())
    }

    /// The call is over: CALL_DELETE (under `changing`).
    fn end_call(&self, channel: Snowflake) {
        let ended = self.calls.records().remove(&channel);
        if let Some(record) = ended {
            if let (Some(log), Some(message)) = (self.call_log.get(), record.message_id) {
                log.ended(
                    channel,
                    message,
                    record.participants.iter().copied().collect(),
                );
            }
            let node = self.config.node_name.clone();
            self.to_recipients(&record.recipients, || DirectEvent::CallDelete {
                channel_id: channel,
                node: node.clone(),
            });
            tracing::debug!(%channel, "DM call ended");
        }
    }

    /// Rings `who` (every recipient not in the call when `None`) again.
    pub fn ring(&self, channel: Snowflake, who: Option<&[Snowflake]>) -> Result<(), RingRefusal> {
        let _changing = self.voice.changing();
        let in_call: Vec<Snowflake> = self
            .voice
            .registry()
            .in_guild(channel)
            .iter()
            .map(|s| s.user_id)
            .collect();
        {
            let mut records = self.calls.records();
            let record = records.get_mut(&channel).ok_or(RingRefusal::NoCall)?;
            let rung: Vec<Snowflake> = record
                .recipients
                .iter()
                .copied()
                .filter(|r| who.is_none_or(|w| w.contains(r)))
                .filter(|r| !in_call.contains(r) && !record.remote.contains_key(r))
                .collect();
            record.ringing.extend(rung);
        }
        self.call_updated(channel);
        self.ring_for_a_while(channel);
        Ok(())
    }

    /// Stops ringing `who`: a recipient declining, or the caller giving up.
    pub fn stop_ringing(&self, channel: Snowflake, who: &[Snowflake]) -> Result<(), RingRefusal> {
        let _changing = self.voice.changing();
        let changed = {
            let mut records = self.calls.records();
            let record = records.get_mut(&channel).ok_or(RingRefusal::NoCall)?;
            let before = record.ringing.len();
            record.ringing.retain(|r| !who.contains(r));
            record.ringing.len() != before
        };
        if changed {
            self.call_updated(channel);
        }
        Ok(())
    }

    /// Ringing stops `call_ring` after the latest ring (under `changing`).
    /// One timer per call, moved on by each ring, so ringing again and
    /// again holds one task.
    fn ring_for_a_while(&self, channel: Snowflake) {
        let Some(gw) = self.me.upgrade() else { return };
        // Tests on a runtime-less gateway never ring.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let until = tokio::time::Instant::now() + self.config.call_ring;
        {
            let mut records = self.calls.records();
            let Some(record) = records.get_mut(&channel) else {
                return;
            };
            record.ring_until = Some(until);
            if std::mem::replace(&mut record.ring_timer, true) {
                return;
            }
        }
        runtime.spawn(async move {
            let mut until = until;
            loop {
                tokio::time::sleep_until(until).await;
                let _changing = gw.voice.changing();
                let cleared = {
                    let mut records = gw.calls.records();
                    let Some(r) = records.get_mut(&channel) else {
                        return;
                    };
                    match r.ring_until {
                        Some(later) if later > until => {
                            until = later;
                            continue;
                        }
                        _ => {}
                    }
                    r.ring_timer = false;
                    r.ring_until = None;
                    !std::mem::take(&mut r.ringing).is_empty()
                };
                if cleared {
                    gw.call_updated(channel);
                }
                return;
            }
        });
    }

    /// CALL_UPDATE with who is rung now (under `changing`).
    fn call_updated(&self, channel: Snowflake) {
        let Some(record) = self.calls.get(channel) else {
            return;
        };
        let call = record.wire(channel);
        let node = self.config.node_name.clone();
        self.to_recipients(&record.recipients, || DirectEvent::CallUpdate {
            call: call.clone(),
            node: node.clone(),
        });
    }

    fn to_recipients(&self, recipients: &[Snowflake], event: impl Fn() -> DirectEvent) {
        for recipient in recipients {
            self.bus.publish(Event::Direct {
                recipient: *recipient,
                event: event(),
            });
        }
    }

    /// A call's event from another node, as the fan-out met it: the
    /// call's mirror here follows. Applied once per recipient it reached
    /// here; each application is idempotent.
    pub(crate) fn call_event_heard(&self, event: &DirectEvent) {
        let mine = self.config.node_name.as_str();
        let _changing = match event {
            DirectEvent::CallCreate { node, .. }
            | DirectEvent::CallUpdate { node, .. }
            | DirectEvent::CallDelete { node, .. }
            | DirectEvent::VoiceStateUpdate { node, .. }
                if node != mine =>
            {
                self.voice.changing()
            }
            _ => return,
        };
        match event {
            DirectEvent::CallCreate {
                call,
                voice_states,
                recipients,
                node,
            } => {
                let mut records = self.calls.records();
                let record = records
                    .entry(call.channel_id)
                    .or_insert_with(|| CallRecord {
                        recipients: recipients.clone(),
                        region: call.region.clone(),
                        ringing: BTreeSet::new(),
                        message_id: call.message_id,
                        participants: BTreeSet::new(),
                        remote: HashMap::new(),
                        ring_until: None,
                        ring_timer: false,
                    });
                record.ringing = call.ringing.iter().copied().collect();
                for s in voice_states {
                    record.participants.insert(s.user_id);
                    record.remote.insert(s.user_id, (node.clone(), s.clone()));
                }
            }
            DirectEvent::CallUpdate { call, .. } => {
                if let Some(record) = self.calls.records().get_mut(&call.channel_id) {
                    record.ringing = call.ringing.iter().copied().collect();
                }
            }
            DirectEvent::CallDelete { channel_id, .. } => {
                // Ended there: nobody was left in it as that node knew it,
                // so nobody here is either, unless a join here raced it.
                let local = !self.voice.registry().in_guild(*channel_id).is_empty();
                if !local {
                    self.calls.records().remove(channel_id);
                }
            }
            DirectEvent::VoiceStateUpdate {
                state,
                node,
                ends_call,
            } => {
                let Some(channel) = state.channel_id.or(self.call_of_remote(state)) else {
                    return;
                };
                if state.channel_id.is_some() {
                    // Taken over by a session on another node.
                    self.voice.registry().remove(channel, state.user_id);
                }
                {
                    let mut records = self.calls.records();
                    let Some(record) = records.get_mut(&channel) else {
                        return;
                    };
                    if state.channel_id.is_some() {
                        record.ringing.remove(&state.user_id);
                        record.participants.insert(state.user_id);
                        record
                            .remote
                            .insert(state.user_id, (node.clone(), state.clone()));
                        return;
                    }
                    let held_there = record
                        .remote
                        .get(&state.user_id)
                        .is_some_and(|(holder, _)| holder == node);
                    if !held_there {
                        return;
                    }
                    record.remote.remove(&state.user_id);
                }
                // That node thought others were still in the call; if they
                // left meanwhile, nobody else will end it.
                if !ends_call && self.call_is_empty(channel) {
                    self.end_call(channel);
                }
            }
            _ => {}
        }
    }

    /// What a DM's event delivered here means for its call: a recipient
    /// who left or was removed is out of it, one added hears of it, and
    /// another node's call events keep the mirror here current.
    pub(crate) fn direct_heard(&self, recipient: Snowflake, event: &DirectEvent) {
        match event {
            DirectEvent::RecipientRemove { channel_id, user } => {
                self.recipient_gone(*channel_id, user.id)
            }
            // Leaving a group DM; closing a DM only hides it, and its
            // user stays a recipient, so they still hear of its calls.
            DirectEvent::ChannelDelete(channel) if channel.kind == PrivateChannelType::GroupDm => {
                self.recipient_gone(channel.id, recipient)
            }
            DirectEvent::ChannelDelete(channel) => {
                let _changing = self.voice.changing();
                let gone = self.voice.registry().remove(channel.id, recipient);
                self.announce_left(gone.into_iter().collect());
            }
            DirectEvent::RecipientAdd { channel_id, user } if !user.bot => {
                let _changing = self.voice.changing();
                if let Some(record) = self.calls.records().get_mut(channel_id) {
                    if !record.recipients.contains(&user.id) {
                        record.recipients.push(user.id);
                    }
                }
            }
            _ if event.for_people_only() => self.call_event_heard(event),
            _ => {}
        }
    }

    /// The call a remote participant's leave is about: the one this node
    /// saw them in (a leave names no channel).
    fn call_of_remote(&self, state: &wire::VoiceState) -> Option<Snowflake> {
        self.calls
            .records()
            .iter()
            .find(|(_, r)| r.remote.contains_key(&state.user_id))
            .map(|(c, _)| *c)
    }

    /// The nodes holding states in the calls this node mirrors.
    pub(crate) fn call_nodes(&self) -> Vec<String> {
        self.calls
            .records()
            .values()
            .flat_map(|r| r.remote.values().map(|(node, _)| node.clone()))
            .collect()
    }

    /// The nodes `gone` are gone: their participants left the calls this
    /// node mirrors, as its sessions hear (nothing is published but the
    /// calls' ends).
    pub(crate) fn calls_lose_nodes(&self, gone: &[String]) {
        let orphans: Vec<(Vec<Snowflake>, String, wire::VoiceState)> = self
            .calls
            .records()
            .values()
            .flat_map(|r| {
                r.remote
                    .values()
                    .filter(|(node, _)| gone.contains(node))
                    .map(|(node, s)| (r.recipients.clone(), node.clone(), s.clone()))
            })
            .collect();
        for (recipients, node, state) in orphans {
            let left = wire::VoiceState {
                channel_id: None,
                ..state
            };
            for recipient in recipients {
                hearth_bus::Receiver::deliver(
                    self,
                    std::sync::Arc::new(Event::Direct {
                        recipient,
                        event: DirectEvent::VoiceStateUpdate {
                            state: left.clone(),
                            node: node.clone(),
                            ends_call: false,
                        },
                    }),
                    // Made here, for here: no node's order to keep.
                    hearth_proto::events::EventId {
                        origin: 0,
                        counter: 0,
                    },
                );
            }
        }
    }

    /// The calls in channels the user is a recipient of, for CALL_CREATE
    /// after READY: one in progress shows as the user reconnects.
    pub(crate) fn calls_for(&self, channels: &[Snowflake]) -> Vec<serde_json::Value> {
        let node = self.config.node_name.clone();
        channels
            .iter()
            .filter_map(|c| {
                let record = self.calls.get(*c)?;
                let mut voice_states: Vec<wire::VoiceState> = self
                    .voice
                    .registry()
                    .in_guild(*c)
                    .iter()
                    .map(|s| s.joined())
                    .collect();
                voice_states.extend(record.remote.values().map(|(_, s)| s.clone()));
                voice_states.sort_by_key(|s| s.user_id);
                let event = DirectEvent::CallCreate {
                    call: record.wire(*c),
                    voice_states,
                    recipients: record.recipients.clone(),
                    node: node.clone(),
                };
                let d = event.d_json().ok()?;
                serde_json::from_slice(&d).ok()
            })
            .collect()
    }
}
