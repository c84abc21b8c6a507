//! Decoding a JSON request body the way Discord reports what is wrong with
//! it: syntax errors as 50109, type errors and missing fields as 50035 at
//! the path where they occurred (`embeds.0.title`).
//!
//! Pure, so the edge maps [`BodyError`] to its response and the fuzzer
//! drives it directly with hostile bytes.

use serde::de::DeserializeOwned;

use crate::FormErrors;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyError {
    /// Not JSON at all, or trailing bytes after the value (50109).
    InvalidJson,
    /// JSON of the wrong shape (50035).
    Form(FormErrors),
}

/// Parses `bytes` as a `T`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => {
            de.end().map_err(|_| BodyError::InvalidJson)?;
            Ok(v)
        }
        Err(e) => {
            let inner = e.inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(BodyError::InvalidJson);
            }
            let message = inner.to_string();
            // serde_path_to_error writes `embeds[0].title`; Discord nests
            // array indices as keys: `embeds.0.title`.
            let mut path = e.path().to_string().replace('[', ".").replace(']', "");
            if path == "." {
                path.clear();
            }
            // serde reports a missing field at its parent; Discord at the field.
            let (path, code) = match missing_field(&message) {
                Some(field) if path.is_empty() => (field.to_owned(), "BASE_TYPE_REQUIRED"),
                Some(field) => (format!("{path}.{field}"), "BASE_TYPE_REQUIRED"),
                None => (path, "BASE_TYPE_INVALID"),
            };
            let text = if code == "BASE_TYPE_REQUIRED" {
                "This field is required".to_owned()
            } else {
                strip_position(&message)
            };
            Err(BodyError::Form(FormErrors::single(&path, code, text)))
        }
    }
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// serde_json appends " at line 1 column 17"; the path says where already.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}
