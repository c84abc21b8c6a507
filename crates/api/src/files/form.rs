//! A message body as JSON or as Discord's `multipart/form-data`: a
//! `payload_json` part (or plain form fields) and files in `files[n]`
//! parts, each described by the payload's `attachments[]` entry whose `id`
//! is `n` (alt text, a different name).
//!
//! Hostile forms are cut short, not read: the 11th file, the first byte
//! past a file's or the message's limit, a text part past the JSON limit,
//! or too many parts end the request at once, and the spool files already
//! written delete themselves.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use hearth_files::spool::{SpoolError, Spooled};
use hearth_model::attachments::{MAX_ATTACHMENTS, MAX_DESCRIPTION};
use hearth_proto::{ErrorCode, FormErrors};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::{parse_json, Body};
use crate::state::AppState;

/// Text parts (other than files) a form may have.
const MAX_TEXT_PARTS: usize = 16;

/// A file as uploaded, spooled and not yet stored.
pub struct Upload {
    /// `n` of its `files[n]` part.
    pub index: u64,
    /// As the client named it (made safe when stored).
    pub filename: String,
    pub description: Option<String>,
    pub file: Spooled,
}

/// A body that may carry files.
pub struct MessageForm<T> {
    pub body: T,
    pub uploads: Vec<Upload>,
}

/// The payload's description of one file.
#[derive(Debug, Deserialize)]
struct Slot {
    id: serde_json::Value,
    #[serde(default)]
    filename: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Slots {
    #[serde(default)]
    attachments: Option<Vec<Slot>>,
    /// An interaction response's message is its `data`.
    #[serde(default)]
    data: Option<Box<Slots>>,
}

impl Slot {
    fn index(&self) -> Option<u64> {
        match &self.id {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
}

fn too_many_files() -> ApiError {
    FormErrors::single(
        "attachments",
        "BASE_TYPE_MAX_LENGTH",
        format!("Must be {MAX_ATTACHMENTS} or fewer in length."),
    )
    .into()
}

fn malformed(why: impl std::fmt::Display) -> ApiError {
    FormErrors::single(
        "files",
        "BASE_TYPE_INVALID",
        format!("Malformed multipart body: {why}."),
    )
    .into()
}

/// `files[3]`, `file[3]`, `files3`, `file3` or `file`: the file's index.
fn file_index(name: &str, next: u64) -> Option<u64> {
    let rest = name
        .strip_prefix("files")
        .or_else(|| name.strip_prefix("file"))?;
    let digits = rest
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(rest);
    if digits.is_empty() {
        return Some(next);
    }
    digits.parse().ok()
}

/// Whether a request's body is `multipart/form-data` (may carry files).
pub fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

impl<T: DeserializeOwned> FromRequest<AppState> for MessageForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if !is_multipart(req.headers()) {
            let Body(body) = Body::<T>::from_request(req, state).await?;
            return Ok(MessageForm {
                body,
                uploads: Vec::new(),
            });
        }
        let files = state
            .files()
            .ok_or(ApiError::Unsupported("file uploads"))?
            .clone();
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let boundary = multer::parse_boundary(content_type).map_err(malformed)?;
        let json_limit = state.config.max_body_bytes as u64;
        let mut form = multer::Multipart::new(req.into_body().into_data_stream(), boundary);

        let mut payload: Option<Vec<u8>> = None;
        let mut fields = serde_json::Map::new();
        let mut uploads: Vec<Upload> = Vec::new();
        let mut text_parts = 0;
        let mut total: u64 = 0;
        while let Some(mut part) = form.next_field().await.map_err(malformed)? {
            let name = part.name().unwrap_or("").to_owned();
            let filename = part.file_name().map(str::to_owned);
            let index = file_index(&name, uploads.len() as u64);
            match (index, filename) {
                (Some(index), Some(filename)) => {
                    if uploads.len() >= MAX_ATTACHMENTS {
                        return Err(too_many_files());
                    }
                    if uploads.iter().any(|u| u.index == index) {
                        return Err(malformed(format_args!("two files with index {index}")));
                    }
                    let left = files.limits.per_message.saturating_sub(total);
                    let limit = files.limits.per_file.min(left);
                    let mut file = files
                        .spool
                        .create(limit)
                        .await
                        .map_err(|e| ApiError::Internal(format!("spooling an upload: {e}")))?;
                    while let Some(chunk) = part.chunk().await.map_err(malformed)? {
                        file.write(&chunk).await.map_err(|e| match e {
                            SpoolError::TooLarge { .. } => ErrorCode::ENTITY_TOO_LARGE.into(),
                            SpoolError::Io(e) => {
                                ApiError::Internal(format!("spooling an upload: {e}"))
                            }
                        })?;
                    }
                    let file = file
                        .finish()
                        .await
                        .map_err(|e| ApiError::Internal(format!("spooling an upload: {e}")))?;
                    total += file.len();
                    uploads.push(Upload {
                        index,
                        filename,
                        description: None,
                        file,
                    });
                }
                _ => {
                    text_parts += 1;
                    if text_parts > MAX_TEXT_PARTS {
                        return Err(malformed("too many parts"));
                    }
                    let mut text = Vec::new();
                    while let Some(chunk) = part.chunk().await.map_err(malformed)? {
                        if (text.len() + chunk.len()) as u64 > json_limit {
                            return Err(ErrorCode::ENTITY_TOO_LARGE.into());
                        }
                        text.extend_from_slice(&chunk);
                    }
                    if name == "payload_json" {
                        payload = Some(text);
                    } else {
                        // Discord takes plain form fields when there is no
                        // payload_json (`content=hi`).
                        let text = String::from_utf8(text).map_err(malformed)?;
                        fields.insert(name, serde_json::Value::String(text));
                    }
                }
            }
        }
        let payload = match payload {
            Some(p) => p,
            None => serde_json::to_vec(&fields).map_err(|e| ApiError::Internal(e.to_string()))?,
        };
        let payload: &[u8] = if payload.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &payload
        };
        let body: T = parse_json(payload)?;
        let slots: Slots = parse_json(payload)?;
        let mut errors = FormErrors::new();
        let (prefix, listed) = match slots.attachments {
            Some(listed) => ("", listed),
            None => (
                "data.",
                slots.data.and_then(|d| d.attachments).unwrap_or_default(),
            ),
        };
        for (i, slot) in listed.into_iter().enumerate() {
            let Some(upload) = slot
                .index()
                .and_then(|n| uploads.iter_mut().find(|u| u.index == n))
            else {
                continue;
            };
            if let Some(d) = slot.description {
                if d.chars().count() > MAX_DESCRIPTION {
                    errors.add(
                        &format!("{prefix}attachments.{i}.description"),
                        "BASE_TYPE_MAX_LENGTH",
                        format!("Must be {MAX_DESCRIPTION} or fewer in length."),
                    );
                }
                upload.description = Some(d).filter(|d| !d.is_empty());
            }
            if let Some(f) = slot.filename.filter(|f| !f.is_empty()) {
                upload.filename = f;
            }
        }
        errors.finish()?;
        uploads.sort_by_key(|u| u.index);
        Ok(MessageForm { body, uploads })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_parts_are_named_as_the_libraries_name_them() {
        assert_eq!(file_index("files[0]", 5), Some(0));
        assert_eq!(file_index("files[12]", 5), Some(12));
        assert_eq!(file_index("file", 5), Some(5));
        assert_eq!(file_index("file2", 5), Some(2));
        assert_eq!(file_index("payload_json", 5), None);
        assert_eq!(file_index("files[x]", 5), None);
    }
}
