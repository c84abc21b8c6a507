//! Discord-style rate limits as a plain state machine: fed a key, a limit
//! and the current `Instant`, it answers allow or deny with the numbers the
//! `X-RateLimit-*` headers carry. The middleware in `routes` drives it.
//!
//! Windows are fixed (a count that resets `period` after the first request
//! of the window), which is what Discord's headers describe. Expired windows
//! are swept as the map grows, so memory stays proportional to the callers
//! active within one period.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One route's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub count: u32,
    pub period: Duration,
}

/// Who is limited and where: the caller, the route's bucket and its major
/// parameter (channel, guild or webhook id), as Discord scopes buckets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub caller: u64,
    pub bucket: u64,
    pub major: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Time until the window resets.
    pub reset_after: Duration,
}

impl Verdict {
    /// A window that has counted `used` requests, this one included.
    pub fn counted(used: u32, limit: Limit, reset_after: Duration) -> Verdict {
        Verdict {
            allowed: used <= limit.count,
            limit: limit.count,
            remaining: limit.count.saturating_sub(used),
            reset_after,
        }
    }
}

/// Limits counted by every node of a cluster together, so spreading
/// requests over nodes does not multiply a caller's budget.
#[async_trait::async_trait]
pub trait SharedLimits: Send + Sync {
    /// Counts one request against the caller's global limit and, if that
    /// allows it, against the route's. None when the shared counts cannot
    /// be had: the node's own limiter decides then.
    async fn check(
        &self,
        caller: u64,
        global: Limit,
        route: &Key,
        limit: Limit,
    ) -> Option<(Verdict, Option<Verdict>)>;

    /// Slow mode: `Ok` if `user` may post in `channel` now (the interval
    /// starts), else the time left. None when the shared counts cannot be
    /// had: the node's own table decides then.
    async fn slowmode(
        &self,
        channel: u64,
        user: u64,
        interval: std::time::Duration,
    ) -> Option<Result<(), std::time::Duration>>;
}

#[derive(Debug, Clone, Copy)]
struct Window {
    ends: Instant,
    used: u32,
}

#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: HashMap<Key, Window>,
    global: HashMap<u64, Window>,
    sweep_at: usize,
}

/// Discord's global limit: 50 requests per second per caller.
pub const GLOBAL: Limit = Limit {
    count: 50,
    period: Duration::from_secs(1),
};

impl RateLimiter {
    pub fn new() -> Self {
        RateLimiter {
            sweep_at: 1024,
            ..Default::default()
        }
    }

    /// Counts one request against the caller's global limit.
    pub fn check_global(&mut self, caller: u64, now: Instant) -> Verdict {
        let v = take(
            self.global
                .entry(caller)
                .or_insert(Window { ends: now, used: 0 }),
            GLOBAL,
            now,
        );
        self.maybe_sweep(now);
        v
    }

    /// Counts one request against a route's limit.
    pub fn check(&mut self, key: Key, limit: Limit, now: Instant) -> Verdict {
        let v = take(
            self.windows
                .entry(key)
                .or_insert(Window { ends: now, used: 0 }),
            limit,
            now,
        );
        self.maybe_sweep(now);
        v
    }

    fn maybe_sweep(&mut self, now: Instant) {
        let size = self.windows.len() + self.global.len();
        if size < self.sweep_at {
            return;
        }
        self.windows.retain(|_, w| w.ends > now);
        self.global.retain(|_, w| w.ends > now);
        let live = self.windows.len() + self.global.len();
        self.sweep_at = (live * 2).max(1024);
    }

    pub fn tracked(&self) -> usize {
        self.windows.len() + self.global.len()
    }
}

fn take(w: &mut Window, limit: Limit, now: Instant) -> Verdict {
    if now >= w.ends {
        *w = Window {
            ends: now + limit.period,
            used: 0,
        };
    }
    let allowed = w.used < limit.count;
    if allowed {
        w.used += 1;
    }
    Verdict {
        allowed,
        limit: limit.count,
        remaining: limit.count - w.used,
        reset_after: w.ends.saturating_duration_since(now),
    }
}

/// Channel slow mode (`rate_limit_per_user`): one message per interval per
/// member and channel. Entries older than Discord's longest slow mode (six
/// hours) are swept as the map grows.
#[derive(Debug, Default)]
pub struct Slowmode {
    last: HashMap<(u64, u64), Instant>,
    sweep_at: usize,
}

const LONGEST_SLOWMODE: Duration = Duration::from_secs(6 * 60 * 60);

impl Slowmode {
    /// Records a post by `user` in `channel` unless the interval since the
    /// last one has not passed; then returns how long is left.
    pub fn post(
        &mut self,
        channel: u64,
        user: u64,
        interval: Duration,
        now: Instant,
    ) -> Result<(), Duration> {
        if let Some(last) = self.last.get(&(channel, user)) {
            let next = *last + interval;
            if next > now {
                return Err(next - now);
            }
        }
        self.last.insert((channel, user), now);
        if self.last.len() >= self.sweep_at.max(1024) {
            self.last
                .retain(|_, t| now.saturating_duration_since(*t) < LONGEST_SLOWMODE);
            self.sweep_at = self.last.len() * 2;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_PER_5S: Limit = Limit {
        count: 5,
        period: Duration::from_secs(5),
    };

    fn key(major: u64) -> Key {
        Key {
            caller: 1,
            bucket: 1,
            major,
        }
    }

    #[test]
    fn allows_the_limit_then_denies_until_reset() {
        let mut rl = RateLimiter::new();
        let t0 = Instant::now();
        for i in 0..5 {
            let v = rl.check(key(1), FIVE_PER_5S, t0);
            assert!(v.allowed);
            assert_eq!(v.remaining, 4 - i);
        }
        let denied = rl.check(key(1), FIVE_PER_5S, t0 + Duration::from_secs(1));
        assert!(!denied.allowed);
        assert_eq!(denied.remaining, 0);
        assert_eq!(denied.reset_after, Duration::from_secs(4));
        let later = rl.check(key(1), FIVE_PER_5S, t0 + Duration::from_secs(5));
        assert!(later.allowed);
        assert_eq!(later.remaining, 4);
    }

    #[test]
    fn buckets_are_scoped_by_major_parameter_and_caller() {
        let mut rl = RateLimiter::new();
        let t0 = Instant::now();
        for _ in 0..5 {
            rl.check(key(1), FIVE_PER_5S, t0);
        }
        assert!(!rl.check(key(1), FIVE_PER_5S, t0).allowed);
        assert!(rl.check(key(2), FIVE_PER_5S, t0).allowed);
        let other = Key {
            caller: 2,
            ..key(1)
        };
        assert!(rl.check(other, FIVE_PER_5S, t0).allowed);
    }

    #[test]
    fn global_limit_is_fifty_per_second() {
        let mut rl = RateLimiter::new();
        let t0 = Instant::now();
        assert!((0..50).all(|_| rl.check_global(7, t0).allowed));
        assert!(!rl.check_global(7, t0).allowed);
        assert!(rl.check_global(7, t0 + Duration::from_secs(1)).allowed);
    }

    #[test]
    fn slowmode_allows_one_post_per_interval() {
        let mut s = Slowmode::default();
        let t0 = Instant::now();
        let ten = Duration::from_secs(10);
        assert_eq!(s.post(1, 7, ten, t0), Ok(()));
        assert_eq!(
            s.post(1, 7, ten, t0 + Duration::from_secs(4)),
            Err(Duration::from_secs(6))
        );
        assert_eq!(s.post(2, 7, ten, t0), Ok(()), "another channel");
        assert_eq!(s.post(1, 8, ten, t0), Ok(()), "another member");
        assert_eq!(s.post(1, 7, ten, t0 + ten), Ok(()));
    }

    #[test]
    fn expired_windows_are_swept() {
        let mut rl = RateLimiter::new();
        let t0 = Instant::now();
        for i in 0..5000 {
            rl.check(key(i), FIVE_PER_5S, t0);
        }
        let later = t0 + Duration::from_secs(10);
        for i in 0..5000 {
            rl.check(key(100_000 + i), FIVE_PER_5S, later);
        }
        // The expired windows were swept as the map grew; only live ones remain.
        assert_eq!(rl.tracked(), 5000);
    }
}
