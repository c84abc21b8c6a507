//! Voice signaling on the main gateway: op 4 joins, moves and leaves voice
//! channels; the guild hears of it through VOICE_STATE_UPDATE, the joiner
//! gets VOICE_SERVER_UPDATE with a signed token, GUILD_CREATE lists who is
//! in voice, and refusals (no CONNECT, a full channel, not a voice channel,
//! not the user's guild) are silent.

use hearth_proto::voice::VoiceClaims;
use serde_json::{json, Value};

use crate::gateway_client::{
    intents, login, login_opts, op, Gateway, Options, EVENT_TIMEOUT, QUIET,
};
use crate::harness::{perm, str_field, Server, User, World};

const VOICE: u64 = intents::GUILDS | intents::GUILD_VOICE_STATES;
const SECRET: &str = "e2e-voice-secret";

/// A world whose server signs voice tokens with [`SECRET`].
async fn world() -> World {
    let server = Server::start_with(&["--rate-limits", "off", "--voice-secret", SECRET], &[]).await;
    World::on(server).await
}

async fn voice_channel(w: &World, name: &str, user_limit: u64) -> String {
    let c = w
        .api
        .create_channel(
            &w.owner,
            &w.guild_id,
            json!({"name": name, "type": 2, "user_limit": user_limit}),
        )
        .await;
    str_field(&c, "id")
}

async fn general_voice(w: &World) -> String {
    w.api.channel_id(&w.owner, &w.guild_id, "General", 2).await
}

/// Sends op 4.
async fn voice_update(gw: &mut Gateway, guild: &str, channel: Option<&str>, self_mute: bool) {
    gw.send_op(
        op::VOICE_STATE_UPDATE,
        json!({"guild_id": guild, "channel_id": channel, "self_mute": self_mute, "self_deaf": false, "self_video": false}),
    )
    .await;
}

fn about<'a>(user: &'a User, channel: Option<&'a str>) -> impl Fn(&Value) -> bool + 'a {
    move |d: &Value| d["user_id"] == user.id.as_str() && d["channel_id"] == json!(channel)
}

/// The VOICE_STATE_UPDATE putting `user` in `channel` (or out, with `None`).
async fn expect_voice_state(gw: &mut Gateway, user: &User, channel: Option<&str>) -> Value {
    gw.expect_dispatch_where("VOICE_STATE_UPDATE", about(user, channel), EVENT_TIMEOUT)
        .await
        .d
}

async fn expect_no_voice_state_of(gw: &mut Gateway, user: &User) {
    gw.expect_no_dispatch_where(
        "VOICE_STATE_UPDATE",
        |d| d["user_id"] == user.id.as_str(),
        QUIET,
    )
    .await;
}

/// VOICE_SERVER_UPDATE: checks its shape and the token's claims.
async fn expect_server_update(gw: &mut Gateway, w: &World, user: &User, channel: &str) -> String {
    let d = gw
        .expect_dispatch("VOICE_SERVER_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(d["guild_id"], w.guild_id.as_str(), "{d}");
    let host = w.server.base_url().trim_start_matches("http://");
    assert_eq!(d["endpoint"], format!("{host}/voice"), "{d}");
    let token = str_field(&d, "token");
    assert!(!token.is_empty(), "{d}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_millis() as u64;
    let claims = VoiceClaims::verify(&token, SECRET.as_bytes(), now)
        .unwrap_or_else(|e| panic!("token {token} does not verify with the server's secret: {e}"));
    assert_eq!(claims.user_id.to_string(), user.id, "{claims:?}");
    assert_eq!(claims.guild_id.to_string(), w.guild_id, "{claims:?}");
    assert_eq!(claims.channel_id.to_string(), channel, "{claims:?}");
    assert_eq!(claims.session_id, gw.session_id(), "{claims:?}");
    assert_eq!(claims.node, "local", "{claims:?}");
    token
}

async fn expect_no_server_update(gw: &mut Gateway) {
    gw.expect_no_dispatch("VOICE_SERVER_UPDATE", QUIET).await;
}

/// The `voice_states` of the guild's GUILD_CREATE in a fresh session of `user`.
async fn voice_states_seen_by(w: &World, user: &User) -> Vec<Value> {
    let gw = login_opts(
        &w.api,
        user,
        intents::GUILDS,
        Options::default().label("fresh identify"),
    )
    .await;
    let states = gw.guild_create(&w.guild_id)["voice_states"].clone();
    states
        .as_array()
        .unwrap_or_else(|| panic!("voice_states must be an array: {states}"))
        .clone()
}

#[tokio::test]
async fn joining_voice_tells_the_guild_and_hands_the_joiner_a_signed_token() {
    let w = world().await;
    let api = &w.api;
    let general = general_voice(&w).await;
    let mut watcher = login(api, &w.owner, VOICE).await;
    let mut without_intent = login_opts(
        api,
        &w.owner,
        intents::GUILDS,
        Options::default().label("no voice intent"),
    )
    .await;
    let mut m = login(api, &w.member, VOICE).await;

    voice_update(&mut m, &w.guild_id, Some(&general), true).await;
    let d = expect_voice_state(&mut watcher, &w.member, Some(&general)).await;
    assert_eq!(d["guild_id"], w.guild_id.as_str(), "{d}");
    assert_eq!(d["session_id"], m.session_id().as_str(), "{d}");
    assert_eq!(d["member"]["user"]["id"], w.member.id.as_str(), "{d}");
    assert_eq!(d["self_mute"], true, "{d}");
    assert_eq!(d["self_deaf"], false, "{d}");
    assert_eq!(d["mute"], false, "{d}");
    assert_eq!(d["deaf"], false, "{d}");
    assert_eq!(d["suppress"], false, "{d}");
    assert!(d["request_to_speak_timestamp"].is_null(), "{d}");
    // The joiner sees its own state too, then its server.
    expect_voice_state(&mut m, &w.member, Some(&general)).await;
    expect_server_update(&mut m, &w, &w.member, &general).await;
    // The server update is for the joiner alone; the state needs the intent.
    expect_no_server_update(&mut watcher).await;
    expect_no_voice_state_of(&mut without_intent, &w.member).await;

    let states = voice_states_seen_by(&w, &w.owner).await;
    assert_eq!(states.len(), 1, "{states:?}");
    let s = &states[0];
    assert_eq!(s["user_id"], w.member.id.as_str(), "{s}");
    assert_eq!(s["channel_id"], general.as_str(), "{s}");
    assert_eq!(s["session_id"], m.session_id().as_str(), "{s}");
    assert_eq!(s["member"]["user"]["id"], w.member.id.as_str(), "{s}");
    assert!(
        s.get("guild_id").is_none(),
        "GUILD_CREATE omits guild_id: {s}"
    );
    assert_eq!(s["self_stream"], false, "{s}");

    // Sharing the screen is told as `self_stream`, as Discord's Go Live.
    m.send_op(
        op::VOICE_STATE_UPDATE,
        json!({"guild_id": w.guild_id, "channel_id": general, "self_mute": true, "self_stream": true}),
    )
    .await;
    let d = watcher
        .expect_dispatch_where(
            "VOICE_STATE_UPDATE",
            |d| d["user_id"] == w.member.id.as_str() && d["self_stream"] == true,
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(d["channel_id"], general.as_str(), "{d}");
    let states = voice_states_seen_by(&w, &w.owner).await;
    assert_eq!(states[0]["self_stream"], true, "{states:?}");
}

#[tokio::test]
async fn moving_muting_and_leaving_voice_are_announced() {
    let w = world().await;
    let api = &w.api;
    let general = general_voice(&w).await;
    let lounge = voice_channel(&w, "Lounge", 0).await;
    let mut watcher = login(api, &w.owner, VOICE).await;
    let mut m = login(api, &w.member, intents::GUILDS).await;

    voice_update(&mut m, &w.guild_id, Some(&general), false).await;
    expect_voice_state(&mut watcher, &w.member, Some(&general)).await;
    let first = expect_server_update(&mut m, &w, &w.member, &general).await;

    // A move: a new state and a new token, for the new channel.
    voice_update(&mut m, &w.guild_id, Some(&lounge), false).await;
    expect_voice_state(&mut watcher, &w.member, Some(&lounge)).await;
    let second = expect_server_update(&mut m, &w, &w.member, &lounge).await;
    assert_ne!(first, second);

    // Muting oneself changes the state; the voice connection keeps its token.
    voice_update(&mut m, &w.guild_id, Some(&lounge), true).await;
    let d = expect_voice_state(&mut watcher, &w.member, Some(&lounge)).await;
    assert_eq!(d["self_mute"], true, "{d}");
    expect_no_server_update(&mut m).await;

    voice_update(&mut m, &w.guild_id, None, false).await;
    let d = expect_voice_state(&mut watcher, &w.member, None).await;
    assert_eq!(d["guild_id"], w.guild_id.as_str(), "{d}");
    expect_no_server_update(&mut m).await;
    assert_eq!(
        voice_states_seen_by(&w, &w.owner).await,
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn a_member_denied_connect_gets_no_token_and_no_state() {
    let w = world().await;
    let api = &w.api;
    let general = general_voice(&w).await;
    api.set_overwrite(&w.owner, &general, &w.member.id, 1, 0, perm::CONNECT)
        .await;
    let mut watcher = login(api, &w.owner, VOICE).await;
    let mut m = login(api, &w.member, VOICE).await;

    voice_update(&mut m, &w.guild_id, Some(&general), false).await;
    expect_no_server_update(&mut m).await;
    expect_no_voice_state_of(&mut watcher, &w.member).await;
    m.assert_alive().await;
    assert_eq!(
        voice_states_seen_by(&w, &w.owner).await,
        Vec::<Value>::new()
    );

    // The channel itself admits those allowed in.
    voice_update(&mut watcher, &w.guild_id, Some(&general), false).await;
    expect_voice_state(&mut watcher, &w.owner, Some(&general)).await;
}

#[tokio::test]
async fn a_full_channel_refuses_members_but_admits_the_owner() {
    let w = world().await;
    let api = &w.api;
    let duo = voice_channel(&w, "Solo", 1).await;
    let second = w.add_member("second").await;
    let mut watcher = login(api, &w.owner, VOICE).await;
    let mut first = login(api, &w.member, intents::GUILDS).await;
    let mut late = login(api, &second, intents::GUILDS).await;

    voice_update(&mut first, &w.guild_id, Some(&duo), false).await;
    expect_server_update(&mut first, &w, &w.member, &duo).await;
    expect_voice_state(&mut watcher, &w.member, Some(&duo)).await;

    voice_update(&mut late, &w.guild_id, Some(&duo), false).await;
    expect_no_server_update(&mut late).await;
    expect_no_voice_state_of(&mut watcher, &second).await;

    // The owner has every permission, MOVE_MEMBERS among them.
    voice_update(&mut watcher, &w.guild_id, Some(&duo), false).await;
    expect_voice_state(&mut watcher, &w.owner, Some(&duo)).await;
    expect_server_update(&mut watcher, &w, &w.owner, &duo).await;

    // Once the others are gone there is room.
    voice_update(&mut first, &w.guild_id, None, false).await;
    expect_voice_state(&mut watcher, &w.member, None).await;
    voice_update(&mut watcher, &w.guild_id, None, false).await;
    expect_voice_state(&mut watcher, &w.owner, None).await;
    voice_update(&mut late, &w.guild_id, Some(&duo), false).await;
    expect_server_update(&mut late, &w, &second, &duo).await;
    expect_voice_state(&mut watcher, &second, Some(&duo)).await;
}

#[tokio::test]
async fn a_session_closed_with_1000_leaves_voice() {
    let w = world().await;
    let api = &w.api;
    let general = general_voice(&w).await;
    let mut watcher = login(api, &w.owner, VOICE).await;
    let mut m = login(api, &w.member, intents::GUILDS).await;

    voice_update(&mut m, &w.guild_id, Some(&general), false).await;
    expect_voice_state(&mut watcher, &w.member, Some(&general)).await;
    m.close(1000).await;
    let d = expect_voice_state(&mut watcher, &w.member, None).await;
    assert_eq!(d["guild_id"], w.guild_id.as_str(), "{d}");
    assert_eq!(
        voice_states_seen_by(&w, &w.owner).await,
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn a_second_session_takes_the_users_voice_state_over() {
    let w = world().await;
    let api = &w.api;
    let general = general_voice(&w).await;
    let mut watcher = login(api, &w.owner, VOICE).await;
    let mut phone = login_opts(
        api,
        &w.member,
        intents::GUILDS,
        Options::default().label("phone"),
    )
    .await;
    let mut desk = login_opts(
        api,
        &w.member,
        intents::GUILDS,
        Options::default().label("desk"),
    )
    .await;

    voice_update(&mut phone, &w.guild_id, Some(&general), false).await;
    expect_server_update(&mut phone, &w, &w.member, &general).await;
    let d = expect_voice_state(&mut watcher, &w.member, Some(&general)).await;
    assert_eq!(d["session_id"], phone.session_id().as_str(), "{d}");

    voice_update(&mut desk, &w.guild_id, Some(&general), false).await;
    expect_server_update(&mut desk, &w, &w.member, &general).await;
    let d = expect_voice_state(&mut watcher, &w.member, Some(&general)).await;
    assert_eq!(d["session_id"], desk.session_id().as_str(), "{d}");

    // The phone no longer holds the state: its end changes nothing.
    phone.close(1000).await;
    expect_no_voice_state_of(&mut watcher, &w.member).await;
    let states = voice_states_seen_by(&w, &w.owner).await;
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(states[0]["session_id"], desk.session_id().as_str());
}

#[tokio::test]
async fn server_mute_kick_and_channel_deletion_reach_voice_states() {
    let w = world().await;
    let api = &w.api;
    let general = general_voice(&w).await;
    let lounge = voice_channel(&w, "Lounge", 0).await;
    let second = w.add_member("second").await;
    let mut watcher = login(api, &w.owner, VOICE).await;
    let mut m = login(api, &w.member, intents::GUILDS).await;
    let mut s = login(api, &second, intents::GUILDS).await;

    voice_update(&mut m, &w.guild_id, Some(&general), false).await;
    expect_voice_state(&mut watcher, &w.member, Some(&general)).await;
    voice_update(&mut s, &w.guild_id, Some(&lounge), false).await;
    expect_voice_state(&mut watcher, &second, Some(&lounge)).await;

    api.patch(
        &w.g(&format!("/members/{}", w.member.id)),
        w.owner.auth(),
        Some(json!({"mute": true})),
    )
    .await
    .expect(200);
    let d = expect_voice_state(&mut watcher, &w.member, Some(&general)).await;
    assert_eq!(d["mute"], true, "{d}");

    api.delete(&w.g(&format!("/members/{}", w.member.id)), w.owner.auth())
        .await
        .expect(204);
    expect_voice_state(&mut watcher, &w.member, None).await;

    api.delete(&format!("/channels/{lounge}"), w.owner.auth())
        .await
        .expect(200);
    expect_voice_state(&mut watcher, &second, None).await;
    assert_eq!(
        voice_states_seen_by(&w, &w.owner).await,
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn op4_for_a_text_channel_or_a_foreign_guild_is_ignored() {
    let w = world().await;
    let api = &w.api;
    let general = general_voice(&w).await;
    let elsewhere = api.create_guild(&w.owner, "Elsewhere").await;
    let elsewhere_id = str_field(&elsewhere, "id");
    let elsewhere_voice = api.channel_id(&w.owner, &elsewhere_id, "General", 2).await;
    let mut watcher = login(api, &w.owner, VOICE).await;
    let mut m = login(api, &w.member, VOICE).await;

    voice_update(&mut m, &w.guild_id, Some(&w.general), false).await;
    voice_update(&mut m, &elsewhere_id, Some(&elsewhere_voice), false).await;
    voice_update(&mut m, &w.guild_id, Some(crate::harness::UNKNOWN_ID), false).await;
    expect_no_server_update(&mut m).await;
    expect_no_voice_state_of(&mut watcher, &w.member).await;
    m.assert_alive().await;

    // The session is none the worse for it.
    voice_update(&mut m, &w.guild_id, Some(&general), false).await;
    expect_server_update(&mut m, &w, &w.member, &general).await;
}

#[tokio::test]
async fn moderators_move_and_disconnect_members_in_voice() {
    let w = world().await;
    let api = &w.api;
    let general = general_voice(&w).await;
    let lounge = voice_channel(&w, "Lounge", 0).await;
    let member = w.g(&format!("/members/{}", w.member.id));
    let mut watcher = login(api, &w.owner, VOICE).await;
    let mut m = login(api, &w.member, intents::GUILDS).await;

    // Not in voice: Discord's 40032.
    api.patch(&member, w.owner.auth(), Some(json!({"channel_id": lounge})))
        .await
        .expect_error(400, 40032);

    voice_update(&mut m, &w.guild_id, Some(&general), false).await;
    expect_voice_state(&mut watcher, &w.member, Some(&general)).await;
    let first = expect_server_update(&mut m, &w, &w.member, &general).await;

    // The member may not move others.
    let owner = w.g(&format!("/members/{}", w.owner.id));
    api.patch(&owner, w.member.auth(), Some(json!({"channel_id": lounge})))
        .await
        .expect_error(403, 50013);
    // A text channel is no destination.
    api.patch(
        &member,
        w.owner.auth(),
        Some(json!({"channel_id": w.general})),
    )
    .await
    .expect_field_error(&["channel_id"]);

    // The owner moves the member: the guild sees the new channel and the
    // member's session gets a token for it.
    api.patch(&member, w.owner.auth(), Some(json!({"channel_id": lounge})))
        .await
        .expect(200);
    expect_voice_state(&mut watcher, &w.member, Some(&lounge)).await;
    let second = expect_server_update(&mut m, &w, &w.member, &lounge).await;
    assert_ne!(first, second);

    // And disconnects them.
    api.patch(&member, w.owner.auth(), Some(json!({"channel_id": null})))
        .await
        .expect(200);
    expect_voice_state(&mut watcher, &w.member, None).await;
    assert_eq!(
        voice_states_seen_by(&w, &w.owner).await,
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn voice_regions_list_the_nodes_region_and_rtc_region_must_be_a_region_name() {
    let w = world().await;
    let regions = w
        .api
        .get("/voice/regions", w.owner.auth())
        .await
        .expect(200);
    assert_eq!(
        regions,
        json!([{"id": "default", "name": "default", "optimal": true, "deprecated": false, "custom": false}])
    );
    w.api.get("/voice/regions", None).await.expect_error(401, 0);
    let path = format!("/guilds/{}/channels", w.guild_id);
    w.api
        .post(
            &path,
            w.owner.auth(),
            Some(json!({"name": "Stage", "type": 2, "rtc_region": "eu west!"})),
        )
        .await
        .expect_field_error(&["rtc_region"]);
    let ok = w
        .api
        .post(
            &path,
            w.owner.auth(),
            Some(json!({"name": "Stage", "type": 2, "rtc_region": "eu-west"})),
        )
        .await
        .expect(201);
    assert_eq!(ok["rtc_region"], "eu-west");
}
