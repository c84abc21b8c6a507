//! One SFU worker: a thread that owns a UDP socket, its rooms and every
//! `Rtc` in them.
//!
//! The loop sleeps until a datagram arrives or the earliest `Rtc` deadline
//! is due, then takes every datagram that has queued up in one system call
//! and sends what they caused in batches (`udp`). Deadlines live in a heap
//! that gets an entry only when a participant's deadline moves earlier
//! (stale entries are skipped when they come up), so neither a packet nor a
//! timer costs a scan over the worker's participants.
//!
//! Commands from the voice gateway arrive on a channel; the sender also
//! pokes the socket with a one-byte datagram from a known local address, so
//! a join is handled at once rather than after the next timeout (a first
//! STUN packet must not find its peer missing).
//!
//! Datagrams are routed by source address; the first STUN binding request
//! of a new peer is routed by the ICE username instead, and its address is
//! remembered once the request's MESSAGE-INTEGRITY proves it knows the
//! peer's ICE password (ufrags travel in the clear; passwords do not). A
//! participant gets only a few such addresses (`routes`), so neither the
//! table nor its `Rtc`'s candidate list grows with the ports it tries.
//! There is no scan over peers.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use hearth_model::Snowflake;
use str0m::change::SdpAnswer;
use str0m::media::Mid;
use str0m::net::{Protocol, Receive, Transmit};
use str0m::Input;
use tokio::sync::{mpsc::UnboundedSender, oneshot};

use crate::metrics::WorkerMetrics;
use crate::offer::{self, OfferError};
use crate::room::{
    server_rtc, Flags, MediaIo, Outcome, Participant, ParticipantId, PeerEvent, Room, RoomKey,
};
use crate::routes::{Admission, RouteLimits, RouteTable};
use crate::simulcast::Quality;
use crate::stun::{stun_integrity_ok, stun_username};
use crate::udp::BatchSocket;

pub enum Command {
    Join {
        id: ParticipantId,
        room: RoomKey,
        user: Snowflake,
        session_id: String,
        offer: String,
        flags: Flags,
        events: UnboundedSender<PeerEvent>,
        /// m-lines the offer may carry.
        max_tracks: usize,
        reply: oneshot::Sender<Result<String, OfferError>>,
    },
    /// The client's answer to a renegotiation offer.
    Answer {
        room: RoomKey,
        id: ParticipantId,
        sdp: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Leave {
        room: RoomKey,
        id: ParticipantId,
    },
    SetFlags {
        room: RoomKey,
        id: ParticipantId,
        flags: Flags,
    },
    /// The quality a subscriber asks of the simulcast track on its m-line.
    SetQuality {
        room: RoomKey,
        id: ParticipantId,
        mid: Mid,
        quality: Quality,
    },
    Stop,
}

/// The voice gateway's end of a worker.
pub struct WorkerHandle {
    tx: Sender<Command>,
    /// Where clients send media: the host candidate and Ready's `ip`/`port`
    /// (the advertised address, with the port the socket got).
    pub addr: SocketAddr,
    /// Where the media socket is bound, as this machine reaches it.
    local: SocketAddr,
    waker: UdpSocket,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WorkerHandle {
    pub fn send(&self, command: Command) {
        if self.tx.send(command).is_ok() {
            // Wake the loop; losing this datagram only delays the command
            // until the next timeout.
            let _ = self.waker.send_to(&[0], self.local);
        }
    }

    /// Whether the worker's thread still runs (it ends only on `Stop`, or
    /// if it panicked).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Longest sleep when nothing is due, so stale state is reaped.
const IDLE_TICK: Duration = Duration::from_millis(100);
/// How late a deadline may be served, so the deadlines of many `Rtc`s
/// (RTCP, ICE, stats: none of them urgent to the millisecond) are served in
/// one wake-up rather than one each. Forwarded packets do not wait on it.
const TIMER_SLACK: Duration = Duration::from_millis(2);
/// How often speakers that went quiet without a packet are looked for.
const SPEAKING_TICK: Duration = Duration::from_millis(50);

/// Binds the worker's socket at `bind` and starts its thread; clients are
/// told to send media to `advertise` at the port the socket got.
pub fn spawn(
    index: usize,
    bind: SocketAddr,
    advertise: IpAddr,
    metrics: WorkerMetrics,
    limits: RouteLimits,
) -> std::io::Result<WorkerHandle> {
    let socket = BatchSocket::new(UdpSocket::bind(bind)?)?;
    let bound = socket.local_addr()?;
    let addr = SocketAddr::new(advertise, bound.port());
    // A socket bound to every interface is woken through loopback; the
    // waker's address must be the source the worker sees, so it binds the
    // same concrete address it sends to.
    let local_ip = match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let local = SocketAddr::new(local_ip, bound.port());
    let waker = UdpSocket::bind(SocketAddr::new(local_ip, 0))?;
    let waker_addr = waker.local_addr()?;
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(format!("sfu-worker-{index}"))
        .spawn(move || {
            Worker {
                socket,
                commands: rx,
                calls: Calls::new(addr, waker_addr, metrics, limits),
            }
            .run()
        })?;
    Ok(WorkerHandle {
        tx,
        addr,
        local,
        waker,
        thread: Some(thread),
    })
}

struct Worker {
    socket: BatchSocket,
    commands: Receiver<Command>,
    calls: Calls,
}

/// Everything a worker owns but its socket, so the receive loop can lend
/// the socket to the calls for the sends each datagram causes.
struct Calls {
    /// The advertised address: the host candidate, and the destination
    /// str0m is told each datagram arrived at (it drops any that did not
    /// arrive at one of its candidates).
    addr: SocketAddr,
    waker: SocketAddr,
    rooms: HashMap<RoomKey, Room>,
    room_of: HashMap<ParticipantId, RoomKey>,
    /// Source address → participant, bounded per participant.
    routes: RouteTable,
    /// When each participant's `Rtc` next wants time to pass (stale entries
    /// are skipped by `Room::timer`).
    timers: BinaryHeap<Reverse<(Instant, ParticipantId)>>,
    /// Participants with packets waiting to leave (`MediaIo::wake_soon`).
    soon: Vec<ParticipantId>,
    next_speaking_tick: Instant,
    metrics: WorkerMetrics,
}

/// The worker's side of `MediaIo`: the batched socket and the timer heap.
struct WorkerIo<'a> {
    socket: &'a mut BatchSocket,
    timers: &'a mut BinaryHeap<Reverse<(Instant, ParticipantId)>>,
    soon: &'a mut Vec<ParticipantId>,
    metrics: &'a WorkerMetrics,
}

impl MediaIo for WorkerIo<'_> {
    fn transmit(&mut self, t: Transmit) {
        let done = self.socket.queue(t.destination, &t.contents);
        self.metrics.send_failures.inc_by(done.failed as u64);
    }

    fn wake_at(&mut self, id: ParticipantId, at: Instant) {
        self.timers.push(Reverse((at, id)));
    }

    fn wake_soon(&mut self, id: ParticipantId) {
        self.soon.push(id);
    }
}

impl Worker {
    fn run(mut self) {
        loop {
            let busy_from = Instant::now();
            loop {
                match self.commands.try_recv() {
                    Ok(Command::Stop) | Err(TryRecvError::Disconnected) => return,
                    Ok(c) => self.calls.command(&mut self.socket, c),
                    Err(TryRecvError::Empty) => break,
                }
            }
            let now = Instant::now();
            self.calls.timers_due(&mut self.socket, now);
            self.calls.speaking(now);
            self.flush();
            self.calls.metrics.rooms.set(self.calls.rooms.len() as i64);
            self.calls
                .metrics
                .participants
                .set(self.calls.routes.peers() as i64);
            self.calls
                .metrics
                .routes
                .set(self.calls.routes.len() as i64);
            let wait = self
                .calls
                .next_deadline(now)
                .saturating_duration_since(Instant::now());
            self.calls
                .metrics
                .busy_seconds
                .inc_by(busy_from.elapsed().as_secs_f64());
            if !wait.is_zero() {
                self.socket.wait(wait);
            }
            let started = Instant::now();
            let calls = &mut self.calls;
            let n = self
                .socket
                .receive(|socket, source, data| calls.datagram(socket, source, data));
            if n > 0 {
                // The copies these datagrams caused leave now, not after
                // the commands and timers of the next pass.
                self.calls.send_soon(&mut self.socket, Instant::now());
                self.flush();
                self.calls.metrics.forward_delay.observe(started.elapsed());
            }
            self.calls
                .metrics
                .busy_seconds
                .inc_by(started.elapsed().as_secs_f64());
        }
    }

    fn flush(&mut self) {
        let done = self.socket.flush();
        self.calls.metrics.send_failures.inc_by(done.failed as u64);
    }
}

impl Calls {
    fn new(
        addr: SocketAddr,
        waker: SocketAddr,
        metrics: WorkerMetrics,
        limits: RouteLimits,
    ) -> Self {
        Calls {
            addr,
            waker,
            rooms: HashMap::new(),
            room_of: HashMap::new(),
            routes: RouteTable::new(limits),
            timers: BinaryHeap::new(),
            soon: Vec::new(),
            next_speaking_tick: Instant::now(),
            metrics,
        }
    }

    /// Runs `f` on a room with the IO it needs, then removes whoever failed.
    fn with_room(
        &mut self,
        socket: &mut BatchSocket,
        key: RoomKey,
        f: impl FnOnce(&mut Room, &mut dyn MediaIo) -> Outcome,
    ) {
        let Some(room) = self.rooms.get_mut(&key) else {
            return;
        };
        let mut io = WorkerIo {
            socket,
            timers: &mut self.timers,
            soon: &mut self.soon,
            metrics: &self.metrics,
        };
        let outcome = f(room, &mut io);
        for id in outcome.failed {
            self.remove(key, id, true);
        }
    }

    fn command(&mut self, socket: &mut BatchSocket, c: Command) {
        let now = Instant::now();
        match c {
            Command::Join {
                id,
                room,
                user,
                session_id,
                offer,
                flags,
                events,
                max_tracks,
                reply,
            } => {
                let result = self.join(
                    socket, id, room, user, session_id, &offer, max_tracks, flags, events, now,
                );
                let _ = reply.send(result);
            }
            Command::Answer {
                room,
                id,
                sdp,
                reply,
            } => {
                let answer = match SdpAnswer::from_sdp_string(&sdp) {
                    Ok(a) => a,
                    Err(e) => {
                        let _ = reply.send(Err(format!(
                            "invalid SDP answer: {}",
                            offer::readable(&e.to_string())
                        )));
                        return;
                    }
                };
                if !self.rooms.contains_key(&room) {
                    let _ = reply.send(Err("not in a room".to_owned()));
                    return;
                }
                let mut result = Ok(());
                self.with_room(socket, room, |r, io| match r.answer(id, answer, now, io) {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        result = Err(offer::readable(&e));
                        Outcome::default()
                    }
                });
                let _ = reply.send(result);
            }
            Command::Leave { room, id } => self.remove(room, id, false),
            Command::SetFlags { room, id, flags } => {
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.set_flags(id, flags);
                }
            }
            Command::SetQuality {
                room,
                id,
                mid,
                quality,
            } => {
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.set_quality(id, mid, quality);
                }
            }
            Command::Stop => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn join(
        &mut self,
        socket: &mut BatchSocket,
        id: ParticipantId,
        key: RoomKey,
        user: Snowflake,
        session_id: String,
        offer: &str,
        max_tracks: usize,
        flags: Flags,
        events: UnboundedSender<PeerEvent>,
        now: Instant,
    ) -> Result<String, OfferError> {
        let mut rtc = server_rtc(self.addr, now).map_err(OfferError::Server)?;
        let answer = offer::accept(&mut rtc, offer, max_tracks)?;
        let creds = rtc.direct_api().local_ice_credentials();
        self.routes.add_peer(key, id, creds.ufrag, creds.pass);
        self.room_of.insert(id, key);
        let metrics = &self.metrics;
        self.rooms
            .entry(key)
            .or_insert_with(|| Room::with_metrics(key, metrics.clone()))
            .join(Participant::new(
                id, user, session_id, rtc, flags, events, now,
            ));
        self.with_room(socket, key, |room, io| room.drive(id, now, io));
        Ok(answer.to_sdp_string())
    }

    fn datagram(&mut self, socket: &mut BatchSocket, source: SocketAddr, data: &[u8]) {
        if source == self.waker {
            return;
        }
        let now = Instant::now();
        let target = match self.routes.route(source, now) {
            Some(t) => Some(t),
            None => self.new_route(source, data, now),
        };
        let Some((key, id)) = target else { return };
        let Ok(contents) = data.try_into() else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.addr,
                contents,
            },
        );
        self.with_room(socket, key, |room, io| room.input(id, input, now, io));
    }

    /// A binding request from an address that is no route yet becomes one
    /// if it names a participant with addresses to spare and proves its
    /// password. Anything else from an unknown address is dropped.
    fn new_route(
        &mut self,
        source: SocketAddr,
        data: &[u8],
        now: Instant,
    ) -> Option<(RoomKey, ParticipantId)> {
        let ufrag = stun_username(data)?;
        let (key, id) = match self.routes.admission(ufrag) {
            Admission::Check { room, id, pass } => {
                if !stun_integrity_ok(data, pass.as_bytes()) {
                    return None;
                }
                (room, id)
            }
            Admission::Exhausted => {
                self.metrics.routes_refused.inc();
                return None;
            }
            Admission::Unknown => return None,
        };
        self.routes.admit(id, source, now);
        Some((key, id))
    }

    /// Gives time to the participants with packets waiting to leave.
    fn send_soon(&mut self, socket: &mut BatchSocket, now: Instant) {
        for id in std::mem::take(&mut self.soon) {
            let Some(&key) = self.room_of.get(&id) else {
                continue;
            };
            self.with_room(socket, key, |room, io| {
                room.input(id, Input::Timeout(now), now, io)
            });
        }
    }

    fn timers_due(&mut self, socket: &mut BatchSocket, now: Instant) {
        self.send_soon(socket, now);
        // Bounded even if an `Rtc` kept asking for "now" again: whatever is
        // left waits for the next pass, after the socket has been looked at.
        let budget = self.timers.len() + 64;
        for _ in 0..budget {
            let Some(&Reverse((at, id))) = self.timers.peek() else {
                break;
            };
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(&key) = self.room_of.get(&id) else {
                continue;
            };
            self.with_room(socket, key, |room, io| room.timer(id, at, now, io));
        }
    }

    /// Ends "speaking" for publishers that went quiet without a packet.
    fn speaking(&mut self, now: Instant) {
        if now < self.next_speaking_tick {
            return;
        }
        self.next_speaking_tick = now + SPEAKING_TICK;
        for room in self.rooms.values_mut() {
            room.tick(now);
        }
    }

    fn next_deadline(&self, now: Instant) -> Instant {
        if !self.soon.is_empty() {
            return now;
        }
        let idle = now + IDLE_TICK;
        let timer = self
            .timers
            .peek()
            .map_or(idle, |Reverse((at, _))| *at + TIMER_SLACK);
        timer.min(idle).min(self.next_speaking_tick)
    }

    fn remove(&mut self, key: RoomKey, id: ParticipantId, failed: bool) {
        let Some(room) = self.rooms.get_mut(&key) else {
            return;
        };
        if let Some(gone) = room.leave(id) {
            if failed {
                let _ = gone.events_sender().send(PeerEvent::Failed);
            }
        }
        if room.is_empty() {
            self.rooms.remove(&key);
        }
        self.room_of.remove(&id);
        self.routes.remove_peer(id);
    }
}
