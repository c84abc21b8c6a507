//! Per-account session limits: connected sessions, dropped-but-resumable
//! sessions, the resume buffer's bytes, and Discord's `session_start_limit`
//! (reported by `GET /gateway/bot` and enforced at Identify).

use std::time::Duration;

use serde_json::Value;

use crate::gateway_client::{
    gateway_url, intents, login, op, Gateway, Options, SessionInfo, EVENT_TIMEOUT,
};
use crate::harness::{Server, User, World};

const MSGS: u64 = intents::GUILDS | intents::GUILD_MESSAGES;

async fn world(args: &[&str]) -> World {
    let mut all = vec!["--rate-limits", "off"];
    all.extend_from_slice(args);
    World::on(Server::start_with(&all, &[]).await).await
}

/// A connection that sends Identify for `user`, READY not awaited.
async fn identify(w: &World, user: &User, label: &str) -> Gateway {
    let url = gateway_url(&w.api).await;
    let mut gw = Gateway::connect(&url, Options::default().label(label)).await;
    gw.identify(&user.token, MSGS).await;
    gw
}

async fn resume(info: &SessionInfo, label: &str) -> Gateway {
    let mut gw = Gateway::connect(&info.resume_url, Options::default().label(label)).await;
    gw.resume(info).await;
    gw
}

#[tokio::test]
async fn an_identify_beyond_the_connected_sessions_of_an_account_closes_4008() {
    let w = world(&["--max-sessions-per-user", "3"]).await;
    let mut open = Vec::new();
    for i in 0..3 {
        open.push(login(&w.api, &w.member, MSGS).await);
        open[i].assert_alive().await;
    }
    let mut fourth = identify(&w, &w.member, "fourth").await;
    fourth.expect_close_code(4008).await;
    // Another account is not affected, and a closed session frees its place.
    login(&w.api, &w.owner, MSGS).await.assert_alive().await;
    open.pop().expect("three sessions").close(1000).await;
    login(&w.api, &w.member, MSGS).await.assert_alive().await;
}

#[tokio::test]
async fn dropped_sessions_beyond_the_resumable_limit_end_longest_dropped_first() {
    let w = world(&["--max-resumable-per-user", "2"]).await;
    let mut infos = Vec::new();
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let gw = login(&w.api, &w.member, MSGS).await;
        infos.push(gw.session_info());
        sessions.push(gw);
    }
    for gw in sessions {
        gw.drop_tcp().await;
        // Drops in a known order: the server sees each one before the next.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut first = resume(&infos[0], "first-dropped").await;
    let f = first.expect_op(op::INVALID_SESSION, EVENT_TIMEOUT).await;
    assert_eq!(f.d, Value::Bool(false));
    for (i, info) in infos.iter().enumerate().skip(1) {
        let mut gw = resume(info, &format!("dropped-{i}")).await;
        gw.expect_dispatch("RESUMED", EVENT_TIMEOUT).await;
    }
}

#[tokio::test]
async fn a_resume_buffer_holds_at_most_its_bytes() {
    let w = world(&["--resume-buffer-bytes", "8000"]).await;
    let gw = login(&w.api, &w.member, MSGS).await;
    let info = gw.session_info();
    gw.drop_tcp().await;
    // Eight messages of about 2.3 KB each: only the last three fit.
    for i in 0..8 {
        let content = format!("{i}{}", "x".repeat(1990));
        w.api.send(&w.owner, &w.general, &content).await;
    }
    let mut gw = resume(&info, "resumed").await;
    let f = gw.expect_op(op::INVALID_SESSION, EVENT_TIMEOUT).await;
    assert_eq!(
        f.d,
        Value::Bool(false),
        "the missed messages are no longer all there"
    );
}

async fn session_start_limit(w: &World, bot: &User) -> Value {
    w.api.get("/gateway/bot", bot.auth()).await.expect(200)["session_start_limit"].clone()
}

#[tokio::test]
async fn a_bots_session_start_limit_is_reported_and_enforced() {
    let w = world(&["--session-start-limit", "3"]).await;
    let (_, bot) = w.api.create_bot(&w.owner, "budget").await;
    let limit = session_start_limit(&w, &bot).await;
    assert_eq!(limit["total"], 3, "{limit}");
    assert_eq!(limit["remaining"], 3, "{limit}");
    for _ in 0..2 {
        login(&w.api, &bot, MSGS).await.close(1000).await;
    }
    let limit = session_start_limit(&w, &bot).await;
    assert_eq!(limit["remaining"], 1, "{limit}");
    let reset = limit["reset_after"].as_u64().expect("reset_after");
    assert!(reset > 0 && reset <= 86_400_000, "within a day: {limit}");
    login(&w.api, &bot, MSGS).await.close(1000).await;
    let mut over = identify(&w, &bot, "over-budget").await;
    over.expect_close_code(4008).await;
    assert_eq!(session_start_limit(&w, &bot).await["remaining"], 0);
}

#[tokio::test]
async fn identifies_beyond_max_concurrency_get_op_9() {
    let w = world(&["--identify-max-concurrency", "1"]).await;
    let (_, bot) = w.api.create_bot(&w.owner, "hasty").await;
    assert_eq!(session_start_limit(&w, &bot).await["max_concurrency"], 1);
    let mut first = login(&w.api, &bot, MSGS).await;
    let mut second = identify(&w, &bot, "second").await;
    let f = second.expect_op(op::INVALID_SESSION, EVENT_TIMEOUT).await;
    assert_eq!(f.d, Value::Bool(false));
    first.assert_alive().await;
}
