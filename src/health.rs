//! Liveness and readiness, for load balancers and orchestrators.
//!
//! `/healthz` answers 200 whenever the process serves HTTP at all: a
//! liveness probe that fails means the node should be restarted. `/readyz`
//! runs every check registered in [`Readiness`] (the store, the media
//! workers, and whatever else the node depends on) and answers 200 only if
//! all pass, 503 naming the failing ones otherwise: a readiness probe that
//! fails means traffic should go elsewhere until it passes again, not that
//! the node should die.
//!
//! Both live outside `/api`, so no rate limit counts them, and answer JSON,
//! never the web client's page. Checks run concurrently, each bounded by
//! [`CHECK_TIMEOUT`], so one hung dependency makes the node unready rather
//! than the probe hang.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// How long a check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type CheckFn = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

/// The named checks `/readyz` runs.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, CheckFn)>,
}

impl Readiness {
    /// Adds a check: `check(state.clone())` must resolve to `Ok` for the
    /// node to be ready, e.g.
    /// `readiness.add("store", store.clone(), |s| async move { s.ping().await });`
    pub fn add<S, F, Fut, E>(&mut self, name: &'static str, state: S, check: F)
    where
        S: Clone + Send + Sync + 'static,
        F: Fn(S) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Display,
    {
        let run: CheckFn = Arc::new(move || {
            let checked = check(state.clone());
            Box::pin(async move { checked.await.map_err(|e| e.to_string()) })
        });
        self.checks.push((name, run));
    }

    /// Runs every check at once and waits for all (each bounded).
    pub async fn report(&self) -> Report {
        let mut running = tokio::task::JoinSet::new();
        for (i, (_, run)) in self.checks.iter().enumerate() {
            let check = run();
            running.spawn(async move {
                let outcome = match tokio::time::timeout(CHECK_TIMEOUT, check).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
                };
                (i, outcome)
            });
        }
        let mut outcomes: Vec<Result<(), String>> = self
            .checks
            .iter()
            .map(|_| Err("the check panicked".to_owned()))
            .collect();
        while let Some(joined) = running.join_next().await {
            // A panicking check keeps the outcome it was given above.
            if let Ok((i, outcome)) = joined {
                outcomes[i] = outcome;
            }
        }
        Report {
            checks: self
                .checks
                .iter()
                .map(|(name, _)| *name)
                .zip(outcomes)
                .collect(),
        }
    }
}

/// What each check said.
#[derive(Debug)]
pub struct Report {
    checks: Vec<(&'static str, Result<(), String>)>,
}

impl Report {
    pub fn is_ready(&self) -> bool {
        self.checks.iter().all(|(_, r)| r.is_ok())
    }

    pub fn failing(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|(_, r)| r.is_err())
            .map(|(name, _)| *name)
            .collect()
    }
}

#[derive(Serialize)]
struct ReadyBody {
    status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failing: Vec<&'static str>,
    /// Each check's name: "ok", or why it failed.
    checks: BTreeMap<&'static str, String>,
}

impl IntoResponse for Report {
    fn into_response(self) -> Response {
        let ready = self.is_ready();
        let body = ReadyBody {
            status: if ready { "ready" } else { "not ready" },
            failing: self.failing(),
            checks: self
                .checks
                .into_iter()
                .map(|(name, r)| (name, r.err().unwrap_or_else(|| "ok".to_owned())))
                .collect(),
        };
        let status = if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        fresh((status, Json(body)).into_response())
    }
}

/// Probes must see the node as it is now, not as a cache remembers it.
fn fresh(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Serialize)]
struct AliveBody {
    status: &'static str,
}

/// `/healthz` and `/readyz`.
pub fn router(readiness: Readiness) -> Router {
    let readiness = Arc::new(readiness);
    Router::new()
        .route(
            "/healthz",
            get(|| async { fresh(Json(AliveBody { status: "alive" }).into_response()) }),
        )
        .route(
            "/readyz",
            get(move || {
                let readiness = readiness.clone();
                async move { readiness.report().await }
            }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("a small body");
        serde_json::from_slice(&bytes).expect("a JSON body")
    }

    #[tokio::test]
    async fn ready_when_every_check_passes() {
        let mut r = Readiness::default();
        r.add("store", (), |()| async { Ok::<_, String>(()) });
        r.add("media", (), |()| async { Ok::<_, String>(()) });
        let report = r.report().await;
        assert!(report.is_ready());
        let response = report.into_response();
        assert_eq!(response.status(), StatusCode::OK);
        let body = body_of(response).await;
        assert_eq!(body["status"], "ready");
        assert_eq!(body["checks"]["store"], "ok");
        assert_eq!(body["checks"]["media"], "ok");
        assert!(body.get("failing").is_none(), "{body}");
    }

    #[tokio::test]
    async fn unready_naming_the_checks_that_failed_hung_or_panicked() {
        let mut r = Readiness::default();
        r.add("store", (), |()| async { Ok::<_, String>(()) });
        r.add("bus", "connection refused", |why| async move { Err(why) });
        r.add("slow", (), |()| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, String>(())
        });
        r.add("broken", (), |()| async {
            if true {
                panic!("a check that panics");
            }
            Ok::<_, String>(())
        });
        let report = r.report().await;
        assert_eq!(report.failing(), vec!["bus", "slow", "broken"]);
        let response = report.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = body_of(response).await;
        assert_eq!(body["status"], "not ready");
        assert_eq!(
            body["failing"],
            serde_json::json!(["bus", "slow", "broken"])
        );
        assert_eq!(body["checks"]["store"], "ok");
        assert_eq!(body["checks"]["bus"], "connection refused");
        assert!(
            body["checks"]["slow"]
                .as_str()
                .is_some_and(|s| s.contains("no answer")),
            "{body}"
        );
        assert_eq!(body["checks"]["broken"], "the check panicked");
    }

    #[tokio::test]
    async fn no_checks_is_ready() {
        assert!(Readiness::default().report().await.is_ready());
    }
}
