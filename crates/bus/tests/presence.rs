//! Nodes' presence views in a real Redis (`HEARTH_TEST_REDIS`), each test
//! on its own key prefix: two `RedisPresences` are two nodes.

use hearth_bus::presence::{NodeView, Record, RedisPresences, SharedPresences};
use hearth_model::Snowflake;
use hearth_proto::gateway::{PresenceUpdate, Status};

mod support;

use support::redis_url;

fn prefix(test: &str) -> String {
    support::prefix("presence", test)
}

fn set(status: Status) -> PresenceUpdate {
    PresenceUpdate {
        since: None,
        activities: vec![serde_json::json!({"name": "chess", "type": 0})],
        status,
        afk: false,
    }
}

fn shown(p: Option<&PresenceUpdate>) -> Option<Status> {
    p.map(|p| p.status)
}

async fn two_nodes(test: &str) -> (RedisPresences, RedisPresences) {
    let url = redis_url();
    let prefix = prefix(test);
    (
        RedisPresences::connect(&url, &prefix).await.unwrap(),
        RedisPresences::connect(&url, &prefix).await.unwrap(),
    )
}

#[tokio::test]
async fn a_user_is_shown_while_any_node_has_them_and_offline_after_the_last() {
    let (a, b) = two_nodes("union").await;
    let user = Snowflake(42);

    let on_a = a
        .record(user, Record::Fresh(set(Status::Online)))
        .await
        .unwrap();
    assert_eq!(shown(on_a.shown_before()), None);
    assert_eq!(shown(on_a.shown_after()), Some(Status::Online));

    let on_b = b
        .record(user, Record::Fresh(set(Status::Online)))
        .await
        .unwrap();
    assert_eq!(on_b.others.len(), 1, "b sees a's view");
    assert!(
        on_b.stamp() > on_a.stamp(),
        "stamps follow the order of records"
    );
    assert_eq!(
        on_b.shown_before(),
        on_b.shown_after(),
        "nothing to announce"
    );

    let b_leaves = b.record(user, Record::Gone).await.unwrap();
    assert_eq!(shown(b_leaves.shown_after()), Some(Status::Online));
    assert_eq!(b_leaves.shown_before(), b_leaves.shown_after());

    let a_leaves = a.record(user, Record::Gone).await.unwrap();
    assert_eq!(shown(a_leaves.shown_before()), Some(Status::Online));
    assert_eq!(shown(a_leaves.shown_after()), None);
}

#[tokio::test]
async fn a_status_set_on_one_node_is_what_the_other_computes() {
    let (a, b) = two_nodes("status").await;
    let user = Snowflake(7);
    a.record(user, Record::Fresh(set(Status::Online)))
        .await
        .unwrap();
    let dnd = b
        .record(user, Record::Fresh(set(Status::Dnd)))
        .await
        .unwrap();
    assert_eq!(shown(dnd.shown_after()), Some(Status::Dnd));
    assert_eq!(dnd.shown_after().unwrap().activities[0]["name"], "chess");

    // a renews its older view: b's newer dnd stays shown.
    let a_view = NodeView {
        stamp: 1,
        update: set(Status::Online),
    };
    let renewed = a.record(user, Record::Kept(a_view)).await.unwrap();
    assert_eq!(shown(renewed.shown_after()), Some(Status::Dnd));

    // b leaves: a's online is shown again.
    let gone = b.record(user, Record::Gone).await.unwrap();
    assert_eq!(shown(gone.shown_before()), Some(Status::Dnd));
    assert_eq!(shown(gone.shown_after()), Some(Status::Online));
}

#[tokio::test]
async fn a_view_written_again_after_the_store_lost_it_keeps_its_order() {
    let (a, b) = two_nodes("rewrite").await;
    let user = Snowflake(9);
    let first = a
        .record(user, Record::Fresh(set(Status::Idle)))
        .await
        .unwrap();
    let stamp = first.stamp().unwrap();
    a.record(user, Record::Gone).await.unwrap();
    // The hash is gone with its counter; a writes its view again (as a
    // renewal after an outage would), then b sets a newer status.
    a.record(
        user,
        Record::Kept(NodeView {
            stamp,
            update: set(Status::Idle),
        }),
    )
    .await
    .unwrap();
    let newer = b
        .record(user, Record::Fresh(set(Status::Online)))
        .await
        .unwrap();
    assert!(newer.stamp().unwrap() > stamp);
    assert_eq!(shown(newer.shown_after()), Some(Status::Online));
}

#[tokio::test]
async fn what_is_shown_is_read_for_many_users_in_the_order_asked() {
    let (a, b) = two_nodes("shown").await;
    let (online, busy, absent) = (Snowflake(1), Snowflake(2), Snowflake(3));
    a.record(online, Record::Fresh(set(Status::Online)))
        .await
        .unwrap();
    a.record(busy, Record::Fresh(set(Status::Online)))
        .await
        .unwrap();
    b.record(busy, Record::Fresh(set(Status::Dnd)))
        .await
        .unwrap();
    let shown_now = b.shown(&[absent, busy, online]).await.unwrap();
    let statuses: Vec<Option<Status>> = shown_now.iter().map(|p| shown(p.as_ref())).collect();
    assert_eq!(
        statuses,
        vec![None, Some(Status::Dnd), Some(Status::Online)]
    );

    a.record(online, Record::Gone).await.unwrap();
    assert_eq!(a.shown(&[online]).await.unwrap(), vec![None]);
}

#[tokio::test]
async fn a_dead_nodes_view_stops_counting_and_its_end_is_a_change_once() {
    let url = redis_url();
    let prefix = prefix("expiry");
    let short = std::time::Duration::from_millis(200);
    let a = RedisPresences::connect(&url, &prefix).await.unwrap();
    let dying = RedisPresences::connect(&url, &prefix)
        .await
        .unwrap()
        .with_view_ttl(short);
    let user = Snowflake(11);
    let first = a
        .record(user, Record::Fresh(set(Status::Online)))
        .await
        .unwrap();
    let a_view = NodeView {
        stamp: first.stamp().unwrap(),
        update: set(Status::Online),
    };
    dying
        .record(user, Record::Fresh(set(Status::Dnd)))
        .await
        .unwrap();
    // The dying node renews nothing: its view passes its deadline.
    tokio::time::sleep(short * 2).await;

    let renewal = a.record(user, Record::Kept(a_view.clone())).await.unwrap();
    assert!(
        renewal.others.is_empty(),
        "the dead node's view no longer counts"
    );
    assert_eq!(shown(renewal.shown_before()), Some(Status::Dnd));
    assert_eq!(shown(renewal.shown_after()), Some(Status::Online));
    assert_eq!(
        a.shown(&[user]).await.unwrap()[0]
            .as_ref()
            .map(|p| p.status),
        Some(Status::Online)
    );

    // Told once: the next record no longer sees it.
    let again = a.record(user, Record::Kept(a_view)).await.unwrap();
    assert_eq!(again.shown_before(), again.shown_after());
}
