//! One simulated participant's media: a str0m `Rtc` in RTP mode, its own
//! UDP socket (the SFU tells participants apart by source address), what
//! it publishes and what it receives.
//!
//! A peer does no waiting of its own. The media thread that owns it feeds
//! it datagrams and the passing of time, and asks it when it next wants to
//! be woken ([`Peer::wake_at`]): the earlier of str0m's timeout and the next
//! frame due.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Ssrc};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};
use tokio::sync::mpsc::UnboundedSender;

use super::accounting::{unrenumber, Arrival, Jitter, SeqTracker};
use super::engine::MediaShared;
use super::payload::{self, Trailer, Vp8Frame, OPUS_FRAME_SAMPLES, VIDEO_CLOCK, VIDEO_FPS};
use super::simulcast::{self, LayerTally, Quality, TrackLayers};

const AUDIO_FRAME: Duration = Duration::from_millis(20);
/// While a DTX speaker is silent, a comfort-noise update goes out this often.
const DTX_INTERVAL_FRAMES: u64 = 20;
/// -dBov in the RFC 6464 extension: loud while talking, silence otherwise.
const TALK_LEVEL: i8 = -10;
const SILENT_LEVEL: i8 = -127;

/// What a peer tells its participant's signaling task.
#[derive(Debug)]
pub enum PeerNote {
    /// ICE and DTLS are up (SRTP keys derived).
    Connected(Instant),
    /// The first RTP packet from another participant arrived.
    FirstMedia(Instant),
    /// The peer is dead: ICE disconnected, DTLS failed, socket error.
    Failed(String),
}

/// A track the SFU sends on one of our m-lines, as op 40's table says.
#[derive(Clone, Debug)]
pub struct RemoteTrack {
    pub mid: String,
    /// The publishing participant's index, if it is one of ours.
    pub publisher: Option<usize>,
    pub video: bool,
    /// The server renumbers the track's packets from 1 (Janus does, per
    /// subscriber): sequence numbers are mapped back to the publisher's by
    /// an offset ([`unrenumber`](super::accounting::unrenumber)) for
    /// latency; loss is counted on the numbers as received.
    pub renumbered: bool,
}

/// What to publish.
#[derive(Clone, Copy, Debug)]
pub struct Publish {
    pub audio: bool,
    pub video: bool,
}

/// Per received track, at the end.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrackResult {
    pub subscriber: usize,
    pub publisher: Option<usize>,
    pub kind: &'static str,
    pub packets: u64,
    pub duplicates: u64,
    /// From the first packet received to the publisher's last one.
    pub expected: u64,
    pub lost: u64,
    pub jitter_ms: f64,
    /// Latency over the packets whose send time was found.
    pub latency_mean_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
    /// A simulcast track's layers (null for any other).
    pub simulcast: Option<TrackLayers>,
}

struct RecvTrack {
    mid: Option<Mid>,
    publisher: Option<usize>,
    video: bool,
    renumbered: bool,
    /// Added to a renumbered track's sequence numbers to get the
    /// publisher's, once the first packet set it. For a simulcast track,
    /// from the trailer of the highest packet received, whose layer is
    /// `tail_layer`.
    seq_shift: Option<u16>,
    /// Which layers arrived, once a packet with a trailer did.
    layers: Option<LayerTally>,
    tail_layer: u8,
    seq: SeqTracker,
    jitter: Jitter,
    latency_sum_us: u64,
    latency_n: u64,
    latency_max_us: u64,
}

struct AudioOut {
    mid: Mid,
    seq: u64,
    /// RTP time of the next frame slot.
    rtp: u32,
    next: Instant,
    slot: u64,
    /// With simulated speakers: talking until (`true`) or silent until.
    talking: bool,
    turn_ends: Instant,
}

/// Every layer's frames go out at the same instants with the same RTP
/// time, as a browser's simulcast encoder sends them.
struct VideoOut {
    mid: Mid,
    rtp: u32,
    next: Instant,
    frame: u64,
    /// One per simulcast layer, lowest first; one without simulcast.
    layers: Vec<LayerOut>,
}

struct LayerOut {
    rid: Option<Rid>,
    seq: u64,
    keyframe_due: bool,
}

pub struct Peer {
    pub participant: usize,
    pub socket: mio::net::UdpSocket,
    local: SocketAddr,
    server: SocketAddr,
    /// The socket is connected to `server` only until the remote SDP
    /// names the server's candidate (Janus has a port per peer).
    server_from_sdp: bool,
    rtc: Rtc,
    pending: Option<SdpPendingOffer>,
    publish: Publish,
    our_audio: Option<Mid>,
    our_video: Option<Mid>,
    audio: Option<AudioOut>,
    video: Option<VideoOut>,
    remote: HashMap<Mid, RemoteTrack>,
    /// What this participant asked the SFU for, per simulcast track: the
    /// quality, the track's layers and when (epoch nanoseconds).
    asked: HashMap<Mid, (Quality, usize, u64)>,
    recv: Vec<RecvTrack>,
    by_ssrc: HashMap<Ssrc, usize>,
    notes: UnboundedSender<PeerNote>,
    connected: bool,
    first_media: bool,
    pub failed: Option<String>,
    rtc_timeout: Instant,
    /// Our payload types, once negotiated.
    opus_pt: Option<u8>,
    vp8_pt: Option<u8>,
    rng: u64,
    /// Where the media thread has this peer in its timer heap.
    pub scheduled: Option<Instant>,
}

impl Peer {
    /// A new peer for the server at `server`, with its offer.
    pub fn new(
        participant: usize,
        server: SocketAddr,
        server_from_sdp: bool,
        publish: Publish,
        video: Option<&VideoPlan>,
        notes: UnboundedSender<PeerNote>,
        now: Instant,
    ) -> Result<(Peer, String), String> {
        let bind: SocketAddr = if server.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let socket = std::net::UdpSocket::bind(bind).map_err(|e| format!("binding UDP: {e}"))?;
        // Connected: the kernel picks the source address that reaches the
        // server (the host candidate), and filters out anyone else.
        socket
            .connect(server)
            .map_err(|e| format!("connecting UDP to {server}: {e}"))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| format!("UDP non-blocking: {e}"))?;
        grow_receive_buffer(&socket);
        let local = socket
            .local_addr()
            .map_err(|e| format!("UDP local address: {e}"))?;
        let socket = mio::net::UdpSocket::from_std(socket);

        // str0m's default header extensions stay: among them the RTP
        // stream id (rid), which tells the SFU a simulcast layer's packets
        // apart, and the mid.
        let mut rtc = RtcConfig::new()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .set_stats_interval(None)
            .build(now);
        let candidate = Candidate::host(local, "udp").map_err(|e| format!("candidate: {e}"))?;
        rtc.add_local_candidate(candidate);
        let mut api = rtc.sdp_api();
        let stream = format!("lt-{participant}");
        let (mut our_audio, mut our_video) = (None, None);
        if publish.audio {
            our_audio = Some(api.add_media(
                MediaKind::Audio,
                Direction::SendOnly,
                Some(stream.clone()),
                Some(format!("{stream}-mic")),
                None,
            ));
        } else {
            // A listener: one receive-only m-line so there is something to
            // offer; the SFU sends every track on m-lines of its own.
            api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        }
        if publish.video {
            // The offer lists the rids lowest first: the order the SFU
            // maps qualities by.
            let simulcast = video.filter(|v| v.simulcast()).map(|v| Simulcast {
                send: v
                    .layers()
                    .iter()
                    .filter_map(|l| l.rid)
                    .map(SimulcastLayer::new)
                    .collect(),
                recv: vec![],
            });
            our_video = Some(api.add_media(
                MediaKind::Video,
                Direction::SendOnly,
                Some(stream.clone()),
                Some(format!("{stream}-cam")),
                simulcast,
            ));
        }
        let (offer, pending) = api.apply().ok_or("str0m made no offer")?;
        let peer = Peer {
            participant,
            socket,
            local,
            server,
            server_from_sdp,
            rtc,
            pending: Some(pending),
            publish,
            our_audio,
            our_video,
            audio: None,
            video: None,
            remote: HashMap::new(),
            asked: HashMap::new(),
            recv: Vec::new(),
            by_ssrc: HashMap::new(),
            notes,
            connected: false,
            first_media: false,
            failed: None,
            rtc_timeout: now,
            opus_pt: None,
            vp8_pt: None,
            rng: (participant as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            scheduled: None,
        };
        Ok((peer, offer.to_sdp_string()))
    }

    pub fn accept_answer(&mut self, sdp: &str) -> Result<(), String> {
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| format!("bad SDP answer: {e}"))?;
        let pending = self.pending.take().ok_or("no offer is pending")?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| format!("accepting the answer: {e}"))?;
        self.follow_server(sdp)
    }

    /// With `server_from_sdp`: connect the socket to the UDP host
    /// candidate the server's SDP names.
    fn follow_server(&mut self, sdp: &str) -> Result<(), String> {
        if !self.server_from_sdp {
            return Ok(());
        }
        let Some(addr) = udp_candidate(sdp, self.server.is_ipv4()) else {
            return Err("the server's SDP names no UDP candidate".into());
        };
        if addr != self.server {
            self.socket
                .connect(addr)
                .map_err(|e| format!("connecting UDP to {addr}: {e}"))?;
            self.server = addr;
        }
        Ok(())
    }

    /// The SFU's renegotiation (op 40): new tracks to receive.
    pub fn accept_offer(&mut self, sdp: &str, tracks: Vec<RemoteTrack>) -> Result<String, String> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| format!("bad SDP offer: {e}"))?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| format!("accepting the offer: {e}"))?;
        self.follow_server(sdp)?;
        for t in tracks {
            let mid: Mid = t.mid.as_str().into();
            self.remote.insert(mid, t);
        }
        Ok(answer.to_sdp_string())
    }

    /// The participant asked the SFU for `quality` of the simulcast track
    /// on `mid`, which has `layers` layers.
    pub fn asked(&mut self, mid: &str, quality: Quality, layers: usize, shared: &MediaShared) {
        let mid: Mid = mid.into();
        let at = shared.epoch.nanos(Instant::now());
        self.asked.insert(mid, (quality, layers, at));
        for t in self.recv.iter_mut().filter(|t| t.mid == Some(mid)) {
            if let Some(tally) = t.layers.as_mut() {
                tally.ask(quality, layers, at);
            }
        }
    }

    /// Reads every datagram waiting on the socket.
    pub fn read_socket(&mut self, buf: &mut [u8], shared: &MediaShared) {
        loop {
            let (n, source) = match self.socket.recv_from(buf) {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // ICMP port unreachable and the like: the server went away
                // or is not there yet; str0m's timeouts decide.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(e) => {
                    self.fail(format!("UDP receive: {e}"));
                    return;
                }
            };
            let now = Instant::now();
            let Ok(receive) = Receive::new(Protocol::Udp, source, self.local, &buf[..n]) else {
                continue;
            };
            if let Err(e) = self.rtc.handle_input(Input::Receive(now, receive)) {
                self.fail(format!("str0m input: {e}"));
                return;
            }
            self.drive(now, shared);
        }
    }

    /// Time passed: str0m's timers, and frames that are due.
    pub fn on_timer(&mut self, now: Instant, shared: &MediaShared) {
        let sending = shared.sending.load(Ordering::Relaxed);
        if sending && self.connected {
            self.send_due(now, shared);
        }
        if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
            self.fail(format!("str0m timeout: {e}"));
            return;
        }
        self.drive(now, shared);
    }

    /// When this peer next has something to do.
    pub fn wake_at(&self, shared: &MediaShared) -> Instant {
        let mut at = self.rtc_timeout;
        if self.connected && shared.sending.load(Ordering::Relaxed) {
            if let Some(a) = &self.audio {
                at = at.min(a.next);
            }
            if let Some(v) = &self.video {
                at = at.min(v.next);
            }
        }
        at
    }

    fn fail(&mut self, why: String) {
        if self.failed.is_none() {
            let _ = self.notes.send(PeerNote::Failed(why.clone()));
            self.failed = Some(why);
        }
    }

    /// Polls str0m until it has nothing more to say.
    fn drive(&mut self, now: Instant, shared: &MediaShared) {
        // Bounded: str0m yields a Timeout once its queues are empty.
        for _ in 0..100_000 {
            if self.failed.is_some() {
                return;
            }
            if !self.rtc.is_alive() {
                self.fail("the peer connection closed (ICE or DTLS failed)".into());
                return;
            }
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.rtc_timeout = t;
                    return;
                }
                Ok(Output::Transmit(t)) => {
                    let sent = if t.destination == self.server {
                        self.socket.send(&t.contents)
                    } else {
                        self.socket.send_to(&t.contents, t.destination)
                    };
                    match sent {
                        Ok(_) => {
                            if is_rtp(&t.contents) {
                                shared.rtp_datagrams_out.fetch_add(1, Ordering::Relaxed);
                                // SRTP leaves the header, and so the
                                // payload type, in the clear.
                                let pt = t.contents[1] & 0x7f;
                                if Some(pt) == self.opus_pt {
                                    shared.audio_datagrams_out.fetch_add(1, Ordering::Relaxed);
                                } else if Some(pt) == self.vp8_pt {
                                    shared.video_datagrams_out.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                        // A full socket buffer drops the datagram, as a
                        // congested network would; it shows up as loss.
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            shared.send_drops.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                        Err(e) => {
                            self.fail(format!("UDP send: {e}"));
                            return;
                        }
                    }
                }
                Ok(Output::Event(e)) => self.on_event(e, now, shared),
                Err(e) => {
                    self.fail(format!("str0m: {e}"));
                    return;
                }
            }
        }
    }

    fn on_event(&mut self, event: Event, now: Instant, shared: &MediaShared) {
        match event {
            Event::Connected => {
                self.connected = true;
                let _ = self.notes.send(PeerNote::Connected(now));
                self.start_publishing(now, shared);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.fail("ICE disconnected".into());
            }
            Event::RtpPacket(pkt) => self.on_rtp(pkt, shared),
            // A simulcast layer's request names its rid; one without a rid
            // is for every layer.
            Event::KeyframeRequest(req) => {
                if let Some(v) = self.video.as_mut().filter(|v| v.mid == req.mid) {
                    for l in &mut v.layers {
                        if req.rid.is_none() || l.rid.is_none() || l.rid == req.rid {
                            l.keyframe_due = true;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    fn start_publishing(&mut self, now: Instant, shared: &MediaShared) {
        self.opus_pt = self.payload_type(Codec::Opus).map(|p| *p);
        self.vp8_pt = self.payload_type(Codec::Vp8).map(|p| *p);
        // Sequence numbers start at a random point, as browsers do, low
        // enough that a run does not wrap before late joiners arrive.
        if let (Some(mid), None) = (self.our_audio, &self.audio) {
            let seq = self.random() % 30_000;
            let rtp = self.random() as u32;
            let spread = Duration::from_micros(self.random() % 20_000);
            self.audio = Some(AudioOut {
                mid,
                seq,
                rtp,
                next: now + spread,
                slot: 0,
                talking: true,
                turn_ends: now + Duration::from_millis(500 + self.random() % 3000),
            });
        }
        if let (Some(mid), None, Some(plan)) = (self.our_video, &self.video, &shared.video) {
            let layers = plan
                .layers()
                .iter()
                .map(|l| LayerOut {
                    rid: l.rid.map(Rid::from),
                    seq: self.random() % 30_000,
                    keyframe_due: true,
                })
                .collect();
            let rtp = self.random() as u32;
            let spread = Duration::from_micros(self.random() % 33_000);
            self.video = Some(VideoOut {
                mid,
                rtp,
                next: now + spread,
                frame: 0,
                layers,
            });
        }
    }

    fn payload_type(&self, codec: Codec) -> Option<str0m::media::Pt> {
        self.rtc
            .codec_config()
            .find(|c| c.spec().codec == codec)
            .map(|c| c.pt())
    }

    fn send_due(&mut self, now: Instant, shared: &MediaShared) {
        if self.publish.audio {
            self.send_audio_due(now, shared);
        }
        if self.publish.video {
            self.send_video_due(now, shared);
        }
    }

    fn send_audio_due(&mut self, now: Instant, shared: &MediaShared) {
        let Some(pt) = self.payload_type(Codec::Opus) else {
            return;
        };
        let speakers = shared.simulate_speakers;
        let table = shared.table(self.participant, false);
        // Frames that fell due while the thread was busy go out now, each
        // with its own RTP time, as a real client catching up would.
        for _ in 0..50 {
            let r = self.random();
            let Some(a) = self.audio.as_mut() else { return };
            if a.next > now {
                return;
            }
            if speakers && now >= a.turn_ends {
                // Talk spurts of 1-4 s, silences of 1-6 s.
                a.talking = !a.talking;
                let (lo, span) = if a.talking {
                    (1000, 3000)
                } else {
                    (1000, 5000)
                };
                a.turn_ends = now + Duration::from_millis(lo + r % span);
            }
            let talking = !speakers || a.talking;
            let (payload, level) = if talking {
                let i = (a.slot % shared.opus.speech.len() as u64) as usize;
                (Some(shared.opus.speech[i].clone()), TALK_LEVEL)
            } else if a.slot % DTX_INTERVAL_FRAMES == 0 {
                (Some(shared.opus.comfort_noise.clone()), SILENT_LEVEL)
            } else {
                (None, SILENT_LEVEL)
            };
            let (mid, seq, rtp) = (a.mid, a.seq, a.rtp);
            a.slot += 1;
            a.rtp = a.rtp.wrapping_add(OPUS_FRAME_SAMPLES);
            a.next += AUDIO_FRAME;
            let Some(payload) = payload else { continue };
            a.seq += 1;
            let bytes = payload.len() as u64;
            let write =
                RtpWrite::new(pt, seq.into(), rtp, now, payload).ext_vals(ExtensionValues {
                    audio_level: Some(level),
                    voice_activity: Some(talking),
                    ..Default::default()
                });
            let mut api = self.rtc.direct_api();
            let Some(tx) = api.stream_tx_by_mid(mid, None) else {
                return;
            };
            if let Some(t) = table {
                t.stamp(seq, shared.epoch.nanos(now));
            }
            tx.write_rtp(write);
            shared.audio_written.fetch_add(1, Ordering::Relaxed);
            shared.packets_out.fetch_add(1, Ordering::Relaxed);
            shared.bytes_out.fetch_add(bytes, Ordering::Relaxed);
        }
        // Hopelessly behind (a stalled thread): skip ahead rather than burst.
        if let Some(a) = self.audio.as_mut() {
            if a.next <= now {
                let behind = now.duration_since(a.next).as_micros() / AUDIO_FRAME.as_micros();
                let skip = behind as u32 + 1;
                a.next += AUDIO_FRAME * skip;
                a.rtp = a.rtp.wrapping_add(OPUS_FRAME_SAMPLES * skip);
                a.slot += u64::from(skip);
            }
        }
    }

    fn send_video_due(&mut self, now: Instant, shared: &MediaShared) {
        let Some(plan) = shared.video else { return };
        let Some(pt) = self.payload_type(Codec::Vp8) else {
            return;
        };
        let simulcast = plan.simulcast();
        let interval = Duration::from_secs(1) / VIDEO_FPS;
        for _ in 0..10 {
            let Some(v) = self.video.as_mut() else { return };
            if v.next > now {
                return;
            }
            let periodic_keyframe = v.frame % u64::from(plan.keyframe_every) == 0;
            let (mid, rtp, frame) = (v.mid, v.rtp, v.frame);
            v.frame += 1;
            v.rtp = v.rtp.wrapping_add(VIDEO_CLOCK / VIDEO_FPS);
            v.next += interval;
            let sent_nanos = shared.epoch.nanos(now);
            for (index, (layer, out)) in plan.layers().iter().zip(&mut v.layers).enumerate() {
                let keyframe = out.keyframe_due || periodic_keyframe;
                out.keyframe_due = false;
                let mut packets = payload::vp8_frame_packets(&Vp8Frame {
                    keyframe,
                    size: if keyframe {
                        layer.keyframe_bytes
                    } else {
                        layer.interframe_bytes
                    },
                    picture_id: frame as u16,
                    dimensions: layer.dimensions,
                    trailer: simulcast,
                });
                let first_seq = out.seq;
                out.seq += packets.len() as u64;
                let table = if simulcast {
                    shared.layer_table(self.participant, index as u8)
                } else {
                    shared.table(self.participant, true)
                };
                let mut api = self.rtc.direct_api();
                let Some(tx) = api.stream_tx_by_mid(mid, out.rid) else {
                    continue;
                };
                let last = packets.len() - 1;
                for (i, mut p) in packets.drain(..).enumerate() {
                    let seq = first_seq + i as u64;
                    if simulcast {
                        Trailer {
                            layer: index as u8,
                            seq: seq as u16,
                            sent_nanos,
                        }
                        .write(&mut p);
                    }
                    let bytes = p.len() as u64;
                    if let Some(t) = table {
                        t.stamp(seq, sent_nanos);
                    }
                    tx.write_rtp(
                        RtpWrite::new(pt, seq.into(), rtp, now, p)
                            .marker(i == last)
                            .nackable(true),
                    );
                    shared.video_written.fetch_add(1, Ordering::Relaxed);
                    shared.packets_out.fetch_add(1, Ordering::Relaxed);
                    shared.bytes_out.fetch_add(bytes, Ordering::Relaxed);
                }
            }
        }
        if let Some(v) = self.video.as_mut() {
            if v.next <= now {
                let behind = now.duration_since(v.next).as_micros() / interval.as_micros();
                let skip = behind as u32 + 1;
                v.next += interval * skip;
                v.rtp = v.rtp.wrapping_add(VIDEO_CLOCK / VIDEO_FPS * skip);
                v.frame += u64::from(skip);
            }
        }
    }

    fn on_rtp(&mut self, pkt: RtpPacket, shared: &MediaShared) {
        let ssrc = pkt.header.ssrc;
        let index = match self.by_ssrc.get(&ssrc) {
            Some(i) => *i,
            None => {
                let mid = self.rtc.direct_api().stream_rx(&ssrc).map(|s| s.mid());
                let track = mid.and_then(|m| self.remote.get(&m));
                let video = track.map_or(pkt.header.payload_type == self.vp8_pt(), |t| t.video);
                self.recv.push(RecvTrack {
                    mid,
                    publisher: track.and_then(|t| t.publisher),
                    video,
                    renumbered: track.is_some_and(|t| t.renumbered),
                    seq_shift: None,
                    layers: None,
                    tail_layer: 0,
                    seq: SeqTracker::default(),
                    jitter: Jitter::new(if video { VIDEO_CLOCK } else { 48_000 }),
                    latency_sum_us: 0,
                    latency_n: 0,
                    latency_max_us: 0,
                });
                self.by_ssrc.insert(ssrc, self.recv.len() - 1);
                self.recv.len() - 1
            }
        };
        let arrival = pkt.timestamp;
        let seq = pkt.header.sequence_number;
        let t = &mut self.recv[index];
        shared.packets_in.fetch_add(1, Ordering::Relaxed);
        shared
            .bytes_in
            .fetch_add(pkt.payload.len() as u64, Ordering::Relaxed);
        match t.seq.on_packet(seq) {
            Arrival::Duplicate => return,
            Arrival::New { advanced } => {
                if t.publisher.is_some() {
                    shared.expected.fetch_add(advanced, Ordering::Relaxed);
                    shared.received.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        t.jitter.on_packet(
            arrival.saturating_duration_since(shared.epoch.0),
            pkt.header.timestamp,
        );
        let arrived = shared.epoch.nanos(arrival);
        let trailer = match shared.video {
            Some(plan) if t.video && plan.simulcast() => Trailer::read(&pkt.payload),
            _ => None,
        };
        let sent = if let Some(trailer) = trailer {
            let asked = t.mid.and_then(|m| self.asked.get(&m)).copied();
            t.layers
                .get_or_insert_with(|| {
                    // Until the subscriber says, the layers our publishers
                    // send.
                    let (layers, settle) = shared
                        .video
                        .map_or((1, Duration::ZERO), |v| (v.layers().len(), v.settle));
                    let mut tally = LayerTally::new(layers, settle);
                    if let Some((quality, layers, at)) = asked {
                        tally.ask(quality, layers, at);
                    }
                    tally
                })
                .on_packet(trailer.layer, pkt.payload.len(), arrived);
            if t.seq.highest_seq() == Some(seq) {
                t.seq_shift = Some(trailer.seq.wrapping_sub(seq));
                t.tail_layer = trailer.layer;
            }
            Some(trailer.sent_nanos)
        } else {
            let table = t.publisher.and_then(|p| shared.table(p, t.video));
            let theirs = match table {
                Some(table) if t.renumbered => unrenumber(table, &mut t.seq_shift, seq, arrived),
                _ => Some(seq),
            };
            table.zip(theirs).and_then(|(table, s)| table.sent_at(s))
        };
        if let Some(sent) = sent {
            let us = arrived.saturating_sub(sent) / 1000;
            t.latency_sum_us += us;
            t.latency_n += 1;
            t.latency_max_us = t.latency_max_us.max(us);
            shared.latency.record_micros(us);
            shared.interval_latency.record_micros(us);
        }
        if !self.first_media && t.publisher.is_some() {
            self.first_media = true;
            let _ = self.notes.send(PeerNote::FirstMedia(arrival));
        }
    }

    fn vp8_pt(&self) -> str0m::media::Pt {
        self.payload_type(Codec::Vp8).unwrap_or(96.into())
    }

    /// What this peer received, track by track.
    pub fn results(&self, shared: &MediaShared) -> Vec<TrackResult> {
        self.recv
            .iter()
            .map(|t| {
                let table = match (t.publisher, &t.layers) {
                    (Some(p), Some(_)) => shared.layer_table(p, t.tail_layer),
                    (Some(p), None) => shared.table(p, t.video),
                    (None, _) => None,
                };
                let last_sent = table
                    .and_then(|table| table.last_seq())
                    // In the numbers as received.
                    .map(|l| l.wrapping_sub(t.seq_shift.unwrap_or(0)));
                TrackResult {
                    subscriber: self.participant,
                    publisher: t.publisher,
                    kind: if t.video { "video" } else { "audio" },
                    packets: t.seq.received,
                    duplicates: t.seq.duplicates,
                    expected: t.seq.expected_until(last_sent),
                    lost: t.seq.lost(last_sent),
                    jitter_ms: t.jitter.millis(),
                    latency_mean_ms: (t.latency_n > 0)
                        .then(|| t.latency_sum_us as f64 / t.latency_n as f64 / 1000.0),
                    latency_max_ms: (t.latency_n > 0).then(|| t.latency_max_us as f64 / 1000.0),
                    simulcast: t.layers.as_ref().map(LayerTally::result),
                }
            })
            .collect()
    }
}

/// Whether a datagram is (S)RTP rather than RTCP, STUN or DTLS: version 2
/// in the first byte, and a second byte that is not an RTCP packet type
/// (RFC 5761 §4: 64..=95 with the marker bit masked off).
fn is_rtp(d: &[u8]) -> bool {
    d.len() >= 12 && (128..=191).contains(&d[0]) && !(64..=95).contains(&(d[1] & 0x7f))
}

/// The first UDP host candidate (of the address family asked for) in an
/// SDP: `a=candidate:<foundation> <component> udp <priority> <ip> <port>
/// typ host`.
pub fn udp_candidate(sdp: &str, ipv4: bool) -> Option<SocketAddr> {
    sdp.lines().find_map(|line| {
        let c = line.trim().strip_prefix("a=candidate:")?;
        let f: Vec<&str> = c.split_whitespace().collect();
        if f.len() < 8 || !f[2].eq_ignore_ascii_case("udp") || f[7] != "host" {
            return None;
        }
        let ip: std::net::IpAddr = f[4].parse().ok()?;
        let port: u16 = f[5].parse().ok()?;
        (ip.is_ipv4() == ipv4).then_some(SocketAddr::new(ip, port))
    })
}

/// One layer of the video a publisher sends (the only one without
/// simulcast).
#[derive(Clone, Copy, Debug)]
pub struct LayerPlan {
    /// Its simulcast rid; none without simulcast.
    pub rid: Option<&'static str>,
    pub keyframe_bytes: usize,
    pub interframe_bytes: usize,
    pub dimensions: (u16, u16),
}

/// Frame sizes of the video a publisher sends.
#[derive(Clone, Copy, Debug)]
pub struct VideoPlan {
    layers: [LayerPlan; simulcast::LAYERS.len()],
    layer_count: usize,
    /// A keyframe every this many frames (and whenever one is requested).
    pub keyframe_every: u32,
    /// With simulcast: how long after its first packet (or the ask) a
    /// received track's layer is judged.
    pub settle: Duration,
}

impl VideoPlan {
    /// `kbps` for one stream, or with `simulcast` for the top layer, the
    /// others getting a half and a quarter of it.
    pub fn new(kbps: u32, keyframe_interval: Duration, simulcast: bool) -> VideoPlan {
        let every =
            ((keyframe_interval.as_secs_f64() * f64::from(VIDEO_FPS)).round() as u32).max(1);
        let layers = simulcast::LAYERS.map(|l| {
            let kbps = if simulcast {
                kbps / l.kbps_divisor
            } else {
                kbps
            };
            let (keyframe_bytes, interframe_bytes) = payload::vp8_frame_sizes(kbps, every);
            LayerPlan {
                rid: simulcast.then_some(l.rid),
                keyframe_bytes,
                interframe_bytes,
                dimensions: if simulcast {
                    l.dimensions
                } else {
                    payload::DIMENSIONS
                },
            }
        });
        VideoPlan {
            layers,
            layer_count: if simulcast { layers.len() } else { 1 },
            keyframe_every: every,
            settle: simulcast::settle(keyframe_interval),
        }
    }

    /// Lowest first.
    pub fn layers(&self) -> &[LayerPlan] {
        &self.layers[..self.layer_count]
    }

    pub fn simulcast(&self) -> bool {
        self.layer_count > 1
    }
}

/// A peer's receive buffer, so a media thread that was not scheduled for a
/// moment does not lose what arrived meanwhile (the default holds only some
/// 250 small datagrams). `SO_RCVBUFFORCE` where the process may, else
/// `SO_RCVBUF`, which the kernel caps at `net.core.rmem_max`.
fn grow_receive_buffer(socket: &std::net::UdpSocket) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        const SIZE: libc::c_int = 1 << 20;
        for option in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
            // SAFETY: a valid socket, an int option and its size.
            let done = unsafe {
                libc::setsockopt(
                    socket.as_raw_fd(),
                    libc::SOL_SOCKET,
                    option,
                    (&SIZE as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                ) == 0
            };
            if done {
                break;
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = socket;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_udp_host_candidate_is_found_in_its_sdp() {
        let sdp = "v=0\r\n\
            a=candidate:1 1 tcp 1518280447 10.200.0.1 9 typ host tcptype active\r\n\
            a=candidate:2 1 udp 2015363327 fe80::1 40001 typ host\r\n\
            a=candidate:3 1 udp 2015363327 10.200.0.1 40002 typ host\r\n\
            a=end-of-candidates\r\n";
        assert_eq!(
            udp_candidate(sdp, true),
            Some("10.200.0.1:40002".parse().unwrap())
        );
        assert_eq!(
            udp_candidate(sdp, false),
            Some("[fe80::1]:40001".parse().unwrap())
        );
        assert_eq!(udp_candidate("v=0\r\n", true), None);
    }

    #[test]
    fn rtp_is_told_from_rtcp_stun_and_dtls() {
        let mut rtp = [0u8; 20];
        rtp[0] = 0x80;
        rtp[1] = 111;
        assert!(is_rtp(&rtp));
        rtp[1] = 0x80 | 96; // marker set, VP8
        assert!(is_rtp(&rtp));
        rtp[1] = 200; // sender report
        assert!(!is_rtp(&rtp));
        rtp[1] = 205; // transport feedback
        assert!(!is_rtp(&rtp));
        let stun = [0u8, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0, 0, 0];
        assert!(!is_rtp(&stun));
        let dtls = [22u8, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(!is_rtp(&dtls));
    }
}
