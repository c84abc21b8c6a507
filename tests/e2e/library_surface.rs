//! The routes bot libraries call beyond the core: those Hearth answers
//! from what it has, and those of features it lacks, which answer as
//! Discord does when there are none (or 501 for writes), never a bare 404.

use serde_json::json;

use crate::harness::{str_field, World, UNKNOWN_ID};

#[tokio::test]
async fn routes_of_kept_data_answer_from_it() {
    let w = World::new().await;
    let api = &w.api;
    // Member search by prefix.
    let found = api
        .get(&w.g("/members/search?query=mem&limit=10"), w.owner.auth())
        .await
        .expect(200);
    let ids: Vec<String> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|m| str_field(&m["user"], "id"))
        .collect();
    assert_eq!(ids, vec![w.member.id.clone()]);
    api.get(&w.g("/members/search"), w.owner.auth())
        .await
        .expect_field_error(&["query"]);
    // One role.
    let role = api
        .create_role(&w.owner, &w.guild_id, json!({"name": "helpers"}))
        .await;
    let got = api
        .get(
            &w.g(&format!("/roles/{}", str_field(&role, "id"))),
            w.member.auth(),
        )
        .await
        .expect(200);
    assert_eq!(got["name"], "helpers");
    api.get(&w.g(&format!("/roles/{UNKNOWN_ID}")), w.member.auth())
        .await
        .expect_error(404, 10011);
    // The guild's webhooks, for those who manage them.
    api.post(
        &format!("/channels/{}/webhooks", w.general),
        w.owner.auth(),
        Some(json!({"name": "ci"})),
    )
    .await
    .expect(200);
    let hooks = api.get(&w.g("/webhooks"), w.owner.auth()).await.expect(200);
    assert_eq!(hooks.as_array().unwrap().len(), 1);
    api.get(&w.g("/webhooks"), w.member.auth())
        .await
        .expect_error(403, 50013);
    assert!(api
        .get(&w.g("/regions"), w.member.auth())
        .await
        .expect(200)
        .is_array());
}

#[tokio::test]
async fn absent_features_answer_as_empty_and_refuse_writes_by_name() {
    let w = World::new().await;
    let api = &w.api;
    let stranger = api.register("stranger").await;
    for (path, empty) in [
        (w.g("/emojis"), json!([])),
        (w.g("/stickers"), json!([])),
        (w.g("/scheduled-events"), json!([])),
        (w.g("/integrations"), json!([])),
        (
            w.g("/threads/active"),
            json!({"threads": [], "members": []}),
        ),
        (
            w.g("/widget"),
            json!({"enabled": false, "channel_id": null}),
        ),
        (format!("/channels/{}/pins", w.general), json!([])),
        (
            format!("/channels/{}/messages/pins", w.general),
            json!({"items": [], "has_more": false}),
        ),
    ] {
        assert_eq!(
            api.get(&path, w.member.auth()).await.expect(200),
            empty,
            "{path}"
        );
        // Someone outside the guild learns nothing.
        api.get(&path, stranger.auth())
            .await
            .expect_error(403, 50001);
    }
    let log = api
        .get(&w.g("/audit-logs"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(log["audit_log_entries"], json!([]));
    api.get(&w.g(&format!("/emojis/{UNKNOWN_ID}")), w.member.auth())
        .await
        .expect_error(404, 10014);
    api.get(&format!("/stickers/{UNKNOWN_ID}"), w.member.auth())
        .await
        .expect_error(404, 10060);
    // Writes say what is missing, in Discord's error shape.
    let refused = api
        .post(
            &w.g("/emojis"),
            w.owner.auth(),
            Some(json!({"name": "x", "image": "data:"})),
        )
        .await;
    let body = refused.expect_error(501, 0).clone();
    assert!(
        body["message"].as_str().unwrap().contains("custom emoji"),
        "{body}"
    );
    // Discord routes Hearth lacks say so, whatever the method.
    for (method, path) in [
        (reqwest::Method::POST, w.g("/bulk-ban")),
        (reqwest::Method::GET, w.g("/preview")),
        (reqwest::Method::GET, w.g("/roles/member-counts")),
        (reqwest::Method::GET, w.g("/prune")),
        (reqwest::Method::PATCH, "/applications/@me".to_owned()),
    ] {
        let r = api
            .request(method.clone(), &path, w.owner.auth(), Some(json!({})))
            .await;
        r.expect_error(501, 0);
    }
    // A route Discord does not have is still a plain 404.
    api.get(&w.g("/no-such-thing"), w.owner.auth())
        .await
        .expect_error(404, 0);
    // An application's entitlements and SKUs: none.
    let (app, bot) = api.create_bot(&w.owner, "shop").await;
    let app_id = str_field(&app, "id");
    assert_eq!(
        api.get(&format!("/applications/{app_id}/entitlements"), bot.auth())
            .await
            .expect(200),
        json!([])
    );
    api.get(&format!("/applications/{app_id}/skus"), w.member.auth())
        .await
        .expect_error(403, 50001);
}

#[tokio::test]
async fn channels_are_moved_in_one_request_checked_whole() {
    let w = World::new().await;
    let api = &w.api;
    let category = api
        .create_channel(
            &w.owner,
            &w.guild_id,
            json!({"name": "Projects", "type": 4}),
        )
        .await;
    let cat_id = str_field(&category, "id");
    let text = api.text_channel(&w.owner, &w.guild_id, "plans").await;
    // One bad entry refuses all: nothing moves.
    api.patch(
        &w.g("/channels"),
        w.owner.auth(),
        Some(json!([{"id": text, "position": 3}, {"id": UNKNOWN_ID, "position": 1}])),
    )
    .await
    .expect_field_error(&["1", "id"]);
    let unchanged = api
        .get(&format!("/channels/{text}"), w.owner.auth())
        .await
        .expect(200);
    assert_ne!(unchanged["position"], 3);
    api.patch(
        &w.g("/channels"),
        w.member.auth(),
        Some(json!([{"id": text, "position": 3}])),
    )
    .await
    .expect_error(403, 50013);
    api.patch(
        &w.g("/channels"),
        w.owner.auth(),
        Some(json!([{"id": text, "position": 3, "parent_id": cat_id, "lock_permissions": true}])),
    )
    .await
    .expect(204);
    let moved = api
        .get(&format!("/channels/{text}"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(moved["position"], 3);
    assert_eq!(moved["parent_id"], cat_id.as_str());
    // A category under a category is refused.
    api.patch(
        &w.g("/channels"),
        w.owner.auth(),
        Some(json!([{"id": cat_id, "parent_id": cat_id}])),
    )
    .await
    .expect_field_error(&["0", "parent_id"]);
}
