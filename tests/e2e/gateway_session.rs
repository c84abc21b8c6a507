//! Gateway basics: discovery endpoints, Hello, Identify → READY and the
//! GUILD_CREATEs that follow, heartbeats, bots and their application, shards,
//! intents filtering and op 4.

use std::time::Duration;

use serde_json::{json, Value};

use crate::gateway_client::{
    gateway_url, identify_d, intents, login, login_opts, op, Gateway, Options, EVENT_TIMEOUT, QUIET,
};
use crate::harness::{perm, str_field, Server, World};

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {list}"))
        .iter()
        .map(|v| str_field(v, "id"))
        .collect()
}

fn member_ids(gc: &Value) -> Vec<String> {
    gc["members"]
        .as_array()
        .unwrap_or_else(|| panic!("GUILD_CREATE.members must be an array: {gc}"))
        .iter()
        .map(|m| str_field(&m["user"], "id"))
        .collect()
}

#[tokio::test]
async fn gateway_endpoints_point_at_this_server() {
    let w = World::new().await;
    let api = &w.api;
    let port = w
        .server
        .base_url()
        .strip_prefix("http://127.0.0.1:")
        .expect("server on 127.0.0.1")
        .to_string();

    let url = gateway_url(api).await;
    assert_eq!(url, format!("ws://127.0.0.1:{port}/gateway"));

    let (_app, bot) = api.create_bot(&w.owner, "Gatebot").await;
    let body = api.get("/gateway/bot", bot.auth()).await.expect(200);
    assert_eq!(body["url"], url.as_str());
    assert_eq!(body["shards"], 1);
    let limit = &body["session_start_limit"];
    for key in ["total", "remaining", "reset_after", "max_concurrency"] {
        assert!(
            limit[key].is_u64(),
            "session_start_limit.{key} must be a non-negative integer: {body}"
        );
    }
    assert!(limit["max_concurrency"].as_u64().unwrap() >= 1, "{body}");
    assert!(
        limit["remaining"].as_u64().unwrap() <= limit["total"].as_u64().unwrap(),
        "{body}"
    );

    let r = api.get("/gateway/bot", None).await;
    assert_eq!(
        r.status.as_u16(),
        401,
        "/gateway/bot without auth: {}",
        r.text
    );
}

#[tokio::test]
async fn hello_comes_first_with_the_configured_heartbeat_interval() {
    let server = Server::start().await;
    let url = gateway_url(&server.api()).await;
    let gw = Gateway::connect(&url, Options::default()).await;
    assert_eq!(gw.heartbeat_interval(), 41_250, "default interval");
    drop(gw);

    let server = Server::start_with(
        &["--rate-limits", "off", "--heartbeat-interval-ms", "1000"],
        &[],
    )
    .await;
    let url = gateway_url(&server.api()).await;
    let gw = Gateway::connect(&url, Options::default()).await;
    assert_eq!(gw.heartbeat_interval(), 1000);

    // v=9 is accepted as well as v=10.
    let gw9 = Gateway::connect(&url, Options::default().version("9")).await;
    assert_eq!(gw9.heartbeat_interval(), 1000);
}

#[tokio::test]
async fn heartbeat_is_acknowledged_before_and_after_identify() {
    let w = World::new().await;
    let url = gateway_url(&w.api).await;
    let mut gw = Gateway::connect(&url, Options::default().silent()).await;
    gw.send_op(op::HEARTBEAT, Value::Null).await;
    let ack = gw.expect_op(op::HEARTBEAT_ACK, EVENT_TIMEOUT).await;
    assert!(ack.s.is_none() && ack.t.is_none());

    gw.identify(&w.member.token, intents::GUILDS).await;
    gw.await_ready(intents::GUILDS).await;
    let seq = gw.last_seq.expect("saw READY");
    gw.send_op(op::HEARTBEAT, json!(seq)).await;
    gw.expect_op(op::HEARTBEAT_ACK, EVENT_TIMEOUT).await;
}

#[tokio::test]
async fn ready_and_guild_create_describe_the_session_and_hide_invisible_channels() {
    let w = World::new().await;
    let api = &w.api;
    let secret = api.text_channel(&w.owner, &w.guild_id, "secret").await;
    api.set_overwrite(&w.owner, &secret, &w.member.id, 1, 0, perm::VIEW_CHANNEL)
        .await;
    let other_guild = api.create_guild(&w.owner, "Second Guild").await;
    let other_guild_id = str_field(&other_guild, "id");

    let mut gw = login(
        api,
        &w.member,
        intents::GUILDS | intents::GUILD_MESSAGES | intents::GUILD_PRESENCES,
    )
    .await;
    let ready = gw.ready.clone().unwrap();
    assert_eq!(ready["v"], 10);
    assert_eq!(ready["user"]["id"], w.member.id.as_str());
    assert_eq!(ready["user"]["username"], "member");
    assert_eq!(
        ready["guilds"],
        json!([{"id": w.guild_id, "unavailable": true}]),
        "READY lists the member's only guild as an unavailable stub"
    );
    assert!(ready["resume_gateway_url"]
        .as_str()
        .unwrap()
        .starts_with("ws://127.0.0.1:"));
    assert!(
        ready.get("application").map(Value::is_null).unwrap_or(true),
        "users have no application in READY: {ready}"
    );

    let gc = gw.guild_create(&w.guild_id).clone();
    assert_eq!(gc["name"], "Hearth Test Guild");
    assert_eq!(gc["owner_id"], w.owner.id.as_str());
    assert_eq!(gc["unavailable"], false);
    assert_eq!(gc["large"], false);
    assert_eq!(gc["member_count"], 2);
    assert!(gc["joined_at"].is_string(), "joined_at: {gc}");
    let mut members = member_ids(&gc);
    members.sort();
    let mut want = vec![w.owner.id.clone(), w.member.id.clone()];
    want.sort();
    assert_eq!(members, want);
    let channels = ids(&gc["channels"]);
    assert!(
        channels.contains(&w.general),
        "general listed: {channels:?}"
    );
    assert!(
        !channels.contains(&secret),
        "a channel the member cannot view is not in GUILD_CREATE: {channels:?}"
    );
    for c in gc["channels"].as_array().unwrap() {
        assert!(c["guild_id"].is_null() || c["guild_id"] == w.guild_id.as_str());
    }
    let roles = ids(&gc["roles"]);
    assert!(roles.contains(&w.guild_id), "@everyone in roles: {roles:?}");
    assert_eq!(gc["voice_states"], json!([]));
    assert_eq!(gc["threads"], json!([]));
    assert!(gc["presences"].is_array());
    // The session is online, so it is among the presences.
    assert!(
        gc["presences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["user"]["id"] == w.member.id.as_str()),
        "own presence listed: {gc}"
    );

    // Nothing else is pending: exactly one GUILD_CREATE, s = 2.
    assert_eq!(gw.last_seq, Some(2));
    gw.expect_no_dispatch("GUILD_CREATE", QUIET).await;

    // The owner sees both guilds, and the secret channel.
    let gw_owner = login(api, &w.owner, intents::GUILDS).await;
    let ready = gw_owner.ready.clone().unwrap();
    let mut guilds = ids(&ready["guilds"]);
    guilds.sort();
    let mut want = vec![w.guild_id.clone(), other_guild_id.clone()];
    want.sort();
    assert_eq!(guilds, want);
    for g in ready["guilds"].as_array().unwrap() {
        assert_eq!(g["unavailable"], true);
    }
    assert_eq!(gw_owner.guild_creates.len(), 2);
    let channels = ids(&gw_owner.guild_create(&w.guild_id)["channels"]);
    assert!(
        channels.contains(&secret),
        "owner sees secret: {channels:?}"
    );
    assert_ne!(
        gw_owner.session_id(),
        gw.session_id(),
        "session ids are unique"
    );
}

#[tokio::test]
async fn guild_create_lists_at_most_large_threshold_members() {
    let w = World::new().await;
    let api = &w.api;
    // 51 members in all (owner, member and 49 more) is over the default 50.
    let inv = api
        .create_invite(&w.owner, &w.general, json!({"max_uses": 0, "max_age": 0}))
        .await;
    let code = str_field(&inv, "code");
    for i in 0..49 {
        let u = api.register(&format!("crowd{i:02}")).await;
        api.join(&u, &code).await.expect(200);
    }
    let gw = login(api, &w.member, intents::GUILDS).await;
    let gc = gw.guild_create(&w.guild_id);
    assert_eq!(gc["member_count"], 51);
    assert_eq!(gc["large"], true);
    let listed = member_ids(gc);
    assert!(
        listed.len() <= 50,
        "at most large_threshold members listed, got {}",
        listed.len()
    );

    let url = gateway_url(api).await;
    let mut gw = Gateway::connect(&url, Options::default()).await;
    let mut d = identify_d(&w.member.token, intents::GUILDS);
    d["large_threshold"] = json!(250);
    gw.identify_with(d).await;
    gw.await_ready(intents::GUILDS).await;
    let gc = gw.guild_create(&w.guild_id);
    assert_eq!(gc["large"], false, "51 members is not large at 250");
    assert_eq!(member_ids(gc).len(), 51);
}

#[tokio::test]
async fn bots_identify_with_their_raw_token_and_get_their_application() {
    let w = World::new().await;
    let api = &w.api;
    let (app, bot) = api.create_bot(&w.owner, "Gatebot").await;
    let app_id = str_field(&app, "id");
    api.authorize_bot(
        &w.owner,
        &w.guild_id,
        &app_id,
        perm::VIEW_CHANNEL | perm::SEND_MESSAGES,
    )
    .await
    .expect(200);

    let gw = login(api, &bot, intents::GUILDS | intents::GUILD_MESSAGES).await;
    let ready = gw.ready.clone().unwrap();
    assert_eq!(ready["user"]["id"], bot.id.as_str());
    assert_eq!(ready["user"]["bot"], true);
    assert_eq!(ready["application"]["id"], app_id.as_str());
    assert!(
        ready["application"]["flags"].is_u64(),
        "application.flags is an integer: {ready}"
    );
    assert_eq!(
        ready["guilds"],
        json!([{"id": w.guild_id, "unavailable": true}])
    );
    let gc = gw.guild_create(&w.guild_id);
    assert!(member_ids(gc).contains(&bot.id));
}

#[tokio::test]
async fn shard_zero_of_one_is_accepted() {
    let w = World::new().await;
    let url = gateway_url(&w.api).await;
    let mut gw = Gateway::connect(&url, Options::default()).await;
    let mut d = identify_d(&w.member.token, intents::GUILDS);
    d["shard"] = json!([0, 1]);
    gw.identify_with(d).await;
    gw.await_ready(intents::GUILDS).await;
    assert_eq!(gw.guild_creates.len(), 1);
}

#[tokio::test]
async fn identify_with_an_initial_presence_is_accepted() {
    let w = World::new().await;
    let url = gateway_url(&w.api).await;
    let mut gw = Gateway::connect(&url, Options::default()).await;
    // GUILD_CREATE lists presences only for sessions with GUILD_PRESENCES.
    let wanted = intents::GUILDS | intents::GUILD_PRESENCES;
    let mut d = identify_d(&w.member.token, wanted);
    d["presence"] = json!({"status": "dnd", "activities": [], "since": null, "afk": false});
    gw.identify_with(d).await;
    gw.await_ready(wanted).await;
    let gc = gw.guild_create(&w.guild_id);
    let mine = gc["presences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user"]["id"] == w.member.id.as_str())
        .unwrap_or_else(|| panic!("own presence in GUILD_CREATE: {gc}"))
        .clone();
    assert_eq!(mine["status"], "dnd");
}

#[tokio::test]
async fn a_session_without_guild_messages_gets_no_message_create() {
    let w = World::new().await;
    let api = &w.api;
    let mut plain = login_opts(
        api,
        &w.member,
        intents::GUILDS,
        Options::default().label("guilds-only"),
    )
    .await;
    let mut full = login_opts(
        api,
        &w.member,
        intents::GUILDS | intents::GUILD_MESSAGES,
        Options::default().label("with-messages"),
    )
    .await;
    let m = api.send(&w.owner, &w.general, "filtered by intents").await;
    let id = str_field(&m, "id");
    full.expect_dispatch_where("MESSAGE_CREATE", |d| d["id"] == id.as_str(), EVENT_TIMEOUT)
        .await;
    plain.expect_no_dispatch("MESSAGE_CREATE", QUIET).await;

    // Without GUILDS, structural guild events are filtered too.
    let mut msgs_only = login_opts(
        api,
        &w.member,
        intents::GUILD_MESSAGES,
        Options::default().label("messages-only"),
    )
    .await;
    api.create_role(&w.owner, &w.guild_id, json!({"name": "quiet"}))
        .await;
    full.expect_dispatch("GUILD_ROLE_CREATE", EVENT_TIMEOUT)
        .await;
    msgs_only
        .expect_no_dispatch("GUILD_ROLE_CREATE", QUIET)
        .await;

    // And without GUILD_MESSAGE_TYPING, no TYPING_START.
    api.post(
        &format!("/channels/{}/typing", w.general),
        w.owner.auth(),
        None,
    )
    .await
    .expect(204);
    full.expect_no_dispatch("TYPING_START", QUIET).await;
}

#[tokio::test]
async fn user_update_reaches_own_sessions_whatever_the_intents() {
    let w = World::new().await;
    let api = &w.api;
    let mut gw = login(api, &w.member, 0).await;
    api.patch(
        "/users/@me",
        w.member.auth(),
        Some(json!({"global_name": "Member Prime"})),
    )
    .await
    .expect(200);
    let ev = gw.expect_dispatch("USER_UPDATE", EVENT_TIMEOUT).await;
    assert_eq!(ev.d["id"], w.member.id.as_str());
    assert_eq!(ev.d["global_name"], "Member Prime");
}

#[tokio::test]
async fn voice_state_update_does_not_disturb_the_session() {
    let w = World::new().await;
    let api = &w.api;
    let mut gw = login(api, &w.member, intents::GUILDS | intents::GUILD_MESSAGES).await;
    gw.send_op(
        op::VOICE_STATE_UPDATE,
        json!({
            "guild_id": w.guild_id,
            "channel_id": null,
            "self_mute": false,
            "self_deaf": false,
        }),
    )
    .await;
    gw.expect_open(QUIET).await;
    gw.assert_alive().await;
    let m = api.send(&w.owner, &w.general, "after voice").await;
    let id = str_field(&m, "id");
    gw.expect_dispatch_where("MESSAGE_CREATE", |d| d["id"] == id.as_str(), EVENT_TIMEOUT)
        .await;
}

#[tokio::test]
async fn a_shutting_down_node_tells_clients_to_reconnect_and_exits_cleanly() {
    let mut w = World::new().await;
    let mut gw = login(&w.api, &w.member, intents::GUILDS).await;
    let status = w.server.terminate();
    gw.expect_op(op::RECONNECT, Duration::from_secs(5)).await;
    assert!(status.success(), "hearth exited with {status}");
}
