//! The room's forwarding decisions, with real str0m peers on both sides
//! routed through memory in simulated time: no sockets, no clock.

mod support;

use hearth_sfu::room::{Flags, PeerEvent};
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
