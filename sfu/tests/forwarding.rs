//! The room's forwarding decisions, with real str0m peers on both sides
//! routed through memory in simulated time: no sockets, no clock.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hearth_model::Snowflake;
use hearth_sfu::room::{
    accept_offer, server_rtc, Flags, MediaIo, Participant, ParticipantId, PeerEvent, Room, RoomKey,
};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const SERVER: &str = "10.0.0.1:5000";

struct Client {
    addr: SocketAddr,
    rtc: Rtc,
    id: ParticipantId,
    user: Snowflake,
    mid: Option<Mid>,
    events: UnboundedReceiver<PeerEvent>,
    /// What the room told this client, other than offers (answered at once).
    told: Vec<PeerEvent>,
    received: Vec<Vec<u8>>,
}

struct Net {
    now: Instant,
    room: Room,
    server: SocketAddr,
    clients: Vec<Client>,
    queue: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    /// Wake-ups the room asked for, as a worker's timer heap holds them.
    wakes: Vec<(ParticipantId, Instant)>,
    /// Give the server side time only through the wake-ups it asked for
    /// (as the worker does), rather than a timeout to everyone every step.
    timers_only: bool,
}

/// The room's IO in memory: datagrams to route, wake-ups to keep.
struct Memory<'a> {
    queue: &'a mut VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    wakes: &'a mut Vec<(ParticipantId, Instant)>,
}

impl MediaIo for Memory<'_> {
    fn transmit(&mut self, t: Transmit) {
        self.queue.push_back(packet(t));
    }

    fn wake_at(&mut self, id: ParticipantId, at: Instant) {
        self.wakes.push((id, at));
    }
}

fn packet(t: Transmit) -> (SocketAddr, SocketAddr, Vec<u8>) {
    (t.source, t.destination, t.contents.to_vec())
}

impl Net {
    fn new() -> Net {
        str0m::crypto::from_feature_flags().install_process_default();
        let key = RoomKey {
            guild: Snowflake(1),
            channel: Snowflake(2),
        };
        Net {
            now: Instant::now(),
            room: Room::new(key),
            server: SERVER.parse().unwrap(),
            clients: Vec::new(),
            queue: VecDeque::new(),
            wakes: Vec::new(),
            timers_only: false,
        }
    }

    fn io(&mut self) -> (&mut Room, Memory<'_>) {
        let io = Memory {
            queue: &mut self.queue,
            wakes: &mut self.wakes,
        };
        (&mut self.room, io)
    }

    /// A client that offers one send-only audio track, and joins.
    fn join(&mut self, n: u8, flags: Flags) -> usize {
        let addr: SocketAddr = format!("10.0.1.{n}:4000").parse().unwrap();
        let mut rtc = Rtc::builder().build(self.now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut api = rtc.sdp_api();
        let mid = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let (offer, pending) = api.apply().unwrap();
        let mut server = server_rtc(self.server, self.now).unwrap();
        let answer = accept_offer(&mut server, &offer.to_sdp_string()).unwrap();
        rtc.sdp_api()
            .accept_answer(
                pending,
                SdpAnswer::from_sdp_string(&answer.to_sdp_string()).unwrap(),
            )
            .unwrap();
        let id = ParticipantId(n as u64);
        let user = Snowflake(100 + n as u64);
        let (tx, events) = unbounded_channel();
        self.room.join(Participant::new(
            id,
            user,
            format!("s{n}"),
            server,
            flags,
            tx,
            self.now,
        ));
        let now = self.now;
        let (room, mut io) = self.io();
        room.drive(id, now, &mut io);
        self.clients.push(Client {
            addr,
            rtc,
            id,
            user,
            mid: Some(mid),
            events,
            told: Vec::new(),
            received: Vec::new(),
        });
        self.clients.len() - 1
    }

    /// Answers renegotiation offers the room sent, as a browser would.
    fn renegotiate(&mut self) {
        for i in 0..self.clients.len() {
            while let Ok(e) = self.clients[i].events.try_recv() {
                if let PeerEvent::Offer { sdp, tracks } = e {
                    self.clients[i].told.push(PeerEvent::Offer {
                        sdp: String::new(),
                        tracks,
                    });
                    let offer = SdpOffer::from_sdp_string(&sdp).unwrap();
                    let answer = self.clients[i].rtc.sdp_api().accept_offer(offer).unwrap();
                    let id = self.clients[i].id;
                    let now = self.now;
                    let (room, mut io) = self.io();
                    room.answer(
                        id,
                        SdpAnswer::from_sdp_string(&answer.to_sdp_string()).unwrap(),
                        now,
                        &mut io,
                    )
                    .unwrap();
                } else {
                    self.clients[i].told.push(e);
                }
            }
        }
    }

    fn step(&mut self) {
        for c in &mut self.clients {
            for _ in 0..1000 {
                match c.rtc.poll_output().unwrap() {
                    Output::Timeout(_) => break,
                    Output::Transmit(t) => self.queue.push_back(packet(t)),
                    Output::Event(Event::MediaData(d)) => c.received.push(d.data.to_vec()),
                    Output::Event(_) => {}
                }
            }
        }
        let by_addr: HashMap<SocketAddr, ParticipantId> =
            self.clients.iter().map(|c| (c.addr, c.id)).collect();
        for _ in 0..10_000 {
            let Some((src, dst, data)) = self.queue.pop_front() else {
                break;
            };
            let receive = Receive {
                proto: Protocol::Udp,
                source: src,
                destination: dst,
                contents: data.as_slice().try_into().unwrap(),
            };
            if dst == self.server {
                let id = by_addr[&src];
                let now = self.now;
                let (room, mut io) = self.io();
                room.input(id, Input::Receive(now, receive), now, &mut io);
            } else if let Some(c) = self.clients.iter_mut().find(|c| c.addr == dst) {
                c.rtc
                    .handle_input(Input::Receive(self.now, receive))
                    .unwrap();
            }
        }
        self.now += Duration::from_millis(5);
        for c in &mut self.clients {
            c.rtc.handle_input(Input::Timeout(self.now)).unwrap();
        }
        let now = self.now;
        if self.timers_only {
            let (due, later) = std::mem::take(&mut self.wakes)
                .into_iter()
                .partition(|(_, at)| *at <= now);
            self.wakes = later;
            for (id, at) in due {
                let (room, mut io) = self.io();
                room.timer(id, at, now, &mut io);
            }
        } else {
            for id in self.room.ids() {
                let (room, mut io) = self.io();
                room.input(id, Input::Timeout(now), now, &mut io);
            }
        }
        self.renegotiate();
    }

    fn connected(&self) -> bool {
        self.clients.iter().all(|c| c.rtc.is_connected())
    }

    /// One 20 ms Opus frame from client `i` (the payload is arbitrary bytes:
    /// the SFU forwards, it does not decode).
    fn speak(&mut self, i: usize, frame: u32) {
        let now = self.now;
        let c = &mut self.clients[i];
        let Some(mid) = c.mid else { return };
        let Some(writer) = c.rtc.writer(mid) else {
            return;
        };
        let Some(pt) = writer
            .payload_params()
            .find(|p| p.spec().codec == Codec::Opus)
            .map(|p| p.pt())
        else {
            return;
        };
        let data = format!("frame {frame} from {}", c.user).into_bytes();
        // A loud level (-20 dBov) with voice: what a talking client sends.
        writer
            .audio_level(-20, true)
            .write(
                pt,
                now,
                MediaTime::new(frame as u64 * 960, str0m::media::Frequency::FORTY_EIGHT_KHZ),
                data,
            )
            .unwrap();
    }

    fn run(&mut self, steps: usize, speaker: Option<usize>) {
        for s in 0..steps {
            if let Some(i) = speaker {
                if s % 4 == 0 {
                    self.speak(i, (s / 4) as u32);
                }
            }
            self.step();
        }
    }
}

fn talking() -> Flags {
    Flags {
        can_speak: true,
        ..Flags::default()
    }
}

fn frames_from(c: &Client, user: Snowflake) -> usize {
    let tag = format!("from {user}");
    c.received
        .iter()
        .filter(|d| String::from_utf8_lossy(d).ends_with(&tag))
        .count()
}

#[test]
fn a_call_runs_on_the_wake_ups_the_room_asks_for_alone() {
    let mut net = Net::new();
    net.timers_only = true;
    let a = net.join(1, talking());
    let b = net.join(2, talking());
    net.run(400, None);
    assert!(
        net.connected(),
        "ICE and DTLS complete on requested wake-ups"
    );
    net.run(200, Some(a));
    let from_a = frames_from(&net.clients[b], net.clients[a].user);
    assert!(from_a > 20, "B received {from_a} of A's frames");
    // Wake-ups are asked for when a deadline moves earlier, not per packet:
    // over 10 s of talk (500 packets each way) the queue stays small.
    for _ in 0..5 {
        net.run(400, Some(a));
        assert!(
            net.wakes.len() <= 25 * net.clients.len(),
            "{} wake-ups pending for {} participants",
            net.wakes.len(),
            net.clients.len()
        );
    }
}

#[test]
fn audio_from_one_participant_reaches_the_other() {
    let mut net = Net::new();
    let a = net.join(1, talking());
    let b = net.join(2, talking());
    net.run(400, None);
    assert!(net.connected(), "ICE and DTLS complete in memory");
    net.run(200, Some(a));
    let from_a = frames_from(&net.clients[b], net.clients[a].user);
    assert!(from_a > 20, "B received {from_a} of A's frames");
    assert_eq!(
        frames_from(&net.clients[a], net.clients[a].user),
        0,
        "nobody hears themselves"
    );
}

#[test]
fn muted_or_speechless_participants_are_not_forwarded_and_deaf_ones_get_nothing() {
    let mut net = Net::new();
    let a = net.join(1, talking());
    let b = net.join(2, talking());
    net.run(400, None);
    let a_id = net.clients[a].id;
    let b_id = net.clients[b].id;
    net.room.set_flags(
        a_id,
        Flags {
            self_mute: true,
            ..talking()
        },
    );
    net.run(100, Some(a));
    assert_eq!(
        frames_from(&net.clients[b], net.clients[a].user),
        0,
        "self-mute"
    );
    net.room.set_flags(
        a_id,
        Flags {
            can_speak: false,
            ..Flags::default()
        },
    );
    net.run(100, Some(a));
    assert_eq!(
        frames_from(&net.clients[b], net.clients[a].user),
        0,
        "no SPEAK"
    );
    net.room.set_flags(a_id, talking());
    net.room.set_flags(
        b_id,
        Flags {
            deaf: true,
            ..talking()
        },
    );
    net.run(100, Some(a));
    assert_eq!(
        frames_from(&net.clients[b], net.clients[a].user),
        0,
        "server-deafened"
    );
    net.room.set_flags(b_id, talking());
    net.run(200, Some(a));
    assert!(
        frames_from(&net.clients[b], net.clients[a].user) > 10,
        "flowing again"
    );
}

#[test]
fn a_late_joiner_gets_the_existing_tracks_and_leavers_are_announced() {
    let mut net = Net::new();
    let a = net.join(1, talking());
    let b = net.join(2, talking());
    net.run(400, None);
    let c = net.join(3, talking());
    net.run(400, None);
    net.run(200, Some(a));
    assert!(
        frames_from(&net.clients[c], net.clients[a].user) > 10,
        "late joiner hears A"
    );
    assert!(frames_from(&net.clients[b], net.clients[a].user) > 10);
    let a_user = net.clients[a].user;
    let a_id = net.clients[a].id;
    net.room.leave(a_id);
    net.renegotiate();
    assert!(
        net.clients[b]
            .told
            .contains(&PeerEvent::ClientDisconnect(a_user)),
        "B hears that A left"
    );
}

#[test]
fn speaking_is_announced_to_the_others_and_ends_after_silence() {
    let mut net = Net::new();
    let a = net.join(1, talking());
    let b = net.join(2, talking());
    net.run(400, None);
    for c in &mut net.clients {
        c.told.clear();
    }
    net.run(100, Some(a));
    // Then silence: no packets at all for a while.
    for _ in 0..200 {
        net.step();
        let now = net.now;
        net.room.tick(now);
    }
    let a_user = net.clients[a].user;
    net.renegotiate();
    let seen: Vec<bool> = net.clients[b]
        .told
        .iter()
        .filter_map(|e| match e {
            PeerEvent::Speaking { user, speaking, .. } if *user == a_user => Some(*speaking),
            _ => None,
        })
        .collect();
    assert_eq!(seen, vec![true, false], "B saw A start and stop speaking");
    assert!(!net.clients[a]
        .told
        .iter()
        .any(|e| matches!(e, PeerEvent::Speaking { .. })));
}

#[test]
fn offers_say_whose_track_each_mid_carries() {
    let mut net = Net::new();
    let a = net.join(1, talking());
    let b = net.join(2, talking());
    net.run(50, None);
    let a_user = net.clients[a].user;
    let tables: Vec<_> = net.clients[b]
        .told
        .iter()
        .filter_map(|e| match e {
            PeerEvent::Offer { tracks, .. } => Some(tracks.clone()),
            _ => None,
        })
        .collect();
    let tracks = tables.first().expect("B got an offer for A's track");
    assert_eq!(tracks.len(), 1, "{tracks:?}");
    assert_eq!(tracks[0].user_id, a_user);
    assert_eq!(tracks[0].kind, "audio");
}
