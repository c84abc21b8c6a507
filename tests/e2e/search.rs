//! Message search in a guild (`GET /guilds/{g}/messages/search`): words
//! and filters, only over what the searcher may read, with Discord's shape
//! and errors; on the embedded store and on PostgreSQL.

use serde_json::{json, Value};

use crate::harness::{perm, str_field, Server, World, UNKNOWN_ID};
use crate::postgres::TestDatabase;

fn contents(found: &Value) -> Vec<String> {
    found["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|hit| {
            let hit = hit.as_array().expect("each hit is a list");
            assert_eq!(hit.len(), 1, "{hit:?}");
            str_field(&hit[0], "content")
        })
        .collect()
}

async fn search_works_for_a_member(w: World) {
    let api = &w.api;
    let search = |q: &str| format!("/guilds/{}/messages/search?{q}", w.guild_id);
    // The owner's private channel, which the member cannot see.
    let staff = api.text_channel(&w.owner, &w.guild_id, "staff").await;
    api.set_overwrite(&w.owner, &staff, &w.guild_id, 0, 0, perm::VIEW_CHANNEL)
        .await;
    api.send(&w.owner, &staff, "the lunch budget is secret")
        .await;
    api.send(&w.owner, &w.general, "Lunch at noon?").await;
    let reply = api
        .send(
            &w.member,
            &w.general,
            &format!(
                "<@{}> lunch is late, see https://example.com/menu",
                w.owner.id
            ),
        )
        .await;
    api.send(&w.member, &w.general, "unrelated chatter").await;

    // Words, newest first; the hidden channel's message is not there.
    let found = api
        .get(&search("content=LUNCH"), w.member.auth())
        .await
        .expect(200);
    assert_eq!(found["total_results"], 2);
    assert_eq!(
        contents(&found),
        [
            format!(
                "<@{}> lunch is late, see https://example.com/menu",
                w.owner.id
            ),
            "Lunch at noon?".to_owned()
        ]
    );
    assert_eq!(
        found["messages"][0][0]["author"]["id"],
        w.member.id.as_str()
    );
    // The owner, who may read both, finds all three.
    let found = api
        .get(&search("content=lunch"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(found["total_results"], 3);

    // Filters: author, mentions, has:link, pages and order.
    let q = format!("author_id={}&content=lunch", w.member.id);
    assert_eq!(
        api.get(&search(&q), w.member.auth()).await.expect(200)["total_results"],
        1
    );
    let q = format!("mentions={}", w.owner.id);
    let found = api.get(&search(&q), w.member.auth()).await.expect(200);
    assert_eq!(found["messages"][0][0]["id"], reply["id"]);
    let found = api
        .get(&search("has=link"), w.member.auth())
        .await
        .expect(200);
    assert_eq!(found["total_results"], 1);
    let found = api
        .get(
            &search("content=lunch&sort_order=asc&limit=1&offset=1"),
            w.member.auth(),
        )
        .await
        .expect(200);
    assert_eq!(found["total_results"], 2);
    assert_eq!(found["messages"][0][0]["id"], reply["id"]);
    let q = format!("channel_id={}&content=chatter", w.general);
    assert_eq!(
        api.get(&search(&q), w.member.auth()).await.expect(200)["total_results"],
        1
    );
    // Punctuation and query syntax are only text.
    let found = api
        .get(
            &search("content=%22lunch%22%20OR%20*%20NEAR(x"),
            w.member.auth(),
        )
        .await
        .expect(200);
    assert_eq!(found["total_results"], 0);
    assert_eq!(
        api.get(&search("content=%21%21%21"), w.member.auth())
            .await
            .expect(200)["total_results"],
        0
    );

    // An edit is found by its new words at once; a delete is gone.
    let reply_id = str_field(&reply, "id");
    api.patch(
        &format!("/channels/{}/messages/{reply_id}", w.general),
        w.member.auth(),
        Some(json!({"content": "dinner instead"})),
    )
    .await
    .expect(200);
    assert_eq!(
        api.get(&search("content=dinner"), w.member.auth())
            .await
            .expect(200)["total_results"],
        1
    );
    api.delete(
        &format!("/channels/{}/messages/{reply_id}", w.general),
        w.member.auth(),
    )
    .await
    .expect(204);
    assert_eq!(
        api.get(&search("content=dinner"), w.member.auth())
            .await
            .expect(200)["total_results"],
        0
    );

    // Asking for the hidden channel by name is refused, as is an unknown one.
    let q = format!("channel_id={staff}&content=lunch");
    api.get(&search(&q), w.member.auth())
        .await
        .expect_error(403, 50001);
    let q = format!("channel_id={UNKNOWN_ID}");
    api.get(&search(&q), w.member.auth())
        .await
        .expect_error(404, 10003);
    // Bad values, each named.
    let bad = api
        .get(
            &search("limit=26&has=gif&author_id=me&offset=-1"),
            w.member.auth(),
        )
        .await;
    bad.expect_error(400, 50035);
    for field in ["limit", "has", "author_id", "offset"] {
        bad.expect_field_error(&[field]);
    }
    // A stranger to the guild finds nothing of it.
    let stranger = api.register("stranger").await;
    api.get(&search("content=lunch"), stranger.auth())
        .await
        .expect_error(403, 50001);
    api.get(
        &format!("/guilds/{UNKNOWN_ID}/messages/search"),
        stranger.auth(),
    )
    .await
    .expect_error(404, 10004);
}

#[tokio::test]
async fn search_finds_only_what_the_searcher_may_read() {
    search_works_for_a_member(World::new().await).await;
}

#[tokio::test]
async fn search_works_the_same_on_postgres() {
    let db = TestDatabase::create().await;
    let server = Server::start_with(&["--rate-limits", "off", "--database", &db.url], &[]).await;
    search_works_for_a_member(World::on(server).await).await;
}

#[tokio::test]
async fn the_mentions_inbox_lists_what_calls_on_the_user_where_they_may_read() {
    let w = World::new().await;
    let api = &w.api;
    let role = w.grant(&w.member.id, "crew", 0).await;
    let staff = api.text_channel(&w.owner, &w.guild_id, "staff").await;
    api.set_overwrite(&w.owner, &staff, &w.guild_id, 0, 0, perm::VIEW_CHANNEL)
        .await;
    api.send(
        &w.owner,
        &staff,
        &format!("<@{}> behind closed doors", w.member.id),
    )
    .await;
    for content in [
        format!("hey <@{}>", w.member.id),
        format!("crew <@&{role}>"),
        "nothing for anyone".to_owned(),
        "@everyone standup".to_owned(),
    ] {
        api.send(&w.owner, &w.general, &content).await;
    }
    api.send(
        &w.member,
        &w.general,
        &format!("<@{}> note to self", w.member.id),
    )
    .await;
    // Another server the member is in counts too.
    let other = api.create_guild(&w.owner, "Elsewhere").await;
    let other_id = str_field(&other, "id");
    let lobby = api.channel_id(&w.owner, &other_id, "general", 0).await;
    api.invite_and_join(&w.owner, &lobby, &w.member).await;
    api.send(&w.owner, &lobby, &format!("<@{}> over here", w.member.id))
        .await;

    let inbox = |q: &str| format!("/users/@me/mentions{q}");
    let list = |v: Value| -> Vec<String> {
        v.as_array()
            .expect("a list of messages")
            .iter()
            .map(|m| str_field(m, "content"))
            .collect()
    };
    let all = api.get(&inbox(""), w.member.auth()).await.expect(200);
    assert_eq!(
        list(all.clone()),
        [
            format!("<@{}> over here", w.member.id),
            "@everyone standup".to_owned(),
            format!("crew <@&{role}>"),
            format!("hey <@{}>", w.member.id),
        ]
    );
    let only_me = api
        .get(&inbox("?roles=false&everyone=false"), w.member.auth())
        .await
        .expect(200);
    assert_eq!(list(only_me).len(), 2);
    let q = format!(
        "?guild_id={}&limit=1&before={}",
        w.guild_id,
        str_field(&all[1], "id")
    );
    assert_eq!(
        list(api.get(&inbox(&q), w.member.auth()).await.expect(200)),
        [format!("crew <@&{role}>")]
    );
    // Refusals.
    let q = format!("?guild_id={UNKNOWN_ID}");
    api.get(&inbox(&q), w.member.auth())
        .await
        .expect_error(404, 10004);
    api.get(&inbox("?limit=101&roles=maybe"), w.member.auth())
        .await
        .expect_error(400, 50035);
    let (_, bot) = api.create_bot(&w.owner, "helper").await;
    api.get(&inbox(""), bot.auth())
        .await
        .expect_error(403, 20001);
}
