//! `enforce_nonce`: a post that repeats a recent nonce gets the first
//! message back instead of a duplicate.
//!
//! Clients retry a send whose reply they never saw; with `enforce_nonce`
//! Discord answers a repeat from the same author in the same channel within
//! a few minutes with the message already made. Concurrent repeats share
//! one slot: the first creates, the others wait for its result. Slots are
//! kept for [`KEEP`] and their number is bounded, oldest dropped first.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_model::{Message, Snowflake};
use tokio::sync::OnceCell;

/// How long a nonce is remembered.
pub const KEEP: Duration = Duration::from_secs(5 * 60);

/// Who sent which nonce where.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NonceKey {
    pub author: Snowflake,
    pub channel: Snowflake,
    pub nonce: String,
}

/// The message made for a nonce, once it is made.
pub type Slot = Arc<OnceCell<Message>>;

#[derive(Debug)]
pub struct NonceTable {
    slots: HashMap<NonceKey, (Slot, Instant)>,
    order: VecDeque<(NonceKey, Instant)>,
    max: usize,
}

impl NonceTable {
    pub fn new(max: usize) -> Self {
        NonceTable {
            slots: HashMap::new(),
            order: VecDeque::new(),
            max: max.max(1),
        }
    }

    /// The slot for this nonce: a fresh one, or the one an earlier post
    /// within [`KEEP`] claimed.
    pub fn claim(&mut self, key: NonceKey, now: Instant) -> Slot {
        self.expire(now);
        if let Some((slot, _)) = self.slots.get(&key) {
            return slot.clone();
        }
        while self.slots.len() >= self.max {
            let Some((old, at)) = self.order.pop_front() else {
                break;
            };
            self.remove_if_claimed_at(&old, at);
        }
        let slot: Slot = Arc::new(OnceCell::new());
        self.slots.insert(key.clone(), (slot.clone(), now));
        self.order.push_back((key, now));
        slot
    }

    fn expire(&mut self, now: Instant) {
        while let Some((key, at)) = self.order.front().cloned() {
            if now.duration_since(at) < KEEP {
                break;
            }
            self.order.pop_front();
            self.remove_if_claimed_at(&key, at);
        }
    }

    fn remove_if_claimed_at(&mut self, key: &NonceKey, at: Instant) {
        if self.slots.get(key).is_some_and(|(_, t)| *t == at) {
            self.slots.remove(key);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: &str) -> NonceKey {
        NonceKey {
            author: Snowflake(1),
            channel: Snowflake(2),
            nonce: n.into(),
        }
    }

    #[test]
    fn a_repeat_within_the_window_gets_the_same_slot() {
        let mut t = NonceTable::new(10);
        let now = Instant::now();
        let a = t.claim(key("x"), now);
        let b = t.claim(key("x"), now + Duration::from_secs(60));
        assert!(Arc::ptr_eq(&a, &b));
        let c = t.claim(key("x"), now + KEEP + Duration::from_secs(1));
        assert!(!Arc::ptr_eq(&a, &c), "forgotten after the window");
    }

    #[test]
    fn the_table_is_bounded() {
        let mut t = NonceTable::new(3);
        let now = Instant::now();
        for i in 0..10 {
            t.claim(key(&i.to_string()), now);
        }
        assert_eq!(t.len(), 3);
    }
}
