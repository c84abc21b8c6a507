//! Thumbnails made lately, kept in memory up to a byte budget (oldest
//! first out), and a gate so that at most a few are being made at once:
//! decoding a large image is CPU-bound, and many clients asking for many
//! sizes must not take every core from the chat.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use hearth_model::Snowflake;
use tokio::sync::Semaphore;

/// Bytes of thumbnails kept.
const BUDGET: usize = 64 * 1024 * 1024;
/// Thumbnails made at once.
const MAKERS: usize = 2;

type Key = (Snowflake, u32, u32);

pub(crate) struct Thumbnails {
    kept: Mutex<Kept>,
    pub(crate) makers: Semaphore,
}

#[derive(Default)]
struct Kept {
    by_key: HashMap<Key, (Arc<Vec<u8>>, &'static str)>,
    order: VecDeque<Key>,
    bytes: usize,
}

impl Thumbnails {
    pub(crate) fn new() -> Self {
        Thumbnails {
            kept: Mutex::new(Kept::default()),
            makers: Semaphore::new(MAKERS),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        // Every change below leaves the maps consistent before it can panic.
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get(&self, key: Key) -> Option<(Arc<Vec<u8>>, &'static str)> {
        self.kept().by_key.get(&key).cloned()
    }

    pub(crate) fn put(&self, key: Key, bytes: Arc<Vec<u8>>, kind: &'static str) {
        if bytes.len() > BUDGET / 8 {
            return;
        }
        let mut kept = self.kept();
        kept.bytes += bytes.len();
        if let Some((old, _)) = kept.by_key.insert(key, (bytes, kind)) {
            kept.bytes -= old.len();
        } else {
            kept.order.push_back(key);
        }
        while kept.bytes > BUDGET {
            let Some(oldest) = kept.order.pop_front() else {
                break;
            };
            if let Some((gone, _)) = kept.by_key.remove(&oldest) {
                kept.bytes -= gone.len();
            }
        }
    }

    /// Drops every size of a deleted attachment.
    pub(crate) fn forget(&self, id: Snowflake) {
        let mut kept = self.kept();
        let Kept {
            by_key,
            order,
            bytes,
        } = &mut *kept;
        order.retain(|k| {
            if k.0 != id {
                return true;
            }
            if let Some((gone, _)) = by_key.remove(k) {
                *bytes -= gone.len();
            }
            false
        });
    }
}
