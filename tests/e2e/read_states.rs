//! Read states: acks, MESSAGE_ACK to the user's other sessions, and
//! READY's read states with mention counts.

use serde_json::{json, Value};

use crate::gateway_client::{intents, login, EVENT_TIMEOUT};
use crate::harness::{str_field, World, UNKNOWN_ID};

fn entry(ready: &Value, channel: &str) -> Value {
    ready["read_state"]["entries"]
        .as_array()
        .expect("read_state entries")
        .iter()
        .find(|e| e["id"] == channel)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn acks_reach_other_sessions_and_ready_counts_mentions_since() {
    let w = World::new().await;
    let api = &w.api;
    let role = w.grant(&w.member.id, "crew", 0).await;
    let read = api.send(&w.owner, &w.general, "before").await;
    let ack = |m: &str| format!("/channels/{}/messages/{m}/ack", w.general);
    let mut other_device = login(api, &w.member, intents::GUILDS).await;
    let answer = api
        .post(
            &ack(&str_field(&read, "id")),
            w.member.auth(),
            Some(json!({"token": null})),
        )
        .await
        .expect(200);
    assert_eq!(answer, json!({"token": null}));
    let acked = other_device
        .expect_dispatch("MESSAGE_ACK", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(acked["channel_id"], w.general.as_str());
    assert_eq!(acked["message_id"], read["id"]);
    assert_eq!(acked["version"], 1);

    // Three mentions of the member (by name, by role, @everyone), one
    // message without, and the member's own message mentioning themself.
    for content in [
        format!("hey <@{}>", w.member.id),
        format!("crew <@&{role}>"),
        "@everyone meeting".to_owned(),
        "nothing for you".to_owned(),
    ] {
        api.send(&w.owner, &w.general, &content).await;
    }
    let own = api
        .send(&w.member, &w.general, &format!("me <@{}>", w.member.id))
        .await;
    let fresh = login(api, &w.member, intents::GUILDS).await;
    let ready = fresh.ready.clone().unwrap();
    // GUILD_CREATE says where the history ends, to compare with.
    let general = fresh.guild_creates[0]["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == w.general.as_str())
        .unwrap()
        .clone();
    assert_eq!(general["last_message_id"], own["id"]);
    let e = entry(&ready, &w.general);
    assert_eq!(e["last_message_id"], read["id"]);
    assert_eq!(e["mention_count"], 3, "{e}");

    // Read to the end: nothing left; an older ack does not go back.
    api.post(&ack(&str_field(&own, "id")), w.member.auth(), None)
        .await
        .expect(200);
    api.post(&ack(&str_field(&read, "id")), w.member.auth(), None)
        .await
        .expect(200);
    let ready = login(api, &w.member, intents::GUILDS)
        .await
        .ready
        .clone()
        .unwrap();
    let e = entry(&ready, &w.general);
    assert_eq!(e["last_message_id"], own["id"]);
    assert_eq!(e["mention_count"], 0);
    // Someone else's READY knows nothing of it.
    let owners = login(api, &w.owner, intents::GUILDS)
        .await
        .ready
        .clone()
        .unwrap();
    assert_eq!(entry(&owners, &w.general), Value::Null);
}

#[tokio::test]
async fn in_a_dm_every_unread_message_counts() {
    let w = World::new().await;
    let api = &w.api;
    let dm = api
        .post(
            "/users/@me/channels",
            w.owner.auth(),
            Some(json!({"recipient_id": w.member.id})),
        )
        .await
        .expect(200);
    let dm_id = str_field(&dm, "id");
    let first = api.send(&w.owner, &dm_id, "one").await;
    api.post(
        &format!("/channels/{dm_id}/messages/{}/ack", str_field(&first, "id")),
        w.member.auth(),
        None,
    )
    .await
    .expect(200);
    api.send(&w.owner, &dm_id, "two").await;
    api.send(&w.owner, &dm_id, "three").await;
    let ready = login(api, &w.member, intents::DIRECT_MESSAGES)
        .await
        .ready
        .clone()
        .unwrap();
    assert_eq!(entry(&ready, &dm_id)["mention_count"], 2);
}

#[tokio::test]
async fn acks_check_the_channel_the_message_and_the_account() {
    let w = World::new().await;
    let api = &w.api;
    let m = api.send(&w.owner, &w.general, "hi").await;
    let path = format!(
        "/channels/{}/messages/{}/ack",
        w.general,
        str_field(&m, "id")
    );
    let stranger = api.register("stranger").await;
    api.post(&path, stranger.auth(), None)
        .await
        .expect_error(403, 50001);
    api.post(
        &format!("/channels/{}/messages/{UNKNOWN_ID}/ack", w.general),
        w.member.auth(),
        None,
    )
    .await
    .expect_error(404, 10008);
    let (_, bot) = api.create_bot(&w.owner, "reader").await;
    api.post(&path, bot.auth(), None)
        .await
        .expect_error(403, 20001);
    // A bot's READY has no read states.
    let ready = login(api, &bot, intents::GUILDS)
        .await
        .ready
        .clone()
        .unwrap();
    assert!(ready.get("read_state").is_none());
}

#[tokio::test]
async fn acks_made_at_once_are_all_stored_and_the_furthest_wins() {
    let w = World::new().await;
    let api = &w.api;
    let ids: Vec<String> = api.seed(&w.owner, &w.general, "read me", 30).await;
    let mut other_device = login(api, &w.member, intents::GUILDS).await;
    // Thirty acks at once, in no order: each is answered once stored.
    let auth = w.member.auth();
    let acks = ids.iter().rev().map(|m| {
        let path = format!("/channels/{}/messages/{m}/ack", w.general);
        async move { api.post(&path, auth, Some(json!({}))).await }
    });
    for answer in futures_util::future::join_all(acks).await {
        answer.expect(200);
    }
    // The other device ends on the newest message, whatever the batches.
    let newest = ids.iter().map(|i| i.parse::<u64>().unwrap()).max().unwrap();
    let mut last_version = 0;
    let mut last_seen = 0u64;
    while last_seen != newest {
        let d = other_device
            .expect_dispatch("MESSAGE_ACK", EVENT_TIMEOUT)
            .await
            .d;
        let version = d["version"].as_u64().unwrap();
        assert!(version > last_version, "versions only grow: {d}");
        last_version = version;
        last_seen = d["message_id"].as_str().unwrap().parse().unwrap();
    }
    // And a new session reads it back.
    let fresh = login(api, &w.member, intents::GUILDS).await;
    let e = entry(fresh.ready.as_ref().unwrap(), &w.general);
    assert_eq!(e["last_message_id"], newest.to_string());
    assert!(api.metric("hearth_read_state_ack_batch_size_count").await >= 1.0);
}
