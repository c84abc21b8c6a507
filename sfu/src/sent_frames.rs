//! What the room told a client over its voice socket, numbered and kept
//! until the client acknowledges it (Discord voice v8's `seq` and
//! `seq_ack`), so a resume sends again what a dying socket swallowed.
//!
//! A frame written to a socket whose peer is already gone is accepted by
//! the kernel and then lost; neither side can tell which. The client says
//! how far it got (`seq_ack` in heartbeats and in Resume), and the frames
//! after that are sent again on the new socket.

use std::collections::VecDeque;

use serde_json::{json, Value};

/// Frames kept at most. A client that acknowledges nothing for this long
/// (heartbeats carry the acknowledgement) loses the oldest on a resume.
const KEPT: usize = 512;

#[derive(Debug, Default)]
pub struct SentFrames {
    /// The last sequence number given out (the first frame gets 1).
    last: u64,
    /// Unacknowledged frames: their number and their text.
    kept: VecDeque<(u64, String)>,
}

impl SentFrames {
    /// Numbers a frame, keeps it, and returns the text to send.
    pub fn record(&mut self, op: u8, d: Value) -> String {
        self.last += 1;
        let text = json!({ "op": op, "d": d, "seq": self.last }).to_string();
        if self.kept.len() == KEPT {
            self.kept.pop_front();
        }
        self.kept.push_back((self.last, text.clone()));
        text
    }

    /// The client has everything up to `seq`.
    pub fn ack(&mut self, seq: u64) {
        while self.kept.front().is_some_and(|(s, _)| *s <= seq) {
            self.kept.pop_front();
        }
    }

    /// The frames after `seq`, oldest first.
    pub fn after(&self, seq: u64) -> impl Iterator<Item = (u64, &str)> {
        self.kept
            .iter()
            .filter(move |(s, _)| *s > seq)
            .map(|(s, t)| (*s, t.as_str()))
    }

    /// The number of the last frame given out (0 before the first).
    pub fn last(&self) -> u64 {
        self.last
    }
}

/// A client's `seq_ack`: a number, or -1 / absent for "nothing yet".
pub fn parse_ack(v: Option<&Value>) -> Option<u64> {
    v.and_then(Value::as_u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(f: &SentFrames, after: u64) -> Vec<u64> {
        f.after(after).map(|(s, _)| s).collect()
    }

    #[test]
    fn frames_are_numbered_and_carry_their_number() {
        let mut f = SentFrames::default();
        let t = f.record(11, json!({"user_ids": ["1"]}));
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["seq"], 1);
        assert_eq!(v["op"], 11);
        f.record(13, json!({"user_id": "1"}));
        assert_eq!(f.last(), 2);
    }

    #[test]
    fn a_resume_gets_what_came_after_the_acknowledged_frame() {
        let mut f = SentFrames::default();
        for _ in 0..5 {
            f.record(5, json!({}));
        }
        assert_eq!(seqs(&f, 3), vec![4, 5]);
        f.ack(2);
        assert_eq!(
            seqs(&f, 0),
            vec![3, 4, 5],
            "acknowledged frames are dropped"
        );
        assert_eq!(seqs(&f, 5), Vec::<u64>::new());
    }

    #[test]
    fn what_is_kept_is_bounded() {
        let mut f = SentFrames::default();
        for _ in 0..(KEPT + 10) {
            f.record(5, json!({}));
        }
        assert_eq!(f.after(0).count(), KEPT);
        assert_eq!(f.after(0).next().map(|(s, _)| s), Some(11));
    }

    #[test]
    fn minus_one_and_garbage_acknowledge_nothing() {
        assert_eq!(parse_ack(Some(&json!(-1))), None);
        assert_eq!(parse_ack(Some(&json!("7"))), None);
        assert_eq!(parse_ack(None), None);
        assert_eq!(parse_ack(Some(&json!(7))), Some(7));
    }
}
