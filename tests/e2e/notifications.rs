//! Notification settings per guild and channel: changed over REST, heard
//! by the user's other sessions, carried by READY.

use serde_json::json;

use crate::gateway_client::{intents, login, EVENT_TIMEOUT};
use crate::harness::{World, UNKNOWN_ID};

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
