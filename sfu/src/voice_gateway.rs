//! The voice WebSocket: Discord voice gateway v8 opcodes where they exist,
//! Hearth's own for renegotiation (see docs/protocol.md).
//!
//! One task per connection. It verifies the voice token on Identify, hands
//! the client's SDP offer to the room's worker, relays what the room says
//! (renegotiation offers, who connects and leaves, who speaks), and on a
//! close either ends the call or keeps it for a resume within the grace.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use hearth_proto::voice::VoiceClaims;
use serde::Deserialize;
use serde_json::{json, Value};
use str0m::media::Mid;
use tokio::sync::{mpsc, oneshot};

use crate::offer::OfferError;
use crate::payload_limit::PayloadLimit;
use crate::room::{Flags, ParticipantId, PeerEvent, RoomKey};
use crate::sent_frames::{parse_ack, SentFrames};
use crate::sfu::{Call, Sfu, VoiceHooks};
use crate::simulcast::Quality;
use crate::worker::Command;

/// Voice gateway opcodes.
pub mod op {
    pub const IDENTIFY: u8 = 0;
    pub const SELECT_PROTOCOL: u8 = 1;
    pub const READY: u8 = 2;
    pub const HEARTBEAT: u8 = 3;
    pub const SESSION_DESCRIPTION: u8 = 4;
    pub const SPEAKING: u8 = 5;
    pub const HEARTBEAT_ACK: u8 = 6;
    pub const RESUME: u8 = 7;
    pub const HELLO: u8 = 8;
    pub const RESUMED: u8 = 9;
    pub const CLIENTS_CONNECT: u8 = 11;
    pub const CLIENT_DISCONNECT: u8 = 13;
    /// Hearth: the server offers a renegotiated SDP (tracks came or went).
    pub const SERVER_OFFER: u8 = 40;
    /// Hearth: the client's answer to op 40.
    pub const CLIENT_ANSWER: u8 = 41;
    /// Hearth: the quality a client wants of a simulcast track.
    pub const VIDEO_QUALITY: u8 = 42;
}

/// Voice gateway close codes (Discord's).
pub mod close {
    pub const UNKNOWN_OPCODE: u16 = 4001;
    pub const DECODE_ERROR: u16 = 4002;
    pub const NOT_AUTHENTICATED: u16 = 4003;
    pub const AUTHENTICATION_FAILED: u16 = 4004;
    pub const ALREADY_AUTHENTICATED: u16 = 4005;
    pub const SESSION_INVALID: u16 = 4006;
    pub const SESSION_TIMEOUT: u16 = 4009;
    pub const UNKNOWN_PROTOCOL: u16 = 4012;
    pub const DISCONNECTED: u16 = 4014;
    /// A request the server will not serve: a payload over the size limit,
    /// an offer with too many tracks.
    pub const BAD_REQUEST: u16 = 4020;
    /// More payloads than the rate limit allows; the call ends.
    pub const RATE_LIMITED: u16 = 4021;
}

const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
const WORKER_TIMEOUT: Duration = Duration::from_secs(10);

pub fn router(sfu: Arc<Sfu>) -> Router {
    Router::new()
        .route("/voice", get(upgrade))
        .route("/voice/", get(upgrade))
        .with_state(sfu)
}

async fn upgrade(
    State(sfu): State<Arc<Sfu>>,
    axum::extract::Query(_q): axum::extract::Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    // SDP offers run to several kilobytes; nothing else is large. Twice
    // the payload limit here, so a payload a little over it still gets a
    // clear 4020 rather than a dropped connection.
    let transport_max = sfu.config.max_payload_bytes.saturating_mul(2);
    ws.max_message_size(transport_max)
        .max_frame_size(transport_max)
        .on_upgrade(move |socket| run(sfu, socket))
}

#[derive(Deserialize)]
struct Payload {
    op: u8,
    #[serde(default)]
    d: Value,
}

#[derive(Deserialize)]
struct Identify {
    server_id: hearth_model::Snowflake,
    user_id: hearth_model::Snowflake,
    session_id: String,
    token: String,
}

#[derive(Deserialize)]
struct SelectProtocol {
    protocol: String,
    #[serde(default)]
    sdp: Option<String>,
    #[serde(default)]
    data: Option<Value>,
}

#[derive(Deserialize)]
struct Sdp {
    sdp: String,
}

#[derive(Deserialize)]
struct VideoQuality {
    mid: String,
    quality: Quality,
}

/// Why the task stopped.
enum Ending {
    /// The client closed with 1000/1001: the call ends.
    Left,
    /// The connection broke or the client closed otherwise: resumable.
    Dropped,
    /// We close with this code; `keep` says whether the call survives.
    Close {
        code: u16,
        reason: String,
        keep: bool,
    },
}

struct Conn {
    socket: WebSocket,
}

impl Conn {
    async fn send(&mut self, opcode: u8, d: Value) -> bool {
        self.send_text(json!({ "op": opcode, "d": d }).to_string())
            .await
    }

    async fn send_text(&mut self, text: String) -> bool {
        matches!(
            tokio::time::timeout(WRITE_TIMEOUT, self.socket.send(Message::Text(text.into()))).await,
            Ok(Ok(()))
        )
    }

    async fn close(&mut self, code: u16, reason: &str) {
        let mut reason = reason.to_owned();
        // A close frame's reason is at most 123 bytes.
        while reason.len() > 120 {
            reason.pop();
        }
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(WRITE_TIMEOUT, self.socket.send(Message::Close(Some(frame))))
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(m)) = self.socket.recv().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// What the connection knows once identified.
struct Identity {
    claims: VoiceClaims,
    /// The room participant this connection drives, once joined or resumed.
    participant: Option<crate::room::ParticipantId>,
    /// This connection's attachment number in its call.
    attachment: u64,
    events: Option<mpsc::UnboundedReceiver<PeerEvent>>,
    joined: bool,
    /// The last op 40 sent and not yet answered, with its `seq`. The room
    /// sends no further offer until this one is answered, so a resume
    /// sends it again unless the client never got it (then it is among the
    /// frames sent again anyway).
    unanswered_offer: Option<(u64, Value)>,
    /// The room's frames, numbered, until the client acknowledges them.
    sent: SentFrames,
}

/// Op 4's `video_codec`: the encoding name (`VP8`, `H264`, `H265`, `VP9`,
/// `AV1`) of the first payload type of the answer's first accepted video
/// m-line. str0m lists the codecs it accepted in its own order of
/// preference (VP8, H264, H265, VP9, AV1), so this is the SFU's first
/// choice among those the client offered: the codec to send (any codec
/// both sides negotiated is forwarded, though). VP8 when the offer has no
/// video.
fn answered_video_codec(answer: &str) -> &str {
    let mut first_pt = None;
    for line in answer.lines().map(str::trim_end) {
        if let Some(m) = line.strip_prefix("m=") {
            if first_pt.is_some() {
                break;
            }
            // m=<kind> <port> <proto> <payload types...>; port 0: rejected.
            let mut fields = m.split(' ');
            if fields.next() == Some("video") && fields.next() != Some("0") {
                first_pt = fields.nth(1);
            }
        } else if let (Some(pt), Some(rtpmap)) = (first_pt, line.strip_prefix("a=rtpmap:")) {
            let encoding = rtpmap.strip_prefix(pt).and_then(|r| r.strip_prefix(' '));
            if let Some(name) = encoding.and_then(|e| e.split('/').next()) {
                return name;
            }
        }
    }
    "VP8"
}

fn close(code: u16, reason: impl Into<String>, keep: bool) -> Ending {
    Ending::Close {
        code,
        reason: reason.into(),
        keep,
    }
}

async fn next_event(identity: &mut Option<Identity>) -> Option<PeerEvent> {
    match identity.as_mut().and_then(|i| i.events.as_mut()) {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

pub async fn run(sfu: Arc<Sfu>, socket: WebSocket) {
    let mut conn = Conn { socket };
    let interval = sfu.config.heartbeat_interval;
    if !conn
        .send(
            op::HELLO,
            json!({ "heartbeat_interval": interval.as_millis() as u64, "v": 8 }),
        )
        .await
    {
        return;
    }
    let mut deadline = Instant::now() + interval + interval / 2;
    let mut identity: Option<Identity> = None;
    let mut budget = PayloadLimit::new(
        sfu.config.rate_limit,
        sfu.config.rate_window,
        Instant::now(),
    );
    let ending = loop {
        tokio::select! {
            frame = conn.socket.recv() => {
                let text = match frame {
                    None | Some(Err(_)) => break Ending::Dropped,
                    Some(Ok(Message::Close(f))) => match f.map(|f| f.code) {
                        Some(1000 | 1001) => break Ending::Left,
                        _ => break Ending::Dropped,
                    },
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Binary(_))) => break close(close::DECODE_ERROR, "binary frames are not part of the voice protocol", true),
                };
                if !budget.allow(Instant::now()) {
                    break close(close::RATE_LIMITED, "you are sending too many payloads", false);
                }
                if text.len() > sfu.config.max_payload_bytes {
                    break close(
                        close::BAD_REQUEST,
                        format!("payloads are limited to {} bytes", sfu.config.max_payload_bytes),
                        false,
                    );
                }
                let Ok(payload) = serde_json::from_str::<Payload>(&text) else {
                    break close(close::DECODE_ERROR, "invalid JSON", true);
                };
                if payload.op == op::HEARTBEAT {
                    deadline = Instant::now() + interval + interval / 2;
                    if let (Some(me), Some(seq)) = (identity.as_mut(), parse_ack(payload.d.get("seq_ack"))) {
                        me.sent.ack(seq);
                    }
                    let t = payload.d.get("t").cloned().unwrap_or(payload.d.clone());
                    if !conn.send(op::HEARTBEAT_ACK, json!({ "t": t })).await {
                        break Ending::Dropped;
                    }
                    continue;
                }
                if let Err(ending) = handle(&sfu, &mut conn, &mut identity, payload).await {
                    break ending;
                }
            }
            event = next_event(&mut identity) => match (event, identity.as_mut()) {
                (Some(e), Some(me)) => {
                    if let Err(ending) = relay(&mut conn, me, e).await {
                        break ending;
                    }
                }
                (Some(_), None) => {}
                (None, _) => break close(close::DISCONNECTED, "removed from the call", false),
            },
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {
                break close(close::SESSION_TIMEOUT, "no heartbeat", true);
            }
        }
    };
    let keep = match &ending {
        Ending::Left => false,
        Ending::Dropped => true,
        Ending::Close { code, reason, keep } => {
            conn.close(*code, reason).await;
            *keep
        }
    };
    let Some(identity) = identity else { return };
    let session = identity.claims.session_id.clone();
    let Some(participant) = identity.participant.filter(|_| identity.joined) else {
        return;
    };
    if !keep {
        sfu.end_call(&session, participant);
        return;
    }
    // Keep the call for a resume: park the room's events with it.
    let since = Instant::now();
    {
        let mut calls = sfu.calls();
        let Some(call) = calls
            .get_mut(&session)
            .filter(|c| c.attachment == identity.attachment)
        else {
            return;
        };
        call.events = identity.events;
        call.unanswered_offer = identity.unanswered_offer;
        call.sent = Some(identity.sent);
        call.detached_at = Some(since);
    }
    let grace = sfu.config.disconnect_grace;
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        let expired = sfu
            .calls()
            .get(&session)
            .is_some_and(|c| c.detached_at == Some(since));
        if expired {
            sfu.end_call(&session, participant);
        }
    });
}

/// Verifies a voice token against what the client says it is for.
fn verify(
    sfu: &Sfu,
    token: &str,
    guild: hearth_model::Snowflake,
    user: Option<hearth_model::Snowflake>,
    session: &str,
    now_ms: u64,
) -> Result<VoiceClaims, Ending> {
    let claims = VoiceClaims::verify(token, &sfu.config.voice_secret, now_ms)
        .map_err(|e| close(close::AUTHENTICATION_FAILED, e.to_string(), false))?;
    let matches = claims.guild_id == guild
        && user.is_none_or(|u| u == claims.user_id)
        && claims.session_id == session
        && claims.node == sfu.config.node;
    if !matches {
        return Err(close(
            close::AUTHENTICATION_FAILED,
            "the token is for another call",
            false,
        ));
    }
    Ok(claims)
}

async fn handle(
    sfu: &Arc<Sfu>,
    conn: &mut Conn,
    identity: &mut Option<Identity>,
    payload: Payload,
) -> Result<(), Ending> {
    match payload.op {
        op::IDENTIFY => {
            if identity.is_some() {
                return Err(close(
                    close::ALREADY_AUTHENTICATED,
                    "already identified",
                    false,
                ));
            }
            let id: Identify = serde_json::from_value(payload.d)
                .map_err(|e| close(close::DECODE_ERROR, format!("invalid Identify: {e}"), false))?;
            let now_ms = hearth_model::snowflake::now_unix_ms();
            let claims = verify(
                sfu,
                &id.token,
                id.server_id,
                Some(id.user_id),
                &id.session_id,
                now_ms,
            )?;
            let room = RoomKey {
                guild: claims.guild_id,
                channel: claims.channel_id,
            };
            let addr = sfu.worker(room).addr;
            *identity = Some(Identity {
                claims,
                participant: None,
                attachment: 0,
                events: None,
                joined: false,
                unanswered_offer: None,
                sent: SentFrames::default(),
            });
            if !conn.send(op::READY, json!({ "ssrc": 0, "ip": addr.ip().to_string(), "port": addr.port(), "modes": ["webrtc"], "experiments": [] })).await {
                return Err(Ending::Dropped);
            }
        }
        op::SELECT_PROTOCOL => {
            let Some(me) = identity.as_mut() else {
                return Err(close(close::NOT_AUTHENTICATED, "identify first", false));
            };
            let select: SelectProtocol = serde_json::from_value(payload.d).map_err(|e| {
                close(
                    close::DECODE_ERROR,
                    format!("invalid Select Protocol: {e}"),
                    true,
                )
            })?;
            if select.protocol != "webrtc" {
                return Err(close(
                    close::UNKNOWN_PROTOCOL,
                    "only the webrtc protocol is served",
                    false,
                ));
            }
            let sdp = select.sdp.or_else(|| {
                select
                    .data
                    .as_ref()
                    .and_then(|d| d.as_str().map(str::to_owned))
            });
            let Some(sdp) = sdp else {
                return Err(close(
                    close::DECODE_ERROR,
                    "Select Protocol needs an sdp offer",
                    false,
                ));
            };
            let answer = join(sfu, me, sdp).await?;
            let video_codec = answered_video_codec(&answer);
            let d = json!({ "sdp": answer, "audio_codec": "opus", "video_codec": video_codec, "media_session_id": me.attachment.to_string(), "mode": "webrtc" });
            if !conn.send(op::SESSION_DESCRIPTION, d).await {
                return Err(Ending::Dropped);
            }
        }
        op::CLIENT_ANSWER => {
            let me = joined(identity, "no call to answer for")?;
            let Sdp { sdp } = serde_json::from_value(payload.d)
                .map_err(|e| close(close::DECODE_ERROR, format!("invalid answer: {e}"), true))?;
            let (id, room) = call_of(sfu, me)?;
            let (reply, wait) = oneshot::channel();
            sfu.worker(room).send(Command::Answer {
                room,
                id,
                sdp,
                reply,
            });
            match tokio::time::timeout(WORKER_TIMEOUT, wait).await {
                Ok(Ok(Ok(()))) => {
                    if let Some(me) = identity.as_mut() {
                        me.unanswered_offer = None;
                    }
                }
                Ok(Ok(Err(e))) => return Err(close(close::DECODE_ERROR, e, true)),
                _ => {
                    return Err(close(
                        close::DISCONNECTED,
                        "the media server did not answer",
                        true,
                    ))
                }
            }
        }
        op::RESUME => {
            if identity.is_some() {
                return Err(close(
                    close::ALREADY_AUTHENTICATED,
                    "already identified",
                    false,
                ));
            }
            let id: Identify = serde_json::from_value(json!({
                "server_id": payload.d.get("server_id"),
                "user_id": "0",
                "session_id": payload.d.get("session_id"),
                "token": payload.d.get("token"),
            }))
            .map_err(|e| close(close::DECODE_ERROR, format!("invalid Resume: {e}"), false))?;
            // A resume may come after the token's connect window: the
            // signature still proves it; the call's existence does the rest.
            let claims = verify(sfu, &id.token, id.server_id, None, &id.session_id, 0)?;
            let acked = parse_ack(payload.d.get("seq_ack"));
            let attachment = sfu.next_participant().0;
            let (participant, events, unanswered_offer, sent) = {
                let mut calls = sfu.calls();
                let Some(call) = calls
                    .get_mut(&claims.session_id)
                    .filter(|c| c.detached_at.is_some())
                else {
                    return Err(close(close::SESSION_INVALID, "no call to resume", false));
                };
                call.detached_at = None;
                call.attachment = attachment;
                (
                    call.id,
                    call.events.take(),
                    call.unanswered_offer.take(),
                    call.sent.take().unwrap_or_default(),
                )
            };
            let me = identity.insert(Identity {
                claims,
                participant: Some(participant),
                attachment,
                events,
                joined: true,
                unanswered_offer,
                sent,
            });
            if !conn.send(op::RESUMED, Value::Null).await {
                return Err(Ending::Dropped);
            }
            // What the old socket may have swallowed, for a client that
            // says how far it got. Without `seq_ack` nothing is sent again
            // (an op 40 twice would be answered twice).
            if let Some(acked) = acked {
                let again: Vec<String> = me.sent.after(acked).map(|(_, t)| t.to_owned()).collect();
                for text in again {
                    if !conn.send_text(text).await {
                        return Err(Ending::Dropped);
                    }
                }
            }
            // An offer the client got but whose answer may have died with
            // the old socket: the room waits for an answer to negotiate
            // again, so it is offered once more.
            let got_it = |seq: u64| acked.is_none_or(|a| seq <= a);
            if let Some((seq, offer)) = me.unanswered_offer.take() {
                if got_it(seq) {
                    let text = me.sent.record(op::SERVER_OFFER, offer.clone());
                    me.unanswered_offer = Some((me.sent.last(), offer));
                    if !conn.send_text(text).await {
                        return Err(Ending::Dropped);
                    }
                } else {
                    me.unanswered_offer = Some((seq, offer));
                }
            }
        }
        op::VIDEO_QUALITY => {
            let me = joined(identity, "no call to choose a quality in")?;
            let VideoQuality { mid, quality } = serde_json::from_value(payload.d).map_err(|e| {
                close(
                    close::DECODE_ERROR,
                    format!("invalid video quality: {e}"),
                    true,
                )
            })?;
            let (id, room) = call_of(sfu, me)?;
            sfu.worker(room).send(Command::SetQuality {
                room,
                id,
                mid: Mid::from(mid.as_str()),
                quality,
            });
        }
        // Clients announce their own speaking; the server derives it from
        // the audio itself, so this is accepted and not relayed.
        op::SPEAKING => {}
        _ => return Err(close(close::UNKNOWN_OPCODE, "unknown opcode", true)),
    }
    Ok(())
}

/// The identity of a connection whose call has started, for the ops that
/// act on it; else 4003 with `missing` as the reason.
fn joined<'a>(identity: &'a Option<Identity>, missing: &str) -> Result<&'a Identity, Ending> {
    identity
        .as_ref()
        .filter(|i| i.joined)
        .ok_or_else(|| close(close::NOT_AUTHENTICATED, missing, false))
}

/// Where the connection's call is (4006 if it is over).
fn call_of(sfu: &Sfu, me: &Identity) -> Result<(ParticipantId, RoomKey), Ending> {
    sfu.calls()
        .get(&me.claims.session_id)
        .map(|c| (c.id, c.room))
        .ok_or_else(|| close(close::SESSION_INVALID, "the call is over", false))
}

/// The user's flags in the room, waiting up to `wait` for their voice state
/// to arrive from the node that holds it.
async fn wait_for_flags(
    hooks: &dyn VoiceHooks,
    room: RoomKey,
    user: hearth_model::Snowflake,
    wait: Duration,
) -> Option<Flags> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if let Some(f) = hooks.flags(room.guild, room.channel, user) {
            return Some(f);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Joins the room on its worker with the client's offer; returns the answer.
async fn join(sfu: &Arc<Sfu>, me: &mut Identity, offer: String) -> Result<String, Ending> {
    let claims = &me.claims;
    let room = RoomKey {
        guild: claims.guild_id,
        channel: claims.channel_id,
    };
    // A second Select Protocol (or a move) replaces the previous call.
    sfu.disconnect(claims.guild_id, claims.user_id);
    let flags = match sfu.hooks() {
        Some(h) => wait_for_flags(&*h, room, claims.user_id, sfu.config.voice_state_wait)
            .await
            .ok_or_else(|| {
                close(
                    close::AUTHENTICATION_FAILED,
                    "no voice state in this channel",
                    false,
                )
            })?,
        None => Flags {
            can_speak: true,
            ..Flags::default()
        },
    };
    let id = sfu.next_participant();
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (reply, wait) = oneshot::channel();
    sfu.worker(room).send(Command::Join {
        id,
        room,
        user: claims.user_id,
        session_id: claims.session_id.clone(),
        offer,
        flags,
        events: events_tx,
        max_tracks: sfu.config.max_tracks,
        reply,
    });
    let answer = match tokio::time::timeout(WORKER_TIMEOUT, wait).await {
        Ok(Ok(Ok(answer))) => answer,
        Ok(Ok(Err(e))) => {
            let code = match e {
                OfferError::TooManyTracks { .. } => close::BAD_REQUEST,
                OfferError::Invalid(_) | OfferError::Unacceptable(_) => close::DECODE_ERROR,
                OfferError::Server(_) => close::DISCONNECTED,
            };
            return Err(close(code, e.to_string(), false));
        }
        _ => {
            return Err(close(
                close::DISCONNECTED,
                "the media server did not answer",
                false,
            ))
        }
    };
    me.attachment = id.0;
    me.participant = Some(id);
    me.events = Some(events_rx);
    me.joined = true;
    sfu.calls().insert(
        claims.session_id.clone(),
        Call {
            id,
            room,
            user: claims.user_id,
            events: None,
            attachment: id.0,
            detached_at: None,
            unanswered_offer: None,
            sent: None,
        },
    );
    Ok(answer)
}

/// Relays what the room said to the client.
/// Sends what the room said, numbered and kept for a resume.
async fn relay(conn: &mut Conn, me: &mut Identity, event: PeerEvent) -> Result<(), Ending> {
    let (opcode, d) = match event {
        PeerEvent::Offer { sdp, tracks } => {
            let d = json!({ "sdp": sdp, "tracks": tracks });
            me.unanswered_offer = Some((me.sent.last() + 1, d.clone()));
            (op::SERVER_OFFER, d)
        }
        PeerEvent::ClientsConnect(users) => (op::CLIENTS_CONNECT, json!({ "user_ids": users })),
        PeerEvent::ClientDisconnect(user) => (op::CLIENT_DISCONNECT, json!({ "user_id": user })),
        PeerEvent::Speaking {
            user,
            ssrc,
            speaking,
        } => (
            op::SPEAKING,
            json!({ "user_id": user, "ssrc": ssrc, "speaking": u8::from(speaking) }),
        ),
        PeerEvent::Failed => {
            return Err(close(
                close::DISCONNECTED,
                "the media connection failed",
                false,
            ))
        }
    };
    let text = me.sent.record(opcode, d);
    if conn.send_text(text).await {
        Ok(())
    } else {
        Err(Ending::Dropped)
    }
}

#[cfg(test)]
mod video_codec_tests {
    use super::answered_video_codec;

    #[test]
    fn op_4_names_the_first_codec_of_the_answers_video_m_line() {
        let answer = "v=0\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 108 109 96\r\na=rtpmap:96 VP8/90000\r\n\
            a=rtpmap:108 H264/90000\r\na=rtpmap:109 rtx/90000\r\n";
        assert_eq!(answered_video_codec(answer), "H264");
    }

    #[test]
    fn a_rejected_or_missing_video_m_line_leaves_vp8() {
        let audio_only = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n";
        assert_eq!(answered_video_codec(audio_only), "VP8");
        let rejected = "v=0\r\nm=video 0 UDP/TLS/RTP/SAVPF 98\r\na=rtpmap:98 VP9/90000\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 45\r\na=rtpmap:45 AV1/90000\r\n";
        assert_eq!(answered_video_codec(rejected), "AV1");
    }
}
