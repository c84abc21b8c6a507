//! Channel visibility, permission denials, time-outs and bans.

use serde_json::json;

use crate::harness::{iso_from_now, perm, str_field, World};

#[tokio::test]
async fn hidden_channel_is_invisible_until_a_role_overwrite_allows_it() {
    let w = World::new().await;
    let api = &w.api;
    let secret = api.text_channel(&w.owner, &w.guild_id, "secret").await;
    let owner_msg = api.send(&w.owner, &secret, "classified").await;
    let owner_msg_id = str_field(&owner_msg, "id");

    // Hide it from @everyone (role id == guild id).
    api.set_overwrite(&w.owner, &secret, &w.guild_id, 0, 0, perm::VIEW_CHANNEL)
        .await;

    let visible_to =
        |chans: &Vec<serde_json::Value>| chans.iter().any(|c| c["id"] == secret.as_str());
    assert!(!visible_to(&api.channels(&w.member, &w.guild_id).await));
    assert!(
        visible_to(&api.channels(&w.owner, &w.guild_id).await),
        "owner still sees it"
    );
    api.get(&format!("/channels/{secret}"), w.member.auth())
        .await
        .expect_error(403, 50001);
    api.get(&format!("/channels/{secret}/messages"), w.member.auth())
        .await
        .expect_error(403, 50001);
    api.get(
        &format!("/channels/{secret}/messages/{owner_msg_id}"),
        w.member.auth(),
    )
    .await
    .expect_error(403, 50001);
    let r = api
        .post(
            &format!("/channels/{secret}/messages"),
            w.member.auth(),
            Some(json!({"content": "let me in"})),
        )
        .await;
    assert_eq!(
        r.status.as_u16(),
        403,
        "posting into a hidden channel: {}",
        r.text
    );

    // A role with an allow overwrite: still hidden until the member has the role.
    let role = api
        .create_role(&w.owner, &w.guild_id, json!({"name": "insiders"}))
        .await;
    let role_id = str_field(&role, "id");
    api.set_overwrite(&w.owner, &secret, &role_id, 0, perm::VIEW_CHANNEL, 0)
        .await;
    assert!(!visible_to(&api.channels(&w.member, &w.guild_id).await));

    api.add_role(&w.owner, &w.guild_id, &w.member.id, &role_id)
        .await;
    assert!(visible_to(&api.channels(&w.member, &w.guild_id).await));
    let ch = api
        .get(&format!("/channels/{secret}"), w.member.auth())
        .await
        .expect(200);
    assert_eq!(ch["name"], "secret");
    let ids = api.message_ids(&w.member, &secret, "").await;
    assert_eq!(ids, vec![owner_msg_id.clone()]);
    api.send(&w.member, &secret, "I'm in").await;

    // Removing the role's overwrite hides it again.
    api.delete(
        &format!("/channels/{secret}/permissions/{role_id}"),
        w.owner.auth(),
    )
    .await
    .expect(204);
    assert!(!visible_to(&api.channels(&w.member, &w.guild_id).await));
    api.get(&format!("/channels/{secret}"), w.member.auth())
        .await
        .expect_error(403, 50001);
}

#[tokio::test]
async fn member_overwrite_can_hide_a_channel_from_one_person() {
    let w = World::new().await;
    let api = &w.api;
    let carol = w.add_member("carol").await;
    let room = api.text_channel(&w.owner, &w.guild_id, "room").await;

    let mut member_gw =
        crate::gateway_client::login(api, &w.member, crate::gateway_client::intents::GUILDS).await;
    api.set_overwrite(&w.owner, &room, &w.member.id, 1, 0, perm::VIEW_CHANNEL)
        .await;
    api.get(&format!("/channels/{room}"), w.member.auth())
        .await
        .expect_error(403, 50001);
    // The member hears of the edit that hid the channel, so their client
    // can drop it; they hear of nothing in it afterwards.
    let hid = member_gw
        .expect_dispatch_where(
            "CHANNEL_UPDATE",
            |d| d["id"] == room.as_str(),
            crate::gateway_client::EVENT_TIMEOUT,
        )
        .await
        .d;
    assert!(
        hid["permission_overwrites"]
            .as_array()
            .is_some_and(|o| o.iter().any(|o| o["id"] == w.member.id.as_str())),
        "{hid}"
    );
    api.patch(
        &format!("/channels/{room}"),
        w.owner.auth(),
        Some(json!({ "topic": "secret" })),
    )
    .await
    .expect(200);
    member_gw
        .expect_no_dispatch_where(
            "CHANNEL_UPDATE",
            |d| d["id"] == room.as_str(),
            crate::gateway_client::QUIET,
        )
        .await;
    api.get(&format!("/channels/{room}"), carol.auth())
        .await
        .expect(200);

    let ch = api
        .get(&format!("/channels/{room}"), w.owner.auth())
        .await
        .expect(200);
    let ows = ch["permission_overwrites"]
        .as_array()
        .expect("overwrites array");
    let ow = ows
        .iter()
        .find(|o| o["id"] == w.member.id.as_str())
        .unwrap_or_else(|| panic!("member overwrite listed: {ch}"));
    assert_eq!(ow["type"], 1);
    assert_eq!(ow["deny"], perm::s(perm::VIEW_CHANNEL).as_str());
    assert_eq!(ow["allow"], "0");

    api.delete(
        &format!("/channels/{room}/permissions/{}", w.member.id),
        w.owner.auth(),
    )
    .await
    .expect(204);
    api.get(&format!("/channels/{room}"), w.member.auth())
        .await
        .expect(200);
}

#[tokio::test]
async fn missing_permissions_give_50013_and_missing_access_gives_50001() {
    let w = World::new().await;
    let api = &w.api;
    let m = w.member.auth();
    let owner_msg = api.send(&w.owner, &w.general, "owner speaking").await;
    let owner_msg_id = str_field(&owner_msg, "id");

    // Things the member can see but lacks the permission for: 50013.
    api.post(&w.g("/channels"), m, Some(json!({"name": "x", "type": 0})))
        .await
        .expect_error(403, 50013);
    api.post(&w.g("/roles"), m, Some(json!({"name": "x"})))
        .await
        .expect_error(403, 50013);
    api.patch(&w.g(""), m, Some(json!({"name": "x"})))
        .await
        .expect_error(403, 50013);
    api.put(&w.g(&format!("/bans/{}", w.owner.id)), m, Some(json!({})))
        .await
        .expect_error(403, 50013);
    api.post(
        &format!("/channels/{}/webhooks", w.general),
        m,
        Some(json!({"name": "x"})),
    )
    .await
    .expect_error(403, 50013);
    api.delete(
        &format!("/channels/{}/messages/{owner_msg_id}", w.general),
        m,
    )
    .await
    .expect_error(403, 50013);
    api.put(
        &format!("/channels/{}/permissions/{}", w.general, w.member.id),
        m,
        Some(json!({"type": 1, "allow": perm::s(perm::MANAGE_MESSAGES), "deny": "0"})),
    )
    .await
    .expect_error(403, 50013);

    // A member-level deny of SEND_MESSAGES: can read, cannot post (50013).
    let quiet = api.text_channel(&w.owner, &w.guild_id, "quiet").await;
    api.set_overwrite(&w.owner, &quiet, &w.member.id, 1, 0, perm::SEND_MESSAGES)
        .await;
    api.get(&format!("/channels/{quiet}/messages"), m)
        .await
        .expect(200);
    api.post(
        &format!("/channels/{quiet}/messages"),
        m,
        Some(json!({"content": "hello?"})),
    )
    .await
    .expect_error(403, 50013);

    // Not in the guild at all: 50001.
    let stranger = api.register("stranger").await;
    api.get(&w.g(""), stranger.auth())
        .await
        .expect_error(403, 50001);
    api.get(&format!("/channels/{}", w.general), stranger.auth())
        .await
        .expect_error(403, 50001);
    api.get(
        &format!("/channels/{}/messages", w.general),
        stranger.auth(),
    )
    .await
    .expect_error(403, 50001);
}

#[tokio::test]
async fn administrator_bypasses_channel_overwrites() {
    let w = World::new().await;
    let api = &w.api;
    let vault = api.text_channel(&w.owner, &w.guild_id, "vault").await;
    api.set_overwrite(&w.owner, &vault, &w.guild_id, 0, 0, perm::VIEW_CHANNEL)
        .await;
    api.set_overwrite(
        &w.owner,
        &vault,
        &w.member.id,
        1,
        0,
        perm::VIEW_CHANNEL | perm::SEND_MESSAGES,
    )
    .await;
    api.get(&format!("/channels/{vault}"), w.member.auth())
        .await
        .expect_error(403, 50001);

    w.grant(&w.member.id, "admins", perm::ADMINISTRATOR).await;
    api.get(&format!("/channels/{vault}"), w.member.auth())
        .await
        .expect(200);
    api.send(&w.member, &vault, "admin was here").await;
    api.create_channel(
        &w.member,
        &w.guild_id,
        json!({"name": "admin-made", "type": 0}),
    )
    .await;
}

#[tokio::test]
async fn timed_out_member_can_read_but_not_post_until_lifted() {
    let w = World::new().await;
    let api = &w.api;
    let carol = w.add_member("carol").await;
    let before = api.send(&w.owner, &w.general, "before the timeout").await;
    let before_id = str_field(&before, "id");
    let until = iso_from_now(3600);

    // Needs MODERATE_MEMBERS.
    api.patch(
        &w.g(&format!("/members/{}", w.member.id)),
        carol.auth(),
        Some(json!({"communication_disabled_until": until})),
    )
    .await
    .expect_error(403, 50013);

    let m = api
        .patch(
            &w.g(&format!("/members/{}", w.member.id)),
            w.owner.auth(),
            Some(json!({"communication_disabled_until": until})),
        )
        .await
        .expect(200);
    assert!(
        m["communication_disabled_until"].is_string(),
        "timeout recorded: {m}"
    );
    let m = api
        .member(&carol, &w.guild_id, &w.member.id)
        .await
        .expect(200);
    assert!(m["communication_disabled_until"].is_string());

    // Reading still works.
    let ids = api.message_ids(&w.member, &w.general, "?limit=100").await;
    assert!(ids.contains(&before_id));
    api.get(&format!("/channels/{}", w.general), w.member.auth())
        .await
        .expect(200);
    // Posting does not.
    api.post(
        &format!("/channels/{}/messages", w.general),
        w.member.auth(),
        Some(json!({"content": "can I talk?"})),
    )
    .await
    .expect_error(403, 50013);
    // Others are unaffected.
    api.send(&carol, &w.general, "I can talk").await;

    // Lifting the timeout.
    let m = api
        .patch(
            &w.g(&format!("/members/{}", w.member.id)),
            w.owner.auth(),
            Some(json!({"communication_disabled_until": null})),
        )
        .await
        .expect(200);
    assert!(
        m["communication_disabled_until"].is_null(),
        "timeout lifted: {m}"
    );
    api.send(&w.member, &w.general, "free again").await;

    // The owner can never be timed out.
    w.grant(&carol.id, "mods", perm::MODERATE_MEMBERS).await;
    api.patch(
        &w.g(&format!("/members/{}", w.owner.id)),
        carol.auth(),
        Some(json!({"communication_disabled_until": until})),
    )
    .await
    .expect_error(403, 50013);
    api.send(&w.owner, &w.general, "still the boss").await;
}

#[tokio::test]
async fn banned_user_is_removed_and_cannot_rejoin_until_unbanned() {
    let w = World::new().await;
    let api = &w.api;
    let inv = api
        .create_invite(&w.owner, &w.general, json!({"max_uses": 0, "max_age": 0}))
        .await;
    let code = str_field(&inv, "code");
    let ban_path = w.g(&format!("/bans/{}", w.member.id));

    // Ordinary members cannot ban.
    let carol = w.add_member("carol").await;
    api.put(
        &w.g(&format!("/bans/{}", carol.id)),
        w.member.auth(),
        Some(json!({})),
    )
    .await
    .expect_error(403, 50013);
    api.get(&ban_path, w.owner.auth())
        .await
        .expect_error(404, 10026);

    api.put(&ban_path, w.owner.auth(), Some(json!({})))
        .await
        .expect(204);
    api.member(&w.owner, &w.guild_id, &w.member.id)
        .await
        .expect_error(404, 10007);
    api.get(&w.g(""), w.member.auth())
        .await
        .expect_error(403, 50001);

    let bans = api.get(&w.g("/bans"), w.owner.auth()).await.expect(200);
    let bans = bans.as_array().expect("bans array");
    assert_eq!(bans.len(), 1, "{bans:?}");
    assert_eq!(bans[0]["user"]["id"], w.member.id.as_str());
    assert!(bans[0].get("reason").is_some());
    let ban = api.get(&ban_path, w.owner.auth()).await.expect(200);
    assert_eq!(ban["user"]["id"], w.member.id.as_str());

    let r = api.join(&w.member, &code).await;
    r.expect_error(403, 40007);
    assert_eq!(r.body["message"], "The user is banned from this guild.");
    api.member(&w.owner, &w.guild_id, &w.member.id)
        .await
        .expect_error(404, 10007);

    api.delete(&ban_path, w.owner.auth()).await.expect(204);
    api.get(&ban_path, w.owner.auth())
        .await
        .expect_error(404, 10026);
    api.delete(&ban_path, w.owner.auth())
        .await
        .expect_error(404, 10026);
    let bans = api.get(&w.g("/bans"), w.owner.auth()).await.expect(200);
    assert!(bans.as_array().unwrap().is_empty());

    api.join(&w.member, &code).await.expect(200);
    api.member(&w.owner, &w.guild_id, &w.member.id)
        .await
        .expect(200);
    api.send(&w.member, &w.general, "I'm back").await;
}

#[tokio::test]
async fn ban_with_delete_message_seconds_removes_recent_messages() {
    let w = World::new().await;
    let api = &w.api;
    let spam = api.send(&w.member, &w.general, "spam spam spam").await;
    let spam_id = str_field(&spam, "id");
    let keep = api
        .send(&w.owner, &w.general, "owner's message stays")
        .await;
    let keep_id = str_field(&keep, "id");

    api.put(
        &w.g(&format!("/bans/{}", w.member.id)),
        w.owner.auth(),
        Some(json!({"delete_message_seconds": 3600})),
    )
    .await
    .expect(204);

    api.get(
        &format!("/channels/{}/messages/{spam_id}", w.general),
        w.owner.auth(),
    )
    .await
    .expect_error(404, 10008);
    api.get(
        &format!("/channels/{}/messages/{keep_id}", w.general),
        w.owner.auth(),
    )
    .await
    .expect(200);
}
