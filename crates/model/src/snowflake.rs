//! Snowflake ids with Discord's layout: 42 bits of milliseconds since
//! 2015-01-01, 5 bits of worker, 5 bits of process, 12 bits of increment.
//! Serialised as decimal strings, because JSON numbers lose precision above
//! 2^53 in most clients.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// Discord's epoch, 2015-01-01T00:00:00Z, in Unix milliseconds.
pub const EPOCH_MS: u64 = 1_420_070_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Snowflake(pub u64);

impl Snowflake {
    /// Unix milliseconds at which this id was made.
    pub fn timestamp_ms(self) -> u64 {
        (self.0 >> 22) + EPOCH_MS
    }

    /// The smallest id of a moment: what `before`/`after` cursors compare with.
    pub fn from_timestamp_ms(unix_ms: u64) -> Self {
        Snowflake(unix_ms.saturating_sub(EPOCH_MS) << 22)
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("value {0:?} is not a snowflake")]
pub struct NotSnowflake(pub String);

impl FromStr for Snowflake {
    type Err = NotSnowflake;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<u64>()
            .map(Snowflake)
            .map_err(|_| NotSnowflake(s.to_owned()))
    }
}

impl From<u64> for Snowflake {
    fn from(v: u64) -> Self {
        Snowflake(v)
    }
}

impl Serialize for Snowflake {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Snowflake {
    /// Accepts a decimal string (what Discord sends) or an integer (what
    /// careless clients send); anything else is a type error.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Snowflake;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a snowflake as a decimal string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Snowflake, E> {
                v.parse()
                    .map_err(|_| E::custom(format!("value {v:?} is not a snowflake")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Snowflake, E> {
                Ok(Snowflake(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Snowflake, E> {
                u64::try_from(v)
                    .map(Snowflake)
                    .map_err(|_| E::custom("a snowflake cannot be negative"))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Makes unique, time-ordered ids for one node without a lock.
///
/// The state packs the last used `(milliseconds << 12 | increment)`; when
/// more than 4096 ids are asked for within one millisecond the generator
/// borrows the next millisecond rather than block, so ids stay unique and
/// ordered and drift ahead of the clock only under that burst.
#[derive(Debug)]
pub struct SnowflakeGenerator {
    node_bits: u64,
    last: AtomicU64,
}

impl SnowflakeGenerator {
    /// `worker` and `process` are taken modulo 32 (5 bits each).
    pub fn new(worker: u8, process: u8) -> Self {
        let node_bits = ((u64::from(worker) & 0x1f) << 17) | ((u64::from(process) & 0x1f) << 12);
        SnowflakeGenerator {
            node_bits,
            last: AtomicU64::new(0),
        }
    }

    pub fn next(&self) -> Snowflake {
        self.next_at(now_unix_ms())
    }

    /// The id for a given wall-clock time; `next` with the clock passed in, so
    /// tests can drive it.
    pub fn next_at(&self, unix_ms: u64) -> Snowflake {
        let ms = unix_ms.saturating_sub(EPOCH_MS);
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let candidate = if ms << 12 > last { ms << 12 } else { last + 1 };
            match self.last.compare_exchange_weak(
                last,
                candidate,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    let (ms, inc) = (candidate >> 12, candidate & 0xfff);
                    return Snowflake((ms << 22) | self.node_bits | inc);
                }
                Err(seen) => last = seen,
            }
        }
    }
}

pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(EPOCH_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_discord() {
        // Discord's documented example: 175928847299117063 is 2016-04-30 11:18:25.796 UTC,
        // worker 1, process 0, increment 7.
        let id = Snowflake(175928847299117063);
        assert_eq!(id.timestamp_ms(), 1462015105796);
        assert_eq!((id.0 >> 17) & 0x1f, 1);
        assert_eq!((id.0 >> 12) & 0x1f, 0);
        assert_eq!(id.0 & 0xfff, 7);
    }

    #[test]
    fn generator_encodes_node_and_time() {
        let g = SnowflakeGenerator::new(3, 9);
        let id = g.next_at(1_700_000_000_000);
        assert_eq!(id.timestamp_ms(), 1_700_000_000_000);
        assert_eq!((id.0 >> 17) & 0x1f, 3);
        assert_eq!((id.0 >> 12) & 0x1f, 9);
        assert_eq!(id.0 & 0xfff, 0);
    }

    #[test]
    fn ids_are_unique_and_increasing_within_one_millisecond_burst() {
        let g = SnowflakeGenerator::new(0, 0);
        let mut prev = Snowflake(0);
        for _ in 0..10_000 {
            let id = g.next_at(1_700_000_000_000);
            assert!(id > prev);
            prev = id;
        }
        // 10,000 ids cannot fit in one millisecond: the generator borrowed ahead.
        assert_eq!(prev.timestamp_ms(), 1_700_000_000_002);
    }

    #[test]
    fn ids_stay_ordered_when_the_clock_steps_back() {
        let g = SnowflakeGenerator::new(0, 0);
        let a = g.next_at(1_700_000_000_500);
        let b = g.next_at(1_700_000_000_000);
        assert!(b > a);
    }

    #[test]
    fn concurrent_generation_never_repeats() {
        let g = std::sync::Arc::new(SnowflakeGenerator::new(1, 1));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let g = g.clone();
                std::thread::spawn(move || (0..5000).map(|_| g.next()).collect::<Vec<_>>())
            })
            .collect();
        let mut all: Vec<_> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn serialises_as_string_and_reads_both_forms() {
        let id = Snowflake(175928847299117063);
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"175928847299117063\""
        );
        let a: Snowflake = serde_json::from_str("\"175928847299117063\"").unwrap();
        let b: Snowflake = serde_json::from_str("175928847299117063").unwrap();
        assert_eq!(a, id);
        assert_eq!(b, id);
        assert!(serde_json::from_str::<Snowflake>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Snowflake>("-1").is_err());
    }

    #[test]
    fn smallest_id_of_a_moment() {
        let id = Snowflake::from_timestamp_ms(1_700_000_000_000);
        assert_eq!(id.timestamp_ms(), 1_700_000_000_000);
        assert_eq!(id.0 & 0x3f_ffff, 0);
    }
}
