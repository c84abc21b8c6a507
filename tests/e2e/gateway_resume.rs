//! Resuming: replay of missed dispatches with their original sequence
//! numbers, refusals (bad seq, unknown, expired or ended sessions), and the
//! heartbeat timeout that leaves a session resumable.

use std::time::Duration;

use serde_json::json;

use crate::gateway_client::{
    intents, login, op, Gateway, Options, SessionInfo, EVENT_TIMEOUT, QUIET,
};
use crate::harness::{str_field, Server, World};

const MSGS: u64 = intents::GUILDS | intents::GUILD_MESSAGES;

/// How the first connection goes away.
enum Loss {
    DropTcp,
    Close(u16),
}

async fn lose(gw: Gateway, how: Loss) {
    match how {
        Loss::DropTcp => gw.drop_tcp().await,
        Loss::Close(code) => gw.close(code).await,
    }
}

/// Connects to the session's resume URL and sends op 6 for `info`.
async fn resume(info: &SessionInfo, label: &str) -> Gateway {
    let mut gw = Gateway::connect(&info.resume_url, Options::default().label(label)).await;
    gw.resume(info).await;
    gw
}

async fn missed_messages_are_replayed_in_order_then_resumed(how: Loss) {
    let w = World::new().await;
    let api = &w.api;
    let gw = login(api, &w.member, MSGS).await;
    let info = gw.session_info();
    assert_eq!(info.seq, 2, "READY and one GUILD_CREATE");
    lose(gw, how).await;

    let mut ids = Vec::new();
    for i in 0..5 {
        let m = api.send(&w.owner, &w.general, &format!("missed {i}")).await;
        ids.push(str_field(&m, "id"));
    }

    let mut gw = resume(&info, "resumed").await;
    for (i, id) in ids.iter().enumerate() {
        let ev = gw.next_dispatch(EVENT_TIMEOUT).await;
        assert_eq!(ev.t, "MESSAGE_CREATE", "replayed event {i}: {ev:?}");
        assert_eq!(ev.s, info.seq + 1 + i as u64, "original sequence number");
        assert_eq!(ev.d["id"], id.as_str());
        assert_eq!(ev.d["content"], format!("missed {i}"));
    }
    let ev = gw.next_dispatch(EVENT_TIMEOUT).await;
    assert_eq!(ev.t, "RESUMED", "RESUMED follows the replay: {ev:?}");
    assert_eq!(ev.s, info.seq + 6);

    // Nothing is replayed twice, and the session goes on live.
    gw.expect_no_dispatch("MESSAGE_CREATE", QUIET).await;
    let m = api.send(&w.owner, &w.general, "live again").await;
    let ev = gw
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["id"] == str_field(&m, "id").as_str(),
            EVENT_TIMEOUT,
        )
        .await;
    assert_eq!(ev.s, info.seq + 7);
}

#[tokio::test]
async fn resume_after_a_dropped_tcp_connection_replays_missed_messages() {
    missed_messages_are_replayed_in_order_then_resumed(Loss::DropTcp).await;
}

#[tokio::test]
async fn resume_after_a_4000_close_replays_missed_messages() {
    missed_messages_are_replayed_in_order_then_resumed(Loss::Close(4000)).await;
}

#[tokio::test]
async fn resume_with_nothing_missed_is_just_resumed() {
    let w = World::new().await;
    let gw = login(&w.api, &w.member, MSGS).await;
    let info = gw.session_info();
    gw.drop_tcp().await;
    let mut gw = resume(&info, "resumed").await;
    let ev = gw.next_dispatch(EVENT_TIMEOUT).await;
    assert_eq!(ev.t, "RESUMED");
    assert_eq!(ev.s, info.seq + 1);
    gw.assert_alive().await;
}

#[tokio::test]
async fn resume_from_an_earlier_seq_replays_from_there() {
    let w = World::new().await;
    let api = &w.api;
    let mut gw = login(api, &w.member, MSGS).await;
    let m = api.send(&w.owner, &w.general, "seen once").await;
    let id = str_field(&m, "id");
    gw.expect_dispatch_where("MESSAGE_CREATE", |d| d["id"] == id.as_str(), EVENT_TIMEOUT)
        .await;
    let info = gw.session_info();
    assert_eq!(info.seq, 3);
    // The client never acknowledged 3 (no heartbeat since), so it may ask again.
    gw.drop_tcp().await;
    let mut gw = Gateway::connect(&info.resume_url, Options::default()).await;
    gw.resume_at(&info, 2).await;
    let ev = gw.next_dispatch(EVENT_TIMEOUT).await;
    assert_eq!(ev.t, "MESSAGE_CREATE");
    assert_eq!(ev.s, 3);
    assert_eq!(ev.d["id"], id.as_str());
    let ev = gw.next_dispatch(EVENT_TIMEOUT).await;
    assert_eq!(ev.t, "RESUMED");
}

#[tokio::test]
async fn resume_with_a_seq_never_sent_closes_4007() {
    let w = World::new().await;
    let gw = login(&w.api, &w.member, MSGS).await;
    let info = gw.session_info();
    gw.drop_tcp().await;
    let mut gw = Gateway::connect(&info.resume_url, Options::default()).await;
    gw.resume_at(&info, info.seq + 1000).await;
    gw.expect_close_code(4007).await;
}

async fn expect_invalid_session(gw: &mut Gateway) {
    let f = gw.expect_op(op::INVALID_SESSION, EVENT_TIMEOUT).await;
    assert_eq!(f.d, json!(false), "op 9 must say not resumable: {}", f.raw);
}

#[tokio::test]
async fn resume_of_an_unknown_session_is_an_invalid_session() {
    let w = World::new().await;
    let gw = login(&w.api, &w.member, MSGS).await;
    let mut info = gw.session_info();
    info.session_id = "no-such-session-0000000000000000".to_string();
    let mut gw2 = resume(&info, "unknown").await;
    expect_invalid_session(&mut gw2).await;
    // The real session is untouched.
    let mut gw = gw;
    gw.assert_alive().await;
}

#[tokio::test]
async fn resume_after_the_grace_period_is_an_invalid_session() {
    let server =
        Server::start_with(&["--rate-limits", "off", "--resume-grace-secs", "2"], &[]).await;
    let w = World::on(server).await;
    let gw = login(&w.api, &w.member, MSGS).await;
    let info = gw.session_info();
    gw.drop_tcp().await;
    // Well past the 2 s grace.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut gw = resume(&info, "too-late").await;
    expect_invalid_session(&mut gw).await;

    // A fresh Identify on a new connection works.
    let gw = login(&w.api, &w.member, MSGS).await;
    assert_ne!(gw.session_id(), info.session_id);
}

#[tokio::test]
async fn resume_from_a_seq_the_client_already_acknowledged_is_an_invalid_session() {
    // The resume buffer drops what the client acknowledged in a heartbeat, so
    // asking to replay from before that point cannot be served.
    let w = World::new().await;
    let api = &w.api;
    let mut gw = login(api, &w.member, MSGS).await;
    let m = api.send(&w.owner, &w.general, "acknowledged").await;
    let id = str_field(&m, "id");
    gw.expect_dispatch_where("MESSAGE_CREATE", |d| d["id"] == id.as_str(), EVENT_TIMEOUT)
        .await;
    gw.assert_alive().await; // heartbeat d = 3
    let info = gw.session_info();
    gw.drop_tcp().await;
    let mut gw = Gateway::connect(&info.resume_url, Options::default()).await;
    gw.resume_at(&info, 1).await;
    expect_invalid_session(&mut gw).await;
}

async fn normal_close_ends_the_session(code: u16) {
    let w = World::new().await;
    let gw = login(&w.api, &w.member, MSGS).await;
    let info = gw.session_info();
    gw.close(code).await;
    let mut gw = resume(&info, "after-close").await;
    expect_invalid_session(&mut gw).await;
}

#[tokio::test]
async fn a_1000_close_ends_the_session() {
    normal_close_ends_the_session(1000).await;
}

#[tokio::test]
async fn a_1001_close_ends_the_session() {
    normal_close_ends_the_session(1001).await;
}

#[tokio::test]
async fn a_silent_session_is_closed_4009_and_stays_resumable() {
    let server = Server::start_with(
        &["--rate-limits", "off", "--heartbeat-interval-ms", "1000"],
        &[],
    )
    .await;
    let w = World::on(server).await;
    let api = &w.api;
    let url = crate::gateway_client::gateway_url(api).await;
    let mut gw = Gateway::connect(&url, Options::default().silent().label("silent")).await;
    assert_eq!(gw.heartbeat_interval(), 1000);
    gw.identify(&w.member.token, MSGS).await;
    gw.await_ready(MSGS).await;
    let info = gw.session_info();
    gw.expect_close_code(4009).await;

    let m = api.send(&w.owner, &w.general, "while timed out").await;
    let id = str_field(&m, "id");
    let mut gw = resume(&info, "resumed").await;
    let ev = gw.next_dispatch(EVENT_TIMEOUT).await;
    assert_eq!(ev.t, "MESSAGE_CREATE");
    assert_eq!(ev.d["id"], id.as_str());
    let ev = gw.next_dispatch(EVENT_TIMEOUT).await;
    assert_eq!(ev.t, "RESUMED");
}

#[tokio::test]
async fn a_connection_silent_after_hello_is_closed_4009() {
    let server = Server::start_with(
        &["--rate-limits", "off", "--heartbeat-interval-ms", "1000"],
        &[],
    )
    .await;
    let url = crate::gateway_client::gateway_url(&server.api()).await;
    let mut gw = Gateway::connect(&url, Options::default().silent()).await;
    gw.expect_close_code(4009).await;
}

#[tokio::test]
async fn heartbeating_keeps_a_session_open_past_the_timeout() {
    let server = Server::start_with(
        &["--rate-limits", "off", "--heartbeat-interval-ms", "1000"],
        &[],
    )
    .await;
    let w = World::on(server).await;
    // The client heartbeats on its own every 750 ms.
    let mut gw = login(&w.api, &w.member, MSGS).await;
    gw.expect_open(Duration::from_secs(4)).await;
    let m = w.api.send(&w.owner, &w.general, "still here").await;
    let id = str_field(&m, "id");
    gw.expect_dispatch_where("MESSAGE_CREATE", |d| d["id"] == id.as_str(), EVENT_TIMEOUT)
        .await;
}
