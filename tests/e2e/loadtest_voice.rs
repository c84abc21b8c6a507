//! The load tester's voice scenario, small, against the real binary: two
//! rooms of three participants (two publishing Opus and VP8, one
//! listening), each a str0m client that completes ICE, DTLS and SRTP with
//! the SFU. Every participant joins, and nothing is lost.

use std::time::Duration;

use hearth_loadtest::voice::{self, VoiceConfig};

use crate::harness::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_voice_run_joins_everyone_and_loses_nothing() {
    let server = Server::start().await;
    let config = VoiceConfig {
        rooms: 2,
        publishers: 2,
        subscribers: 1,
        video_kbps: Some(200),
        duration: Duration::from_secs(5),
        ramp: 20.0,
        max_loss: 0.0,
        progress: false,
        ..VoiceConfig::new(server.base_url())
    };
    let report = voice::run(config).await.expect("the voice scenario runs");
    eprintln!("{report}");

    assert_eq!(report.join.planned, 6, "{report}");
    assert_eq!(report.join.joined, 6, "{report}");
    assert!(report.join.failures.is_empty(), "{report}");
    assert!(report.join.dropped_during_run.is_empty(), "{report}");
    // Each room: two publishers heard by the two others each.
    let video = report.video.as_ref().expect("video was on");
    for (kind, m) in [("audio", &report.audio), ("video", video)] {
        assert_eq!(m.tracks, 2 * 2 * 2, "{kind} tracks: {report}");
        assert!(m.packets_received > 0, "no {kind} arrived: {report}");
        assert_eq!(m.packets_lost, 0, "{kind} loss: {report}");
        assert_eq!(m.packets_expected, m.packets_received, "{kind}: {report}");
    }
    // The client stack put every packet written on the wire.
    assert_eq!(
        report.audio_written, report.audio_datagrams_sent,
        "{report}"
    );
    assert_eq!(
        report.video_written, report.video_datagrams_sent,
        "{report}"
    );
    assert_eq!(report.join.op4_to_first_media.count, 6, "{report}");
    assert!(report.latency.count > 0, "no latency measured: {report}");
    // The server counted what it forwarded during the steady phase.
    let server_side = report.server.as_ref().expect("server figures");
    assert!(
        server_side.rtp_packets_forwarded.unwrap_or(0) > 0,
        "{report}"
    );
    // ...and the tool read the SFU's forwarding-delay histogram over it.
    let delay = server_side
        .forward_delay
        .as_ref()
        .expect("the SFU's forwarding delay was measured");
    assert!(delay.batches > 0 && delay.p99.is_some(), "{report}");
    assert!(report.passed, "{report}");
}

/// One publisher sends its video as three simulcast layers to three
/// listeners, who ask for high, medium and low quality (voice op 42): each
/// receives the layer it asked for, and nothing is lost across the SFU's
/// switch from the default (high) to the layer asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulcast_listeners_receive_the_layer_they_asked_for() {
    let server = Server::start().await;
    let config = VoiceConfig {
        rooms: 1,
        publishers: 1,
        subscribers: 3,
        video_kbps: Some(400),
        simulcast: true,
        // Tracks are judged from a keyframe interval plus a second after
        // they start: a short interval leaves most of the run judged.
        keyframe_interval: Duration::from_secs(1),
        duration: Duration::from_secs(5),
        ramp: 20.0,
        max_loss: 0.0,
        progress: false,
        ..VoiceConfig::new(server.base_url())
    };
    let report = voice::run(config).await.expect("the voice scenario runs");
    eprintln!("{report}");

    assert_eq!(report.join.joined, 4, "{report}");
    assert!(report.join.failures.is_empty(), "{report}");
    assert!(report.join.dropped_during_run.is_empty(), "{report}");
    let video = report.video.as_ref().expect("video was on");
    for (kind, m) in [("audio", &report.audio), ("video", video)] {
        assert_eq!(m.tracks, 3, "{kind} tracks: {report}");
        assert!(m.packets_received > 0, "no {kind} arrived: {report}");
        assert_eq!(m.packets_lost, 0, "{kind} loss: {report}");
    }
    let simulcast = report.simulcast.as_ref().expect("simulcast was on");
    let asked: Vec<(&str, &str, u64, u64, u64)> = simulcast
        .qualities
        .iter()
        .map(|q| {
            (
                q.quality.as_str(),
                q.layer_expected,
                q.tracks,
                q.matched,
                q.mismatched,
            )
        })
        .collect();
    assert_eq!(
        asked,
        [
            ("low", "q", 1, 1, 0),
            ("medium", "h", 1, 1, 0),
            ("high", "f", 1, 1, 0)
        ],
        "{report}"
    );
    for t in report.tracks.iter().filter(|t| t.kind == "video") {
        let layers = t.simulcast.as_ref().expect("a simulcast track");
        assert_eq!(
            layers.layer_received,
            Some(layers.layer_expected),
            "subscriber {}: {report}",
            t.subscriber
        );
    }
    // The layers' bitrates are a quarter, a half and all of 400 kbps.
    let kbps: Vec<f64> = simulcast
        .qualities
        .iter()
        .map(|q| q.kbps_mean.expect("kbps measured"))
        .collect();
    assert!(kbps[0] < kbps[1] && kbps[1] < kbps[2], "{kbps:?}: {report}");
    assert!(report.latency.count > 0, "no latency measured: {report}");
    assert!(report.passed, "{report}");
}
