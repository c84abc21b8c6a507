//! Rate limits, request validation and error codes for unknown things.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::harness::{str_field, Resp, Server, World, UNKNOWN_ID};

const RATE_HEADERS: [&str; 5] = [
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Reset-After",
    "X-RateLimit-Bucket",
];

#[track_caller]
fn rate_header_f64(r: &Resp, name: &str) -> f64 {
    let v = r
        .header(name)
        .unwrap_or_else(|| panic!("{name} missing on {} {} ({})", r.method, r.path, r.status));
    v.trim()
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("{name} is not a number: {v:?}"))
}

#[track_caller]
fn assert_rate_headers(r: &Resp) {
    for h in RATE_HEADERS {
        assert!(
            r.header(h).is_some(),
            "{h} missing on {} {} -> {}; headers: {:?}",
            r.method,
            r.path,
            r.status,
            r.headers
        );
    }
    rate_header_f64(r, "X-RateLimit-Reset");
    rate_header_f64(r, "X-RateLimit-Reset-After");
    assert!(!r.header("X-RateLimit-Bucket").unwrap().trim().is_empty());
}

#[tokio::test]
async fn sixth_quick_message_in_a_channel_is_rate_limited() {
    let w = World::on(Server::start_rate_limited().await).await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "fast").await;
    let other = api.text_channel(&w.owner, &w.guild_id, "elsewhere").await;
    let path = format!("/channels/{ch}/messages");

    let mut bucket = None;
    for i in 0..5 {
        let r = api
            .post(
                &path,
                w.member.auth(),
                Some(json!({"content": format!("quick {i}")})),
            )
            .await;
        assert_eq!(r.status.as_u16(), 200, "post {i}: {}", r.text);
        assert_rate_headers(&r);
        assert_eq!(r.header("X-RateLimit-Limit").unwrap().trim(), "5");
        assert_eq!(
            r.header("X-RateLimit-Remaining").unwrap().trim(),
            (4 - i).to_string(),
            "remaining after post {i}"
        );
        let b = r.header("X-RateLimit-Bucket").unwrap();
        if let Some(prev) = &bucket {
            assert_eq!(prev, &b, "same bucket for the same route");
        }
        bucket = Some(b);
    }

    let r = api
        .post(
            &path,
            w.member.auth(),
            Some(json!({"content": "one too many"})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 429, "sixth post: {}", r.text);
    assert_rate_headers(&r);
    assert_eq!(r.header("X-RateLimit-Remaining").unwrap().trim(), "0");
    assert!(r.body["message"].is_string(), "429 body: {}", r.text);
    let retry_after = r.body["retry_after"]
        .as_f64()
        .unwrap_or_else(|| panic!("retry_after is a number: {}", r.text));
    assert!(retry_after >= 0.0);
    assert_eq!(r.body["global"], false);
    let header_retry = r
        .header("Retry-After")
        .unwrap_or_else(|| panic!("Retry-After header on 429: {:?}", r.headers));
    header_retry
        .trim()
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("Retry-After is numeric: {header_retry:?}"));
    assert!(
        r.header("X-RateLimit-Scope").is_some(),
        "X-RateLimit-Scope on 429: {:?}",
        r.headers
    );

    // The refused message was not stored.
    let list = api
        .get(&format!("{path}?limit=100"), w.owner.auth())
        .await
        .expect(200);
    assert!(!list
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["content"] == "one too many"));

    // Another channel, and another user in the same channel, are unaffected.
    api.send(&w.member, &other, "different channel").await;
    api.send(&w.owner, &ch, "different user").await;

    // After waiting as told, posting works again (bounded retries).
    let mut wait = retry_after;
    let mut recovered = false;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs_f64(wait.clamp(0.0, 10.0) + 0.1)).await;
        let r = api
            .post(
                &path,
                w.member.auth(),
                Some(json!({"content": "after waiting"})),
            )
            .await;
        if r.status.as_u16() == 200 {
            recovered = true;
            break;
        }
        assert_eq!(r.status.as_u16(), 429, "unexpected: {}", r.text);
        wait = r.body["retry_after"].as_f64().unwrap_or(1.0);
    }
    assert!(recovered, "posting works again after retry_after");
}

#[tokio::test]
async fn malformed_json_is_rejected_with_50109() {
    let w = World::new().await;
    let api = &w.api;
    let path = format!("/channels/{}/messages", w.general);

    for body in [
        &b"{\"content\": \"hi\""[..],
        b"not json at all",
        b"{\"content\": }",
    ] {
        api.raw(
            Method::POST,
            &path,
            w.member.auth(),
            Some("application/json"),
            body.to_vec(),
        )
        .await
        .expect_error(400, 50109);
    }
    api.raw(
        Method::POST,
        "/guilds",
        w.member.auth(),
        Some("application/json"),
        b"{\"name\": \"x\",".to_vec(),
    )
    .await
    .expect_error(400, 50109);
    api.raw(
        Method::POST,
        "/auth/register",
        None,
        Some("application/json"),
        b"{{{".to_vec(),
    )
    .await
    .expect_error(400, 50109);
}

#[tokio::test]
async fn wrong_json_types_are_field_errors() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "types").await;
    let path = format!("/channels/{ch}/messages");

    api.post(&path, w.member.auth(), Some(json!({"content": 5})))
        .await
        .expect_field_error(&["content"]);
    api.post(&path, w.member.auth(), Some(json!({"content": ["a"]})))
        .await
        .expect_field_error(&["content"]);
    api.post(
        &path,
        w.member.auth(),
        Some(json!({"content": "ok", "embeds": "nope"})),
    )
    .await
    .expect_field_error(&["embeds"]);
    api.post("/guilds", w.member.auth(), Some(json!({"name": 5})))
        .await
        .expect_field_error(&["name"]);
    api.post(
        "/auth/register",
        None,
        Some(json!({"username": 12345, "password": "long-enough-pw"})),
    )
    .await
    .expect_field_error(&["username"]);
    api.patch(
        "/users/@me",
        w.member.auth(),
        Some(json!({"global_name": 7})),
    )
    .await
    .expect_field_error(&["global_name"]);

    // Nothing was posted by any of those.
    assert!(api.message_ids(&w.owner, &ch, "").await.is_empty());
}

#[tokio::test]
async fn over_long_content_is_rejected() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "long").await;
    let path = format!("/channels/{ch}/messages");
    api.post(
        &path,
        w.member.auth(),
        Some(json!({"content": "z".repeat(2001)})),
    )
    .await
    .expect_field_error(&["content"]);
    api.post(
        &path,
        w.member.auth(),
        Some(json!({"content": "z".repeat(5000)})),
    )
    .await
    .expect_field_error(&["content"]);
    assert!(api.message_ids(&w.owner, &ch, "").await.is_empty());
}

#[tokio::test]
async fn bodies_over_one_mebibyte_get_413() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "big").await;
    let path = format!("/channels/{ch}/messages");

    let mut body = b"{\"content\":\"".to_vec();
    body.extend(std::iter::repeat_n(b'a', (1 << 20) + 1024));
    body.extend_from_slice(b"\"}");
    api.raw(
        Method::POST,
        &path,
        w.member.auth(),
        Some("application/json"),
        body,
    )
    .await
    .expect_error(413, 40005);

    // The server is fine afterwards and nothing was stored.
    assert!(api.message_ids(&w.owner, &ch, "").await.is_empty());
    api.send(&w.member, &ch, "small is fine").await;
}

#[tokio::test]
async fn unknown_ids_give_specific_error_codes() {
    let w = World::new().await;
    let api = &w.api;
    let o = w.owner.auth();
    let u = UNKNOWN_ID;

    api.get(&format!("/channels/{u}"), o)
        .await
        .expect_error(404, 10003);
    api.get(&format!("/channels/{u}/messages"), o)
        .await
        .expect_error(404, 10003);
    api.post(
        &format!("/channels/{u}/messages"),
        o,
        Some(json!({"content": "hi"})),
    )
    .await
    .expect_error(404, 10003);
    api.get(&format!("/guilds/{u}"), o)
        .await
        .expect_error(404, 10004);
    api.get(&format!("/guilds/{u}/channels"), o)
        .await
        .expect_error(404, 10004);
    api.get(&format!("/channels/{}/messages/{u}", w.general), o)
        .await
        .expect_error(404, 10008);
    api.delete(&format!("/channels/{}/messages/{u}", w.general), o)
        .await
        .expect_error(404, 10008);
    api.get(&format!("/users/{u}"), o)
        .await
        .expect_error(404, 10013);
    api.get(&w.g(&format!("/members/{u}")), o)
        .await
        .expect_error(404, 10007);
    api.patch(&w.g(&format!("/roles/{u}")), o, Some(json!({"name": "x"})))
        .await
        .expect_error(404, 10011);
    api.delete(&w.g(&format!("/roles/{u}")), o)
        .await
        .expect_error(404, 10011);
    api.get(&w.g(&format!("/bans/{}", w.member.id)), o)
        .await
        .expect_error(404, 10026);
    api.get(&format!("/webhooks/{u}"), o)
        .await
        .expect_error(404, 10015);
    api.get("/invites/nosuchinvite", o)
        .await
        .expect_error(404, 10006);
}

#[tokio::test]
async fn non_numeric_ids_are_form_errors() {
    let w = World::new().await;
    let api = &w.api;
    let o = w.owner.auth();
    for path in [
        "/channels/abc".to_string(),
        "/channels/abc/messages".to_string(),
        format!("/channels/{}/messages/not-an-id", w.general),
        "/guilds/xyz".to_string(),
        "/users/12ab".to_string(),
        w.g("/members/someone"),
    ] {
        api.get(&path, o).await.expect_error(400, 50035);
    }
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let server = Server::start().await;
    let api = server.api();
    let alice = api.register("alice").await;

    let r = api.get("/this/route/does/not/exist", alice.auth()).await;
    r.expect_error(404, 0);
    assert_eq!(r.body["message"], "404: Not Found");
    api.post("/nope", alice.auth(), Some(json!({})))
        .await
        .expect_error(404, 0);

    let outside = api.raw_abs(Method::GET, "/definitely-not-here", None).await;
    assert_eq!(outside.status.as_u16(), 404, "{}", outside.text);

    // Sanity: the real routes next to them still work.
    let me = api.get("/users/@me", alice.auth()).await.expect(200);
    assert_eq!(me["id"], alice.id.as_str());
    let _ = str_field(&me, "username");
}

#[tokio::test]
async fn respelling_a_token_does_not_buy_a_fresh_rate_limit_bucket() {
    let w = World::on(Server::start_rate_limited().await).await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "spelled").await;
    let path = format!("/channels/{ch}/messages");
    let mut accepted = 0;
    let mut limited = 0;
    for i in 0..12 {
        // The same token, each time with a different amount of padding.
        let auth = format!("Bearer {}{}", " ".repeat(i), w.member.token);
        let r = api
            .post(
                &path,
                Some(&auth),
                Some(json!({"content": format!("spam {i}")})),
            )
            .await;
        match r.status.as_u16() {
            200 => accepted += 1,
            429 => limited += 1,
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!(accepted, 5, "one bucket of 5 per 5 s for this member");
    assert_eq!(limited, 7);
}

#[tokio::test]
async fn guild_limits_follow_the_operators_settings() {
    let server = Server::start_with(
        &[
            "--rate-limits",
            "off",
            "--max-webhooks-per-channel",
            "2",
            "--max-roles-per-guild",
            "3",
            "--max-channels-per-guild",
            "3",
        ],
        &[],
    )
    .await;
    let w = World::on(server).await;
    let api = &w.api;
    // A new guild has general and General: one more channel fits.
    api.text_channel(&w.owner, &w.guild_id, "third").await;
    api.post(
        &format!("/guilds/{}/channels", w.guild_id),
        w.owner.auth(),
        Some(json!({"name": "fourth"})),
    )
    .await
    .expect_error(400, 30013);
    // @everyone plus two.
    for name in ["a", "b"] {
        api.create_role(&w.owner, &w.guild_id, json!({ "name": name }))
            .await;
    }
    api.post(
        &format!("/guilds/{}/roles", w.guild_id),
        w.owner.auth(),
        Some(json!({"name": "c"})),
    )
    .await
    .expect_error(400, 30005);
    let hooks = format!("/channels/{}/webhooks", w.general);
    for name in ["one", "two"] {
        api.post(&hooks, w.owner.auth(), Some(json!({ "name": name })))
            .await
            .expect(200);
    }
    api.post(&hooks, w.owner.auth(), Some(json!({"name": "three"})))
        .await
        .expect_error(400, 30007);
}
