//! The load tester's chat scenario, small, against the real binary: every
//! message reaches every session of its guild exactly once, including
//! sessions whose TCP connection is dropped and resumed mid-run, on one
//! node and spread over two nodes of a cluster.

use std::time::Duration;

use hearth_loadtest::chat::{self, ChatConfig, Churn};

use crate::cluster::{redis_url, unique_prefix};
use crate::harness::Server;
use crate::postgres::TestDatabase;

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
        // The other member of each guild reads every message.
        acks_per_message: 1,
        ..ChatConfig::new(server.base_url())
    };
    let report = chat::run(config).await.expect("the chat scenario runs");
    eprintln!("{report}");

    assert_eq!((report.acks_ok, report.acks_failed), (60, 0), "{report}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_run_spread_over_two_nodes_delivers_every_message_once_across_them() {
    // Two nodes of one cluster: one fresh PostgreSQL database, one Redis
    // key prefix of their own.
    let db = TestDatabase::create().await;
    let (redis, prefix) = (redis_url(), unique_prefix());
    let args = [
        "--rate-limits",
        "off",
        "--database",
        &db.url,
        "--redis",
        &redis,
        "--redis-prefix",
        &prefix,
    ];
    let (a, b) = tokio::join!(
        Server::start_with(&args, &[]),
        Server::start_with(&args, &[])
    );
    let config = ChatConfig {
        urls: vec![a.base_url().to_owned(), b.base_url().to_owned()],
        sessions: 16,
        guilds: 2,
        users: Some(4),
        rate: 20.0,
        duration: Duration::from_secs(2),
        churn: Some(Churn {
            every: Duration::from_millis(300),
            fraction: 0.25,
            downtime: Duration::from_millis(100),
        }),
        drain: Duration::from_secs(10),
        ..ChatConfig::new(a.base_url())
    };
    let report = chat::run(config).await.expect("the chat scenario runs");
    eprintln!("{report}");

    assert_eq!(report.sessions_connected, 16, "{report}");
    assert_eq!(report.sessions_alive_at_end, 16, "{report}");
    assert_eq!(report.messages_posted, 40, "{report}");
    // Four users in two guilds, four sessions each: eight sessions a guild,
    // four of them on each node.
    assert_eq!(report.expected_deliveries, 40 * 8, "{report}");
    assert_eq!(
        report.deliveries_received, report.expected_deliveries,
        "{report}"
    );
    assert_eq!((report.lost, report.duplicated), (0, 0), "{report}");
    assert_eq!((report.seq_gaps, report.seq_repeats), (0, 0), "{report}");
    assert_eq!(report.misrouted, 0, "{report}");

    assert_eq!(report.nodes.len(), 2);
    for node in &report.nodes {
        assert_eq!(node.sessions_connected, 8, "{report}");
        assert_eq!(node.messages_posted, 20, "{report}");
        assert_eq!(node.expected_deliveries, 20 * 8, "{report}");
        assert_eq!(node.deliveries_received, 20 * 8, "{report}");
        assert!(
            node.bus.contains_key("hearth_bus_published_total"),
            "the node's bus counters were read: {report}"
        );
    }
    // Every message reaches four sessions on its own node and four on the
    // other.
    assert_eq!(report.latency_cross_node.count, 40 * 4, "{report}");
    assert_eq!(report.latency_same_node.count, 40 * 4, "{report}");
    let churn = report.churn.as_ref().expect("churn was on");
    assert!(churn.drops > 0, "no connection was dropped: {report}");
    assert_eq!(churn.resumes, churn.drops, "every drop resumed: {report}");
    assert!(report.clean());
}
