//! The media threads: a few OS threads, each owning many client peers and
//! their UDP sockets, multiplexed with one `mio::Poll` (epoll on Linux).
//!
//! A thread sleeps in `poll` until a socket is readable, a command arrives
//! (a `mio::Waker` rings), or the earliest timer in its heap is due: a
//! peer's str0m timeout or its next frame. Nothing here awaits, and nothing
//! spins. The async signaling tasks reach a peer only through
//! [`Engine`]'s commands, each answered on a oneshot channel, so the
//! signaling side never touches an `Rtc`.
//!
//! Peers are spread over threads by participant index. What every thread
//! shares ([`MediaShared`]) is atomics and the publishers' send tables:
//! counting a packet is a relaxed add, and no lock is taken on the packet
//! path.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::time::Instant;

use mio::{Events, Interest, Poll, Token, Waker};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use super::accounting::{Epoch, SendTable};
use super::payload::OpusFrames;
use super::peer::{Peer, PeerNote, Publish, RemoteTrack, TrackResult, VideoPlan};
use super::simulcast::Quality;
use crate::latency::Histogram;

const WAKER: Token = Token(0);

/// One participant's send tables: its audio track's, and its video's,
/// one per simulcast layer (none for a participant that does not publish).
struct PublisherTables {
    audio: Option<SendTable>,
    video: Vec<SendTable>,
}

/// What every media thread shares.
pub struct MediaShared {
    pub epoch: Epoch,
    tables: Vec<PublisherTables>,
    /// Publishers send while this is true.
    pub sending: AtomicBool,
    pub simulate_speakers: bool,
    pub opus: OpusFrames,
    pub video: Option<VideoPlan>,
    /// RTP packets and payload bytes publishers wrote, and subscribers
    /// received.
    pub packets_out: AtomicU64,
    pub bytes_out: AtomicU64,
    pub packets_in: AtomicU64,
    pub bytes_in: AtomicU64,
    /// Datagrams dropped because a client socket's send buffer was full.
    pub send_drops: AtomicU64,
    /// SRTP datagrams (not RTCP, STUN or DTLS) the clients' sockets
    /// accepted: with `packets_out`, whether everything written reached
    /// the wire.
    pub rtp_datagrams_out: AtomicU64,
    /// The same by payload type: Opus, VP8 (the rest are retransmissions).
    pub audio_datagrams_out: AtomicU64,
    pub video_datagrams_out: AtomicU64,
    /// Written per kind, to compare with the above.
    pub audio_written: AtomicU64,
    pub video_written: AtomicU64,
    /// Running loss: packets expected from known publishers (by sequence
    /// number) and distinct ones received.
    pub expected: AtomicU64,
    pub received: AtomicU64,
    /// End-to-end latency of every packet whose send time was found, and
    /// the same since the progress sampler last reset it.
    pub latency: Histogram,
    pub interval_latency: Histogram,
}

impl MediaShared {
    /// `publishes(i)` says what participant `i` publishes.
    pub fn new(
        participants: usize,
        publishes: impl Fn(usize) -> Publish,
        opus: OpusFrames,
        video: Option<VideoPlan>,
        simulate_speakers: bool,
    ) -> MediaShared {
        MediaShared {
            epoch: Epoch(Instant::now()),
            tables: (0..participants)
                .map(|i| {
                    let p = publishes(i);
                    let layers = match (p.video, &video) {
                        (true, Some(v)) => v.layers().len(),
                        _ => 0,
                    };
                    PublisherTables {
                        audio: p.audio.then(SendTable::new),
                        video: (0..layers).map(|_| SendTable::new()).collect(),
                    }
                })
                .collect(),
            sending: AtomicBool::new(true),
            simulate_speakers,
            opus,
            video,
            packets_out: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            packets_in: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            send_drops: AtomicU64::new(0),
            rtp_datagrams_out: AtomicU64::new(0),
            audio_datagrams_out: AtomicU64::new(0),
            video_datagrams_out: AtomicU64::new(0),
            audio_written: AtomicU64::new(0),
            video_written: AtomicU64::new(0),
            expected: AtomicU64::new(0),
            received: AtomicU64::new(0),
            latency: Histogram::new(),
            interval_latency: Histogram::new(),
        }
    }

    /// The send table of a participant's audio, or of its video when it
    /// is one stream (a simulcast layer's is [`layer_table`](Self::layer_table)).
    pub fn table(&self, participant: usize, video: bool) -> Option<&SendTable> {
        let t = self.tables.get(participant)?;
        match (video, t.video.as_slice()) {
            (false, _) => t.audio.as_ref(),
            (true, [single]) => Some(single),
            (true, _) => None,
        }
    }

    /// The send table of simulcast layer `layer` (lowest first) of a
    /// participant's video.
    pub fn layer_table(&self, participant: usize, layer: u8) -> Option<&SendTable> {
        self.tables.get(participant)?.video.get(usize::from(layer))
    }

    /// Packets a participant wrote on its audio or, over every layer, its
    /// video.
    pub fn sent(&self, participant: usize, video: bool) -> u64 {
        let Some(t) = self.tables.get(participant) else {
            return 0;
        };
        if video {
            t.video.iter().map(SendTable::sent).sum()
        } else {
            t.audio.as_ref().map_or(0, SendTable::sent)
        }
    }
}

/// A peer to create.
pub struct PeerSpec {
    pub participant: usize,
    pub server: SocketAddr,
    /// `server` is only a first guess (its address, not its port): the
    /// remote SDP's candidate says where to send (Janus).
    pub server_from_sdp: bool,
    pub publish: Publish,
    pub notes: UnboundedSender<PeerNote>,
}

enum Command {
    Add {
        spec: PeerSpec,
        reply: oneshot::Sender<Result<String, String>>,
    },
    Answer {
        participant: usize,
        sdp: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Offer {
        participant: usize,
        sdp: String,
        tracks: Vec<RemoteTrack>,
        reply: oneshot::Sender<Result<String, String>>,
    },
    Ask {
        participant: usize,
        mid: String,
        quality: Quality,
        layers: usize,
    },
    Finish {
        reply: oneshot::Sender<Vec<TrackResult>>,
    },
}

struct Thread {
    commands: Sender<Command>,
    waker: Arc<Waker>,
}

/// The media threads, as the signaling side sees them.
pub struct Engine {
    threads: Vec<Thread>,
    pub shared: Arc<MediaShared>,
}

impl Engine {
    pub fn start(threads: usize, shared: Arc<MediaShared>) -> io::Result<Engine> {
        let mut out = Vec::new();
        for i in 0..threads.max(1) {
            let poll = Poll::new()?;
            let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
            let (tx, rx) = mpsc::channel();
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("voice-media-{i}"))
                .spawn(move || MediaThread::new(poll, rx, shared).run())?;
            out.push(Thread {
                commands: tx,
                waker,
            });
        }
        Ok(Engine {
            threads: out,
            shared,
        })
    }

    fn send(&self, participant: usize, cmd: Command) -> Result<(), String> {
        let t = &self.threads[participant % self.threads.len()];
        t.commands
            .send(cmd)
            .map_err(|_| "the media thread is gone".to_string())?;
        t.waker
            .wake()
            .map_err(|e| format!("waking the media thread: {e}"))
    }

    /// Creates the peer; returns its SDP offer.
    pub async fn add_peer(&self, spec: PeerSpec) -> Result<String, String> {
        let (reply, answer) = oneshot::channel();
        self.send(spec.participant, Command::Add { spec, reply })?;
        answer
            .await
            .map_err(|_| "the media thread dropped the request".to_string())?
    }

    pub async fn accept_answer(&self, participant: usize, sdp: String) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.send(
            participant,
            Command::Answer {
                participant,
                sdp,
                reply,
            },
        )?;
        answer
            .await
            .map_err(|_| "the media thread dropped the request".to_string())?
    }

    /// Applies a server offer; returns the answer.
    pub async fn accept_offer(
        &self,
        participant: usize,
        sdp: String,
        tracks: Vec<RemoteTrack>,
    ) -> Result<String, String> {
        let (reply, answer) = oneshot::channel();
        self.send(
            participant,
            Command::Offer {
                participant,
                sdp,
                tracks,
                reply,
            },
        )?;
        answer
            .await
            .map_err(|_| "the media thread dropped the request".to_string())?
    }

    /// The participant asked the SFU for `quality` of the simulcast track
    /// on `mid` (of `layers` layers): its packets are judged against that.
    pub fn asked(
        &self,
        participant: usize,
        mid: String,
        quality: Quality,
        layers: usize,
    ) -> Result<(), String> {
        self.send(
            participant,
            Command::Ask {
                participant,
                mid,
                quality,
                layers,
            },
        )
    }

    /// Stops every thread; returns what every peer received.
    pub async fn finish(&self) -> Vec<TrackResult> {
        let mut waits = Vec::new();
        for t in &self.threads {
            let (reply, wait) = oneshot::channel();
            if t.commands.send(Command::Finish { reply }).is_ok() && t.waker.wake().is_ok() {
                waits.push(wait);
            }
        }
        let mut all = Vec::new();
        for w in waits {
            if let Ok(r) = w.await {
                all.extend(r);
            }
        }
        all
    }
}

struct MediaThread {
    poll: Poll,
    commands: Receiver<Command>,
    shared: Arc<MediaShared>,
    peers: HashMap<usize, Peer>,
    /// Results of peers that failed and were dropped.
    done: Vec<TrackResult>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
}

impl MediaThread {
    fn new(poll: Poll, commands: Receiver<Command>, shared: Arc<MediaShared>) -> MediaThread {
        MediaThread {
            poll,
            commands,
            shared,
            peers: HashMap::new(),
            done: Vec::new(),
            timers: BinaryHeap::new(),
        }
    }

    fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut buf = vec![0u8; 2048];
        let mut touched = Vec::new();
        loop {
            let now = Instant::now();
            let timeout = self
                .timers
                .peek()
                .map(|Reverse((at, _))| at.saturating_duration_since(now));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    eprintln!("voice media thread: poll failed: {e}");
                    return;
                }
            }
            let mut wake = false;
            for ev in events.iter() {
                match ev.token() {
                    WAKER => wake = true,
                    Token(t) => {
                        let id = t - 1;
                        if let Some(p) = self.peers.get_mut(&id) {
                            p.read_socket(&mut buf, &self.shared);
                            touched.push(id);
                        }
                    }
                }
            }
            if wake {
                loop {
                    match self.commands.try_recv() {
                        Ok(Command::Finish { reply }) => {
                            let mut all = std::mem::take(&mut self.done);
                            for p in self.peers.values() {
                                all.extend(p.results(&self.shared));
                            }
                            let _ = reply.send(all);
                            return;
                        }
                        Ok(cmd) => {
                            if let Some(id) = self.command(cmd) {
                                touched.push(id);
                            }
                        }
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => return,
                    }
                }
            }
            let now = Instant::now();
            while let Some(Reverse((at, id))) = self.timers.peek().copied() {
                if at > now {
                    break;
                }
                self.timers.pop();
                let Some(p) = self.peers.get_mut(&id) else {
                    continue;
                };
                if p.scheduled != Some(at) {
                    continue; // superseded
                }
                p.scheduled = None;
                p.on_timer(now, &self.shared);
                touched.push(id);
            }
            for id in touched.drain(..) {
                self.reschedule(id);
            }
        }
    }

    /// Puts the peer's next wake-up in the heap, or drops a failed peer.
    fn reschedule(&mut self, id: usize) {
        let Some(p) = self.peers.get_mut(&id) else {
            return;
        };
        if p.failed.is_some() {
            if let Some(mut p) = self.peers.remove(&id) {
                let _ = self.poll.registry().deregister(&mut p.socket);
                self.done.extend(p.results(&self.shared));
            }
            return;
        }
        let at = p.wake_at(&self.shared);
        if p.scheduled != Some(at) {
            p.scheduled = Some(at);
            self.timers.push(Reverse((at, id)));
        }
    }

    /// Handles a command; returns the peer it touched.
    fn command(&mut self, cmd: Command) -> Option<usize> {
        let now = Instant::now();
        match cmd {
            Command::Add { spec, reply } => {
                let id = spec.participant;
                match Peer::new(
                    id,
                    spec.server,
                    spec.server_from_sdp,
                    spec.publish,
                    self.shared.video.as_ref(),
                    spec.notes,
                    now,
                ) {
                    Ok((mut peer, offer)) => {
                        if let Err(e) = self.poll.registry().register(
                            &mut peer.socket,
                            Token(id + 1),
                            Interest::READABLE,
                        ) {
                            let _ = reply.send(Err(format!("registering the socket: {e}")));
                            return None;
                        }
                        self.peers.insert(id, peer);
                        let _ = reply.send(Ok(offer));
                        Some(id)
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        None
                    }
                }
            }
            Command::Answer {
                participant,
                sdp,
                reply,
            } => {
                let Some(p) = self.peers.get_mut(&participant) else {
                    let _ = reply.send(Err("no such peer (it failed)".into()));
                    return None;
                };
                let r = p.accept_answer(&sdp);
                if r.is_ok() {
                    p.on_timer(now, &self.shared);
                }
                let _ = reply.send(r);
                Some(participant)
            }
            Command::Offer {
                participant,
                sdp,
                tracks,
                reply,
            } => {
                let Some(p) = self.peers.get_mut(&participant) else {
                    let _ = reply.send(Err("no such peer (it failed)".into()));
                    return None;
                };
                let r = p.accept_offer(&sdp, tracks);
                if r.is_ok() {
                    p.on_timer(now, &self.shared);
                }
                let _ = reply.send(r);
                Some(participant)
            }
            Command::Ask {
                participant,
                mid,
                quality,
                layers,
            } => {
                let p = self.peers.get_mut(&participant)?;
                p.asked(&mid, quality, layers, &self.shared);
                None
            }
            Command::Finish { .. } => None,
        }
    }
}
