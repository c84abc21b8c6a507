//! Dispatch fan-out: who receives which event, with visibility computed at
//! the moment of the event, intents, the MESSAGE_CONTENT rule for bots, typing,
//! member chunks, and guild membership changes on live sessions.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::gateway_client::{
    app_flags, intents, login, login_opts, op, Gateway, Options, EVENT_TIMEOUT, QUIET,
};
use crate::harness::{perm, str_field, User, World, UNKNOWN_ID};

const MSGS: u64 = intents::GUILDS | intents::GUILD_MESSAGES;

fn is_id(id: &str) -> impl Fn(&Value) -> bool + '_ {
    move |d: &Value| d["id"] == id
}

async fn expect_message(gw: &mut Gateway, id: &str) -> Value {
    gw.expect_dispatch_where("MESSAGE_CREATE", is_id(id), EVENT_TIMEOUT)
        .await
        .d
}

async fn expect_no_message(gw: &mut Gateway, id: &str) {
    gw.expect_no_dispatch_where("MESSAGE_CREATE", is_id(id), QUIET)
        .await;
}

/// A channel hidden from @everyone; `viewer` (if any) may see it.
async fn hidden_channel(w: &World, name: &str, viewer: Option<&User>) -> String {
    let ch = w.api.text_channel(&w.owner, &w.guild_id, name).await;
    w.api
        .set_overwrite(&w.owner, &ch, &w.guild_id, 0, 0, perm::VIEW_CHANNEL)
        .await;
    if let Some(v) = viewer {
        w.api
            .set_overwrite(&w.owner, &ch, &v.id, 1, perm::VIEW_CHANNEL, 0)
            .await;
    }
    ch
}

#[tokio::test]
async fn a_rest_message_reaches_every_permitted_session_exactly_once() {
    let w = World::new().await;
    let api = &w.api;
    let viewer = w.add_member("viewer").await;
    let staff = hidden_channel(&w, "staff", Some(&viewer)).await;

    let mut m1 = login_opts(api, &w.member, MSGS, Options::default().label("member-1")).await;
    let mut m2 = login_opts(api, &w.member, MSGS, Options::default().label("member-2")).await;
    let mut v = login(api, &viewer, MSGS).await;
    let mut o = login(api, &w.owner, MSGS).await;
    assert_ne!(m1.session_id(), m2.session_id());

    let m = api.send(&w.owner, &w.general, "hello everyone").await;
    let id = str_field(&m, "id");
    for gw in [&mut m1, &mut m2] {
        let before = gw.last_seq.unwrap();
        let ev = gw
            .expect_dispatch_where("MESSAGE_CREATE", is_id(&id), EVENT_TIMEOUT)
            .await;
        assert_eq!(ev.s, before + 1, "the next dispatch of the session");
        let d = ev.d;
        assert_eq!(d["content"], "hello everyone");
        assert_eq!(d["channel_id"], w.general.as_str());
        assert_eq!(d["guild_id"], w.guild_id.as_str());
        assert_eq!(d["author"]["id"], w.owner.id.as_str());
        assert!(d["member"].is_object(), "guild message carries member: {d}");
        assert!(d["member"]["roles"].is_array(), "member.roles: {d}");
    }
    for gw in [&mut v, &mut o] {
        let d = expect_message(gw, &id).await;
        assert_eq!(d["content"], "hello everyone");
    }
    for gw in [&mut m1, &mut m2, &mut v, &mut o] {
        expect_no_message(gw, &id).await;
    }

    // A second message: again once each, with the next sequence number.
    let m = api.send(&w.member, &w.general, "and again").await;
    let id = str_field(&m, "id");
    for gw in [&mut m1, &mut m2] {
        let before = gw.last_seq.unwrap();
        let ev = gw
            .expect_dispatch_where("MESSAGE_CREATE", is_id(&id), EVENT_TIMEOUT)
            .await;
        assert_eq!(ev.s, before + 1);
        assert_eq!(ev.d["author"]["id"], w.member.id.as_str());
    }

    // The staff channel: only the viewer and the owner.
    let m = api.send(&w.owner, &staff, "staff only").await;
    let id = str_field(&m, "id");
    for gw in [&mut v, &mut o] {
        let d = expect_message(gw, &id).await;
        assert_eq!(d["channel_id"], staff.as_str());
    }
    for gw in [&mut v, &mut o, &mut m1, &mut m2] {
        expect_no_message(gw, &id).await;
    }
}

#[tokio::test]
async fn role_and_overwrite_changes_apply_to_live_sessions_at_once() {
    let w = World::new().await;
    let api = &w.api;
    let vip = hidden_channel(&w, "vip", None).await;
    let role = api
        .create_role(&w.owner, &w.guild_id, json!({"name": "vip"}))
        .await;
    let role_id = str_field(&role, "id");
    api.set_overwrite(&w.owner, &vip, &role_id, 0, perm::VIEW_CHANNEL, 0)
        .await;

    let mut gw = login(api, &w.member, MSGS).await;
    let channels: Vec<String> = gw.guild_create(&w.guild_id)["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| str_field(c, "id"))
        .collect();
    assert!(!channels.contains(&vip));

    let m = api.send(&w.owner, &vip, "before the role").await;
    expect_no_message(&mut gw, &str_field(&m, "id")).await;

    // Granting the role grants VIEW_CHANNEL.
    api.add_role(&w.owner, &w.guild_id, &w.member.id, &role_id)
        .await;
    let m = api.send(&w.owner, &vip, "with the role").await;
    let d = expect_message(&mut gw, &str_field(&m, "id")).await;
    assert_eq!(d["content"], "with the role");

    // Taking it away revokes it.
    api.delete(
        &w.g(&format!("/members/{}/roles/{role_id}", w.member.id)),
        w.owner.auth(),
    )
    .await
    .expect(204);
    let m = api.send(&w.owner, &vip, "after the role").await;
    expect_no_message(&mut gw, &str_field(&m, "id")).await;

    // Changing @everyone's permissions changes what general shows.
    let roles = api.get(&w.g("/roles"), w.owner.auth()).await.expect(200);
    let everyone = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == w.guild_id.as_str())
        .unwrap_or_else(|| panic!("no @everyone in {roles}"))
        .clone();
    let base: u64 = str_field(&everyone, "permissions").parse().unwrap();
    assert!(
        base & perm::VIEW_CHANNEL != 0,
        "@everyone starts with VIEW_CHANNEL"
    );
    api.patch(
        &w.g(&format!("/roles/{}", w.guild_id)),
        w.owner.auth(),
        Some(json!({"permissions": (base & !perm::VIEW_CHANNEL).to_string()})),
    )
    .await
    .expect(200);
    let m = api.send(&w.owner, &w.general, "nobody sees this").await;
    expect_no_message(&mut gw, &str_field(&m, "id")).await;
    api.patch(
        &w.g(&format!("/roles/{}", w.guild_id)),
        w.owner.auth(),
        Some(json!({"permissions": base.to_string()})),
    )
    .await
    .expect(200);
    let m = api.send(&w.owner, &w.general, "visible again").await;
    expect_message(&mut gw, &str_field(&m, "id")).await;

    // A member overwrite denying VIEW_CHANNEL applies at once as well.
    api.set_overwrite(&w.owner, &w.general, &w.member.id, 1, 0, perm::VIEW_CHANNEL)
        .await;
    let m = api.send(&w.owner, &w.general, "hidden by overwrite").await;
    expect_no_message(&mut gw, &str_field(&m, "id")).await;
}

#[tokio::test]
async fn bots_without_message_content_get_empty_content_unless_author_or_mentioned() {
    let w = World::new().await;
    let api = &w.api;
    let (app, bot) = api.create_bot(&w.owner, "Snoopy").await;
    let app_id = str_field(&app, "id");
    api.authorize_bot(
        &w.owner,
        &w.guild_id,
        &app_id,
        perm::VIEW_CHANNEL | perm::SEND_MESSAGES | perm::READ_MESSAGE_HISTORY,
    )
    .await
    .expect(200);
    let mut b = login(api, &bot, MSGS).await;
    // Users always get content, MESSAGE_CONTENT intent or not.
    let mut o = login(api, &w.owner, MSGS).await;

    let m = api
        .post(
            &format!("/channels/{}/messages", w.general),
            w.owner.auth(),
            Some(json!({"content": "the secret plan", "embeds": [{"title": "hidden", "description": "x"}]})),
        )
        .await
        .expect(200);
    let id = str_field(&m, "id");
    let d = expect_message(&mut b, &id).await;
    assert_eq!(d["content"], "", "content hidden from the bot: {d}");
    assert_eq!(d["embeds"], json!([]));
    assert_eq!(d["attachments"], json!([]));
    assert_eq!(d["author"]["id"], w.owner.id.as_str(), "the rest is intact");
    let d = expect_message(&mut o, &id).await;
    assert_eq!(d["content"], "the secret plan");
    assert_eq!(d["embeds"].as_array().map(Vec::len), Some(1));

    // Mentioned: the bot sees it.
    let text = format!("hey <@{}> look", bot.id);
    let m = api.send(&w.owner, &w.general, &text).await;
    let d = expect_message(&mut b, &str_field(&m, "id")).await;
    assert_eq!(d["content"], text.as_str());

    // Its own message: the bot sees it.
    let m = api.send(&bot, &w.general, "bot speaking").await;
    let d = expect_message(&mut b, &str_field(&m, "id")).await;
    assert_eq!(d["content"], "bot speaking");
    let d = expect_message(&mut o, &str_field(&m, "id")).await;
    assert_eq!(d["content"], "bot speaking");

    // Having the flag is not enough: the session must ask for the intent.
    api.patch(
        &format!("/applications/{app_id}"),
        w.owner.auth(),
        Some(json!({"flags": app_flags::GATEWAY_MESSAGE_CONTENT_LIMITED})),
    )
    .await
    .expect(200);
    let mut b2 = login(api, &bot, MSGS).await;
    let m = api.send(&w.owner, &w.general, "still private").await;
    let d = expect_message(&mut b2, &str_field(&m, "id")).await;
    assert_eq!(d["content"], "");
}

#[tokio::test]
async fn bots_with_the_message_content_intent_see_content() {
    let w = World::new().await;
    let api = &w.api;
    for (name, flag) in [
        ("Reader", app_flags::GATEWAY_MESSAGE_CONTENT),
        ("Limited", app_flags::GATEWAY_MESSAGE_CONTENT_LIMITED),
    ] {
        let (app, bot) = api.create_bot(&w.owner, name).await;
        let app_id = str_field(&app, "id");
        api.authorize_bot(
            &w.owner,
            &w.guild_id,
            &app_id,
            perm::VIEW_CHANNEL | perm::SEND_MESSAGES,
        )
        .await
        .expect(200);
        api.patch(
            &format!("/applications/{app_id}"),
            w.owner.auth(),
            Some(json!({"flags": flag})),
        )
        .await
        .expect(200);
        let mut b = login(api, &bot, MSGS | intents::MESSAGE_CONTENT).await;
        assert_eq!(
            b.ready.as_ref().unwrap()["application"]["flags"],
            flag,
            "READY.application.flags reflects the PATCH"
        );
        let m = api.send(&w.owner, &w.general, "open secrets").await;
        let d = expect_message(&mut b, &str_field(&m, "id")).await;
        assert_eq!(d["content"], "open secrets", "{name}");
    }
}

#[tokio::test]
async fn typing_start_reaches_only_those_who_can_see_the_channel() {
    let w = World::new().await;
    let api = &w.api;
    let viewer = w.add_member("viewer").await;
    let staff = hidden_channel(&w, "staff", Some(&viewer)).await;
    let typing = intents::GUILDS | intents::GUILD_MESSAGE_TYPING;
    let mut m = login(api, &w.member, typing).await;
    let mut v = login(api, &viewer, typing).await;

    api.post(
        &format!("/channels/{}/typing", w.general),
        w.owner.auth(),
        None,
    )
    .await
    .expect(204);
    for gw in [&mut m, &mut v] {
        let ev = gw.expect_dispatch("TYPING_START", EVENT_TIMEOUT).await;
        assert_eq!(ev.d["channel_id"], w.general.as_str());
        assert_eq!(ev.d["guild_id"], w.guild_id.as_str());
        assert_eq!(ev.d["user_id"], w.owner.id.as_str());
        assert!(ev.d["timestamp"].is_u64(), "unix seconds: {}", ev.d);
        assert!(ev.d["member"].is_object(), "member: {}", ev.d);
    }

    api.post(&format!("/channels/{staff}/typing"), w.owner.auth(), None)
        .await
        .expect(204);
    let ev = v.expect_dispatch("TYPING_START", EVENT_TIMEOUT).await;
    assert_eq!(ev.d["channel_id"], staff.as_str());
    m.expect_no_dispatch("TYPING_START", QUIET).await;
}

/// Every GUILD_MEMBERS_CHUNK answering `nonce`, in full.
async fn chunks(gw: &mut Gateway, nonce: &str) -> Vec<Value> {
    let mut got: Vec<Value> = Vec::new();
    loop {
        let ev = gw
            .expect_dispatch_where(
                "GUILD_MEMBERS_CHUNK",
                |d| d["nonce"] == nonce,
                EVENT_TIMEOUT,
            )
            .await;
        let count = ev.d["chunk_count"].as_u64().expect("chunk_count");
        let index = ev.d["chunk_index"].as_u64().expect("chunk_index");
        assert!(index < count, "chunk_index < chunk_count: {}", ev.d);
        assert!(
            !got.iter().any(|c| c["chunk_index"] == index),
            "chunk {index} sent twice"
        );
        got.push(ev.d);
        if got.len() as u64 == count {
            return got;
        }
    }
}

fn chunk_usernames(chunks: &[Value]) -> BTreeSet<String> {
    chunks
        .iter()
        .flat_map(|c| c["members"].as_array().cloned().unwrap_or_default())
        .map(|m| str_field(&m["user"], "username"))
        .collect()
}

#[tokio::test]
async fn request_guild_members_answers_in_chunks() {
    let w = World::new().await;
    let api = &w.api;
    let alice = w.add_member("alice").await;
    w.add_member("alfred").await;
    w.add_member("bob").await;
    let mut o = login(
        api,
        &w.owner,
        intents::GUILDS | intents::GUILD_MEMBERS | intents::GUILD_PRESENCES,
    )
    .await;

    let req = |d: Value| {
        let mut base = json!({"guild_id": w.guild_id, "query": "", "limit": 0});
        for (k, v) in d.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    };

    o.send_op(
        op::REQUEST_GUILD_MEMBERS,
        req(json!({"query": "al", "nonce": "prefix"})),
    )
    .await;
    let got = chunks(&mut o, "prefix").await;
    for c in &got {
        assert_eq!(c["guild_id"], w.guild_id.as_str());
    }
    assert_eq!(
        chunk_usernames(&got),
        ["alfred", "alice"].iter().map(|s| s.to_string()).collect()
    );

    o.send_op(op::REQUEST_GUILD_MEMBERS, req(json!({"nonce": "everyone"})))
        .await;
    let got = chunks(&mut o, "everyone").await;
    assert_eq!(
        chunk_usernames(&got),
        ["alfred", "alice", "bob", "member", "owner"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );

    o.send_op(
        op::REQUEST_GUILD_MEMBERS,
        req(json!({"query": "a", "limit": 1, "nonce": "one"})),
    )
    .await;
    let got = chunks(&mut o, "one").await;
    let names = chunk_usernames(&got);
    assert_eq!(names.len(), 1, "limit 1: {names:?}");
    assert!(names.iter().all(|n| n.starts_with('a')), "{names:?}");

    let mut by_ids =
        json!({"guild_id": w.guild_id, "user_ids": [alice.id, UNKNOWN_ID], "nonce": "ids"});
    by_ids["limit"] = json!(0);
    o.send_op(op::REQUEST_GUILD_MEMBERS, by_ids).await;
    let got = chunks(&mut o, "ids").await;
    assert_eq!(
        chunk_usernames(&got),
        ["alice"].iter().map(|s| s.to_string()).collect()
    );
    let not_found: Vec<Value> = got
        .iter()
        .flat_map(|c| c["not_found"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(not_found, vec![json!(UNKNOWN_ID)]);

    o.send_op(
        op::REQUEST_GUILD_MEMBERS,
        json!({"guild_id": w.guild_id, "user_ids": [w.owner.id, alice.id], "presences": true, "nonce": "pres"}),
    )
    .await;
    let got = chunks(&mut o, "pres").await;
    let presences: Vec<Value> = got
        .iter()
        .flat_map(|c| {
            c["presences"]
                .as_array()
                .cloned()
                .unwrap_or_else(|| panic!("presences asked for: {c}"))
        })
        .collect();
    let owner_p = presences
        .iter()
        .find(|p| p["user"]["id"] == w.owner.id.as_str())
        .unwrap_or_else(|| panic!("the owner (connected) has a presence: {presences:?}"));
    assert_eq!(owner_p["status"], "online");
    assert!(
        !presences
            .iter()
            .any(|p| p["user"]["id"] == alice.id.as_str()),
        "alice is offline and not listed: {presences:?}"
    );
}

#[tokio::test]
async fn joining_by_invite_sends_guild_create_and_a_kick_sends_guild_delete() {
    let w = World::new().await;
    let api = &w.api;
    let newbie = api.register("newbie").await;
    let mut o = login(api, &w.owner, MSGS | intents::GUILD_MEMBERS).await;
    let mut n = login(api, &newbie, MSGS).await;
    assert_eq!(n.ready.as_ref().unwrap()["guilds"], json!([]));

    api.invite_and_join(&w.owner, &w.general, &newbie).await;
    let gc = n.expect_dispatch("GUILD_CREATE", EVENT_TIMEOUT).await.d;
    assert_eq!(gc["id"], w.guild_id.as_str());
    assert_eq!(gc["unavailable"], false);
    assert_eq!(gc["member_count"], 3);
    assert!(gc["joined_at"].is_string());
    assert!(gc["channels"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == w.general.as_str()));
    assert!(gc["members"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["user"]["id"] == newbie.id.as_str()));
    let add = o.expect_dispatch("GUILD_MEMBER_ADD", EVENT_TIMEOUT).await.d;
    assert_eq!(add["guild_id"], w.guild_id.as_str());
    assert_eq!(add["user"]["id"], newbie.id.as_str());

    let m = api.send(&w.owner, &w.general, "welcome").await;
    expect_message(&mut n, &str_field(&m, "id")).await;

    api.delete(&w.g(&format!("/members/{}", newbie.id)), w.owner.auth())
        .await
        .expect(204);
    let del = n.expect_dispatch("GUILD_DELETE", EVENT_TIMEOUT).await.d;
    assert_eq!(del["id"], w.guild_id.as_str());
    assert_ne!(del["unavailable"], true, "a removal, not an outage: {del}");
    let rem = o
        .expect_dispatch("GUILD_MEMBER_REMOVE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(rem["guild_id"], w.guild_id.as_str());
    assert_eq!(rem["user"]["id"], newbie.id.as_str());

    let m = api.send(&w.owner, &w.general, "they are gone").await;
    expect_no_message(&mut n, &str_field(&m, "id")).await;
}

#[tokio::test]
async fn bans_and_leaving_send_guild_delete_and_ban_events() {
    let w = World::new().await;
    let api = &w.api;
    let carol = w.add_member("carol").await;
    let mut o = login(
        api,
        &w.owner,
        MSGS | intents::GUILD_MEMBERS | intents::GUILD_MODERATION,
    )
    .await;
    let mut m = login(api, &w.member, MSGS).await;
    let mut c = login(api, &carol, MSGS).await;

    api.put(
        &w.g(&format!("/bans/{}", w.member.id)),
        w.owner.auth(),
        Some(json!({})),
    )
    .await
    .expect(204);
    let del = m.expect_dispatch("GUILD_DELETE", EVENT_TIMEOUT).await.d;
    assert_eq!(del["id"], w.guild_id.as_str());
    let ban = o.expect_dispatch("GUILD_BAN_ADD", EVENT_TIMEOUT).await.d;
    assert_eq!(ban["guild_id"], w.guild_id.as_str());
    assert_eq!(ban["user"]["id"], w.member.id.as_str());
    o.expect_dispatch_where(
        "GUILD_MEMBER_REMOVE",
        |d| d["user"]["id"] == w.member.id.as_str(),
        EVENT_TIMEOUT,
    )
    .await;

    api.delete(&w.g(&format!("/bans/{}", w.member.id)), w.owner.auth())
        .await
        .expect(204);
    let unban = o.expect_dispatch("GUILD_BAN_REMOVE", EVENT_TIMEOUT).await.d;
    assert_eq!(unban["guild_id"], w.guild_id.as_str());
    assert_eq!(unban["user"]["id"], w.member.id.as_str());

    // Leaving on one's own.
    api.delete(&format!("/users/@me/guilds/{}", w.guild_id), carol.auth())
        .await
        .expect(204);
    let del = c.expect_dispatch("GUILD_DELETE", EVENT_TIMEOUT).await.d;
    assert_eq!(del["id"], w.guild_id.as_str());
    o.expect_dispatch_where(
        "GUILD_MEMBER_REMOVE",
        |d| d["user"]["id"] == carol.id.as_str(),
        EVENT_TIMEOUT,
    )
    .await;
    let msg = api.send(&w.owner, &w.general, "after they left").await;
    expect_no_message(&mut c, &str_field(&msg, "id")).await;
    expect_no_message(&mut m, &str_field(&msg, "id")).await;
}

#[tokio::test]
async fn role_channel_and_guild_changes_reach_members() {
    let w = World::new().await;
    let api = &w.api;
    let mut m = login(api, &w.member, intents::GUILDS).await;
    let mut o = login(api, &w.owner, intents::GUILDS).await;

    let role = api
        .create_role(&w.owner, &w.guild_id, json!({"name": "helpers"}))
        .await;
    let role_id = str_field(&role, "id");
    for gw in [&mut m, &mut o] {
        let d = gw
            .expect_dispatch("GUILD_ROLE_CREATE", EVENT_TIMEOUT)
            .await
            .d;
        assert_eq!(d["guild_id"], w.guild_id.as_str());
        assert_eq!(d["role"]["id"], role_id.as_str());
        assert_eq!(d["role"]["name"], "helpers");
    }
    api.patch(
        &w.g(&format!("/roles/{role_id}")),
        w.owner.auth(),
        Some(json!({"name": "helpers2"})),
    )
    .await
    .expect(200);
    let d = m
        .expect_dispatch("GUILD_ROLE_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(d["guild_id"], w.guild_id.as_str());
    assert_eq!(d["role"]["name"], "helpers2");
    api.delete(&w.g(&format!("/roles/{role_id}")), w.owner.auth())
        .await
        .expect(204);
    let d = m
        .expect_dispatch("GUILD_ROLE_DELETE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(d["guild_id"], w.guild_id.as_str());
    assert_eq!(d["role_id"], role_id.as_str());

    let news = api.text_channel(&w.owner, &w.guild_id, "news").await;
    for gw in [&mut m, &mut o] {
        let d = gw
            .expect_dispatch_where("CHANNEL_CREATE", is_id(&news), EVENT_TIMEOUT)
            .await
            .d;
        assert_eq!(d["name"], "news");
        assert_eq!(d["type"], 0);
        assert_eq!(d["guild_id"], w.guild_id.as_str());
    }
    api.patch(
        &format!("/channels/{news}"),
        w.owner.auth(),
        Some(json!({"topic": "all the news"})),
    )
    .await
    .expect(200);
    let d = m
        .expect_dispatch_where("CHANNEL_UPDATE", is_id(&news), EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(d["topic"], "all the news");

    // A channel created hidden from @everyone is announced to the owner only.
    let hidden = api
        .create_channel(
            &w.owner,
            &w.guild_id,
            json!({
                "name": "backstage",
                "type": 0,
                "permission_overwrites": [
                    {"id": w.guild_id, "type": 0, "allow": "0", "deny": perm::VIEW_CHANNEL.to_string()}
                ],
            }),
        )
        .await;
    let hidden_id = str_field(&hidden, "id");
    o.expect_dispatch_where("CHANNEL_CREATE", is_id(&hidden_id), EVENT_TIMEOUT)
        .await;
    m.expect_no_dispatch_where("CHANNEL_CREATE", is_id(&hidden_id), QUIET)
        .await;

    api.delete(&format!("/channels/{news}"), w.owner.auth())
        .await
        .expect(200);
    let d = m
        .expect_dispatch_where("CHANNEL_DELETE", is_id(&news), EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(d["guild_id"], w.guild_id.as_str());

    api.patch(
        &w.g(""),
        w.owner.auth(),
        Some(json!({"name": "Renamed Guild"})),
    )
    .await
    .expect(200);
    let d = m.expect_dispatch("GUILD_UPDATE", EVENT_TIMEOUT).await.d;
    assert_eq!(d["id"], w.guild_id.as_str());
    assert_eq!(d["name"], "Renamed Guild");

    api.delete(&w.g(""), w.owner.auth()).await.expect(204);
    let d = m.expect_dispatch("GUILD_DELETE", EVENT_TIMEOUT).await.d;
    assert_eq!(d["id"], w.guild_id.as_str());
}

#[tokio::test]
async fn message_edits_and_deletes_reach_sessions() {
    let w = World::new().await;
    let api = &w.api;
    let mut gw = login(api, &w.member, MSGS).await;
    let ch = &w.general;

    let m = api.send(&w.owner, ch, "first draft").await;
    let id = str_field(&m, "id");
    expect_message(&mut gw, &id).await;

    api.patch(
        &format!("/channels/{ch}/messages/{id}"),
        w.owner.auth(),
        Some(json!({"content": "final draft"})),
    )
    .await
    .expect(200);
    let d = gw
        .expect_dispatch_where("MESSAGE_UPDATE", is_id(&id), EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(d["content"], "final draft");
    assert_eq!(d["channel_id"], ch.as_str());

    api.delete(&format!("/channels/{ch}/messages/{id}"), w.owner.auth())
        .await
        .expect(204);
    let d = gw
        .expect_dispatch_where("MESSAGE_DELETE", is_id(&id), EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(d["channel_id"], ch.as_str());
    assert_eq!(d["guild_id"], w.guild_id.as_str());

    let ids = api.seed(&w.owner, ch, "bulk", 3).await;
    for id in &ids {
        expect_message(&mut gw, id).await;
    }
    api.post(
        &format!("/channels/{ch}/messages/bulk-delete"),
        w.owner.auth(),
        Some(json!({"messages": ids})),
    )
    .await
    .expect(204);
    let d = gw
        .expect_dispatch("MESSAGE_DELETE_BULK", EVENT_TIMEOUT)
        .await
        .d;
    let got: BTreeSet<String> = d["ids"]
        .as_array()
        .unwrap_or_else(|| panic!("ids array: {d}"))
        .iter()
        .map(|v| v.as_str().expect("string ids").to_string())
        .collect();
    assert_eq!(got, ids.iter().cloned().collect());
    assert_eq!(d["channel_id"], ch.as_str());
    assert_eq!(d["guild_id"], w.guild_id.as_str());
}

#[tokio::test]
async fn a_ban_that_deletes_messages_tells_sessions_which() {
    let w = World::new().await;
    let api = &w.api;
    let m1 = api.send(&w.member, &w.general, "spam one").await;
    let m2 = api.send(&w.member, &w.general, "spam two").await;
    let kept = api.send(&w.owner, &w.general, "keep me").await;
    let mut o = login(api, &w.owner, MSGS).await;
    api.put(
        &w.g(&format!("/bans/{}", w.member.id)),
        w.owner.auth(),
        Some(json!({"delete_message_seconds": 3600})),
    )
    .await
    .expect(204);
    let ev = o
        .expect_dispatch("MESSAGE_DELETE_BULK", EVENT_TIMEOUT)
        .await;
    let ids: BTreeSet<String> = ev.d["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from([str_field(&m1, "id"), str_field(&m2, "id")])
    );
    assert_eq!(ev.d["channel_id"], w.general.as_str());
    let page = api
        .get(&format!("/channels/{}/messages", w.general), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(page[0]["id"], kept["id"]);
}

#[tokio::test]
async fn deleting_a_category_moves_its_children_to_the_top_level() {
    let w = World::new().await;
    let api = &w.api;
    let cat = api
        .create_channel(
            &w.owner,
            &w.guild_id,
            json!({"name": "Projects", "type": 4}),
        )
        .await;
    let cat_id = str_field(&cat, "id");
    let child = api
        .create_channel(
            &w.owner,
            &w.guild_id,
            json!({"name": "alpha", "type": 0, "parent_id": cat_id}),
        )
        .await;
    let mut o = login(api, &w.owner, intents::GUILDS).await;
    api.delete(&format!("/channels/{cat_id}"), w.owner.auth())
        .await
        .expect(200);
    o.expect_dispatch("CHANNEL_DELETE", EVENT_TIMEOUT).await;
    let ev = o.expect_dispatch("CHANNEL_UPDATE", EVENT_TIMEOUT).await;
    assert_eq!(ev.d["id"], child["id"]);
    assert!(ev.d["parent_id"].is_null());
    let after = api
        .get(
            &format!("/channels/{}", str_field(&child, "id")),
            w.owner.auth(),
        )
        .await
        .expect(200);
    assert!(after["parent_id"].is_null());
}
