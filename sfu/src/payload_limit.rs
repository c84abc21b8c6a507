//! The voice WebSocket's payload budget: as on the main gateway, at most
//! `limit` payloads per fixed window (120 per 60 s by default), heartbeats
//! included. A sans-IO counter fed each payload's arrival.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct PayloadLimit {
    limit: u32,
    window: Duration,
    window_start: Instant,
    in_window: u32,
}

impl PayloadLimit {
    pub fn new(limit: u32, window: Duration, now: Instant) -> Self {
        PayloadLimit {
            limit,
            window,
            window_start: now,
            in_window: 0,
        }
    }

    /// Counts a payload; false once the window's budget is spent.
    pub fn allow(&mut self, now: Instant) -> bool {
        if now.duration_since(self.window_start) >= self.window {
            self.window_start = now;
            self.in_window = 0;
        }
        self.in_window = self.in_window.saturating_add(1);
        self.in_window <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_121st_payload_within_a_minute_is_refused_and_the_next_minute_starts_afresh() {
        let start = Instant::now();
        let mut l = PayloadLimit::new(120, Duration::from_secs(60), start);
        for i in 0..120 {
            assert!(
                l.allow(start + Duration::from_millis(i * 100)),
                "payload {i}"
            );
        }
        assert!(!l.allow(start + Duration::from_secs(30)));
        assert!(l.allow(start + Duration::from_secs(60)));
    }
}
