//! A voice client for the end-to-end tests: a main-gateway session (op 4,
//! VOICE_STATE_UPDATE, VOICE_SERVER_UPDATE), the voice WebSocket (Discord
//! voice v8 opcodes plus Hearth's op 40/41 renegotiation) and an independent
//! WebRTC stack (webrtc-rs) that sends and receives real media over loopback.
//!
//! How the pieces fit:
//! - [`VoiceWs`] owns one voice WebSocket through a background task. The
//!   task heartbeats on the server's interval and applies every SDP the
//!   server sends to the peer connection *in order* (op 4's answer, then each
//!   op 40 offer, answered with op 41), so a renegotiation can never overtake
//!   the answer it builds on. Every payload is also queued for the test.
//! - [`VoiceClient`] joins a channel the way a Discord client does, builds
//!   the peer connection (one loopback host candidate, no ICE servers, mDNS
//!   off), publishes a real Opus tone or a prepared clip of real VP8, H264,
//!   VP9 or AV1 frames ([`video`]), and records what arrives per remote user
//!   (resolved through the mid → user_id table of the latest op 40), video
//!   reassembled into frames by the codec its payload type has in op 40.
//!
//! Every wait is bounded.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::f64::consts::PI;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp::extension::audio_level_extension::AudioLevelExtension;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState,
    RTCPeerConnectionState, RTCSessionDescription, Registry, SettingEngineBuilder,
};

mod video;
pub use video::*;

use crate::gateway_client::{
    intents, login_opts, op as gw_op, Closed, Gateway, Options, EVENT_TIMEOUT,
};
use crate::harness::{str_field, Api, User};

/// How long a test waits for media-plane things (ICE, DTLS, first packets)
/// on a small, busy machine running unoptimised builds.
pub const MEDIA_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a test watches for media that must not arrive.
pub const MEDIA_QUIET: Duration = Duration::from_millis(1500);
/// The intents a voice client identifies with.
pub const VOICE_INTENTS: u64 = intents::GUILDS | intents::GUILD_VOICE_STATES;

/// The RFC 6464 header extension.
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
/// -dBov sent with the tone: loud (0 is the loudest, 127 silence).
pub const TONE_LEVEL: u8 = 10;

pub const SAMPLE_RATE: u32 = 48_000;
/// 20 ms of 48 kHz mono.
pub const FRAME_SAMPLES: usize = 960;

/// Voice gateway opcodes.
pub mod vop {
    pub const IDENTIFY: u64 = 0;
    pub const SELECT_PROTOCOL: u64 = 1;
    pub const READY: u64 = 2;
    pub const HEARTBEAT: u64 = 3;
    pub const SESSION_DESCRIPTION: u64 = 4;
    pub const SPEAKING: u64 = 5;
    pub const HEARTBEAT_ACK: u64 = 6;
    pub const RESUME: u64 = 7;
    pub const HELLO: u64 = 8;
    pub const RESUMED: u64 = 9;
    pub const CLIENTS_CONNECT: u64 = 11;
    pub const CLIENT_DISCONNECT: u64 = 13;
    pub const SERVER_OFFER: u64 = 40;
    pub const CLIENT_ANSWER: u64 = 41;
    pub const VIDEO_QUALITY: u64 = 42;
}

/// Voice gateway close codes.
pub mod vclose {
    pub const DECODE_ERROR: u16 = 4002;
    pub const NOT_AUTHENTICATED: u16 = 4003;
    pub const AUTHENTICATION_FAILED: u16 = 4004;
    pub const BAD_REQUEST: u16 = 4020;
    pub const RATE_LIMITED: u16 = 4021;
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A small xorshift generator: SSRCs and sprayed bytes need no more.
pub struct XorShift(u64);

impl XorShift {
    pub fn seeded() -> XorShift {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        let seed = nanos
            ^ (COUNTER.fetch_add(1, Ordering::Relaxed) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        XorShift(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next_u64() as u8;
        }
    }
}

// ---------------------------------------------------------------------------
// Tone generation and analysis
// ---------------------------------------------------------------------------

/// One 20 ms frame of a sine at `hz`, continuing from sample `n0`.
pub fn sine_frame(hz: f64, n0: u64, amplitude: f64) -> Vec<i16> {
    (0..FRAME_SAMPLES as u64)
        .map(|i| {
            let t = (n0 + i) as f64 / SAMPLE_RATE as f64;
            ((2.0 * PI * hz * t).sin() * amplitude * i16::MAX as f64) as i16
        })
        .collect()
}

/// Power of `samples` at `hz` (the Goertzel algorithm).
pub fn goertzel_power(samples: &[f32], hz: f64, rate: f64) -> f64 {
    let w = 2.0 * PI * hz / rate;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = x as f64 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

fn hann(samples: &[f32]) -> Vec<f32> {
    let n = samples.len().max(2) as f64;
    samples
        .iter()
        .enumerate()
        .map(|(i, &x)| x * (0.5 - 0.5 * (2.0 * PI * i as f64 / (n - 1.0)).cos()) as f32)
        .collect()
}

/// The frequency with the most power between 50 Hz and 4 kHz: a coarse
/// scan over a short window (wide peaks, so 5 Hz steps cannot miss one),
/// then a fine scan around the coarse peak over the whole signal.
pub fn dominant_frequency(samples: &[f32], rate: f64) -> f64 {
    assert!(
        samples.len() >= 4800,
        "need at least 100 ms of audio, got {} samples",
        samples.len()
    );
    let short = hann(&samples[samples.len() - 4800..]);
    let mut best = (0.0, f64::MIN);
    let mut hz = 50.0;
    while hz <= 4000.0 {
        let p = goertzel_power(&short, hz, rate);
        if p > best.1 {
            best = (hz, p);
        }
        hz += 5.0;
    }
    let long = hann(samples);
    let coarse = best.0;
    let mut fine = (coarse, f64::MIN);
    let mut hz = coarse - 12.0;
    while hz <= coarse + 12.0 {
        let p = goertzel_power(&long, hz, rate);
        if p > fine.1 {
            fine = (hz, p);
        }
        hz += 0.25;
    }
    fine.0
}

pub fn rms(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples
        .iter()
        .map(|&x| (x as f64) * (x as f64))
        .sum::<f64>()
        / samples.len() as f64)
        .sqrt()
}

// ---------------------------------------------------------------------------
// SDP sections (to map a received track to its mid)
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, Default)]
pub struct SdpSection {
    pub kind: String,
    pub mid: String,
    pub ssrcs: Vec<u32>,
    pub msid_stream: Option<String>,
    pub msid_track: Option<String>,
    pub direction: Option<String>,
}

pub fn sdp_sections(sdp: &str) -> Vec<SdpSection> {
    let mut out: Vec<SdpSection> = Vec::new();
    for line in sdp.lines() {
        let line = line.trim_end();
        if let Some(m) = line.strip_prefix("m=") {
            out.push(SdpSection {
                kind: m.split(' ').next().unwrap_or("").to_string(),
                ..SdpSection::default()
            });
            continue;
        }
        let Some(cur) = out.last_mut() else { continue };
        if let Some(mid) = line.strip_prefix("a=mid:") {
            cur.mid = mid.to_string();
        } else if let Some(rest) = line.strip_prefix("a=msid:") {
            let mut parts = rest.split(' ');
            cur.msid_stream = parts.next().map(str::to_string);
            cur.msid_track = parts.next().map(str::to_string);
        } else if let Some(rest) = line.strip_prefix("a=ssrc:") {
            let mut parts = rest.splitn(2, ' ');
            if let Some(Ok(ssrc)) = parts.next().map(str::parse::<u32>) {
                if !cur.ssrcs.contains(&ssrc) {
                    cur.ssrcs.push(ssrc);
                }
                if let Some(attr) = parts.next() {
                    if let Some(msid) = attr.strip_prefix("msid:") {
                        let mut p = msid.split(' ');
                        if cur.msid_stream.is_none() {
                            cur.msid_stream = p.next().map(str::to_string);
                            cur.msid_track = p.next().map(str::to_string);
                        }
                    }
                }
            }
        } else if let Some(a) = line.strip_prefix("a=") {
            if matches!(a, "sendrecv" | "sendonly" | "recvonly" | "inactive") {
                cur.direction = Some(a.to_string());
            }
        }
    }
    out
}

/// What an SDP says a payload type is: `a=rtpmap` and `a=fmtp`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtpMap {
    /// The encoding name (`H264`, `VP9`, ...).
    pub name: String,
    /// The `a=fmtp` parameters, as key → value.
    pub fmtp: HashMap<String, String>,
}

/// Every payload type an SDP describes (all m-lines: under BUNDLE they
/// share one numbering).
pub fn sdp_payload_types(sdp: &str) -> HashMap<u8, RtpMap> {
    let mut out: HashMap<u8, RtpMap> = HashMap::new();
    for line in sdp.lines().map(str::trim_end) {
        if let Some(rest) = line.strip_prefix("a=rtpmap:") {
            let mut parts = rest.splitn(2, ' ');
            let (Some(Ok(pt)), Some(enc)) = (parts.next().map(str::parse::<u8>), parts.next())
            else {
                continue;
            };
            out.entry(pt).or_default().name = enc.split('/').next().unwrap_or("").to_string();
        } else if let Some(rest) = line.strip_prefix("a=fmtp:") {
            let mut parts = rest.splitn(2, ' ');
            let (Some(Ok(pt)), Some(params)) = (parts.next().map(str::parse::<u8>), parts.next())
            else {
                continue;
            };
            let fmtp = &mut out.entry(pt).or_default().fmtp;
            for kv in params.split(';') {
                let mut kv = kv.splitn(2, '=');
                if let (Some(k), Some(v)) = (kv.next(), kv.next()) {
                    fmtp.insert(k.trim().to_string(), v.trim().to_string());
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// What a client received
// ---------------------------------------------------------------------------

/// One reassembled video frame.
#[derive(Clone, Debug)]
pub struct VideoFrame {
    pub codec: VideoCodec,
    /// The payload type it arrived with.
    pub pt: u8,
    pub keyframe: bool,
    pub data: Vec<u8>,
}

#[derive(Default, Debug)]
pub struct Received {
    pub audio_packets: usize,
    /// Opus payloads in arrival order (the most recent ones).
    pub opus: VecDeque<Vec<u8>>,
    /// Packets that carried the audio-level extension's value.
    pub audio_levels: Vec<u8>,
    pub video_packets: usize,
    pub frames: Vec<VideoFrame>,
    /// Payload types of video packets whose codec op 40 did not name (or
    /// which this client cannot reassemble).
    pub unknown_video_pts: Vec<u8>,
    assembler: Option<FrameAssembler>,
}

const KEEP_OPUS: usize = 500;
const KEEP_FRAMES: usize = 2000;

impl Received {
    fn on_audio(&mut self, payload: &[u8]) {
        self.audio_packets += 1;
        self.opus.push_back(payload.to_vec());
        while self.opus.len() > KEEP_OPUS {
            self.opus.pop_front();
        }
    }

    fn on_video(&mut self, codec: Option<VideoCodec>, pkt: &rtc::rtp::Packet) {
        self.video_packets += 1;
        let pt = pkt.header.payload_type;
        let Some(codec) = codec else {
            if !self.unknown_video_pts.contains(&pt) {
                self.unknown_video_pts.push(pt);
            }
            return;
        };
        if self.assembler.as_ref().map(|a| a.codec()) != Some(codec) {
            self.assembler = Some(FrameAssembler::new(codec));
        }
        let asm = self.assembler.as_mut().expect("set just above");
        let frame = asm.push(pkt.header.sequence_number, &pkt.payload, pkt.header.marker);
        if let Some(data) = frame {
            if self.frames.len() < KEEP_FRAMES {
                self.frames.push(VideoFrame {
                    codec,
                    pt,
                    keyframe: codec.is_keyframe(&data),
                    data,
                });
            }
        }
    }

    /// Frames after the first keyframe (which is included).
    pub fn frames_from_first_keyframe(&self) -> &[VideoFrame] {
        match self.frames.iter().position(|f| f.keyframe) {
            Some(i) => &self.frames[i..],
            None => &[],
        }
    }
}

/// State shared by the test side, the voice WebSocket task and the peer
/// connection's callbacks.
pub struct Shared {
    label: String,
    pc: Mutex<Option<Arc<dyn PeerConnection>>>,
    /// mid → user_id, from the latest op 40.
    mid_users: Mutex<HashMap<String, String>>,
    /// The sections of the latest remote offer (op 40).
    sections: Mutex<Vec<SdpSection>>,
    /// The payload types of the latest remote offer (op 40).
    offer_pts: Mutex<HashMap<u8, RtpMap>>,
    received: Mutex<HashMap<String, Received>>,
    pc_states: Mutex<Vec<RTCPeerConnectionState>>,
    gathering_complete: Mutex<bool>,
    /// Remote tracks seen: (resolved user or a placeholder, kind).
    tracks: Mutex<Vec<(String, String)>>,
    /// How many op 40 offers were applied and answered.
    answered: AtomicU64,
    /// The highest `seq` of a server frame handled (-1 before any): the
    /// `seq_ack` of heartbeats and Resume.
    seq: std::sync::atomic::AtomicI64,
    /// Which peer connection is current: a replaced one's callbacks (its
    /// closing, say) must not count as the new one's.
    generation: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub fn new(label: &str) -> Arc<Shared> {
        Arc::new(Shared {
            label: label.to_string(),
            pc: Mutex::new(None),
            mid_users: Mutex::new(HashMap::new()),
            sections: Mutex::new(Vec::new()),
            offer_pts: Mutex::new(HashMap::new()),
            received: Mutex::new(HashMap::new()),
            pc_states: Mutex::new(Vec::new()),
            gathering_complete: Mutex::new(false),
            tracks: Mutex::new(Vec::new()),
            answered: AtomicU64::new(0),
            seq: std::sync::atomic::AtomicI64::new(-1),
            generation: AtomicU64::new(0),
        })
    }

    fn pc(&self) -> Option<Arc<dyn PeerConnection>> {
        lock(&self.pc).clone()
    }

    /// The user a remote track belongs to: its mid (found by SSRC or msid
    /// track id in the latest offer) looked up in op 40's table.
    fn resolve_user(&self, ssrc: u32, track_id: &str) -> Option<String> {
        let sections = lock(&self.sections);
        let mid = sections
            .iter()
            .find(|s| s.ssrcs.contains(&ssrc))
            .or_else(|| {
                sections
                    .iter()
                    .find(|s| !track_id.is_empty() && s.msid_track.as_deref() == Some(track_id))
            })
            .map(|s| s.mid.clone())?;
        drop(sections);
        lock(&self.mid_users).get(&mid).cloned()
    }

    fn record(&self, user: &str, kind: RtpCodecKind, pkt: &rtc::rtp::Packet) {
        let codec = match kind {
            RtpCodecKind::Video => lock(&self.offer_pts)
                .get(&pkt.header.payload_type)
                .and_then(|m| VideoCodec::from_name(&m.name)),
            _ => None,
        };
        let mut all = lock(&self.received);
        let r = all.entry(user.to_string()).or_default();
        match kind {
            RtpCodecKind::Audio => r.on_audio(&pkt.payload),
            RtpCodecKind::Video => r.on_video(codec, pkt),
            _ => {}
        }
    }
}

struct Handler {
    shared: Arc<Shared>,
    generation: u64,
}

impl Handler {
    fn current(&self) -> bool {
        self.shared.generation.load(Ordering::SeqCst) == self.generation
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete && self.current() {
            *lock(&self.shared.gathering_complete) = true;
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if self.current() {
            lock(&self.shared.pc_states).push(state);
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        // Read on our own task: the callback runs on the connection's driver.
        if self.current() {
            tokio::spawn(read_track(self.shared.clone(), track));
        }
    }
}

async fn read_track(shared: Arc<Shared>, track: Arc<dyn TrackRemote>) {
    let kind = track.kind().await;
    let track_id = track.track_id().await;
    let stream_id = track.stream_id().await;
    let mut user: Option<String> = None;
    let mut announced = false;
    let mut ssrc = None;
    while let Some(ev) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(pkt) = ev else {
            if matches!(ev, TrackRemoteEvent::OnEnded) {
                break;
            }
            continue;
        };
        // An m-line the server recycles carries the next track under a
        // new SSRC: whose it is is looked up again.
        if ssrc != Some(pkt.header.ssrc) {
            ssrc = Some(pkt.header.ssrc);
            user = None;
            announced = false;
        }
        if user.is_none() {
            user = shared.resolve_user(pkt.header.ssrc, &track_id);
        }
        let who = user.clone().unwrap_or_else(|| {
            format!("unresolved(stream {stream_id:?}, ssrc {})", pkt.header.ssrc)
        });
        if !announced && user.is_some() {
            announced = true;
            let k = match kind {
                RtpCodecKind::Audio => "audio",
                RtpCodecKind::Video => "video",
                _ => "other",
            };
            lock(&shared.tracks).push((who.clone(), k.to_string()));
        }
        shared.record(&who, kind, &pkt);
    }
}

// ---------------------------------------------------------------------------
// The voice WebSocket
// ---------------------------------------------------------------------------

/// One voice gateway payload.
#[derive(Clone, Debug)]
pub struct VFrame {
    pub op: u64,
    pub d: Value,
    pub raw: Value,
}

enum WsEvent {
    Frame(VFrame),
    Closed(Closed),
    Bad(String),
}

enum WsCmd {
    Send(Value),
    Close(u16),
    /// Stop reading and heartbeating, as a client whose network died: what
    /// the server writes meanwhile stays unread and is lost with the socket.
    Freeze,
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct VoiceWs {
    cmds: mpsc::UnboundedSender<WsCmd>,
    events: mpsc::UnboundedReceiver<WsEvent>,
    task: Option<JoinHandle<()>>,
    pending: VecDeque<VFrame>,
    closed: Option<Closed>,
    pub label: String,
    /// Hello's `d`.
    pub hello: Value,
}

impl Drop for VoiceWs {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// `ws://{endpoint}/?v=8`, asserting the endpoint is on loopback.
pub fn voice_url(endpoint: &str) -> String {
    assert!(
        !endpoint.contains("://"),
        "VOICE_SERVER_UPDATE.endpoint must come without a scheme: {endpoint:?}"
    );
    assert!(
        endpoint.starts_with("127.0.0.1:"),
        "the voice endpoint must be on 127.0.0.1 in tests: {endpoint:?}"
    );
    format!("ws://{}/?v=8", endpoint.trim_end_matches('/'))
}

impl VoiceWs {
    /// Connects and reads Hello (which must come first).
    pub async fn connect(endpoint: &str, shared: Arc<Shared>, label: &str) -> VoiceWs {
        let url = voice_url(endpoint);
        let (ws, _) = tokio::time::timeout(
            EVENT_TIMEOUT,
            tokio_tungstenite::connect_async(url.as_str()),
        )
        .await
        .unwrap_or_else(|_| panic!("[{label}] voice WebSocket handshake to {url} timed out"))
        .unwrap_or_else(|e| panic!("[{label}] voice WebSocket handshake to {url} failed: {e}"));
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(voice_pump(ws, shared, cmd_rx, ev_tx, label.to_string()));
        let mut v = VoiceWs {
            cmds: cmd_tx,
            events: ev_rx,
            task: Some(task),
            pending: VecDeque::new(),
            closed: None,
            label: label.to_string(),
            hello: Value::Null,
        };
        let hello = v.next_frame(EVENT_TIMEOUT).await;
        assert_eq!(
            hello.op,
            vop::HELLO,
            "[{label}] the first voice payload must be Hello: {}",
            hello.raw
        );
        assert!(
            hello.d["heartbeat_interval"]
                .as_f64()
                .map(|i| i > 0.0)
                .unwrap_or(false),
            "[{label}] Hello needs a positive heartbeat_interval: {}",
            hello.raw
        );
        v.hello = hello.d;
        v
    }

    pub fn send(&self, op: u64, d: Value) {
        let _ = self.cmds.send(WsCmd::Send(json!({"op": op, "d": d})));
    }

    pub fn identify(&self, guild_id: &str, user_id: &str, session_id: &str, token: &str) {
        self.send(
            vop::IDENTIFY,
            json!({"server_id": guild_id, "user_id": user_id, "session_id": session_id, "token": token}),
        );
    }

    pub fn select_protocol(&self, sdp: &str) {
        self.send(
            vop::SELECT_PROTOCOL,
            json!({"protocol": "webrtc", "sdp": sdp}),
        );
    }

    pub fn heartbeat(&self) {
        self.send(vop::HEARTBEAT, json!({"t": now_ms(), "seq_ack": -1}));
    }

    async fn pull(&mut self, deadline: Instant) -> Result<VFrame, Option<Closed>> {
        if let Some(c) = &self.closed {
            return Err(Some(c.clone()));
        }
        match tokio::time::timeout_at(deadline, self.events.recv()).await {
            Err(_) => Err(None),
            Ok(None) => {
                let c = Closed {
                    code: None,
                    reason: "voice client task ended".to_string(),
                };
                self.closed = Some(c.clone());
                Err(Some(c))
            }
            Ok(Some(WsEvent::Frame(f))) => Ok(f),
            Ok(Some(WsEvent::Closed(c))) => {
                self.closed = Some(c.clone());
                Err(Some(c))
            }
            Ok(Some(WsEvent::Bad(msg))) => panic!("[{}] {msg}", self.label),
        }
    }

    pub async fn next_frame(&mut self, within: Duration) -> VFrame {
        if let Some(f) = self.pending.pop_front() {
            return f;
        }
        match self.pull(Instant::now() + within).await {
            Ok(f) => f,
            Err(None) => panic!("[{}] no voice payload within {within:?}", self.label),
            Err(Some(c)) => panic!("[{}] waiting for a voice payload: {c}", self.label),
        }
    }

    /// The first queued or incoming payload with `op` whose `d` satisfies
    /// `pred`; others stay queued. `None` on timeout.
    pub async fn try_expect_where(
        &mut self,
        op: u64,
        pred: impl Fn(&Value) -> bool,
        within: Duration,
    ) -> Result<VFrame, Option<Closed>> {
        if let Some(i) = self.pending.iter().position(|f| f.op == op && pred(&f.d)) {
            return Ok(self.pending.remove(i).expect("index in range"));
        }
        let deadline = Instant::now() + within;
        loop {
            let f = self.pull(deadline).await?;
            if f.op == op && pred(&f.d) {
                return Ok(f);
            }
            self.pending.push_back(f);
        }
    }

    pub async fn expect_where(
        &mut self,
        op: u64,
        pred: impl Fn(&Value) -> bool,
        within: Duration,
    ) -> VFrame {
        match self.try_expect_where(op, pred, within).await {
            Ok(f) => f,
            Err(None) => panic!(
                "[{}] expected a matching voice op {op} within {within:?}; got instead: {}",
                self.label,
                self.describe_pending()
            ),
            Err(Some(c)) => panic!(
                "[{}] expected a matching voice op {op}, but: {c}; got before: {}",
                self.label,
                self.describe_pending()
            ),
        }
    }

    pub async fn expect_op(&mut self, op: u64, within: Duration) -> VFrame {
        self.expect_where(op, |_| true, within).await
    }

    /// No payload with `op` whose `d` satisfies `pred` is queued or arrives
    /// within `within`.
    pub async fn expect_none_where(
        &mut self,
        op: u64,
        pred: impl Fn(&Value) -> bool,
        within: Duration,
    ) {
        match self.try_expect_where(op, pred, within).await {
            Ok(f) => panic!("[{}] unexpected voice op {op}: {}", self.label, f.raw),
            Err(None) => {}
            Err(Some(c)) => panic!(
                "[{}] the voice socket ended while watching: {c}",
                self.label
            ),
        }
    }

    /// Waits for the connection to end; payloads before it are queued.
    pub async fn expect_closed(&mut self, within: Duration) -> Closed {
        let deadline = Instant::now() + within;
        loop {
            match self.pull(deadline).await {
                Ok(f) => self.pending.push_back(f),
                Err(Some(c)) => return c,
                Err(None) => panic!(
                    "[{}] voice socket still open after {within:?}; received: {}",
                    self.label,
                    self.describe_pending()
                ),
            }
        }
    }

    /// Heartbeats and waits for the ACK: the socket is alive.
    pub async fn assert_alive(&mut self) {
        self.heartbeat();
        self.expect_op(vop::HEARTBEAT_ACK, EVENT_TIMEOUT).await;
    }

    /// Sends a close frame with `code` and waits (bounded) for the end.
    pub async fn close(mut self, code: u16) {
        let _ = self.cmds.send(WsCmd::Close(code));
        let deadline = Instant::now() + EVENT_TIMEOUT;
        while self.pull(deadline).await.is_ok() {}
    }

    /// Stops reading and heartbeating (see `WsCmd::Freeze`).
    pub fn freeze(&self) {
        let _ = self.cmds.send(WsCmd::Freeze);
    }

    /// Drops the TCP connection without a close frame.
    pub fn drop_tcp(mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    pub fn describe_pending(&self) -> String {
        if self.pending.is_empty() {
            return "nothing".to_string();
        }
        let mut s = self
            .pending
            .iter()
            .map(|f| match f.op {
                vop::SERVER_OFFER => format!("op40(tracks {})", f.d["tracks"]),
                vop::HEARTBEAT_ACK => "op6".to_string(),
                _ => f.raw.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        if s.len() > 2000 {
            s.truncate(2000);
        }
        s
    }
}

/// The voice socket's task: reads, heartbeats, and applies SDP in order.
async fn voice_pump(
    mut ws: Ws,
    shared: Arc<Shared>,
    mut cmds: mpsc::UnboundedReceiver<WsCmd>,
    events: mpsc::UnboundedSender<WsEvent>,
    label: String,
) {
    let mut interval: Option<Duration> = None;
    let mut next_hb = Instant::now() + Duration::from_secs(3600);
    let mut close_reported = false;
    let mut frozen = false;
    loop {
        tokio::select! {
            msg = ws.next(), if !frozen => {
                let text = match msg {
                    None | Some(Err(_)) => {
                        if !close_reported {
                            let reason = match msg {
                                Some(Err(e)) => e.to_string(),
                                _ => "stream ended".to_string(),
                            };
                            let _ = events.send(WsEvent::Closed(Closed { code: None, reason }));
                        }
                        return;
                    }
                    Some(Ok(Message::Close(frame))) => {
                        if !close_reported {
                            close_reported = true;
                            let c = match frame {
                                Some(f) => Closed { code: Some(u16::from(f.code)), reason: f.reason.as_str().to_string() },
                                None => Closed { code: None, reason: "close frame without a code".to_string() },
                            };
                            let _ = events.send(WsEvent::Closed(c));
                        }
                        continue;
                    }
                    Some(Ok(Message::Text(t))) => t.as_str().to_string(),
                    Some(Ok(Message::Binary(b))) => {
                        let _ = events.send(WsEvent::Bad(format!("the voice gateway sent a binary frame: {b:?}")));
                        continue;
                    }
                    Some(Ok(_)) => continue,
                };
                let raw: Value = match serde_json::from_str(&text) {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = events.send(WsEvent::Bad(format!("voice payload is not JSON ({e}): {text}")));
                        continue;
                    }
                };
                let Some(op) = raw["op"].as_u64() else {
                    let _ = events.send(WsEvent::Bad(format!("voice payload without integer op: {raw}")));
                    continue;
                };
                if let Some(seq) = raw["seq"].as_i64() {
                    shared.seq.fetch_max(seq, Ordering::Relaxed);
                }
                let f = VFrame { op, d: raw.get("d").cloned().unwrap_or(Value::Null), raw: raw.clone() };
                match op {
                    vop::HELLO => {
                        if let Some(ms) = f.d["heartbeat_interval"].as_f64() {
                            let iv = Duration::from_millis((ms as u64).max(1));
                            interval = Some(iv);
                            next_hb = Instant::now() + iv * 3 / 4;
                        }
                    }
                    vop::SESSION_DESCRIPTION => {
                        if let Err(e) = apply_answer(&shared, &f.d).await {
                            let _ = events.send(WsEvent::Bad(format!("applying op 4's answer: {e}; payload: {}", f.raw)));
                            continue;
                        }
                    }
                    vop::SERVER_OFFER => {
                        match answer_offer(&shared, &f.d).await {
                            Ok(sdp) => {
                                let answer = json!({"op": vop::CLIENT_ANSWER, "d": {"sdp": sdp}});
                                if ws.send(Message::text(answer.to_string())).await.is_err() {
                                    // The read side reports how the connection ended.
                                }
                                shared.answered.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                let _ = events.send(WsEvent::Bad(format!("[{label}] answering op 40: {e}; payload: {}", f.raw)));
                                continue;
                            }
                        }
                    }
                    _ => {}
                }
                let _ = events.send(WsEvent::Frame(f));
            }
            cmd = cmds.recv() => match cmd {
                None => return,
                Some(WsCmd::Send(v)) => {
                    let _ = ws.send(Message::text(v.to_string())).await;
                }
                Some(WsCmd::Close(code)) => {
                    let frame = CloseFrame { code: CloseCode::from(code), reason: "bye".into() };
                    let _ = ws.send(Message::Close(Some(frame))).await;
                }
                Some(WsCmd::Freeze) => frozen = true,
            },
            _ = tokio::time::sleep_until(next_hb), if interval.is_some() && !frozen => {
                let iv = interval.expect("armed only with an interval");
                next_hb = Instant::now() + iv * 3 / 4;
                let hb = json!({"op": vop::HEARTBEAT, "d": {"t": now_ms(), "seq_ack": shared.seq.load(Ordering::Relaxed)}});
                let _ = ws.send(Message::text(hb.to_string())).await;
            }
        }
    }
}

async fn apply_answer(shared: &Shared, d: &Value) -> Result<(), String> {
    let sdp = d["sdp"].as_str().ok_or("op 4 without a string sdp")?;
    let pc = shared
        .pc()
        .ok_or("op 4 arrived but no peer connection is attached")?;
    let desc = RTCSessionDescription::answer(sdp.to_string())
        .map_err(|e| format!("bad answer SDP: {e}"))?;
    pc.set_remote_description(desc)
        .await
        .map_err(|e| format!("set_remote_description(answer): {e}"))
}

async fn answer_offer(shared: &Shared, d: &Value) -> Result<String, String> {
    let sdp = d["sdp"].as_str().ok_or("op 40 without a string sdp")?;
    let tracks = d["tracks"]
        .as_array()
        .ok_or("op 40 without a tracks array")?;
    let mut table = HashMap::new();
    for t in tracks {
        let mid = t["mid"]
            .as_str()
            .ok_or_else(|| format!("track without a string mid: {t}"))?;
        let user = t["user_id"]
            .as_str()
            .ok_or_else(|| format!("track without a string user_id: {t}"))?;
        let kind = t["kind"]
            .as_str()
            .ok_or_else(|| format!("track without a string kind: {t}"))?;
        if kind != "audio" && kind != "video" {
            return Err(format!("track kind must be audio or video: {t}"));
        }
        table.insert(mid.to_string(), user.to_string());
    }
    *lock(&shared.mid_users) = table;
    *lock(&shared.sections) = sdp_sections(sdp);
    *lock(&shared.offer_pts) = sdp_payload_types(sdp);
    let pc = shared
        .pc()
        .ok_or("op 40 arrived but no peer connection is attached")?;
    let offer =
        RTCSessionDescription::offer(sdp.to_string()).map_err(|e| format!("bad offer SDP: {e}"))?;
    pc.set_remote_description(offer)
        .await
        .map_err(|e| format!("set_remote_description(offer): {e}"))?;
    let answer = pc
        .create_answer(None)
        .await
        .map_err(|e| format!("create_answer: {e}"))?;
    pc.set_local_description(answer.clone())
        .await
        .map_err(|e| format!("set_local_description(answer): {e}"))?;
    let local = pc
        .local_description()
        .await
        .map(|d| d.sdp)
        .unwrap_or(answer.sdp);
    Ok(local)
}

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------

/// What a join publishes: everyone sends audio, as Discord clients do;
/// `video` adds a camera track of that codec's prepared clip.
#[derive(Clone, Copy, Debug, Default)]
pub struct JoinOptions {
    pub video: Option<VideoCodec>,
    /// The only video codecs the peer connection supports, for sending and
    /// receiving, in order of preference. Empty: just `video`'s codec when
    /// publishing (a client sending H264 offers H264), else webrtc-rs's
    /// defaults (VP8, VP9, H264 in several profiles, AV1, H265).
    pub video_codecs: &'static [VideoCodec],
    pub self_deaf: bool,
    /// With `video`: a second video track of the same codec after the
    /// camera's, as a client shares its screen.
    pub screen: bool,
}

impl JoinOptions {
    /// Publishes `codec` (and offers only it).
    pub fn video(codec: VideoCodec) -> JoinOptions {
        JoinOptions {
            video: Some(codec),
            ..JoinOptions::default()
        }
    }

    /// The video codecs to register; empty for webrtc-rs's defaults.
    fn registered_video(&self) -> Vec<VideoCodec> {
        match (self.video_codecs, self.video) {
            ([], Some(c)) => vec![c],
            (list, _) => list.to_vec(),
        }
    }
}

/// What VOICE_SERVER_UPDATE and the main session gave for a join.
#[derive(Clone, Debug)]
pub struct VoiceGrant {
    pub guild_id: String,
    pub channel_id: String,
    pub user_id: String,
    pub session_id: String,
    pub token: String,
    pub endpoint: String,
}

struct LocalTrack {
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    pt: u8,
    /// For video, what it carries.
    codec: Option<VideoCodec>,
}

pub struct VoiceClient {
    pub user: User,
    pub api: Api,
    pub gw: Gateway,
    /// The guild; for a DM call the DM channel's id (the voice gateway's
    /// `server_id` then).
    pub guild_id: String,
    /// In a DM call: op 4 and the dispatches name no guild.
    pub in_call: bool,
    pub grant: Option<VoiceGrant>,
    pub ws: Option<VoiceWs>,
    /// op 2 Ready's `d`.
    pub ready: Value,
    /// The SDP answer of the last op 4.
    pub answer_sdp: String,
    /// The last op 4's `d`.
    pub session_description: Value,
    shared: Arc<Shared>,
    pc: Option<Arc<dyn PeerConnection>>,
    audio: Option<LocalTrack>,
    video: Option<LocalTrack>,
    screen: Option<LocalTrack>,
    publishers: Vec<JoinHandle<()>>,
    /// Audio frames the tone publisher handed to webrtc-rs without error.
    pub tone_frames_sent: Arc<AtomicU64>,
    pub video_frames_sent: Arc<AtomicU64>,
}

impl Drop for VoiceClient {
    fn drop(&mut self) {
        for p in self.publishers.drain(..) {
            p.abort();
        }
        if let (Some(pc), Ok(rt)) = (self.pc.take(), tokio::runtime::Handle::try_current()) {
            // Best effort: the driver stops when the connection is dropped too.
            rt.spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(2), pc.close()).await;
            });
        }
    }
}

fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: "audio/opus".to_string(),
        clock_rate: SAMPLE_RATE,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_string(),
        rtcp_feedback: vec![],
    }
}

impl VoiceClient {
    /// Logs `user` in on the main gateway with GUILDS and GUILD_VOICE_STATES.
    pub async fn login(api: &Api, user: &User, guild_id: &str) -> VoiceClient {
        VoiceClient::login_opts(api, user, guild_id, Options::default()).await
    }

    /// As `login`, with these gateway options (labelled by the user).
    pub async fn login_opts(api: &Api, user: &User, guild_id: &str, opts: Options) -> VoiceClient {
        let gw = login_opts(api, user, VOICE_INTENTS, opts.label(&user.username)).await;
        VoiceClient {
            user: user.clone(),
            api: api.clone(),
            gw,
            guild_id: guild_id.to_string(),
            in_call: false,
            grant: None,
            ws: None,
            ready: Value::Null,
            answer_sdp: String::new(),
            session_description: Value::Null,
            shared: Shared::new(&user.username),
            pc: None,
            audio: None,
            video: None,
            screen: None,
            publishers: Vec::new(),
            tone_frames_sent: Arc::new(AtomicU64::new(0)),
            video_frames_sent: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Logs `user` in for calls in the DM or group DM `channel_id`.
    pub async fn login_for_call(api: &Api, user: &User, channel_id: &str) -> VoiceClient {
        let mut c = VoiceClient::login(api, user, channel_id).await;
        c.in_call = true;
        c
    }

    pub fn label(&self) -> &str {
        &self.user.username
    }

    pub fn id(&self) -> &str {
        &self.user.id
    }

    pub fn ws(&mut self) -> &mut VoiceWs {
        let label = self.user.username.clone();
        self.ws
            .as_mut()
            .unwrap_or_else(|| panic!("[{label}] no voice WebSocket"))
    }

    pub fn grant(&self) -> &VoiceGrant {
        self.grant.as_ref().expect("no VOICE_SERVER_UPDATE yet")
    }

    // ----- main gateway ----------------------------------------------------

    /// Sends op 4 for `channel_id` (or null to leave).
    pub async fn send_voice_state(
        &mut self,
        channel_id: Option<&str>,
        self_mute: bool,
        self_deaf: bool,
    ) {
        let guild_id = (!self.in_call).then(|| self.guild_id.clone());
        let d = json!({
            "guild_id": guild_id,
            "channel_id": channel_id,
            "self_mute": self_mute,
            "self_deaf": self_deaf,
            "self_video": false,
        });
        self.gw.send_op(gw_op::VOICE_STATE_UPDATE, d).await;
    }

    /// Op 4 for a channel; waits for our VOICE_STATE_UPDATE and the
    /// VOICE_SERVER_UPDATE, and checks both.
    pub async fn request_voice(&mut self, channel_id: &str, self_deaf: bool) -> VoiceGrant {
        self.send_voice_state(Some(channel_id), false, self_deaf)
            .await;
        let me = self.user.id.clone();
        let ch = channel_id.to_string();
        let vsu = self
            .gw
            .expect_dispatch_where(
                "VOICE_STATE_UPDATE",
                |d| d["user_id"] == me.as_str() && d["channel_id"] == ch.as_str(),
                EVENT_TIMEOUT,
            )
            .await;
        let session_id = self.gw.session_id();
        assert_eq!(
            vsu.d["session_id"],
            session_id.as_str(),
            "[{}] our VOICE_STATE_UPDATE names our session: {}",
            self.label(),
            vsu.d
        );
        if self.in_call {
            assert!(
                vsu.d.get("guild_id").is_none_or(Value::is_null)
                    && vsu.d.get("member").is_none_or(Value::is_null),
                "a DM call's VOICE_STATE_UPDATE names no guild and no member: {}",
                vsu.d
            );
        } else {
            assert_eq!(
                vsu.d["guild_id"],
                self.guild_id.as_str(),
                "VOICE_STATE_UPDATE.guild_id: {}",
                vsu.d
            );
        }
        let (token, endpoint) = self.voice_server_update(EVENT_TIMEOUT).await;
        let grant = VoiceGrant {
            guild_id: self.guild_id.clone(),
            channel_id: channel_id.to_string(),
            user_id: self.user.id.clone(),
            session_id,
            token,
            endpoint,
        };
        self.grant = Some(grant.clone());
        grant
    }

    // ----- voice gateway ---------------------------------------------------

    /// Connects the voice WebSocket and identifies with the current grant;
    /// returns op 2 Ready's `d`.
    pub async fn open_voice(&mut self) -> Value {
        let grant = self.grant().clone();
        let label = format!("{}/voice", self.label());
        let mut ws = VoiceWs::connect(&grant.endpoint, self.shared.clone(), &label).await;
        ws.identify(
            &grant.guild_id,
            &grant.user_id,
            &grant.session_id,
            &grant.token,
        );
        let ready = ws.expect_op(vop::READY, EVENT_TIMEOUT).await;
        let d = ready.d;
        assert!(d["ssrc"].is_u64(), "Ready.ssrc: {d}");
        assert!(
            d["modes"]
                .as_array()
                .is_some_and(|m| m.iter().any(|x| x == "webrtc")),
            "Ready.modes must offer webrtc: {d}"
        );
        let ip = d["ip"].as_str().unwrap_or_else(|| panic!("Ready.ip: {d}"));
        assert_eq!(ip, "127.0.0.1", "media must be on loopback in tests: {d}");
        assert!(
            d["port"].as_u64().is_some_and(|p| p > 0 && p < 65536),
            "Ready.port: {d}"
        );
        self.ready = d.clone();
        self.ws = Some(ws);
        d
    }

    /// Where Ready said the media socket is.
    pub fn media_addr(&self) -> SocketAddr {
        let ip = self.ready["ip"].as_str().expect("Ready.ip");
        let port = self.ready["port"].as_u64().expect("Ready.port") as u16;
        let addr: SocketAddr = format!("{ip}:{port}").parse().expect("Ready's ip:port");
        assert!(
            addr.ip().is_loopback(),
            "media address must be loopback: {addr}"
        );
        addr
    }

    /// Builds the peer connection with a send-only Opus track (and a video
    /// track if asked), gathers, and returns the complete offer SDP.
    pub async fn make_offer(&mut self, opts: JoinOptions) -> String {
        let label = self.label().to_string();
        if let Some(old) = self.pc.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), old.close()).await;
        }
        let generation = self.shared.generation.fetch_add(1, Ordering::SeqCst) + 1;
        lock(&self.shared.pc_states).clear();
        *lock(&self.shared.gathering_complete) = false;
        let mut media = MediaEngine::default();
        let video_codecs = opts.registered_video();
        if video_codecs.is_empty() {
            media
                .register_default_codecs()
                .expect("registering default codecs");
        } else {
            let params = |rtp_codec, payload_type| RTCRtpCodecParameters {
                rtp_codec,
                payload_type,
            };
            media
                .register_codec(params(opus_codec(), 111), RtpCodecKind::Audio)
                .expect("registering Opus");
            for &c in &video_codecs {
                media
                    .register_codec(params(c.rtp_codec(), c.payload_type()), RtpCodecKind::Video)
                    .unwrap_or_else(|e| panic!("[{label}] registering {c:?}: {e}"));
            }
        }
        media
            .register_header_extension(
                RTCRtpHeaderExtensionCapability {
                    uri: AUDIO_LEVEL_URI.to_string(),
                },
                RtpCodecKind::Audio,
                None,
            )
            .expect("registering the audio-level extension");
        let registry = register_default_interceptors(Registry::new(), &mut media)
            .expect("registering default interceptors");
        let settings = SettingEngineBuilder::new()
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .build();
        let config = RTCConfigurationBuilder::new()
            .with_ice_servers(vec![])
            .build();
        let pc = PeerConnectionBuilder::new()
            .with_configuration(config)
            .with_media_engine(media)
            .with_setting_engine(settings)
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(Handler {
                shared: self.shared.clone(),
                generation,
            }))
            .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
            .build()
            .await
            .unwrap_or_else(|e| panic!("[{label}] building the peer connection: {e}"));
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        *lock(&self.shared.pc) = Some(pc.clone());
        self.pc = Some(pc.clone());

        let mut rng = XorShift::seeded();
        let uid = self.user.id.clone();
        let audio = self
            .add_local_track(
                &pc,
                RtpCodecKind::Audio,
                opus_codec(),
                rng.next_u32() | 1,
                &format!("{uid}-mic"),
                &[],
            )
            .await;
        self.audio = Some(audio);
        if let Some(codec) = opts.video {
            // webrtc-rs offers only the track's codec on its m-line, and
            // after the first negotiation receives only the video codecs
            // negotiated then: offer every registered one, as browsers do,
            // so the client can still receive the others' codecs.
            let mut offer: Vec<VideoCodec> = vec![codec];
            offer.extend(video_codecs.iter().filter(|c| **c != codec));
            if offer.len() == 1 {
                offer.clear();
            }
            let mut v = self
                .add_local_track(
                    &pc,
                    RtpCodecKind::Video,
                    codec.rtp_codec(),
                    rng.next_u32() | 1,
                    &format!("{uid}-cam"),
                    &offer,
                )
                .await;
            v.codec = Some(codec);
            self.video = Some(v);
            if opts.screen {
                let mut v = self
                    .add_local_track(
                        &pc,
                        RtpCodecKind::Video,
                        codec.rtp_codec(),
                        rng.next_u32() | 1,
                        &format!("{uid}-screen"),
                        &offer,
                    )
                    .await;
                v.codec = Some(codec);
                self.screen = Some(v);
            }
        }

        let offer = pc
            .create_offer(None)
            .await
            .unwrap_or_else(|e| panic!("[{label}] create_offer: {e}"));
        pc.set_local_description(offer)
            .await
            .unwrap_or_else(|e| panic!("[{label}] set_local_description(offer): {e}"));
        let shared = self.shared.clone();
        wait_until(
            &format!("[{label}] ICE gathering to complete"),
            EVENT_TIMEOUT,
            || *lock(&shared.gathering_complete),
        )
        .await;
        let sdp = pc
            .local_description()
            .await
            .unwrap_or_else(|| panic!("[{label}] no local description after gathering"))
            .sdp;
        let candidates: Vec<&str> = sdp
            .lines()
            .filter(|l| l.starts_with("a=candidate:"))
            .collect();
        assert!(
            !candidates.is_empty(),
            "[{label}] the offer has no candidate:\n{sdp}"
        );
        for c in &candidates {
            assert!(
                c.contains(" 127.0.0.1 "),
                "[{label}] only the loopback host candidate may be offered: {c}"
            );
        }
        sdp
    }

    /// A send-only transceiver for a new track in `codec`; `offer`, if not
    /// empty, lists the video codecs its m-line offers, in order.
    async fn add_local_track(
        &self,
        pc: &Arc<dyn PeerConnection>,
        kind: RtpCodecKind,
        codec: RTCRtpCodec,
        ssrc: u32,
        name: &str,
        offer: &[VideoCodec],
    ) -> LocalTrack {
        let mime = codec.mime_type.clone();
        let fmtp = codec.sdp_fmtp_line.clone();
        let track = MediaStreamTrack::new(
            format!("{}-stream", self.user.id),
            name.to_string(),
            name.to_string(),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec,
                ..Default::default()
            }],
        );
        let track = Arc::new(
            TrackLocalStaticSample::new(std::time::Instant::now(), track)
                .unwrap_or_else(|e| panic!("creating the {mime} track: {e}")),
        );
        let transceiver = pc
            .add_transceiver_from_track(
                track.clone(),
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendonly,
                    ..Default::default()
                }),
            )
            .await
            .unwrap_or_else(|e| panic!("adding the {mime} transceiver: {e}"));
        if !offer.is_empty() {
            let prefs = offer
                .iter()
                .map(|c| RTCRtpCodecParameters {
                    rtp_codec: c.rtp_codec(),
                    payload_type: c.payload_type(),
                })
                .collect();
            transceiver
                .set_codec_preferences(prefs)
                .await
                .unwrap_or_else(|e| panic!("setting the {mime} transceiver's codecs: {e}"));
        }
        // The payload type comes from the sender's codecs; before
        // negotiation these are what the media engine registered.
        let mut pt = None;
        if let Ok(Some(sender)) = transceiver.sender().await {
            if let Ok(params) = sender.get_parameters().await {
                // The same fmtp first: several H264 profiles share a mime type.
                let codecs = &params.rtp_parameters.codecs;
                let same_mime =
                    |c: &&RTCRtpCodecParameters| c.rtp_codec.mime_type.eq_ignore_ascii_case(&mime);
                pt = codecs
                    .iter()
                    .filter(same_mime)
                    .find(|c| c.rtp_codec.sdp_fmtp_line == fmtp)
                    .or_else(|| codecs.iter().find(same_mime))
                    .map(|c| c.payload_type);
            }
        }
        let pt = pt.unwrap_or(if kind == RtpCodecKind::Audio { 111 } else { 96 });
        LocalTrack {
            track,
            ssrc,
            pt,
            codec: None,
        }
    }

    /// Op 1 with the offer; the voice task applies op 4's answer, which is
    /// returned (its `d`) once applied.
    pub async fn select_protocol(&mut self, sdp: &str) -> Value {
        let ws = self.ws();
        ws.select_protocol(sdp);
        let f = ws.expect_op(vop::SESSION_DESCRIPTION, MEDIA_TIMEOUT).await;
        let d = f.d;
        assert!(
            d["sdp"].as_str().is_some_and(|s| s.starts_with("v=0")),
            "op 4 sdp: {d}"
        );
        assert_eq!(d["audio_codec"], "opus", "op 4 audio_codec: {d}");
        assert!(d["video_codec"].is_string(), "op 4 video_codec: {d}");
        assert!(
            d["media_session_id"].is_string(),
            "op 4 media_session_id: {d}"
        );
        self.answer_sdp = d["sdp"].as_str().unwrap_or_default().to_string();
        self.session_description = d.clone();
        d
    }

    /// The whole join: op 4 on the main gateway, voice WebSocket, Identify,
    /// offer/answer, and ICE+DTLS up.
    pub async fn join(&mut self, channel_id: &str) {
        self.join_with(channel_id, JoinOptions::default()).await;
    }

    pub async fn join_with(&mut self, channel_id: &str, opts: JoinOptions) {
        self.request_voice(channel_id, opts.self_deaf).await;
        self.open_voice().await;
        let offer = self.make_offer(opts).await;
        self.select_protocol(&offer).await;
        self.wait_connected().await;
    }

    pub async fn wait_connected(&self) {
        let shared = self.shared.clone();
        let label = self.label().to_string();
        let deadline = Instant::now() + MEDIA_TIMEOUT;
        loop {
            {
                let states = lock(&shared.pc_states);
                if states.last() == Some(&RTCPeerConnectionState::Connected) {
                    return;
                }
                if let Some(bad) = states.iter().find(|s| {
                    matches!(
                        s,
                        RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
                    )
                }) {
                    panic!("[{label}] the peer connection went {bad:?}; states: {states:?}");
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "[{label}] the peer connection did not connect within {MEDIA_TIMEOUT:?}; states: {:?}",
                    lock(&shared.pc_states)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The SFU's answer (op 4) to our offer.
    pub fn remote_answer_sdp(&self) -> String {
        self.answer_sdp.clone()
    }

    /// The peer connection's states so far.
    pub fn pc_states(&self) -> Vec<RTCPeerConnectionState> {
        lock(&self.shared.pc_states).clone()
    }

    pub fn is_connected(&self) -> bool {
        lock(&self.shared.pc_states).last() == Some(&RTCPeerConnectionState::Connected)
    }

    /// How many op 40 offers this client answered.
    pub fn offers_answered(&self) -> u64 {
        self.shared.answered.load(Ordering::Relaxed)
    }

    /// The m-lines of the latest op 40's SDP.
    pub fn offered_m_lines(&self) -> usize {
        lock(&self.shared.sections).len()
    }

    /// The mid → user_id table of the latest op 40.
    pub fn mid_users(&self) -> HashMap<String, String> {
        lock(&self.shared.mid_users).clone()
    }

    /// The payload types the latest op 40 describes.
    pub fn offer_payload_types(&self) -> HashMap<u8, RtpMap> {
        lock(&self.shared.offer_pts).clone()
    }

    /// Remote tracks that delivered packets: (user_id, kind).
    pub fn remote_tracks(&self) -> Vec<(String, String)> {
        lock(&self.shared.tracks).clone()
    }

    // ----- leaving and resuming --------------------------------------------

    /// Op 4 with channel_id null.
    pub async fn leave(&mut self) {
        self.send_voice_state(None, false, false).await;
    }

    /// Closes the voice WebSocket with `code` (1000 ends the call).
    pub async fn close_voice(&mut self, code: u16) {
        if let Some(ws) = self.ws.take() {
            ws.close(code).await;
        }
    }

    /// The voice WebSocket breaks (no close frame); the call stays.
    pub fn drop_voice_tcp(&mut self) {
        if let Some(ws) = self.ws.take() {
            ws.drop_tcp();
        }
    }

    /// The voice socket goes deaf: nothing more is read (see
    /// `WsCmd::Freeze`).
    pub fn freeze_voice(&self) {
        if let Some(ws) = self.ws.as_ref() {
            ws.freeze();
        }
    }

    /// Reconnects and sends op 7 Resume with the last `seq` handled;
    /// waits for op 9 Resumed.
    pub async fn resume_voice(&mut self) {
        let grant = self.grant().clone();
        let label = format!("{}/voice-resumed", self.label());
        let mut ws = VoiceWs::connect(&grant.endpoint, self.shared.clone(), &label).await;
        let seq_ack = self.shared.seq.load(Ordering::Relaxed);
        ws.send(
            vop::RESUME,
            json!({"server_id": grant.guild_id, "session_id": grant.session_id, "token": grant.token, "seq_ack": seq_ack}),
        );
        ws.expect_op(vop::RESUMED, EVENT_TIMEOUT).await;
        self.ws = Some(ws);
    }

    /// The next VOICE_SERVER_UPDATE of our guild (within `within`): its
    /// token (checked not empty) and endpoint.
    async fn voice_server_update(&mut self, within: Duration) -> (String, String) {
        let guild = self.guild_id.clone();
        let in_call = self.in_call;
        let server = self
            .gw
            .expect_dispatch_where(
                "VOICE_SERVER_UPDATE",
                |d| {
                    if in_call {
                        d["guild_id"].is_null() && d["channel_id"] == guild.as_str()
                    } else {
                        d["guild_id"] == guild.as_str()
                    }
                },
                within,
            )
            .await;
        let token = str_field(&server.d, "token");
        assert!(
            !token.is_empty(),
            "VOICE_SERVER_UPDATE.token is empty: {}",
            server.d
        );
        (token, str_field(&server.d, "endpoint"))
    }

    /// Waits (up to `within`) for a VOICE_SERVER_UPDATE sending the call to
    /// another voice server, then does what Discord clients do: drops the
    /// old voice connection and joins afresh at the new endpoint with the
    /// new token. Returns the new grant.
    pub async fn follow_voice_server(&mut self, within: Duration) -> VoiceGrant {
        let (token, endpoint) = self.voice_server_update(within).await;
        let mut grant = self.grant().clone();
        grant.token = token;
        grant.endpoint = endpoint;
        self.grant = Some(grant.clone());
        self.hang_up().await;
        if let Some(ws) = self.ws.take() {
            ws.drop_tcp();
        }
        self.open_voice().await;
        let offer = self.make_offer(JoinOptions::default()).await;
        self.select_protocol(&offer).await;
        self.wait_connected().await;
        grant
    }

    /// Closes the peer connection and stops publishing.
    pub async fn hang_up(&mut self) {
        for p in self.publishers.drain(..) {
            p.abort();
        }
        if let Some(pc) = self.pc.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), pc.close()).await;
        }
    }

    // ----- publishing ------------------------------------------------------

    /// Sends a sine at `hz` as real Opus (48 kHz mono, 20 ms frames), each
    /// packet with a loud RFC 6464 audio level, until stopped.
    pub fn publish_tone(&mut self, hz: f64) {
        let audio = self.audio.as_ref().expect("join first: no audio track");
        let track = audio.track.clone();
        let (ssrc, pt) = (audio.ssrc, audio.pt);
        let sent = self.tone_frames_sent.clone();
        let label = self.label().to_string();
        self.publishers.push(tokio::spawn(async move {
            let mut enc =
                opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Audio)
                    .unwrap_or_else(|e| panic!("[{label}] creating the Opus encoder: {e}"));
            let mut n: u64 = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut out = vec![0u8; 1500];
            loop {
                tick.tick().await;
                let pcm = sine_frame(hz, n, 0.5);
                n += FRAME_SAMPLES as u64;
                let len = enc
                    .encode(&pcm, &mut out)
                    .unwrap_or_else(|e| panic!("[{label}] Opus encoding: {e}"));
                let sample = Sample {
                    data: Bytes::copy_from_slice(&out[..len]),
                    duration: Duration::from_millis(20),
                    ..Sample::new(std::time::Instant::now())
                };
                let r = track
                    .sample_writer(ssrc, pt)
                    .with_audio_level(AudioLevelExtension {
                        level: TONE_LEVEL,
                        voice: true,
                    })
                    .write_sample(&sample)
                    .await;
                if r.is_ok() {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }

    /// Sends the prepared clip of the video track's codec (keyframe, then
    /// interframes, repeated) at 30 frames a second until stopped.
    pub fn publish_video(&mut self) {
        let video = self
            .video
            .as_ref()
            .expect("join with video: no video track");
        self.publish_clip(video.track.clone(), video.ssrc, video.pt, video.codec);
    }

    /// As [`Self::publish_video`], on the screen's track.
    pub fn publish_screen(&mut self) {
        let screen = self
            .screen
            .as_ref()
            .expect("join with a screen: no screen track");
        self.publish_clip(screen.track.clone(), screen.ssrc, screen.pt, screen.codec);
    }

    fn publish_clip(
        &mut self,
        track: Arc<TrackLocalStaticSample>,
        ssrc: u32,
        pt: u8,
        codec: Option<VideoCodec>,
    ) {
        let codec = codec.expect("a video track has a codec");
        let sent = self.video_frames_sent.clone();
        self.publishers.push(tokio::spawn(async move {
            let gop = codec.clip();
            let mut tick = tokio::time::interval(Duration::from_millis(33));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut i = 0usize;
            loop {
                tick.tick().await;
                let sample = Sample {
                    data: Bytes::from(gop[i % gop.len()].clone()),
                    duration: Duration::from_millis(33),
                    ..Sample::new(std::time::Instant::now())
                };
                if track.write_sample(ssrc, pt, &sample, &[]).await.is_ok() {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        }));
    }

    pub fn stop_publishing(&mut self) {
        for p in self.publishers.drain(..) {
            p.abort();
        }
    }

    // ----- what arrived ----------------------------------------------------

    /// RTP audio packets received from `user_id` so far.
    pub fn received_audio_from(&self, user_id: &str) -> usize {
        lock(&self.shared.received)
            .get(user_id)
            .map_or(0, |r| r.audio_packets)
    }

    pub fn received_video_from(&self, user_id: &str) -> usize {
        lock(&self.shared.received)
            .get(user_id)
            .map_or(0, |r| r.video_packets)
    }

    /// Payload types of video packets from `user_id` that op 40 did not
    /// name as a codec this client reassembles.
    pub fn unknown_video_pts_from(&self, user_id: &str) -> Vec<u8> {
        lock(&self.shared.received)
            .get(user_id)
            .map(|r| r.unknown_video_pts.clone())
            .unwrap_or_default()
    }

    /// Reassembled video frames from `user_id`.
    pub fn video_frames_from(&self, user_id: &str) -> Vec<VideoFrame> {
        lock(&self.shared.received)
            .get(user_id)
            .map(|r| r.frames.clone())
            .unwrap_or_default()
    }

    /// Everyone something arrived from, with packet counts (for messages).
    pub fn received_summary(&self) -> String {
        let all = lock(&self.shared.received);
        let mut parts: Vec<String> = all
            .iter()
            .map(|(u, r)| format!("{u}: {} audio, {} video", r.audio_packets, r.video_packets))
            .collect();
        parts.sort();
        if parts.is_empty() {
            "nothing".to_string()
        } else {
            parts.join("; ")
        }
    }

    /// Waits until at least `n` audio packets have come from `user_id`.
    pub async fn wait_audio_from(&self, user_id: &str, n: usize) {
        let label = format!("[{}] {n} audio packets from {user_id}", self.label());
        let shared = self.shared.clone();
        let user = user_id.to_string();
        let summary = || {
            let all = lock(&shared.received);
            let mut parts: Vec<String> = all
                .iter()
                .map(|(u, r)| format!("{u}: {}", r.audio_packets))
                .collect();
            parts.sort();
            parts.join("; ")
        };
        let deadline = Instant::now() + MEDIA_TIMEOUT;
        loop {
            if lock(&shared.received)
                .get(&user)
                .map_or(0, |r| r.audio_packets)
                >= n
            {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{label} did not arrive within {MEDIA_TIMEOUT:?}; received: {}; op 40 mids: {:?}; pc states: {:?}",
                    summary(),
                    lock(&shared.mid_users),
                    lock(&shared.pc_states)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until at least `n` more audio packets than now come from `user_id`.
    pub async fn wait_more_audio_from(&self, user_id: &str, n: usize) {
        let now = self.received_audio_from(user_id);
        self.wait_audio_from(user_id, now + n).await;
    }

    /// Waits until `n` frames from `user_id` have been reassembled after
    /// (and including) a keyframe.
    pub async fn wait_video_frames_from(&self, user_id: &str, n: usize) {
        let shared = self.shared.clone();
        let user = user_id.to_string();
        let desc = format!(
            "[{}] a keyframe and {n} frames from {user_id}",
            self.label()
        );
        let deadline = Instant::now() + MEDIA_TIMEOUT;
        loop {
            let state = lock(&shared.received).get(&user).map(|r| {
                (
                    r.frames_from_first_keyframe().len(),
                    r.frames.len(),
                    r.video_packets,
                    r.unknown_video_pts.clone(),
                    r.frames
                        .iter()
                        .map(|f| f.pt)
                        .collect::<std::collections::BTreeSet<_>>(),
                )
            });
            if state.as_ref().is_some_and(|s| s.0 >= n) {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{desc}: not within {MEDIA_TIMEOUT:?}; (frames from a keyframe, frames, video packets, payload types op 40 does not name, payload types of frames): {state:?}; op 40's payload types: {:?}; received: {}",
                    lock(&shared.offer_pts),
                    self.received_summary()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Decodes the latest `frames` Opus packets from `user_id` (dropping the
    /// first few, where the decoder settles) into 48 kHz mono samples.
    pub fn decoded_audio_from(&self, user_id: &str, frames: usize) -> Vec<f32> {
        let payloads: Vec<Vec<u8>> = {
            let all = lock(&self.shared.received);
            let r = all
                .get(user_id)
                .unwrap_or_else(|| panic!("[{}] nothing received from {user_id}", self.label()));
            let skip = r.opus.len().saturating_sub(frames);
            r.opus.iter().skip(skip).cloned().collect()
        };
        let mut dec = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)
            .expect("creating an Opus decoder");
        let mut pcm = Vec::new();
        let mut buf = vec![0i16; 5760];
        for (i, p) in payloads.iter().enumerate() {
            let n = dec.decode(p, &mut buf, false).unwrap_or_else(|e| {
                panic!(
                    "[{}] packet {i} from {user_id} is not Opus: {e}",
                    self.label()
                )
            });
            if i >= 10 {
                pcm.extend(buf[..n].iter().map(|&s| s as f32 / i16::MAX as f32));
            }
        }
        pcm
    }

    /// The dominant frequency of the latest ~1.2 s of audio from `user_id`.
    pub fn decoded_dominant_frequency(&self, user_id: &str) -> f64 {
        let pcm = self.decoded_audio_from(user_id, 60);
        let level = rms(&pcm);
        assert!(
            level > 0.05,
            "[{}] decoded audio from {user_id} is (near) silent: rms {level:.4} over {} samples",
            self.label(),
            pcm.len()
        );
        dominant_frequency(&pcm, SAMPLE_RATE as f64)
    }
}

/// Polls `cond` every 20 ms until it holds; panics after `within`.
pub async fn wait_until(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    loop {
        if cond() {
            return;
        }
        if Instant::now() >= deadline {
            panic!("{what}: not within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl fmt::Debug for VoiceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VoiceClient")
            .field("user", &self.user.username)
            .field("grant", &self.grant)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goertzel_finds_a_pure_tone() {
        let pcm: Vec<f32> = (0..10)
            .flat_map(|k| sine_frame(440.0, k * FRAME_SAMPLES as u64, 0.5))
            .map(|s| s as f32 / i16::MAX as f32)
            .collect();
        let f = dominant_frequency(&pcm, SAMPLE_RATE as f64);
        assert!((f - 440.0).abs() < 1.0, "found {f}");
    }

    #[test]
    fn opus_round_trip_keeps_the_frequency() {
        let mut enc =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Audio)
                .unwrap();
        let mut dec = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono).unwrap();
        let mut out = vec![0u8; 1500];
        let mut buf = vec![0i16; 5760];
        let mut pcm = Vec::new();
        for k in 0..60u64 {
            let frame = sine_frame(440.0, k * FRAME_SAMPLES as u64, 0.5);
            let len = enc.encode(&frame, &mut out).unwrap();
            let n = dec.decode(&out[..len], &mut buf, false).unwrap();
            if k >= 10 {
                pcm.extend(buf[..n].iter().map(|&s| s as f32 / i16::MAX as f32));
            }
        }
        let f = dominant_frequency(&pcm, SAMPLE_RATE as f64);
        assert!((f - 440.0).abs() < 3.0, "found {f}");
    }

    #[test]
    fn sdp_payload_types_read_rtpmap_and_fmtp() {
        let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 108\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:108 H264/90000\r\na=fmtp:108 profile-level-id=42e01f;packetization-mode=1\r\n";
        let pts = sdp_payload_types(sdp);
        assert_eq!(pts[&96].name, "VP8");
        assert!(pts[&96].fmtp.is_empty());
        assert_eq!(pts[&108].name, "H264");
        assert_eq!(pts[&108].fmtp["profile-level-id"], "42e01f");
        assert_eq!(pts[&108].fmtp["packetization-mode"], "1");
    }

    #[test]
    fn sdp_sections_map_ssrcs_and_msids_to_mids() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\na=msid:s1 t1\r\na=ssrc:1234 cname:x\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=ssrc:99 msid:s2 t2\r\n";
        let s = sdp_sections(sdp);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].mid, "0");
        assert_eq!(s[0].ssrcs, vec![1234]);
        assert_eq!(s[0].msid_track.as_deref(), Some("t1"));
        assert_eq!(s[0].direction.as_deref(), Some("sendonly"));
        assert_eq!(s[1].kind, "video");
        assert_eq!(s[1].msid_track.as_deref(), Some("t2"));
    }
}
