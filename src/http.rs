//! The HTTP edge: the accept loop, the connection limits and hyper's HTTP/1
//! server with timeouts.
//!
//! `axum::serve` offers neither a header timeout nor a way to turn a
//! connection away, and a client that opens connections and never sends a
//! request would hold them for ever. Here each accepted connection is first
//! admitted by [`ConnectionLimits`] (per client address and in all), then
//! served by hyper with a header-read timeout: a connection that has not sent
//! a complete request head within it is closed, and so is a kept-alive
//! connection that sends no next request within it (hyper starts the same
//! timer whenever it waits for a request head). WebSocket upgrades (the
//! gateway and the voice gateway) leave this loop's timers behind: once
//! upgraded, the WebSocket's own heartbeat deadlines govern it.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tower::Service;

use crate::conn_limit::{ConnectionLimits, Refusal};

pub use crate::conn_limit::Limits;

/// How the edge treats connections.
#[derive(Debug, Clone, Copy)]
pub struct EdgeConfig {
    /// A connection must send a complete request head within this long after
    /// it opens or after its previous response.
    pub header_timeout: Duration,
    pub limits: Limits,
}

/// Serves `app` on `listener` until `shutdown` completes, then closes idle
/// connections and waits (a bounded time) for requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    edge: EdgeConfig,
    shutdown: impl Future<Output = ()>,
) {
    let limits = ConnectionLimits::new(edge.limits);
    // Every connection task holds a receiver; `closed()` on the sender
    // resolves once they have all ended.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors (EMFILE) or a connection reset
                    // before it was accepted: pause rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let admitted = match limits.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(refusal) => {
                refuse(&tcp, refusal);
                continue;
            }
        };
        // Gateway frames are small and latency-bound: no Nagle delay.
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _admitted = admitted;
            serve_connection(tcp, peer, app, edge.header_timeout, &mut stop).await;
        });
    }
    drop(stop_rx);
    let _ = stop_tx.send(true);
    // Requests in flight get a moment to finish; a client holding a
    // connection open does not hold up the exit.
    let _ = tokio::time::timeout(Duration::from_secs(10), stop_tx.closed()).await;
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    header_timeout: Duration,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        // What `into_make_service_with_connect_info` would insert: the rate
        // limiter keys unauthenticated requests on it.
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        async move { Ok::<_, Infallible>(app.call(request).await.unwrap_or_else(|e| match e {})) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "HTTP connection ended");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Tells a turned-away client why, in Discord's error shape, and closes.
/// Written without waiting: the few hundred bytes fit any fresh socket's
/// send buffer, and a refusal must not cost a task.
fn refuse(tcp: &TcpStream, refusal: Refusal) {
    let (status, message) = match refusal {
        Refusal::PerAddress => (
            "429 Too Many Requests",
            "Too many connections from your address.",
        ),
        Refusal::Total => (
            "503 Service Unavailable",
            "The server has too many connections open.",
        ),
    };
    let body = format!(r#"{{"message": "{message}", "code": 0}}"#);
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{body}",
        body.len()
    );
    let _ = tcp.try_write(response.as_bytes());
    tracing::debug!(?refusal, "connection refused");
}
