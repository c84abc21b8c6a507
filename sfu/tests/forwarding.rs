//! The room's forwarding decisions, with real str0m peers on both sides
//! routed through memory in simulated time: no sockets, no clock.

mod support;

use hearth_sfu::room::{Flags, PeerEvent};
use hearth_sfu::simulcast::Quality;
use support::*;

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

fn m_lines(sdp: &str) -> usize {
    sdp.lines().filter(|l| l.starts_with("m=")).count()
}

#[test]
fn rejoins_and_newcomers_reuse_the_m_lines_that_left_in_the_others_sessions() {
    let mut net = Net::new();
    let a = net.join(1, talking());
    let b = net.join(2, talking());
    net.run(200, None);
    for round in 0..40 {
        net.rejoin(a, talking());
        net.run(40, None);
        let sdp = net.clients[b].last_offer.clone().unwrap_or_default();
        // B's own m-line and one for A's audio; a third while an offer
        // that stops one and one that adds one are apart.
        assert!(
            m_lines(&sdp) <= 3,
            "round {round}: {} m-lines in B's session:\n{sdp}",
            m_lines(&sdp)
        );
    }
    net.run(200, Some(a));
    assert!(
        frames_from(&net.clients[b], net.clients[a].user) > 10,
        "B hears A after 40 rejoins"
    );
    // Someone else takes the m-line A left, and is heard on it.
    let a_id = net.clients[a].id;
    net.room.leave(a_id);
    net.run(40, None);
    let c = net.join(3, talking());
    net.run(200, None);
    net.run(200, Some(c));
    assert!(
        frames_from(&net.clients[b], net.clients[c].user) > 10,
        "B hears C on the recycled m-line: {} frames",
        frames_from(&net.clients[b], net.clients[c].user),
    );
    let sdp = net.clients[b].last_offer.clone().unwrap_or_default();
    assert!(m_lines(&sdp) <= 3, "{sdp}");
    let tracks = net.clients[b]
        .told
        .iter()
        .rev()
        .find_map(|e| match e {
            PeerEvent::Offer { tracks, .. } => Some(tracks.clone()),
            _ => None,
        })
        .unwrap_or_default();
    assert_eq!(tracks.len(), 1, "{tracks:?}");
    assert_eq!(tracks[0].user_id, net.clients[c].user);
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

#[test]
fn a_burst_that_arrives_at_once_is_forwarded_whole() {
    let mut net = Net::new();
    net.timers_only = true;
    let a = net.join(1, talking());
    let b = net.join(2, talking());
    net.run(400, None);
    assert!(net.connected());
    net.run(100, Some(a));
    let before = frames_from(&net.clients[b], net.clients[a].user);
    // 25 frames arriving together, as after a stall of the server.
    for f in 0..25u32 {
        net.speak(a, 1000 + f);
        net.now += std::time::Duration::from_millis(1);
    }
    net.run(100, None);
    let after = frames_from(&net.clients[b], net.clients[a].user);
    assert_eq!(after - before, 25, "every frame of the burst arrives");
}

/// The video m-line of a subscriber's last offer carrying `user`'s video,
/// with the layers op 40 announced for it.
fn video_track_of(c: &Client, user: hearth_model::Snowflake) -> (String, Option<usize>) {
    c.told
        .iter()
        .rev()
        .find_map(|e| match e {
            PeerEvent::Offer { tracks, .. } => tracks
                .iter()
                .find(|t| t.user_id == user && t.kind == "video")
                .map(|t| (t.mid.clone(), t.layers)),
            _ => None,
        })
        .expect("an offer with the video track")
}

/// Frames at 30 a second (a step is 5 ms), a keyframe on every layer first.
fn send_frames(net: &mut Net, publisher: usize, frames: std::ops::Range<u32>) {
    for f in frames {
        net.send_video(publisher, f, f == 0);
        for _ in 0..7 {
            net.step();
        }
    }
}

#[test]
fn simulcast_subscribers_get_the_layer_they_ask_for_switched_at_a_keyframe() {
    let mut net = Net::new();
    let a = net.join_simulcast(1, talking(), &["q", "h", "f"]);
    let b = net.join_listener(2, talking());
    let c = net.join_listener(3, talking());
    net.run(400, None);
    assert!(net.connected(), "ICE and DTLS complete in memory");
    let user_a = net.clients[a].user;
    let (_, layers) = video_track_of(&net.clients[b], user_a);
    assert_eq!(layers, Some(3), "op 40 tells the track has three layers");

    send_frames(&mut net, a, 0..60);
    // Everyone starts on the top layer (the first frame may ratchet up
    // through the lower ones as their keyframes arrive first).
    for s in [b, c] {
        let got = video_layers_from(&net.clients[s], user_a);
        assert!(got.len() >= 55, "{} of 60 frames arrived", got.len());
        assert!(
            got[3..].iter().all(|l| l == "f"),
            "only the top layer after the start: {got:?}"
        );
    }

    // C asks for the lowest layer: it is asked for a keyframe, and C
    // switches at it, without losing frames on the way.
    let (mid, _) = video_track_of(&net.clients[c], user_a);
    let c_id = net.clients[c].id;
    net.room
        .set_quality(c_id, str0m::media::Mid::from(mid.as_str()), Quality::Low);
    let before = video_layers_from(&net.clients[c], user_a).len();
    send_frames(&mut net, a, 60..120);
    assert!(
        net.clients[a]
            .keyframe_requests
            .contains(&Some(str0m::media::Rid::from("q"))),
        "the low layer was asked for a keyframe: {:?}",
        net.clients[a].keyframe_requests
    );
    let got = video_layers_from(&net.clients[c], user_a)[before..].to_vec();
    let switched = got
        .iter()
        .position(|l| l == "q")
        .expect("C got the low layer");
    assert!(
        got[..switched].iter().all(|l| l == "f") && got[switched..].iter().all(|l| l == "q"),
        "one switch, from f to q: {got:?}"
    );
    assert!(
        got.len() >= 57,
        "the renumbered stream decodes on: {} of 60 frames",
        got.len()
    );
    assert_eq!(
        net.room
            .forwarded_layer(c_id, str0m::media::Mid::from(mid.as_str())),
        Some(0)
    );
    // B did not ask: still the top layer.
    let b_got = video_layers_from(&net.clients[b], user_a);
    assert!(b_got[b_got.len() - 50..].iter().all(|l| l == "f"));
}
