//! Connections that never identify: heartbeats alone do not keep them, and
//! the identify deadline closes them with 4003 (compressed or not).

use std::time::Duration;

use crate::gateway_client::{gateway_url, intents, op, Gateway, Options, EVENT_TIMEOUT};
use crate::harness::{str_field, Server, World};

const MSGS: u64 = intents::GUILDS | intents::GUILD_MESSAGES;

/// Heartbeats every 225 ms; the identify deadline is 1.5 s after Hello.
async fn world() -> World {
    let server = Server::start_with(
        &[
            "--rate-limits",
            "off",
            "--heartbeat-interval-ms",
            "300",
            "--identify-timeout-ms",
            "1500",
        ],
        &[],
    )
    .await;
    World::on(server).await
}

#[tokio::test]
async fn heartbeats_alone_do_not_keep_an_unidentified_connection_open() {
    let w = world().await;
    let url = gateway_url(&w.api).await;
    for opts in [
        Options::default().label("json"),
        Options::default().zstd().label("zstd"),
    ] {
        let mut gw = Gateway::connect(&url, opts).await;
        // The connection is alive and answered: its heartbeats are acknowledged.
        gw.expect_op(op::HEARTBEAT_ACK, EVENT_TIMEOUT).await;
        gw.expect_close_code(4003).await;
    }
}

#[tokio::test]
async fn a_zstd_connection_that_identifies_in_time_lives_past_the_deadline() {
    let w = world().await;
    let url = gateway_url(&w.api).await;
    let mut gw = Gateway::connect(&url, Options::default().zstd().label("zstd")).await;
    // Compressed payloads before Identify (Hello, ACKs) and after it (READY,
    // dispatches) decode with the one context the client keeps.
    gw.expect_op(op::HEARTBEAT_ACK, EVENT_TIMEOUT).await;
    gw.identify(&w.member.token, MSGS).await;
    gw.await_ready(MSGS).await;
    gw.expect_open(Duration::from_millis(2500)).await;
    let m = w.api.send(&w.owner, &w.general, "still here").await;
    let id = str_field(&m, "id");
    let d = gw
        .expect_dispatch_where("MESSAGE_CREATE", |d| d["id"] == id.as_str(), EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(d["content"], "still here");
    gw.assert_alive().await;
}

#[tokio::test]
async fn an_invalid_resume_does_not_extend_the_identify_deadline() {
    let w = world().await;
    let url = gateway_url(&w.api).await;
    let mut gw = Gateway::connect(&url, Options::default().label("bad-resume")).await;
    gw.send_op(
        op::RESUME,
        serde_json::json!({"token": w.member.token, "session_id": "nope", "seq": 0}),
    )
    .await;
    gw.expect_op(op::INVALID_SESSION, EVENT_TIMEOUT).await;
    gw.expect_close_code(4003).await;
}
