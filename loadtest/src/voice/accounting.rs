//! Per-track media accounting, with no IO: sequence numbers extended over
//! wrap-around, loss counted against what the publisher sent, interarrival
//! jitter as RFC 3550 §6.4.1 defines it, and the table of send instants
//! end-to-end latency is measured against.
//!
//! Latency uses a table shared by every media thread rather than a
//! timestamp carried in the packet: the SFU forwards only end-to-end header
//! extensions (audio level, voice activity, video orientation), so a sender
//! clock in an extension would not survive the hop, and the table costs the
//! wire nothing. A publisher stamps slot `seq % SLOTS` of its track just
//! before handing the packet to str0m; a subscriber that receives that
//! sequence number looks the slot up.
//!
//! Simulcast video is measured from a stamp in the payload instead
//! ([`Trailer`](super::payload::Trailer): layer, the publisher's sequence
//! number on it, send time). The SFU renumbers and retimes a simulcast track
//! for each subscriber, switching layers under it, so a received sequence
//! number names no slot; but it forwards payload bytes untouched. Its loss
//! is counted on the numbers as received, which the SFU keeps continuous
//! across switches, as for any renumbered track: the trailer gives the
//! offset to the publisher's numbers, which places the publisher's last
//! packet for the tail.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Slots per published track: 4096 packets, 80 s of audio or several
/// seconds of video, far longer than any latency worth measuring.
const SLOTS: usize = 4096;
const NANOS_BITS: u32 = 48;
const NANOS_MASK: u64 = (1 << NANOS_BITS) - 1;

/// When each recent packet of one published track was written, and how far
/// the publisher got. Written by the publisher's media thread, read by its
/// subscribers' threads.
pub struct SendTable {
    /// `(seq << 48) | nanos since the epoch` per slot; 0 when never used.
    slots: Box<[AtomicU64]>,
    /// The last extended sequence number written, plus one (0: none yet).
    last_seq: AtomicU64,
    sent: AtomicU64,
}

impl Default for SendTable {
    fn default() -> Self {
        SendTable::new()
    }
}

impl SendTable {
    pub fn new() -> SendTable {
        SendTable {
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            last_seq: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        }
    }

    /// Packet `seq` (extended) is being written at `nanos` (since the run's
    /// epoch; 48 bits cover 78 hours).
    pub fn stamp(&self, seq: u64, nanos: u64) {
        let packed = ((seq & 0xffff) << NANOS_BITS) | (nanos & NANOS_MASK);
        self.slots[seq as usize % SLOTS].store(packed, Ordering::Release);
        self.last_seq.store(seq + 1, Ordering::Release);
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// When packet `seq` (its 16 bits as on the wire) was written, if the
    /// slot still holds it.
    pub fn sent_at(&self, seq: u16) -> Option<u64> {
        let v = self.slots[seq as usize % SLOTS].load(Ordering::Acquire);
        (v != 0 && (v >> NANOS_BITS) as u16 == seq).then_some(v & NANOS_MASK)
    }

    /// The last sequence number written (16 bits, as on the wire).
    pub fn last_seq(&self) -> Option<u16> {
        match self.last_seq.load(Ordering::Acquire) {
            0 => None,
            s => Some((s - 1) as u16),
        }
    }

    /// The last packet written at or before `nanos`, looking back at most
    /// a few seconds of audio: where a server that renumbers a track had
    /// got to when its first packet reached us.
    pub fn last_sent_by(&self, nanos: u64) -> Option<u16> {
        let last = self.last_seq()?;
        (0..256u16)
            .map(|back| last.wrapping_sub(back))
            .find(|s| self.sent_at(*s).is_some_and(|at| at <= nanos))
    }

    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

/// The publisher's sequence number for packet `seq` of a track the server
/// renumbered (by a constant offset, as Janus does), arrived at
/// `arrived_nanos`. `shift` (publisher's minus ours) is set by the first
/// packet, taken to be the last one the publisher had written by its
/// arrival: an upper bound, since nothing arrives before it is sent. It is
/// lowered whenever it would place a packet after the publisher's latest,
/// so it reaches the true offset once a packet arrives within a frame of
/// being sent; until then latencies read low.
pub fn unrenumber(
    table: &SendTable,
    shift: &mut Option<u16>,
    seq: u16,
    arrived_nanos: u64,
) -> Option<u16> {
    if let Some(s) = *shift {
        let theirs = seq.wrapping_add(s);
        if table.sent_at(theirs).is_some_and(|at| at <= arrived_nanos) {
            return Some(theirs);
        }
    }
    let latest = table.last_sent_by(arrived_nanos)?;
    let bound = latest.wrapping_sub(seq);
    match *shift {
        // Only ever lower (a slot overwritten long ago says nothing).
        Some(s) if (bound.wrapping_sub(s) as i16) >= 0 => {}
        _ => *shift = Some(bound),
    }
    shift.map(|s| seq.wrapping_add(s))
}

/// Nanoseconds since a run-wide epoch: one clock for every thread.
#[derive(Clone, Copy, Debug)]
pub struct Epoch(pub Instant);

impl Epoch {
    pub fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.0).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The extended value of 16-bit `seq` nearest to `reference`: sequence
/// numbers wrap at 65536, and a packet is at most half the space away from
/// the last one seen.
pub fn extend_seq(reference: u64, seq: u16) -> u64 {
    let base = reference & !0xffff;
    let candidate = base | u64::from(seq);
    let dist = |v: u64| v.abs_diff(reference);
    let mut best = candidate;
    if candidate >= 1 << 16 && dist(candidate - (1 << 16)) < dist(best) {
        best = candidate - (1 << 16);
    }
    if dist(candidate + (1 << 16)) < dist(best) {
        best = candidate + (1 << 16);
    }
    best
}

/// Packets of one received track, by sequence number. Duplicates (a
/// retransmission of something that arrived) are recognised within a
/// window of the latest 1024 sequence numbers and not counted twice.
#[derive(Clone, Debug, Default)]
pub struct SeqTracker {
    /// Extended numbers start at 2^20 so the first packet may be followed
    /// by older ones without going below zero.
    first: Option<u64>,
    highest: u64,
    /// Distinct packets received.
    pub received: u64,
    pub duplicates: u64,
    /// Packets older than the window (counted as received, unchecked).
    pub too_old: u64,
    window: [u64; WINDOW / 64],
}

const WINDOW: usize = 1024;
const START: u64 = 1 << 20;

/// What one packet was to its track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// A packet not seen before; how far it moved the highest number (0 if
    /// it filled a gap).
    New {
        advanced: u64,
    },
    Duplicate,
}

impl SeqTracker {
    pub fn on_packet(&mut self, seq: u16) -> Arrival {
        let Some(first) = self.first else {
            let ext = START + u64::from(seq);
            self.first = Some(ext);
            self.highest = ext;
            self.set(ext);
            self.received = 1;
            return Arrival::New { advanced: 1 };
        };
        let ext = extend_seq(self.highest, seq);
        if ext > self.highest {
            let advanced = ext - self.highest;
            // Forget the slots the window moves past.
            for s in (self.highest + 1)..=ext.min(self.highest + WINDOW as u64) {
                self.clear(s);
            }
            self.highest = ext;
            self.set(ext);
            self.received += 1;
            return Arrival::New { advanced };
        }
        if ext < first {
            // Older than the first packet: the range grows backwards.
            self.first = Some(ext);
            self.received += 1;
            let advanced = first - ext;
            if self.highest - ext < WINDOW as u64 {
                self.set(ext);
            }
            return Arrival::New { advanced };
        }
        if self.highest - ext >= WINDOW as u64 {
            self.too_old += 1;
            self.received += 1;
            return Arrival::New { advanced: 0 };
        }
        if self.is_set(ext) {
            self.duplicates += 1;
            return Arrival::Duplicate;
        }
        self.set(ext);
        self.received += 1;
        Arrival::New { advanced: 0 }
    }

    fn set(&mut self, ext: u64) {
        let i = ext as usize % WINDOW;
        self.window[i / 64] |= 1 << (i % 64);
    }

    fn clear(&mut self, ext: u64) {
        let i = ext as usize % WINDOW;
        self.window[i / 64] &= !(1 << (i % 64));
    }

    fn is_set(&self, ext: u64) -> bool {
        let i = ext as usize % WINDOW;
        self.window[i / 64] & (1 << (i % 64)) != 0
    }

    /// The highest sequence number received, 16 bits as on the wire.
    pub fn highest_seq(&self) -> Option<u16> {
        self.first.map(|_| self.highest as u16)
    }

    /// Packets expected from the first received to the highest received.
    pub fn expected(&self) -> u64 {
        self.first.map_or(0, |f| self.highest - f + 1)
    }

    /// Packets expected from the first received to the publisher's last
    /// one (`last_sent`, 16 bits): what never arrived after the highest
    /// received counts too, so a subscriber that stopped receiving shows
    /// its loss.
    pub fn expected_until(&self, last_sent: Option<u16>) -> u64 {
        let tail = match (self.highest_seq(), last_sent) {
            (Some(h), Some(last)) => {
                let d = last.wrapping_sub(h) as i16;
                u64::from(d.max(0) as u16)
            }
            _ => 0,
        };
        self.expected() + tail
    }

    /// Expected but not received (never negative).
    pub fn lost(&self, last_sent: Option<u16>) -> u64 {
        self.expected_until(last_sent).saturating_sub(self.received)
    }
}

/// Interarrival jitter, RFC 3550 §6.4.1: `J += (|D| - J) / 16`, where `D`
/// is how much the difference in arrival times of two consecutive packets
/// differs from the difference of their RTP timestamps.
#[derive(Clone, Debug)]
pub struct Jitter {
    clock_rate: f64,
    /// The previous packet's transit time, in RTP units (arrival - rtp ts).
    last_transit: Option<f64>,
    /// In RTP timestamp units.
    jitter: f64,
}

impl Jitter {
    pub fn new(clock_rate: u32) -> Jitter {
        Jitter {
            clock_rate: f64::from(clock_rate),
            last_transit: None,
            jitter: 0.0,
        }
    }

    /// A packet with RTP timestamp `rtp_ts` arrived `arrival` after some
    /// fixed origin.
    pub fn on_packet(&mut self, arrival: Duration, rtp_ts: u32) {
        let arrival = arrival.as_secs_f64() * self.clock_rate;
        let transit = arrival - f64::from(rtp_ts);
        if let Some(last) = self.last_transit {
            let mut d = (transit - last).abs();
            // RTP timestamps wrap at 2^32: a transit that jumps by about
            // that much is the wrap, not jitter.
            let wrap = 4_294_967_296.0;
            if d > wrap / 2.0 {
                d = (d - wrap).abs();
            }
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    pub fn millis(&self) -> f64 {
        self.jitter / self.clock_rate * 1000.0
    }
}

/// Nearest-rank percentiles of a small set of values (per-track figures:
/// one value per track, so sorting is cheap).
pub fn percentiles(values: &mut [f64]) -> Percentiles {
    if values.is_empty() {
        return Percentiles::default();
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| {
        let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
        values[rank - 1]
    };
    Percentiles {
        count: values.len() as u64,
        p50: Some(at(0.50)),
        p95: Some(at(0.95)),
        p99: Some(at(0.99)),
        max: values.last().copied(),
    }
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_packet_sent_by_a_moment_is_found_across_the_wrap() {
        let t = SendTable::new();
        assert_eq!(t.last_sent_by(1_000), None);
        for (i, seq) in (65_534u64..65_540).enumerate() {
            t.stamp(seq, 1_000 + 20 * i as u64);
        }
        assert_eq!(t.last_sent_by(1_000_000), Some(3));
        assert_eq!(t.last_sent_by(1_045), Some(0));
        assert_eq!(t.last_sent_by(1_020), Some(65_535));
        assert_eq!(t.last_sent_by(999), None);
    }

    #[test]
    fn renumbered_packets_map_back_once_one_arrives_within_a_frame() {
        let t = SendTable::new();
        // The publisher writes 100.. every 20 ms from t = 0.
        for i in 0..50u64 {
            t.stamp(100 + i, i * 20_000_000);
        }
        let mut shift = None;
        // Our 1 is its 102, but arrives 45 ms late, after 104 was written:
        // first guess 104.
        assert_eq!(unrenumber(&t, &mut shift, 1, 85_000_000), Some(104));
        // Our 2 (its 103) arrives 1 ms after being sent: the guess would
        // put it at 105, not yet written, so the offset comes down.
        assert_eq!(unrenumber(&t, &mut shift, 2, 61_000_000), Some(103));
        assert_eq!(shift, Some(101));
        // A late packet never raises it again.
        assert_eq!(unrenumber(&t, &mut shift, 3, 150_000_000), Some(104));
        assert_eq!(shift, Some(101));
    }

    #[test]
    fn sequence_numbers_extend_across_the_wrap() {
        assert_eq!(extend_seq(65_535, 0), 65_536);
        assert_eq!(extend_seq(65_536 + 3, 65_534), 65_534);
        assert_eq!(extend_seq(200_000, 200_000u64 as u16), 200_000);
        assert_eq!(extend_seq(5, 65_530), 65_530);
        assert_eq!(extend_seq(70_000, 10), 65_546);
    }

    #[test]
    fn loss_counts_gaps_and_survives_the_wrap() {
        let mut t = SeqTracker::default();
        let mut seq = 65_530u16;
        for i in 0..20u16 {
            if i == 7 || i == 8 {
                seq = seq.wrapping_add(1);
                continue; // lost
            }
            assert!(matches!(t.on_packet(seq), Arrival::New { .. }));
            seq = seq.wrapping_add(1);
        }
        assert_eq!(t.expected(), 20);
        assert_eq!(t.received, 18);
        assert_eq!(t.lost(t.highest_seq()), 2);
    }

    #[test]
    fn a_late_packet_fills_its_gap_and_a_duplicate_counts_once() {
        let mut t = SeqTracker::default();
        t.on_packet(10);
        t.on_packet(12);
        assert_eq!(t.lost(None), 1);
        assert_eq!(t.on_packet(11), Arrival::New { advanced: 0 });
        assert_eq!(t.on_packet(11), Arrival::Duplicate);
        assert_eq!(t.on_packet(12), Arrival::Duplicate);
        assert_eq!((t.received, t.duplicates, t.lost(None)), (3, 2, 0));
    }

    #[test]
    fn packets_the_publisher_sent_after_the_last_arrival_are_lost() {
        let mut t = SeqTracker::default();
        for s in 100..110 {
            t.on_packet(s);
        }
        // The publisher went on to 119: ten never arrived.
        assert_eq!(t.expected_until(Some(119)), 20);
        assert_eq!(t.lost(Some(119)), 10);
        // Across the wrap too.
        let mut t = SeqTracker::default();
        t.on_packet(65_534);
        t.on_packet(65_535);
        assert_eq!(t.lost(Some(3)), 4);
        // A last-sent number behind the highest received adds nothing.
        assert_eq!(t.lost(Some(65_500)), 0);
    }

    #[test]
    fn the_window_forgets_old_numbers_after_a_big_jump() {
        let mut t = SeqTracker::default();
        t.on_packet(0);
        t.on_packet(5000);
        // 0 fell out of the window: its slot reads clear, not duplicate.
        assert_eq!(t.on_packet(1), Arrival::New { advanced: 0 });
        assert_eq!(t.too_old, 1);
    }

    #[test]
    fn a_steady_stream_has_no_jitter_and_a_delayed_packet_adds_a_sixteenth() {
        let mut j = Jitter::new(48_000);
        for i in 0..50u32 {
            j.on_packet(Duration::from_millis(20 * i as u64), 960 * i);
        }
        assert!(j.millis().abs() < 1e-9);
        // One packet 16 ms late: |D| = 16 ms, so J = 1 ms.
        j.on_packet(Duration::from_millis(20 * 50 + 16), 960 * 50);
        assert!((j.millis() - 1.0).abs() < 1e-6, "{}", j.millis());
    }

    #[test]
    fn jitter_ignores_the_rtp_timestamp_wrap() {
        let mut j = Jitter::new(90_000);
        let start = u32::MAX - 3000;
        for i in 0..10u32 {
            j.on_packet(
                Duration::from_micros(33_333 * i as u64),
                start.wrapping_add(3000 * i),
            );
        }
        assert!(j.millis() < 0.01, "{}", j.millis());
    }

    #[test]
    fn the_send_table_gives_back_a_stamp_until_its_slot_is_reused() {
        let t = SendTable::new();
        assert_eq!(t.last_seq(), None);
        t.stamp(70_000, 1234);
        assert_eq!(t.sent_at(70_000u64 as u16), Some(1234));
        assert_eq!(t.last_seq(), Some(70_000u64 as u16));
        t.stamp(70_000 + SLOTS as u64, 99);
        assert_eq!(t.sent_at(70_000u64 as u16), None);
        assert_eq!(t.sent(), 2);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = percentiles(&mut v);
        assert_eq!(
            (p.p50, p.p95, p.p99, p.max),
            (Some(50.0), Some(95.0), Some(99.0), Some(100.0))
        );
        assert_eq!(percentiles(&mut []).count, 0);
    }
}
