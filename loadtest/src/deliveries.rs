//! Which messages each session received, and what that adds up to.
//!
//! Messages are numbered as they are posted; message `i` goes to guild
//! `i % guilds` and is that guild's message number `i / guilds` (its
//! *ordinal*). A session keeps one bit per ordinal of its guild: setting a
//! bit that is already set is a duplicate. At the end, the bits are compared
//! with the ordinals whose POST succeeded: expected but missing is lost;
//! received but never confirmed (the POST failed or timed out after the
//! server had stored it) is counted apart, as neither.
//!
//! Sequence numbers are checked too: every dispatch on a session must carry
//! the previous `s` plus one, across resumes as well. A gap means the server
//! skipped a dispatch; a repeat means it sent one twice.

use serde::Serialize;

/// A fixed-size set of small integers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bitset {
    words: Vec<u64>,
    len: usize,
}

impl Bitset {
    pub fn new(len: usize) -> Bitset {
        Bitset {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets bit `i`; returns whether it was already set. Out of range: `None`.
    pub fn set(&mut self, i: usize) -> Option<bool> {
        if i >= self.len {
            return None;
        }
        let (w, b) = (i / 64, 1u64 << (i % 64));
        let was = self.words[w] & b != 0;
        self.words[w] |= b;
        Some(was)
    }

    pub fn get(&self, i: usize) -> bool {
        i < self.len && self.words[i / 64] & (1u64 << (i % 64)) != 0
    }

    pub fn count(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// How many bits are set here and not in `other` (compared over the
    /// shorter of the two; bits past `other`'s end count as not set there).
    pub fn count_and_not(&self, other: &Bitset) -> u64 {
        self.words
            .iter()
            .enumerate()
            .map(|(i, w)| u64::from((w & !other.words.get(i).copied().unwrap_or(0)).count_ones()))
            .sum()
    }
}

/// What one dispatch meant for a session's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The first delivery of this message to this session.
    First,
    /// The session had received this message already.
    Duplicate,
    /// The message belongs to another guild, or was never numbered this run.
    Misrouted,
}

/// One session's view of the run: what arrived and whether the sequence
/// numbers held.
#[derive(Clone, Debug)]
pub struct SessionLog {
    pub guild: usize,
    guilds: usize,
    pub received: Bitset,
    pub duplicates: u64,
    pub misrouted: u64,
    last_seq: Option<u64>,
    pub seq_gaps: u64,
    pub seq_repeats: u64,
}

impl SessionLog {
    /// A session in guild `guild` of `guilds`, in a run that numbers at most
    /// `ordinals` messages per guild.
    pub fn new(guild: usize, guilds: usize, ordinals: usize) -> SessionLog {
        SessionLog {
            guild,
            guilds: guilds.max(1),
            received: Bitset::new(ordinals),
            duplicates: 0,
            misrouted: 0,
            last_seq: None,
            seq_gaps: 0,
            seq_repeats: 0,
        }
    }

    /// The last sequence number received (what heartbeats and resumes send).
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// A dispatch with sequence number `s` arrived.
    pub fn sequence(&mut self, s: u64) {
        match self.last_seq {
            None if s != 1 => self.seq_gaps += s.saturating_sub(1),
            Some(last) if s <= last => self.seq_repeats += 1,
            Some(last) if s > last + 1 => self.seq_gaps += s - last - 1,
            _ => {}
        }
        self.last_seq = Some(self.last_seq.map_or(s, |l| l.max(s)));
    }

    /// MESSAGE_CREATE for message `index` (numbered across all guilds).
    pub fn message(&mut self, index: usize) -> Delivery {
        if index % self.guilds != self.guild {
            self.misrouted += 1;
            return Delivery::Misrouted;
        }
        match self.received.set(index / self.guilds) {
            Some(false) => Delivery::First,
            Some(true) => {
                self.duplicates += 1;
                Delivery::Duplicate
            }
            None => {
                self.misrouted += 1;
                Delivery::Misrouted
            }
        }
    }
}

/// Which of a guild's ordinals were confirmed posted (HTTP 200).
pub fn posted_per_guild(ok: &[bool], guilds: usize, ordinals: usize) -> Vec<Bitset> {
    let guilds = guilds.max(1);
    let mut per = vec![Bitset::new(ordinals); guilds];
    for (i, _) in ok.iter().enumerate().filter(|(_, ok)| **ok) {
        per[i % guilds].set(i / guilds);
    }
    per
}

/// The totals over every session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Sum over sessions of the messages confirmed posted to its guild.
    pub expected: u64,
    /// Distinct expected messages that arrived.
    pub received: u64,
    /// Expected and never received.
    pub lost: u64,
    /// Deliveries beyond the first of a message to a session.
    pub duplicated: u64,
    /// Deliveries of messages whose POST was not confirmed.
    pub unconfirmed: u64,
    /// Deliveries to a session whose guild the message was not posted in.
    pub misrouted: u64,
    pub seq_gaps: u64,
    pub seq_repeats: u64,
}

impl Tally {
    /// Whether the server delivered everything exactly once, in sequence.
    pub fn clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.misrouted == 0
            && self.seq_gaps == 0
            && self.seq_repeats == 0
    }

    /// Adds one session, given what was posted to each guild.
    pub fn add(&mut self, log: &SessionLog, posted: &[Bitset]) {
        let Some(posted) = posted.get(log.guild) else {
            return;
        };
        let expected = posted.count();
        let lost = posted.count_and_not(&log.received);
        self.expected += expected;
        self.received += expected - lost;
        self.lost += lost;
        self.unconfirmed += log.received.count_and_not(posted);
        self.duplicated += log.duplicates;
        self.misrouted += log.misrouted;
        self.seq_gaps += log.seq_gaps;
        self.seq_repeats += log.seq_repeats;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bitset_reports_a_second_set_as_already_there() {
        let mut b = Bitset::new(130);
        assert_eq!(b.set(129), Some(false));
        assert_eq!(b.set(129), Some(true));
        assert_eq!(b.set(130), None);
        assert!(b.get(129) && !b.get(0));
        assert_eq!(b.count(), 1);
    }

    #[test]
    fn messages_are_checked_off_per_guild() {
        // Three guilds: this session is in guild 1, so messages 1, 4, 7 are
        // its ordinals 0, 1, 2.
        let mut log = SessionLog::new(1, 3, 3);
        assert_eq!(log.message(4), Delivery::First);
        assert_eq!(log.message(1), Delivery::First);
        assert_eq!(log.message(4), Delivery::Duplicate);
        assert_eq!(log.message(3), Delivery::Misrouted);
        assert_eq!(log.message(10), Delivery::Misrouted); // ordinal 3: not numbered
        assert_eq!(log.duplicates, 1);
        assert_eq!(log.misrouted, 2);
        assert!(log.received.get(0) && log.received.get(1) && !log.received.get(2));
    }

    #[test]
    fn missing_and_repeated_deliveries_are_lost_and_duplicated() {
        // Two guilds, six messages: guild 0 gets 0, 2, 4; guild 1 gets 1, 3, 5.
        // Message 5's POST failed.
        let ok = [true, true, true, true, true, false];
        let posted = posted_per_guild(&ok, 2, 3);
        assert_eq!(posted[0].count(), 3);
        assert_eq!(posted[1].count(), 2);

        let mut complete = SessionLog::new(0, 2, 3);
        for i in [0, 2, 4] {
            complete.message(i);
        }
        let mut lossy = SessionLog::new(0, 2, 3);
        for i in [0, 4, 4] {
            lossy.message(i);
        }
        // Got the failed POST's message too: unconfirmed, not lost.
        let mut other = SessionLog::new(1, 2, 3);
        for i in [1, 3, 5] {
            other.message(i);
        }

        let mut t = Tally::default();
        for log in [&complete, &lossy, &other] {
            t.add(log, &posted);
        }
        assert_eq!(
            t,
            Tally {
                expected: 3 + 3 + 2,
                received: 3 + 2 + 2,
                lost: 1,
                duplicated: 1,
                unconfirmed: 1,
                misrouted: 0,
                seq_gaps: 0,
                seq_repeats: 0,
            }
        );
        assert!(!t.clean());
    }

    #[test]
    fn a_clean_run_adds_up() {
        let posted = posted_per_guild(&[true; 4], 1, 4);
        let mut log = SessionLog::new(0, 1, 4);
        for (s, i) in (1..=4).zip(0..4) {
            log.sequence(s);
            log.message(i);
        }
        let mut t = Tally::default();
        t.add(&log, &posted);
        assert_eq!((t.expected, t.received, t.lost), (4, 4, 0));
        assert!(t.clean());
    }

    #[test]
    fn sequence_numbers_must_go_up_by_one() {
        let mut log = SessionLog::new(0, 1, 0);
        for s in [1, 2, 3, 5, 6, 6, 4, 7] {
            log.sequence(s);
        }
        assert_eq!(log.seq_gaps, 1); // 4 was skipped (arriving late does not fix it)
        assert_eq!(log.seq_repeats, 2); // 6 twice, then 4 out of order
        assert_eq!(log.last_seq(), Some(7));

        let mut late_start = SessionLog::new(0, 1, 0);
        late_start.sequence(3);
        assert_eq!(late_start.seq_gaps, 2);
    }
}
