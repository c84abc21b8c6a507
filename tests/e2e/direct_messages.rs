//! Direct and group messages: opening DMs, who may message whom, messages
//! and their dispatches to the recipients only, READY's private channels,
//! closing and reopening, and group DMs with their recipients and limit.

use serde_json::{json, Value};

use crate::gateway_client::{intents, login, EVENT_TIMEOUT, QUIET};
use crate::harness::{str_field, World, UNKNOWN_ID};

const DMS: u64 = intents::DIRECT_MESSAGES | intents::DIRECT_MESSAGE_TYPING;

fn recipient_ids(c: &Value) -> Vec<String> {
    c["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| str_field(u, "id"))
        .collect()
}

#[tokio::test]
async fn a_dm_carries_messages_between_its_two_users_only() {
    let w = World::new().await;
    let api = &w.api;
    let third = w.add_member("third").await;
    let mut owner_gw = login(api, &w.owner, DMS).await;
    let mut third_gw = login(api, &third, DMS | intents::GUILD_MESSAGES).await;

    // Opening a DM twice gives the same channel, showing the other user.
    let open = |by: &crate::harness::User, to: &str| {
        let body = json!({ "recipient_id": to });
        let auth = by.auth().map(str::to_owned);
        async move {
            api.post("/users/@me/channels", auth.as_deref(), Some(body))
                .await
        }
    };
    let dm = open(&w.member, &w.owner.id).await.expect(200);
    assert_eq!(dm["type"], 1);
    assert_eq!(recipient_ids(&dm), vec![w.owner.id.clone()]);
    assert!(dm.get("guild_id").is_none());
    let again = open(&w.member, &w.owner.id).await.expect(200);
    assert_eq!(again["id"], dm["id"]);
    let dm_id = str_field(&dm, "id");
    // The other side sees it once there is a message.
    let owners = api
        .get("/users/@me/channels", w.owner.auth())
        .await
        .expect(200);
    assert_eq!(owners, json!([]));

    let sent = api.send(&w.member, &dm_id, "hello in private").await;
    assert!(sent.get("guild_id").is_none());
    let got = owner_gw
        .expect_dispatch("MESSAGE_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(got["content"], "hello in private");
    assert_eq!(got["channel_id"], dm_id.as_str());
    assert!(got.get("guild_id").is_none());
    assert!(got.get("member").is_none());
    // Nobody else hears of it.
    third_gw.expect_no_dispatch("MESSAGE_CREATE", QUIET).await;
    let owners = api
        .get("/users/@me/channels", w.owner.auth())
        .await
        .expect(200);
    assert_eq!(owners[0]["id"], dm_id.as_str());
    assert_eq!(recipient_ids(&owners[0]), vec![w.member.id.clone()]);
    assert_eq!(owners[0]["last_message_id"], sent["id"]);

    // Both read the history and the channel; nobody else may.
    let history = api
        .get(&format!("/channels/{dm_id}/messages"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(history[0]["content"], "hello in private");
    let channel = api
        .get(&format!("/channels/{dm_id}"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(channel["type"], 1);
    for path in [
        format!("/channels/{dm_id}"),
        format!("/channels/{dm_id}/messages"),
    ] {
        api.get(&path, third.auth()).await.expect_error(403, 50001);
    }
    api.post(
        &format!("/channels/{dm_id}/messages"),
        third.auth(),
        Some(json!({"content": "let me in"})),
    )
    .await
    .expect_error(403, 50001);

    // Typing, a reply, an edit and a delete reach the other side.
    api.post(&format!("/channels/{dm_id}/typing"), w.owner.auth(), None)
        .await
        .expect(204);
    let reply = api
        .post(
            &format!("/channels/{dm_id}/messages"),
            w.owner.auth(),
            Some(json!({"content": "hi back", "message_reference": {"message_id": sent["id"]}})),
        )
        .await
        .expect(200);
    assert_eq!(reply["type"], 19);
    assert_eq!(reply["referenced_message"]["content"], "hello in private");
    let mid = str_field(&sent, "id");
    api.patch(
        &format!("/channels/{dm_id}/messages/{mid}"),
        w.member.auth(),
        Some(json!({"content": "hello, edited"})),
    )
    .await
    .expect(200);
    let edited = owner_gw
        .expect_dispatch("MESSAGE_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(edited["content"], "hello, edited");
    // Nobody deletes another's message in a DM.
    api.delete(&format!("/channels/{dm_id}/messages/{mid}"), w.owner.auth())
        .await
        .expect_error(403, 50013);
    api.delete(
        &format!("/channels/{dm_id}/messages/{mid}"),
        w.member.auth(),
    )
    .await
    .expect(204);
    let deleted = owner_gw
        .expect_dispatch("MESSAGE_DELETE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(deleted, json!({"id": mid, "channel_id": dm_id}));

    // A new session finds the DM in READY.
    let fresh = login(api, &w.owner, DMS).await;
    let ready = fresh.ready.clone().unwrap();
    let private = ready["private_channels"].as_array().unwrap();
    assert_eq!(private.len(), 1);
    assert_eq!(private[0]["id"], dm_id.as_str());
    assert_eq!(recipient_ids(&private[0]), vec![w.member.id.clone()]);
}

#[tokio::test]
async fn dms_need_a_shared_guild_and_sessions_need_the_intent() {
    let w = World::new().await;
    let api = &w.api;
    let stranger = api.register("stranger").await;
    api.post(
        "/users/@me/channels",
        w.member.auth(),
        Some(json!({"recipient_id": stranger.id})),
    )
    .await
    .expect_error(400, 50007);
    api.post(
        "/users/@me/channels",
        w.member.auth(),
        Some(json!({"recipient_id": UNKNOWN_ID})),
    )
    .await
    .expect_error(404, 10013);
    api.post("/users/@me/channels", w.member.auth(), Some(json!({})))
        .await
        .expect_field_error(&["recipient_id"]);

    // Without DIRECT_MESSAGES a session hears nothing of DMs.
    let mut deaf = login(api, &w.owner, intents::GUILDS | intents::GUILD_MESSAGES).await;
    let dm = api
        .post(
            "/users/@me/channels",
            w.member.auth(),
            Some(json!({"recipient_id": w.owner.id})),
        )
        .await
        .expect(200);
    let dm_id = str_field(&dm, "id");
    api.send(&w.member, &dm_id, "psst").await;
    deaf.expect_no_dispatch("MESSAGE_CREATE", QUIET).await;

    // Once they share no guild, the DM stays readable but takes no more
    // messages.
    api.delete(
        &format!("/guilds/{}/members/{}", w.guild_id, w.member.id),
        w.owner.auth(),
    )
    .await
    .expect(204);
    api.post(
        &format!("/channels/{dm_id}/messages"),
        w.member.auth(),
        Some(json!({"content": "still there?"})),
    )
    .await
    .expect_error(400, 50007);
    let history = api
        .get(&format!("/channels/{dm_id}/messages"), w.member.auth())
        .await
        .expect(200);
    assert_eq!(history[0]["content"], "psst");
}

#[tokio::test]
async fn a_closed_dm_comes_back_with_its_next_message() {
    let w = World::new().await;
    let api = &w.api;
    let dm = api
        .post(
            "/users/@me/channels",
            w.member.auth(),
            Some(json!({"recipient_id": w.owner.id})),
        )
        .await
        .expect(200);
    let dm_id = str_field(&dm, "id");
    api.send(&w.member, &dm_id, "one").await;
    let mut owner_gw = login(api, &w.owner, DMS).await;
    let closed = api
        .delete(&format!("/channels/{dm_id}"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(closed["id"], dm_id.as_str());
    let gone = owner_gw
        .expect_dispatch("CHANNEL_DELETE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(gone["id"], dm_id.as_str());
    let list = api
        .get("/users/@me/channels", w.owner.auth())
        .await
        .expect(200);
    assert_eq!(list, json!([]));
    api.send(&w.member, &dm_id, "two").await;
    let list = api
        .get("/users/@me/channels", w.owner.auth())
        .await
        .expect(200);
    assert_eq!(list[0]["id"], dm_id.as_str());
    let history = api
        .get(&format!("/channels/{dm_id}/messages"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(history.as_array().unwrap().len(), 2, "closing kept history");
}

#[tokio::test]
async fn group_dms_have_an_owner_recipients_and_a_limit() {
    let w = World::new().await;
    let api = &w.api;
    let third = w.add_member("third").await;
    let mut third_gw = login(api, &third, DMS).await;
    let group = api
        .post(
            "/users/@me/channels",
            w.owner.auth(),
            Some(json!({"recipients": [w.member.id, third.id], "name": "planning"})),
        )
        .await
        .expect(200);
    assert_eq!(group["type"], 3);
    assert_eq!(group["owner_id"], w.owner.id.as_str());
    assert_eq!(group["name"], "planning");
    let mut expected = vec![w.member.id.clone(), third.id.clone()];
    expected.sort_by_key(|s| s.parse::<u64>().unwrap());
    assert_eq!(recipient_ids(&group), expected);
    let gid = str_field(&group, "id");
    let created = third_gw
        .expect_dispatch("CHANNEL_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(created["id"], gid.as_str());
    assert!(!recipient_ids(&created).contains(&third.id));

    // Everyone in it writes and reads; renaming tells all.
    api.send(&third, &gid, "hi all").await;
    api.patch(
        &format!("/channels/{gid}"),
        w.member.auth(),
        Some(json!({"name": "launch"})),
    )
    .await
    .expect(200);
    let renamed = third_gw
        .expect_dispatch("CHANNEL_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(renamed["name"], "launch");

    // Only the owner removes others; anyone leaves.
    api.delete(
        &format!("/channels/{gid}/recipients/{}", w.owner.id),
        third.auth(),
    )
    .await
    .expect_error(403, 50013);
    api.delete(
        &format!("/channels/{gid}/recipients/{}", third.id),
        w.owner.auth(),
    )
    .await
    .expect(204);
    third_gw
        .expect_dispatch("CHANNEL_DELETE", EVENT_TIMEOUT)
        .await;
    api.get(&format!("/channels/{gid}/messages"), third.auth())
        .await
        .expect_error(403, 50001);
    // Any member adds someone back, who hears of the group.
    api.put(
        &format!("/channels/{gid}/recipients/{}", third.id),
        w.member.auth(),
        None,
    )
    .await
    .expect(204);
    let back = third_gw
        .expect_dispatch("CHANNEL_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(back["name"], "launch");

    // Ten people at most.
    for i in 0..7 {
        let extra = w.add_member(&format!("extra{i}")).await;
        api.put(
            &format!("/channels/{gid}/recipients/{}", extra.id),
            w.owner.auth(),
            None,
        )
        .await
        .expect(204);
    }
    let eleventh = w.add_member("eleventh").await;
    api.put(
        &format!("/channels/{gid}/recipients/{}", eleventh.id),
        w.owner.auth(),
        None,
    )
    .await
    .expect_error(400, 30011);
    let now = api
        .get(&format!("/channels/{gid}"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(now["recipients"].as_array().unwrap().len(), 9);

    // When the owner leaves, the group passes to another member.
    api.delete(&format!("/channels/{gid}"), w.owner.auth())
        .await
        .expect(200);
    let after = api
        .get(&format!("/channels/{gid}"), w.member.auth())
        .await
        .expect(200);
    assert_ne!(after["owner_id"], w.owner.id.as_str());
    assert!(!recipient_ids(&after).contains(&w.owner.id));
}

#[tokio::test]
async fn bots_open_dms_but_not_group_dms() {
    let w = World::new().await;
    let api = &w.api;
    let (app, bot) = api.create_bot(&w.owner, "helper").await;
    api.authorize_bot(&w.owner, &w.guild_id, &str_field(&app, "id"), 0)
        .await
        .expect(200);
    let mut member_gw = login(api, &w.member, DMS).await;
    // Without MESSAGE_CONTENT the bot still reads what is sent to it in
    // DMs, as on Discord.
    let mut bot_gw = login(api, &bot, intents::DIRECT_MESSAGES).await;
    let dm = api
        .post(
            "/users/@me/channels",
            bot.auth(),
            Some(json!({"recipient_id": w.member.id})),
        )
        .await
        .expect(200);
    let dm_id = str_field(&dm, "id");
    api.send(&bot, &dm_id, "welcome to the server!").await;
    let got = member_gw
        .expect_dispatch("MESSAGE_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(got["author"]["id"], bot.id.as_str());
    assert_eq!(got["author"]["bot"], true);
    api.send(&w.member, &dm_id, "thanks, bot").await;
    let heard = bot_gw
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["author"]["id"] == w.member.id.as_str(),
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(heard["content"], "thanks, bot");
    api.post(
        "/users/@me/channels",
        bot.auth(),
        Some(json!({"recipients": [w.member.id, w.owner.id]})),
    )
    .await
    .expect_error(403, 20001);
    // Nor is a bot put into one.
    api.post(
        "/users/@me/channels",
        w.member.auth(),
        Some(json!({"recipients": [bot.id, w.owner.id]})),
    )
    .await
    .expect_error(400, 50007);
}

#[tokio::test]
async fn a_dm_is_searched_by_its_recipients_only() {
    let w = World::new().await;
    let api = &w.api;
    let third = w.add_member("third").await;
    let dm = api
        .post(
            "/users/@me/channels",
            w.member.auth(),
            Some(json!({ "recipient_id": w.owner.id })),
        )
        .await
        .expect(200);
    let dm = str_field(&dm, "id");
    api.send(&w.member, &dm, "the quince jam recipe").await;
    api.send(&w.owner, &dm, "quince, really?").await;
    api.send(&w.owner, &w.general, "quince in the guild").await;
    let path = format!("/channels/{dm}/messages/search?content=quince");
    let found = api.get(&path, w.owner.auth()).await.expect(200);
    assert_eq!(found["total_results"], 2, "{found}");
    assert!(found["messages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|hit| hit[0]["channel_id"] == dm.as_str()));
    let by_author = api
        .get(
            &format!("{path}&author_id={}", w.member.id),
            w.member.auth(),
        )
        .await
        .expect(200);
    assert_eq!(by_author["total_results"], 1);
    // Not a recipient: as if it were not there for them.
    api.get(&path, third.auth()).await.expect_error(403, 50001);
    // The same route searches a guild channel.
    let in_general = api
        .get(
            &format!("/channels/{}/messages/search?content=quince", w.general),
            third.auth(),
        )
        .await
        .expect(200);
    assert_eq!(in_general["total_results"], 1);
}

#[tokio::test]
async fn a_block_stops_dms_and_calls_both_ways_and_only_the_blocker_hears_of_it() {
    let w = World::new().await;
    let api = &w.api;
    let member_id = w.member.id.clone();
    let dm = api
        .post(
            "/users/@me/channels",
            w.member.auth(),
            Some(json!({ "recipient_id": w.owner.id })),
        )
        .await
        .expect(200);
    let dm = str_field(&dm, "id");
    let messages = format!("/channels/{dm}/messages");
    api.post(&messages, w.member.auth(), Some(json!({ "content": "hi" })))
        .await
        .expect(200);
    let mut owner_gw = login(api, &w.owner, DMS).await;
    let mut member_gw = login(api, &w.member, DMS).await;

    let rel = format!("/users/@me/relationships/{member_id}");
    // Only blocking exists; nobody blocks themselves or a stranger.
    api.put(&rel, w.owner.auth(), Some(json!({})))
        .await
        .expect_error(400, 50035);
    api.put(&rel, w.owner.auth(), Some(json!({ "type": 1 })))
        .await
        .expect_error(400, 50035);
    api.put(
        &format!("/users/@me/relationships/{}", w.owner.id),
        w.owner.auth(),
        Some(json!({ "type": 2 })),
    )
    .await
    .expect_error(400, 50035);
    api.put(
        &format!("/users/@me/relationships/{UNKNOWN_ID}"),
        w.owner.auth(),
        Some(json!({ "type": 2 })),
    )
    .await
    .expect_error(404, 10013);

    api.put(&rel, w.owner.auth(), Some(json!({ "type": 2 })))
        .await
        .expect(204);
    let added = owner_gw
        .expect_dispatch("RELATIONSHIP_ADD", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(
        (added["id"].as_str(), added["type"].as_u64()),
        (Some(member_id.as_str()), Some(2))
    );
    assert_eq!(added["user"]["id"], member_id.as_str());
    member_gw
        .expect_no_dispatch("RELATIONSHIP_ADD", QUIET)
        .await;
    let listed = api
        .get("/users/@me/relationships", w.owner.auth())
        .await
        .expect(200);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["id"], member_id.as_str());
    let theirs = api
        .get("/users/@me/relationships", w.member.auth())
        .await
        .expect(200);
    assert_eq!(theirs, json!([]), "the blocked user is not told");

    // Neither writes to the other, nor opens a DM, nor calls.
    for by in [&w.member, &w.owner] {
        api.post(&messages, by.auth(), Some(json!({ "content": "hello?" })))
            .await
            .expect_error(400, 50007);
    }
    api.post(
        "/users/@me/channels",
        w.member.auth(),
        Some(json!({ "recipient_id": w.owner.id })),
    )
    .await
    .expect_error(400, 50007);
    owner_gw.expect_no_dispatch("MESSAGE_CREATE", QUIET).await;
    member_gw
        .send_op(
            4,
            json!({ "guild_id": null, "channel_id": dm, "self_mute": false, "self_deaf": false }),
        )
        .await;
    member_gw
        .expect_no_dispatch("VOICE_SERVER_UPDATE", QUIET)
        .await;
    owner_gw.expect_no_dispatch("CALL_CREATE", QUIET).await;

    // A new session of the blocker lists the block in READY.
    let again = login(api, &w.owner, DMS).await;
    let ready = again.ready.clone().expect("READY");
    assert_eq!(
        ready["relationships"][0]["id"],
        member_id.as_str(),
        "{}",
        ready["relationships"]
    );

    // Unblocked: they write again.
    api.delete(&rel, w.owner.auth()).await.expect(204);
    owner_gw
        .expect_dispatch_where(
            "RELATIONSHIP_REMOVE",
            |d| d["id"] == member_id.as_str(),
            EVENT_TIMEOUT,
        )
        .await;
    api.post(
        &messages,
        w.member.auth(),
        Some(json!({ "content": "back" })),
    )
    .await
    .expect(200);
}
