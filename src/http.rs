//! The HTTP edge: the accept loop, the connection limits and hyper's HTTP/1
//! server with timeouts.
//!
//! `axum::serve` offers neither a header timeout nor a way to turn a
//! connection away, and a client that opens connections and never sends a
//! request would hold them for ever. Here each accepted connection is first
//! admitted by [`ConnectionLimits`] (per client address and in all, and
//! counted until its socket closes, an upgraded WebSocket included), then
//! served by hyper with a header-read timeout: a connection that has not sent
//! a complete request head within it is closed, and so is a kept-alive
//! connection that sends no next request within it (hyper starts the same
//! timer whenever it waits for a request head). A request's body must have
//! arrived within the body timeout of the request's start, so a client
//! cannot hold a connection by sending its body a byte at a time.
//! WebSocket upgrades (the gateway and the voice gateway) leave these timers
//! behind: once upgraded, the WebSocket's own heartbeat deadlines govern it.
//!
//! On a connection from a trusted proxy, the client address (for the rate
//! limiter and the per-address limit) is the one `forwarded` reads from
//! the request; each request takes its client's place while it runs, and
//! an upgraded one keeps it with the connection.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::{Body as _, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::net::{TcpListener, TcpStream};
use tower::Service;

use crate::conn_limit::{Admitted, ConnectionLimits, Refusal};
use crate::forwarded::TrustedProxies;

pub use crate::conn_limit::Limits;

/// What the edge counts, for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct EdgeMetrics {
    /// Connections open, WebSockets included.
    pub open: Gauge,
    pub refused_per_address: Counter,
    pub refused_total: Counter,
}

impl EdgeMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = EdgeMetrics::default();
        registry.register(
            "http_connections",
            "Connections open on the HTTP listener, WebSockets included",
            m.open.clone(),
        );
        registry.register(
            "http_connections_refused_per_address",
            "Connections refused because their address held its limit",
            m.refused_per_address.clone(),
        );
        registry.register(
            "http_connections_refused_cap",
            "Connections refused because the node held its connection cap",
            m.refused_total.clone(),
        );
        m
    }
}

/// How the edge treats connections.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// A connection must send a complete request head within this long after
    /// it opens or after its previous response.
    pub header_timeout: Duration,
    /// A request's body must be complete within this long of its head.
    pub body_timeout: Duration,
    /// The same for an upload (a `multipart/form-data` body), which may
    /// carry tens of megabytes over a slow link.
    pub upload_timeout: Duration,
    pub limits: Limits,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<TrustedProxies>,
}

/// Serves `app` on `listener` until `shutdown` completes, then closes idle
/// connections and waits (a bounded time) for requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    edge: EdgeConfig,
    metrics: EdgeMetrics,
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
        let proxied = edge.trusted_proxies.contains(peer.ip());
        let admitted = match if proxied {
            limits.admit_proxy()
        } else {
            limits.admit(peer.ip())
        } {
            Ok(admitted) => admitted,
            Err(refusal) => {
                match refusal {
                    Refusal::PerAddress => metrics.refused_per_address.inc(),
                    Refusal::Total => metrics.refused_total.inc(),
                };
                refuse(&tcp, refusal);
                continue;
            }
        };
        // Gateway frames are small and latency-bound: no Nagle delay.
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let mut stop = stop_rx.clone();
        let tcp = Held::new(tcp, admitted, metrics.open.clone());
        let proxy = proxied.then(|| Proxied {
            limits: limits.clone(),
            upgraded: tcp.upgraded_for.clone(),
            refused: metrics.refused_per_address.clone(),
        });
        let edge = edge.clone();
        tokio::spawn(async move {
            serve_connection(tcp, peer, proxy, app, edge, &mut stop).await;
        });
    }
    drop(stop_rx);
    let _ = stop_tx.send(true);
    // Requests in flight get a moment to finish; a client holding a
    // connection open does not hold up the exit.
    let _ = tokio::time::timeout(Duration::from_secs(10), stop_tx.closed()).await;
}

/// What a connection from a trusted proxy needs to admit its clients.
struct Proxied {
    limits: ConnectionLimits,
    /// The place of the client whose request upgraded the connection.
    upgraded: Arc<Mutex<Option<Admitted>>>,
    refused: Counter,
}

async fn serve_connection(
    tcp: Held,
    peer: SocketAddr,
    proxy: Option<Proxied>,
    app: Router,
    edge: EdgeConfig,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) {
    let proxy = proxy.map(Arc::new);
    let trusted = edge.trusted_proxies.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        // Behind a trusted proxy the client is who the proxy says, and
        // takes its own place for as long as its request runs.
        let (client, place) = match &proxy {
            None => (peer, None),
            Some(proxy) => {
                let client = SocketAddr::new(trusted.client(peer.ip(), request.headers()), 0);
                match proxy.limits.admit_client(client.ip()) {
                    Ok(place) => (client, Some((place, proxy.clone()))),
                    Err(refusal) => {
                        proxy.refused.inc();
                        tracing::debug!(%client, ?refusal, "proxied request refused");
                        return answered(refusal_response(refusal));
                    }
                }
            }
        };
        let upload = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
        let body_timeout = match upload {
            true => edge.upload_timeout,
            false => edge.body_timeout,
        };
        let mut request = request.map(|body| {
            if body.is_end_stream() {
                // No body (most GETs, WebSocket upgrades): nothing to time.
                axum::body::Body::new(body)
            } else {
                axum::body::Body::new(Deadline {
                    body,
                    deadline: Box::pin(tokio::time::sleep(body_timeout)),
                })
            }
        });
        // What `into_make_service_with_connect_info` would insert: the rate
        // limiter keys unauthenticated requests on it.
        request.extensions_mut().insert(ConnectInfo(client));
        let mut app = app.clone();
        let answer: Answer = Box::pin(async move {
            let response = app.call(request).await.unwrap_or_else(|e| match e {});
            if let Some((place, proxy)) = place {
                if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                    // The WebSocket is this client's for as long as the
                    // connection lives.
                    *proxy.upgraded.lock().unwrap_or_else(|p| p.into_inner()) = Some(place);
                }
            }
            Ok::<_, Infallible>(response)
        });
        answer
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(edge.header_timeout);
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

/// A connection with its place under the limits. The place goes with the
/// socket, not with the task that serves HTTP on it: an upgraded WebSocket
/// takes the socket along and still counts until it closes.
struct Held {
    tcp: TcpStream,
    _admitted: Admitted,
    /// On a proxy's connection, the place of the client it was upgraded for.
    upgraded_for: Arc<Mutex<Option<Admitted>>>,
    open: Gauge,
}

impl Held {
    fn new(tcp: TcpStream, admitted: Admitted, open: Gauge) -> Self {
        open.inc();
        Held {
            tcp,
            _admitted: admitted,
            upgraded_for: Arc::default(),
            open,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.open.dec();
    }
}

impl tokio::io::AsyncRead for Held {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Held {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// The status and message a refusal is answered with, in Discord's error
/// shape.
fn refusal_words(refusal: Refusal) -> (StatusCode, String) {
    let (status, message) = match refusal {
        Refusal::PerAddress => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many connections from your address.",
        ),
        Refusal::Total => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The server has too many connections open.",
        ),
    };
    (status, format!(r#"{{"message": "{message}", "code": 0}}"#))
}

/// A proxied client turned away: the same answer as [`refuse`] gives, as
/// a response on the proxy's connection (which stays open).
fn refusal_response(refusal: Refusal) -> Response {
    let (status, body) = refusal_words(refusal);
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::RETRY_AFTER, "1"),
        ],
        body,
    )
        .into_response()
}

/// What the connection's service answers a request with.
type Answer = std::pin::Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

fn answered(response: Response) -> Answer {
    Box::pin(std::future::ready(Ok(response)))
}

/// Tells a turned-away client why, in Discord's error shape, and closes.
/// Written without waiting: the few hundred bytes fit any fresh socket's
/// send buffer, and a refusal must not cost a task.
fn refuse(tcp: &TcpStream, refusal: Refusal) {
    let (status, body) = refusal_words(refusal);
    let response = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default(),
        body.len()
    );
    let _ = tcp.try_write(response.as_bytes());
    tracing::debug!(?refusal, "connection refused");
}

/// A request body that fails once its deadline has passed before it ended;
/// the handler then answers an error and hyper closes the connection (the
/// rest of the body was never read).
struct Deadline {
    body: Incoming,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl hyper::body::Body for Deadline {
    type Data = hyper::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    Poll::Ready(Some(Err("the request body did not arrive in time".into())))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}
