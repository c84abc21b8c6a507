//! The browser client: the files under `web/`, embedded into the binary so
//! `hearth serve` alone gives a working app at `/`.
//!
//! No build step: the client is plain HTML, CSS and ES modules, served as
//! they are in the repository. Every response carries a Content-Security-
//! Policy that lets the page load and connect to this server only (and to
//! the voice endpoint it hands out, which may name the node differently
//! from the address the browser used), so nothing is ever fetched from
//! elsewhere.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file: its path under `/`, its type, its bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("../web", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("/index.html", "text/html; charset=utf-8"),
    asset!("/app.css", "text/css; charset=utf-8"),
    asset!("/favicon.svg", "image/svg+xml"),
    asset!("/js/main.js", JS),
    asset!("/js/api.js", JS),
    asset!("/js/gateway.js", JS),
    asset!("/js/voice.js", JS),
    asset!("/js/state.js", JS),
    asset!("/js/dom.js", JS),
    asset!("/js/markup.js", JS),
    asset!("/js/auth.js", JS),
    asset!("/js/sidebar.js", JS),
    asset!("/js/chat.js", JS),
    asset!("/js/commands.js", JS),
    asset!("/js/pins.js", JS),
    asset!("/js/search.js", JS),
    asset!("/js/alerts.js", JS),
    asset!("/js/members.js", JS),
    asset!("/js/call.js", JS),
    asset!("/js/dmcall.js", JS),
    asset!("/js/uploads.js", JS),
    asset!("/js/attachments.js", JS),
    asset!("/js/threads.js", JS),
    asset!("/js/blocks.js", JS),
    asset!("/js/profile.js", JS),
];

/// Where the page may open voice WebSockets.
#[derive(Debug, Clone, Copy)]
pub enum VoiceHosts<'a> {
    /// This node's own voice endpoint (`host:port`): a node alone.
    Own(&'a str),
    /// Any: in a cluster a call may live on any SFU node, and nodes come
    /// and go (the registry in Redis, not this policy, knows them).
    Any,
}

/// The Content-Security-Policy for every page and asset. Images may also
/// come from `blob:`: the previews of files about to be uploaded, which the
/// page makes from the files themselves (object URLs), never fetched.
fn policy(voice: VoiceHosts<'_>) -> String {
    let voice = match voice {
        VoiceHosts::Own(host) => format!("ws://{host} wss://{host}"),
        VoiceHosts::Any => "ws: wss:".to_owned(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; \
         media-src 'self' blob: mediastream:; \
         connect-src 'self' {voice}; \
         manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

fn respond(asset: &Asset, csp: &HeaderValue) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            // Always revalidate: a new binary must never run an old client.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CONTENT_SECURITY_POLICY, csp.clone()),
        ],
        asset.body,
    )
        .into_response()
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// `/`, `/invite/{code}` (an invite link opens the app, which offers to
/// join), and each embedded file at its own path.
/// The web client; `voice_endpoint` is this node's, `cluster` whether calls
/// may live on other nodes.
pub fn router(voice_endpoint: &str, cluster: bool) -> Router {
    let voice = match cluster {
        true => VoiceHosts::Any,
        false => VoiceHosts::Own(voice_endpoint.split('/').next().unwrap_or_default()),
    };
    // An endpoint the operator set could hold characters a header cannot
    // carry; then only the page's own origin is allowed.
    let csp = HeaderValue::from_str(&policy(voice))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
    let serve = |asset: &'static Asset, csp: &HeaderValue| {
        let csp = csp.clone();
        get(move || {
            let csp = csp.clone();
            async move { respond(asset, &csp) }
        })
    };
    let index = find("/index.html").expect("index.html is embedded");
    let mut router = Router::new()
        .route("/", serve(index, &csp))
        .route("/invite/{code}", serve(index, &csp));
    for asset in ASSETS {
        router = router.route(asset.path, serve(asset, &csp));
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_embedded() {
        // A module the client imports but the binary lacks would break the
        // app only in a browser; catch it here.
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let text = std::str::from_utf8(asset.body).expect("JS is UTF-8");
            for line in text.lines() {
                let Some(rest) = line.split(" from \"./").nth(1) else {
                    continue;
                };
                let name = rest.split('"').next().unwrap_or_default();
                let path = format!("/js/{name}");
                assert!(
                    find(&path).is_some(),
                    "{} imports {path}, which is not embedded",
                    asset.path
                );
            }
        }
    }

    #[test]
    fn the_policy_allows_only_this_server_and_its_voice_endpoint() {
        let p = policy(VoiceHosts::Own("media.example:443"));
        assert!(p.contains("default-src 'none'"));
        assert!(p.contains("connect-src 'self' ws://media.example:443 wss://media.example:443;"));
        // Upload previews are object URLs; nothing else but this server.
        assert!(p.contains("img-src 'self' blob:;"));
        assert!(!p.contains("unsafe"));
        // In a cluster a call's node is any SFU node: WebSockets only.
        let p = policy(VoiceHosts::Any);
        assert!(p.contains("connect-src 'self' ws: wss:;"));
        assert!(!p.contains("unsafe") && !p.contains("https:"));
    }
}
