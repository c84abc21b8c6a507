//! The rate-limit middleware: picks the route's bucket and limit, asks the
//! sans-IO limiter, and writes Discord's headers.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::extract::Caller;
use crate::ratelimit::{Key, Limit, Verdict, GLOBAL};
use crate::state::AppState;

const fn per(count: u32, secs: u64) -> Limit {
    Limit {
        count,
        period: Duration::from_secs(secs),
    }
}

/// The limit of a route, by method and path template, with Discord's
/// numbers where Discord publishes or clients observe them.
fn limit_for(method: &Method, template: &str) -> Limit {
    let ends = |suffix: &str| template.ends_with(suffix);
    match *method {
        Method::POST if ends("/channels/{channel_id}/messages") => per(5, 5),
        Method::POST if ends("/channels/{channel_id}/typing") => per(5, 5),
        Method::POST if ends("/webhooks/{webhook_id}/{token}") => per(5, 2),
        Method::DELETE if ends("/messages/{message_id}") => per(5, 1),
        Method::POST if template.contains("/auth/") => per(20, 60),
        _ => per(50, 5),
    }
}

/// The value of the route's major parameter, which scopes its bucket.
/// Segments are matched from the end: inside a nested router the path has
/// lost the `/api/v10` prefix that the template still carries.
fn major(template: &str, path: &str) -> u64 {
    let majors = ["{channel_id}", "{guild_id}", "{webhook_id}"];
    template
        .rsplit('/')
        .zip(path.rsplit('/'))
        .find(|(t, _)| majors.contains(t))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

fn hash_of(v: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !state.config.rate_limits {
        return next.run(req).await;
    }
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    // Tokens identify callers; without one, the address does. Log-in and
    // registration go by address always: a made-up header must not buy a
    // fresh bucket there.
    let address = hash_of(
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip()),
    );
    // Keyed on who the token belongs to, not on its bytes: spelling the
    // same token differently (`Bearer` and extra spaces, say) must not buy
    // a fresh bucket. The caller found here is handed on to the handler.
    let mut req = req;
    let caller = match template.contains("/auth/") {
        true => address,
        false => match Caller::authenticate(req.headers(), &state).await {
            Ok(Some(found)) => {
                let id = hash_of(("user", found.user.id));
                req.extensions_mut().insert(found);
                id
            }
            _ => address,
        },
    };
    let limit = limit_for(req.method(), &template);
    // `/api/v9/...` and `/api/v10/...` are one route and share one bucket.
    let route = template
        .trim_start_matches("/api/v9")
        .trim_start_matches("/api/v10");
    let bucket_id = hash_of((req.method().as_str(), route));
    let key = Key {
        caller,
        bucket: bucket_id,
        major: major(&template, req.uri().path()),
    };
    let shared = match state.shared_limits() {
        Some(shared) => shared.check(caller, GLOBAL, &key, limit).await,
        None => None,
    };
    let now = Instant::now();
    let (global, route) = match shared {
        Some(counted) => counted,
        None => {
            let mut limiter = state.limiter.lock().unwrap_or_else(|p| p.into_inner());
            let global = limiter.check_global(caller, now);
            let route = if global.allowed {
                Some(limiter.check(key, limit, now))
            } else {
                None
            };
            (global, route)
        }
    };
    let Some(route) = route else {
        return ApiError::RateLimited {
            retry_after: secs(global.reset_after),
            global: true,
            scope: "global",
        }
        .into_response();
    };
    let bucket = format!("{bucket_id:016x}");
    if !route.allowed {
        let mut res = ApiError::RateLimited {
            retry_after: secs(route.reset_after),
            global: false,
            scope: "user",
        }
        .into_response();
        headers(res.headers_mut(), &route, &bucket);
        return res;
    }
    let mut res = next.run(req).await;
    headers(res.headers_mut(), &route, &bucket);
    res
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).ceil() / 1000.0
}

fn headers(h: &mut HeaderMap, v: &Verdict, bucket: &str) {
    let reset_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        + v.reset_after;
    let put = |h: &mut HeaderMap, name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            h.insert(name, value);
        }
    };
    put(h, "x-ratelimit-limit", v.limit.to_string());
    put(h, "x-ratelimit-remaining", v.remaining.to_string());
    put(
        h,
        "x-ratelimit-reset",
        format!("{:.3}", reset_at.as_secs_f64()),
    );
    put(
        h,
        "x-ratelimit-reset-after",
        format!("{:.3}", secs(v.reset_after)),
    );
    put(h, "x-ratelimit-bucket", bucket.to_owned());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_parameter_is_read_from_the_path() {
        assert_eq!(
            major(
                "/api/v10/channels/{channel_id}/messages",
                "/api/v10/channels/123/messages"
            ),
            123
        );
        assert_eq!(
            major(
                "/api/v10/guilds/{guild_id}/roles/{role_id}",
                "/api/v10/guilds/9/roles/4"
            ),
            9
        );
        assert_eq!(major("/api/v10/users/@me", "/api/v10/users/@me"), 0);
        assert_eq!(
            major(
                "/api/v10/channels/{channel_id}/messages",
                "/channels/77/messages"
            ),
            77
        );
    }

    #[test]
    fn message_posts_are_five_per_five_seconds() {
        assert_eq!(
            limit_for(&Method::POST, "/api/v10/channels/{channel_id}/messages"),
            per(5, 5)
        );
        assert_eq!(
            limit_for(&Method::GET, "/api/v10/channels/{channel_id}/messages"),
            per(50, 5)
        );
    }
}
