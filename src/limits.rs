//! Rate limits counted by all the nodes of a cluster together: the API's
//! `SharedLimits` on the bus crate's shared windows in Redis.

use std::sync::atomic::{AtomicU64, Ordering};

use hearth_api::ratelimit::{Key, Limit, SharedLimits, Verdict};
use hearth_bus::{SharedWindows, WindowSpec};

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
}
