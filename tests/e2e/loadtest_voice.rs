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
    assert!(report.passed, "{report}");
}
