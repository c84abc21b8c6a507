//! One SFU worker: a thread that owns a UDP socket, its rooms and every
//! `Rtc` in them.
//!
//! The loop blocks in `recv_from` until a datagram arrives or the earliest
//! `Rtc` timeout is due. Commands from the voice gateway arrive on a channel;
//! the sender also pokes the socket with a one-byte datagram from a known
//! local address, so a join is handled at once rather than after the next
//! timeout (a first STUN packet must not find its peer missing).
//!
//! Datagrams are routed by source address; the first STUN binding request
//! of a new peer is routed by the ICE username instead, and its address is
//! remembered once the request's MESSAGE-INTEGRITY proves it knows the
//! peer's ICE password (ufrags travel in the clear; passwords do not). There
//! is no scan over peers.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use hearth_model::Snowflake;
use str0m::change::SdpAnswer;
use str0m::net::{Protocol, Receive};
use str0m::Input;
use tokio::sync::{mpsc::UnboundedSender, oneshot};

use crate::metrics::WorkerMetrics;
use crate::room::{
    accept_offer, server_rtc, Flags, Participant, ParticipantId, PeerEvent, Room, RoomKey,
};

pub enum Command {
    Join {
        id: ParticipantId,
        room: RoomKey,
        user: Snowflake,
        session_id: String,
        offer: String,
        flags: Flags,
        events: UnboundedSender<PeerEvent>,
        reply: oneshot::Sender<Result<String, String>>,
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
    Stop,
}

/// The voice gateway's end of a worker.
pub struct WorkerHandle {
    tx: Sender<Command>,
    /// Where the worker's media socket listens (the host candidate).
    pub addr: SocketAddr,
    waker: UdpSocket,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WorkerHandle {
    pub fn send(&self, command: Command) {
        if self.tx.send(command).is_ok() {
            // Wake the loop; losing this datagram only delays the command
            // until the next timeout.
            let _ = self.waker.send_to(&[0], self.addr);
        }
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

pub fn spawn(
    index: usize,
    bind: SocketAddr,
    metrics: WorkerMetrics,
) -> std::io::Result<WorkerHandle> {
    let socket = UdpSocket::bind(bind)?;
    let addr = socket.local_addr()?;
    let waker = UdpSocket::bind(SocketAddr::new(addr.ip(), 0))?;
    let waker_addr = waker.local_addr()?;
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(format!("sfu-worker-{index}"))
        .spawn(move || Worker::new(socket, addr, waker_addr, rx, metrics).run())?;
    Ok(WorkerHandle {
        tx,
        addr,
        waker,
        thread: Some(thread),
    })
}

struct Worker {
    socket: UdpSocket,
    addr: SocketAddr,
    waker: SocketAddr,
    commands: Receiver<Command>,
    rooms: HashMap<RoomKey, Room>,
    by_addr: HashMap<SocketAddr, (RoomKey, ParticipantId)>,
    /// Local ICE ufrag → the participant, and the password its binding
    /// requests are signed with.
    by_ufrag: HashMap<String, (RoomKey, ParticipantId, String)>,
    metrics: WorkerMetrics,
}

impl Worker {
    fn new(
        socket: UdpSocket,
        addr: SocketAddr,
        waker: SocketAddr,
        commands: Receiver<Command>,
        metrics: WorkerMetrics,
    ) -> Self {
        Worker {
            socket,
            addr,
            waker,
            commands,
            rooms: HashMap::new(),
            by_addr: HashMap::new(),
            by_ufrag: HashMap::new(),
            metrics,
        }
    }

    fn run(mut self) {
        let mut buf = vec![0u8; 2048];
        loop {
            let busy_from = Instant::now();
            loop {
                match self.commands.try_recv() {
                    Ok(Command::Stop) | Err(TryRecvError::Disconnected) => return,
                    Ok(c) => self.command(c),
                    Err(TryRecvError::Empty) => break,
                }
            }
            let now = Instant::now();
            self.timeouts(now);
            self.speaking(now);
            self.metrics.rooms.set(self.rooms.len() as i64);
            self.metrics.participants.set(self.by_ufrag.len() as i64);
            self.metrics
                .busy_seconds
                .inc_by(busy_from.elapsed().as_secs_f64());
            let next = self.next_timeout(now);
            let wait = next
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            let _ = self.socket.set_read_timeout(Some(wait));
            match self.socket.recv_from(&mut buf) {
                Ok((n, source)) => {
                    let started = Instant::now();
                    if source != self.waker {
                        self.datagram(source, &buf[..n]);
                    }
                    self.metrics
                        .busy_seconds
                        .inc_by(started.elapsed().as_secs_f64());
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                // ICMP errors from a peer that went away show up here on Linux.
                Err(e) => tracing::debug!(error = %e, "sfu socket receive error"),
            }
        }
    }

    fn sender(socket: &UdpSocket) -> impl FnMut(str0m::net::Transmit) + '_ {
        move |t| {
            let _ = socket.send_to(&t.contents, t.destination);
        }
    }

    fn command(&mut self, c: Command) {
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
                reply,
            } => {
                let result = self.join(id, room, user, session_id, &offer, flags, events, now);
                let _ = reply.send(result);
            }
            Command::Answer {
                room,
                id,
                sdp,
                reply,
            } => {
                let result = match (self.rooms.get_mut(&room), SdpAnswer::from_sdp_string(&sdp)) {
                    (Some(r), Ok(answer)) => {
                        let mut send = Self::sender(&self.socket);
                        r.answer(id, answer, now, &mut send).map(|o| o.failed)
                    }
                    (None, _) => Err("not in a room".to_owned()),
                    (_, Err(e)) => Err(format!("invalid SDP answer: {e}")),
                };
                let _ = reply.send(match result {
                    Ok(failed) => {
                        self.remove_failed(room, failed);
                        Ok(())
                    }
                    Err(e) => Err(e),
                });
            }
            Command::Leave { room, id } => self.remove(room, id, false),
            Command::SetFlags { room, id, flags } => {
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.set_flags(id, flags);
                }
            }
            Command::Stop => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn join(
        &mut self,
        id: ParticipantId,
        key: RoomKey,
        user: Snowflake,
        session_id: String,
        offer: &str,
        flags: Flags,
        events: UnboundedSender<PeerEvent>,
        now: Instant,
    ) -> Result<String, String> {
        let mut rtc = server_rtc(self.addr, now)?;
        let answer = accept_offer(&mut rtc, offer)?;
        let creds = rtc.direct_api().local_ice_credentials();
        self.by_ufrag.insert(creds.ufrag, (key, id, creds.pass));
        let metrics = &self.metrics;
        let room = self
            .rooms
            .entry(key)
            .or_insert_with(|| Room::with_metrics(key, metrics.clone()));
        room.join(Participant::new(
            id, user, session_id, rtc, flags, events, now,
        ));
        let outcome = {
            let mut send = Self::sender(&self.socket);
            room.drive(id, now, &mut send)
        };
        self.remove_failed(key, outcome.failed);
        Ok(answer.to_sdp_string())
    }

    fn datagram(&mut self, source: SocketAddr, data: &[u8]) {
        let target = match self.by_addr.get(&source) {
            Some(t) => Some(*t),
            None => {
                let known = stun_username(data).and_then(|u| self.by_ufrag.get(u));
                let proven = known.filter(|(_, _, pass)| stun_integrity_ok(data, pass.as_bytes()));
                proven.map(|(key, id, _)| (*key, *id)).inspect(|t| {
                    self.by_addr.insert(source, *t);
                })
            }
        };
        let Some((key, id)) = target else { return };
        let Ok(contents) = data.try_into() else {
            return;
        };
        let now = Instant::now();
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.addr,
                contents,
            },
        );
        let Some(room) = self.rooms.get_mut(&key) else {
            return;
        };
        let outcome = {
            let mut send = Self::sender(&self.socket);
            room.input(id, input, now, &mut send)
        };
        self.remove_failed(key, outcome.failed);
    }

    fn timeouts(&mut self, now: Instant) {
        let mut failed = Vec::new();
        for (key, room) in &mut self.rooms {
            for id in room.ids() {
                let due = room.participant(id).is_some_and(|p| p.next_timeout <= now);
                if due {
                    let mut send = Self::sender(&self.socket);
                    let outcome = room.input(id, Input::Timeout(now), now, &mut send);
                    failed.extend(outcome.failed.into_iter().map(|f| (*key, f)));
                }
            }
        }
        for (key, id) in failed {
            self.remove(key, id, true);
        }
    }

    /// Ends "speaking" for publishers that went quiet without a packet.
    fn speaking(&mut self, now: Instant) {
        for room in self.rooms.values_mut() {
            room.tick(now);
        }
    }

    fn next_timeout(&self, now: Instant) -> Instant {
        self.rooms
            .values()
            .flat_map(|r| {
                r.ids()
                    .into_iter()
                    .filter_map(|id| r.participant(id).map(|p| p.next_timeout))
            })
            .min()
            .unwrap_or(now + IDLE_TICK)
            .min(now + IDLE_TICK)
    }

    fn remove_failed(&mut self, key: RoomKey, failed: Vec<ParticipantId>) {
        for id in failed {
            self.remove(key, id, true);
        }
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
        self.by_addr.retain(|_, v| *v != (key, id));
        self.by_ufrag.retain(|_, (k, i, _)| (*k, *i) != (key, id));
    }
}

/// Whether a STUN message's MESSAGE-INTEGRITY (RFC 5389 §15.4: HMAC-SHA1
/// keyed with the ICE password, over the message up to the attribute, with
/// the length field counting up to its end) is right.
fn stun_integrity_ok(data: &[u8], password: &[u8]) -> bool {
    use hmac::{Hmac, Mac};
    let mut at = 20;
    while at + 4 <= data.len() {
        let kind = u16::from_be_bytes([data[at], data[at + 1]]);
        let len = u16::from_be_bytes([data[at + 2], data[at + 3]]) as usize;
        if kind == 0x0008 {
            let Some(tag) = data.get(at + 4..at + 24).filter(|_| len == 20) else {
                return false;
            };
            let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(password) else {
                return false;
            };
            let length = ((at + 24 - 20) as u16).to_be_bytes();
            mac.update(&data[..2]);
            mac.update(&length);
            mac.update(&data[4..at]);
            return mac.verify_slice(tag).is_ok();
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    false
}

/// The local ufrag from a STUN binding request's USERNAME attribute
/// (`local:remote`), if the datagram is one.
fn stun_username(data: &[u8]) -> Option<&str> {
    // STUN: first two bits zero, magic cookie at bytes 4..8.
    if data.len() < 20 || data[0] & 0xc0 != 0 || data[4..8] != [0x21, 0x12, 0xa4, 0x42] {
        return None;
    }
    let mut at = 20;
    while at + 4 <= data.len() {
        let kind = u16::from_be_bytes([data[at], data[at + 1]]);
        let len = u16::from_be_bytes([data[at + 2], data[at + 3]]) as usize;
        let value = data.get(at + 4..at + 4 + len)?;
        if kind == 0x0006 {
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next();
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_local_ufrag_in_a_binding_request() {
        let mut m = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        m.extend_from_slice(&[7; 12]);
        let user = b"srvA:cliB";
        m.extend_from_slice(&[0x00, 0x06, 0x00, user.len() as u8]);
        m.extend_from_slice(user);
        m.extend_from_slice(&[0; 3]);
        assert_eq!(stun_username(&m), Some("srvA"));
        assert_eq!(stun_username(&[0x80; 40]), None, "RTP is not STUN");
        assert_eq!(stun_username(&m[..30]), None, "truncated");
    }

    /// A binding request signed as RFC 5389 says, by hand.
    fn signed_request(password: &[u8]) -> Vec<u8> {
        use hmac::{Hmac, Mac};
        let user = b"srvA:cliB";
        let mut m = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        m.extend_from_slice(&[7; 12]);
        m.extend_from_slice(&[0x00, 0x06, 0x00, user.len() as u8]);
        m.extend_from_slice(user);
        m.extend_from_slice(&[0; 3]);
        let length = ((m.len() - 20 + 24) as u16).to_be_bytes();
        m[2..4].copy_from_slice(&length);
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(password).unwrap();
        mac.update(&m);
        let tag = mac.finalize().into_bytes();
        m.extend_from_slice(&[0x00, 0x08, 0x00, 20]);
        m.extend_from_slice(&tag);
        m
    }

    #[test]
    fn only_a_request_signed_with_the_password_binds_an_address() {
        let m = signed_request(b"secret-pass");
        assert!(stun_integrity_ok(&m, b"secret-pass"));
        assert!(!stun_integrity_ok(&m, b"guessed"));
        let mut tampered = m.clone();
        tampered[24] ^= 1;
        assert!(!stun_integrity_ok(&tampered, b"secret-pass"));
        assert!(
            !stun_integrity_ok(&m[..m.len() - 24], b"secret-pass"),
            "no integrity attribute"
        );
    }
}
