//! Identical concurrent history reads share store queries.

use std::sync::Arc;

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::harness::{ids_of, World};

const METRIC: &str = "hearth_store_message_list_queries_total";
const CONCURRENT: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_history_reads_are_coalesced() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "popular").await;
    let ids = api.seed(&w.member, &ch, "c", 60).await;
    let before = ids.last().unwrap().clone();
    let expected: Vec<String> = ids[..59].iter().rev().take(50).cloned().collect();

    let path = format!("/channels/{ch}/messages?before={before}&limit=50");
    // Sanity check (outside the measured window).
    assert_eq!(
        api.message_ids(&w.member, &ch, &format!("?before={before}&limit=50"))
            .await,
        expected
    );

    let start_count = api.metric(METRIC).await;

    let barrier = Arc::new(Barrier::new(CONCURRENT));
    let mut set = JoinSet::new();
    for _ in 0..CONCURRENT {
        let api = api.clone();
        let path = path.clone();
        let auth = w.member.authorization.clone();
        let barrier = barrier.clone();
        set.spawn(async move {
            barrier.wait().await;
            api.get(&path, Some(&auth)).await
        });
    }
    let mut done = 0;
    while let Some(res) = set.join_next().await {
        let r = res.expect("request task panicked");
        let body = r.expect(200);
        assert_eq!(
            ids_of(&body),
            expected,
            "every concurrent reader sees the same page"
        );
        done += 1;
    }
    assert_eq!(done, CONCURRENT);

    let end_count = api.metric(METRIC).await;
    let delta = end_count - start_count;
    println!("{CONCURRENT} concurrent identical reads caused {delta} store list queries");
    eprintln!("{CONCURRENT} concurrent identical reads caused {delta} store list queries");
    assert!(
        delta >= 1.0,
        "the reads did query the store at least once (delta {delta})"
    );
    assert!(
        delta < CONCURRENT as f64,
        "identical concurrent reads must be coalesced: {delta} queries for {CONCURRENT} requests"
    );
}
