//! Incoming webhooks.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{perm, str_field, Api, User, World};

async fn create_webhook(api: &Api, by: &User, channel: &str, name: &str) -> Value {
    api.post(
        &format!("/channels/{channel}/webhooks"),
        by.auth(),
        Some(json!({"name": name})),
    )
    .await
    .expect(200)
}

/// Polls the channel (bounded) for a message with this content.
async fn find_message(api: &Api, by: &User, channel: &str, content: &str) -> Option<Value> {
    for _ in 0..50 {
        let list = api
            .get(
                &format!("/channels/{channel}/messages?limit=100"),
                by.auth(),
            )
            .await
            .expect(200);
        if let Some(m) = list
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["content"] == content)
        {
            return Some(m.clone());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test]
async fn executing_a_webhook_posts_a_message_in_its_channel() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "alerts").await;

    let hook = create_webhook(api, &w.owner, &ch, "Announcer").await;
    let hook_id = str_field(&hook, "id");
    let token = str_field(&hook, "token");
    // Discord's shape, which URL-checking webhook clients expect.
    assert_eq!(token.len(), 68, "{token}");
    assert!(token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_eq!(hook["type"], 1);
    assert_eq!(hook["name"], "Announcer");
    assert_eq!(hook["channel_id"], ch.as_str());
    assert_eq!(hook["guild_id"], w.guild_id.as_str());
    assert_eq!(hook["user"]["id"], w.owner.id.as_str());

    // No Authorization header: the URL token is the credential.
    let r = api
        .post(
            &format!("/webhooks/{hook_id}/{token}"),
            None,
            Some(json!({"content": "deploy finished"})),
        )
        .await;
    r.expect(204);

    let m = find_message(api, &w.member, &ch, "deploy finished")
        .await
        .expect("webhook message appears in the channel");
    assert_eq!(m["author"]["username"], "Announcer");
    assert_eq!(m["author"]["id"], hook_id.as_str());
    assert_eq!(m["webhook_id"], hook_id.as_str());
    assert_eq!(m["channel_id"], ch.as_str());
}

#[tokio::test]
async fn executing_with_wait_returns_the_message_and_honours_username_override() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "ci").await;
    let hook = create_webhook(api, &w.owner, &ch, "CI Bot").await;
    let hook_id = str_field(&hook, "id");
    let token = str_field(&hook, "token");

    let m = api
        .post(
            &format!("/webhooks/{hook_id}/{token}?wait=true"),
            None,
            Some(json!({
                "content": "build #42 passed",
                "username": "Release Train",
                "embeds": [{"title": "Build 42", "description": "all green", "color": 65280}]
            })),
        )
        .await
        .expect(200);
    let mid = str_field(&m, "id");
    assert_eq!(m["content"], "build #42 passed");
    assert_eq!(m["author"]["username"], "Release Train");
    assert_eq!(m["author"]["id"], hook_id.as_str());
    assert_eq!(m["webhook_id"], hook_id.as_str());
    assert_eq!(m["channel_id"], ch.as_str());
    assert_eq!(m["embeds"][0]["title"], "Build 42");

    let got = api
        .get(&format!("/channels/{ch}/messages/{mid}"), w.member.auth())
        .await
        .expect(200);
    assert_eq!(got["author"]["username"], "Release Train");
    assert_eq!(got["webhook_id"], hook_id.as_str());

    // Without an override, the webhook's own name is used.
    let m = api
        .post(
            &format!("/webhooks/{hook_id}/{token}?wait=true"),
            None,
            Some(json!({"content": "plain"})),
        )
        .await
        .expect(200);
    assert_eq!(m["author"]["username"], "CI Bot");

    // Empty webhook messages are rejected like any other.
    api.post(
        &format!("/webhooks/{hook_id}/{token}?wait=true"),
        None,
        Some(json!({})),
    )
    .await
    .expect_error(400, 50006);
}

#[tokio::test]
async fn a_wrong_webhook_token_is_refused() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "hooks").await;
    let hook = create_webhook(api, &w.owner, &ch, "Guarded").await;
    let hook_id = str_field(&hook, "id");

    api.post(
        &format!("/webhooks/{hook_id}/not-the-token"),
        None,
        Some(json!({"content": "forged"})),
    )
    .await
    .expect_error(401, 50027);
    api.post(
        &format!("/webhooks/{hook_id}/not-the-token?wait=true"),
        None,
        Some(json!({"content": "forged"})),
    )
    .await
    .expect_error(401, 50027);

    let list = api
        .get(&format!("/channels/{ch}/messages"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(list, json!([]), "nothing was posted");
}

#[tokio::test]
async fn webhooks_can_be_listed_fetched_and_deleted() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "hooks").await;

    // MANAGE_WEBHOOKS is needed.
    api.post(
        &format!("/channels/{ch}/webhooks"),
        w.member.auth(),
        Some(json!({"name": "Nope"})),
    )
    .await
    .expect_error(403, 50013);

    let a = create_webhook(api, &w.owner, &ch, "First").await;
    let b = create_webhook(api, &w.owner, &ch, "Second").await;
    let (a_id, b_id) = (str_field(&a, "id"), str_field(&b, "id"));
    let b_token = str_field(&b, "token");

    let list = api
        .get(&format!("/channels/{ch}/webhooks"), w.owner.auth())
        .await
        .expect(200);
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|h| str_field(h, "name"))
        .collect();
    names.sort();
    assert_eq!(names, vec!["First".to_string(), "Second".to_string()]);

    let got = api
        .get(&format!("/webhooks/{a_id}"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(got["name"], "First");
    assert_eq!(got["channel_id"], ch.as_str());

    // A member granted MANAGE_WEBHOOKS can manage them too.
    w.grant(&w.member.id, "hook-admins", perm::MANAGE_WEBHOOKS)
        .await;
    api.get(&format!("/channels/{ch}/webhooks"), w.member.auth())
        .await
        .expect(200);

    api.delete(&format!("/webhooks/{b_id}"), w.member.auth())
        .await
        .expect(204);
    api.get(&format!("/webhooks/{b_id}"), w.owner.auth())
        .await
        .expect_error(404, 10015);
    api.post(
        &format!("/webhooks/{b_id}/{b_token}"),
        None,
        Some(json!({"content": "from beyond"})),
    )
    .await
    .expect_error(404, 10015);

    let list = api
        .get(&format!("/channels/{ch}/webhooks"), w.owner.auth())
        .await
        .expect(200);
    let ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|h| str_field(h, "id"))
        .collect();
    assert_eq!(ids, vec![a_id]);
}

#[tokio::test]
async fn a_webhooks_allowed_mentions_decide_which_mentions_count() {
    let w = World::new().await;
    let api = &w.api;
    let hook = create_webhook(api, &w.owner, &w.general, "Pager").await;
    let url = format!(
        "/webhooks/{}/{}?wait=true",
        str_field(&hook, "id"),
        str_field(&hook, "token")
    );
    let content = format!("<@{}> <@{}> @everyone", w.member.id, w.owner.id);
    let m = api
        .post(
            &url,
            None,
            Some(json!({"content": content, "allowed_mentions": {"users": [w.owner.id]}})),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(m["mentions"].as_array().unwrap().len(), 1, "{m}");
    assert_eq!(m["mentions"][0]["id"], w.owner.id.as_str());
    assert_eq!(m["mention_everyone"], false);
    // Without it, every mention counts (a webhook may mention everyone).
    let m = api
        .post(&url, None, Some(json!({"content": content})))
        .await
        .expect(200)
        .clone();
    assert_eq!(m["mentions"].as_array().unwrap().len(), 2);
    assert_eq!(m["mention_everyone"], true);
    api.post(
        &url,
        None,
        Some(json!({"content": "x", "allowed_mentions": {"parse": ["roles"], "roles": ["1"]}})),
    )
    .await
    .expect_field_error(&["allowed_mentions"]);
}

#[tokio::test]
async fn a_webhook_reads_edits_and_deletes_its_own_messages() {
    let w = World::new().await;
    let api = &w.api;
    let hook = create_webhook(api, &w.owner, &w.general, "Status").await;
    let base = format!(
        "/webhooks/{}/{}",
        str_field(&hook, "id"),
        str_field(&hook, "token")
    );
    let sent = api
        .post(
            &format!("{base}?wait=true"),
            None,
            Some(json!({"content": "deploying"})),
        )
        .await
        .expect(200);
    let own = format!("{base}/messages/{}", str_field(&sent, "id"));
    assert_eq!(
        api.get(&own, None).await.expect(200)["content"],
        "deploying"
    );
    let edited = api
        .patch(&own, None, Some(json!({"content": "deployed"})))
        .await
        .expect(200);
    assert_eq!(edited["content"], "deployed");
    assert!(edited["edited_timestamp"].is_string());
    // Components are for applications' webhooks.
    api.patch(
        &own,
        None,
        Some(json!({"components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "x", "custom_id": "x"}]}]})),
    )
    .await
    .expect_field_error(&["components"]);
    // Another's message, or a wrong token, is not its to touch.
    let other = api.send(&w.owner, &w.general, "mine").await;
    api.get(
        &format!("{base}/messages/{}", str_field(&other, "id")),
        None,
    )
    .await
    .expect_error(404, 10008);
    api.get(
        &format!(
            "/webhooks/{}/wrong/messages/{}",
            str_field(&hook, "id"),
            str_field(&sent, "id")
        ),
        None,
    )
    .await
    .expect_error(401, 50027);
    api.delete(&own, None).await.expect(204);
    api.get(&own, None).await.expect_error(404, 10008);
}
