//! Sending, reading, paginating, editing and deleting messages.

use serde_json::{json, Value};

use crate::harness::{perm, snowflake, str_field, World, UNKNOWN_ID};

fn msgs(channel: &str) -> String {
    format!("/channels/{channel}/messages")
}

fn full_embed(i: usize) -> Value {
    json!({
        "title": format!("Embed {i}"),
        "description": "A description",
        "url": "https://example.invalid/page",
        "color": 0x00ff00,
        "fields": [
            {"name": "Field A", "value": "value a", "inline": true},
            {"name": "Field B", "value": "value b"}
        ],
        "author": {"name": "Author Name"},
        "footer": {"text": "Footer text"}
    })
}

#[tokio::test]
async fn sent_message_can_be_fetched_back() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "chat").await;

    let m = api
        .post(
            &msgs(&ch),
            w.member.auth(),
            Some(json!({"content": "hello, hearth", "nonce": "abc123"})),
        )
        .await
        .expect(200);
    let id = str_field(&m, "id");
    snowflake(&id);
    assert_eq!(m["channel_id"], ch.as_str());
    assert_eq!(m["guild_id"], w.guild_id.as_str());
    assert_eq!(m["author"]["id"], w.member.id.as_str());
    assert_eq!(m["author"]["username"], "member");
    assert_eq!(m["content"], "hello, hearth");
    assert_eq!(m["type"], 0);
    assert_eq!(m["tts"], false);
    assert_eq!(m["pinned"], false);
    assert_eq!(m["mention_everyone"], false);
    assert_eq!(m["mentions"], json!([]));
    assert_eq!(m["mention_roles"], json!([]));
    assert_eq!(m["attachments"], json!([]));
    assert_eq!(m["embeds"], json!([]));
    assert!(m["timestamp"].is_string());
    assert!(m["edited_timestamp"].is_null());
    assert_eq!(m["nonce"], "abc123");

    let got = api
        .get(&format!("{}/{id}", msgs(&ch)), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(got["id"], id.as_str());
    assert_eq!(got["content"], "hello, hearth");
    assert_eq!(got["author"]["id"], w.member.id.as_str());
    assert_eq!(got["timestamp"], m["timestamp"]);

    let list = api.message_ids(&w.owner, &ch, "").await;
    assert_eq!(list, vec![id]);

    api.get(&format!("{}/{UNKNOWN_ID}", msgs(&ch)), w.owner.auth())
        .await
        .expect_error(404, 10008);
    api.post(&format!("/channels/{ch}/typing"), w.member.auth(), None)
        .await
        .expect(204);
}

#[tokio::test]
async fn content_longer_than_2000_characters_is_rejected() {
    let w = World::new().await;
    let api = &w.api;

    let ok = api.send(&w.member, &w.general, &"a".repeat(2000)).await;
    assert_eq!(ok["content"].as_str().unwrap().chars().count(), 2000);
    // The limit counts characters, not bytes.
    let wide = api.send(&w.member, &w.general, &"é".repeat(2000)).await;
    assert_eq!(wide["content"].as_str().unwrap().chars().count(), 2000);

    let r = api
        .post(
            &msgs(&w.general),
            w.member.auth(),
            Some(json!({"content": "a".repeat(2001)})),
        )
        .await;
    let node = r.expect_field_error(&["content"]);
    assert_eq!(
        node["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH",
        "error detail: {}",
        r.text
    );
    assert!(node["_errors"][0]["message"].is_string());
}

#[tokio::test]
async fn empty_messages_are_rejected() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "empty").await;

    for body in [
        json!({}),
        json!({"content": ""}),
        json!({"content": "", "embeds": []}),
        json!({"nonce": "only-a-nonce"}),
    ] {
        api.post(&msgs(&ch), w.member.auth(), Some(body))
            .await
            .expect_error(400, 50006);
    }
    assert!(api.message_ids(&w.owner, &ch, "").await.is_empty());
}

#[tokio::test]
async fn up_to_ten_embeds_are_accepted_and_eleven_rejected() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "embeds").await;

    // An embed alone (no content) is a valid message.
    let one = api
        .post(
            &msgs(&ch),
            w.member.auth(),
            Some(json!({"embeds": [full_embed(0)]})),
        )
        .await
        .expect(200);
    let e = &one["embeds"][0];
    assert_eq!(e["title"], "Embed 0");
    assert_eq!(e["description"], "A description");
    assert_eq!(e["url"], "https://example.invalid/page");
    assert_eq!(e["color"], 0x00ff00);
    assert_eq!(e["fields"][0]["name"], "Field A");
    assert_eq!(e["fields"][0]["value"], "value a");
    assert_eq!(e["fields"][0]["inline"], true);
    assert_eq!(e["fields"][1]["name"], "Field B");
    assert_eq!(e["author"]["name"], "Author Name");
    assert_eq!(e["footer"]["text"], "Footer text");
    let fetched = api
        .get(
            &format!("{}/{}", msgs(&ch), str_field(&one, "id")),
            w.owner.auth(),
        )
        .await
        .expect(200);
    assert_eq!(fetched["embeds"][0]["title"], "Embed 0");

    let ten: Vec<Value> = (0..10).map(full_embed).collect();
    let m = api
        .post(
            &msgs(&ch),
            w.member.auth(),
            Some(json!({"content": "ten", "embeds": ten})),
        )
        .await
        .expect(200);
    assert_eq!(m["embeds"].as_array().unwrap().len(), 10);
    assert_eq!(m["embeds"][9]["title"], "Embed 9");

    let eleven: Vec<Value> = (0..11).map(full_embed).collect();
    api.post(
        &msgs(&ch),
        w.member.auth(),
        Some(json!({"content": "eleven", "embeds": eleven})),
    )
    .await
    .expect_field_error(&["embeds"]);
    assert_eq!(api.message_ids(&w.owner, &ch, "").await.len(), 2);
}

#[tokio::test]
async fn mentions_are_parsed_from_content() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "mentions").await;
    let role = api
        .create_role(
            &w.owner,
            &w.guild_id,
            json!({"name": "pingable", "mentionable": true}),
        )
        .await;
    let role_id = str_field(&role, "id");

    let m = api
        .send(
            &w.owner,
            &ch,
            &format!("hey <@{}> and <@&{role_id}>, also @everyone", w.member.id),
        )
        .await;
    let mentioned: Vec<String> = m["mentions"]
        .as_array()
        .expect("mentions array")
        .iter()
        .map(|u| str_field(u, "id"))
        .collect();
    assert_eq!(mentioned, vec![w.member.id.clone()]);
    assert_eq!(m["mentions"][0]["username"], "member");
    assert_eq!(m["mention_roles"], json!([role_id]));
    assert_eq!(m["mention_everyone"], true, "owner may mention everyone");

    let m = api
        .send(&w.member, &ch, &format!("thanks <@{}>", w.owner.id))
        .await;
    assert_eq!(m["mentions"][0]["id"], w.owner.id.as_str());
    assert_eq!(m["mention_everyone"], false);

    // Plain text is not a mention.
    let m = api.send(&w.member, &ch, "no mentions here").await;
    assert_eq!(m["mentions"], json!([]));
    assert_eq!(m["mention_roles"], json!([]));
    assert_eq!(m["mention_everyone"], false);

    // Without MENTION_EVERYONE, @everyone does not ping.
    api.set_overwrite(&w.owner, &ch, &w.guild_id, 0, 0, perm::MENTION_EVERYONE)
        .await;
    let m = api.send(&w.member, &ch, "@everyone look!").await;
    assert_eq!(m["mention_everyone"], false);
    assert_eq!(m["content"], "@everyone look!");
}

#[tokio::test]
async fn replies_have_type_19_and_carry_the_referenced_message() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "replies").await;
    let original = api.send(&w.owner, &ch, "what's for dinner?").await;
    let oid = str_field(&original, "id");

    let reply = api
        .post(
            &msgs(&ch),
            w.member.auth(),
            Some(json!({"content": "soup", "message_reference": {"message_id": oid}})),
        )
        .await
        .expect(200);
    assert_eq!(reply["type"], 19);
    assert_eq!(reply["content"], "soup");
    assert_eq!(reply["message_reference"]["message_id"], oid.as_str());
    assert_eq!(reply["referenced_message"]["id"], oid.as_str());
    assert_eq!(reply["referenced_message"]["content"], "what's for dinner?");
    assert_eq!(
        reply["referenced_message"]["author"]["id"],
        w.owner.id.as_str()
    );

    let got = api
        .get(
            &format!("{}/{}", msgs(&ch), str_field(&reply, "id")),
            w.owner.auth(),
        )
        .await
        .expect(200);
    assert_eq!(got["type"], 19);
    assert_eq!(got["message_reference"]["message_id"], oid.as_str());
    assert_eq!(got["referenced_message"]["id"], oid.as_str());

    // The original itself is an ordinary message.
    let orig = api
        .get(&format!("{}/{oid}", msgs(&ch)), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(orig["type"], 0);
}

// ---------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------

const SEEDED: usize = 30;

/// Seeds `SEEDED` messages in a fresh channel; ids oldest first.
async fn seeded(w: &World) -> (String, Vec<String>) {
    let ch = w.api.text_channel(&w.owner, &w.guild_id, "history").await;
    let ids = w.api.seed(&w.member, &ch, "m", SEEDED).await;
    for pair in ids.windows(2) {
        assert!(
            snowflake(&pair[0]) < snowflake(&pair[1]),
            "later messages have larger ids: {pair:?}"
        );
    }
    (ch, ids)
}

fn pick(ids: &[String], idx: &[usize]) -> Vec<String> {
    idx.iter().map(|&i| ids[i].clone()).collect()
}

/// The `limit` newest messages older than ids[x], newest first.
fn model_before(ids: &[String], x: usize, limit: usize) -> Vec<String> {
    ids[..x].iter().rev().take(limit).cloned().collect()
}

/// The `limit` oldest messages newer than ids[x], newest first.
fn model_after(ids: &[String], x: usize, limit: usize) -> Vec<String> {
    let mut v: Vec<String> = ids[x + 1..].iter().take(limit).cloned().collect();
    v.reverse();
    v
}

/// limit/2 closest newer messages plus limit - limit/2 at or older than
/// ids[x], newest first.
fn model_around(ids: &[String], x: usize, limit: usize) -> Vec<String> {
    let newer: Vec<String> = ids[x + 1..].iter().take(limit / 2).cloned().collect();
    let older: Vec<String> = ids[..=x]
        .iter()
        .rev()
        .take(limit - limit / 2)
        .cloned()
        .collect();
    newer.into_iter().rev().chain(older).collect()
}

#[tokio::test]
async fn history_lists_newest_first_with_default_and_explicit_limits() {
    let w = World::new().await;
    let (ch, ids) = seeded(&w).await;
    let api = &w.api;
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

    assert_eq!(api.message_ids(&w.owner, &ch, "").await, newest_first);
    assert_eq!(
        api.message_ids(&w.owner, &ch, "?limit=100").await,
        newest_first
    );
    assert_eq!(
        api.message_ids(&w.owner, &ch, "?limit=1").await,
        pick(&ids, &[29])
    );
    assert_eq!(
        api.message_ids(&w.owner, &ch, "?limit=5").await,
        pick(&ids, &[29, 28, 27, 26, 25])
    );

    let full = api.get(&msgs(&ch), w.owner.auth()).await.expect(200);
    let contents: Vec<&str> = full
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents.first(), Some(&"m29"));
    assert_eq!(contents.last(), Some(&"m0"));

    // Paging backwards with `before` visits every message exactly once.
    let mut walked: Vec<String> = Vec::new();
    let mut query = "?limit=7".to_string();
    for _ in 0..20 {
        let page = api.message_ids(&w.owner, &ch, &query).await;
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        query = format!("?limit=7&before={}", page.last().unwrap());
        walked.extend(page);
    }
    assert_eq!(walked, newest_first);

    // Paging forwards with `after` visits every message exactly once too.
    let mut forward: Vec<String> = Vec::new();
    let mut cursor = ids[0].clone();
    forward.push(cursor.clone());
    for _ in 0..20 {
        let page = api
            .message_ids(&w.owner, &ch, &format!("?limit=4&after={cursor}"))
            .await;
        if page.is_empty() {
            break;
        }
        // Newest first within the page, so the next cursor is the first id.
        cursor = page.first().unwrap().clone();
        forward.extend(page.into_iter().rev());
    }
    assert_eq!(forward, ids);
}

#[tokio::test]
async fn history_before_returns_exactly_the_older_messages() {
    let w = World::new().await;
    let (ch, ids) = seeded(&w).await;
    let api = &w.api;
    let q = |x: usize, limit: usize| format!("?before={}&limit={limit}", ids[x]);

    assert_eq!(
        api.message_ids(&w.owner, &ch, &q(20, 5)).await,
        pick(&ids, &[19, 18, 17, 16, 15])
    );
    assert_eq!(
        api.message_ids(&w.owner, &ch, &q(3, 10)).await,
        pick(&ids, &[2, 1, 0])
    );
    assert!(api.message_ids(&w.owner, &ch, &q(0, 50)).await.is_empty());
    assert_eq!(
        api.message_ids(&w.owner, &ch, &format!("?before={}", ids[29]))
            .await,
        model_before(&ids, 29, 50),
        "default limit 50 with before"
    );

    for x in [0, 1, 10, 15, 28, 29] {
        for limit in [1, 2, 3, 5, 10, 29, 30, 100] {
            assert_eq!(
                api.message_ids(&w.owner, &ch, &q(x, limit)).await,
                model_before(&ids, x, limit),
                "before=ids[{x}] limit={limit}"
            );
        }
    }
}

#[tokio::test]
async fn history_after_returns_exactly_the_newer_messages() {
    let w = World::new().await;
    let (ch, ids) = seeded(&w).await;
    let api = &w.api;
    let q = |x: usize, limit: usize| format!("?after={}&limit={limit}", ids[x]);

    assert_eq!(
        api.message_ids(&w.owner, &ch, &q(10, 5)).await,
        pick(&ids, &[15, 14, 13, 12, 11])
    );
    assert_eq!(
        api.message_ids(&w.owner, &ch, &q(27, 5)).await,
        pick(&ids, &[29, 28])
    );
    assert!(api.message_ids(&w.owner, &ch, &q(29, 50)).await.is_empty());

    for x in [0, 1, 10, 15, 28, 29] {
        for limit in [1, 2, 3, 5, 10, 29, 30, 100] {
            assert_eq!(
                api.message_ids(&w.owner, &ch, &q(x, limit)).await,
                model_after(&ids, x, limit),
                "after=ids[{x}] limit={limit}"
            );
        }
    }
}

#[tokio::test]
async fn history_around_returns_the_neighbourhood_of_a_message() {
    let w = World::new().await;
    let (ch, ids) = seeded(&w).await;
    let api = &w.api;
    let q = |x: usize, limit: usize| format!("?around={}&limit={limit}", ids[x]);

    // 2 newer + 3 at-or-older.
    assert_eq!(
        api.message_ids(&w.owner, &ch, &q(15, 5)).await,
        pick(&ids, &[17, 16, 15, 14, 13])
    );
    assert_eq!(
        api.message_ids(&w.owner, &ch, &q(15, 4)).await,
        pick(&ids, &[17, 16, 15, 14])
    );
    assert_eq!(
        api.message_ids(&w.owner, &ch, &q(15, 1)).await,
        pick(&ids, &[15])
    );
    // Near the newest end there are fewer newer messages.
    assert_eq!(
        api.message_ids(&w.owner, &ch, &q(28, 10)).await,
        pick(&ids, &[29, 28, 27, 26, 25, 24])
    );
    // Near the oldest end there are fewer older messages.
    assert_eq!(
        api.message_ids(&w.owner, &ch, &q(1, 6)).await,
        pick(&ids, &[4, 3, 2, 1, 0])
    );

    for x in [0, 1, 10, 15, 28, 29] {
        for limit in [1, 2, 3, 5, 10, 29, 30, 100] {
            assert_eq!(
                api.message_ids(&w.owner, &ch, &q(x, limit)).await,
                model_around(&ids, x, limit),
                "around=ids[{x}] limit={limit}"
            );
        }
    }
}

#[tokio::test]
async fn history_rejects_bad_limits_and_conflicting_cursors() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "params").await;
    let ids = api.seed(&w.member, &ch, "p", 3).await;
    let (a, b) = (&ids[0], &ids[2]);

    for q in [
        "?limit=0".to_string(),
        "?limit=101".to_string(),
        format!("?before={b}&after={a}"),
        format!("?before={b}&around={a}"),
        format!("?after={a}&around={b}"),
        format!("?before={b}&after={a}&around={a}"),
    ] {
        api.get(&format!("{}{q}", msgs(&ch)), w.owner.auth())
            .await
            .expect_error(400, 50035);
    }
    assert_eq!(api.message_ids(&w.owner, &ch, "?limit=100").await.len(), 3);
}

#[tokio::test]
async fn without_read_message_history_the_list_is_empty() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "ephemeral").await;
    api.seed(&w.owner, &ch, "old", 3).await;

    api.set_overwrite(
        &w.owner,
        &ch,
        &w.member.id,
        1,
        0,
        perm::READ_MESSAGE_HISTORY,
    )
    .await;
    let list = api.get(&msgs(&ch), w.member.auth()).await.expect(200);
    assert_eq!(list, json!([]));
    // They can still see the channel and post into it.
    api.get(&format!("/channels/{ch}"), w.member.auth())
        .await
        .expect(200);
    api.send(&w.member, &ch, "I can't scroll back").await;
    assert_eq!(api.message_ids(&w.owner, &ch, "").await.len(), 4);
}

// ---------------------------------------------------------------------------
// Edit / delete
// ---------------------------------------------------------------------------

#[tokio::test]
async fn only_the_author_can_edit_a_message() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "edits").await;
    let m = api.send(&w.member, &ch, "frist post").await;
    let path = format!("{}/{}", msgs(&ch), str_field(&m, "id"));

    let edited = api
        .patch(
            &path,
            w.member.auth(),
            Some(json!({"content": "first post"})),
        )
        .await
        .expect(200);
    assert_eq!(edited["content"], "first post");
    assert!(edited["edited_timestamp"].is_string(), "edited: {edited}");
    assert_eq!(edited["id"], m["id"]);
    assert_eq!(edited["timestamp"], m["timestamp"]);

    let got = api.get(&path, w.owner.auth()).await.expect(200);
    assert_eq!(got["content"], "first post");
    assert!(got["edited_timestamp"].is_string());

    let with_embed = api
        .patch(
            &path,
            w.member.auth(),
            Some(json!({"embeds": [full_embed(1)]})),
        )
        .await
        .expect(200);
    assert_eq!(with_embed["embeds"][0]["title"], "Embed 1");
    assert_eq!(with_embed["content"], "first post");

    // Nobody else may edit it, not even the guild owner.
    api.patch(
        &path,
        w.owner.auth(),
        Some(json!({"content": "owner was here"})),
    )
    .await
    .expect_error(403, 50005);
    api.patch(
        &path,
        w.member.auth(),
        Some(json!({"content": "x".repeat(2001)})),
    )
    .await
    .expect_field_error(&["content"]);
    let got = api.get(&path, w.owner.auth()).await.expect(200);
    assert_eq!(got["content"], "first post");

    api.patch(
        &format!("{}/{UNKNOWN_ID}", msgs(&ch)),
        w.member.auth(),
        Some(json!({"content": "?"})),
    )
    .await
    .expect_error(404, 10008);
}

#[tokio::test]
async fn authors_and_moderators_can_delete_messages() {
    let w = World::new().await;
    let api = &w.api;
    let carol = w.add_member("carol").await;
    let ch = api.text_channel(&w.owner, &w.guild_id, "deletes").await;
    let own = api.send(&w.member, &ch, "oops").await;
    let others = api.send(&carol, &ch, "carol's words").await;
    let owners = api.send(&w.owner, &ch, "owner's words").await;
    let path = |m: &Value| format!("{}/{}", msgs(&ch), str_field(m, "id"));

    // Authors delete their own.
    api.delete(&path(&own), w.member.auth()).await.expect(204);
    api.get(&path(&own), w.owner.auth())
        .await
        .expect_error(404, 10008);
    api.delete(&path(&own), w.member.auth())
        .await
        .expect_error(404, 10008);

    // Not someone else's without MANAGE_MESSAGES.
    api.delete(&path(&others), w.member.auth())
        .await
        .expect_error(403, 50013);
    api.delete(&path(&owners), w.member.auth())
        .await
        .expect_error(403, 50013);
    api.get(&path(&others), w.owner.auth()).await.expect(200);

    // The owner (and anyone with MANAGE_MESSAGES) can.
    api.delete(&path(&others), w.owner.auth()).await.expect(204);
    w.grant(&w.member.id, "janitors", perm::MANAGE_MESSAGES)
        .await;
    api.delete(&path(&owners), w.member.auth())
        .await
        .expect(204);

    assert!(api.message_ids(&w.owner, &ch, "").await.is_empty());
}

#[tokio::test]
async fn bulk_delete_removes_exactly_the_listed_messages() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api.text_channel(&w.owner, &w.guild_id, "bulk").await;
    let ids = api.seed(&w.member, &ch, "b", 6).await;
    let bulk = format!("{}/bulk-delete", msgs(&ch));

    // Needs MANAGE_MESSAGES, even for one's own messages.
    api.post(
        &bulk,
        w.member.auth(),
        Some(json!({"messages": [ids[0], ids[1]]})),
    )
    .await
    .expect_error(403, 50013);

    // Between 2 and 100 ids.
    api.post(&bulk, w.owner.auth(), Some(json!({"messages": [ids[0]]})))
        .await
        .expect_error(400, 50035);
    api.post(&bulk, w.owner.auth(), Some(json!({"messages": []})))
        .await
        .expect_error(400, 50035);
    let too_many: Vec<String> = (0..101u64)
        .map(|i| (snowflake(&ids[0]) + 1_000_000 + i).to_string())
        .collect();
    api.post(&bulk, w.owner.auth(), Some(json!({"messages": too_many})))
        .await
        .expect_error(400, 50035);
    assert_eq!(api.message_ids(&w.owner, &ch, "").await.len(), 6);

    api.post(
        &bulk,
        w.owner.auth(),
        Some(json!({"messages": [ids[1], ids[3], ids[4]]})),
    )
    .await
    .expect(204);
    assert_eq!(
        api.message_ids(&w.owner, &ch, "").await,
        pick(&ids, &[5, 2, 0])
    );
    api.get(&format!("{}/{}", msgs(&ch), ids[3]), w.owner.auth())
        .await
        .expect_error(404, 10008);
}

#[tokio::test]
async fn replies_carry_the_original_in_the_first_page_too() {
    let w = World::new().await;
    let api = &w.api;
    let original = api.send(&w.owner, &w.general, "the original").await;
    let reply = api
        .post(
            &msgs(&w.general),
            w.member.auth(),
            Some(
                json!({"content": "a reply", "message_reference": {"message_id": original["id"]}}),
            ),
        )
        .await
        .expect(200);
    assert_eq!(reply["referenced_message"]["content"], "the original");
    // The newest page is served from the recent-messages cache.
    for _ in 0..2 {
        let page = api
            .get(&format!("{}?limit=5", msgs(&w.general)), w.owner.auth())
            .await
            .expect(200);
        assert_eq!(page[0]["id"], reply["id"]);
        assert_eq!(
            page[0]["referenced_message"]["content"], "the original",
            "{page}"
        );
        assert_eq!(
            page[0]["timestamp"], reply["timestamp"],
            "a message's time is its id's time"
        );
    }
}

#[tokio::test]
async fn slow_mode_limits_members_but_not_moderators() {
    let w = World::new().await;
    let api = &w.api;
    let ch = api
        .create_channel(
            &w.owner,
            &w.guild_id,
            json!({"name": "slow", "type": 0, "rate_limit_per_user": 30}),
        )
        .await;
    let ch = str_field(&ch, "id");
    api.post(
        &msgs(&ch),
        w.member.auth(),
        Some(json!({"content": "first"})),
    )
    .await
    .expect(200);
    let second = api
        .post(
            &msgs(&ch),
            w.member.auth(),
            Some(json!({"content": "second"})),
        )
        .await;
    second.expect_error(429, 20016);
    assert!(second.body["retry_after"].as_f64().unwrap() > 0.0);
    // The owner holds MANAGE_MESSAGES and is exempt.
    for text in ["a", "b"] {
        api.post(&msgs(&ch), w.owner.auth(), Some(json!({"content": text})))
            .await
            .expect(200);
    }
    let page = api.get(&msgs(&ch), w.owner.auth()).await.expect(200);
    assert!(!page
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["content"] == "second"));
}

#[tokio::test]
async fn type_errors_inside_arrays_are_nested_like_length_errors() {
    let w = World::new().await;
    let r = w
        .api
        .post(
            &msgs(&w.general),
            w.owner.auth(),
            Some(json!({"embeds": [{"title": 5}]})),
        )
        .await;
    r.expect_field_error(&["embeds", "0", "title"]);
}

#[tokio::test]
async fn hostile_text_is_refused_and_a_repeated_nonce_gets_the_first_message() {
    let w = World::new().await;
    let api = &w.api;
    let path = format!("/channels/{}/messages", w.general);

    // Names that disguise themselves, and links that run code.
    let r = api
        .patch(
            &w.g(""),
            w.owner.auth(),
            Some(json!({"name": "evil\u{202E}txt.exe"})),
        )
        .await;
    r.expect_field_error(&["name"]);
    let r = api
        .post(
            &format!("/guilds/{}/channels", w.guild_id),
            w.owner.auth(),
            Some(json!({"name": "nul\u{0}here"})),
        )
        .await;
    r.expect_field_error(&["name"]);
    for (field, embed) in [
        ("url", json!({"title": "t", "url": "javascript:alert(1)"})),
        (
            "author",
            json!({"author": {"name": "a", "url": "javascript:alert(1)"}}),
        ),
        (
            "footer",
            json!({"footer": {"text": "f", "icon_url": "data:text/html,x"}}),
        ),
    ] {
        let r = api
            .post(&path, w.member.auth(), Some(json!({"embeds": [embed]})))
            .await;
        assert_eq!(r.status.as_u16(), 400, "{field}: {}", r.text);
        assert!(
            r.text.contains("URL_TYPE_INVALID_URL"),
            "{field}: {}",
            r.text
        );
    }

    // A retried send with enforce_nonce: the first message, not a second.
    let body = json!({"content": "once", "nonce": "retry-1", "enforce_nonce": true});
    let sends = (0..5).map(|_| api.post(&path, w.member.auth(), Some(body.clone())));
    let ids: Vec<String> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| str_field(&r.expect(200), "id"))
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let again = api
        .post(&path, w.member.auth(), Some(body))
        .await
        .expect(200);
    assert_eq!(str_field(&again, "id"), ids[0]);
    // Without enforce_nonce, the same nonce makes a new message.
    let other = api
        .post(
            &path,
            w.member.auth(),
            Some(json!({"content": "twice", "nonce": "retry-1"})),
        )
        .await
        .expect(200);
    assert_ne!(str_field(&other, "id"), ids[0]);
    let listed = api.message_ids(&w.member, &w.general, "?limit=10").await;
    assert_eq!(listed.iter().filter(|id| **id == ids[0]).count(), 1);
}

#[tokio::test]
async fn allowed_mentions_decide_which_mentions_count() {
    let w = World::new().await;
    let path = format!("/channels/{}/messages", w.general);
    let post = |body: serde_json::Value| {
        let (api, path, owner) = (w.api.clone(), path.clone(), w.owner.clone());
        async move { api.post(&path, owner.auth(), Some(body)).await }
    };
    let content = format!("<@{}> <@{}> hello @everyone", w.member.id, w.owner.id);

    // Nothing parsed: the text stays, nobody is mentioned.
    let m = post(json!({"content": content, "allowed_mentions": {"parse": []}}))
        .await
        .expect(200)
        .clone();
    assert_eq!(m["content"], content.as_str());
    assert_eq!(m["mentions"], json!([]));
    assert_eq!(m["mention_everyone"], false);
    // Only the users listed.
    let m = post(json!({"content": content, "allowed_mentions": {"users": [w.member.id]}}))
        .await
        .expect(200)
        .clone();
    let ids: Vec<&str> = m["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![w.member.id.as_str()]);
    assert_eq!(m["mention_everyone"], false);
    // Everything, as without the field.
    let m = post(json!({"content": content, "allowed_mentions": {"parse": ["users", "everyone"]}}))
        .await
        .expect(200)
        .clone();
    assert_eq!(m["mentions"].as_array().unwrap().len(), 2);
    assert_eq!(m["mention_everyone"], true);

    // A reply mentions the replied-to author only when asked.
    let original = w.api.send(&w.member, &w.general, "ask me").await;
    let reply = |replied_user: bool| {
        json!({
            "content": "answered",
            "message_reference": {"message_id": original["id"]},
            "allowed_mentions": {"parse": [], "replied_user": replied_user},
        })
    };
    let m = post(reply(true)).await.expect(200).clone();
    assert_eq!(m["mentions"][0]["id"], w.member.id.as_str());
    let m = post(reply(false)).await.expect(200).clone();
    assert_eq!(m["mentions"], json!([]));

    // An edit re-reads the mentions under its own allowed_mentions.
    let edited = w
        .api
        .patch(
            &format!("{path}/{}", str_field(&m, "id")),
            w.owner.auth(),
            Some(json!({"content": content, "allowed_mentions": {"users": [w.owner.id]}})),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(edited["mentions"].as_array().unwrap().len(), 1, "{edited}");
    assert_eq!(edited["mentions"][0]["id"], w.owner.id.as_str());
    assert_eq!(edited["mention_everyone"], false);

    // Discord's refusals, and nothing stored.
    let before = w
        .api
        .get(&format!("{path}?limit=100"), w.owner.auth())
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .len();
    post(json!({"content": "x", "allowed_mentions": {"parse": ["users"], "users": [w.member.id]}}))
        .await
        .expect_field_error(&["allowed_mentions"]);
    post(json!({"content": "x", "allowed_mentions": {"parse": ["nobody"]}}))
        .await
        .expect_field_error(&["allowed_mentions", "parse", "0"]);
    let many: Vec<String> = (0..101).map(|i| format!("{}", 1000 + i)).collect();
    post(json!({"content": "x", "allowed_mentions": {"roles": many}}))
        .await
        .expect_field_error(&["allowed_mentions", "roles"]);
    let after = w
        .api
        .get(&format!("{path}?limit=100"), w.owner.auth())
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
}
