//! The browser client: the files under `web/`, embedded into the binary so
//! `hearth serve` alone gives a working app at `/`.
//!
//! No build step: the client is plain HTML, CSS and ES modules, served as
//! they are in the repository. Every response carries a Content-Security-
//! Policy that lets the page load and connect to this server only (and to
//! the voice endpoint it hands out, which may name the node differently
//! from the address the browser used), so nothing is ever fetched from
//! elsewhere.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
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
    asset!("/js/screenshare.js", JS),
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
    asset!("/js/messagekeys.js", JS),
    asset!("/js/touch.js", JS),
    asset!("/js/markdown.js", JS),
    asset!("/js/autocomplete.js", JS),
    asset!("/js/composer.js", JS),
    asset!("/js/emojipicker.js", JS),
    asset!("/js/emoji-data.js", JS),
    asset!("/js/wire.js", JS),
    asset!("/js/permissions.js", JS),
    asset!("/js/settings.js", JS),
    asset!("/js/serversettings.js", JS),
    asset!("/js/channelsettings.js", JS),
    asset!("/js/roles.js", JS),
    asset!("/js/invites.js", JS),
    asset!("/js/usersettings.js", JS),
    asset!("/js/appearance.js", JS),
    asset!("/js/voicesettings.js", JS),
    asset!("/js/mic.js", JS),
    asset!("/js/ptt.js", JS),
    asset!("/js/moderation.js", JS),
    asset!("/js/bulkdelete.js", JS),
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

/// An embedded file as it is served: its ETag and, for text, a gzipped
/// copy, both made once when the router is built.
struct Prepared {
    asset: &'static Asset,
    /// The strong validator of the file as it is (`"<hash>"`).
    etag: HeaderValue,
    /// The gzipped bytes and their own validator (`"<hash>-gz"`): another
    /// representation must not share the first one's strong ETag.
    gzip: Option<(Bytes, HeaderValue)>,
}

impl Prepared {
    fn new(asset: &'static Asset) -> Prepared {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(asset.body);
        let hash: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let validator = |suffix: &str| {
            HeaderValue::from_str(&format!("\"{hash}{suffix}\""))
                .expect("a hex digest is a valid header value")
        };
        // Images other than SVG are compressed already.
        let compressible =
            asset.content_type.starts_with("text/") || asset.content_type == "image/svg+xml";
        let gzip = compressible
            .then(|| gzip(asset.body))
            .filter(|packed| packed.len() < asset.body.len())
            .map(|packed| (Bytes::from(packed), validator("-gz")));
        Prepared {
            asset,
            etag: validator(""),
            gzip,
        }
    }
}

fn gzip(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(body)
        .and_then(|()| encoder.finish())
        .expect("writing to memory does not fail")
}

/// Whether `Accept-Encoding` takes gzip: named (or `*`) without `q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let Some(accept) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    accept.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let refused = parts.any(|param| {
            param
                .strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

/// Whether `If-None-Match` names one of this file's validators (weakly
/// compared, as RFC 9110 asks for GET), or `*`.
fn not_modified(headers: &HeaderMap, file: &Prepared) -> bool {
    let Some(tags) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mine = std::iter::once(&file.etag).chain(file.gzip.as_ref().map(|(_, tag)| tag));
    let mine: Vec<&str> = mine.filter_map(|tag| tag.to_str().ok()).collect();
    tags.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || mine.contains(&tag.strip_prefix("W/").unwrap_or(tag)))
}

fn respond(file: &Prepared, csp: &HeaderValue, request: &HeaderMap) -> Response {
    let gzip = file.gzip.as_ref().filter(|_| accepts_gzip(request));
    let etag = gzip.map_or(&file.etag, |(_, tag)| tag);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.asset.content_type),
    );
    // Always revalidate: a new binary must never run an old client. The
    // ETag makes that a 304 without a body while nothing changed.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::ETAG, etag.clone());
    if file.gzip.is_some() {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
    if not_modified(request, file) {
        headers.remove(header::CONTENT_TYPE);
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    match gzip {
        Some((packed, _)) => {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (headers, packed.clone()).into_response()
        }
        None => (headers, file.asset.body).into_response(),
    }
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
    let serve = |file: &Arc<Prepared>, csp: &HeaderValue| {
        let (file, csp) = (file.clone(), csp.clone());
        get(move |request: HeaderMap| async move { respond(&file, &csp, &request) })
    };
    let index = Arc::new(Prepared::new(
        find("/index.html").expect("index.html is embedded"),
    ));
    let mut router = Router::new()
        .route("/", serve(&index, &csp))
        .route("/invite/{code}", serve(&index, &csp));
    for asset in ASSETS {
        let file = match asset.path {
            "/index.html" => index.clone(),
            _ => Arc::new(Prepared::new(asset)),
        };
        router = router.route(asset.path, serve(&file, &csp));
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

    fn request(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.clone(), HeaderValue::from_static(value)))
            .collect()
    }

    #[test]
    fn gzip_is_chosen_only_when_the_browser_takes_it() {
        let accept = |v| accepts_gzip(&request(&[(header::ACCEPT_ENCODING, v)]));
        assert!(accept("gzip, deflate, br, zstd"));
        assert!(accept("br;q=1.0, GZIP;q=0.5"));
        assert!(accept("*"));
        assert!(!accept("gzip;q=0"));
        assert!(!accept("gzip; q=0.000, br"));
        assert!(!accept("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn a_file_already_held_is_not_sent_again() {
        let file = Prepared::new(find("/js/main.js").expect("embedded"));
        let (packed, gz_tag) = file.gzip.clone().expect("JavaScript is compressed");
        assert!(packed.len() * 2 < file.asset.body.len());
        let held = |v: &'static str| not_modified(&request(&[(header::IF_NONE_MATCH, v)]), &file);
        let plain: &'static str = file.etag.to_str().unwrap().to_owned().leak();
        let gz: &'static str = gz_tag.to_str().unwrap().to_owned().leak();
        assert!(held(plain) && held(gz) && held("*"));
        assert!(held(format!("\"x\", W/{plain}").leak()));
        assert!(!held("\"0123\""));
        // Another file's validator is not this one's.
        let other = Prepared::new(find("/js/api.js").expect("embedded"));
        assert_ne!(other.etag, file.etag);
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
