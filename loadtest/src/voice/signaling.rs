//! One participant's signaling against Hearth: the main gateway (Identify,
//! op 4, VOICE_SERVER_UPDATE) and the voice WebSocket (Hello, Identify,
//! Ready, Select Protocol with our offer, op 4's answer, op 40 offers
//! answered with op 41, heartbeats), as docs/protocol.md §6.13 and §7 say.
//!
//! The media side is reached only through [`Engine`]: create a peer (get
//! its offer), apply an answer, answer an offer. Another SFU's signaling
//! (Janus' VideoRoom, say) would be another module driving the same three
//! calls; nothing in the media threads knows whose server it talks to.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::engine::{Engine, PeerSpec};
use super::peer::{PeerNote, Publish, RemoteTrack};
use super::simulcast::Quality;
use crate::gateway::{op, Connection, Ended};

/// GUILDS only: a voice client needs READY, GUILD_CREATE and its own
/// VOICE_SERVER_UPDATE, which is sent to the session whatever its intents;
/// leaving out GUILD_VOICE_STATES spares the gateway a fan-out per join.
const INTENTS: u64 = 1;
/// Identify through READY and GUILD_CREATE.
const IDENTIFY_TIMEOUT: Duration = Duration::from_secs(30);
/// Op 4 to VOICE_SERVER_UPDATE. A refused join gets no answer at all.
const VOICE_SERVER_TIMEOUT: Duration = Duration::from_secs(10);
/// Each voice gateway step (Hello, Ready, the answer).
const VOICE_STEP_TIMEOUT: Duration = Duration::from_secs(15);

mod vop {
    pub const IDENTIFY: u64 = 0;
    pub const SELECT_PROTOCOL: u64 = 1;
    pub const READY: u64 = 2;
    pub const HEARTBEAT: u64 = 3;
    pub const SESSION_DESCRIPTION: u64 = 4;
    pub const HELLO: u64 = 8;
    pub const SERVER_OFFER: u64 = 40;
    pub const CLIENT_ANSWER: u64 = 41;
    pub const VIDEO_QUALITY: u64 = 42;
}

/// What one participant does.
#[derive(Clone, Debug)]
pub struct Plan {
    pub index: usize,
    pub user_id: String,
    pub token: String,
    pub guild_id: String,
    pub channel_id: String,
    pub publish: Publish,
    /// Whether another participant of the room publishes: then joining
    /// means receiving their media, not only connecting.
    pub expects_media: bool,
    /// What to ask the SFU for (op 42) of every simulcast video track.
    pub video_quality: Option<Quality>,
}

/// What every participant shares.
pub struct Context {
    pub gateway_url: String,
    pub engine: Engine,
    /// User id → participant index: whose track an op 40 m-line carries.
    pub participants_by_user: HashMap<String, usize>,
    /// Op 4 to connected (and to first media when expected).
    pub join_timeout: Duration,
    pub joined: AtomicUsize,
    /// The media addresses Ready named (the SFU workers' sockets).
    pub media_addrs: std::sync::Mutex<std::collections::HashSet<SocketAddr>>,
}

/// A join's milestones, from the op 4 that asked for it.
#[derive(Clone, Copy, Debug, Default)]
pub struct JoinTimes {
    /// Op 4 to VOICE_SERVER_UPDATE: the gateway's part.
    pub voice_server: Duration,
    pub connected: Duration,
    pub first_media: Option<Duration>,
}

/// Why a participant failed, by stage (the report counts by `stage`).
#[derive(Clone, Debug)]
pub struct Failure {
    pub stage: &'static str,
    pub detail: String,
}

pub fn fail(stage: &'static str, detail: impl Into<String>) -> Failure {
    Failure {
        stage,
        detail: detail.into(),
    }
}

/// How the join went, sent as soon as it is known.
#[derive(Debug)]
pub struct Joined {
    pub index: usize,
    pub result: Result<JoinTimes, Failure>,
}

/// How the participant's whole run went.
#[derive(Debug)]
pub struct Outcome {
    pub index: usize,
    pub join: Result<JoinTimes, Failure>,
    /// What ended the call before the run did, if anything.
    pub dropped: Option<Failure>,
}

/// How one participant's call is going: the join's milestones, how the
/// join ended, and what ended the call after it. Hearth's signaling and
/// Janus' both keep their call in one, so a join is judged the same way
/// whichever server is measured; `joined` hears how the join went as soon
/// as that is known.
pub struct CallProgress {
    index: usize,
    expects_media: bool,
    /// When the join was asked for (op 4, or Janus' `join`): the
    /// milestones count from here.
    asked_at: Instant,
    times: JoinTimes,
    connected: bool,
    join: Option<Result<JoinTimes, Failure>>,
    dropped: Option<Failure>,
    joined: mpsc::UnboundedSender<Joined>,
}

impl CallProgress {
    /// A call whose join was asked for at `asked_at` and granted
    /// `voice_server` later.
    pub fn new(
        index: usize,
        expects_media: bool,
        asked_at: Instant,
        voice_server: Duration,
        joined: mpsc::UnboundedSender<Joined>,
    ) -> CallProgress {
        CallProgress {
            index,
            expects_media,
            asked_at,
            times: JoinTimes {
                voice_server,
                ..JoinTimes::default()
            },
            connected: false,
            join: None,
            dropped: None,
            joined,
        }
    }

    /// The outcome of a join that failed before there was a call.
    pub fn refused(
        index: usize,
        failure: Failure,
        joined: &mpsc::UnboundedSender<Joined>,
    ) -> Outcome {
        let _ = joined.send(Joined {
            index,
            result: Err(failure.clone()),
        });
        Outcome {
            index,
            join: Err(failure),
            dropped: None,
        }
    }

    /// When the join fails unless it has succeeded.
    pub fn deadline(&self, join_timeout: Duration) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.asked_at + join_timeout)
    }

    pub fn joining(&self) -> bool {
        self.join.is_none()
    }

    pub fn peer_connected(&mut self, at: Instant) {
        self.connected = true;
        self.times.connected = at.saturating_duration_since(self.asked_at);
    }

    pub fn first_media(&mut self, at: Instant) {
        self.times.first_media = Some(at.saturating_duration_since(self.asked_at));
    }

    /// Counts the join in `joined_count` and reports it, once the peer
    /// has connected and, if others in the room publish, their media has
    /// arrived.
    pub fn note_if_joined(&mut self, joined_count: &AtomicUsize) {
        if self.join.is_none()
            && self.connected
            && (!self.expects_media || self.times.first_media.is_some())
        {
            joined_count.fetch_add(1, Ordering::Relaxed);
            self.join = Some(Ok(self.times));
            let _ = self.joined.send(Joined {
                index: self.index,
                result: Ok(self.times),
            });
        }
    }

    /// The failure of a peer the media thread gave up on: its connection
    /// if it never connected, its media after.
    pub fn peer_failed(&self, why: String) -> Failure {
        fail(if self.connected { "media" } else { "ice/dtls" }, why)
    }

    /// The failure of a join that did not finish within `join_timeout` of
    /// `asked` (what asked for it, for the message).
    pub fn timed_out(&self, join_timeout: Duration, asked: &str) -> Failure {
        if self.connected {
            fail(
                "no media",
                format!("connected, but no packet from another participant within {join_timeout:?} of {asked}"),
            )
        } else {
            fail(
                "ice/dtls",
                format!("not connected within {join_timeout:?} of {asked}"),
            )
        }
    }

    /// A failure that ends the call: the join's, while it is still going
    /// (reported at once), or else what dropped the call.
    pub fn end(&mut self, failure: Failure) {
        if self.join.is_none() {
            let _ = self.joined.send(Joined {
                index: self.index,
                result: Err(failure.clone()),
            });
            self.join = Some(Err(failure));
        } else {
            self.dropped = Some(failure);
        }
    }

    pub fn outcome(self) -> Outcome {
        Outcome {
            index: self.index,
            join: self
                .join
                .unwrap_or_else(|| Err(fail("stopped", "the run ended while joining"))),
            dropped: self.dropped,
        }
    }
}

type Ws = WebSocketStream<TcpStream>;

struct VoiceSocket {
    ws: Ws,
    interval: Duration,
    next_heartbeat: tokio::time::Instant,
}

/// `host:port/path` → (`host:port`, `ws://host:port/path/?v=8`).
fn voice_url(endpoint: &str) -> (String, String) {
    let endpoint = endpoint.trim_start_matches("ws://").trim_end_matches('/');
    let authority = endpoint.split('/').next().unwrap_or(endpoint).to_string();
    (authority, format!("ws://{endpoint}/?v=8"))
}

impl VoiceSocket {
    async fn open(endpoint: &str) -> Result<VoiceSocket, String> {
        let (authority, url) = voice_url(endpoint);
        let tcp = TcpStream::connect(&authority)
            .await
            .map_err(|e| format!("connecting to {authority}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let config = WebSocketConfig::default()
            .read_buffer_size(8192)
            .write_buffer_size(0)
            .max_message_size(Some(1 << 20));
        let (ws, _) = tokio_tungstenite::client_async_with_config(url.as_str(), tcp, Some(config))
            .await
            .map_err(|e| format!("WebSocket handshake with {url}: {e}"))?;
        let mut s = VoiceSocket {
            ws,
            interval: Duration::from_secs(3600),
            next_heartbeat: tokio::time::Instant::now() + Duration::from_secs(3600),
        };
        let (o, d) = s.read().await?;
        if o != vop::HELLO {
            return Err(format!("expected Hello (op 8), got op {o}"));
        }
        let ms = d["heartbeat_interval"].as_f64().unwrap_or(0.0).max(100.0);
        s.interval = Duration::from_millis(ms as u64);
        s.next_heartbeat = tokio::time::Instant::now() + s.interval.mul_f64(0.75);
        Ok(s)
    }

    async fn send(&mut self, opcode: u64, d: Value) -> Result<(), String> {
        self.ws
            .send(Message::text(json!({"op": opcode, "d": d}).to_string()))
            .await
            .map_err(|e| format!("voice socket write: {e}"))
    }

    /// The next payload; an error says how the socket ended.
    async fn read(&mut self) -> Result<(u64, Value), String> {
        loop {
            match self.ws.next().await {
                None => return Err("voice socket ended".into()),
                Some(Err(e)) => return Err(format!("voice socket: {e}")),
                Some(Ok(Message::Close(f))) => {
                    return Err(match f {
                        Some(f) => {
                            format!("voice socket closed {}: {}", u16::from(f.code), f.reason)
                        }
                        None => "voice socket closed".into(),
                    })
                }
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str())
                        .map_err(|e| format!("voice payload is not JSON: {e}"))?;
                    let o = v["op"].as_u64().ok_or("voice payload without an op")?;
                    return Ok((o, v.get("d").cloned().unwrap_or(Value::Null)));
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Reads until `want` arrives (answering heartbeats meanwhile).
    async fn expect(&mut self, want: u64) -> Result<Value, String> {
        let wait = async {
            loop {
                let heartbeat_due = self.next_heartbeat;
                tokio::select! {
                    r = self.read() => {
                        let (o, d) = r?;
                        if o == want {
                            return Ok(d);
                        }
                    }
                    _ = tokio::time::sleep_until(heartbeat_due) => self.heartbeat().await?,
                }
            }
        };
        tokio::time::timeout(VOICE_STEP_TIMEOUT, wait)
            .await
            .map_err(|_| format!("no voice op {want} within {VOICE_STEP_TIMEOUT:?}"))?
    }

    async fn heartbeat(&mut self) -> Result<(), String> {
        self.next_heartbeat = tokio::time::Instant::now() + self.interval;
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.send(vop::HEARTBEAT, json!({"t": t, "seq_ack": -1}))
            .await
    }

    async fn close(mut self) {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "load test done".into(),
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            if self.ws.close(Some(frame)).await.is_ok() {
                while let Some(Ok(_)) = self.ws.next().await {}
            }
        })
        .await;
    }
}

/// The gateway session: Identify and wait for READY and every GUILD_CREATE.
async fn identify(ctx: &Context, plan: &Plan) -> Result<(Connection, String), Failure> {
    let mut conn = Connection::open(&ctx.gateway_url)
        .await
        .map_err(|e| fail("gateway", e.to_string()))?;
    conn.identify(&plan.token, INTENTS)
        .await
        .map_err(|e| fail("gateway", format!("sending Identify: {e:?}")))?;
    let wait = async {
        let mut session = None;
        let mut guilds_due = usize::MAX;
        loop {
            let p = conn.next(None).await?;
            if p.op == op::INVALID_SESSION {
                return Err(Ended::Closed(None));
            }
            match p.t.as_deref() {
                Some("READY") => {
                    session = p.d.session_id.clone();
                    guilds_due = p.d.guilds.unwrap_or(0);
                }
                Some("GUILD_CREATE") => guilds_due = guilds_due.saturating_sub(1),
                _ => {}
            }
            if let (Some(id), 0) = (&session, guilds_due) {
                return Ok(id.clone());
            }
        }
    };
    match tokio::time::timeout(IDENTIFY_TIMEOUT, wait).await {
        Ok(Ok(id)) => Ok((conn, id)),
        Ok(Err(e)) => Err(fail("gateway", format!("Identify: {e:?}"))),
        Err(_) => Err(fail("gateway", "no READY and GUILD_CREATE within 30 s")),
    }
}

/// Runs one participant until `stop`; `joined` hears how the join went.
pub async fn run(
    plan: Plan,
    ctx: Arc<Context>,
    mut stop: watch::Receiver<bool>,
    joined: mpsc::UnboundedSender<Joined>,
) -> Outcome {
    let index = plan.index;
    let (notes_tx, mut notes) = mpsc::unbounded_channel();
    let started = join(&plan, &ctx, notes_tx).await;
    let (mut gw, mut voice, op4_at, voice_server) = match started {
        Ok(s) => s,
        Err(f) => return CallProgress::refused(index, f, &joined),
    };

    let mut call = CallProgress::new(index, plan.expects_media, op4_at, voice_server, joined);
    let deadline = call.deadline(ctx.join_timeout);
    let mut quality_asked = HashSet::new();
    loop {
        call.note_if_joined(&ctx.joined);
        let joining = call.joining();
        let heartbeat_due = voice.next_heartbeat;
        let event: Result<(), Failure> = tokio::select! {
            biased;
            // The guard wait_for returns is not Send: drop it here.
            _ = async { let _ = stop.wait_for(|s| *s).await; } => break,
            note = notes.recv() => match note {
                Some(PeerNote::Connected(at)) => {
                    call.peer_connected(at);
                    Ok(())
                }
                Some(PeerNote::FirstMedia(at)) => {
                    call.first_media(at);
                    Ok(())
                }
                Some(PeerNote::Failed(why)) => Err(call.peer_failed(why)),
                None => Err(fail("media", "the media thread stopped")),
            },
            r = voice.read() => match r {
                Ok((vop::SERVER_OFFER, d)) => answer_offer(&ctx, &plan, &mut voice, d, &mut quality_asked).await,
                Ok(_) => Ok(()),
                Err(e) => Err(fail("voice gateway", e)),
            },
            p = gw.next(None) => match p {
                Ok(_) => Ok(()),
                Err(e) => Err(fail("gateway", format!("connection ended: {e:?}"))),
            },
            _ = tokio::time::sleep_until(heartbeat_due) => {
                voice.heartbeat().await.map_err(|e| fail("voice gateway", e))
            }
            _ = tokio::time::sleep_until(deadline), if joining => Err(call.timed_out(ctx.join_timeout, "op 4")),
        };
        if let Err(f) = event {
            call.end(f);
            break;
        }
    }
    voice.close().await;
    gw.close().await;
    call.outcome()
}

/// Everything up to our offer's answer: returns the gateway connection,
/// the voice socket, when op 4 was sent, and how long VOICE_SERVER_UPDATE
/// took to follow it.
async fn join(
    plan: &Plan,
    ctx: &Context,
    notes: mpsc::UnboundedSender<PeerNote>,
) -> Result<(Connection, VoiceSocket, Instant, Duration), Failure> {
    let (mut gw, session_id) = identify(ctx, plan).await?;

    let op4_at = Instant::now();
    gw.send(&json!({"op": op::VOICE_STATE_UPDATE, "d": {
        "guild_id": plan.guild_id,
        "channel_id": plan.channel_id,
        "self_mute": !plan.publish.audio,
        "self_deaf": false,
        "self_video": plan.publish.video,
    }}))
    .await
    .map_err(|e| fail("gateway", format!("sending op 4: {e:?}")))?;
    let wait = async {
        loop {
            let p = gw.next(None).await?;
            if p.t.as_deref() == Some("VOICE_SERVER_UPDATE") {
                if let (Some(token), Some(endpoint)) = (p.d.token, p.d.endpoint) {
                    return Ok::<_, Ended>((token, endpoint));
                }
            }
        }
    };
    let granted = tokio::time::timeout(VOICE_SERVER_TIMEOUT, wait).await;
    let voice_server = op4_at.elapsed();
    let (token, endpoint) = match granted {
        Ok(Ok(te)) => te,
        Ok(Err(e)) => return Err(fail("gateway", format!("after op 4: {e:?}"))),
        Err(_) => {
            return Err(fail(
                "join refused",
                "no VOICE_SERVER_UPDATE within 10 s of op 4 (refusals are silent)",
            ))
        }
    };

    let mut voice = VoiceSocket::open(&endpoint)
        .await
        .map_err(|e| fail("voice gateway", e))?;
    voice
        .send(
            vop::IDENTIFY,
            json!({"server_id": plan.guild_id, "user_id": plan.user_id, "session_id": session_id, "token": token}),
        )
        .await
        .map_err(|e| fail("voice gateway", e))?;
    let ready = voice
        .expect(vop::READY)
        .await
        .map_err(|e| fail("voice gateway", e))?;
    let server: SocketAddr = match (ready["ip"].as_str(), ready["port"].as_u64()) {
        (Some(ip), Some(port)) => format!("{ip}:{port}")
            .parse()
            .map_err(|e| fail("voice gateway", format!("Ready's ip and port: {e}")))?,
        _ => {
            return Err(fail(
                "voice gateway",
                format!("Ready without ip/port: {ready}"),
            ))
        }
    };
    ctx.media_addrs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(server);
    let offer = ctx
        .engine
        .add_peer(PeerSpec {
            participant: plan.index,
            server,
            server_from_sdp: false,
            publish: plan.publish,
            notes,
        })
        .await
        .map_err(|e| fail("media", e))?;
    voice
        .send(
            vop::SELECT_PROTOCOL,
            json!({"protocol": "webrtc", "sdp": offer}),
        )
        .await
        .map_err(|e| fail("voice gateway", e))?;
    let answer = voice
        .expect(vop::SESSION_DESCRIPTION)
        .await
        .map_err(|e| fail("voice gateway", e))?;
    let sdp = answer["sdp"]
        .as_str()
        .ok_or_else(|| fail("voice gateway", format!("op 4 without sdp: {answer}")))?;
    ctx.engine
        .accept_answer(plan.index, sdp.to_string())
        .await
        .map_err(|e| fail("media", e))?;
    Ok((gw, voice, op4_at, voice_server))
}

/// Op 40 → the media thread's answer → op 41, then op 42 for simulcast
/// tracks not asked for yet (`quality_asked`: their user and mid).
async fn answer_offer(
    ctx: &Context,
    plan: &Plan,
    voice: &mut VoiceSocket,
    d: Value,
    quality_asked: &mut HashSet<(String, String)>,
) -> Result<(), Failure> {
    let sdp = d["sdp"]
        .as_str()
        .ok_or_else(|| fail("voice gateway", "op 40 without sdp"))?
        .to_string();
    let tracks = d["tracks"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter_map(|t| {
                    Some(RemoteTrack {
                        mid: t["mid"].as_str()?.to_string(),
                        publisher: t["user_id"]
                            .as_str()
                            .and_then(|u| ctx.participants_by_user.get(u))
                            .copied(),
                        video: t["kind"].as_str() == Some("video"),
                        renumbered: false,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let answer = ctx
        .engine
        .accept_offer(plan.index, sdp, tracks)
        .await
        .map_err(|e| fail("media", format!("answering op 40: {e}")))?;
    voice
        .send(vop::CLIENT_ANSWER, json!({"sdp": answer}))
        .await
        .map_err(|e| fail("voice gateway", e))?;
    ask_video_quality(ctx, plan, voice, &d, quality_asked).await
}

/// With simulcast: op 42 for each video track of op 40 (`d`) that has
/// layers, once per track; the peer hears what was asked, to judge what
/// arrives.
async fn ask_video_quality(
    ctx: &Context,
    plan: &Plan,
    voice: &mut VoiceSocket,
    d: &Value,
    quality_asked: &mut HashSet<(String, String)>,
) -> Result<(), Failure> {
    let Some(quality) = plan.video_quality else {
        return Ok(());
    };
    for t in d["tracks"].as_array().into_iter().flatten() {
        let (Some(mid), Some(layers)) = (t["mid"].as_str(), t["layers"].as_u64()) else {
            continue;
        };
        let track = (
            t["user_id"].as_str().unwrap_or("").to_string(),
            mid.to_string(),
        );
        if t["kind"].as_str() != Some("video") || layers < 2 || !quality_asked.insert(track) {
            continue;
        }
        ctx.engine
            .asked(plan.index, mid.to_string(), quality, layers as usize)
            .map_err(|e| fail("media", e))?;
        voice
            .send(
                vop::VIDEO_QUALITY,
                json!({"mid": mid, "quality": quality.as_str()}),
            )
            .await
            .map_err(|e| fail("voice gateway", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_voice_url_comes_from_the_endpoint() {
        assert_eq!(
            voice_url("127.0.0.1:8080/voice"),
            (
                "127.0.0.1:8080".to_string(),
                "ws://127.0.0.1:8080/voice/?v=8".to_string()
            )
        );
        assert_eq!(voice_url("h:1/").1, "ws://h:1/?v=8");
    }
}
