//! What a node reports in `/metrics` about its gateway, its REST routes
//! and itself, as an operator's dashboards read it.

use crate::gateway_client::{intents, login, op, Gateway, Options, EVENT_TIMEOUT};
use crate::harness::{str_field, Api, World};

const MSGS: u64 = intents::GUILDS | intents::GUILD_MESSAGES;

/// The value of the first line of `/metrics` that starts with `series`
/// (a name with its labels, as written).
async fn series(api: &Api, series: &str) -> f64 {
    let text = api.metrics_text().await;
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {series} in /metrics:\n{text}"))
}

#[tokio::test]
async fn the_gateway_routes_and_build_are_in_the_metrics() {
    let w = World::new().await;
    let api = &w.api;
    let gw = login(api, &w.member, MSGS).await;
    let _owner = login(api, &w.owner, MSGS).await;
    assert_eq!(api.metric("hearth_gateway_sessions").await, 2.0);
    assert_eq!(api.metric("hearth_gateway_identifies_total").await, 2.0);

    let m = api.send(&w.owner, &w.general, "counted").await;
    assert!(!str_field(&m, "id").is_empty());
    // One event, queued for both sessions.
    assert!(api.metric("hearth_gateway_events_total").await >= 1.0);
    assert!(api.metric("hearth_gateway_dispatches_total").await >= 2.0);

    // A resume, and a resume of a session nobody holds.
    let info = gw.session_info();
    gw.drop_tcp().await;
    let mut back = Gateway::connect(&info.resume_url, Options::default().label("back")).await;
    back.resume(&info).await;
    back.expect_dispatch("RESUMED", EVENT_TIMEOUT).await;
    let mut stranger =
        Gateway::connect(&info.resume_url, Options::default().label("stranger")).await;
    let mut unknown = info.clone();
    unknown.session_id = "0123456789abcdef0123456789abcdef".into();
    stranger.resume(&unknown).await;
    stranger.expect_op(op::INVALID_SESSION, EVENT_TIMEOUT).await;
    assert_eq!(api.metric("hearth_gateway_resumes_total").await, 1.0);
    assert_eq!(
        api.metric("hearth_gateway_resumes_refused_total").await,
        1.0
    );
    assert_eq!(api.metric("hearth_gateway_sessions").await, 2.0);

    // REST latency by route template, not by path.
    let posts = series(
        api,
        r#"hearth_http_request_duration_seconds_count{method="POST",route="/channels/{channel_id}/messages",status="2xx"}"#,
    )
    .await;
    assert!(posts >= 1.0, "{posts}");
    // Store calls by method, whichever backend.
    let inserts = series(
        api,
        r#"hearth_store_query_duration_seconds_count{op="insert_message"}"#,
    )
    .await;
    assert!(inserts >= 1.0, "{inserts}");
    let text = api.metrics_text().await;
    assert!(
        !text.contains(&format!("route=\"/channels/{}/messages\"", w.general)),
        "a path leaked into the route label"
    );
    let version = format!(
        "hearth_build_info{{version=\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(series(api, &version).await, 1.0);
}
