//! Notification settings per guild and channel: changed over REST, heard
//! by the user's other sessions, carried by READY.

use serde_json::json;

use crate::gateway_client::{intents, login, EVENT_TIMEOUT};
use crate::harness::{Api, Resp, User, World, UNKNOWN_ID};

async fn post(api: &Api, path: &str, by: &User, text: &str) -> Resp {
    api.post(path, by.auth(), Some(json!({"content": text})))
        .await
}

#[tokio::test]
async fn settings_change_what_they_name_and_reach_every_device() {
    let w = World::new().await;
    let api = &w.api;
    let path = format!("/users/@me/guilds/{}/settings", w.guild_id);
    let mut other_device = login(api, &w.member, intents::GUILDS).await;
    let ready = other_device.ready.clone().unwrap();
    assert_eq!(ready["user_guild_settings"]["entries"], json!([]));

    let saved = api
        .patch(
            &path,
            w.member.auth(),
            Some(json!({
                "message_notifications": 1,
                "channel_overrides": {
                    (w.general.as_str()): {"muted": true, "mute_config": {"end_time": null, "selected_time_window": -1}}
                }
            })),
        )
        .await
        .expect(200);
    assert_eq!(saved["guild_id"], w.guild_id.as_str());
    assert_eq!(saved["message_notifications"], 1);
    assert_eq!(saved["muted"], false);
    assert_eq!(saved["version"], 1);
    assert_eq!(
        saved["channel_overrides"][0]["channel_id"],
        w.general.as_str()
    );
    assert_eq!(saved["channel_overrides"][0]["muted"], true);
    assert_eq!(saved["channel_overrides"][0]["message_notifications"], 3);
    let heard = other_device
        .expect_dispatch("USER_GUILD_SETTINGS_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(heard, saved);

    // A later change keeps the earlier one's fields.
    let muted = api
        .patch(&path, w.member.auth(), Some(json!({"muted": true})))
        .await
        .expect(200);
    assert_eq!(muted["message_notifications"], 1);
    assert_eq!(muted["channel_overrides"][0]["muted"], true);
    let ready = login(api, &w.member, intents::GUILDS)
        .await
        .ready
        .clone()
        .unwrap();
    assert_eq!(ready["user_guild_settings"]["entries"], json!([muted]));
    // Someone else's READY has none of it.
    let ready = login(api, &w.owner, intents::GUILDS)
        .await
        .ready
        .clone()
        .unwrap();
    assert_eq!(ready["user_guild_settings"]["entries"], json!([]));

    // Refusals: a channel of no guild of this one, a bad level, a guild
    // the caller is not in, a bot.
    let bad = api
        .patch(
            &path,
            w.member.auth(),
            Some(json!({"channel_overrides": {UNKNOWN_ID: {"muted": true}}})),
        )
        .await;
    bad.expect_error(400, 50035);
    bad.expect_field_error(&["channel_overrides", UNKNOWN_ID]);
    api.patch(
        &path,
        w.member.auth(),
        Some(json!({"message_notifications": 9})),
    )
    .await
    .expect_error(400, 50035);
    let stranger = api.register("stranger").await;
    api.patch(&path, stranger.auth(), Some(json!({"muted": true})))
        .await
        .expect_error(403, 50001);
    let (_, bot) = api.create_bot(&w.owner, "helper").await;
    api.patch(&path, bot.auth(), Some(json!({"muted": true})))
        .await
        .expect_error(403, 20001);
}

#[tokio::test]
async fn a_member_who_refuses_dms_from_the_server_cannot_be_messaged_from_it() {
    let w = World::new().await;
    let api = &w.api;
    // A DM opened while it was allowed.
    let dm = api
        .post(
            "/users/@me/channels",
            w.owner.auth(),
            Some(json!({"recipient_id": w.member.id})),
        )
        .await
        .expect(200);
    let dm_id = dm["id"].as_str().unwrap().to_owned();
    let mut other_device = login(api, &w.member, intents::GUILDS).await;
    assert_eq!(
        other_device.ready.as_ref().unwrap()["user_settings"],
        json!({"restricted_guilds": [], "default_guilds_restricted": false})
    );

    let saved = api
        .patch(
            "/users/@me/settings",
            w.member.auth(),
            Some(json!({"restricted_guilds": [w.guild_id], "theme": "dark"})),
        )
        .await
        .expect(200);
    assert_eq!(
        saved,
        json!({"restricted_guilds": [w.guild_id], "default_guilds_restricted": false})
    );
    let heard = other_device
        .expect_dispatch("USER_SETTINGS_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(heard, saved);
    assert_eq!(
        api.get("/users/@me/settings", w.member.auth())
            .await
            .expect(200),
        saved
    );

    // The owner can neither open a DM with him nor write in the old one;
    // he can still write to her.
    api.post(
        "/users/@me/channels",
        w.owner.auth(),
        Some(json!({"recipient_id": w.member.id})),
    )
    .await
    .expect_error(400, 50007);
    let messages = format!("/channels/{dm_id}/messages");
    post(api, &messages, &w.owner, "are you there?")
        .await
        .expect_error(400, 50007);
    post(api, &messages, &w.member, "I am, but not for DMs")
        .await
        .expect(200);

    // Allowed again: it works again.
    api.patch(
        "/users/@me/settings",
        w.member.auth(),
        Some(json!({"restricted_guilds": []})),
    )
    .await
    .expect(200);
    post(api, &messages, &w.owner, "now?").await.expect(200);
    let too_many: Vec<String> = (0..1001).map(|i| (1_000_000 + i).to_string()).collect();
    api.patch(
        "/users/@me/settings",
        w.member.auth(),
        Some(json!({"restricted_guilds": too_many})),
    )
    .await
    .expect_error(400, 50035);
}

/// The server's default level: what members get until they choose.
#[tokio::test]
async fn the_servers_default_level_is_what_members_start_from() {
    let w = World::new().await;
    let api = &w.api;
    let mut member = login(api, &w.member, intents::GUILDS).await;
    let edited = api
        .patch(
            &w.g(""),
            w.owner.auth(),
            Some(json!({"default_message_notifications": 1})),
        )
        .await
        .expect(200);
    assert_eq!(edited["default_message_notifications"], 1);
    let update = member.expect_dispatch("GUILD_UPDATE", EVENT_TIMEOUT).await;
    assert_eq!(update.d["default_message_notifications"], 1);
    // Only 0 (all messages) and 1 (only mentions); not for members.
    api.patch(
        &w.g(""),
        w.owner.auth(),
        Some(json!({"default_message_notifications": 2})),
    )
    .await
    .expect_field_error(&["default_message_notifications"]);
    api.patch(
        &w.g(""),
        w.member.auth(),
        Some(json!({"default_message_notifications": 0})),
    )
    .await
    .expect_error(403, 50013);

    // A member who changes something else starts from the server's level.
    let saved = api
        .patch(
            &format!("/users/@me/guilds/{}/settings", w.guild_id),
            w.member.auth(),
            Some(json!({"suppress_everyone": true})),
        )
        .await
        .expect(200);
    assert_eq!(saved["message_notifications"], 1);
    let got = api.get(&w.g(""), w.member.auth()).await.expect(200);
    assert_eq!(got["default_message_notifications"], 1);
}
