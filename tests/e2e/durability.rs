//! Acknowledged writes survive a SIGKILL.

use serde_json::json;

use crate::harness::{str_field, Server, World, PASSWORD};

#[tokio::test]
async fn acknowledged_messages_survive_kill_9_and_restart() {
    let mut w = World::new().await;
    let api = w.api.clone();
    let ch = api.text_channel(&w.owner, &w.guild_id, "durable").await;
    let ids = api.seed(&w.member, &ch, "durable ", 20).await;

    let edited = format!("/channels/{ch}/messages/{}", ids[5]);
    api.patch(
        &edited,
        w.member.auth(),
        Some(json!({"content": "edited before crash"})),
    )
    .await
    .expect(200);
    api.delete(
        &format!("/channels/{ch}/messages/{}", ids[6]),
        w.member.auth(),
    )
    .await
    .expect(204);
    // The very last acknowledged write before the crash.
    let last = api.send(&w.member, &ch, "last words").await;
    let last_id = str_field(&last, "id");

    w.server.kill9();
    w.server.restart().await;
    let api = w.server.api();

    // Log in afresh so this test does not depend on sessions surviving.
    let token = str_field(&api.login("member", PASSWORD).await.expect(200), "token");
    let auth = Some(token.as_str());

    for (i, id) in ids.iter().enumerate() {
        let r = api
            .get(&format!("/channels/{ch}/messages/{id}"), auth)
            .await;
        match i {
            5 => {
                let m = r.expect(200);
                assert_eq!(m["content"], "edited before crash");
                assert!(m["edited_timestamp"].is_string());
            }
            6 => {
                r.expect_error(404, 10008);
            }
            _ => {
                let m = r.expect(200);
                assert_eq!(m["content"], format!("durable {i}"));
                assert_eq!(m["author"]["id"], w.member.id.as_str());
            }
        }
    }
    let m = api
        .get(&format!("/channels/{ch}/messages/{last_id}"), auth)
        .await
        .expect(200);
    assert_eq!(m["content"], "last words");

    let mut want: Vec<String> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 6)
        .map(|(_, id)| id.clone())
        .collect();
    want.push(last_id.clone());
    want.reverse();
    let got = api
        .get(&format!("/channels/{ch}/messages?limit=100"), auth)
        .await
        .expect(200);
    let got_ids: Vec<String> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|m| str_field(m, "id"))
        .collect();
    assert_eq!(got_ids, want);

    // The guild, membership and channel came back too, and writing works.
    api.get(&w.g(""), auth).await.expect(200);
    let fresh = api
        .post(
            &format!("/channels/{ch}/messages"),
            auth,
            Some(json!({"content": "after restart"})),
        )
        .await
        .expect(200);
    assert!(
        str_field(&fresh, "id").parse::<u64>().unwrap() > last_id.parse::<u64>().unwrap(),
        "new ids keep increasing after a restart"
    );
}

#[tokio::test]
async fn sessions_and_accounts_survive_kill_9_and_restart() {
    let mut server = Server::start().await;
    let api = server.api();
    let alice = api.register("alice").await;
    api.patch(
        "/users/@me",
        alice.auth(),
        Some(json!({"global_name": "Alice"})),
    )
    .await
    .expect(200);

    server.kill9();
    server.restart().await;
    let api = server.api();

    let me = api.get("/users/@me", alice.auth()).await.expect(200);
    assert_eq!(me["id"], alice.id.as_str());
    assert_eq!(me["global_name"], "Alice");
    api.login("alice", PASSWORD).await.expect(200);
    // The username is still taken.
    api.post(
        "/auth/register",
        None,
        Some(json!({"username": "alice", "password": PASSWORD})),
    )
    .await
    .expect_field_error(&["username"]);
}
