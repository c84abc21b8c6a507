//! A bounded cache of each channel's newest messages, kept coherent with
//! writes.
//!
//! An entry holds the newest messages of a channel, newest first, and knows
//! whether it holds the whole channel. Inserts are applied in place (the hot
//! path of a busy channel: the readers that follow a post find it without a
//! query); edits and deletes drop the entry, because replies elsewhere in it
//! embed the message that changed.
//!
//! Fills race with writes: a query that started before a write may finish
//! after it. Every write bumps the channel's generation, and a fill installs
//! only if the generation it started with is still current.

use std::collections::{HashMap, VecDeque};

use hearth_model::{Message, Snowflake};

/// Messages kept per channel: the largest page a client can ask for.
pub const PER_CHANNEL: usize = 100;

#[derive(Debug)]
struct Entry {
    generation: u64,
    recent: Option<Recent>,
    touched: u64,
}

#[derive(Debug)]
struct Recent {
    newest_first: VecDeque<Message>,
    whole_channel: bool,
}

#[derive(Debug)]
pub struct RecentCache {
    entries: HashMap<Snowflake, Entry>,
    max_channels: usize,
    clock: u64,
}

impl RecentCache {
    pub fn new(max_channels: usize) -> Self {
        RecentCache {
            entries: HashMap::new(),
            max_channels: max_channels.max(1),
            clock: 0,
        }
    }

    /// The newest `limit` messages, if the cache can answer for them.
    pub fn latest(&mut self, channel: Snowflake, limit: usize) -> Option<Vec<Message>> {
        self.clock += 1;
        let entry = self.entries.get_mut(&channel)?;
        entry.touched = self.clock;
        let recent = entry.recent.as_ref()?;
        if recent.whole_channel || recent.newest_first.len() >= limit {
            Some(recent.newest_first.iter().take(limit).cloned().collect())
        } else {
            None
        }
    }

    /// Called before querying the store to fill the cache; returns the
    /// generation to hand back to `install`.
    pub fn begin_fill(&mut self, channel: Snowflake) -> u64 {
        self.clock += 1;
        let clock = self.clock;
        if !self.entries.contains_key(&channel) && self.entries.len() >= self.max_channels {
            self.evict_one();
        }
        let entry = self.entries.entry(channel).or_insert(Entry {
            generation: 0,
            recent: None,
            touched: clock,
        });
        entry.touched = clock;
        entry.generation
    }

    /// Installs a store result (newest first, fetched with limit `PER_CHANNEL`).
    pub fn install(&mut self, channel: Snowflake, generation: u64, newest_first: &[Message]) {
        if let Some(entry) = self.entries.get_mut(&channel) {
            if entry.generation == generation {
                entry.recent = Some(Recent {
                    newest_first: newest_first.iter().take(PER_CHANNEL).cloned().collect(),
                    whole_channel: newest_first.len() < PER_CHANNEL,
                });
            }
        }
    }

    pub fn inserted(&mut self, message: &Message) {
        let Some(entry) = self.entries.get_mut(&message.channel_id) else {
            return;
        };
        entry.generation += 1;
        if let Some(recent) = &mut entry.recent {
            match recent.newest_first.front() {
                // A fill that began after the store committed this message
                // but before this call already holds it.
                Some(newest) if newest.id == message.id => return,
                // Ids are time-ordered; anything out of order (a clock step,
                // or a fill that saw a later post) is not worth a sorted
                // insert, so start over.
                Some(newest) if newest.id > message.id => {
                    entry.recent = None;
                    return;
                }
                _ => {}
            }
            recent.newest_first.push_front(message.clone());
            if recent.newest_first.len() > PER_CHANNEL {
                recent.newest_first.pop_back();
                recent.whole_channel = false;
            }
        }
    }

    /// An edit or delete: forget the channel's messages.
    pub fn changed(&mut self, channel: Snowflake) {
        if let Some(entry) = self.entries.get_mut(&channel) {
            entry.generation += 1;
            entry.recent = None;
        }
    }

    fn evict_one(&mut self) {
        // The least recently touched channel. A scan, but only on a miss
        // that also finds the cache full.
        if let Some((&victim, _)) = self.entries.iter().min_by_key(|(_, e)| e.touched) {
            self.entries.remove(&victim);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(channel: u64, id: u64) -> Message {
        crate::messages::sample(channel, id)
    }

    fn ids(v: &[Message]) -> Vec<u64> {
        v.iter().map(|m| m.id.0).collect()
    }

    #[test]
    fn serves_whole_small_channels_and_applies_inserts() {
        let mut c = RecentCache::new(10);
        let g = c.begin_fill(Snowflake(1));
        c.install(Snowflake(1), g, &[msg(1, 3), msg(1, 2)]);
        assert_eq!(ids(&c.latest(Snowflake(1), 50).unwrap()), vec![3, 2]);
        c.inserted(&msg(1, 4));
        assert_eq!(ids(&c.latest(Snowflake(1), 2).unwrap()), vec![4, 3]);
    }

    #[test]
    fn a_fill_that_raced_a_write_is_not_installed() {
        let mut c = RecentCache::new(10);
        let g = c.begin_fill(Snowflake(1));
        c.inserted(&msg(1, 5)); // written while the query ran
        c.install(Snowflake(1), g, &[msg(1, 3)]); // the query did not see 5
        assert!(c.latest(Snowflake(1), 1).is_none());
    }

    #[test]
    fn a_fill_that_already_saw_a_post_does_not_show_it_twice() {
        let mut c = RecentCache::new(10);
        c.begin_fill(Snowflake(1));
        // The post commits; a read fills from the store and sees it before
        // the writer tells the cache.
        let g = c.begin_fill(Snowflake(1));
        c.install(Snowflake(1), g, &[msg(1, 4), msg(1, 3)]);
        c.inserted(&msg(1, 4));
        assert_eq!(ids(&c.latest(Snowflake(1), 50).unwrap()), vec![4, 3]);
    }

    #[test]
    fn partial_entries_answer_only_what_they_hold() {
        let mut c = RecentCache::new(10);
        let full: Vec<_> = (0..PER_CHANNEL as u64)
            .rev()
            .map(|i| msg(1, i + 10))
            .collect();
        let g = c.begin_fill(Snowflake(1));
        c.install(Snowflake(1), g, &full);
        assert_eq!(c.latest(Snowflake(1), 100).unwrap().len(), 100);
        c.inserted(&msg(1, 1000));
        // Still 100 newest, no longer the whole channel.
        assert_eq!(c.latest(Snowflake(1), 100).unwrap()[0].id, Snowflake(1000));
        c.changed(Snowflake(1));
        assert!(c.latest(Snowflake(1), 1).is_none());
    }

    #[test]
    fn bounded_by_channel_count() {
        let mut c = RecentCache::new(2);
        for ch in 1..=3 {
            let g = c.begin_fill(Snowflake(ch));
            c.install(Snowflake(ch), g, &[msg(ch, 1)]);
        }
        assert_eq!(c.entries.len(), 2);
        assert!(c.latest(Snowflake(1), 1).is_none());
        assert!(c.latest(Snowflake(3), 1).is_some());
    }
}
