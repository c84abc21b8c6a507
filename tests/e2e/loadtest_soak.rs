//! The load tester's soak, short, against the real binary: chat with
//! churn, a call and hostile clients at once, and the real users notice
//! nothing of the hostile ones.

use std::time::Duration;

use hearth_loadtest::chat::{ChatConfig, Churn};
use hearth_loadtest::hostile::HostileConfig;
use hearth_loadtest::soak::{self, SoakConfig};
use hearth_loadtest::voice::VoiceConfig;

use crate::harness::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_cost_the_real_users_nothing() {
    // Short deadlines, so the node's own defences show within the run.
    let server = Server::start_with(
        &[
            "--rate-limits",
            "off",
            "--http-header-timeout-secs",
            "1",
            "--identify-timeout-ms",
            "1000",
            "--max-sessions-per-user",
            "16",
            "--max-resumable-per-user",
            "4",
            "--identify-max-concurrency",
            "8",
        ],
        &[],
    )
    .await;
    let url = server.base_url().to_owned();
    let duration = Duration::from_secs(6);
    let chat = ChatConfig {
        sessions: 16,
        guilds: 2,
        users: Some(4),
        rate: 10.0,
        duration,
        churn: Some(Churn {
            every: Duration::from_millis(500),
            fraction: 0.2,
            downtime: Duration::from_millis(100),
        }),
        drain: Duration::from_secs(10),
        ..ChatConfig::new(url.clone())
    };
    let voice = VoiceConfig {
        rooms: 1,
        publishers: 2,
        subscribers: 1,
        duration,
        max_loss: 0.01,
        progress: false,
        ..VoiceConfig::new(url.clone())
    };
    let hostile = HostileConfig {
        idle_connections: 30,
        unidentified: 10,
        session_flood_per_sec: 10.0,
        bad_requests_per_sec: 20.0,
        ..HostileConfig::new(url)
    };
    let report = soak::run(SoakConfig {
        chat,
        voice,
        hostile,
        server_pid: None,
        memory_every: Duration::from_secs(1),
        max_memory_growth: 0.1,
    })
    .await
    .expect("the soak runs");
    eprintln!("{report}");
    let h = &report.hostile;
    assert!(
        h.idle_opened >= 30 && h.unidentified_opened >= 10,
        "{report}"
    );
    assert!(h.sessions_flooded > 10, "{report}");
    // The node let go of what the hostile clients held.
    assert!(h.idle_closed_by_server >= 30, "{report}");
    assert!(h.unidentified_closed_by_server >= 10, "{report}");
    assert!(
        h.sessions_refused > 0,
        "the flood was never slowed: {report}"
    );
    assert!(h.bad_requests > 50, "{report}");
    assert_eq!(h.bad_answered_5xx, 0, "{report}");
    assert_eq!(
        (report.chat.lost, report.chat.duplicated),
        (0, 0),
        "{report}"
    );
    assert!(report.chat.clean(), "{report}");
    assert!(report.voice.passed, "{report}");
    assert!(report.passed, "{report}");
}
