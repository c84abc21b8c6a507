//! `GET /attachments/{id}/{filename}` (and the same under `/media`, the
//! `proxy_url`): a file to whoever holds a valid link, with `Range`
//! requests for players and `?width=&height=` thumbnails of images.
//!
//! The response can never be turned against the site: the type is sniffed
//! from the stored bytes (the same function as at upload), `nosniff` stops
//! the browser guessing again, anything not an image, video or sound is a
//! download, and a sandboxing CSP covers what is shown.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;
use hearth_files::{sniff, Blob, BlobError, ByteRange};
use hearth_model::Snowflake;
use serde::Deserialize;

use super::links::{unix_now, Signature};
use super::{key, Files};
use crate::extract::Query;
use crate::state::AppState;

/// Images larger than this are not thumbnailed (served whole instead).
const MAX_THUMB_SOURCE: u64 = 50 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/attachments/{id}/{filename}", get(serve))
        .route("/media/attachments/{id}/{filename}", get(serve))
}

/// Every field a string, so no query can fail to parse: what is wrong
/// is simply not a valid link.
#[derive(Debug, Deserialize)]
struct FileQuery {
    #[serde(default)]
    ex: Option<String>,
    #[serde(default)]
    hm: Option<String>,
    #[serde(default)]
    width: Option<String>,
    #[serde(default)]
    height: Option<String>,
}

fn gone() -> Response {
    // Discord's CDN answers an expired or forged link the same way.
    (
        StatusCode::NOT_FOUND,
        "This content is no longer available.",
    )
        .into_response()
}

fn failed(e: BlobError) -> Response {
    tracing::warn!(error = %e, "serving a file");
    (StatusCode::BAD_GATEWAY, "The file store did not answer.").into_response()
}

async fn serve(
    State(state): State<AppState>,
    Path((id, filename)): Path<(String, String)>,
    Query(query): Query<FileQuery>,
    headers: HeaderMap,
) -> Response {
    let (Some(files), Ok(id)) = (state.files(), id.parse::<Snowflake>()) else {
        return gone();
    };
    let (Some(ex), Some(hm)) = (query.ex, query.hm) else {
        return gone();
    };
    if !files
        .signer
        .verify(id, &filename, &Signature { ex, hm }, unix_now())
    {
        return gone();
    }
    let width = query.width.and_then(|w| w.parse().ok());
    let height = query.height.and_then(|h| h.parse().ok());
    if width.is_some() || height.is_some() {
        if let Some(r) = thumbnail(files, id, width, height).await {
            return r;
        }
    }
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_range);
    // The type comes from the first bytes; a ranged read needs them apart.
    let head = match range {
        Some(_) => match files
            .blobs
            .get(
                &key(id),
                Some(ByteRange {
                    first: 0,
                    last: 511,
                }),
            )
            .await
        {
            Ok(Some(b)) => Some(first_bytes(b, 512).await),
            Ok(None) => return gone(),
            // A file shorter than 512 bytes: read it whole below.
            Err(BlobError::BadRange) => None,
            Err(e) => return failed(e),
        },
        None => None,
    };
    let total = match head.as_ref() {
        Some((_, total)) => *total,
        None => 0,
    };
    let range = range.and_then(|r| r.resolve(total));
    let blob = match files.blobs.get(&key(id), range).await {
        Ok(Some(b)) => b,
        Ok(None) => return gone(),
        Err(BlobError::BadRange) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{total}"))],
            )
                .into_response()
        }
        Err(e) => return failed(e),
    };
    let total_len = blob.total_len;
    let mut body = blob.body;
    let (content_type, first) = match head {
        Some((head, _)) => (sniff::content_type(&head), None),
        None => {
            // Sniff from the first chunk, then send it ahead of the rest.
            let mut first = Vec::new();
            while first.len() < sniff::SNIFF_LEN {
                match body.next().await {
                    Some(Ok(chunk)) => first.extend_from_slice(&chunk),
                    Some(Err(e)) => return failed(e.into()),
                    None => break,
                }
            }
            (sniff::content_type(&first), Some(first))
        }
    };
    let stream = match first {
        Some(first) => futures_util::stream::once(async move { Ok(bytes::Bytes::from(first)) })
            .chain(body)
            .boxed(),
        None => body,
    };
    let mut response = Response::new(Body::from_stream(stream));
    let h = response.headers_mut();
    file_headers(h, content_type, &filename);
    match range {
        Some(r) => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let h = response.headers_mut();
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(r.len()));
            if let Ok(v) =
                HeaderValue::from_str(&format!("bytes {}-{}/{total_len}", r.first, r.last))
            {
                h.insert(header::CONTENT_RANGE, v);
            }
        }
        None => {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(total_len));
        }
    }
    response
}

fn file_headers(h: &mut HeaderMap, content_type: &'static str, filename: &str) {
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // The link itself expires; what it names never changes.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400, immutable"),
    );
    let disposition = if sniff::is_inline(content_type) {
        "inline"
    } else {
        "attachment"
    };
    // `filename` passed the link's signature, so it is a safe name (letters,
    // digits, `.-_`) and fits in a quoted header value.
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
}

async fn first_bytes(blob: Blob, max: usize) -> (Vec<u8>, u64) {
    let mut out = Vec::new();
    let mut body = blob.body;
    while out.len() < max {
        match body.next().await {
            Some(Ok(chunk)) => out.extend_from_slice(&chunk),
            _ => break,
        }
    }
    (out, blob.total_len)
}

/// The thumbnail asked for, or None to serve the file itself (not an
/// image we read, too large, or broken).
async fn thumbnail(
    files: &Arc<Files>,
    id: Snowflake,
    width: Option<u32>,
    height: Option<u32>,
) -> Option<Response> {
    use hearth_files::picture::MAX_THUMB_SIDE;
    // Sizes are rounded up to a power of two, so one image has at most a
    // few dozen thumbnails to make (and keep), whatever sizes are asked;
    // the client scales the slightly larger picture down.
    let bucket = |n: Option<u32>| {
        n.unwrap_or(MAX_THUMB_SIDE)
            .clamp(16, MAX_THUMB_SIDE)
            .next_power_of_two()
    };
    let (w, h) = (bucket(width), bucket(height));
    let made = match files.thumbs.get((id, w, h)) {
        Some(hit) => hit,
        None => {
            let _turn = files.thumbs.makers.acquire().await.ok()?;
            let blob = files.blobs.get(&key(id), None).await.ok()??;
            if blob.total_len > MAX_THUMB_SOURCE {
                return None;
            }
            let (bytes, _) = first_bytes(blob, MAX_THUMB_SOURCE as usize).await;
            let content_type = sniff::content_type(&bytes);
            if !content_type.starts_with("image/") {
                return None;
            }
            let (thumb, kind) = tokio::task::spawn_blocking(move || {
                hearth_files::picture::thumbnail(&bytes, content_type, w, h)
            })
            .await
            .ok()?
            .ok()?;
            let thumb = Arc::new(thumb);
            files.thumbs.put((id, w, h), thumb.clone(), kind);
            (thumb, kind)
        }
    };
    let (bytes, kind) = made;
    let mut response = Response::new(Body::from(bytes.as_ref().clone()));
    let name = match kind {
        "image/jpeg" => "thumbnail.jpg",
        _ => "thumbnail.png",
    };
    file_headers(response.headers_mut(), kind, name);
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    Some(response)
}

/// One range of a `Range: bytes=...` header, as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    From(u64, Option<u64>),
    Last(u64),
}

impl Wanted {
    /// The range within a blob of `total` bytes; None for an unsatisfiable
    /// one (served whole, as HTTP allows ignoring a Range).
    fn resolve(self, total: u64) -> Option<ByteRange> {
        if total == 0 {
            return None;
        }
        match self {
            Wanted::From(first, last) if first < total => Some(ByteRange {
                first,
                last: last.unwrap_or(total - 1).min(total - 1),
            }),
            Wanted::Last(n) if n > 0 => Some(ByteRange {
                first: total.saturating_sub(n),
                last: total - 1,
            }),
            _ => None,
        }
    }
}

/// A single `bytes=` range; several ranges are served as the whole file.
fn parse_range(value: &str) -> Option<Wanted> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        return Some(Wanted::Last(b.parse().ok()?));
    }
    let first = a.parse().ok()?;
    let last = match b {
        "" => None,
        b => Some(b.parse().ok()?),
    };
    if last.is_some_and(|l| l < first) {
        return None;
    }
    Some(Wanted::From(first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_http_says() {
        let r = |s: &str, total| parse_range(s).and_then(|w| w.resolve(total));
        assert_eq!(r("bytes=0-9", 100), Some(ByteRange { first: 0, last: 9 }));
        assert_eq!(
            r("bytes=90-", 100),
            Some(ByteRange {
                first: 90,
                last: 99
            })
        );
        assert_eq!(
            r("bytes=-10", 100),
            Some(ByteRange {
                first: 90,
                last: 99
            })
        );
        assert_eq!(
            r("bytes=50-500", 100),
            Some(ByteRange {
                first: 50,
                last: 99
            })
        );
        assert_eq!(r("bytes=100-", 100), None);
        assert_eq!(r("bytes=5-1", 100), None);
        assert_eq!(r("bytes=0-1,5-6", 100), None);
        assert_eq!(r("items=0-1", 100), None);
    }
}
