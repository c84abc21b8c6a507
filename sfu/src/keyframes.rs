//! At most one keyframe request per second per published track: a room of
//! subscribers asking at once must not make the publisher send a keyframe
//! for each of them.

use std::time::{Duration, Instant};

pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct KeyframeThrottle {
    last: Option<Instant>,
}

impl KeyframeThrottle {
    /// Whether a request may go to the publisher now (and records it if so).
    pub fn allow(&mut self, now: Instant) -> bool {
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < MIN_INTERVAL)
        {
            return false;
        }
        self.last = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_per_second() {
        let t = Instant::now();
        let mut k = KeyframeThrottle::default();
        assert!(k.allow(t));
        assert!(!k.allow(t + Duration::from_millis(10)));
        assert!(!k.allow(t + Duration::from_millis(999)));
        assert!(k.allow(t + Duration::from_secs(1)));
    }
}
