//! The load tester's chat scenario, small, against the real binary: every
//! message reaches every session of its guild exactly once, including
//! sessions whose TCP connection is dropped and resumed mid-run.

use std::time::Duration;

use hearth_loadtest::chat::{self, ChatConfig, Churn};

use crate::harness::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_chat_run_with_churn_delivers_every_message_exactly_once() {
    let server = Server::start().await;
    let config = ChatConfig {
        sessions: 24,
        guilds: 3,
        users: Some(6),
        rate: 20.0,
        duration: Duration::from_secs(3),
        churn: Some(Churn {
            every: Duration::from_millis(300),
            fraction: 0.25,
            downtime: Duration::from_millis(100),
        }),
        drain: Duration::from_secs(10),
        ..ChatConfig::new(server.base_url())
    };
    let report = chat::run(config).await.expect("the chat scenario runs");
    eprintln!("{report}");

    assert_eq!(report.sessions_connected, 24, "{report}");
    assert_eq!(report.sessions_alive_at_end, 24, "{report}");
    assert_eq!(report.messages_posted, 60, "{report}");
    // Six users in three guilds, four sessions each: eight sessions a guild.
    assert_eq!(report.expected_deliveries, 60 * 8, "{report}");
    assert_eq!(
        report.deliveries_received, report.expected_deliveries,
        "{report}"
    );
    assert_eq!((report.lost, report.duplicated), (0, 0), "{report}");
    assert_eq!((report.seq_gaps, report.seq_repeats), (0, 0), "{report}");
    let churn = report.churn.as_ref().expect("churn was on");
    assert!(churn.drops > 0, "no connection was dropped: {report}");
    assert_eq!(churn.resumes, churn.drops, "every drop resumed: {report}");
    assert!(report.clean());
}
