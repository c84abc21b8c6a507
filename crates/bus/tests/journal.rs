//! The session journal's Redis half against a real Redis: who owns a
//! session's record, what a dead node's journal gives back, and the
//! topics' streams.

mod support;

use std::time::Duration;

use hearth_bus::journal::{JournalEntry, JournalStore, JournalWrite, RecoveryError, SessionAppend};
use hearth_bus::{Bus, RedisBus, RedisBusConfig};
use hearth_model::{Snowflake, User};
use hearth_proto::events::{Event, EventId, SessionSnapshot, Topic};

const KEEP: Duration = Duration::from_secs(60);

fn snapshot(id: &str) -> SessionSnapshot {
    SessionSnapshot {
        id: id.into(),
        user: User {
            id: Snowflake(7),
            username: "u".into(),
            discriminator: "0".into(),
            global_name: None,
            avatar: None,
            bot: false,
        },
        intents: 513,
        shard: None,
        large_threshold: 50,
        region: None,
        token_hash: [1; 32],
        guilds: vec![Snowflake(5)],
        seq: 1,
        replay_from: 0,
        buffer: Vec::new(),
        presence: None,
        voice: Vec::new(),
        applied: Vec::new(),
    }
}

fn entry(seq: u64, payload: u64) -> JournalEntry {
    JournalEntry {
        seq,
        payload,
        source: Some(EventId {
            origin: 9,
            counter: seq * 10,
        }),
    }
}

async fn store(prefix: &str, node: &str) -> JournalStore {
    JournalStore::connect(&support::redis_url(), prefix, node)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_record_has_one_holder_and_a_dead_holders_journal_comes_back_whole() {
    let prefix = support::prefix("journal", "holder");
    let (a, b, c) = (
        store(&prefix, "a").await,
        store(&prefix, "b").await,
        store(&prefix, "c").await,
    );
    // Node a writes a session and five dispatches sharing two payloads;
    // the session's buffer holds the last three.
    let write = JournalWrite {
        payloads: vec![
            (1, "READY".into(), br#"{"v":10}"#.to_vec()),
            (2, "MESSAGE_CREATE".into(), br#"{"id":"1"}"#.to_vec()),
        ],
        appends: vec![SessionAppend {
            session: "s1".into(),
            entries: vec![
                entry(1, 1),
                entry(2, 2),
                entry(3, 2),
                entry(4, 2),
                entry(5, 2),
            ],
            trim: Some(3),
            expire: true,
        }],
        records: vec![(snapshot("s1"), false)],
        applied: Some(vec![EventId {
            origin: 9,
            counter: 77,
        }]),
        ..Default::default()
    };
    a.write(&write, KEEP).await.unwrap();
    a.alive().await.unwrap();
    assert!(b.is_alive("a").await.unwrap());
    assert!(!b.is_alive("nobody").await.unwrap());

    let found = b.recover("s1").await.unwrap();
    assert_eq!(found.node, "a");
    assert!(found.since_ms > 0);
    assert_eq!(found.snapshot, snapshot("s1"));
    let seqs: Vec<u64> = found.dispatches.iter().map(|(e, _)| e.seq).collect();
    assert_eq!(seqs, vec![3, 4, 5], "trimmed to what a resume may need");
    assert_eq!(found.dispatches[2].1.name, "MESSAGE_CREATE");
    assert_eq!(found.dispatches[2].1.json, br#"{"id":"1"}"#.to_vec());
    assert_eq!(found.dispatches[0].0.source, entry(3, 2).source);
    assert_eq!(
        found.node_applied,
        vec![EventId {
            origin: 9,
            counter: 77
        }]
    );
    assert!(found.node_applied_ms >= found.since_ms);

    // Another node's plain record write does not take the session over.
    b.write(
        &JournalWrite {
            records: vec![(snapshot("s1"), false)],
            ..Default::default()
        },
        KEEP,
    )
    .await
    .unwrap();
    assert_eq!(b.holder("s1").await.unwrap().as_deref(), Some("a"));

    // Two nodes claim it from the dead one: one wins.
    assert!(b.claim("s1", "a").await.unwrap());
    assert!(!c.claim("s1", "a").await.unwrap());
    assert_eq!(c.holder("s1").await.unwrap().as_deref(), Some("b"));

    // The former holder ending it (a late flush) leaves the new holder's
    // record; the new holder's ending removes it.
    let forget = JournalWrite {
        forgotten: vec!["s1".into()],
        ..Default::default()
    };
    a.write(&forget, KEEP).await.unwrap();
    assert_eq!(c.holder("s1").await.unwrap().as_deref(), Some("b"));
    b.write(&forget, KEEP).await.unwrap();
    assert!(matches!(c.recover("s1").await, Err(RecoveryError::Unknown)));
}

#[tokio::test]
async fn a_journal_whose_payload_expired_cannot_be_recovered() {
    let prefix = support::prefix("journal", "payload");
    let a = store(&prefix, "a").await;
    let write = JournalWrite {
        appends: vec![SessionAppend {
            session: "s2".into(),
            entries: vec![entry(1, 42)],
            trim: None,
            expire: true,
        }],
        records: vec![(snapshot("s2"), false)],
        ..Default::default()
    };
    a.write(&write, KEEP).await.unwrap();
    assert!(matches!(
        a.recover("s2").await,
        Err(RecoveryError::PayloadGone)
    ));
}

#[tokio::test]
async fn published_events_are_kept_in_their_topics_streams_in_order() {
    let prefix = support::prefix("journal", "logs");
    let bus = RedisBus::connect(RedisBusConfig {
        url: support::redis_url(),
        prefix: prefix.clone(),
        max_queued: 1000,
    })
    .await
    .unwrap();
    for g in [5, 6, 5] {
        bus.publish(Event::GuildDelete {
            guild_id: Snowflake(g),
        });
    }
    let reader = store(&prefix, "r").await;
    let mut logs = Vec::new();
    for _ in 0..50 {
        logs = reader
            .read_logs(
                &[Topic::Guild(Snowflake(5)), Topic::Guild(Snowflake(6))],
                0,
                0,
            )
            .await
            .unwrap();
        if logs[0].len() == 2 && logs[1].len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let counters = |i: usize| -> Vec<u64> { logs[i].iter().map(|(_, id)| id.counter).collect() };
    assert_eq!(counters(0), vec![1, 3], "guild 5's events, in order");
    assert_eq!(counters(1), vec![2]);
    assert!(matches!(
        *logs[1][0].0,
        Event::GuildDelete { guild_id } if guild_id == Snowflake(6)
    ));
}
