//! The one place where failures become Discord-shaped HTTP responses.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hearth_proto::{ErrorBody, ErrorCode, FormErrors};
use hearth_store::{Capacity, StoreError};

#[derive(Debug)]
pub enum ApiError {
    Code(ErrorCode),
    Form(FormErrors),
    RateLimited {
        retry_after: f64,
        global: bool,
        scope: &'static str,
    },
    /// The channel's slow mode (`rate_limit_per_user`) is not over yet.
    Slowmode {
        retry_after: f64,
    },
    /// A Discord feature Hearth does not have yet (501), named.
    Unsupported(&'static str),
    /// Something on our side failed; the detail is logged, not shown.
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<ErrorCode> for ApiError {
    fn from(c: ErrorCode) -> Self {
        ApiError::Code(c)
    }
}

impl From<FormErrors> for ApiError {
    fn from(e: FormErrors) -> Self {
        ApiError::Form(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Banned => ApiError::Code(ErrorCode::BANNED),
            StoreError::Conflict("thread") => ApiError::Code(ErrorCode::THREAD_ALREADY_CREATED),
            StoreError::Conflict(what) => ApiError::Form(FormErrors::single(
                what,
                "ALREADY_TAKEN",
                format!("This {what} is already taken."),
            )),
            StoreError::Missing(what) => match what {
                "member" => ApiError::Code(ErrorCode::UNKNOWN_MEMBER),
                "role" => ApiError::Code(ErrorCode::UNKNOWN_ROLE),
                "channel" => ApiError::Code(ErrorCode::UNKNOWN_CHANNEL),
                "message" => ApiError::Code(ErrorCode::UNKNOWN_MESSAGE),
                "guild" => ApiError::Code(ErrorCode::UNKNOWN_GUILD),
                "application" => ApiError::Code(ErrorCode::UNKNOWN_APPLICATION),
                "parent" => ApiError::Form(FormErrors::single(
                    "parent_id",
                    "CHANNEL_PARENT_INVALID",
                    "Not a category of this guild.",
                )),
                other => ApiError::Internal(format!("{other} not found")),
            },
            StoreError::Full(capacity) => match capacity {
                Capacity::Roles => ApiError::Code(ErrorCode::MAX_GUILD_ROLES),
                Capacity::Channels => ApiError::Code(ErrorCode::MAX_CHANNELS),
                Capacity::Webhooks => ApiError::Code(ErrorCode::MAX_WEBHOOKS),
                Capacity::Reactions => ApiError::Code(ErrorCode::MAX_REACTIONS),
                Capacity::Commands => ApiError::Code(ErrorCode::MAX_COMMANDS),
                Capacity::Pins => ApiError::Code(ErrorCode::MAX_PINS),
                Capacity::Recipients => ApiError::Code(ErrorCode::MAX_RECIPIENTS),
                Capacity::ActiveThreads => ApiError::Code(ErrorCode::MAX_ACTIVE_THREADS),
                Capacity::ThreadMembers => ApiError::Code(ErrorCode::MAX_THREAD_MEMBERS),
                Capacity::Invites => ApiError::Code(ErrorCode::MAX_INVITES),
                Capacity::Blocks => ApiError::Form(FormErrors::single(
                    "user_id",
                    "BASE_TYPE_MAX_LENGTH",
                    format!(
                        "You may block at most {} users.",
                        crate::routes::relationships::MAX_BLOCKS
                    ),
                )),
                Capacity::Overwrites => ApiError::Form(FormErrors::single(
                    "permission_overwrites",
                    "BASE_TYPE_MAX_LENGTH",
                    "Too many permission overwrites.",
                )),
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Code(c) => {
                let status = StatusCode::from_u16(c.status).unwrap_or(StatusCode::BAD_REQUEST);
                (status, Json(ErrorBody::from(c))).into_response()
            }
            ApiError::Form(errors) => {
                let c = ErrorCode::INVALID_FORM_BODY;
                let body = ErrorBody {
                    code: c.code,
                    message: c.message.to_owned(),
                    errors: Some(errors.into_value()),
                };
                (StatusCode::BAD_REQUEST, Json(body)).into_response()
            }
            ApiError::RateLimited {
                retry_after,
                global,
                scope,
            } => {
                let body = serde_json::json!({
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": global,
                });
                let mut res = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
                let h = res.headers_mut();
                h.insert("retry-after", HeaderValue::from(retry_after.ceil() as u64));
                h.insert("x-ratelimit-scope", HeaderValue::from_static(scope));
                if global {
                    h.insert("x-ratelimit-global", HeaderValue::from_static("true"));
                }
                res
            }
            ApiError::Unsupported(feature) => {
                let body = ErrorBody {
                    code: 0,
                    message: format!(
                        "501: Not Implemented ({feature} are not supported by this server yet)"
                    ),
                    errors: None,
                };
                (StatusCode::NOT_IMPLEMENTED, Json(body)).into_response()
            }
            ApiError::Slowmode { retry_after } => {
                let body = serde_json::json!({
                    "code": 20016,
                    "message": "This action cannot be performed due to slowmode rate limit.",
                    "retry_after": retry_after,
                    "global": false,
                });
                let mut res = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
                res.headers_mut()
                    .insert("retry-after", HeaderValue::from(retry_after.ceil() as u64));
                res
            }
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(ErrorBody::from(ErrorCode::INTERNAL)),
                )
                    .into_response()
            }
        }
    }
}
