//! Voice end to end: real clients (main gateway op 4, the voice WebSocket,
//! webrtc-rs peer connections) against the real binary and its SFU, media
//! over loopback UDP only.
//!
//! - a tone reaches its own channel at its pitch, and nowhere else;
//! - speaking (op 5) is derived from the audio-level extension;
//! - video in VP8, H264, H265, VP9 and AV1 arrives frame for frame, byte for
//!   byte, under the subscriber's payload type for the publisher's exact
//!   codec variant; op 4 names the codec; a subscriber that cannot decode
//!   the codec gets no video from that publisher, and everything else;
//! - self-deaf stops delivery; leaving (op 4 null, or close 1000) is
//!   announced with op 13 and a cleared voice state;
//! - a late joiner gets the existing tracks (op 40) and hears them;
//! - forged, expired, foreign and stale tokens: 4004; malformed SDP: 4002;
//! - random datagrams at the media port disturb no call;
//! - a dropped voice WebSocket resumes (op 7 → op 9) and the call goes on.

use std::time::Duration;

use hearth_proto::voice::VoiceClaims;
use serde_json::{json, Value};

use crate::gateway_client::{EVENT_TIMEOUT, QUIET};
use crate::harness::{str_field, Api, Server, User};
use crate::voice_client::{
    vclose, vop, JoinOptions, Shared, VideoCodec, VoiceClient, VoiceWs, XorShift, MEDIA_QUIET,
    MEDIA_TIMEOUT,
};

/// Shared with the server so tests can mint tokens the SFU's checks must
/// still refuse (expired ones, ones for another call).
const VOICE_SECRET: &str = "hearth-e2e-voice-secret-7f3a9c";
/// The tone's pitch and how far the decoded peak may stray from it.
const TONE_HZ: f64 = 440.0;
const TONE_TOLERANCE_HZ: f64 = 3.0;

/// A server with its media on loopback, ports picked by the system.
async fn voice_server() -> Server {
    Server::start_with(
        &[
            "--rate-limits",
            "off",
            "--rtc-bind",
            "127.0.0.1",
            "--rtc-port",
            "0",
            "--voice-secret",
            VOICE_SECRET,
        ],
        &[],
    )
    .await
}

/// A guild with two voice channels (the default `General`, and `Lounge`)
/// and some members, each logged in as a voice client.
struct VoiceWorld {
    _server: Server,
    api: Api,
    owner: User,
    guild_id: String,
    /// The default voice channel, `General`.
    x: String,
    /// A second voice channel.
    y: String,
    users: Vec<User>,
}

impl VoiceWorld {
    async fn new(names: &[&str]) -> VoiceWorld {
        let server = voice_server().await;
        let api = server.api();
        let owner = api.register("owner").await;
        let guild = api.create_guild(&owner, "Voice Test Guild").await;
        let guild_id = str_field(&guild, "id");
        let x = api.channel_id(&owner, &guild_id, "General", 2).await;
        let lounge = api
            .create_channel(&owner, &guild_id, json!({"name": "Lounge", "type": 2}))
            .await;
        let y = str_field(&lounge, "id");
        let text = api.channel_id(&owner, &guild_id, "general", 0).await;
        let mut users = Vec::new();
        for name in names {
            let u = api.register(name).await;
            api.invite_and_join(&owner, &text, &u).await;
            users.push(u);
        }
        VoiceWorld {
            _server: server,
            api,
            owner,
            guild_id,
            x,
            y,
            users,
        }
    }

    async fn client(&self, i: usize) -> VoiceClient {
        VoiceClient::login(&self.api, &self.users[i], &self.guild_id).await
    }
}

fn lists(v: &Value, user_id: &str) -> bool {
    v.as_array()
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(user_id)))
}

fn offers_track(d: &Value, user_id: &str, kind: &str) -> bool {
    d["tracks"].as_array().is_some_and(|ts| {
        ts.iter()
            .any(|t| t["user_id"] == user_id && t["kind"] == kind && t["mid"].is_string())
    })
}

#[track_caller]
fn assert_pitch(found: f64, who: &str) {
    assert!(
        (found - TONE_HZ).abs() <= TONE_TOLERANCE_HZ,
        "{who}: the decoded audio's dominant frequency is {found:.2} Hz, not {TONE_HZ} Hz"
    );
}

/// Waits until the audio count from `user_id` stops growing (two reads 300
/// ms apart agree), bounded; returns the count.
async fn wait_audio_stops(c: &VoiceClient, user_id: &str) -> usize {
    let deadline = tokio::time::Instant::now() + MEDIA_TIMEOUT;
    let mut last = c.received_audio_from(user_id);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = c.received_audio_from(user_id);
        if now == last {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "[{}] audio from {user_id} kept arriving for {MEDIA_TIMEOUT:?} ({now} packets)",
            c.label()
        );
        last = now;
    }
}

// ---------------------------------------------------------------------------
// Audio
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tone_reaches_its_own_channel_at_its_pitch_and_nowhere_else() {
    let w = VoiceWorld::new(&["alice", "bob", "carol"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    let mut c = w.client(2).await;
    a.join(&w.x).await;
    b.join(&w.x).await;
    c.join(&w.y).await;

    let (a_id, b_id) = (a.id().to_string(), b.id().to_string());
    b.ws()
        .expect_where(
            vop::CLIENTS_CONNECT,
            |d| lists(&d["user_ids"], &a_id),
            EVENT_TIMEOUT,
        )
        .await;
    a.ws()
        .expect_where(
            vop::CLIENTS_CONNECT,
            |d| lists(&d["user_ids"], &b_id),
            EVENT_TIMEOUT,
        )
        .await;
    let offer = b
        .ws()
        .expect_where(
            vop::SERVER_OFFER,
            |d| offers_track(d, &a_id, "audio"),
            MEDIA_TIMEOUT,
        )
        .await;
    assert!(
        offer.d["sdp"]
            .as_str()
            .is_some_and(|s| s.starts_with("v=0")),
        "op 40 carries an SDP offer: {}",
        offer.raw
    );

    a.publish_tone(TONE_HZ);
    b.wait_audio_from(&a_id, 100).await;
    assert_pitch(b.decoded_dominant_frequency(&a_id), "B hearing A");
    assert!(
        b.remote_tracks()
            .iter()
            .any(|(u, k)| u == &a_id && k == "audio"),
        "B's audio track was mapped to A through op 40's mids: {:?}",
        b.remote_tracks()
    );
    assert_eq!(a.received_audio_from(&a_id), 0, "nobody hears themselves");

    // Carol, in the other channel, got nothing of A's: no packets, no track
    // in any offer, no word of A joining.
    assert_eq!(
        c.received_audio_from(&a_id),
        0,
        "C (another channel) received A's audio; C received: {}",
        c.received_summary()
    );
    assert_eq!(c.received_summary(), "nothing", "C is alone in its channel");
    assert!(
        !c.mid_users().values().any(|u| u == &a_id),
        "C was offered a track of A's: {:?}",
        c.mid_users()
    );
    c.ws()
        .expect_none_where(
            vop::CLIENTS_CONNECT,
            |d| lists(&d["user_ids"], &a_id),
            QUIET,
        )
        .await;
    c.ws()
        .expect_none_where(
            vop::SERVER_OFFER,
            |d| offers_track(d, &a_id, "audio"),
            QUIET,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speaking_comes_from_the_audio_level_extension() {
    let w = VoiceWorld::new(&["alice", "bob"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    a.join(&w.x).await;
    b.join(&w.x).await;
    let a_id = a.id().to_string();
    // Nothing is said before anyone speaks.
    b.ws()
        .expect_none_where(vop::SPEAKING, |d| d["user_id"] == a_id.as_str(), QUIET)
        .await;
    a.publish_tone(TONE_HZ);
    b.wait_audio_from(&a_id, 10).await;
    let s = b
        .ws()
        .expect_where(
            vop::SPEAKING,
            |d| d["user_id"] == a_id.as_str() && d["speaking"] == 1,
            MEDIA_TIMEOUT,
        )
        .await;
    assert!(s.d["ssrc"].is_u64(), "op 5 names the SSRC: {}", s.raw);
    // A stops: speech ends after the hangover.
    a.stop_publishing();
    b.ws()
        .expect_where(
            vop::SPEAKING,
            |d| d["user_id"] == a_id.as_str() && d["speaking"] == 0,
            MEDIA_TIMEOUT,
        )
        .await;
    // The speaker is not told about themselves.
    a.ws()
        .expect_none_where(vop::SPEAKING, |d| d["user_id"] == a_id.as_str(), QUIET)
        .await;
}

// ---------------------------------------------------------------------------
// Video
// ---------------------------------------------------------------------------

/// The format parameters that tell one variant of `codec` from another,
/// as the client registers them: the payload type a subscriber receives
/// the clip under must carry these in op 40.
fn identifying_fmtp(codec: VideoCodec) -> &'static [(&'static str, &'static str)] {
    match codec {
        VideoCodec::H264 => &[("profile-level-id", "42e01f"), ("packetization-mode", "1")],
        VideoCodec::H265 => &[("profile-id", "1"), ("tier-flag", "0")],
        VideoCodec::Vp9 => &[("profile-id", "0")],
        VideoCodec::Vp8 | VideoCodec::Av1 => &[],
    }
}

/// `sub` reassembles `codec`'s clip from `from`: a keyframe byte for byte,
/// then interframes that were all sent, every frame of the clip arriving,
/// each under a payload type op 40 describes as `codec` with the
/// publisher's parameters.
async fn assert_clip_arrives(sub: &VoiceClient, from: &str, codec: VideoCodec) {
    let who = sub.label();
    sub.wait_video_frames_from(from, 12).await;
    let frames = sub.video_frames_from(from);
    let start = frames
        .iter()
        .position(|f| f.keyframe)
        .expect("a keyframe arrived");
    let clip = codec.clip();
    assert_eq!(
        frames[start].data, clip[0],
        "[{who}] the {codec:?} keyframe arrives byte for byte"
    );
    let after = &frames[start + 1..];
    assert!(
        after.iter().any(|f| !f.keyframe),
        "[{who}] interframes follow the keyframe: {:?}",
        after.iter().map(|f| f.keyframe).collect::<Vec<_>>()
    );
    for (i, f) in after.iter().enumerate() {
        assert!(
            clip.contains(&f.data),
            "[{who}] {codec:?} frame {i} after the keyframe is not one that was sent ({} bytes)",
            f.data.len()
        );
    }
    for (i, sent) in clip.iter().enumerate() {
        assert!(
            frames[start..].iter().any(|f| &f.data == sent),
            "[{who}] {codec:?} frame {i} of the clip never arrived whole"
        );
    }
    let described = sub.offer_payload_types();
    let mut pts: Vec<u8> = frames.iter().map(|f| f.pt).collect();
    pts.dedup();
    for pt in pts {
        let map = described
            .get(&pt)
            .unwrap_or_else(|| panic!("[{who}] payload type {pt} is not in op 40's offer"));
        assert_eq!(
            map.name,
            codec.name(),
            "[{who}] payload type {pt} in op 40: {map:?}"
        );
        for (k, v) in identifying_fmtp(codec) {
            assert_eq!(
                map.fmtp.get(*k).map(String::as_str),
                Some(*v),
                "[{who}] the {codec:?} clip arrives under payload type {pt}, whose fmtp in op 40 is {:?}",
                map.fmtp
            );
        }
    }
}

/// A publishes `codec` (offering only it), B joins with webrtc-rs's
/// defaults (every codec, H264 in several profiles): op 4 names the codec
/// to A (the only one it offered), and B gets the clip whole.
async fn a_clip_crosses_the_sfu(codec: VideoCodec) {
    let w = VoiceWorld::new(&["alice", "bob"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    a.join_with(&w.x, JoinOptions::video(codec)).await;
    assert_eq!(
        a.session_description["video_codec"],
        codec.name(),
        "op 4 names the only video codec A offered: {}",
        a.session_description
    );
    b.join(&w.x).await;
    let a_id = a.id().to_string();
    b.ws()
        .expect_where(
            vop::SERVER_OFFER,
            |d| offers_track(d, &a_id, "video"),
            MEDIA_TIMEOUT,
        )
        .await;

    a.publish_video();
    assert_clip_arrives(&b, &a_id, codec).await;
    assert!(
        b.remote_tracks()
            .iter()
            .any(|(u, k)| u == &a_id && k == "video"),
        "B's video track was mapped to A: {:?}",
        b.remote_tracks()
    );
}

/// A screen share is a publisher's second video track: the others' op 40
/// names it `screen` (the first is the `camera`, the audio the
/// `microphone`), each on an m-line of its own msid, and its frames reach
/// them while the camera sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_video_track_is_the_screen_and_reaches_the_others() {
    let w = VoiceWorld::new(&["alice", "bob"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    a.join_with(
        &w.x,
        JoinOptions {
            screen: true,
            ..JoinOptions::video(VideoCodec::Vp8)
        },
    )
    .await;
    b.join(&w.x).await;
    let a_id = a.id().to_string();
    let of_a = |d: &Value| -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = d["tracks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["user_id"] == a_id.as_str())
            .map(|t| {
                (
                    t["kind"].as_str().unwrap_or_default().to_owned(),
                    t["source"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        found.sort();
        found
    };
    let offer = b
        .ws()
        .expect_where(vop::SERVER_OFFER, |d| of_a(d).len() == 3, MEDIA_TIMEOUT)
        .await;
    assert_eq!(
        of_a(&offer.d),
        [
            ("audio".to_owned(), "microphone".to_owned()),
            ("video".to_owned(), "camera".to_owned()),
            ("video".to_owned(), "screen".to_owned()),
        ]
    );
    let sdp = offer.d["sdp"].as_str().expect("an offer");
    let msids: Vec<&str> = sdp.lines().filter(|l| l.starts_with("a=msid:")).collect();
    let distinct: std::collections::HashSet<&&str> = msids.iter().collect();
    assert_eq!(
        distinct.len(),
        msids.len(),
        "one msid per m-line: {msids:?}"
    );

    a.publish_screen();
    b.wait_video_frames_from(&a_id, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vp8_arrives_as_a_keyframe_then_frames() {
    a_clip_crosses_the_sfu(VideoCodec::Vp8).await;
}

/// FU-A, STAP-A and single NAL units; Constrained Baseline arrives under
/// B's Constrained Baseline payload type, not the Baseline one listed first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_arrives_byte_for_byte_under_its_own_profile() {
    a_clip_crosses_the_sfu(VideoCodec::H264).await;
}

/// Aggregation packets, fragmentation units and single NAL units.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h265_arrives_byte_for_byte() {
    a_clip_crosses_the_sfu(VideoCodec::H265).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vp9_arrives_byte_for_byte_under_its_profile() {
    a_clip_crosses_the_sfu(VideoCodec::Vp9).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn av1_arrives_byte_for_byte() {
    a_clip_crosses_the_sfu(VideoCodec::Av1).await;
}

/// A sends H264 and B VP9, each offering both: each gets the other's clip.
/// Here both subscribers' payload types were set by their own offers (in
/// webrtc-rs's numbering, which str0m adopts) rather than by the SFU's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishers_in_different_codecs_see_each_other() {
    let w = VoiceWorld::new(&["alice", "bob"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    a.join_with(
        &w.x,
        JoinOptions {
            video: Some(VideoCodec::H264),
            video_codecs: &[VideoCodec::H264, VideoCodec::Vp9],
            ..JoinOptions::default()
        },
    )
    .await;
    b.join_with(
        &w.x,
        JoinOptions {
            video: Some(VideoCodec::Vp9),
            video_codecs: &[VideoCodec::Vp9, VideoCodec::H264],
            ..JoinOptions::default()
        },
    )
    .await;
    // Op 4 names the SFU's first choice among the codecs offered (its order
    // is VP8, H264, H265, VP9, AV1), not the client's: B is told H264 too,
    // though it sends VP9, which is forwarded all the same.
    for c in [&a, &b] {
        assert_eq!(
            c.session_description["video_codec"],
            "H264",
            "[{}] op 4's video_codec: {}",
            c.label(),
            c.session_description["video_codec"]
        );
    }
    let (a_id, b_id) = (a.id().to_string(), b.id().to_string());
    a.ws()
        .expect_where(
            vop::SERVER_OFFER,
            |d| offers_track(d, &b_id, "video"),
            MEDIA_TIMEOUT,
        )
        .await;
    b.ws()
        .expect_where(
            vop::SERVER_OFFER,
            |d| offers_track(d, &a_id, "video"),
            MEDIA_TIMEOUT,
        )
        .await;

    a.publish_video();
    b.publish_video();
    assert_clip_arrives(&b, &a_id, VideoCodec::H264).await;
    assert_clip_arrives(&a, &b_id, VideoCodec::Vp9).await;
}

/// B supports only VP8; A publishes H264; C takes anything. The SFU sends
/// B nothing on A's video m-line (B could not decode it), B still hears A
/// and stays connected, and C gets the H264 meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_without_the_publishers_codec_gets_its_audio_and_no_video() {
    let w = VoiceWorld::new(&["alice", "bob", "carol"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    let mut c = w.client(2).await;
    a.join_with(&w.x, JoinOptions::video(VideoCodec::H264))
        .await;
    b.join_with(
        &w.x,
        JoinOptions {
            video_codecs: &[VideoCodec::Vp8],
            ..JoinOptions::default()
        },
    )
    .await;
    c.join(&w.x).await;
    let a_id = a.id().to_string();
    for sub in [&mut b, &mut c] {
        sub.ws()
            .expect_where(
                vop::SERVER_OFFER,
                |d| offers_track(d, &a_id, "video"),
                MEDIA_TIMEOUT,
            )
            .await;
    }

    a.publish_tone(TONE_HZ);
    a.publish_video();
    assert_clip_arrives(&c, &a_id, VideoCodec::H264).await;
    b.wait_more_audio_from(&a_id, 25).await;
    let c_frames = c.video_frames_from(&a_id).len();
    tokio::time::sleep(MEDIA_QUIET).await;
    assert!(
        c.video_frames_from(&a_id).len() > c_frames,
        "A's video kept reaching C while B was watched"
    );
    assert_eq!(
        b.received_video_from(&a_id),
        0,
        "B, which cannot decode H264, was sent A's video (payload types {:?}); received: {}",
        b.unknown_video_pts_from(&a_id),
        b.received_summary()
    );
    b.wait_more_audio_from(&a_id, 10).await;
    assert!(b.is_connected(), "B's call broke: {:?}", b.pc_states());
    b.ws().assert_alive().await;
    assert_pitch(b.decoded_dominant_frequency(&a_id), "B");

    // Not sent at all, rather than sent and dropped by B's stack: each of
    // A's video packets left the SFU at most once (to C).
    a.stop_publishing();
    let (video_in, video_out) = settled_video_packets(&w.api).await;
    assert!(
        video_in > 0.0 && video_out > 0.0 && video_out <= video_in,
        "A's {video_in} video packets went out {video_out} times: B, which cannot decode them, was sent them too"
    );
}

/// The SFU's video packets in and out (all workers) once they stop
/// changing: a count read while packets flow may see a packet's way out
/// but not its way in.
async fn settled_video_packets(api: &Api) -> (f64, f64) {
    let read = || async {
        let text = api.metrics_text().await;
        let sum = |name: &str| {
            text.lines()
                .filter(|l| {
                    // `hearth_sfu_...{worker="0",kind="video"} 12`
                    l.split('{').next().is_some_and(|k| k.ends_with(name))
                        && l.contains(r#"kind="video""#)
                })
                .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
                .sum::<f64>()
        };
        (
            sum("sfu_rtp_packets_in_total"),
            sum("sfu_rtp_packets_out_total"),
        )
    };
    let deadline = tokio::time::Instant::now() + MEDIA_TIMEOUT;
    let mut last = read().await;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = read().await;
        if now == last {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "video packet counts still moving after {MEDIA_TIMEOUT:?}: {now:?}"
        );
        last = now;
    }
}

// ---------------------------------------------------------------------------
// Deafening and leaving
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_deaf_stops_audio_not_video_and_leaving_is_announced() {
    let w = VoiceWorld::new(&["alice", "bob"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    a.join_with(&w.x, JoinOptions::video(VideoCodec::Vp8)).await;
    b.join(&w.x).await;
    let (a_id, b_id) = (a.id().to_string(), b.id().to_string());
    b.ws()
        .expect_where(
            vop::SERVER_OFFER,
            |d| offers_track(d, &a_id, "video"),
            MEDIA_TIMEOUT,
        )
        .await;
    a.publish_tone(TONE_HZ);
    b.wait_audio_from(&a_id, 25).await;

    // B deafens itself: the guild hears of it, and no audio reaches B.
    b.send_voice_state(Some(&w.x), false, true).await;
    b.gw.expect_dispatch_where(
        "VOICE_STATE_UPDATE",
        |d| d["user_id"] == b_id.as_str() && d["self_deaf"] == true,
        EVENT_TIMEOUT,
    )
    .await;
    let stopped_at = wait_audio_stops(&b, &a_id).await;
    let sent_before = a
        .tone_frames_sent
        .load(std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(MEDIA_QUIET).await;
    assert!(
        a.tone_frames_sent
            .load(std::sync::atomic::Ordering::Relaxed)
            > sent_before,
        "A kept sending while B was deaf"
    );
    assert_eq!(
        b.received_audio_from(&a_id),
        stopped_at,
        "a self-deafened B still receives A's audio"
    );
    // Deafened is not blind: A's camera still reaches B, as on Discord.
    a.publish_video();
    b.wait_video_frames_from(&a_id, 5).await;

    // Undeafened, B hears A again.
    b.send_voice_state(Some(&w.x), false, false).await;
    b.gw.expect_dispatch_where(
        "VOICE_STATE_UPDATE",
        |d| d["user_id"] == b_id.as_str() && d["self_deaf"] == false,
        EVENT_TIMEOUT,
    )
    .await;
    b.wait_more_audio_from(&a_id, 25).await;

    // A leaves with op 4 channel_id null.
    a.leave().await;
    b.ws()
        .expect_where(
            vop::CLIENT_DISCONNECT,
            |d| d["user_id"] == a_id.as_str(),
            EVENT_TIMEOUT,
        )
        .await;
    b.gw.expect_dispatch_where(
        "VOICE_STATE_UPDATE",
        |d| d["user_id"] == a_id.as_str() && d["channel_id"].is_null(),
        EVENT_TIMEOUT,
    )
    .await;
    a.gw.expect_dispatch_where(
        "VOICE_STATE_UPDATE",
        |d| d["user_id"] == a_id.as_str() && d["channel_id"].is_null(),
        EVENT_TIMEOUT,
    )
    .await;
    // A's media stops reaching B.
    wait_audio_stops(&b, &a_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_voice_socket_with_1000_ends_the_call() {
    let w = VoiceWorld::new(&["alice", "bob"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    a.join(&w.x).await;
    b.join(&w.x).await;
    let a_id = a.id().to_string();
    a.close_voice(1000).await;
    b.ws()
        .expect_where(
            vop::CLIENT_DISCONNECT,
            |d| d["user_id"] == a_id.as_str(),
            EVENT_TIMEOUT,
        )
        .await;
    b.gw.expect_dispatch_where(
        "VOICE_STATE_UPDATE",
        |d| d["user_id"] == a_id.as_str() && d["channel_id"].is_null(),
        EVENT_TIMEOUT,
    )
    .await;
    // The REST and gateway view agree: B is the only one left in X.
    let b_id = b.id().to_string();
    b.gw.expect_no_dispatch_where(
        "VOICE_STATE_UPDATE",
        |d| d["user_id"] == b_id.as_str() && d["channel_id"].is_null(),
        QUIET,
    )
    .await;
}

// ---------------------------------------------------------------------------
// Joining late
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_gets_the_existing_tracks_and_hears_them() {
    let w = VoiceWorld::new(&["alice", "bob", "carol"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    let mut c = w.client(2).await;
    a.join(&w.x).await;
    b.join(&w.x).await;
    let (a_id, b_id) = (a.id().to_string(), b.id().to_string());
    a.publish_tone(TONE_HZ);
    b.wait_audio_from(&a_id, 25).await;

    c.join(&w.x).await;
    let c_id = c.id().to_string();
    let offer = c
        .ws()
        .expect_where(
            vop::SERVER_OFFER,
            |d| offers_track(d, &a_id, "audio"),
            MEDIA_TIMEOUT,
        )
        .await;
    assert!(
        offers_track(&offer.d, &b_id, "audio") || {
            // B's track may come in a second offer.
            c.ws()
                .try_expect_where(
                    vop::SERVER_OFFER,
                    |d| offers_track(d, &b_id, "audio"),
                    MEDIA_TIMEOUT,
                )
                .await
                .is_ok()
        },
        "the late joiner is offered B's track too: {}",
        offer.raw
    );
    let connect = c
        .ws()
        .expect_where(
            vop::CLIENTS_CONNECT,
            |d| lists(&d["user_ids"], &a_id),
            EVENT_TIMEOUT,
        )
        .await;
    if !lists(&connect.d["user_ids"], &b_id) {
        c.ws()
            .expect_where(
                vop::CLIENTS_CONNECT,
                |d| lists(&d["user_ids"], &b_id),
                EVENT_TIMEOUT,
            )
            .await;
    }
    c.wait_audio_from(&a_id, 100).await;
    assert_pitch(c.decoded_dominant_frequency(&a_id), "late C hearing A");

    // The others learn of C and are offered its track.
    b.ws()
        .expect_where(
            vop::CLIENTS_CONNECT,
            |d| lists(&d["user_ids"], &c_id),
            EVENT_TIMEOUT,
        )
        .await;
    b.ws()
        .expect_where(
            vop::SERVER_OFFER,
            |d| offers_track(d, &c_id, "audio"),
            MEDIA_TIMEOUT,
        )
        .await;
    // And B still hears A.
    b.wait_more_audio_from(&a_id, 25).await;
}

// ---------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------

/// Connects to the voice gateway and identifies; returns the socket.
async fn identify_raw(
    a: &VoiceClient,
    token: &str,
    user_id: &str,
    session_id: &str,
    label: &str,
) -> VoiceWs {
    let g = a.grant().clone();
    let ws = VoiceWs::connect(&g.endpoint, Shared::new(label), label).await;
    ws.identify(&g.guild_id, user_id, session_id, token);
    ws
}

#[track_caller]
fn assert_refused(closed: &crate::gateway_client::Closed, code: u16, what: &str) {
    assert_eq!(
        closed.code,
        Some(code),
        "{what}: wanted close {code}, got {closed}"
    );
    assert!(
        !closed.reason.is_empty(),
        "{what}: close {code} comes with a reason"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_foreign_and_stale_tokens_are_refused_with_4004() {
    let w = VoiceWorld::new(&["alice", "bob"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    let ga = a.request_voice(&w.x, false).await;
    let gb = b.request_voice(&w.x, false).await;
    let claims = VoiceClaims::verify(&ga.token, VOICE_SECRET.as_bytes(), 0)
        .expect("the server signs voice tokens with --voice-secret");

    // Signed with another secret.
    let forged = claims.sign(b"an attacker's secret");
    let mut ws = identify_raw(&a, &forged, &ga.user_id, &ga.session_id, "forged").await;
    assert_refused(
        &ws.expect_closed(EVENT_TIMEOUT).await,
        vclose::AUTHENTICATION_FAILED,
        "forged token",
    );

    // The real signature over altered claims.
    let mut altered = claims.clone();
    altered.expires_at += 3_600_000;
    let body = altered.sign(b"whatever");
    let (body, _) = body.split_once('.').expect("token has two parts");
    let (_, sig) = ga.token.split_once('.').expect("token has two parts");
    let spliced = format!("{body}.{sig}");
    let mut ws = identify_raw(&a, &spliced, &ga.user_id, &ga.session_id, "spliced").await;
    assert_refused(
        &ws.expect_closed(EVENT_TIMEOUT).await,
        vclose::AUTHENTICATION_FAILED,
        "spliced token",
    );

    // Properly signed, but expired.
    let mut old = claims.clone();
    old.expires_at = 1_000;
    let expired = old.sign(VOICE_SECRET.as_bytes());
    let mut ws = identify_raw(&a, &expired, &ga.user_id, &ga.session_id, "expired").await;
    assert_refused(
        &ws.expect_closed(EVENT_TIMEOUT).await,
        vclose::AUTHENTICATION_FAILED,
        "expired token",
    );

    // B's token, presented as A.
    let mut ws = identify_raw(&a, &gb.token, &ga.user_id, &ga.session_id, "foreign").await;
    assert_refused(
        &ws.expect_closed(EVENT_TIMEOUT).await,
        vclose::AUTHENTICATION_FAILED,
        "B's token as A",
    );
    // ... and as B but from A's session.
    let mut ws = identify_raw(
        &a,
        &gb.token,
        &gb.user_id,
        &ga.session_id,
        "foreign-session",
    )
    .await;
    assert_refused(
        &ws.expect_closed(EVENT_TIMEOUT).await,
        vclose::AUTHENTICATION_FAILED,
        "B's token with A's session",
    );

    // A moves to Y: the token for X is now for another channel. The voice
    // gateway may refuse it at Identify or when the call is set up.
    let gy = a.request_voice(&w.y, false).await;
    let mut ws = identify_raw(&a, &ga.token, &ga.user_id, &ga.session_id, "stale-channel").await;
    match ws
        .try_expect_where(vop::READY, |_| true, EVENT_TIMEOUT)
        .await
    {
        Ok(_) => {
            let offer = a.make_offer(JoinOptions::default()).await;
            ws.select_protocol(&offer);
            assert_refused(
                &ws.expect_closed(EVENT_TIMEOUT).await,
                vclose::AUTHENTICATION_FAILED,
                "a token for the channel A left",
            );
        }
        Err(Some(closed)) => assert_refused(
            &closed,
            vclose::AUTHENTICATION_FAILED,
            "a token for the channel A left",
        ),
        Err(None) => panic!("no Ready and no close for a token for the channel A left"),
    }

    // The current token still works.
    a.grant = Some(gy);
    a.open_voice().await;
    let offer = a.make_offer(JoinOptions::default()).await;
    a.select_protocol(&offer).await;
    a.wait_connected().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sdp_is_refused_with_4002() {
    let w = VoiceWorld::new(&["alice"]).await;
    let mut a = w.client(0).await;
    a.request_voice(&w.x, false).await;
    let cases = [
        ("garbage", "this is not an SDP offer".to_string()),
        (
            "no ICE, no DTLS",
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n"
                .to_string(),
        ),
    ];
    for (what, sdp) in cases {
        a.open_voice().await;
        a.ws().select_protocol(&sdp);
        let closed = a.ws().expect_closed(EVENT_TIMEOUT).await;
        assert_refused(&closed, vclose::DECODE_ERROR, what);
        a.ws = None;
    }
    // The token (and the voice state) survive: a good offer then works.
    a.open_voice().await;
    let offer = a.make_offer(JoinOptions::default()).await;
    a.select_protocol(&offer).await;
    a.wait_connected().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_quality_requests_are_checked() {
    let w = VoiceWorld::new(&["alice"]).await;
    let mut a = w.client(0).await;
    a.request_voice(&w.x, false).await;
    // Before Identify there is no call to choose a quality in.
    let g = a.grant().clone();
    let mut early = VoiceWs::connect(&g.endpoint, Shared::new("early"), "early").await;
    early.send(vop::VIDEO_QUALITY, json!({"mid": "0", "quality": "low"}));
    let closed = early.expect_closed(EVENT_TIMEOUT).await;
    assert_refused(&closed, vclose::NOT_AUTHENTICATED, "op 42 before Identify");
    a.join(&w.x).await;
    // An m-line the client does not have (a track that just ended) is
    // ignored, and the call goes on.
    a.ws()
        .send(vop::VIDEO_QUALITY, json!({"mid": "99", "quality": "low"}));
    a.ws().assert_alive().await;
    // A quality that does not exist is refused with the reason.
    a.ws()
        .send(vop::VIDEO_QUALITY, json!({"mid": "0", "quality": "ultra"}));
    let closed = a.ws().expect_closed(EVENT_TIMEOUT).await;
    assert_refused(&closed, vclose::DECODE_ERROR, "an unknown quality");
}

// ---------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------

/// One datagram of junk, sometimes shaped like STUN (some naming the SFU's
/// real ICE username), RTP, RTCP or DTLS so it gets past the first checks.
fn junk(rng: &mut XorShift, i: usize, server_ufrag: &str) -> Vec<u8> {
    let len = 1 + rng.below(1200);
    let mut d = vec![0u8; len.max(28)];
    rng.fill(&mut d);
    match i % 6 {
        0 => {
            // STUN binding request with a USERNAME of the server's ufrag.
            let user = format!("{server_ufrag}:{:08x}", rng.next_u32());
            let mut m = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
            m.extend((0..12).map(|_| rng.next_u64() as u8));
            m.extend_from_slice(&[0x00, 0x06]);
            m.extend_from_slice(&(user.len() as u16).to_be_bytes());
            m.extend_from_slice(user.as_bytes());
            while m.len() % 4 != 0 {
                m.push(0);
            }
            // A MESSAGE-INTEGRITY that cannot be right.
            m.extend_from_slice(&[0x00, 0x08, 0x00, 0x14]);
            m.extend((0..20).map(|_| rng.next_u64() as u8));
            let body = (m.len() - 20) as u16;
            m[2..4].copy_from_slice(&body.to_be_bytes());
            return m;
        }
        1 => {
            d[0] = 0x80;
            d[1] = 111;
        }
        2 => {
            d[0] = 0x80;
            d[1] = 200 + (rng.below(5) as u8);
        }
        3 => {
            d[0] = 0x16;
            d[1] = 0xfe;
            d[2] = 0xfd;
        }
        4 => {
            d[0] = 0x00;
            d[1] = 0x01;
            d[4..8].copy_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
        }
        _ => {}
    }
    d.truncate(len);
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_datagrams_at_the_media_port_disturb_no_call() {
    let w = VoiceWorld::new(&["alice", "bob"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    a.join(&w.x).await;
    b.join(&w.x).await;
    let a_id = a.id().to_string();
    a.publish_tone(TONE_HZ);
    b.wait_audio_from(&a_id, 25).await;

    let target = a.media_addr();
    assert!(
        target.ip().is_loopback(),
        "spray only at loopback: {target}"
    );
    assert_eq!(target, b.media_addr(), "one channel, one media socket");
    let answer = a.remote_answer_sdp();
    let ufrag = answer
        .lines()
        .find_map(|l| l.trim_end().strip_prefix("a=ice-ufrag:"))
        .unwrap_or("nobody")
        .to_string();

    let mut rng = XorShift::seeded();
    let mut sent = 0usize;
    for s in 0..4 {
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("binding a loopback UDP socket");
        for i in 0..750 {
            let d = junk(&mut rng, i + s, &ufrag);
            if sock.send_to(&d, target).await.is_ok() {
                sent += 1;
            }
            if i % 50 == 49 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }
    assert!(sent > 2500, "the junk was sent ({sent} datagrams)");

    b.wait_more_audio_from(&a_id, 50).await;
    assert_pitch(
        b.decoded_dominant_frequency(&a_id),
        "B hearing A after the spray",
    );
    assert!(
        a.is_connected() && b.is_connected(),
        "A: {:?}, B: {:?}",
        a.pc_states(),
        b.pc_states()
    );
    a.ws().assert_alive().await;
    b.ws().assert_alive().await;
    // A newcomer can still join and hear A.
    let erin = w.api.register("erin").await;
    let text = w.api.channel_id(&w.owner, &w.guild_id, "general", 0).await;
    w.api.invite_and_join(&w.owner, &text, &erin).await;
    let mut late = VoiceClient::login(&w.api, &erin, &w.guild_id).await;
    late.join(&w.x).await;
    late.wait_audio_from(&a_id, 25).await;
}

// ---------------------------------------------------------------------------
// Resume
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_voice_socket_resumes_and_the_call_goes_on() {
    let w = VoiceWorld::new(&["alice", "bob", "carol"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    let mut c = w.client(2).await;
    a.join(&w.x).await;
    b.join(&w.x).await;
    let (a_id, b_id) = (a.id().to_string(), b.id().to_string());
    a.publish_tone(TONE_HZ);
    b.wait_audio_from(&a_id, 25).await;

    // B's voice WebSocket breaks; its peer connection carries on.
    b.drop_voice_tcp();
    b.wait_more_audio_from(&a_id, 25).await;
    b.resume_voice().await;
    b.ws().assert_alive().await;
    b.wait_more_audio_from(&a_id, 25).await;
    assert_pitch(b.decoded_dominant_frequency(&a_id), "B after resuming");
    assert!(b.is_connected(), "B's call survived: {:?}", b.pc_states());

    // The resumed socket relays the room again: C's arrival and C's track.
    let answered = b.offers_answered();
    c.join(&w.x).await;
    let c_id = c.id().to_string();
    b.ws()
        .expect_where(
            vop::CLIENTS_CONNECT,
            |d| lists(&d["user_ids"], &c_id),
            EVENT_TIMEOUT,
        )
        .await;
    b.ws()
        .expect_where(
            vop::SERVER_OFFER,
            |d| offers_track(d, &c_id, "audio"),
            MEDIA_TIMEOUT,
        )
        .await;
    assert!(
        b.offers_answered() > answered,
        "B answered the offer for C's track"
    );
    // Nobody was told B left.
    a.gw.expect_no_dispatch_where(
        "VOICE_STATE_UPDATE",
        |d| d["user_id"] == b_id.as_str() && d["channel_id"].is_null(),
        QUIET,
    )
    .await;
    a.ws()
        .expect_none_where(
            vop::CLIENT_DISCONNECT,
            |d| d["user_id"] == b_id.as_str(),
            QUIET,
        )
        .await;
}

/// Frames the server wrote to a socket whose client had already lost its
/// network are gone with it; the client's `seq_ack` in Resume says how far
/// it got, and the rest comes again.
#[tokio::test]
async fn a_resume_replays_what_the_dead_voice_socket_swallowed() {
    let w = VoiceWorld::new(&["alice", "bob", "carol"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    let mut c = w.client(2).await;
    a.join(&w.x).await;
    b.join(&w.x).await;
    let a_id = a.id().to_string();
    a.publish_tone(TONE_HZ);
    b.wait_audio_from(&a_id, 25).await;

    // B's network dies: its voice socket reads nothing more. C arrives and
    // publishes meanwhile; the server writes B op 11 and op 40 into the
    // dead socket.
    b.freeze_voice();
    c.join(&w.x).await;
    let c_id = c.id().to_string();
    c.publish_tone(TONE_HZ);
    tokio::time::sleep(Duration::from_secs(1)).await;
    b.drop_voice_tcp();
    b.resume_voice().await;

    b.ws()
        .expect_where(
            vop::CLIENTS_CONNECT,
            |d| lists(&d["user_ids"], &c_id),
            EVENT_TIMEOUT,
        )
        .await;
    b.wait_audio_from(&c_id, 25).await;
    assert_pitch(
        b.decoded_dominant_frequency(&c_id),
        "B hears C after resuming",
    );
}

/// The flow is cut at the SFU: A keeps sending, B's count stops; it resumes
/// when the cause is lifted.
async fn assert_cut_then_restored(a: &VoiceClient, b: &VoiceClient, what: &str) -> usize {
    let a_id = a.id().to_string();
    let stopped_at = wait_audio_stops(b, &a_id).await;
    let sent_before = a
        .tone_frames_sent
        .load(std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(MEDIA_QUIET).await;
    assert!(
        a.tone_frames_sent
            .load(std::sync::atomic::Ordering::Relaxed)
            > sent_before,
        "{what}: A kept sending"
    );
    assert_eq!(
        b.received_audio_from(&a_id),
        stopped_at,
        "{what}: B still receives A's audio"
    );
    stopped_at
}

#[tokio::test]
async fn server_mute_and_losing_speak_stop_forwarding_until_lifted() {
    let w = VoiceWorld::new(&["alice", "bob"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    a.join(&w.x).await;
    b.join(&w.x).await;
    let a_id = a.id().to_string();
    a.publish_tone(TONE_HZ);
    b.wait_audio_from(&a_id, 25).await;

    // A moderator (the owner) server-mutes A: the guild hears of it, and the
    // SFU stops forwarding A's audio.
    let member = format!("/guilds/{}/members/{}", w.guild_id, a_id);
    w.api
        .patch(&member, w.owner.auth(), Some(json!({"mute": true})))
        .await
        .expect(200);
    b.gw.expect_dispatch_where(
        "VOICE_STATE_UPDATE",
        |d| d["user_id"] == a_id.as_str() && d["mute"] == true,
        EVENT_TIMEOUT,
    )
    .await;
    assert_cut_then_restored(&a, &b, "server mute").await;
    w.api
        .patch(&member, w.owner.auth(), Some(json!({"mute": false})))
        .await
        .expect(200);
    b.wait_more_audio_from(&a_id, 25).await;

    // A channel overwrite takes SPEAK from A: forwarding stops at once, with
    // no change to A's voice state; giving it back restores it.
    let speak = 1u64 << 21;
    let overwrite = format!("/channels/{}/permissions/{}", w.x, a_id);
    w.api
        .put(
            &overwrite,
            w.owner.auth(),
            Some(json!({"type": 1, "allow": "0", "deny": speak.to_string()})),
        )
        .await
        .expect(204);
    assert_cut_then_restored(&a, &b, "SPEAK denied").await;
    w.api.delete(&overwrite, w.owner.auth()).await.expect(204);
    b.wait_more_audio_from(&a_id, 25).await;
}
