//! Extractors that turn bad input into Discord's errors instead of axum's
//! plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use hearth_model::{Snowflake, User};
use hearth_proto::body::BodyError;
use hearth_proto::{ErrorCode, FormErrors};
use serde::de::DeserializeOwned;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body. An empty body reads as `{}`, so bodies whose fields are all
/// optional may be left out, while required fields still get a field error.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::Code(ErrorCode::ENTITY_TOO_LARGE)
            } else {
                ApiError::Code(ErrorCode::INVALID_JSON)
            }
        })?;
        parse_json(if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        })
        .map(Body)
    }
}

/// Parses JSON, reporting syntax errors as 50109 and type errors as 50035
/// at the path where they occurred.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    hearth_proto::body::decode(bytes).map_err(|e| match e {
        BodyError::InvalidJson => ApiError::Code(ErrorCode::INVALID_JSON),
        BodyError::Form(errors) => ApiError::Form(errors),
    })
}

/// A query string, with bad values reported as 50035.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded_de(query);
        de.map(Query)
    }
}

fn serde_urlencoded_de<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| ApiError::Code(ErrorCode::INVALID_FORM_BODY))?,
    )
    .map(|q| q.0)
    .map_err(|e| ApiError::Form(FormErrors::single("", "BASE_TYPE_INVALID", e.body_text())))
}

/// Parses a snowflake from a path or query value, naming the field on error.
pub fn snowflake(field: &str, value: &str) -> Result<Snowflake, ApiError> {
    value.parse().map_err(|_| {
        ApiError::Form(FormErrors::single(
            field,
            "NUMBER_TYPE_COERCE",
            format!("Value \"{value}\" is not snowflake."),
        ))
    })
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    /// SHA-256 of the presented token, for logout.
    pub token_hash: [u8; 32],
}

impl Caller {
    /// The caller an `Authorization` header names: `None` without a header
    /// or with one that names no user (or the wrong kind of user).
    pub async fn authenticate(
        headers: &axum::http::HeaderMap,
        state: &AppState,
    ) -> Result<Option<Caller>, ApiError> {
        let Some(presented) = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(auth::Presented::parse)
        else {
            return Ok(None);
        };
        let token_hash = auth::hash_token(presented.token);
        let Some(user) = state.store.token_user(&token_hash).await? else {
            return Ok(None);
        };
        // A bot must say "Bot", and a person must not: as in Discord.
        if user.bot != presented.bot {
            return Ok(None);
        }
        Ok(Some(Caller { user, token_hash }))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The rate limiter may have looked the token up already.
        if let Some(found) = parts.extensions.remove::<Caller>() {
            return Ok(found);
        }
        Caller::authenticate(&parts.headers, state)
            .await?
            .ok_or(ApiError::Code(ErrorCode::UNAUTHORIZED))
    }
}
