//! Behind a reverse proxy: connections from a trusted proxy name their
//! client in `X-Forwarded-For`, and rate limits and per-address connection
//! limits key on that client; from any other address the header is
//! ignored, whatever it says.
//!
//! The proxy is 127.0.0.2 and an untrusted client 127.0.0.3 (any
//! 127.0.0.0/8 address is the loopback); the forwarded clients are
//! documentation addresses.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::harness::Server;

const DEADLINE: Duration = Duration::from_secs(30);
const PROXY: [u8; 4] = [127, 0, 0, 2];
const STRANGER: [u8; 4] = [127, 0, 0, 3];
const CLIENT_A: &str = "203.0.113.1";
const CLIENT_B: &str = "203.0.113.2";
/// Log-ins an address may try per minute.
const LOGIN_LIMIT: usize = 20;

async fn node(trusted: bool) -> Server {
    let mut args = vec![
        "--max-connections-per-address",
        "2",
        // The test's gateway connections never identify.
        "--identify-timeout-ms",
        "120000",
    ];
    if trusted {
        args.extend(["--trusted-proxy", "127.0.0.2/32"]);
    }
    Server::start_with(&args, &[]).await
}

fn addr_of(server: &Server) -> SocketAddr {
    server
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .expect("the base URL is http://ip:port")
}

/// Log-ins with a wrong password from `from`, claiming to be for
/// `forwarded_for`; returns the statuses.
async fn log_ins(server: &Server, from: [u8; 4], forwarded_for: &str, n: usize) -> Vec<u16> {
    let http = hearth_loadtest::http_client()
        .no_proxy()
        .local_address(IpAddr::from(from))
        .timeout(DEADLINE)
        .build()
        .expect("an HTTP client");
    let mut statuses = Vec::with_capacity(n);
    for _ in 0..n {
        let r = http
            .post(format!("{}/api/v10/auth/login", server.base_url()))
            .header("x-forwarded-for", forwarded_for)
            .json(&json!({"login": "nobody", "password": "wrong-password"}))
            .send()
            .await
            .expect("a log-in request");
        statuses.push(r.status().as_u16());
    }
    statuses
}

/// Opens a gateway WebSocket from `from` claiming `forwarded_for`; returns
/// the response's status line and, if upgraded, the open connection.
async fn gateway_from(
    server: &Server,
    from: [u8; 4],
    forwarded_for: &str,
) -> (String, Option<TcpStream>) {
    let socket = TcpSocket::new_v4().expect("a TCP socket");
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("binding a loopback address");
    let mut stream = tokio::time::timeout(DEADLINE, socket.connect(addr_of(server)))
        .await
        .expect("connect within the deadline")
        .expect("connecting");
    let request = format!(
        "GET /gateway?v=10&encoding=json HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nX-Forwarded-For: {forwarded_for}\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("writing the upgrade request");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(DEADLINE, stream.read(&mut byte))
            .await
            .expect("a response within the deadline")
            .expect("reading the response");
        assert!(
            n == 1,
            "closed mid-response: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
        assert!(head.len() < 16 * 1024, "an endless response head");
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head.lines().next().unwrap_or_default().to_owned();
    let upgraded = status.starts_with("HTTP/1.1 101");
    (status, upgraded.then_some(stream))
}

/// A WebSocket that must be admitted once the address's earlier HTTP
/// connections (the log-ins') are closed: the server counts a connection
/// until it has seen it close, a moment after the client let it go.
async fn admitted_gateway(
    server: &Server,
    from: [u8; 4],
    forwarded_for: &str,
) -> (String, Option<TcpStream>) {
    let until = Instant::now() + DEADLINE;
    loop {
        let (status, stream) = gateway_from(server, from, forwarded_for).await;
        if stream.is_some() || !status.starts_with("HTTP/1.1 429") || Instant::now() > until {
            return (status, stream);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limits() {
    let server = node(true).await;

    // A's log-ins run out; B's, through the same proxy, do not.
    let a = log_ins(&server, PROXY, CLIENT_A, LOGIN_LIMIT + 1).await;
    assert!(
        a[..LOGIN_LIMIT].iter().all(|&s| s != 429) && a[LOGIN_LIMIT] == 429,
        "A's log-ins: {a:?}"
    );
    let b = log_ins(&server, PROXY, CLIENT_B, 1).await;
    assert_ne!(b[0], 429, "B is limited with A");
    // A forwarded chain: the right-most untrusted entry is the client, so
    // A cannot escape its bucket by prepending another address.
    let spoofed = log_ins(&server, PROXY, &format!("198.51.100.7, {CLIENT_A}"), 1).await;
    assert_eq!(spoofed[0], 429, "A escaped its limit with a made-up entry");

    // Two connections per address: A's third WebSocket is refused, B's
    // first is not, and A gets a place again when one of its own closes.
    let (s1, a1) = admitted_gateway(&server, PROXY, CLIENT_A).await;
    let (s2, _a2) = admitted_gateway(&server, PROXY, CLIENT_A).await;
    assert!(
        a1.is_some() && s2.starts_with("HTTP/1.1 101"),
        "{s1} / {s2}"
    );
    let (s3, _) = gateway_from(&server, PROXY, CLIENT_A).await;
    assert!(s3.starts_with("HTTP/1.1 429"), "A's third WebSocket: {s3}");
    let (sb, _b1) = admitted_gateway(&server, PROXY, CLIENT_B).await;
    assert!(sb.starts_with("HTTP/1.1 101"), "B's WebSocket: {sb}");

    drop(a1);
    let until = Instant::now() + DEADLINE;
    loop {
        let (s, again) = gateway_from(&server, PROXY, CLIENT_A).await;
        if again.is_some() {
            break;
        }
        assert!(s.starts_with("HTTP/1.1 429"), "{s}");
        assert!(
            Instant::now() < until,
            "A's place was not freed when its WebSocket closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn from_an_untrusted_address_x_forwarded_for_is_ignored() {
    let server = node(true).await;

    // The stranger's log-ins run out whatever client each claims to be for.
    let claimed = log_ins(&server, STRANGER, CLIENT_A, LOGIN_LIMIT).await;
    assert!(claimed.iter().all(|&s| s != 429), "{claimed:?}");
    let other = log_ins(&server, STRANGER, CLIENT_B, 1).await;
    assert_eq!(
        other[0], 429,
        "a made-up X-Forwarded-For bought a new bucket"
    );

    // And its connections all count against its own address.
    let (s1, _c1) = admitted_gateway(&server, STRANGER, CLIENT_A).await;
    let (s2, _c2) = admitted_gateway(&server, STRANGER, CLIENT_B).await;
    assert!(
        s1.starts_with("HTTP/1.1 101") && s2.starts_with("HTTP/1.1 101"),
        "{s1} / {s2}"
    );
    let (s3, _) = gateway_from(&server, STRANGER, "198.51.100.9").await;
    assert!(
        s3.starts_with("HTTP/1.1 429"),
        "a third connection from one address with another claimed client: {s3}"
    );
}

#[tokio::test]
async fn without_a_trusted_proxy_the_header_is_ignored_from_anywhere() {
    let server = node(false).await;
    let a = log_ins(&server, PROXY, CLIENT_A, LOGIN_LIMIT).await;
    assert!(a.iter().all(|&s| s != 429), "{a:?}");
    let b = log_ins(&server, PROXY, CLIENT_B, 1).await;
    assert_eq!(
        b[0], 429,
        "X-Forwarded-For was believed with no proxy trusted"
    );
}
