//! Avatars, as Discord has them: `PATCH /users/@me` takes the image as a
//! data URI, the user object carries only its hash, and the picture is at
//! `/avatars/{user_id}/{hash}.png` (Discord's CDN path) for anyone.
//!
//! The image goes to the blob store, never into the user row: a user
//! object rides along in every member list and message, and a picture in
//! it would be sent again with each. What is stored is checked like an
//! upload: decoded size bounded, type sniffed from the bytes (PNG, JPEG,
//! GIF or WebP only), dimensions read from the header and bounded.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use futures_util::StreamExt;
use hearth_files::{picture, sniff, BlobKey};
use hearth_model::Snowflake;
use hearth_proto::FormErrors;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The largest avatar image, decoded (its base64 fits the 1 MiB body limit).
pub const MAX_AVATAR_BYTES: usize = 512 * 1024;
/// The largest width or height of an avatar image.
const MAX_AVATAR_SIDE: u32 = 2048;
const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

pub fn routes() -> Router<AppState> {
    Router::new().route("/avatars/{user_id}/{file}", get(serve))
}

fn invalid() -> ApiError {
    ApiError::Form(FormErrors::single(
        "avatar",
        "IMAGE_INVALID",
        "Invalid image data",
    ))
}

/// The image of a data URI (`data:image/<type>;base64,<data>`), checked.
fn decode(data_uri: &str) -> ApiResult<(Vec<u8>, &'static str)> {
    let encoded = data_uri
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(";base64,"))
        .filter(|(mime, _)| mime.starts_with("image/"))
        .map(|(_, data)| data)
        .ok_or_else(invalid)?;
    // Base64 is 4 characters for 3 bytes: refuse before decoding too much.
    if encoded.len() > MAX_AVATAR_BYTES / 3 * 4 + 4 {
        return Err(ApiError::Form(FormErrors::single(
            "avatar",
            "BINARY_TYPE_MAX_SIZE",
            format!(
                "File cannot be larger than {} KiB.",
                MAX_AVATAR_BYTES / 1024
            ),
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| invalid())?;
    let kind = sniff::content_type(&bytes);
    if !IMAGE_TYPES.contains(&kind) {
        return Err(invalid());
    }
    Ok((bytes, kind))
}

/// Stores the avatar of `user_id` given as a data URI; its hash, which the
/// user object then carries.
pub async fn store(state: &AppState, user_id: Snowflake, data_uri: &str) -> ApiResult<String> {
    let (bytes, kind) = decode(data_uri)?;
    let files = state
        .files()
        .ok_or_else(|| ApiError::Internal("no file store on this node".into()))?;
    // The header is read from a file, as for uploads; the bytes are
    // bounded above, so the spool's own limit never bites first.
    let mut spool = files
        .spool
        .create(MAX_AVATAR_BYTES as u64)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    spool
        .write(&bytes)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let spooled = spool
        .finish()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let fits = picture::dimensions(spooled.path(), kind)
        .is_some_and(|d| d.width <= MAX_AVATAR_SIDE && d.height <= MAX_AVATAR_SIDE);
    if !fits {
        return Err(ApiError::Form(FormErrors::single(
            "avatar",
            "IMAGE_INVALID",
            format!("An avatar is at most {MAX_AVATAR_SIDE}×{MAX_AVATAR_SIDE} pixels."),
        )));
    }
    let digest = Sha256::digest(&bytes);
    let hash: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let key = BlobKey::avatar(user_id.0, &hash).expect("a hex digest names a blob");
    files
        .blobs
        .put_file(&key, spooled.path(), spooled.len(), kind)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(hash)
}

/// Deletes an avatar no longer used (best effort: a leftover picture
/// harms nobody, and a stale hash is not served to anyone's profile).
pub async fn forget(state: &AppState, user_id: Snowflake, hash: &str) {
    let (Some(files), Some(key)) = (state.files(), BlobKey::avatar(user_id.0, hash)) else {
        return;
    };
    if let Err(e) = files.blobs.delete(&key).await {
        tracing::warn!(error = %e, "could not delete a replaced avatar");
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "This content is no longer available.",
    )
        .into_response()
}

/// `GET /avatars/{user_id}/{hash}.{png|jpg|jpeg|webp|gif}`: the stored
/// picture as it was uploaded, whatever extension was asked for (Discord's
/// CDN converts; a browser shows any of these types). Content-addressed,
/// so cached for good.
async fn serve(
    State(state): State<AppState>,
    Path((user_id, file)): Path<(String, String)>,
) -> Response {
    let Ok(user_id) = user_id.parse::<u64>() else {
        return not_found();
    };
    let hash = file.split_once('.').map_or(file.as_str(), |(h, _)| h);
    let (Some(files), Some(key)) = (state.files(), BlobKey::avatar(user_id, hash)) else {
        return not_found();
    };
    let blob = match files.blobs.get(&key, None).await {
        Ok(Some(blob)) if blob.total_len <= MAX_AVATAR_BYTES as u64 => blob,
        Ok(_) => return not_found(),
        Err(e) => {
            tracing::warn!(error = %e, "reading an avatar");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
        }
    };
    let mut bytes = Vec::with_capacity(blob.total_len as usize);
    let mut body = blob.body;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(c) if bytes.len() + c.len() <= MAX_AVATAR_BYTES => bytes.extend_from_slice(&c),
            _ => return not_found(),
        }
    }
    let kind = sniff::content_type(&bytes);
    if !IMAGE_TYPES.contains(&kind) {
        return not_found();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            ),
        ],
        Body::from(bytes),
    )
        .into_response()
}
