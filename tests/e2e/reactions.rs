//! Reactions: adding and removing them, who reacted, counts with `me`,
//! permissions, limits, and the MESSAGE_REACTION_* dispatches.

use serde_json::{json, Value};

use crate::gateway_client::{intents, login, EVENT_TIMEOUT, QUIET};
use crate::harness::{perm, str_field, World, UNKNOWN_ID};

const REACTIONS: u64 = intents::GUILDS | intents::GUILD_MESSAGE_REACTIONS;

fn r(channel: &str, message: &str, rest: &str) -> String {
    format!("/channels/{channel}/messages/{message}/reactions{rest}")
}

fn reaction_summary(m: &Value) -> Vec<(String, u64, bool)> {
    m["reactions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["emoji"]["name"].as_str().unwrap_or_default().to_owned(),
                        r["count"].as_u64().unwrap_or_default(),
                        r["me"].as_bool().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn reactions_are_counted_per_emoji_with_me_for_the_reader() {
    let w = World::new().await;
    let api = &w.api;
    let m = api.send(&w.owner, &w.general, "react to me").await;
    let id = str_field(&m, "id");
    assert!(m.get("reactions").is_none(), "a new message has none");

    for (who, emoji) in [(&w.member, "👍"), (&w.owner, "👍"), (&w.member, "🇫🇷")] {
        api.put(
            &r(&w.general, &id, &format!("/{emoji}/@me")),
            who.auth(),
            None,
        )
        .await
        .expect(204);
    }
    // Twice is once.
    api.put(&r(&w.general, &id, "/👍/@me"), w.member.auth(), None)
        .await
        .expect(204);

    let as_member = api
        .get(
            &format!("/channels/{}/messages/{id}", w.general),
            w.member.auth(),
        )
        .await
        .expect(200);
    assert_eq!(
        reaction_summary(&as_member),
        vec![("👍".into(), 2, true), ("🇫🇷".into(), 1, true)]
    );
    let r0 = &as_member["reactions"][0];
    assert_eq!(r0["emoji"], json!({"id": null, "name": "👍"}));
    assert_eq!(r0["count_details"], json!({"burst": 0, "normal": 2}));
    assert_eq!(r0["me_burst"], false);

    // The owner reads the page: `me` is theirs.
    let page = api
        .get(&format!("/channels/{}/messages", w.general), w.owner.auth())
        .await
        .expect(200);
    let listed = page
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        reaction_summary(&listed),
        vec![("👍".into(), 2, true), ("🇫🇷".into(), 1, false)]
    );

    // Who reacted, by user id, paginated.
    let users = api
        .get(&r(&w.general, &id, "/👍"), w.member.auth())
        .await
        .expect(200);
    let mut expected = vec![w.owner.id.clone(), w.member.id.clone()];
    expected.sort_by_key(|s| s.parse::<u64>().unwrap());
    let got: Vec<String> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| str_field(u, "id"))
        .collect();
    assert_eq!(got, expected);
    let second = api
        .get(
            &r(
                &w.general,
                &id,
                &format!("/👍?limit=1&after={}", expected[0]),
            ),
            w.member.auth(),
        )
        .await
        .expect(200);
    assert_eq!(second.as_array().unwrap().len(), 1);
    assert_eq!(second[0]["id"], expected[1].as_str());

    // Removing one's own.
    api.delete(&r(&w.general, &id, "/🇫🇷/@me"), w.member.auth())
        .await
        .expect(204);
    let after = api
        .get(
            &format!("/channels/{}/messages/{id}", w.general),
            w.member.auth(),
        )
        .await
        .expect(200);
    assert_eq!(reaction_summary(&after), vec![("👍".into(), 2, true)]);
}

#[tokio::test]
async fn reactions_reach_sessions_that_asked_for_them() {
    let w = World::new().await;
    let api = &w.api;
    let mut watcher = login(api, &w.owner, REACTIONS).await;
    let mut deaf = login(api, &w.member, intents::GUILDS | intents::GUILD_MESSAGES).await;
    let m = api.send(&w.owner, &w.general, "watch").await;
    let id = str_field(&m, "id");

    api.put(&r(&w.general, &id, "/🔥/@me"), w.member.auth(), None)
        .await
        .expect(204);
    let add = watcher
        .expect_dispatch("MESSAGE_REACTION_ADD", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(add["user_id"], w.member.id.as_str());
    assert_eq!(add["message_id"], id.as_str());
    assert_eq!(add["channel_id"], w.general.as_str());
    assert_eq!(add["guild_id"], w.guild_id.as_str());
    assert_eq!(add["emoji"], json!({"id": null, "name": "🔥"}));
    assert_eq!(add["member"]["user"]["id"], w.member.id.as_str());
    assert_eq!(add["message_author_id"], w.owner.id.as_str());
    assert_eq!(add["burst"], false);
    assert_eq!(add["type"], 0);

    // A repeat changes nothing and says nothing.
    api.put(&r(&w.general, &id, "/🔥/@me"), w.member.auth(), None)
        .await
        .expect(204);
    watcher
        .expect_no_dispatch("MESSAGE_REACTION_ADD", QUIET)
        .await;

    api.delete(&r(&w.general, &id, "/🔥/@me"), w.member.auth())
        .await
        .expect(204);
    let removed = watcher
        .expect_dispatch("MESSAGE_REACTION_REMOVE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(removed["user_id"], w.member.id.as_str());
    assert_eq!(removed["emoji"]["name"], "🔥");
    assert!(removed.get("member").is_none());

    for emoji in ["🔥", "💧"] {
        api.put(
            &r(&w.general, &id, &format!("/{emoji}/@me")),
            w.member.auth(),
            None,
        )
        .await
        .expect(204);
    }
    api.delete(&r(&w.general, &id, "/💧"), w.owner.auth())
        .await
        .expect(204);
    let emoji_gone = watcher
        .expect_dispatch("MESSAGE_REACTION_REMOVE_EMOJI", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(emoji_gone["emoji"]["name"], "💧");
    assert_eq!(emoji_gone["message_id"], id.as_str());
    api.delete(&r(&w.general, &id, ""), w.owner.auth())
        .await
        .expect(204);
    let all_gone = watcher
        .expect_dispatch("MESSAGE_REACTION_REMOVE_ALL", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(
        all_gone,
        json!({"channel_id": w.general, "message_id": id, "guild_id": w.guild_id})
    );
    let left = api
        .get(
            &format!("/channels/{}/messages/{id}", w.general),
            w.owner.auth(),
        )
        .await
        .expect(200);
    assert!(left.get("reactions").is_none(), "{left}");

    // Without GUILD_MESSAGE_REACTIONS, none of it arrived.
    deaf.expect_no_dispatch("MESSAGE_REACTION_ADD", QUIET).await;
}

#[tokio::test]
async fn reacting_follows_permissions() {
    let w = World::new().await;
    let api = &w.api;
    let m = api.send(&w.owner, &w.general, "rules").await;
    let id = str_field(&m, "id");
    api.put(&r(&w.general, &id, "/✅/@me"), w.owner.auth(), None)
        .await
        .expect(204);

    // Without ADD_REACTIONS a member may join an emoji already there, but
    // not bring a new one.
    api.set_overwrite(&w.owner, &w.general, &w.guild_id, 0, 0, perm::ADD_REACTIONS)
        .await;
    api.put(&r(&w.general, &id, "/✅/@me"), w.member.auth(), None)
        .await
        .expect(204);
    api.put(&r(&w.general, &id, "/❌/@me"), w.member.auth(), None)
        .await
        .expect_error(403, 50013);

    // Removing someone else's takes MANAGE_MESSAGES; so do the clears.
    let owners = r(&w.general, &id, &format!("/✅/{}", w.owner.id));
    api.delete(&owners, w.member.auth())
        .await
        .expect_error(403, 50013);
    api.delete(&r(&w.general, &id, "/✅"), w.member.auth())
        .await
        .expect_error(403, 50013);
    api.delete(&r(&w.general, &id, ""), w.member.auth())
        .await
        .expect_error(403, 50013);
    api.delete(&owners, w.owner.auth()).await.expect(204);
    let users = api
        .get(&r(&w.general, &id, "/✅"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["id"], w.member.id.as_str());

    // Without READ_MESSAGE_HISTORY there is nothing to react to.
    api.set_overwrite(
        &w.owner,
        &w.general,
        &w.member.id,
        1,
        0,
        perm::READ_MESSAGE_HISTORY,
    )
    .await;
    api.put(&r(&w.general, &id, "/✅/@me"), w.member.auth(), None)
        .await
        .expect_error(403, 50013);
    api.get(&r(&w.general, &id, "/✅"), w.member.auth())
        .await
        .expect_error(403, 50013);
}

#[tokio::test]
async fn bad_reactions_get_discords_errors_and_change_nothing() {
    let w = World::new().await;
    let api = &w.api;
    let m = api.send(&w.owner, &w.general, "limits").await;
    let id = str_field(&m, "id");

    // Not emoji, and custom emoji that do not exist.
    for bad in ["hello", "a👍", "nope:123456789012345678", "%20"] {
        api.put(
            &r(&w.general, &id, &format!("/{bad}/@me")),
            w.member.auth(),
            None,
        )
        .await
        .expect_error(400, 10014);
    }
    api.put(&r(&w.general, UNKNOWN_ID, "/👍/@me"), w.member.auth(), None)
        .await
        .expect_error(404, 10008);
    api.get(&r(&w.general, &id, "/👍?limit=500"), w.member.auth())
        .await
        .expect_field_error(&["limit"]);

    // Twenty distinct emoji per message; the twenty-first is refused, and
    // reacting with one already there still works.
    let emoji: Vec<String> = (0..21)
        .map(|i| char::from_u32(0x1F600 + i).unwrap().to_string())
        .collect();
    for e in &emoji[..20] {
        api.put(
            &r(&w.general, &id, &format!("/{e}/@me")),
            w.owner.auth(),
            None,
        )
        .await
        .expect(204);
    }
    api.put(
        &r(&w.general, &id, &format!("/{}/@me", emoji[20])),
        w.member.auth(),
        None,
    )
    .await
    .expect_error(400, 30010);
    api.put(
        &r(&w.general, &id, &format!("/{}/@me", emoji[0])),
        w.member.auth(),
        None,
    )
    .await
    .expect(204);
    let got = api
        .get(
            &format!("/channels/{}/messages/{id}", w.general),
            w.owner.auth(),
        )
        .await
        .expect(200);
    let summary = reaction_summary(&got);
    assert_eq!(summary.len(), 20);
    assert_eq!(summary[0], (emoji[0].clone(), 2, true));

    // A deleted message takes its reactions with it.
    api.delete(
        &format!("/channels/{}/messages/{id}", w.general),
        w.owner.auth(),
    )
    .await
    .expect(204);
    api.get(
        &r(&w.general, &id, &format!("/{}", emoji[0])),
        w.owner.auth(),
    )
    .await
    .expect_error(404, 10008);
}

#[tokio::test]
async fn reactions_in_a_dm_reach_its_recipients_and_only_their_own_can_be_removed() {
    let w = World::new().await;
    let api = &w.api;
    let dm = api
        .post(
            "/users/@me/channels",
            w.owner.auth(),
            Some(json!({"recipient_id": w.member.id})),
        )
        .await
        .expect(200);
    let dm = str_field(&dm, "id");
    let mut owner_gw = login(api, &w.owner, intents::DIRECT_MESSAGE_REACTIONS).await;
    // Without the DM reactions intent, none of them arrive.
    let mut other_gw = login(api, &w.owner, intents::DIRECT_MESSAGES).await;
    let sent = api.send(&w.owner, &dm, "react to this").await;
    let id = str_field(&sent, "id");

    api.put(&r(&dm, &id, "/%F0%9F%91%8D/@me"), w.member.auth(), None)
        .await
        .expect(204);
    let added = owner_gw
        .expect_dispatch("MESSAGE_REACTION_ADD", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(added["channel_id"], dm.as_str());
    assert_eq!(added["message_id"], id.as_str());
    assert_eq!(added["user_id"], w.member.id.as_str());
    assert_eq!(added["emoji"]["name"], "👍");
    assert_eq!(added["message_author_id"], w.owner.id.as_str());
    assert!(added.get("guild_id").is_none() && added.get("member").is_none());

    let read = api
        .get(&format!("/channels/{dm}/messages/{id}"), w.member.auth())
        .await
        .expect(200);
    assert_eq!(reaction_summary(&read), [("👍".to_owned(), 1, true)]);
    let who = api
        .get(&r(&dm, &id, "/%F0%9F%91%8D"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(who[0]["id"], w.member.id.as_str());

    // Nobody manages another's reactions in a DM.
    api.delete(
        &r(&dm, &id, &format!("/%F0%9F%91%8D/{}", w.member.id)),
        w.owner.auth(),
    )
    .await
    .expect_error(403, 50013);
    api.delete(&r(&dm, &id, ""), w.owner.auth())
        .await
        .expect_error(403, 50013);

    api.delete(&r(&dm, &id, "/%F0%9F%91%8D/@me"), w.member.auth())
        .await
        .expect(204);
    let removed = owner_gw
        .expect_dispatch("MESSAGE_REACTION_REMOVE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(removed["user_id"], w.member.id.as_str());
    other_gw
        .expect_no_dispatch("MESSAGE_REACTION_ADD", QUIET)
        .await;

    // A stranger to the DM can neither react nor list.
    let stranger = w.add_member("stranger").await;
    let refused = api
        .put(&r(&dm, &id, "/%F0%9F%91%8D/@me"), stranger.auth(), None)
        .await;
    assert!(refused.status.is_client_error(), "{refused:?}");
}
