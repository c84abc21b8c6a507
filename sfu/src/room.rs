//! A voice channel's participants and the decisions of forwarding: who
//! publishes which tracks, which outgoing m-line of each subscriber carries
//! which track, what may flow (mute, deaf, SPEAK), speaking and keyframes.
//!
//! The room drives str0m `Rtc`s but does no IO: what must go on the wire,
//! and when each participant next needs time to pass, is handed to a
//! [`MediaIo`], so the worker sends it on its UDP socket and keeps a timer
//! heap, and tests route it through memory in simulated time.

use std::collections::HashMap;
use std::time::Instant;

use hearth_model::Snowflake;
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::PayloadParams;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid, Pt};
use str0m::net::Transmit;
use str0m::rtp::{RtpWrite, Ssrc};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use tokio::sync::mpsc::UnboundedSender;

use crate::keyframes::KeyframeThrottle;
use crate::metrics::WorkerMetrics;
use crate::payload_type::subscriber_pt;
use crate::simulcast::{Incoming, Layers, OutTrack, Quality, Verdict};
use crate::speaking::SpeakingDetector;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub u64);

/// Where a room's work goes.
pub trait MediaIo {
    /// A datagram for the wire.
    fn transmit(&mut self, t: Transmit);
    /// The participant's `Rtc` wants time to pass at `at`: call
    /// [`Room::timer`] with the same `at` then. Only told when the deadline
    /// moves earlier than one already asked for: a packet that leaves the
    /// deadline where it was costs no timer work, and a worker's queue holds
    /// a few entries per participant however long the call.
    fn wake_at(&mut self, _id: ParticipantId, _at: Instant) {}
    /// The participant has packets waiting to leave: give it a timeout
    /// (`Room::input` with `Input::Timeout`) once the datagrams at hand are
    /// handled, before sleeping. Told once until that timeout.
    fn wake_soon(&mut self, _id: ParticipantId) {}
}

/// A plain callback only transmits (tests poll `next_timeout` themselves).
impl<F: FnMut(Transmit)> MediaIo for F {
    fn transmit(&mut self, t: Transmit) {
        self(t)
    }
}

/// A voice channel, as rooms are keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomKey {
    pub guild: Snowflake,
    pub channel: Snowflake,
}

/// What may flow from and to a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    pub self_mute: bool,
    pub self_deaf: bool,
    /// Server mute (a moderator's).
    pub mute: bool,
    /// Server deafen.
    pub deaf: bool,
    /// Whether the member has SPEAK in the channel.
    pub can_speak: bool,
}

impl Flags {
    pub fn sends_audio(&self) -> bool {
        self.can_speak && !self.self_mute && !self.mute
    }

    /// Whether others' media of this kind reaches the participant: one
    /// deafened hears nobody but still sees their video, as on Discord.
    pub fn receives(&self, kind: MediaKind) -> bool {
        kind == MediaKind::Video || (!self.self_deaf && !self.deaf)
    }
}

/// A track another participant publishes, as a subscriber's m-line carries it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrackInfo {
    pub mid: String,
    pub user_id: Snowflake,
    pub kind: &'static str,
    /// How many simulcast layers the publisher sends (absent for one): a
    /// client may then ask for a quality with op 42.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<usize>,
    /// What the track shows: a publisher's first track of a kind is its
    /// `camera` or `microphone`, a later one its `screen` or `screen_audio`
    /// (a client publishes a screen share as its second video m-line).
    pub source: &'static str,
}

/// The name of a publisher's `ordinal`-th track of `kind` (from 0).
fn source_name(kind: MediaKind, ordinal: usize) -> &'static str {
    match (kind, ordinal) {
        (MediaKind::Audio, 0) => "microphone",
        (MediaKind::Video, 0) => "camera",
        (MediaKind::Audio, _) => "screen_audio",
        (MediaKind::Video, _) => "screen",
    }
}

/// What the room tells a participant's voice WebSocket.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerEvent {
    /// A renegotiation: answer it with `Command::Answer`.
    Offer {
        sdp: String,
        tracks: Vec<TrackInfo>,
    },
    ClientsConnect(Vec<Snowflake>),
    ClientDisconnect(Snowflake),
    Speaking {
        user: Snowflake,
        ssrc: u32,
        speaking: bool,
    },
    /// ICE or DTLS failed; the call is over for this participant.
    Failed,
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
    }
}

#[derive(Debug)]
struct Published {
    kind: MediaKind,
    ssrc: Option<Ssrc>,
    speaking: SpeakingDetector,
    keyframes: KeyframeThrottle,
    /// Its simulcast layers (none or one: a single stream).
    layers: Layers,
    /// How many of the publisher's tracks of its kind came before it.
    ordinal: usize,
}

/// What an outgoing m-line carries, for op 40's tracks table.
#[derive(Debug, Clone, Copy)]
struct OutKind {
    kind: MediaKind,
    layers: usize,
    ordinal: usize,
}

/// A track a subscriber receives, as its outgoing m-line sends it.
#[derive(Debug)]
struct OutLine {
    out: Mid,
    /// The publisher's payload type → ours for it on this m-line (`None`
    /// if we did not negotiate the codec): worked out on the first packet
    /// of each, not per packet. A handful at most, so a list.
    pts: Vec<(Pt, Option<Pt>)>,
    /// The SSRC of the m-line's send stream: str0m finds a stream by SSRC
    /// in a map, by mid only by a scan over all of them.
    ssrc: Option<Ssrc>,
    /// The layer forwarded and the numbering of what left: kept across
    /// renegotiations (the stream goes on).
    track: OutTrack,
}

impl OutLine {
    fn new(out: Mid) -> OutLine {
        OutLine {
            out,
            pts: Vec::new(),
            ssrc: None,
            track: OutTrack::default(),
        }
    }

    /// A renegotiation may have changed payload types and streams.
    fn renegotiated(&mut self) {
        self.pts.clear();
        self.ssrc = None;
    }

    /// The payload type to send a publisher's packets (sent as `src`) with.
    fn pt_for(&mut self, rtc: &Rtc, src: &PayloadParams) -> Option<Pt> {
        if let Some((_, pt)) = self.pts.iter().find(|(p, _)| *p == src.pt()) {
            return *pt;
        }
        // Not cached before the m-line is negotiated: its payload types come
        // with the answer.
        let pt = subscriber_pt(rtc, self.out, src)?;
        self.pts.push((src.pt(), pt));
        pt
    }

    /// Writes to the m-line's send stream; false if it has none (not
    /// negotiated yet).
    fn write(&mut self, rtc: &mut Rtc, write: RtpWrite) -> bool {
        let mut api = rtc.direct_api();
        if let Some(tx) = self.ssrc.and_then(|s| api.stream_tx(&s)) {
            tx.write_rtp(write);
            return true;
        }
        let Some(tx) = api.stream_tx_by_mid(self.out, None) else {
            return false;
        };
        self.ssrc = Some(tx.ssrc());
        tx.write_rtp(write);
        true
    }
}

/// A change to a subscriber's outgoing m-lines, waiting for negotiation.
#[derive(Debug)]
enum Change {
    Add {
        from: ParticipantId,
        user: Snowflake,
        mid: Mid,
        kind: MediaKind,
        layers: usize,
        /// Which of the publisher's tracks of this kind it is.
        ordinal: usize,
    },
    Stop {
        out: Mid,
        kind: MediaKind,
    },
}

pub struct Participant {
    pub id: ParticipantId,
    pub user: Snowflake,
    pub session_id: String,
    pub rtc: Rtc,
    pub flags: Flags,
    events: UnboundedSender<PeerEvent>,
    published: HashMap<Mid, Published>,
    /// An incoming stream's track and simulcast layer.
    ssrc_mid: HashMap<Ssrc, (Mid, Option<usize>)>,
    /// Outgoing m-line → the track it carries (publisher, their mid).
    outgoing: HashMap<Mid, (ParticipantId, Mid)>,
    /// What each outgoing m-line carries, for the tracks table of op 40
    /// (known before str0m's media exists: it appears once negotiated).
    out_kinds: HashMap<Mid, OutKind>,
    /// Per track received, by its source (publisher, their mid): the
    /// outgoing m-line carrying it and what forwarding to it needs, in one
    /// place so a forwarded copy costs one lookup.
    lines: HashMap<(ParticipantId, Mid), OutLine>,
    pending: Option<SdpPendingOffer>,
    changes: Vec<Change>,
    /// Outgoing m-lines made inactive by the offer in flight: idle once
    /// it is answered.
    stopping: Vec<(Mid, MediaKind)>,
    /// Inactive outgoing m-lines, negotiated as such: the next track of
    /// their kind goes out on one of them rather than on a new m-line, so
    /// a subscriber's session does not grow with every leave and rejoin.
    idle: Vec<(Mid, MediaKind)>,
    /// The numbering each idle m-line's next track continues from.
    retired: HashMap<Mid, OutTrack>,
    /// Out mids whose track needs a keyframe once negotiated.
    want_keyframe: Vec<Mid>,
    pub next_timeout: Instant,
    /// The earliest wake-up asked of the `MediaIo` and not yet fired.
    scheduled: Option<Instant>,
    /// Asked for a timeout soon (`MediaIo::wake_soon`) and not given one yet.
    soon: bool,
    /// NACKs counted so far per stream (str0m's stats are cumulative):
    /// `(mid, true)` for those we sent to the publisher, `(mid, false)` for
    /// those the subscriber sent us.
    nacks: HashMap<(Mid, bool), u64>,
    pub failed: bool,
}

impl Participant {
    pub fn new(
        id: ParticipantId,
        user: Snowflake,
        session_id: String,
        rtc: Rtc,
        flags: Flags,
        events: UnboundedSender<PeerEvent>,
        now: Instant,
    ) -> Self {
        Participant {
            id,
            user,
            session_id,
            rtc,
            flags,
            events,
            published: HashMap::new(),
            ssrc_mid: HashMap::new(),
            outgoing: HashMap::new(),
            out_kinds: HashMap::new(),
            lines: HashMap::new(),
            pending: None,
            changes: Vec::new(),
            stopping: Vec::new(),
            idle: Vec::new(),
            retired: HashMap::new(),
            want_keyframe: Vec::new(),
            next_timeout: now,
            scheduled: None,
            soon: false,
            nacks: HashMap::new(),
            failed: false,
        }
    }

    pub fn events_sender(&self) -> &UnboundedSender<PeerEvent> {
        &self.events
    }

    /// The track an outgoing m-line carries.
    fn line(&self, out: Mid) -> Option<&OutLine> {
        self.lines.get(self.outgoing.get(&out)?)
    }

    fn line_mut(&mut self, out: Mid) -> Option<&mut OutLine> {
        let source = self.outgoing.get(&out)?;
        self.lines.get_mut(source)
    }

    fn tell(&self, e: PeerEvent) {
        // The WebSocket task may be gone; the worker removes us soon then.
        let _ = self.events.send(e);
    }

    /// Starts a renegotiation if changes wait and none is in flight.
    fn negotiate(&mut self, users: &HashMap<ParticipantId, Snowflake>) {
        if self.pending.is_some() || self.changes.is_empty() {
            return;
        }
        let changes = std::mem::take(&mut self.changes);
        // An idle m-line of the track's kind carries it if there is one
        // (RFC 8829 §5.2.2 recycles only stopped m-lines, under a new mid,
        // which str0m does not offer): made send-only again, with a new
        // SSRC, so the subscriber's decoder and SRTP context start afresh
        // rather than continuing the previous track's numbering.
        let mut plan = Vec::with_capacity(changes.len());
        for c in changes {
            let reuse = match &c {
                Change::Add { from, kind, .. } if users.contains_key(from) => self
                    .idle
                    .iter()
                    .position(|(_, k)| k == kind)
                    .map(|i| self.idle.swap_remove(i).0),
                _ => None,
            };
            if let (Some(out), Change::Add { kind, .. }) = (reuse, &c) {
                // A new send stream rather than `reset_stream_tx`, which
                // leaves str0m's map of streams keyed by the old SSRC.
                let declared = self.rtc.media(out).is_some();
                let mut api = self.rtc.direct_api();
                if let Some(old) = api.stream_tx_by_mid(out, None).map(|s| s.ssrc()) {
                    api.remove_stream_tx(old);
                }
                let ssrc = api.new_ssrc();
                let rtx = (*kind == MediaKind::Video).then(|| api.new_ssrc());
                if declared {
                    api.declare_stream_tx(ssrc, rtx, out, None);
                }
            }
            plan.push((c, reuse));
        }
        let mut api = self.rtc.sdp_api();
        let mut added = Vec::new();
        for (c, reuse) in plan {
            match c {
                Change::Add {
                    from,
                    user,
                    mid,
                    kind,
                    layers,
                    ordinal,
                } => {
                    if !users.contains_key(&from) {
                        continue;
                    }
                    let out = match reuse {
                        Some(out) => {
                            api.set_direction(out, Direction::SendOnly);
                            out
                        }
                        // The track id names the join (and a second track
                        // of a kind, the screen), not only the user: Chrome
                        // refuses an offer in which two m-lines carry the
                        // same msid.
                        None => api.add_media(
                            kind,
                            Direction::SendOnly,
                            Some(user.to_string()),
                            Some(match ordinal {
                                0 => format!("{user}-{}-{}", kind_name(kind), from.0),
                                n => format!("{user}-{}-{}-{n}", kind_name(kind), from.0),
                            }),
                            None,
                        ),
                    };
                    added.push((
                        out,
                        from,
                        mid,
                        OutKind {
                            kind,
                            layers,
                            ordinal,
                        },
                    ));
                }
                Change::Stop { out, kind } => {
                    api.set_direction(out, Direction::Inactive);
                    self.stopping.push((out, kind));
                }
            }
        }
        let Some((offer, pending)) = api.apply() else {
            // Nothing changed on the wire: nothing to wait for either.
            let stopped = std::mem::take(&mut self.stopping);
            self.idle.extend(stopped);
            return;
        };
        for (out, from, mid, kind) in &added {
            self.outgoing.insert(*out, (*from, *mid));
            self.out_kinds.insert(*out, *kind);
            let mut line = OutLine::new(*out);
            if let Some(track) = self.retired.remove(out) {
                line.track = track;
            }
            self.lines.insert((*from, *mid), line);
            if kind.kind == MediaKind::Video {
                self.want_keyframe.push(*out);
            }
        }
        self.pending = Some(pending);
        let tracks = self
            .outgoing
            .iter()
            .filter_map(|(out, (from, _))| {
                let user = users.get(from)?;
                let kind = *self.out_kinds.get(out)?;
                Some(TrackInfo {
                    mid: out.to_string(),
                    user_id: *user,
                    kind: kind_name(kind.kind),
                    layers: (kind.layers > 1).then_some(kind.layers),
                    source: source_name(kind.kind, kind.ordinal),
                })
            })
            .collect();
        self.tell(PeerEvent::Offer {
            sdp: offer.to_sdp_string(),
            tracks,
        });
    }
}

/// What the worker must do after the room handled something.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Participants to remove (failed, or gone).
    pub failed: Vec<ParticipantId>,
}

pub struct Room {
    pub key: RoomKey,
    participants: HashMap<ParticipantId, Participant>,
    metrics: WorkerMetrics,
}

impl Room {
    pub fn new(key: RoomKey) -> Self {
        Self::with_metrics(key, WorkerMetrics::default())
    }

    /// A room counting into its worker's series.
    pub fn with_metrics(key: RoomKey, metrics: WorkerMetrics) -> Self {
        Room {
            key,
            participants: HashMap::new(),
            metrics,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.participants.is_empty()
    }

    pub fn len(&self) -> usize {
        self.participants.len()
    }

    pub fn participant(&self, id: ParticipantId) -> Option<&Participant> {
        self.participants.get(&id)
    }

    pub fn participant_mut(&mut self, id: ParticipantId) -> Option<&mut Participant> {
        self.participants.get_mut(&id)
    }

    pub fn ids(&self) -> Vec<ParticipantId> {
        self.participants.keys().copied().collect()
    }

    fn users(&self) -> HashMap<ParticipantId, Snowflake> {
        self.participants
            .iter()
            .map(|(id, p)| (*id, p.user))
            .collect()
    }

    /// Adds a participant whose offer was accepted; subscribes it to what
    /// the others publish and tells everyone who is here.
    pub fn join(&mut self, p: Participant) {
        let others: Vec<Snowflake> = self.participants.values().map(|o| o.user).collect();
        for o in self.participants.values() {
            o.tell(PeerEvent::ClientsConnect(vec![p.user]));
        }
        if !others.is_empty() {
            p.tell(PeerEvent::ClientsConnect(others));
        }
        // Speaking is told on changes only: a newcomer must hear who is
        // speaking already, or someone who never pauses stays unlit for them.
        for o in self.participants.values() {
            for t in o.published.values().filter(|t| t.speaking.speaking()) {
                p.tell(PeerEvent::Speaking {
                    user: o.user,
                    ssrc: t.ssrc.map(|s| *s).unwrap_or(0),
                    speaking: true,
                });
            }
        }
        let mut p = p;
        for o in self.participants.values() {
            for (mid, t) in &o.published {
                p.changes.push(Change::Add {
                    from: o.id,
                    user: o.user,
                    mid: *mid,
                    kind: t.kind,
                    layers: t.layers.count(),
                    ordinal: t.ordinal,
                });
            }
        }
        let id = p.id;
        self.participants.insert(id, p);
        let users = self.users();
        if let Some(p) = self.participants.get_mut(&id) {
            p.negotiate(&users);
        }
    }

    /// Time passing: speakers that fell silent (or stopped sending) stop
    /// speaking.
    pub fn tick(&mut self, now: Instant) {
        let mut changes = Vec::new();
        for p in self.participants.values_mut() {
            for t in p.published.values_mut() {
                if let Some(false) = t.speaking.on_tick(now) {
                    changes.push((p.id, p.user, t.ssrc.map(|s| *s).unwrap_or(0)));
                }
            }
        }
        for (id, user, ssrc) in changes {
            for o in self.participants.values().filter(|o| o.id != id) {
                o.tell(PeerEvent::Speaking {
                    user,
                    ssrc,
                    speaking: false,
                });
            }
        }
    }

    /// Removes a participant: its tracks stop on every subscriber.
    pub fn leave(&mut self, id: ParticipantId) -> Option<Participant> {
        let gone = self.participants.remove(&id)?;
        let users = self.users();
        for o in self.participants.values_mut() {
            o.tell(PeerEvent::ClientDisconnect(gone.user));
            let outs: Vec<Mid> = o
                .outgoing
                .iter()
                .filter(|(_, (from, _))| *from == id)
                .map(|(out, _)| *out)
                .collect();
            for out in outs {
                let source = o.outgoing.remove(&out);
                if let Some(line) = source.and_then(|s| o.lines.remove(&s)) {
                    o.retired.insert(out, line.track.successor());
                }
                let Some(k) = o.out_kinds.remove(&out) else {
                    continue;
                };
                o.changes.push(Change::Stop { out, kind: k.kind });
            }
            o.lines.retain(|(from, _), _| *from != id);
            o.negotiate(&users);
        }
        Some(gone)
    }

    /// The participant's answer to the room's last offer.
    pub fn answer(
        &mut self,
        id: ParticipantId,
        answer: SdpAnswer,
        now: Instant,
        io: &mut dyn MediaIo,
    ) -> Result<Outcome, String> {
        let users = self.users();
        let p = self.participants.get_mut(&id).ok_or("not in the room")?;
        let pending = p
            .pending
            .take()
            .ok_or("no offer is waiting for an answer")?;
        p.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| e.to_string())?;
        for line in p.lines.values_mut() {
            line.renegotiated();
        }
        let stopped = std::mem::take(&mut p.stopping);
        p.idle.extend(stopped);
        p.negotiate(&users);
        let wanted = std::mem::take(&mut p.want_keyframe);
        let sources: Vec<(ParticipantId, Mid)> = wanted
            .iter()
            .filter_map(|out| p.outgoing.get(out).copied())
            .collect();
        for (from, mid) in sources {
            self.request_keyframe(from, mid, None, KeyframeRequestKind::Pli, now);
        }
        Ok(self.drive(id, now, io))
    }

    pub fn set_flags(&mut self, id: ParticipantId, flags: Flags) {
        if let Some(p) = self.participants.get_mut(&id) {
            p.flags = flags;
        }
    }

    /// Feeds a datagram (or a timeout) to one participant and handles all
    /// that follows: forwarding, renegotiation, keyframes, speaking.
    pub fn input(
        &mut self,
        id: ParticipantId,
        input: Input<'_>,
        now: Instant,
        io: &mut dyn MediaIo,
    ) -> Outcome {
        let Some(p) = self.participants.get_mut(&id) else {
            return Outcome::default();
        };
        if matches!(input, Input::Timeout(_)) {
            p.soon = false;
        }
        if let Err(e) = p.rtc.handle_input(input) {
            tracing::debug!(participant = id.0, error = %e, "rtc input failed");
            p.failed = true;
        }
        self.drive(id, now, io)
    }

    /// Polls a participant until it has nothing more to say.
    pub fn drive(&mut self, id: ParticipantId, now: Instant, io: &mut dyn MediaIo) -> Outcome {
        let mut outcome = Outcome::default();
        // Bounded: an Rtc yields a Timeout once its queues are empty.
        for _ in 0..10_000 {
            let Some(p) = self.participants.get_mut(&id) else {
                break;
            };
            if !p.rtc.is_alive() {
                p.failed = true;
            }
            if p.failed {
                outcome.failed.push(id);
                break;
            }
            let output = match p.rtc.poll_output() {
                Ok(o) => o,
                Err(e) => {
                    tracing::debug!(participant = id.0, error = %e, "rtc failed");
                    p.failed = true;
                    continue;
                }
            };
            match output {
                Output::Timeout(t) => {
                    p.next_timeout = t;
                    if p.scheduled.is_none_or(|s| t < s) {
                        p.scheduled = Some(t);
                        io.wake_at(id, t);
                    }
                    break;
                }
                Output::Transmit(t) => io.transmit(t),
                Output::Event(e) => self.on_event(id, e, now, io, &mut outcome),
            }
        }
        outcome
    }

    /// A wake-up asked for with [`MediaIo::wake_at`] is due. Stale ones
    /// (the deadline moved) are ignored; one that came early is asked for
    /// again at the participant's actual deadline.
    pub fn timer(
        &mut self,
        id: ParticipantId,
        at: Instant,
        now: Instant,
        io: &mut dyn MediaIo,
    ) -> Outcome {
        let Some(p) = self.participants.get_mut(&id) else {
            return Outcome::default();
        };
        if p.scheduled != Some(at) {
            return Outcome::default();
        }
        p.scheduled = None;
        if p.next_timeout > now {
            p.scheduled = Some(p.next_timeout);
            io.wake_at(id, p.next_timeout);
            return Outcome::default();
        }
        self.input(id, Input::Timeout(now), now, io)
    }

    fn on_event(
        &mut self,
        id: ParticipantId,
        event: Event,
        now: Instant,
        io: &mut dyn MediaIo,
        outcome: &mut Outcome,
    ) {
        match event {
            Event::MediaAdded(m)
                if matches!(m.direction, Direction::RecvOnly | Direction::SendRecv) =>
            {
                // str0m states simulcast from our side: the layers we
                // receive are the publisher's send list.
                let rids = m
                    .simulcast
                    .map(|s| if s.recv.is_empty() { s.send } else { s.recv })
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| l.rid)
                    .collect();
                self.published(id, m.mid, m.kind, Layers::new(rids))
            }
            Event::RtpPacket(pkt) => self.forward(id, pkt, now, io),
            Event::KeyframeRequest(req) => {
                let source = self
                    .participants
                    .get(&id)
                    .and_then(|p| p.outgoing.get(&req.mid))
                    .copied();
                if let Some((from, mid)) = source {
                    let layer = self
                        .participants
                        .get(&id)
                        .and_then(|p| p.line(req.mid))
                        .and_then(|l| l.track.current_layer());
                    self.request_keyframe(from, mid, layer, req.kind, now);
                    let more = self.drive(from, now, io);
                    outcome.failed.extend(more.failed);
                }
            }
            Event::MediaIngressStats(s) => self.count_nacks(id, s.mid, true, s.nacks),
            Event::MediaEgressStats(s) => self.count_nacks(id, s.mid, false, s.nacks),
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                if let Some(p) = self.participants.get_mut(&id) {
                    p.failed = true;
                }
            }
            _ => {}
        }
    }

    /// Adds what a stream's cumulative NACK count grew by to the metrics.
    fn count_nacks(&mut self, id: ParticipantId, mid: Mid, sent: bool, total: u64) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        let seen = p.nacks.entry((mid, sent)).or_default();
        let grew = total.saturating_sub(*seen);
        *seen = total.max(*seen);
        if sent {
            self.metrics.nacks_sent.inc_by(grew);
        } else {
            self.metrics.nacks_received.inc_by(grew);
        }
    }

    /// A participant's new incoming track: every other participant gets an
    /// outgoing m-line for it.
    fn published(&mut self, id: ParticipantId, mid: Mid, kind: MediaKind, layers: Layers) {
        let users = self.users();
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        // m-lines come in the offer's order: the first video is the camera.
        let ordinal = p.published.values().filter(|t| t.kind == kind).count();
        p.published.insert(
            mid,
            Published {
                kind,
                ssrc: None,
                speaking: SpeakingDetector::default(),
                keyframes: KeyframeThrottle::default(),
                layers,
                ordinal,
            },
        );
        let user = p.user;
        let layers = p.published.get(&mid).map_or(0, |t| t.layers.count());
        for o in self.participants.values_mut().filter(|o| o.id != id) {
            o.changes.push(Change::Add {
                from: id,
                user,
                mid,
                kind,
                layers,
                ordinal,
            });
            o.negotiate(&users);
        }
    }

    /// Asks a publisher for a keyframe of one of its video tracks: of
    /// `layer` for a simulcast track (none: nothing to ask yet, the layer a
    /// subscriber gets is asked for when it is chosen), of the track
    /// otherwise. At most one a second per track or layer.
    fn request_keyframe(
        &mut self,
        from: ParticipantId,
        mid: Mid,
        layer: Option<usize>,
        kind: KeyframeRequestKind,
        now: Instant,
    ) {
        let Some(p) = self.participants.get_mut(&from) else {
            return;
        };
        let Some(t) = p.published.get_mut(&mid) else {
            return;
        };
        if t.kind != MediaKind::Video {
            return;
        }
        let rid = if t.layers.is_simulcast() {
            let Some(layer) = layer else {
                return;
            };
            if !t.layers.allow_keyframe_request(layer, now) {
                return;
            }
            t.layers.rid(layer)
        } else {
            if !t.keyframes.allow(now) {
                return;
            }
            None
        };
        if let Some(rx) = p.rtc.direct_api().stream_rx_by_mid(mid, rid) {
            rx.request_keyframe(kind);
            self.metrics.keyframe_requests.inc();
        }
    }

    /// A subscriber asks for a quality of the simulcast track its outgoing
    /// m-line `out` carries (voice op 42). Unknown m-lines are ignored: the
    /// track may just have ended.
    pub fn set_quality(&mut self, id: ParticipantId, out: Mid, quality: Quality) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        if let Some(line) = p.line_mut(out) {
            line.track.quality = quality;
        }
    }

    /// The simulcast layer forwarded on a subscriber's m-line, if any.
    pub fn forwarded_layer(&self, id: ParticipantId, out: Mid) -> Option<usize> {
        self.participants.get(&id)?.line(out)?.track.current_layer()
    }

    /// Forwards one RTP packet to every participant that may receive it.
    fn forward(
        &mut self,
        id: ParticipantId,
        pkt: str0m::rtp::RtpPacket,
        now: Instant,
        io: &mut dyn MediaIo,
    ) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        let ssrc = pkt.header.ssrc;
        let (mid, layer) = match p.ssrc_mid.get(&ssrc) {
            Some(m) => *m,
            None => {
                let Some((mid, rid)) = p
                    .rtc
                    .direct_api()
                    .stream_rx(&ssrc)
                    .map(|s| (s.mid(), s.rid()))
                else {
                    return;
                };
                let Some(track) = p.published.get(&mid) else {
                    self.metrics.dropped_unknown.inc();
                    return;
                };
                let layer = track
                    .layers
                    .index(rid)
                    .filter(|_| track.layers.is_simulcast());
                p.ssrc_mid.insert(ssrc, (mid, layer));
                (mid, layer)
            }
        };
        let Some(track) = p.published.get_mut(&mid) else {
            self.metrics.dropped_unknown.inc();
            return;
        };
        // A simulcast track's audio level or speaking state is its lowest
        // layer's (video has none).
        if layer.is_none_or(|l| l == 0) {
            track.ssrc = Some(ssrc);
        }
        let kind = track.kind;
        let video = kind == MediaKind::Video;
        self.metrics.packets_in.inc_by(video, 1);
        self.metrics
            .bytes_in
            .inc_by(video, pkt.payload.len() as u64);
        // Which layer each quality gets now, worked out once per packet
        // rather than per subscriber.
        let mut chosen = [0; 3];
        if let Some(l) = layer {
            track.layers.saw(l, now);
            for q in [Quality::Low, Quality::Medium, Quality::High] {
                chosen[q as usize] = track.layers.choose(q, now);
            }
        }
        if kind == MediaKind::Audio {
            if !p.flags.sends_audio() {
                self.metrics.dropped_muted.inc();
                return;
            }
            if let Some(level) = pkt.header.ext_vals.audio_level {
                if let Some(speaking) = track.speaking.on_level(level, now) {
                    let (user, ssrc) = (p.user, *ssrc);
                    for o in self.participants.values().filter(|o| o.id != id) {
                        o.tell(PeerEvent::Speaking {
                            user,
                            ssrc,
                            speaking,
                        });
                    }
                }
            }
        }
        let Some(p) = self.participants.get(&id) else {
            return;
        };
        let Some(params) = p
            .rtc
            .codec_config()
            .find(|c| c.pt() == pkt.header.payload_type)
            .copied()
        else {
            return;
        };
        // Only end-to-end extensions travel on; mid, rid, transport-cc and
        // send times belong to each hop and str0m writes the subscriber's own.
        let ext = {
            let e = &pkt.header.ext_vals;
            str0m::rtp::ExtensionValues {
                audio_level: e.audio_level,
                voice_activity: e.voice_activity,
                video_orientation: e.video_orientation,
                ..Default::default()
            }
        };
        let incoming = Incoming {
            layer,
            seq_no: *pkt.seq_no,
            timestamp: pkt.header.timestamp,
            clock_rate: params.spec().clock_rate.get(),
            codec: params.spec().codec,
            payload: &pkt.payload,
            arrived: pkt.timestamp,
        };
        let mut want_keyframe: Option<usize> = None;
        let mut copies = 0;
        for s in self.participants.values_mut() {
            if s.id == id || !s.flags.receives(kind) {
                continue;
            }
            let Some(line) = s.lines.get_mut(&(id, mid)) else {
                continue;
            };
            let Some(pt) = line.pt_for(&s.rtc, &params) else {
                continue;
            };
            let rewritten = match line
                .track
                .accept(&incoming, chosen[line.track.quality as usize])
            {
                Verdict::Forward(r) => r,
                Verdict::Skip => continue,
                Verdict::SkipWantKeyframe(l) => {
                    want_keyframe = Some(l);
                    continue;
                }
            };
            let mut write = RtpWrite::new(
                pt,
                rewritten.seq_no.into(),
                rewritten.timestamp,
                pkt.timestamp,
                pkt.payload.clone(),
            )
            .marker(pkt.header.marker)
            .ext_vals(ext.clone())
            .nackable(kind == MediaKind::Video);
            if let Some(patch) = rewritten.vp8 {
                write = write.vp8_patch(patch);
            }
            if !line.write(&mut s.rtc, write) {
                continue;
            }
            copies += 1;
            // str0m sends a written packet once it is given time. Rather
            // than at once (an `Rtc`'s timeout upkeep visits every stream it
            // has, which in a big room is most of the cost), ask for time
            // when the input at hand is done: packets that arrived together
            // then leave together, for one upkeep per subscriber.
            if !s.soon {
                s.soon = true;
                io.wake_soon(s.id);
            }
        }
        self.metrics.packets_out.inc_by(video, copies);
        self.metrics
            .bytes_out
            .inc_by(video, copies * pkt.payload.len() as u64);
        // Subscribers waiting to switch to this layer need its keyframe;
        // the publisher is being driven, so the request leaves with this
        // poll.
        if let Some(l) = want_keyframe {
            self.request_keyframe(id, mid, Some(l), KeyframeRequestKind::Pli, now);
        }
    }
}

/// How often each `Rtc` reports its stream statistics.
const STATS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// The header extensions the SFU negotiates: those it forwards end to end
/// (audio level, video orientation), the mid that BUNDLE needs, and the
/// simulcast stream ids. Not transport-wide sequence numbers or absolute
/// send times: they feed bandwidth estimation, which the SFU does not do,
/// and with them every subscriber would send transport-wide feedback every
/// few tens of milliseconds for nobody to use.
fn forwarding_extensions() -> str0m::rtp::ExtensionMap {
    use str0m::rtp::{Extension, ExtensionMap};
    let mut exts = ExtensionMap::empty();
    exts.set(1, Extension::AudioLevel);
    exts.set(4, Extension::RtpMid);
    exts.set(10, Extension::RtpStreamId);
    exts.set(11, Extension::RepairedRtpStreamId);
    exts.set(13, Extension::VideoOrientation);
    exts
}

/// The server's side of one participant: ICE-lite with one host candidate,
/// RTP mode (packets are forwarded, not reassembled into frames).
pub fn server_rtc(addr: std::net::SocketAddr, now: Instant) -> Result<Rtc, String> {
    let mut rtc = str0m::RtcConfig::new()
        .set_ice_lite(true)
        .set_rtp_mode(true)
        .set_extension_map(forwarding_extensions())
        // For the NACK counters; the stats are cheap at this interval.
        .set_stats_interval(Some(STATS_INTERVAL))
        .build(now);
    let candidate = str0m::Candidate::host(addr, "udp").map_err(|e| e.to_string())?;
    rtc.add_local_candidate(candidate);
    Ok(rtc)
}

/// Accepts a client's first offer on a fresh `Rtc` (at most 64 m-lines:
/// tests and benchmarks; the worker applies the configured limit).
pub fn accept_offer(rtc: &mut Rtc, sdp: &str) -> Result<SdpAnswer, crate::offer::OfferError> {
    crate::offer::accept(rtc, sdp, 64)
}
