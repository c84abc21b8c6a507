//! Discord's `session_start_limit`, per account: how many Identifies an
//! account may make in a day, and how many within any five seconds
//! (`max_concurrency`). Without it, one account could open and drop
//! sessions as fast as the node accepts connections; each one costs a
//! READY and a GUILD_CREATE per guild, and stays resumable for its grace.
//!
//! Sans-IO: fed the account and an `Instant`, it answers. The counts live in
//! the node's memory, so they start afresh when the node restarts.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hearth_model::Snowflake;
use hearth_proto::gateway::SessionStartLimit;

/// Discord's windows: the daily total resets a day after the first
/// Identify of the window; the concurrency bucket every five seconds.
pub const DAY: Duration = Duration::from_secs(24 * 60 * 60);
pub const CONCURRENCY_WINDOW: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartLimit {
    /// Identifies per account per day.
    pub total: u32,
    /// Identifies per account per five seconds.
    pub max_concurrency: u32,
}

impl StartLimit {
    pub const UNLIMITED: StartLimit = StartLimit {
        total: u32::MAX,
        max_concurrency: u32::MAX,
    };
}

/// Why an Identify may not start a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartRefusal {
    /// The day's total is used up (closed with 4008).
    Exhausted,
    /// Too many within five seconds (op 9: identify again a little later).
    TooFast,
}

/// Identify budgets counted by every node of a cluster together.
pub trait SharedStarts: Send + Sync {
    /// Counts an Identify of `user`; None when the shared counts cannot be
    /// had (the node's own count decides then).
    fn start<'a>(
        &'a self,
        user: Snowflake,
        limit: StartLimit,
    ) -> futures_util::future::BoxFuture<'a, Option<Result<(), StartRefusal>>>;

    /// The day's count of `user`'s Identifies on every node, and when it
    /// resets (None: no Identify in a running day); the outer None when
    /// the shared counts cannot be had.
    fn used_today(
        &self,
        user: Snowflake,
    ) -> futures_util::future::BoxFuture<'_, Option<Option<(u32, Duration)>>>;
}

#[derive(Debug, Clone, Copy)]
struct Budget {
    day_from: Instant,
    used: u32,
    burst_from: Instant,
    burst: u32,
}

#[derive(Debug)]
pub struct SessionStarts {
    limit: StartLimit,
    accounts: HashMap<Snowflake, Budget>,
    /// Size of the map after the last sweep of finished windows.
    swept_at: usize,
}

impl SessionStarts {
    pub fn new(limit: StartLimit) -> Self {
        SessionStarts {
            limit,
            accounts: HashMap::new(),
            swept_at: 0,
        }
    }

    /// Counts an Identify of `account`, if the limits allow it.
    pub fn try_start(&mut self, account: Snowflake, now: Instant) -> Result<(), StartRefusal> {
        if self.limit == StartLimit::UNLIMITED {
            return Ok(());
        }
        self.sweep(now);
        let b = self.accounts.entry(account).or_insert(Budget {
            day_from: now,
            used: 0,
            burst_from: now,
            burst: 0,
        });
        if now.duration_since(b.day_from) >= DAY {
            b.day_from = now;
            b.used = 0;
        }
        if now.duration_since(b.burst_from) >= CONCURRENCY_WINDOW {
            b.burst_from = now;
            b.burst = 0;
        }
        if b.used >= self.limit.total {
            return Err(StartRefusal::Exhausted);
        }
        if b.burst >= self.limit.max_concurrency {
            return Err(StartRefusal::TooFast);
        }
        b.used += 1;
        b.burst += 1;
        Ok(())
    }

    /// What `GET /gateway/bot` reports for the account.
    pub fn status(&self, account: Snowflake, now: Instant) -> SessionStartLimit {
        let (remaining, reset_after) = match self.accounts.get(&account) {
            Some(b) if now.duration_since(b.day_from) < DAY => (
                self.limit.total.saturating_sub(b.used),
                (b.day_from + DAY).duration_since(now),
            ),
            // Nothing used in a running window: the budget is whole.
            _ => (self.limit.total, Duration::ZERO),
        };
        SessionStartLimit {
            total: self.limit.total,
            remaining,
            reset_after: reset_after.as_millis() as u64,
            // Discord's values are small; libraries read the field into a
            // 16-bit integer (twilight fails to parse a larger one), so an
            // unlimited node says the largest of those.
            max_concurrency: self.limit.max_concurrency.min(u32::from(u16::MAX)),
        }
    }

    /// Forgets accounts whose day is over, whenever the map has doubled
    /// since the last sweep: the map holds only accounts that identified
    /// within a day, and the sweep costs O(1) per insertion.
    fn sweep(&mut self, now: Instant) {
        if self.accounts.len() < 1024 || self.accounts.len() < 2 * self.swept_at {
            return;
        }
        self.accounts
            .retain(|_, b| now.duration_since(b.day_from) < DAY);
        self.swept_at = self.accounts.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Snowflake = Snowflake(1);
    const B: Snowflake = Snowflake(2);

    #[test]
    fn the_day_total_is_counted_per_account_and_resets_after_a_day() {
        let t = Instant::now();
        let mut s = SessionStarts::new(StartLimit {
            total: 3,
            max_concurrency: 10,
        });
        for i in 0..3 {
            assert_eq!(s.try_start(A, t + Duration::from_secs(i)), Ok(()));
        }
        assert_eq!(
            s.try_start(A, t + Duration::from_secs(60)),
            Err(StartRefusal::Exhausted)
        );
        assert_eq!(s.try_start(B, t + Duration::from_secs(60)), Ok(()));
        let st = s.status(A, t + Duration::from_secs(60));
        assert_eq!((st.total, st.remaining), (3, 0));
        assert_eq!(
            st.reset_after,
            (DAY - Duration::from_secs(60)).as_millis() as u64
        );
        assert_eq!(s.try_start(A, t + DAY), Ok(()));
        assert_eq!(s.status(A, t + DAY).remaining, 2);
    }

    #[test]
    fn more_than_max_concurrency_in_five_seconds_must_wait() {
        let t = Instant::now();
        let mut s = SessionStarts::new(StartLimit {
            total: 100,
            max_concurrency: 2,
        });
        assert_eq!(s.try_start(A, t), Ok(()));
        assert_eq!(s.try_start(A, t + Duration::from_secs(1)), Ok(()));
        assert_eq!(
            s.try_start(A, t + Duration::from_secs(2)),
            Err(StartRefusal::TooFast)
        );
        assert_eq!(s.try_start(A, t + Duration::from_secs(5)), Ok(()));
        // A refused Identify is not counted.
        assert_eq!(s.status(A, t + Duration::from_secs(5)).remaining, 97);
    }

    #[test]
    fn an_unused_budget_is_whole() {
        let s = SessionStarts::new(StartLimit {
            total: 1000,
            max_concurrency: 1,
        });
        let st = s.status(A, Instant::now());
        assert_eq!((st.total, st.remaining, st.reset_after), (1000, 1000, 0));
    }
}
