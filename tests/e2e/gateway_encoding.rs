//! `encoding=msgpack` (and `etf`) and `compress=zstd-stream`: every payload arrives in a
//! binary frame (checked by the client on every frame), zstd-stream messages
//! share one decoder context for the whole connection and each decodes
//! completely on arrival, and the decoded events equal a JSON session's.

use serde_json::json;

use crate::gateway_client::{intents, login_opts, op, Gateway, Options, EVENT_TIMEOUT};
use crate::harness::{str_field, World};

const MSGS: u64 = intents::GUILDS | intents::GUILD_MESSAGES;

async fn same_events_as_json(opts: Options) {
    let w = World::new().await;
    let api = &w.api;
    let label = opts.label.clone();
    let mut reference = login_opts(api, &w.member, MSGS, Options::default().label("json")).await;
    let mut other = login_opts(api, &w.member, MSGS, opts).await;

    let r1 = reference.ready.clone().unwrap();
    let r2 = other.ready.clone().unwrap();
    assert_eq!(r2["user"], r1["user"], "[{label}] READY.user");
    assert_eq!(r2["guilds"], r1["guilds"], "[{label}] READY.guilds");
    assert_eq!(r2["v"], 10);
    assert!(r2["session_id"].is_string(), "[{label}] ids stay strings");
    let g1 = reference.guild_create(&w.guild_id).clone();
    let g2 = other.guild_create(&w.guild_id).clone();
    assert_eq!(g2["id"], g1["id"]);
    assert_eq!(
        g2["channels"], g1["channels"],
        "[{label}] GUILD_CREATE.channels"
    );
    assert_eq!(g2["roles"], g1["roles"], "[{label}] GUILD_CREATE.roles");

    // Several messages, so later ones depend on the stream's earlier state.
    for i in 0..5 {
        let content = format!("packed {i} {}", "la ".repeat(i * 20));
        let m = api.send(&w.owner, &w.general, &content).await;
        let id = str_field(&m, "id");
        let a = reference
            .expect_dispatch_where("MESSAGE_CREATE", |d| d["id"] == id.as_str(), EVENT_TIMEOUT)
            .await;
        let b = other
            .expect_dispatch_where("MESSAGE_CREATE", |d| d["id"] == id.as_str(), EVENT_TIMEOUT)
            .await;
        assert_eq!(b.d["id"], id.as_str());
        assert_eq!(b.d["content"], content.as_str());
        assert_eq!(b.d["author"], a.d["author"], "[{label}] author");
        assert_eq!(b.d, a.d, "[{label}] the whole MESSAGE_CREATE");
    }

    // Client payloads in this encoding work too.
    other.assert_alive().await;
    other
        .send_op(
            op::REQUEST_GUILD_MEMBERS,
            json!({"guild_id": w.guild_id, "query": "mem", "limit": 0, "nonce": "enc"}),
        )
        .await;
    let chunk = other
        .expect_dispatch_where(
            "GUILD_MEMBERS_CHUNK",
            |d| d["nonce"] == "enc",
            EVENT_TIMEOUT,
        )
        .await;
    assert_eq!(chunk.d["members"][0]["user"]["id"], w.member.id.as_str());
}

#[tokio::test]
async fn msgpack_sessions_decode_the_same_events_as_json() {
    same_events_as_json(Options::default().msgpack().label("msgpack")).await;
}

#[tokio::test]
async fn etf_sessions_decode_the_same_events_as_json() {
    same_events_as_json(Options::default().etf().label("etf")).await;
}

#[tokio::test]
async fn zlib_stream_etf_sessions_decode_the_same_events_as_json() {
    same_events_as_json(Options::default().etf().zlib().label("zlib-etf")).await;
}

#[tokio::test]
async fn zstd_stream_json_sessions_decode_the_same_events_as_json() {
    same_events_as_json(Options::default().zstd().label("zstd-json")).await;
}

#[tokio::test]
async fn zstd_stream_msgpack_sessions_decode_the_same_events_as_json() {
    same_events_as_json(Options::default().msgpack().zstd().label("zstd-msgpack")).await;
}

#[tokio::test]
async fn zlib_stream_json_sessions_decode_the_same_events_as_json() {
    same_events_as_json(Options::default().zlib().label("zlib-json")).await;
}

#[tokio::test]
async fn zlib_stream_msgpack_sessions_decode_the_same_events_as_json() {
    same_events_as_json(Options::default().msgpack().zlib().label("zlib-msgpack")).await;
}

/// A dropped compressed session resumes on a new connection, which starts
/// a new compression stream, and gets what it missed.
async fn resumes_on_a_fresh_stream(opts: Options) {
    let w = World::new().await;
    let api = &w.api;
    let gw = login_opts(api, &w.member, MSGS, opts.clone()).await;
    let info = gw.session_info();
    gw.drop_tcp().await;
    let m = api.send(&w.owner, &w.general, "compressed replay").await;
    let id = str_field(&m, "id");

    let mut gw = Gateway::connect(&info.resume_url, opts.label("resumed")).await;
    gw.resume(&info).await;
    let ev = gw.next_dispatch(EVENT_TIMEOUT).await;
    assert_eq!(ev.t, "MESSAGE_CREATE");
    assert_eq!(ev.d["id"], id.as_str());
    assert_eq!(ev.d["content"], "compressed replay");
    let ev = gw.next_dispatch(EVENT_TIMEOUT).await;
    assert_eq!(ev.t, "RESUMED");
}

#[tokio::test]
async fn a_zstd_stream_session_resumes_on_a_fresh_stream() {
    resumes_on_a_fresh_stream(Options::default().zstd().label("zstd")).await;
}

#[tokio::test]
async fn a_zlib_stream_session_resumes_on_a_fresh_stream() {
    resumes_on_a_fresh_stream(Options::default().zlib().label("zlib")).await;
}

#[tokio::test]
async fn an_undecodable_msgpack_frame_closes_4002() {
    let w = World::new().await;
    let url = crate::gateway_client::gateway_url(&w.api).await;
    let mut gw = Gateway::connect(&url, Options::default().msgpack().label("msgpack")).await;
    gw.send_raw(tokio_tungstenite::tungstenite::Message::binary(
        b"\xc1\xc1\xc1 definitely not msgpack".to_vec(),
    ))
    .await
    .unwrap();
    gw.expect_close_code(4002).await;
}
