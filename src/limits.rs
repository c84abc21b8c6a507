//! Rate limits counted by all the nodes of a cluster together: the API's
//! `SharedLimits` on the bus crate's shared windows in Redis.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hearth_api::ratelimit::{Key, Limit, SharedLimits, Verdict};
use hearth_bus::{SharedWindows, WindowSpec};
use hearth_model::Snowflake;
use hearth_signaling::media::BoxFuture;
use hearth_signaling::starts::{SharedStarts, StartLimit, StartRefusal, CONCURRENCY_WINDOW, DAY};

pub struct RedisLimits {
    windows: SharedWindows,
    failures: AtomicU64,
}

impl RedisLimits {
    pub fn new(windows: SharedWindows) -> Self {
        Self {
            windows,
            failures: AtomicU64::new(0),
        }
    }
}

#[async_trait::async_trait]
impl SharedLimits for RedisLimits {
    async fn check(
        &self,
        caller: u64,
        global: Limit,
        route: &Key,
        limit: Limit,
    ) -> Option<(Verdict, Option<Verdict>)> {
        let global_window = format!("g:{caller:016x}");
        let route_window = format!(
            "r:{:016x}:{:016x}:{:016x}",
            route.caller, route.bucket, route.major
        );
        let taken = self
            .windows
            .take(
                WindowSpec {
                    name: &global_window,
                    count: global.count,
                    period: global.period,
                },
                WindowSpec {
                    name: &route_window,
                    count: limit.count,
                    period: limit.period,
                },
            )
            .await;
        match taken {
            Ok((g, r)) => Some((
                Verdict::counted(g.used, global, g.reset_after),
                r.map(|r| Verdict::counted(r.used, limit, r.reset_after)),
            )),
            Err(e) => {
                // Once per thousand: an outage fails every request.
                if self.failures.fetch_add(1, Ordering::Relaxed) % 1000 == 0 {
                    tracing::warn!(error = %e, "rate limits counted by this node alone");
                }
                None
            }
        }
    }

    async fn slowmode(
        &self,
        channel: u64,
        user: u64,
        interval: std::time::Duration,
    ) -> Option<Result<(), std::time::Duration>> {
        let name = format!("slow:{channel:016x}:{user:016x}");
        match self.windows.cooldown(&name, interval).await {
            Ok(None) => Some(Ok(())),
            Ok(Some(left)) => Some(Err(left)),
            Err(e) => {
                if self.failures.fetch_add(1, Ordering::Relaxed) % 1000 == 0 {
                    tracing::warn!(error = %e, "slow mode counted by this node alone");
                }
                None
            }
        }
    }
}

/// The shared window counting a user's Identifies in a day.
fn day_window(user: Snowflake) -> String {
    format!("start24:{:016x}", user.0)
}

/// Identify budgets (`session_start_limit`) counted by every node together.
pub struct RedisStarts {
    windows: SharedWindows,
    failures: AtomicU64,
}

impl RedisStarts {
    pub fn new(windows: SharedWindows) -> Self {
        Self {
            windows,
            failures: AtomicU64::new(0),
        }
    }
}

impl SharedStarts for RedisStarts {
    fn start<'a>(
        &'a self,
        user: Snowflake,
        limit: StartLimit,
    ) -> BoxFuture<'a, Option<Result<(), StartRefusal>>> {
        Box::pin(async move {
            // The five-second window first: an Identify refused as too
            // fast does not count against the day.
            let burst = format!("start5:{:016x}", user.0);
            let day = day_window(user);
            let taken = self
                .windows
                .take(
                    WindowSpec {
                        name: &burst,
                        count: limit.max_concurrency,
                        period: CONCURRENCY_WINDOW,
                    },
                    WindowSpec {
                        name: &day,
                        count: limit.total,
                        period: DAY,
                    },
                )
                .await;
            match taken {
                Ok((_, None)) => Some(Err(StartRefusal::TooFast)),
                Ok((_, Some(d))) if d.used > limit.total => Some(Err(StartRefusal::Exhausted)),
                Ok(_) => Some(Ok(())),
                Err(e) => {
                    if self.failures.fetch_add(1, Ordering::Relaxed) % 1000 == 0 {
                        tracing::warn!(error = %e, "Identify budgets counted by this node alone");
                    }
                    None
                }
            }
        })
    }

    fn used_today(&self, user: Snowflake) -> BoxFuture<'_, Option<Option<(u32, Duration)>>> {
        Box::pin(async move {
            match self.windows.peek(&day_window(user)).await {
                Ok(window) => Some(window.map(|w| (w.used, w.reset_after))),
                Err(e) => {
                    if self.failures.fetch_add(1, Ordering::Relaxed) % 1000 == 0 {
                        tracing::warn!(error = %e, "Identify budget reported from this node's count");
                    }
                    None
                }
            }
        })
    }
}
