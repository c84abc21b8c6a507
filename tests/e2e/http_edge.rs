//! The HTTP edge: idle connections are closed, one address cannot hold
//! every connection, `/metrics` can be private, gateway URLs do not come
//! from the Host header, and the data directory is private.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::harness::{str_field, Server};

/// Bounds every wait in this module; reaching it fails the test.
const DEADLINE: Duration = Duration::from_secs(30);

fn addr_of(server: &Server) -> SocketAddr {
    server
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .expect("the base URL is http://ip:port")
}

/// A connection from `from` (any 127.0.0.0/8 address is the loopback).
async fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("a TCP socket");
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("binding a loopback address");
    tokio::time::timeout(DEADLINE, socket.connect(to))
        .await
        .expect("connect within the deadline")
        .expect("connecting")
}

/// Sends `request` and reads until the server closes the connection.
async fn exchange(mut stream: TcpStream, request: &str) -> String {
    stream
        .write_all(request.as_bytes())
        .await
        .expect("writing the request");
    let mut out = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection within the deadline")
        .expect("reading the response");
    String::from_utf8_lossy(&out).into_owned()
}

fn body_json(response: &str) -> Value {
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("no JSON body ({e}) in {response:?}"))
}

const GATEWAY_CLOSE: &str =
    "GET /api/v10/gateway HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn one_address_holding_its_connection_limit_is_refused_more_while_others_are_served() {
    const LIMIT: usize = 50;
    const OPENED: usize = 300;
    let server = Server::start_with(
        &[
            "--rate-limits",
            "off",
            "--max-connections-per-address",
            "50",
            // Long enough that no admitted connection is closed for idling
            // while the test runs.
            "--http-header-timeout-secs",
            "120",
        ],
        &[],
    )
    .await;
    let addr = addr_of(&server);

    // 300 connections from 127.0.0.2 that send nothing. Each reader
    // reports what it got once the server closes its connection.
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<(usize, String)>(OPENED);
    let mut writers = Vec::with_capacity(OPENED);
    for i in 0..OPENED {
        let (mut read, write) = connect_from([127, 0, 0, 2], addr).await.into_split();
        writers.push(write);
        let done = done_tx.clone();
        tokio::spawn(async move {
            let mut out = Vec::new();
            let _ = read.read_to_end(&mut out).await;
            let _ = done
                .send((i, String::from_utf8_lossy(&out).into_owned()))
                .await;
        });
    }

    // Everything beyond the limit is answered 429 and closed at once.
    let mut refused = Vec::new();
    while refused.len() < OPENED - LIMIT {
        let (i, response) = tokio::time::timeout(DEADLINE, done_rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "only {} of {} connections over the limit were refused",
                    refused.len(),
                    OPENED - LIMIT
                )
            })
            .expect("readers report");
        assert!(
            response.starts_with("HTTP/1.1 429"),
            "connection {i}: {response:?}"
        );
        let body = body_json(&response);
        assert_eq!(body["code"], 0, "{body}");
        assert!(
            str_field(&body, "message").contains("Too many connections"),
            "{body}"
        );
        refused.push(i);
    }

    // Another client is served normally, and 127.0.0.2 is still at its
    // limit.
    let other = exchange(connect_from([127, 0, 0, 1], addr).await, GATEWAY_CLOSE).await;
    assert!(other.starts_with("HTTP/1.1 200"), "{other:?}");
    // (Read before writing: a refused connection is closed at once, and
    // one that had sent a request would see a reset instead of the answer.)
    let more = exchange(connect_from([127, 0, 0, 2], addr).await, "").await;
    assert!(more.starts_with("HTTP/1.1 429"), "{more:?}");
    let metrics = server
        .api()
        .raw_abs(reqwest::Method::GET, "/metrics", None)
        .await
        .text;
    assert_eq!(
        crate::harness::parse_metric(
            &metrics,
            "hearth_http_connections_refused_per_address_total"
        ),
        Some((OPENED - LIMIT + 1) as f64),
        "{metrics}"
    );

    // The 50 admitted connections are open and answer a request.
    let mut admitted: Vec<_> = writers
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !refused.contains(i))
        .map(|(_, w)| w)
        .collect();
    assert_eq!(admitted.len(), LIMIT);
    for write in &mut admitted {
        write
            .write_all(GATEWAY_CLOSE.as_bytes())
            .await
            .expect("an admitted connection is open");
    }
    for _ in 0..LIMIT {
        let (i, response) = tokio::time::timeout(DEADLINE, done_rx.recv())
            .await
            .expect("every admitted connection answers within the deadline")
            .expect("readers report");
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "admitted connection {i}: {response:?}"
        );
    }
}

#[tokio::test]
async fn gateway_websockets_count_against_their_address_limit_while_open() {
    let server = Server::start_with(
        &["--rate-limits", "off", "--max-connections-per-address", "5"],
        &[],
    )
    .await;
    let addr = addr_of(&server);
    let mut sockets = Vec::new();
    for _ in 0..5 {
        let tcp = connect_from([127, 0, 0, 5], addr).await;
        let (ws, _) = tokio::time::timeout(
            DEADLINE,
            tokio_tungstenite::client_async(format!("ws://{addr}/gateway?v=10&encoding=json"), tcp),
        )
        .await
        .expect("the upgrade within the deadline")
        .expect("a gateway WebSocket");
        sockets.push(ws);
    }
    // Upgraded, the five still hold the address's places.
    let refused = exchange(connect_from([127, 0, 0, 5], addr).await, "").await;
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused:?}");
    // Closed, they give them back.
    drop(sockets);
    let mut served = String::new();
    for _ in 0..100 {
        let mut stream = connect_from([127, 0, 0, 5], addr).await;
        let _ = stream.write_all(GATEWAY_CLOSE.as_bytes()).await;
        let mut out = Vec::new();
        let _ = tokio::time::timeout(DEADLINE, stream.read_to_end(&mut out)).await;
        served = String::from_utf8_lossy(&out).into_owned();
        if served.starts_with("HTTP/1.1 200") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served.starts_with("HTTP/1.1 200"), "{served:?}");
}

#[tokio::test]
async fn connections_that_send_no_request_are_closed_after_the_header_timeout() {
    let server = Server::start_with(
        &["--rate-limits", "off", "--http-header-timeout-secs", "1"],
        &[],
    )
    .await;
    let addr = addr_of(&server);

    // Never a byte: closed by the server (read returns end of stream).
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(connect_from([127, 0, 0, 3], addr).await);
    }
    for (i, mut stream) in idle.into_iter().enumerate() {
        let mut out = Vec::new();
        let read = tokio::time::timeout(DEADLINE, stream.read_to_end(&mut out)).await;
        assert!(
            read.is_ok(),
            "idle connection {i} still open after {DEADLINE:?}"
        );
    }

    // Half a request head: closed too.
    let partial = exchange(
        connect_from([127, 0, 0, 3], addr).await,
        "GET /api/v10/gateway HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    )
    .await;
    assert!(!partial.starts_with("HTTP/1.1 200"), "{partial:?}");

    // A kept-alive connection is answered, then closed once it idles.
    let kept = exchange(
        connect_from([127, 0, 0, 3], addr).await,
        "GET /api/v10/gateway HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    )
    .await;
    assert!(kept.starts_with("HTTP/1.1 200"), "{kept:?}");

    // And the server still serves.
    let api = server.api();
    api.get("/gateway", None).await.expect(200);
}

#[tokio::test]
async fn a_body_sent_too_slowly_fails_the_request_and_frees_the_connection() {
    let server = Server::start_with(
        &[
            "--rate-limits",
            "off",
            "--http-header-timeout-secs",
            "120",
            "--http-body-timeout-secs",
            "1",
        ],
        &[],
    )
    .await;
    let api = server.api();
    let alice = api.register("alice").await;
    // The head and 10 of the 100 bytes promised, then nothing: the server
    // answers an error and closes instead of waiting for the rest.
    let slow = exchange(
        connect_from([127, 0, 0, 1], addr_of(&server)).await,
        &format!(
            "PATCH /api/v10/users/@me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"global_na",
            alice.token
        ),
    )
    .await;
    assert!(slow.starts_with("HTTP/1.1 400"), "{slow:?}");
    // A body that arrives in time is served as always.
    api.patch(
        "/users/@me",
        alice.auth(),
        Some(serde_json::json!({"global_name": "Alice"})),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn metrics_behind_a_token_need_it() {
    let server = Server::start_with(&["--metrics-token", "s3cret-metrics"], &[]).await;
    let api = server.api();
    api.raw_abs(reqwest::Method::GET, "/metrics", None)
        .await
        .expect_error(401, 0);
    api.raw_abs(reqwest::Method::GET, "/metrics", Some("Bearer wrong"))
        .await
        .expect_error(401, 0);
    let ok = api
        .raw_abs(
            reqwest::Method::GET,
            "/metrics",
            Some("Bearer s3cret-metrics"),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.text.contains("hearth_"), "{}", ok.text);
}

#[tokio::test]
async fn metrics_can_be_served_on_their_own_address_only() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        probe.local_addr().expect("its address").port()
    };
    let metrics_addr = format!("127.0.0.1:{port}");
    let server = Server::start_with(&["--metrics-listen", &metrics_addr], &[]).await;
    let api = server.api();
    let main = api.raw_abs(reqwest::Method::GET, "/metrics", None).await;
    assert_eq!(main.status, 404, "metrics stay off the public listener");
    let private = exchange(
        connect_from([127, 0, 0, 1], metrics_addr.parse().expect("an address")).await,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(private.starts_with("HTTP/1.1 200"), "{private:?}");
    assert!(private.contains("hearth_"), "{private:?}");
}

#[tokio::test]
async fn gateway_urls_come_from_the_public_url_not_the_host_header() {
    let server = Server::start_with(&["--public-url", "https://chat.example.org/"], &[]).await;
    let response = exchange(
        connect_from([127, 0, 0, 1], addr_of(&server)).await,
        "GET /api/v10/gateway HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
    assert_eq!(
        body_json(&response)["url"],
        "wss://chat.example.org/gateway"
    );

    let api = server.api();
    let owner = api.register("owner").await;
    let (_, bot) = api.create_bot(&owner, "robot").await;
    let bot_gateway = api.get("/gateway/bot", bot.auth()).await.expect(200);
    assert_eq!(bot_gateway["url"], "wss://chat.example.org/gateway");

    // READY's resume_gateway_url too, whatever Host the upgrade carried.
    assert_eq!(
        resume_url_of(&server, &owner).await,
        "wss://chat.example.org/gateway"
    );
}

/// READY's `resume_gateway_url` for `user`, over a connection to the
/// node's own address.
async fn resume_url_of(server: &Server, user: &crate::harness::User) -> String {
    let local = format!(
        "{}/gateway",
        server.base_url().replacen("http://", "ws://", 1)
    );
    let mut gw =
        crate::gateway_client::Gateway::connect(&local, crate::gateway_client::Options::default())
            .await;
    gw.identify(&user.token, 0).await;
    gw.await_ready(0).await;
    gw.resume_url()
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_database_are_private_to_the_service() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start().await;
    // Something written, so the journal exists too.
    server.api().register("alice").await;
    let mode = |name: &str| {
        std::fs::metadata(server.data_dir().join(name))
            .map(|m| m.permissions().mode() & 0o777)
            .ok()
    };
    assert_eq!(mode(""), Some(0o700), "data directory");
    assert_eq!(mode("hearth.db"), Some(0o600), "database");
    for journal in ["hearth.db-wal", "hearth.db-shm"] {
        if let Some(m) = mode(journal) {
            assert_eq!(m, 0o600, "{journal}");
        }
    }
}

/// Sends `request` and reads what comes back until the server closes;
/// a reset (a refused connection that had sent its request) reads as
/// what arrived before it.
async fn try_exchange(to: SocketAddr, request: &str) -> String {
    let mut stream = connect_from([127, 0, 0, 1], to).await;
    let _ = stream.write_all(request.as_bytes()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(DEADLINE, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_node_at_its_connection_cap_answers_503_until_one_closes() {
    let server = Server::start_with(
        &[
            "--max-connections",
            "20",
            "--max-connections-per-address",
            "0",
            "--http-header-timeout-secs",
            "120",
        ],
        &[],
    )
    .await;
    let addr = addr_of(&server);
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(connect_from([127, 0, 0, 4], addr).await);
    }
    // Accepted in order: the 20 hold every place when this one comes, from
    // any address.
    let refused = exchange(connect_from([127, 0, 0, 1], addr).await, "").await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused:?}");
    assert_eq!(body_json(&refused)["code"], 0);

    // Places given back are places for the next clients.
    drop(held);
    let mut served = String::new();
    for _ in 0..100 {
        served = try_exchange(addr, GATEWAY_CLOSE).await;
        if served.starts_with("HTTP/1.1 200") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        served.starts_with("HTTP/1.1 200"),
        "still refused after the held connections closed: {served:?}"
    );
    let metrics = server
        .api()
        .raw_abs(reqwest::Method::GET, "/metrics", None)
        .await
        .text;
    let refused_at_cap =
        crate::harness::parse_metric(&metrics, "hearth_http_connections_refused_cap_total");
    assert!(refused_at_cap >= Some(1.0), "{metrics}");
}

#[tokio::test]
async fn a_node_of_a_cluster_names_itself_as_where_to_resume() {
    // Behind a load balancer, clients connect to the shared address and
    // resume at the node's own, which holds their session.
    let server = Server::start_with(
        &[
            "--public-url",
            "https://chat.example.org",
            "--resume-url",
            "https://node1.chat.example.org/",
        ],
        &[],
    )
    .await;
    let api = server.api();
    let owner = api.register("owner").await;
    assert_eq!(
        api.get("/gateway", None).await.expect(200)["url"],
        "wss://chat.example.org/gateway"
    );
    assert_eq!(
        resume_url_of(&server, &owner).await,
        "wss://node1.chat.example.org/gateway"
    );
}
