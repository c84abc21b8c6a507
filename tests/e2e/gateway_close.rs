//! Close codes, the per-connection payload limit, and isolation: whatever
//! one connection does wrong never disturbs another live session.

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::gateway_client::{
    gateway_url, identify_d, intents, login_opts, op, Gateway, Options, EVENT_TIMEOUT,
};
use crate::harness::{perm, str_field, Server, World};

const MSGS: u64 = intents::GUILDS | intents::GUILD_MESSAGES;

async fn connect(w: &World, label: &str) -> Gateway {
    let url = gateway_url(&w.api).await;
    Gateway::connect(&url, Options::default().label(label)).await
}

/// A connected and identified member session.
async fn identified(w: &World, label: &str) -> Gateway {
    login_opts(&w.api, &w.member, MSGS, Options::default().label(label)).await
}

/// Posts a message and asserts `victim` receives it.
async fn still_receives(w: &World, victim: &mut Gateway, content: &str) {
    let m = w.api.send(&w.owner, &w.general, content).await;
    let id = str_field(&m, "id");
    let d = victim
        .expect_dispatch_where("MESSAGE_CREATE", |d| d["id"] == id.as_str(), EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(d["content"], content);
}

#[tokio::test]
async fn unknown_opcode_closes_4001() {
    let w = World::new().await;
    let mut gw = identified(&w, "unknown-op").await;
    gw.send_op(42, json!({})).await;
    gw.expect_close_code(4001).await;
}

#[tokio::test]
async fn invalid_json_closes_4002() {
    let w = World::new().await;
    let mut gw = identified(&w, "bad-json").await;
    gw.send_raw(Message::text("{\"op\": 1, \"d\": nul"))
        .await
        .unwrap();
    gw.expect_close_code(4002).await;
}

#[tokio::test]
async fn a_binary_frame_on_a_json_connection_closes_4002() {
    let w = World::new().await;
    let mut gw = identified(&w, "binary-on-json").await;
    let bytes = serde_json::to_vec(&json!({"op": 1, "d": null})).unwrap();
    gw.send_raw(Message::binary(bytes)).await.unwrap();
    gw.expect_close_code(4002).await;
}

#[tokio::test]
async fn a_text_payload_over_4096_bytes_closes_4002() {
    let w = World::new().await;
    let mut gw = identified(&w, "too-big").await;
    // Valid JSON, a valid opcode, but 10 KB.
    let big = json!({"op": 1, "d": null, "padding": "x".repeat(10 * 1024)});
    gw.send_raw(Message::text(big.to_string())).await.unwrap();
    gw.expect_close_code(4002).await;
}

#[tokio::test]
async fn a_payload_of_just_under_4096_bytes_is_fine() {
    let w = World::new().await;
    let mut gw = identified(&w, "big-but-ok").await;
    let mut payload = json!({"op": 1, "d": null, "padding": ""});
    let len = payload.to_string().len();
    payload["padding"] = json!("x".repeat(4000 - len));
    assert!(payload.to_string().len() <= 4096);
    gw.send(payload).await;
    gw.expect_op(op::HEARTBEAT_ACK, EVENT_TIMEOUT).await;
    still_receives(&w, &mut gw, "big but fine").await;
}

#[tokio::test]
async fn ops_other_than_heartbeat_identify_resume_before_identify_close_4003() {
    let w = World::new().await;
    for (opcode, d) in [
        (
            op::PRESENCE_UPDATE,
            json!({"since": null, "activities": [], "status": "idle", "afk": false}),
        ),
        (
            op::REQUEST_GUILD_MEMBERS,
            json!({"guild_id": w.guild_id, "query": "", "limit": 0}),
        ),
        (
            op::VOICE_STATE_UPDATE,
            json!({"guild_id": w.guild_id, "channel_id": null, "self_mute": false, "self_deaf": false}),
        ),
    ] {
        let mut gw = connect(&w, &format!("op{opcode}-first")).await;
        gw.send_op(op::HEARTBEAT, Value::Null).await;
        gw.expect_op(op::HEARTBEAT_ACK, EVENT_TIMEOUT).await;
        gw.send_op(opcode, d).await;
        gw.expect_close_code(4003).await;
    }
}

#[tokio::test]
async fn a_bad_token_closes_4004() {
    let w = World::new().await;
    for token in [
        "not-a-real-token".to_string(),
        format!("{}x", w.member.token),
        String::new(),
    ] {
        let mut gw = connect(&w, "bad-token").await;
        gw.identify(&token, MSGS).await;
        gw.expect_close_code(4004).await;
    }

    // A token revoked by logging out no longer identifies either.
    let api = &w.api;
    let login = api
        .login("member", crate::harness::PASSWORD)
        .await
        .expect(200);
    let token = str_field(&login, "token");
    api.post("/auth/logout", Some(&token), None).await;
    let mut gw = connect(&w, "logged-out").await;
    gw.identify(&token, MSGS).await;
    gw.expect_close_code(4004).await;
}

#[tokio::test]
async fn a_second_identify_closes_4005() {
    let w = World::new().await;
    let mut gw = identified(&w, "twice").await;
    gw.identify(&w.member.token, MSGS).await;
    gw.expect_close_code(4005).await;
}

#[tokio::test]
async fn an_invalid_shard_closes_4010() {
    let w = World::new().await;
    for shard in [json!([1, 1]), json!([2, 1]), json!([0, 0])] {
        let mut gw = connect(&w, "bad-shard").await;
        let mut d = identify_d(&w.member.token, MSGS);
        d["shard"] = shard;
        gw.identify_with(d).await;
        gw.expect_close_code(4010).await;
    }
}

#[tokio::test]
async fn an_unsupported_version_closes_4012() {
    let server = Server::start().await;
    let url = gateway_url(&server.api()).await;
    for v in ["8", "11", "abc"] {
        let mut gw = Gateway::open(&url, Options::default().version(v).label(v)).await;
        gw.expect_close_code(4012).await;
    }
}

#[tokio::test]
async fn undefined_intent_bits_close_4013() {
    let w = World::new().await;
    for bad in [1u64 << 17, 1 << 22, 1 << 30, intents::GUILDS | (1 << 40)] {
        let mut gw = connect(&w, "bad-intents").await;
        gw.identify(&w.member.token, bad).await;
        gw.expect_close_code(4013).await;
    }
}

#[tokio::test]
async fn privileged_intents_need_the_application_flags_closing_4014() {
    let w = World::new().await;
    let api = &w.api;
    let (app, bot) = api.create_bot(&w.owner, "Privy").await;
    let app_id = str_field(&app, "id");
    api.authorize_bot(&w.owner, &w.guild_id, &app_id, perm::VIEW_CHANNEL)
        .await
        .expect(200);
    for privileged in [
        intents::GUILD_MEMBERS,
        intents::GUILD_PRESENCES,
        intents::MESSAGE_CONTENT,
    ] {
        let mut gw = connect(&w, "bot-privileged").await;
        gw.identify(&bot.token, intents::GUILDS | privileged).await;
        gw.expect_close_code(4014).await;
    }

    // With every flag, every intent is allowed.
    use crate::gateway_client::app_flags as f;
    api.patch(
        &format!("/applications/{app_id}"),
        w.owner.auth(),
        Some(json!({"flags": f::GATEWAY_PRESENCE | f::GATEWAY_GUILD_MEMBERS_LIMITED | f::GATEWAY_MESSAGE_CONTENT})),
    )
    .await
    .expect(200);
    login_opts(api, &bot, intents::ALL, Options::default().label("bot-all")).await;

    // Only the enabled ones: members flag alone does not unlock presences.
    api.patch(
        &format!("/applications/{app_id}"),
        w.owner.auth(),
        Some(json!({"flags": f::GATEWAY_GUILD_MEMBERS})),
    )
    .await
    .expect(200);
    login_opts(
        api,
        &bot,
        intents::GUILDS | intents::GUILD_MEMBERS,
        Options::default().label("bot-members"),
    )
    .await;
    let mut gw = connect(&w, "bot-presences").await;
    gw.identify(&bot.token, intents::GUILDS | intents::GUILD_PRESENCES)
        .await;
    gw.expect_close_code(4014).await;

    // Users may ask for any defined intent.
    login_opts(
        api,
        &w.member,
        intents::ALL,
        Options::default().label("user-all"),
    )
    .await;
}

#[tokio::test]
async fn more_than_120_payloads_a_minute_close_4008() {
    let w = World::new().await;
    // Identify plus 119 heartbeats is 120 payloads: allowed.
    let mut gw = identified(&w, "busy").await;
    for _ in 0..119 {
        gw.send_op(op::HEARTBEAT, Value::Null).await;
    }
    for _ in 0..119 {
        gw.expect_op(op::HEARTBEAT_ACK, EVENT_TIMEOUT).await;
    }
    still_receives(&w, &mut gw, "at the limit").await;
    // The 121st is one too many.
    gw.send_op(op::HEARTBEAT, Value::Null).await;
    gw.expect_close_code(4008).await;

    // 121 heartbeats in a row on a fresh connection.
    let mut gw = connect(&w, "flood").await;
    for _ in 0..121 {
        let _ = gw.try_send(json!({"op": op::HEARTBEAT, "d": null})).await;
    }
    gw.expect_close_code(4008).await;
}

#[tokio::test]
async fn misbehaving_connections_never_disturb_another_live_session() {
    let w = World::new().await;
    let mut victim = identified(&w, "victim").await;

    // Garbage text, from an identified connection of the same user.
    let mut bad = identified(&w, "garbage").await;
    bad.send_raw(Message::text("this is not json at all }{"))
        .await
        .unwrap();
    bad.expect_close_code(4002).await;
    still_receives(&w, &mut victim, "after garbage").await;

    // A binary frame on a JSON connection, before Identify.
    let mut bad = connect(&w, "binary").await;
    bad.send_raw(Message::binary(vec![0u8, 1, 2, 3, 255, 254]))
        .await
        .unwrap();
    bad.expect_close_code(4002).await;
    still_receives(&w, &mut victim, "after binary").await;

    // A 10 KB frame.
    let mut bad = identified(&w, "huge").await;
    bad.send_raw(Message::text(format!(
        "{{\"op\":1,\"d\":\"{}\"}}",
        "y".repeat(10 * 1024)
    )))
    .await
    .unwrap();
    bad.expect_close_code(4002).await;
    still_receives(&w, &mut victim, "after huge").await;

    // A flood, from another user.
    let mut bad = login_opts(&w.api, &w.owner, MSGS, Options::default().label("flood")).await;
    for _ in 0..200 {
        if bad
            .try_send(json!({"op": op::HEARTBEAT, "d": null}))
            .await
            .is_err()
        {
            break;
        }
    }
    bad.expect_close_code(4008).await;
    still_receives(&w, &mut victim, "after flood").await;

    // The victim's connection itself is fine.
    victim.assert_alive().await;
}
