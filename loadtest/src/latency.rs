//! A latency histogram that thousands of connection tasks record into at
//! once.
//!
//! Buckets are log-linear, as in HdrHistogram: values below 64 µs each have
//! their own bucket, and every power of two above that is split into 64
//! equal buckets, so a reported percentile is at most 1/64 (1.6 %) above the
//! true value, whatever the range. Buckets are atomic counters: recording is
//! a few relaxed atomic adds, with no lock for tasks to queue on, and the
//! memory is fixed (about 30 KiB) however many values go in.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// log2 of the number of linear buckets per power of two.
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Enough buckets for any u64.
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// Which bucket holds `v`.
fn bucket_of(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // floor(log2 v), at least SUB_BITS
    let shift = e - SUB_BITS;
    let sub = (v >> shift) - SUB;
    (((e - SUB_BITS + 1) as u64) << SUB_BITS | sub) as usize
}

/// The largest value bucket `i` holds.
fn bucket_high(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let group = i >> SUB_BITS; // e - SUB_BITS + 1
    let sub = i & (SUB - 1);
    let shift = group - 1;
    let low = (SUB + sub) << shift;
    low + ((1u64 << shift) - 1)
}

/// Delivery latencies in microseconds.
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    pub fn record(&self, latency: Duration) {
        self.record_micros(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn record_micros(&self, v: u64) {
        self.buckets[bucket_of(v)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(v, Ordering::Relaxed);
        self.max.fetch_max(v, Ordering::Relaxed);
    }

    /// Empties the histogram (for per-interval figures). Values recorded
    /// while it runs may land before or after the reset.
    pub fn reset(&self) {
        for b in self.buckets.iter() {
            b.store(0, Ordering::Relaxed);
        }
        self.count.store(0, Ordering::Relaxed);
        self.sum.store(0, Ordering::Relaxed);
        self.max.store(0, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The smallest recorded value that at least `q` (0..=1) of all values
    /// are at or below, rounded up to its bucket's top and capped at the
    /// maximum. `None` when nothing was recorded.
    pub fn quantile_micros(&self, q: f64) -> Option<u64> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        // The rank of the value we want, 1-based: the nearest-rank method.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
        let max = self.max.load(Ordering::Relaxed);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(bucket_high(i).min(max));
            }
        }
        Some(max)
    }

    pub fn summary(&self) -> LatencySummary {
        let count = self.count();
        let ms = |us: Option<u64>| us.map(|v| v as f64 / 1000.0);
        LatencySummary {
            count,
            mean_ms: (count > 0)
                .then(|| self.sum.load(Ordering::Relaxed) as f64 / count as f64 / 1000.0),
            p50_ms: ms(self.quantile_micros(0.50)),
            p95_ms: ms(self.quantile_micros(0.95)),
            p99_ms: ms(self.quantile_micros(0.99)),
            max_ms: (count > 0).then(|| self.max.load(Ordering::Relaxed) as f64 / 1000.0),
        }
    }
}

/// Percentiles in milliseconds; absent when nothing was measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact() {
        let h = Histogram::new();
        for v in 1..=50 {
            h.record_micros(v);
        }
        assert_eq!(h.quantile_micros(0.5), Some(25));
        assert_eq!(h.quantile_micros(0.98), Some(49));
        assert_eq!(h.quantile_micros(1.0), Some(50));
        assert_eq!(h.quantile_micros(0.0), Some(1));
    }

    #[test]
    fn percentiles_follow_the_nearest_rank_method() {
        let h = Histogram::new();
        // 1..=100 ms: p50 is 50 ms, p95 95 ms, p99 99 ms, within a bucket.
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        for (q, want) in [(0.5, 50_000u64), (0.95, 95_000), (0.99, 99_000)] {
            let got = h.quantile_micros(q).unwrap();
            assert!(
                got >= want && got <= want + want / 64,
                "q{q}: got {got}, want {want} (+1/64)"
            );
        }
        let s = h.summary();
        assert_eq!(s.count, 100);
        assert_eq!(s.max_ms, Some(100.0));
        assert_eq!(s.mean_ms, Some(50.5));
    }

    #[test]
    fn a_percentile_never_exceeds_the_largest_value_recorded() {
        let h = Histogram::new();
        h.record_micros(1_000_001);
        assert_eq!(h.quantile_micros(0.99), Some(1_000_001));
    }

    #[test]
    fn the_tail_is_not_hidden_by_the_bulk() {
        let h = Histogram::new();
        for _ in 0..990 {
            h.record(Duration::from_millis(2));
        }
        for _ in 0..10 {
            h.record(Duration::from_secs(3));
        }
        assert!(h.quantile_micros(0.99).unwrap() < 2_100);
        assert!(h.quantile_micros(0.999).unwrap() >= 3_000_000);
    }

    #[test]
    fn nothing_recorded_gives_no_percentiles() {
        let s = Histogram::new().summary();
        assert_eq!(s.count, 0);
        assert!(s.p50_ms.is_none() && s.max_ms.is_none() && s.mean_ms.is_none());
    }

    #[test]
    fn every_value_lands_in_a_bucket_that_covers_it() {
        let mut v = 1u64;
        while v < u64::MAX / 3 {
            for x in [v, v + 1, v * 3 / 2] {
                let b = bucket_of(x);
                assert!(b < BUCKETS);
                let high = bucket_high(b);
                assert!(high >= x, "{x} above its bucket's top {high}");
                assert!(high - x <= x / SUB, "{x}: bucket top {high} too far above");
                if b > 0 {
                    assert!(bucket_high(b - 1) < x, "{x} belongs in a lower bucket");
                }
            }
            v = v * 2 + 1;
        }
        assert!(bucket_of(u64::MAX) < BUCKETS);
    }
}
