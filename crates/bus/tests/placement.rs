//! The SFU registry and room placement against a real Redis.

mod support;

use hearth_bus::sfu_registry::{PlacementError, Preference, RoomRef, SfuEntry, SfuRegistry};
use hearth_model::Snowflake;

fn entry(node: &str, region: &str) -> SfuEntry {
    SfuEntry {
        node: node.into(),
        region: region.into(),
        endpoint: format!("{node}.example:443/voice"),
        rooms: 0,
        participants: 0,
        packets_per_sec: 0,
        cpu: 0.0,
        draining: false,
        full: false,
    }
}

const ROOM: RoomRef = RoomRef {
    guild: Snowflake(1),
    channel: Snowflake(2),
};

#[tokio::test]
async fn a_room_stays_on_its_node_while_it_lives_and_moves_when_it_leaves() {
    let prefix = support::prefix("sfu", "placement");
    let url = support::redis_url();
    let (a, b) = (
        SfuRegistry::connect(&url, &prefix).await.unwrap(),
        SfuRegistry::connect(&url, &prefix).await.unwrap(),
    );
    let nowhere = Default::default();
    let (eu, us) = (["eu"], ["us"]);
    let want = |region: &str| Preference {
        regions: if region == "eu" { &eu } else { &us },
        coordinates: &nowhere,
    };
    assert!(matches!(
        a.place(ROOM, &want("eu")).await,
        Err(PlacementError::NoNode)
    ));
    a.announce(&entry("eu-1", "eu")).await.unwrap();
    b.announce(&entry("us-1", "us")).await.unwrap();
    assert_eq!(a.live().await.unwrap().len(), 2);

    // Placed where the first join wanted it; the second join, wanting
    // elsewhere through another registry client, meets it there.
    assert_eq!(a.place(ROOM, &want("us")).await.unwrap().node, "us-1");
    assert_eq!(b.place(ROOM, &want("eu")).await.unwrap().node, "us-1");

    // Draining keeps the room (a call in progress stays together).
    b.announce(&SfuEntry {
        draining: true,
        ..entry("us-1", "us")
    })
    .await
    .unwrap();
    assert_eq!(a.place(ROOM, &want("eu")).await.unwrap().node, "us-1");
    let other = RoomRef {
        channel: Snowflake(3),
        ..ROOM
    };
    assert_eq!(a.place(other, &want("us")).await.unwrap().node, "eu-1");

    // Renewals keep only the rooms placed on the renewing node.
    assert_eq!(b.renew("us-1", &[ROOM, other]).await.unwrap(), 1);

    // Once its node leaves, the room goes to a live one.
    b.leave("us-1").await.unwrap();
    assert_eq!(a.live().await.unwrap().len(), 1);
    assert_eq!(a.place(ROOM, &want("us")).await.unwrap().node, "eu-1");
}

#[tokio::test]
async fn every_node_gets_the_same_voice_secret() {
    let prefix = support::prefix("sfu", "secret");
    let url = support::redis_url();
    let a = SfuRegistry::connect(&url, &prefix).await.unwrap();
    let b = SfuRegistry::connect(&url, &prefix).await.unwrap();
    let first = a.shared_voice_secret().await.unwrap();
    assert_eq!(first.len(), 64);
    assert_eq!(b.shared_voice_secret().await.unwrap(), first);
    let elsewhere = SfuRegistry::connect(&url, &support::prefix("sfu", "secret2"))
        .await
        .unwrap();
    assert_ne!(elsewhere.shared_voice_secret().await.unwrap(), first);
}
