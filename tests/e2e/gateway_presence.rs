//! Presence as seen by another user sharing a guild: online on Identify,
//! op 3 changes, invisible, and going offline only once the last session is
//! really over (its resume grace ended, or a normal close).

use std::time::Duration;

use serde_json::{json, Value};

use crate::gateway_client::{
    intents, login, login_opts, op, Gateway, Options, EVENT_TIMEOUT, QUIET,
};
use crate::harness::{perm, str_field, Server, User, World};

const WATCH: u64 = intents::GUILDS | intents::GUILD_PRESENCES;

async fn expect_status(watcher: &mut Gateway, user: &User, guild_id: &str, status: &str) -> Value {
    let d = watcher
        .expect_dispatch_where(
            "PRESENCE_UPDATE",
            |d| d["user"]["id"] == user.id.as_str() && d["status"] == status,
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(d["guild_id"], guild_id, "{d}");
    assert!(d["activities"].is_array(), "activities: {d}");
    assert!(d["client_status"].is_object(), "client_status: {d}");
    d
}

async fn expect_no_status(watcher: &mut Gateway, user: &User, status: &str, within: Duration) {
    watcher
        .expect_no_dispatch_where(
            "PRESENCE_UPDATE",
            |d| d["user"]["id"] == user.id.as_str() && d["status"] == status,
            within,
        )
        .await;
}

fn presence(status: &str) -> Value {
    json!({"since": null, "activities": [], "status": status, "afk": false})
}

#[tokio::test]
async fn presence_goes_online_idle_and_offline_only_after_the_grace() {
    let server =
        Server::start_with(&["--rate-limits", "off", "--resume-grace-secs", "3"], &[]).await;
    let w = World::on(server).await;
    let api = &w.api;
    let mut watcher = login(api, &w.owner, WATCH).await;

    let mut gw = login(api, &w.member, intents::GUILDS).await;
    expect_status(&mut watcher, &w.member, &w.guild_id, "online").await;

    gw.send_op(op::PRESENCE_UPDATE, presence("idle")).await;
    expect_status(&mut watcher, &w.member, &w.guild_id, "idle").await;

    gw.send_op(
        op::PRESENCE_UPDATE,
        json!({"since": null, "activities": [{"name": "chess", "type": 0}], "status": "dnd", "afk": false}),
    )
    .await;
    let d = expect_status(&mut watcher, &w.member, &w.guild_id, "dnd").await;
    assert_eq!(d["activities"][0]["name"], "chess", "{d}");

    // The connection drops: still present during the grace, offline after.
    gw.drop_tcp().await;
    expect_no_status(&mut watcher, &w.member, "offline", QUIET).await;
    watcher
        .expect_dispatch_where(
            "PRESENCE_UPDATE",
            |d| d["user"]["id"] == w.member.id.as_str() && d["status"] == "offline",
            Duration::from_secs(8),
        )
        .await;
}

#[tokio::test]
async fn a_user_stays_online_while_any_session_lives() {
    let server =
        Server::start_with(&["--rate-limits", "off", "--resume-grace-secs", "1"], &[]).await;
    let w = World::on(server).await;
    let api = &w.api;
    let mut watcher = login(api, &w.owner, WATCH).await;
    let first = login_opts(
        api,
        &w.member,
        intents::GUILDS,
        Options::default().label("first"),
    )
    .await;
    expect_status(&mut watcher, &w.member, &w.guild_id, "online").await;
    let mut second = login_opts(
        api,
        &w.member,
        intents::GUILDS,
        Options::default().label("second"),
    )
    .await;

    // One of two sessions ends for good: the user is still online.
    first.close(1000).await;
    expect_no_status(&mut watcher, &w.member, "offline", Duration::from_secs(2)).await;

    // The last one ends: offline.
    second.assert_alive().await;
    second.close(1000).await;
    expect_status(&mut watcher, &w.member, &w.guild_id, "offline").await;
}

#[tokio::test]
async fn a_normal_close_takes_the_user_offline_at_once() {
    // The default grace is 120 s: going offline within seconds shows the
    // 1000 close ended the session without waiting for it.
    let w = World::new().await;
    let api = &w.api;
    let mut watcher = login(api, &w.owner, WATCH).await;
    let gw = login(api, &w.member, intents::GUILDS).await;
    expect_status(&mut watcher, &w.member, &w.guild_id, "online").await;
    gw.close(1000).await;
    expect_status(&mut watcher, &w.member, &w.guild_id, "offline").await;
}

#[tokio::test]
async fn resuming_within_the_grace_keeps_the_user_online() {
    let server =
        Server::start_with(&["--rate-limits", "off", "--resume-grace-secs", "2"], &[]).await;
    let w = World::on(server).await;
    let api = &w.api;
    let mut watcher = login(api, &w.owner, WATCH).await;
    let gw = login(api, &w.member, intents::GUILDS).await;
    expect_status(&mut watcher, &w.member, &w.guild_id, "online").await;
    let info = gw.session_info();
    gw.drop_tcp().await;
    let mut gw = Gateway::connect(&info.resume_url, Options::default()).await;
    gw.resume(&info).await;
    gw.expect_dispatch("RESUMED", EVENT_TIMEOUT).await;
    // Past the end of the old connection's grace: no offline.
    expect_no_status(&mut watcher, &w.member, "offline", Duration::from_secs(3)).await;
    gw.assert_alive().await;
}

#[tokio::test]
async fn invisible_appears_offline_to_others() {
    let w = World::new().await;
    let api = &w.api;
    let mut watcher = login(api, &w.owner, WATCH).await;
    let mut gw = login(api, &w.member, intents::GUILDS).await;
    expect_status(&mut watcher, &w.member, &w.guild_id, "online").await;

    gw.send_op(op::PRESENCE_UPDATE, presence("invisible")).await;
    expect_status(&mut watcher, &w.member, &w.guild_id, "offline").await;
    watcher
        .expect_no_dispatch_where("PRESENCE_UPDATE", |d| d["status"] == "invisible", QUIET)
        .await;

    // A new watcher session does not list the invisible user as present.
    let late = login_opts(api, &w.owner, WATCH, Options::default().label("late")).await;
    let gc = late.guild_create(&w.guild_id);
    let listed = gc["presences"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["user"]["id"] == w.member.id.as_str() && p["status"] != "offline");
    assert!(!listed, "invisible user listed as present: {gc}");

    gw.send_op(op::PRESENCE_UPDATE, presence("online")).await;
    expect_status(&mut watcher, &w.member, &w.guild_id, "online").await;
}

#[tokio::test]
async fn presence_updates_need_a_shared_guild_and_for_bots_the_intent() {
    let w = World::new().await;
    let api = &w.api;
    let stranger = api.register("stranger").await;
    let mut outside = login(api, &stranger, WATCH).await;

    let (app, bot) = api.create_bot(&w.owner, "Watcher").await;
    let app_id = str_field(&app, "id");
    api.authorize_bot(&w.owner, &w.guild_id, &app_id, perm::VIEW_CHANNEL)
        .await
        .expect(200);
    let mut bot_plain = login(api, &bot, intents::GUILDS).await;
    api.patch(
        &format!("/applications/{app_id}"),
        w.owner.auth(),
        Some(json!({"flags": crate::gateway_client::app_flags::GATEWAY_PRESENCE})),
    )
    .await
    .expect(200);
    let mut bot_watch = login(api, &bot, WATCH).await;

    let _gw = login(api, &w.member, intents::GUILDS).await;
    expect_status(&mut bot_watch, &w.member, &w.guild_id, "online").await;
    expect_no_status(&mut bot_plain, &w.member, "online", QUIET).await;
    expect_no_status(&mut outside, &w.member, "online", QUIET).await;
}

#[tokio::test]
async fn a_newcomer_who_is_online_is_announced_to_the_guild_and_an_invisible_one_is_not() {
    let w = World::new().await;
    let api = &w.api;
    let mut watcher = login(api, &w.owner, WATCH).await;

    let newcomer = api.register("newcomer").await;
    let _gw = login(api, &newcomer, intents::GUILDS).await;
    api.invite_and_join(&w.owner, &w.general, &newcomer).await;
    expect_status(&mut watcher, &newcomer, &w.guild_id, "online").await;

    let hidden = api.register("hidden").await;
    let mut hidden_gw = login(api, &hidden, intents::GUILDS).await;
    hidden_gw
        .send_op(op::PRESENCE_UPDATE, presence("invisible"))
        .await;
    api.invite_and_join(&w.owner, &w.general, &hidden).await;
    expect_no_status(&mut watcher, &hidden, "online", QUIET).await;
    expect_no_status(&mut watcher, &hidden, "invisible", QUIET).await;
}
