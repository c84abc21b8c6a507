//! A room with real str0m peers on both sides, routed through memory in
//! simulated time: no sockets, no clock. Shared by the forwarding tests and
//! the forwarding benchmark.

#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hearth_model::Snowflake;
use hearth_sfu::room::{
    accept_offer, server_rtc, Flags, MediaIo, Participant, ParticipantId, PeerEvent, Room, RoomKey,
};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

pub const SERVER: &str = "10.0.0.1:5000";

pub struct Client {
    /// The number it joined with (its address and user).
    pub n: u8,
    pub addr: SocketAddr,
    pub rtc: Rtc,
    pub id: ParticipantId,
    pub user: Snowflake,
    pub mid: Option<Mid>,
    pub events: UnboundedReceiver<PeerEvent>,
    /// What the room told this client, other than offers (answered at once).
    pub told: Vec<PeerEvent>,
    pub received: Vec<Vec<u8>>,
    /// The video m-line a simulcast publisher sends on, and its rids.
    pub video: Option<(Mid, Vec<Rid>)>,
    /// Keyframe requests that reached this client, by the rid asked.
    pub keyframe_requests: Vec<Option<Rid>>,
    /// How many of them a keyframe answered.
    pub keyframes_answered: usize,
    /// The room's latest renegotiation offer to this client.
    pub last_offer: Option<String>,
}

pub struct Net {
    pub now: Instant,
    pub room: Room,
    pub server: SocketAddr,
    pub clients: Vec<Client>,
    pub queue: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    /// Wake-ups the room asked for, as a worker's timer heap holds them.
    pub wakes: BinaryHeap<Reverse<(Instant, ParticipantId)>>,
    /// Give the server side time only through the wake-ups it asked for
    /// (as the worker does), rather than a timeout to everyone every step.
    pub timers_only: bool,
    /// CPU time of this thread spent inside the room's calls: the server's
    /// share of the work (str0m on the server side, SRTP both ways,
    /// forwarding). CPU rather than wall time, so other processes on the
    /// machine do not count.
    pub server_time: Duration,
    /// Wake-ups that came due (stale ones included).
    pub wakes_fired: usize,
    /// Participants with packets waiting to leave.
    pub soon: Vec<ParticipantId>,
}

/// The room's IO in memory: datagrams to route, wake-ups to keep.
pub struct Memory<'a> {
    queue: &'a mut VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    wakes: &'a mut BinaryHeap<Reverse<(Instant, ParticipantId)>>,
    soon: &'a mut Vec<ParticipantId>,
}

impl MediaIo for Memory<'_> {
    fn transmit(&mut self, t: Transmit) {
        self.queue.push_back(packet(t));
    }

    fn wake_at(&mut self, id: ParticipantId, at: Instant) {
        self.wakes.push(Reverse((at, id)));
    }

    fn wake_soon(&mut self, id: ParticipantId) {
        self.soon.push(id);
    }
}

pub fn packet(t: Transmit) -> (SocketAddr, SocketAddr, Vec<u8>) {
    (t.source, t.destination, t.contents.to_vec())
}

impl Net {
    pub fn new() -> Net {
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
            wakes: BinaryHeap::new(),
            timers_only: false,
            server_time: Duration::ZERO,
            wakes_fired: 0,
            soon: Vec::new(),
        }
    }

    pub fn io(&mut self) -> (&mut Room, Memory<'_>) {
        let io = Memory {
            queue: &mut self.queue,
            wakes: &mut self.wakes,
            soon: &mut self.soon,
        };
        (&mut self.room, io)
    }

    /// A client that offers one send-only audio track, and joins.
    pub fn join(&mut self, n: u8, flags: Flags) -> usize {
        self.join_as(n, flags, Direction::SendOnly)
    }

    /// A client that publishes nothing: its one audio m-line only receives.
    pub fn join_listener(&mut self, n: u8, flags: Flags) -> usize {
        self.join_as(n, flags, Direction::RecvOnly)
    }

    /// A client that sends audio and a VP8 track as simulcast layers
    /// (rids listed lowest first), and joins.
    pub fn join_simulcast(&mut self, n: u8, flags: Flags, rids: &[&str]) -> usize {
        self.join_with(n, flags, Direction::SendOnly, rids)
    }

    fn join_as(&mut self, n: u8, flags: Flags, direction: Direction) -> usize {
        self.join_with(n, flags, direction, &[])
    }

    fn join_with(&mut self, n: u8, flags: Flags, direction: Direction, rids: &[&str]) -> usize {
        self.join_as_id(n, ParticipantId(n as u64), flags, direction, rids)
    }

    /// Client `i` leaves and joins again (a new participant, the same user
    /// and address), in its place in `clients`.
    pub fn rejoin(&mut self, i: usize, flags: Flags) {
        let old = self.clients[i].id;
        self.room.leave(old);
        let n = self.clients[i].n;
        let j = self.join_as_id(
            n,
            ParticipantId(old.0 + 1000),
            flags,
            Direction::SendOnly,
            &[],
        );
        let c = self.clients.swap_remove(j);
        self.clients[i] = c;
    }

    fn join_as_id(
        &mut self,
        n: u8,
        id: ParticipantId,
        flags: Flags,
        direction: Direction,
        rids: &[&str],
    ) -> usize {
        let addr: SocketAddr = format!("10.0.1.{n}:4000").parse().unwrap();
        let mut rtc = Rtc::builder().build(self.now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut api = rtc.sdp_api();
        let mid = api.add_media(MediaKind::Audio, direction, None, None, None);
        let video = (!rids.is_empty()).then(|| {
            let mut simulcast = Simulcast::new();
            for r in rids {
                simulcast.add_send_layer(SimulcastLayer::new(r));
            }
            let mid = api.add_media(MediaKind::Video, direction, None, None, Some(simulcast));
            (mid, rids.iter().map(|r| Rid::from(*r)).collect())
        });
        let (offer, pending) = api.apply().unwrap();
        let mut server = server_rtc(self.server, self.now).unwrap();
        let answer = accept_offer(&mut server, &offer.to_sdp_string()).unwrap();
        rtc.sdp_api()
            .accept_answer(
                pending,
                SdpAnswer::from_sdp_string(&answer.to_sdp_string()).unwrap(),
            )
            .unwrap();
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
            n,
            addr,
            rtc,
            id,
            user,
            mid: Some(mid),
            events,
            told: Vec::new(),
            received: Vec::new(),
            video,
            keyframe_requests: Vec::new(),
            keyframes_answered: 0,
            last_offer: None,
        });
        self.clients.len() - 1
    }

    /// Answers renegotiation offers the room sent, as a browser would.
    pub fn renegotiate(&mut self) {
        for i in 0..self.clients.len() {
            while let Ok(e) = self.clients[i].events.try_recv() {
                if let PeerEvent::Offer { sdp, tracks } = e {
                    self.clients[i].last_offer = Some(sdp.clone());
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

    pub fn step(&mut self) {
        for c in &mut self.clients {
            for _ in 0..1000 {
                match c.rtc.poll_output().unwrap() {
                    Output::Timeout(_) => break,
                    Output::Transmit(t) => self.queue.push_back(packet(t)),
                    Output::Event(Event::MediaData(d)) => c.received.push(d.data.to_vec()),
                    Output::Event(Event::KeyframeRequest(r)) => c.keyframe_requests.push(r.rid),
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
                let started = thread_cpu_time();
                let (room, mut io) = self.io();
                room.input(id, Input::Receive(now, receive), now, &mut io);
                self.server_time += thread_cpu_time().saturating_sub(started);
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
        let started = thread_cpu_time();
        if self.timers_only {
            for id in std::mem::take(&mut self.soon) {
                let (room, mut io) = self.io();
                room.input(id, Input::Timeout(now), now, &mut io);
            }
            for _ in 0..self.wakes.len() + 64 {
                let Some(&Reverse((at, id))) = self.wakes.peek() else {
                    break;
                };
                if at > now {
                    break;
                }
                self.wakes.pop();
                self.wakes_fired += 1;
                let (room, mut io) = self.io();
                room.timer(id, at, now, &mut io);
            }
        } else {
            for id in self.room.ids() {
                let (room, mut io) = self.io();
                room.input(id, Input::Timeout(now), now, &mut io);
            }
        }
        self.server_time += thread_cpu_time().saturating_sub(started);
        self.renegotiate();
    }

    pub fn connected(&self) -> bool {
        self.clients.iter().all(|c| c.rtc.is_connected())
    }

    /// One 20 ms Opus frame from client `i` (the payload is arbitrary bytes:
    /// the SFU forwards, it does not decode).
    pub fn speak(&mut self, i: usize, frame: u32) {
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

    /// One VP8 frame from client `i` on every simulcast layer, tagged with
    /// its layer and number; a keyframe when asked, or when the layer was
    /// asked for one since the last frame.
    pub fn send_video(&mut self, i: usize, frame: u32, keyframe: bool) {
        let now = self.now;
        let c = &mut self.clients[i];
        let Some((mid, rids)) = c.video.clone() else {
            return;
        };
        let asked = c.keyframe_requests[c.keyframes_answered..].to_vec();
        c.keyframes_answered = c.keyframe_requests.len();
        for rid in rids {
            let Some(writer) = c.rtc.writer(mid) else {
                return;
            };
            let Some(pt) = writer
                .payload_params()
                .find(|p| p.spec().codec == Codec::Vp8)
                .map(|p| p.pt())
            else {
                return;
            };
            let key = keyframe || asked.contains(&Some(rid));
            // The VP8 frame tag: bit 0 clear for a keyframe, which also
            // carries the start code; the tag says whose layer and frame.
            let mut data = if key {
                vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00]
            } else {
                vec![0x11, 0x02, 0x00]
            };
            data.extend_from_slice(
                format!("video {} frame {frame} from {}", &*rid, c.user).as_bytes(),
            );
            writer
                .rid(rid)
                .write(
                    pt,
                    now,
                    MediaTime::new(frame as u64 * 3000, str0m::media::Frequency::NINETY_KHZ),
                    data,
                )
                .unwrap();
        }
    }

    pub fn run(&mut self, steps: usize, speaker: Option<usize>) {
        let speakers: Vec<usize> = speaker.into_iter().collect();
        self.run_speakers(steps, &speakers);
    }

    /// Steps of 5 ms; each speaker sends a 20 ms frame every fourth.
    pub fn run_speakers(&mut self, steps: usize, speakers: &[usize]) {
        for s in 0..steps {
            if s % 4 == 0 {
                for &i in speakers {
                    self.speak(i, (s / 4) as u32);
                }
            }
            self.step();
        }
    }
}

/// CPU time this thread has used.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid timespec to write to.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

pub fn talking() -> Flags {
    Flags {
        can_speak: true,
        ..Flags::default()
    }
}

/// The simulcast layers (rids) of the video frames `c` received from
/// `user`, in order of arrival.
pub fn video_layers_from(c: &Client, user: Snowflake) -> Vec<String> {
    let tag = format!("from {user}");
    c.received
        .iter()
        .filter_map(|d| {
            let text = String::from_utf8_lossy(d);
            let at = text.find("video ")?;
            let text = &text[at..];
            text.ends_with(&tag)
                .then(|| text.split(' ').nth(1).unwrap_or("").to_string())
        })
        .collect()
}

pub fn frames_from(c: &Client, user: Snowflake) -> usize {
    let tag = format!("from {user}");
    c.received
        .iter()
        .filter(|d| String::from_utf8_lossy(d).ends_with(&tag))
        .count()
}
