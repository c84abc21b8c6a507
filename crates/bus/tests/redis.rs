//! The Redis bus against a real Redis (`HEARTH_TEST_REDIS`), each test on
//! its own key prefix.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_bus::{Bus, BusHealth, Receiver, RedisBus, RedisBusConfig};
use hearth_model::{Member, Snowflake, Timestamp, User};
use hearth_proto::events::{Event, EventId, NodeCommand, Topic};

mod support;

use support::redis_url;

fn prefix(test: &str) -> String {
    support::prefix("bus", test)
}

#[derive(Default)]
struct Collect(
    Mutex<Vec<Event>>,
    Mutex<Vec<NodeCommand>>,
    Mutex<Vec<EventId>>,
);

impl Receiver for Collect {
    fn deliver(&self, event: Arc<Event>, id: EventId) {
        self.0.lock().unwrap().push((*event).clone());
        self.2.lock().unwrap().push(id);
    }
    fn command(&self, command: NodeCommand) {
        self.1.lock().unwrap().push(command);
    }
}

impl Collect {
    /// The events received once `n` have arrived (or after a few seconds).
    async fn wait_for(&self, n: usize) -> Vec<Event> {
        for _ in 0..100 {
            if self.0.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.0.lock().unwrap().clone()
    }

    /// What arrived, after a quiet while in which more could have.
    async fn settled(&self) -> Vec<Event> {
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.0.lock().unwrap().clone()
    }
}

async fn node(prefix: &str) -> (Arc<RedisBus>, Arc<Collect>) {
    let bus = RedisBus::connect(RedisBusConfig {
        url: redis_url(),
        prefix: prefix.to_owned(),
        max_queued: 1000,
    })
    .await
    .expect("connecting to the test Redis");
    let seen = Arc::new(Collect::default());
    bus.set_receiver(seen.clone());
    (bus, seen)
}

fn deleted(guild: u64) -> Event {
    Event::GuildDelete {
        guild_id: Snowflake(guild),
    }
}

fn joined(guild: u64, user: u64) -> Event {
    Event::GuildMemberAdd {
        guild_id: Snowflake(guild),
        member: Member {
            user: User {
                id: Snowflake(user),
                username: "newcomer".into(),
                discriminator: "0".into(),
                global_name: None,
                avatar: None,
                bot: false,
            },
            nick: None,
            avatar: None,
            roles: vec![],
            joined_at: Timestamp::now(),
            deaf: false,
            mute: false,
            flags: 0,
            pending: false,
            communication_disabled_until: None,
        },
    }
}

#[tokio::test]
async fn a_node_gets_the_topics_it_watches_from_other_nodes_in_order_and_once() {
    let p = prefix("watch");
    let (a, a_seen) = node(&p).await;
    let (b, b_seen) = node(&p).await;
    assert_eq!(b.health(), BusHealth::Connected);

    b.watch(Topic::Guild(Snowflake(1))).await;
    for g in [1, 2, 1, 1] {
        a.publish(deleted(g));
    }
    let got = b_seen.wait_for(3).await;
    assert_eq!(got, vec![deleted(1), deleted(1), deleted(1)]);
    // The publisher delivered to itself, locally, and not again via Redis.
    assert_eq!(a_seen.settled().await.len(), 4);
    // Each event is named by its node and its place in that node's order,
    // the same on both nodes.
    let a_ids = a_seen.2.lock().unwrap().clone();
    let b_ids = b_seen.2.lock().unwrap().clone();
    assert_eq!(
        a_ids.iter().map(|i| i.counter).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert!(a_ids.iter().all(|i| i.origin == a_ids[0].origin));
    assert_eq!(b_ids, vec![a_ids[0], a_ids[2], a_ids[3]]);
    assert_eq!(
        b_seen.settled().await.len(),
        3,
        "guild 2 is not watched by b"
    );

    // Watched twice, unwatched once: still watched.
    b.watch(Topic::Guild(Snowflake(1))).await;
    b.unwatch(Topic::Guild(Snowflake(1)));
    a.publish(deleted(1));
    assert_eq!(b_seen.wait_for(4).await.len(), 4);
    b.unwatch(Topic::Guild(Snowflake(1)));
    a.publish(deleted(1));
    assert_eq!(b_seen.settled().await.len(), 4, "unwatched topics stop");
}

#[tokio::test]
async fn a_new_member_is_told_on_their_own_topic_once_even_where_the_guild_is_watched() {
    let p = prefix("member");
    let (a, _) = node(&p).await;
    let (b, b_seen) = node(&p).await;
    let (c, c_seen) = node(&p).await;
    // b has the newcomer's session only; c has the newcomer and the guild.
    b.watch(Topic::User(Snowflake(7))).await;
    c.watch(Topic::User(Snowflake(7))).await;
    c.watch(Topic::Guild(Snowflake(1))).await;

    let join = joined(1, 7);
    a.publish(join.clone());
    assert_eq!(b_seen.wait_for(1).await, vec![join]);
    assert_eq!(c_seen.settled().await.len(), 1, "c got the join once");
}

#[tokio::test]
async fn nodes_of_other_prefixes_hear_nothing() {
    let (a, _) = node(&prefix("one")).await;
    let (b, b_seen) = node(&prefix("two")).await;
    b.watch(Topic::Guild(Snowflake(1))).await;
    a.publish(deleted(1));
    assert!(b_seen.settled().await.is_empty());
}

#[tokio::test]
async fn an_unreachable_redis_is_an_error_naming_it_without_its_password() {
    let err = RedisBus::connect(RedisBusConfig {
        url: "redis://user:secret@127.0.0.1:1".into(),
        prefix: "x:".into(),
        max_queued: 10,
    })
    .await
    .expect_err("nothing listens on port 1");
    let text = err.to_string();
    assert!(text.contains("redis://user:***@127.0.0.1:1"), "{text}");
    assert!(!text.contains("secret"), "{text}");
}

#[tokio::test]
async fn commands_reach_the_nodes_watching_their_user() {
    let p = prefix("command");
    let (a, a_seen) = node(&p).await;
    let (b, b_seen) = node(&p).await;
    let (_c, c_seen) = node(&p).await;
    b.watch(Topic::User(Snowflake(9))).await;
    b.watch(Topic::Guild(Snowflake(1))).await;

    let end = NodeCommand::EndSessions {
        user_id: Snowflake(9),
        token_hash: None,
    };
    a.command(end.clone());
    a.publish(deleted(1));
    b_seen.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(*b_seen.1.lock().unwrap(), vec![end.clone()]);
    assert_eq!(
        *a_seen.1.lock().unwrap(),
        vec![end],
        "the sender's own node too, once"
    );
    assert!(
        c_seen.1.lock().unwrap().is_empty(),
        "c holds no session of user 9"
    );
}
