//! Liveness (`/healthz`) and readiness (`/readyz`) probes of a real node:
//! JSON answers naming each check, outside the rate limits and the web
//! client, and on the private metrics address too. (A failing check, the
//! bus of a node whose Redis went away, is in `cluster`.)

use reqwest::Method;

use crate::harness::{Resp, Server};

#[track_caller]
fn assert_json_probe(r: &Resp, status: u16) {
    assert_eq!(r.status.as_u16(), status, "{} {}", r.path, r.text);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{} answers JSON, not the web client: {:?} {}",
        r.path,
        r.header("content-type"),
        r.text
    );
    assert_eq!(
        r.header("cache-control").as_deref(),
        Some("no-store"),
        "{} must not be cached",
        r.path
    );
}

#[tokio::test]
async fn a_serving_node_is_alive_and_ready_with_each_check_named() {
    let server = Server::start().await;
    let api = server.api();
    let alive = api.raw_abs(Method::GET, "/healthz", None).await;
    assert_json_probe(&alive, 200);
    assert_eq!(alive.body["status"], "alive", "{}", alive.text);

    let ready = api.raw_abs(Method::GET, "/readyz", None).await;
    assert_json_probe(&ready, 200);
    assert_eq!(ready.body["status"], "ready", "{}", ready.text);
    assert_eq!(ready.body["checks"]["store"], "ok", "{}", ready.text);
    assert_eq!(ready.body["checks"]["media"], "ok", "{}", ready.text);
    assert_eq!(ready.body["checks"]["bus"], "ok", "{}", ready.text);
    assert!(ready.body.get("failing").is_none(), "{}", ready.text);

    // A load balancer's HEAD works as well as a GET.
    let head = api.raw_abs(Method::HEAD, "/readyz", None).await;
    assert_eq!(head.status.as_u16(), 200);
}

#[tokio::test]
async fn probes_are_not_rate_limited() {
    // Rate limits on: 60 of each from one address is more than any REST
    // bucket allows in its window, and none carries the limiter's headers.
    let server = Server::start_rate_limited().await;
    let api = server.api();
    for i in 0..60 {
        for path in ["/healthz", "/readyz"] {
            let r = api.raw_abs(Method::GET, path, None).await;
            assert_eq!(r.status.as_u16(), 200, "probe {i} of {path}: {}", r.text);
            assert!(
                r.header("x-ratelimit-limit").is_none(),
                "{path} went through the rate limiter"
            );
        }
    }
}

#[tokio::test]
async fn probes_answer_on_the_metrics_address_too() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        probe.local_addr().expect("its address").port()
    };
    let metrics_addr = format!("127.0.0.1:{port}");
    let server = Server::start_with(&["--metrics-listen", &metrics_addr], &[]).await;
    let http = server.api().http().clone();
    for path in ["/healthz", "/readyz"] {
        let r = http
            .get(format!("http://{metrics_addr}{path}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} on the metrics address: {e}"));
        assert_eq!(r.status().as_u16(), 200, "{path} on the metrics address");
    }
}
