//! Pins: pinning and unpinning in both of Discord's route forms, the pin
//! notice, the lists, CHANNEL_PINS_UPDATE, permissions and the limit.

use serde_json::Value;

use crate::gateway_client::{intents, login, EVENT_TIMEOUT};
use crate::harness::{perm, str_field, World, UNKNOWN_ID};

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| str_field(m, "id"))
        .collect()
}

#[tokio::test]
async fn a_pin_is_listed_announced_and_undone() {
    let w = World::new().await;
    let api = &w.api;
    let mut watcher = login(api, &w.member, intents::GUILDS | intents::GUILD_MESSAGES).await;
    let first = str_field(&api.send(&w.member, &w.general, "first").await, "id");
    let second = str_field(&api.send(&w.member, &w.general, "second").await, "id");
    let pins = format!("/channels/{}/pins", w.general);

    api.put(&format!("{pins}/{first}"), w.owner.auth(), None)
        .await
        .expect(204);
    let update = watcher
        .expect_dispatch("MESSAGE_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(update["id"], first.as_str());
    assert_eq!(update["pinned"], true);
    let pins_update = watcher
        .expect_dispatch("CHANNEL_PINS_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(pins_update["channel_id"], w.general.as_str());
    assert_eq!(pins_update["guild_id"], w.guild_id.as_str());
    assert!(pins_update["last_pin_timestamp"].is_string());
    // "owner pinned a message", pointing at it.
    let notice = watcher
        .expect_dispatch_where("MESSAGE_CREATE", |d| d["type"] == 6, EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(notice["author"]["id"], w.owner.id.as_str());
    assert_eq!(notice["message_reference"]["message_id"], first.as_str());

    // The newer form, through the messages path, and a second pin.
    api.put(
        &format!("/channels/{}/messages/pins/{second}", w.general),
        w.owner.auth(),
        None,
    )
    .await
    .expect(204);
    // Pinning again changes nothing.
    api.put(&format!("{pins}/{second}"), w.owner.auth(), None)
        .await
        .expect(204);

    // Both lists, newest pin first, read by a member.
    let legacy = api.get(&pins, w.member.auth()).await.expect(200);
    assert_eq!(ids(&legacy), vec![second.clone(), first.clone()]);
    assert_eq!(legacy[0]["pinned"], true);
    let page = api
        .get(
            &format!("/channels/{}/messages/pins?limit=1", w.general),
            w.member.auth(),
        )
        .await
        .expect(200);
    assert_eq!(page["has_more"], true);
    assert_eq!(page["items"][0]["message"]["id"], second.as_str());
    let before = page["items"][0]["pinned_at"].as_str().unwrap().to_owned();
    let rest = api
        .get(
            &format!(
                "/channels/{}/messages/pins?before={}",
                w.general,
                before.replace('+', "%2B")
            ),
            w.member.auth(),
        )
        .await
        .expect(200);
    assert_eq!(rest["has_more"], false);
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["message"]["id"], first.as_str());

    // The message itself says it is pinned, in history too.
    let read = api
        .get(
            &format!("/channels/{}/messages/{first}", w.general),
            w.member.auth(),
        )
        .await
        .expect(200);
    assert_eq!(read["pinned"], true);

    // Unpinning the newest moves last_pin_timestamp back; unpinning the
    // last clears it.
    api.delete(&format!("{pins}/{second}"), w.owner.auth())
        .await
        .expect(204);
    let update = watcher
        .expect_dispatch_where(
            "MESSAGE_UPDATE",
            |d| d["id"] == second.as_str() && d["pinned"] == false,
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(update["content"], "second");
    // (The second pin's own update is still queued: skip to this one.)
    let moved = watcher
        .expect_dispatch_where(
            "CHANNEL_PINS_UPDATE",
            |d| d["last_pin_timestamp"] == pins_update["last_pin_timestamp"],
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(moved["channel_id"], w.general.as_str());
    api.delete(&format!("{pins}/{first}"), w.owner.auth())
        .await
        .expect(204);
    let cleared = watcher
        .expect_dispatch_where(
            "CHANNEL_PINS_UPDATE",
            |d| d["last_pin_timestamp"].is_null(),
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(cleared["channel_id"], w.general.as_str());
    let legacy = api.get(&pins, w.member.auth()).await.expect(200);
    assert!(legacy.as_array().unwrap().is_empty());

    // A deleted message takes its pin with it.
    api.put(&format!("{pins}/{first}"), w.owner.auth(), None)
        .await
        .expect(204);
    api.delete(
        &format!("/channels/{}/messages/{first}", w.general),
        w.owner.auth(),
    )
    .await
    .expect(204);
    let legacy = api.get(&pins, w.member.auth()).await.expect(200);
    assert!(legacy.as_array().unwrap().is_empty(), "{legacy}");
}

#[tokio::test]
async fn pinning_needs_manage_messages_and_stops_at_fifty() {
    let w = World::new().await;
    let api = &w.api;
    let pins = format!("/channels/{}/pins", w.general);
    let own = str_field(&api.send(&w.member, &w.general, "mine").await, "id");

    // A member may not pin, even their own message.
    api.put(&format!("{pins}/{own}"), w.member.auth(), None)
        .await
        .expect_error(403, 50013);
    api.delete(&format!("{pins}/{own}"), w.member.auth())
        .await
        .expect_error(403, 50013);
    api.put(&format!("{pins}/{UNKNOWN_ID}"), w.owner.auth(), None)
        .await
        .expect_error(404, 10008);
    api.put(&format!("{pins}/not-an-id"), w.owner.auth(), None)
        .await
        .expect_field_error(&["message_id"]);
    api.get(
        &format!("/channels/{}/messages/pins?limit=51", w.general),
        w.member.auth(),
    )
    .await
    .expect_field_error(&["limit"]);
    api.get(
        &format!("/channels/{}/messages/pins?before=yesterday", w.general),
        w.member.auth(),
    )
    .await
    .expect_field_error(&["before"]);

    // A moderator may.
    let mods = w.grant(&w.member.id, "mods", perm::MANAGE_MESSAGES).await;
    assert!(!mods.is_empty());
    api.put(&format!("{pins}/{own}"), w.member.auth(), None)
        .await
        .expect(204);

    // The notice itself cannot be pinned.
    let history = api
        .get(
            &format!("/channels/{}/messages?limit=1", w.general),
            w.owner.auth(),
        )
        .await
        .expect(200);
    assert_eq!(history[0]["type"], 6);
    let notice = str_field(&history[0], "id");
    api.put(&format!("{pins}/{notice}"), w.owner.auth(), None)
        .await
        .expect_error(400, 50021);

    // Fifty pins per channel; the fifty-first is refused and nothing
    // changes; unpinning one makes room again.
    let more = api.seed(&w.owner, &w.general, "pin", 50).await;
    for id in &more[..49] {
        api.put(&format!("{pins}/{id}"), w.owner.auth(), None)
            .await
            .expect(204);
    }
    api.put(&format!("{pins}/{}", more[49]), w.owner.auth(), None)
        .await
        .expect_error(400, 30003);
    let listed = api.get(&pins, w.member.auth()).await.expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 50);
    assert!(!ids(&listed).contains(&more[49]));
    api.delete(&format!("{pins}/{own}"), w.owner.auth())
        .await
        .expect(204);
    api.put(&format!("{pins}/{}", more[49]), w.owner.auth(), None)
        .await
        .expect(204);

    // Without READ_MESSAGE_HISTORY the list is empty, as on Discord.
    api.set_overwrite(
        &w.owner,
        &w.general,
        &w.member.id,
        1,
        0,
        perm::READ_MESSAGE_HISTORY,
    )
    .await;
    let hidden = api.get(&pins, w.member.auth()).await.expect(200);
    assert!(hidden.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn concurrent_pins_never_pass_the_limit() {
    let w = World::new().await;
    let api = &w.api;
    let pins = format!("/channels/{}/pins", w.general);
    let many = api.seed(&w.owner, &w.general, "race", 60).await;
    let owner = &w.owner;
    let tries = many.iter().map(|id| {
        let path = format!("{pins}/{id}");
        async move { api.put(&path, owner.auth(), None).await.parts().0 }
    });
    let statuses = futures_util::future::join_all(tries).await;
    let pinned = statuses.iter().filter(|s| s.as_u16() == 204).count();
    assert_eq!(pinned, 50, "{statuses:?}");
    let listed = api.get(&pins, w.member.auth()).await.expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 50);
}

#[tokio::test]
async fn either_side_of_a_dm_pins_and_both_hear_of_it() {
    let w = World::new().await;
    let api = &w.api;
    let dm = api
        .post(
            "/users/@me/channels",
            w.owner.auth(),
            Some(serde_json::json!({"recipient_id": w.member.id})),
        )
        .await
        .expect(200);
    let dm_id = str_field(&dm, "id");
    let sent = api.send(&w.owner, &dm_id, "the address is 12 Elm St").await;
    let sent_id = str_field(&sent, "id");
    let mut owner_gw = login(api, &w.owner, intents::DIRECT_MESSAGES).await;
    // The member (no MANAGE_MESSAGES anywhere) pins in their DM.
    api.put(
        &format!("/channels/{dm_id}/pins/{sent_id}"),
        w.member.auth(),
        None,
    )
    .await
    .expect(204);
    let updated = owner_gw
        .expect_dispatch("MESSAGE_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(updated["pinned"], true);
    assert!(updated.get("guild_id").is_none());
    let pins = owner_gw
        .expect_dispatch("CHANNEL_PINS_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(pins["channel_id"], dm_id.as_str());
    assert!(pins["last_pin_timestamp"].is_string());
    let notice = owner_gw
        .expect_dispatch("MESSAGE_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(notice["type"], 6);
    assert_eq!(notice["message_reference"]["message_id"], sent_id.as_str());
    let listed = api
        .get(&format!("/channels/{dm_id}/pins"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(ids(&listed), [sent_id.as_str()]);
    // Someone outside the DM can neither list nor pin.
    let stranger = w.add_member("stranger").await;
    api.get(&format!("/channels/{dm_id}/pins"), stranger.auth())
        .await
        .expect_error(403, 50001);
    api.delete(
        &format!("/channels/{dm_id}/pins/{sent_id}"),
        stranger.auth(),
    )
    .await
    .expect_error(403, 50001);
    api.delete(&format!("/channels/{dm_id}/pins/{sent_id}"), w.owner.auth())
        .await
        .expect(204);
    let listed = api
        .get(&format!("/channels/{dm_id}/pins"), w.member.auth())
        .await
        .expect(200);
    assert_eq!(listed, serde_json::json!([]));
}
