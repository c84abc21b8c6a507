//! One participant's signaling against a Janus VideoRoom (Janus 1.1), so the
//! same clients, media and accounting measure another SFU on the same
//! machine.
//!
//! Over Janus' WebSocket API (subprotocol `janus-protocol`): `create` a
//! session, `attach` a handle to `janus.plugin.videoroom`, `join` the
//! participant's room as a publisher (feed id = participant index + 1, so a
//! feed names its participant), and, for those who publish, `publish` with
//! the engine's offer and apply Janus' answer. Everyone also subscribes to
//! the room's other feeds on one multistream subscriber handle: `join` as a
//! subscriber with `streams`, then `update` as more publishers appear (the
//! publisher handle hears of them); each time Janus sends an offer, the
//! engine answers it and `start` carries the answer. A `keepalive` goes out
//! every 25 s.
//!
//! What differs from Hearth, and why:
//! - Janus gives every PeerConnection a port of its own, so a participant
//!   that publishes and listens has two peers: its own index for
//!   publishing, index + participants for listening (the report folds the
//!   second back into the first). Their sockets learn Janus' port from the
//!   candidate in Janus' SDP.
//! - Janus renumbers a subscriber's packets from 1, so received tracks are
//!   marked `renumbered` (see [`RemoteTrack`]).
//! - No users, guilds or gateway: a join starts at the `join` request, and
//!   its first milestone is Janus' `joined` event (where Hearth's is
//!   VOICE_SERVER_UPDATE).
//! - Simulcast: Janus takes the first rid of `a=simulcast` for the highest
//!   layer unless the offer's `jsep` says `"rid_order": "lmh"`, which ours
//!   does (lowest first, as for Hearth). A quality is asked for with the
//!   subscriber handle's `configure` and the stream's `substream` (0 the
//!   lowest), where Hearth has op 42.
//!
//! Rooms are made beforehand by [`create_rooms`], with as many publisher
//! slots as the room has participants.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::engine::{Engine, PeerSpec};
use super::peer::{udp_candidate, PeerNote, Publish, RemoteTrack};
use super::signaling::{fail, CallProgress, Failure, Joined, Outcome};
use super::simulcast::Quality;

const PLUGIN: &str = "janus.plugin.videoroom";
/// Janus drops a session after 60 s without a request.
const KEEPALIVE: Duration = Duration::from_secs(25);
/// Each request's answer (an event, for the asynchronous ones).
const STEP_TIMEOUT: Duration = Duration::from_secs(15);
/// Janus' "room already exists".
const ROOM_EXISTS: u64 = 427;

/// What every participant shares.
pub struct Context {
    /// `ws://host:port`.
    pub url: String,
    pub engine: Engine,
    pub participants: usize,
    /// Room id per room index.
    pub rooms: Vec<u64>,
    pub join_timeout: Duration,
    pub joined: AtomicUsize,
    /// Janus' media addresses, as its SDP named them.
    pub media_addrs: std::sync::Mutex<std::collections::HashSet<SocketAddr>>,
}

/// What one participant does.
#[derive(Clone, Debug)]
pub struct Plan {
    pub index: usize,
    pub room: usize,
    pub publish: Publish,
    pub expects_media: bool,
    /// What to ask Janus for of every simulcast video stream.
    pub video_quality: Option<Quality>,
}

/// A participant's feed id: never 0, which Janus would replace.
pub fn feed_of(participant: usize) -> u64 {
    participant as u64 + 1
}

/// The participant a feed id names, if it is one of ours.
pub fn participant_of(feed: u64, participants: usize) -> Option<usize> {
    let n = usize::try_from(feed.checked_sub(1)?).ok()?;
    (n < participants).then_some(n)
}

pub fn create_room_body(room: u64, publishers: usize) -> Value {
    json!({
        "request": "create",
        "room": room,
        "publishers": publishers,
        "audiocodec": "opus",
        "videocodec": "vp8",
        "permanent": false,
    })
}

pub fn publisher_join_body(room: u64, participant: usize) -> Value {
    json!({
        "request": "join",
        "ptype": "publisher",
        "room": room,
        "id": feed_of(participant),
        "display": format!("lt-{participant}"),
    })
}

pub fn subscriber_join_body(room: u64, feeds: &BTreeSet<u64>) -> Value {
    json!({
        "request": "join",
        "ptype": "subscriber",
        "room": room,
        "streams": feeds.iter().map(|f| json!({"feed": f})).collect::<Vec<_>>(),
    })
}

/// Asks for the `substream` (layer index, 0 the lowest) of each of the
/// subscription's streams in `mids`.
pub fn substream_body(mids: &[String], substream: u8) -> Value {
    json!({
        "request": "configure",
        "streams": mids
            .iter()
            .map(|mid| json!({"mid": mid, "substream": substream}))
            .collect::<Vec<_>>(),
    })
}

pub fn update_body(feeds: &BTreeSet<u64>) -> Value {
    json!({
        "request": "update",
        "subscribe": feeds.iter().map(|f| json!({"feed": f})).collect::<Vec<_>>(),
    })
}

/// `plugindata.data` of a plugin's reply or event.
pub fn plugin_data(msg: &Value) -> Option<&Value> {
    msg.get("plugindata")?.get("data")
}

/// The error a reply carries: Janus' own (`"janus":"error"`) or the
/// plugin's (`error_code`, `error`).
pub fn reply_error(msg: &Value) -> Option<(u64, String)> {
    if msg["janus"] == "error" {
        let e = &msg["error"];
        return Some((
            e["code"].as_u64().unwrap_or(0),
            e["reason"].as_str().unwrap_or("").to_string(),
        ));
    }
    let d = plugin_data(msg)?;
    let code = d.get("error_code")?.as_u64().unwrap_or(0);
    Some((code, d["error"].as_str().unwrap_or("").to_string()))
}

/// Feeds that publish, from a `joined` event's or a room event's
/// `publishers`.
pub fn publishing_feeds(data: &Value) -> Vec<u64> {
    data["publishers"]
        .as_array()
        .map(|ps| ps.iter().filter_map(|p| p["id"].as_u64()).collect())
        .unwrap_or_default()
}

/// The tracks a subscriber offer carries, from an `attached` or `updated`
/// event's `streams` (data channels and inactive streams left out).
pub fn subscribed_tracks(data: &Value, participants: usize) -> Vec<RemoteTrack> {
    data["streams"]
        .as_array()
        .map(|ss| {
            ss.iter()
                .filter(|s| s["active"].as_bool() != Some(false))
                .filter_map(|s| {
                    let kind = s["type"].as_str()?;
                    if kind != "audio" && kind != "video" {
                        return None;
                    }
                    Some(RemoteTrack {
                        mid: s["mid"].as_str()?.to_string(),
                        publisher: s["feed_id"]
                            .as_u64()
                            .and_then(|f| participant_of(f, participants)),
                        video: kind == "video",
                        renumbered: true,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The SDP of a message's `jsep`, if it is of type `kind`.
pub fn jsep_sdp<'a>(msg: &'a Value, kind: &str) -> Option<&'a str> {
    let j = msg.get("jsep")?;
    (j["type"] == kind).then(|| j["sdp"].as_str())?
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One Janus session over one WebSocket.
struct Session {
    ws: Ws,
    id: u64,
    next_transaction: u64,
    /// Messages that arrived while a request waited for its answer.
    backlog: VecDeque<Value>,
}

impl Session {
    async fn open(url: &str) -> Result<Session, String> {
        let mut request = url
            .into_client_request()
            .map_err(|e| format!("bad Janus URL {url}: {e}"))?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("janus-protocol"),
        );
        let (ws, _) = tokio::time::timeout(STEP_TIMEOUT, tokio_tungstenite::connect_async(request))
            .await
            .map_err(|_| format!("no WebSocket to {url} within {STEP_TIMEOUT:?}"))?
            .map_err(|e| format!("WebSocket to {url}: {e}"))?;
        let mut s = Session {
            ws,
            id: 0,
            next_transaction: 0,
            backlog: VecDeque::new(),
        };
        let created = s.request(json!({"janus": "create"})).await?;
        s.id = created["data"]["id"]
            .as_u64()
            .ok_or_else(|| format!("create without a session id: {created}"))?;
        Ok(s)
    }

    async fn read(&mut self) -> Result<Value, String> {
        loop {
            match self.ws.next().await {
                None => return Err("Janus socket ended".into()),
                Some(Err(e)) => return Err(format!("Janus socket: {e}")),
                Some(Ok(Message::Close(_))) => return Err("Janus closed the socket".into()),
                Some(Ok(Message::Text(t))) => {
                    return serde_json::from_str(t.as_str())
                        .map_err(|e| format!("Janus sent something not JSON: {e}"))
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next message nobody waits for.
    async fn next_event(&mut self) -> Result<Value, String> {
        match self.backlog.pop_front() {
            Some(m) => Ok(m),
            None => self.read().await,
        }
    }

    async fn send(&mut self, mut msg: Value) -> Result<String, String> {
        self.next_transaction += 1;
        let transaction = format!("t{}", self.next_transaction);
        msg["transaction"] = json!(transaction);
        if self.id != 0 {
            msg["session_id"] = json!(self.id);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .await
            .map_err(|e| format!("Janus socket write: {e}"))?;
        Ok(transaction)
    }

    /// Sends `msg` and waits for its answer: `success`, an `event` after
    /// the `ack` of an asynchronous plugin request, or an error.
    async fn request(&mut self, msg: Value) -> Result<Value, String> {
        let what = msg["janus"].as_str().unwrap_or("?").to_string();
        let transaction = self.send(msg).await?;
        let wait = async {
            loop {
                let m = self.read().await?;
                if m["transaction"] != transaction.as_str() {
                    self.backlog.push_back(m);
                    continue;
                }
                if m["janus"] == "ack" {
                    continue;
                }
                if let Some((code, reason)) = reply_error(&m) {
                    return Err(format!("Janus refused {what}: {code} {reason}"));
                }
                return Ok(m);
            }
        };
        tokio::time::timeout(STEP_TIMEOUT, wait)
            .await
            .map_err(|_| format!("no answer to {what} within {STEP_TIMEOUT:?}"))?
    }

    async fn attach(&mut self) -> Result<u64, String> {
        let r = self
            .request(json!({"janus": "attach", "plugin": PLUGIN}))
            .await?;
        r["data"]["id"]
            .as_u64()
            .ok_or_else(|| format!("attach without a handle id: {r}"))
    }

    async fn message(
        &mut self,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> Result<Value, String> {
        let mut m = json!({"janus": "message", "handle_id": handle, "body": body});
        if let Some(j) = jsep {
            m["jsep"] = j;
        }
        self.request(m).await
    }

    async fn keepalive(&mut self) -> Result<(), String> {
        self.send(json!({"janus": "keepalive"})).await.map(drop)
    }

    async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = self.send(json!({"janus": "destroy"})).await;
            if self.ws.close(None).await.is_ok() {
                while let Some(Ok(_)) = self.ws.next().await {}
            }
        })
        .await;
    }
}

/// Makes one room per index with `publishers` publisher slots; returns
/// their ids (random, so runs against a long-lived Janus do not collide).
pub async fn create_rooms(url: &str, rooms: usize, publishers: usize) -> Result<Vec<u64>, String> {
    let mut s = Session::open(url).await?;
    let handle = s.attach().await?;
    let mut ids = Vec::with_capacity(rooms);
    let mut next = 1 + rand::random::<u32>() as u64;
    while ids.len() < rooms {
        let room = next;
        next += 1;
        match s
            .message(handle, create_room_body(room, publishers), None)
            .await
        {
            Ok(_) => ids.push(room),
            Err(e) if e.contains(&format!(": {ROOM_EXISTS} ")) => continue,
            Err(e) => return Err(format!("creating room {room}: {e}")),
        }
    }
    s.close().await;
    Ok(ids)
}

/// Destroys the rooms [`create_rooms`] made (best effort).
pub async fn destroy_rooms(url: &str, rooms: &[u64]) {
    let Ok(mut s) = Session::open(url).await else {
        return;
    };
    if let Ok(handle) = s.attach().await {
        for room in rooms {
            let _ = s
                .message(handle, json!({"request": "destroy", "room": room}), None)
                .await;
        }
    }
    s.close().await;
}

/// A participant's subscription: one multistream handle and one peer.
struct Subscription {
    handle: Option<u64>,
    /// Feeds asked for, and those still to ask for.
    asked: BTreeSet<u64>,
    wanted: BTreeSet<u64>,
    peer_made: bool,
    /// Video streams (mids) whose substream was asked for.
    quality_asked: HashSet<String>,
}

/// The peer a participant listens with.
fn listening_peer(ctx: &Context, plan: &Plan) -> usize {
    plan.index + ctx.participants
}

/// Runs one participant until `stop`; `joined` hears how the join went.
pub async fn run(
    plan: Plan,
    ctx: Arc<Context>,
    mut stop: watch::Receiver<bool>,
    joined: mpsc::UnboundedSender<Joined>,
) -> Outcome {
    let index = plan.index;
    let (pub_tx, mut pub_notes) = mpsc::unbounded_channel();
    let (sub_tx, mut sub_notes) = mpsc::unbounded_channel();
    let started = join(&plan, &ctx, pub_tx).await;
    let (mut session, mut sub, join_at, voice_server) = match started {
        Ok(s) => s,
        Err(f) => return CallProgress::refused(index, f, &joined),
    };

    let mut call = CallProgress::new(index, plan.expects_media, join_at, voice_server, joined);
    let deadline = call.deadline(ctx.join_timeout);
    let mut keepalive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
    loop {
        call.note_if_joined(&ctx.joined);
        let mut event: Result<(), Failure> = Ok(());
        if !sub.wanted.is_empty() {
            event = subscribe(&ctx, &plan, &mut session, &mut sub, &sub_tx).await;
        }
        let joining = call.joining();
        if event.is_ok() {
            event = tokio::select! {
                biased;
                _ = async { let _ = stop.wait_for(|s| *s).await; } => break,
                note = pub_notes.recv(), if plan.publish.audio => match note {
                    Some(PeerNote::Connected(at)) => {
                        call.peer_connected(at);
                        Ok(())
                    }
                    Some(PeerNote::FirstMedia(_)) => Ok(()),
                    Some(PeerNote::Failed(why)) => Err(call.peer_failed(why)),
                    None => Err(fail("media", "the media thread stopped")),
                },
                note = sub_notes.recv() => match note {
                    Some(PeerNote::Connected(at)) => {
                        // A publisher's join connects with its publishing peer.
                        if !plan.publish.audio {
                            call.peer_connected(at);
                        }
                        Ok(())
                    }
                    Some(PeerNote::FirstMedia(at)) => {
                        call.first_media(at);
                        Ok(())
                    }
                    Some(PeerNote::Failed(why)) => Err(fail("ice/dtls", format!("listening peer: {why}"))),
                    None => Err(fail("media", "the media thread stopped")),
                },
                m = session.next_event() => match m {
                    Ok(m) => on_event(&ctx, &plan, &mut session, &mut sub, m).await,
                    Err(e) => Err(fail("janus", e)),
                },
                _ = keepalive.tick() => session.keepalive().await.map_err(|e| fail("janus", e)),
                _ = tokio::time::sleep_until(deadline), if joining => Err(call.timed_out(ctx.join_timeout, "the join request")),
            };
        }
        if let Err(f) = event {
            call.end(f);
            break;
        }
    }
    session.close().await;
    call.outcome()
}

/// Session, publisher handle, `join`, and for a publisher `publish` with
/// the engine's offer. Returns the session, the feeds to subscribe to,
/// when the join was asked for, and how long `joined` took.
async fn join(
    plan: &Plan,
    ctx: &Context,
    notes: mpsc::UnboundedSender<PeerNote>,
) -> Result<(Session, Subscription, Instant, Duration), Failure> {
    let mut session = Session::open(&ctx.url)
        .await
        .map_err(|e| fail("janus", e))?;
    let handle = session.attach().await.map_err(|e| fail("janus", e))?;
    let room = ctx.rooms[plan.room];
    let join_at = Instant::now();
    let reply = session
        .message(handle, publisher_join_body(room, plan.index), None)
        .await
        .map_err(|e| fail("join refused", e))?;
    let voice_server = join_at.elapsed();
    let data = plugin_data(&reply).cloned().unwrap_or(Value::Null);
    if data["videoroom"] != "joined" {
        return Err(fail("join refused", format!("join answered with {reply}")));
    }
    let own = feed_of(plan.index);
    let sub = Subscription {
        handle: None,
        asked: BTreeSet::new(),
        wanted: publishing_feeds(&data)
            .into_iter()
            .filter(|f| *f != own)
            .collect(),
        peer_made: false,
        quality_asked: HashSet::new(),
    };
    if plan.publish.audio {
        // Janus' address as the URL names it: the socket learns the port
        // (and the address, if another) from the answer's candidate.
        let guess = janus_host(&ctx.url).unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let offer = ctx
            .engine
            .add_peer(PeerSpec {
                participant: plan.index,
                server: SocketAddr::new(guess, 9),
                server_from_sdp: true,
                publish: plan.publish,
                notes,
            })
            .await
            .map_err(|e| fail("media", e))?;
        let mut jsep = json!({"type": "offer", "sdp": offer});
        if ctx.engine.shared.video.is_some_and(|v| v.simulcast()) {
            jsep["rid_order"] = json!("lmh");
        }
        let reply = session
            .message(handle, json!({"request": "publish"}), Some(jsep))
            .await
            .map_err(|e| fail("janus", e))?;
        let answer = jsep_sdp(&reply, "answer")
            .ok_or_else(|| {
                fail(
                    "janus",
                    format!("publish answered without an SDP answer: {reply}"),
                )
            })?
            .to_string();
        note_media_addr(ctx, &answer);
        ctx.engine
            .accept_answer(plan.index, answer)
            .await
            .map_err(|e| fail("media", e))?;
    }
    Ok((session, sub, join_at, voice_server))
}

fn note_media_addr(ctx: &Context, sdp: &str) {
    if let Some(a) = udp_candidate(sdp, true).or_else(|| udp_candidate(sdp, false)) {
        ctx.media_addrs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(a);
    }
}

/// The host of `ws://host:port/...`, if it is an IP address.
pub fn janus_host(url: &str) -> Option<IpAddr> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next()?.parse().ok();
    }
    authority.split(':').next()?.parse().ok()
}

/// Asks for the feeds in `sub.wanted`: `join` on a new subscriber handle
/// the first time, `update` after; then answers Janus' offer.
async fn subscribe(
    ctx: &Context,
    plan: &Plan,
    session: &mut Session,
    sub: &mut Subscription,
    notes: &mpsc::UnboundedSender<PeerNote>,
) -> Result<(), Failure> {
    let feeds = std::mem::take(&mut sub.wanted);
    let reply = match sub.handle {
        None => {
            let handle = session.attach().await.map_err(|e| fail("janus", e))?;
            sub.handle = Some(handle);
            let body = subscriber_join_body(ctx.rooms[plan.room], &feeds);
            session.message(handle, body, None).await
        }
        Some(handle) => session.message(handle, update_body(&feeds), None).await,
    }
    .map_err(|e| fail("janus", format!("subscribing to feeds {feeds:?}: {e}")))?;
    sub.asked.extend(feeds);
    answer_offer(ctx, plan, session, sub, &reply, notes).await
}

/// Janus' subscriber offer → the engine's answer → `start`.
async fn answer_offer(
    ctx: &Context,
    plan: &Plan,
    session: &mut Session,
    sub: &mut Subscription,
    reply: &Value,
    notes: &mpsc::UnboundedSender<PeerNote>,
) -> Result<(), Failure> {
    let Some(offer) = jsep_sdp(reply, "offer") else {
        // An update that changed nothing comes without an offer.
        return Ok(());
    };
    let (Some(handle), Some(data)) = (sub.handle, plugin_data(reply)) else {
        return Err(fail(
            "janus",
            format!("a subscriber offer without plugin data: {reply}"),
        ));
    };
    let peer = listening_peer(ctx, plan);
    if !sub.peer_made {
        let server = udp_candidate(offer, true)
            .or_else(|| udp_candidate(offer, false))
            .ok_or_else(|| fail("janus", "Janus' offer names no UDP candidate"))?;
        note_media_addr(ctx, offer);
        ctx.engine
            .add_peer(PeerSpec {
                participant: peer,
                server,
                server_from_sdp: true,
                publish: Publish {
                    audio: false,
                    video: false,
                },
                notes: notes.clone(),
            })
            .await
            .map_err(|e| fail("media", e))?;
        sub.peer_made = true;
    }
    let tracks = subscribed_tracks(data, ctx.participants);
    // Our publishers' video: simulcast whenever the run's is.
    let video: Vec<String> = tracks
        .iter()
        .filter(|t| t.video && t.publisher.is_some())
        .map(|t| t.mid.clone())
        .collect();
    let answer = ctx
        .engine
        .accept_offer(peer, offer.to_string(), tracks)
        .await
        .map_err(|e| fail("media", format!("answering Janus' offer: {e}")))?;
    session
        .message(
            handle,
            json!({"request": "start"}),
            Some(json!({"type": "answer", "sdp": answer})),
        )
        .await
        .map_err(|e| fail("janus", e))?;
    ask_substream(ctx, plan, session, sub, video).await
}

/// With simulcast: `configure` the substream the plan's quality maps to for
/// the video streams not asked for yet; the peer hears what was asked, to
/// judge what arrives.
async fn ask_substream(
    ctx: &Context,
    plan: &Plan,
    session: &mut Session,
    sub: &mut Subscription,
    video: Vec<String>,
) -> Result<(), Failure> {
    let (Some(quality), Some(handle), Some(layers)) = (
        plan.video_quality,
        sub.handle,
        ctx.engine
            .shared
            .video
            .filter(|v| v.simulcast())
            .map(|v| v.layers().len()),
    ) else {
        return Ok(());
    };
    let mids: Vec<String> = video
        .into_iter()
        .filter(|mid| sub.quality_asked.insert(mid.clone()))
        .collect();
    if mids.is_empty() {
        return Ok(());
    }
    for mid in &mids {
        ctx.engine
            .asked(listening_peer(ctx, plan), mid.clone(), quality, layers)
            .map_err(|e| fail("media", e))?;
    }
    session
        .message(handle, substream_body(&mids, quality.layer(layers)), None)
        .await
        .map_err(|e| fail("janus", format!("asking for substreams: {e}")))?;
    Ok(())
}

/// An event nobody asked for: new publishers in the room, a renegotiation
/// of the subscription, or the end of a handle.
async fn on_event(
    ctx: &Context,
    plan: &Plan,
    session: &mut Session,
    sub: &mut Subscription,
    m: Value,
) -> Result<(), Failure> {
    match m["janus"].as_str() {
        Some("hangup") | Some("detached") => {
            return Err(fail("janus", format!("Janus ended a handle: {m}")))
        }
        Some("event") => {}
        _ => return Ok(()),
    }
    let from_subscriber = m["sender"].as_u64().is_some() && m["sender"].as_u64() == sub.handle;
    if from_subscriber {
        if jsep_sdp(&m, "offer").is_some() {
            let (tx, _rx) = mpsc::unbounded_channel();
            // The peer exists by now, so these notes are never needed.
            return answer_offer(ctx, plan, session, sub, &m, &tx).await;
        }
        return Ok(());
    }
    if let Some(data) = plugin_data(&m) {
        let own = feed_of(plan.index);
        for f in publishing_feeds(data) {
            if f != own && !sub.asked.contains(&f) {
                sub.wanted.insert(f);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_the_videoroom_shapes() {
        let c = create_room_body(42, 12);
        assert_eq!(c["request"], "create");
        assert_eq!(c["room"], 42);
        assert_eq!(c["publishers"], 12);
        assert_eq!(c["audiocodec"], "opus");
        let j = publisher_join_body(42, 0);
        assert_eq!(
            (j["request"].as_str(), j["ptype"].as_str(), j["id"].as_u64()),
            (Some("join"), Some("publisher"), Some(1))
        );
        let feeds: BTreeSet<u64> = [3, 5].into();
        let s = subscriber_join_body(42, &feeds);
        assert_eq!(s["ptype"], "subscriber");
        assert_eq!(s["streams"], json!([{"feed": 3}, {"feed": 5}]));
        assert_eq!(
            update_body(&feeds)["subscribe"],
            json!([{"feed": 3}, {"feed": 5}])
        );
    }

    #[test]
    fn a_substream_is_asked_for_per_stream() {
        let b = substream_body(&["1".into(), "3".into()], 0);
        assert_eq!(b["request"], "configure");
        assert_eq!(
            b["streams"],
            json!([{"mid": "1", "substream": 0}, {"mid": "3", "substream": 0}])
        );
    }

    #[test]
    fn feeds_name_participants() {
        assert_eq!(participant_of(feed_of(7), 8), Some(7));
        assert_eq!(participant_of(feed_of(8), 8), None);
        assert_eq!(participant_of(0, 8), None);
    }

    #[test]
    fn a_joined_event_lists_the_feeds_that_publish() {
        let m = json!({
            "janus": "event", "session_id": 1, "sender": 2, "transaction": "t3",
            "plugindata": {"plugin": PLUGIN, "data": {
                "videoroom": "joined", "room": 42, "id": 3, "private_id": 99,
                "publishers": [
                    {"id": 1, "display": "lt-0", "streams": [{"type": "audio", "mid": "0", "codec": "opus"}]},
                    {"id": 2, "display": "lt-1", "streams": []}
                ]
            }}
        });
        assert_eq!(publishing_feeds(plugin_data(&m).unwrap()), vec![1, 2]);
        assert!(reply_error(&m).is_none());
    }

    #[test]
    fn errors_of_janus_and_of_the_plugin_are_told() {
        let core = json!({"janus": "error", "transaction": "t1", "error": {"code": 458, "reason": "No such session"}});
        assert_eq!(reply_error(&core), Some((458, "No such session".into())));
        let plugin = json!({"janus": "success", "plugindata": {"plugin": PLUGIN, "data": {
            "videoroom": "event", "error_code": 427, "error": "Room 42 already exists"}}});
        assert_eq!(reply_error(&plugin).map(|e| e.0), Some(ROOM_EXISTS));
    }

    #[test]
    fn an_attached_event_maps_mids_to_publishers() {
        let m = json!({
            "janus": "event", "sender": 5,
            "plugindata": {"plugin": PLUGIN, "data": {
                "videoroom": "attached", "room": 42,
                "streams": [
                    {"type": "audio", "active": true, "mid": "0", "mindex": 0, "feed_id": 1, "feed_mid": "0"},
                    {"type": "video", "active": true, "mid": "1", "mindex": 1, "feed_id": 2, "feed_mid": "1"},
                    {"type": "data", "active": true, "mid": "2", "mindex": 2},
                    {"type": "audio", "active": false, "mid": "3", "mindex": 3, "feed_id": 9}
                ]
            }},
            "jsep": {"type": "offer", "sdp": "v=0\r\n"}
        });
        let t = subscribed_tracks(plugin_data(&m).unwrap(), 4);
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[0].mid.as_str(), t[0].publisher, t[0].video),
            ("0", Some(0), false)
        );
        assert_eq!(
            (t[1].mid.as_str(), t[1].publisher, t[1].video),
            ("1", Some(1), true)
        );
        assert!(t.iter().all(|t| t.renumbered));
        assert_eq!(jsep_sdp(&m, "offer"), Some("v=0\r\n"));
        assert_eq!(jsep_sdp(&m, "answer"), None);
    }

    #[test]
    fn the_janus_host_comes_from_the_url() {
        assert_eq!(
            janus_host("ws://10.200.0.1:8188"),
            Some([10, 200, 0, 1].into())
        );
        assert_eq!(
            janus_host("ws://127.0.0.1:8188/janus"),
            Some([127, 0, 0, 1].into())
        );
        assert_eq!(janus_host("ws://[::1]:8188"), "::1".parse().ok());
        assert_eq!(janus_host("ws://janus.example:8188"), None);
    }
}
