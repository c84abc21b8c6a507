//! One published track as one subscriber receives it: which simulcast layer
//! goes out, and the rewriting that makes what leaves one continuous RTP
//! stream whatever the layer switches.
//!
//! A publisher may send a video track as several simulcast layers (RFC
//! 8853), each its own RTP stream with its own sequence numbers,
//! timestamps and (VP8) picture ids. A subscriber's m-line carries one of
//! them at a time. A switch happens only at the start of a keyframe of the
//! layer switched to (anything else would not decode), so while a switch
//! waits the old layer goes on and the new one is asked for a keyframe.
//!
//! Every forwarded track is rebased, simulcast or not: the first packet a
//! subscriber gets keeps its 16-bit sequence number but starts the SRTP
//! rollover counter at 0. A publisher's extended sequence numbers pass
//! 65,536 after twenty minutes of audio, and a subscriber that joined
//! after that would otherwise be sent packets its SRTP context (which
//! starts at rollover 0) cannot authenticate.
//!
//! No IO, no clock: the room hands in packets and `Instant`s.

use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::Rid;
use str0m::rtp::{Vp8Descriptor, Vp8Patch};

use crate::keyframes::KeyframeThrottle;

/// A layer without a packet for this long is taken to have stopped (a
/// publisher's encoder drops its upper layers when its bandwidth falls).
pub const ACTIVE_WINDOW: Duration = Duration::from_secs(1);

/// The quality a subscriber asks of a simulcast track (voice op 42).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    Low,
    Medium,
    #[default]
    High,
}

impl Quality {
    /// The layer index for this quality among `layers` layers listed lowest
    /// first: low the first, high the last, medium the middle (the lower of
    /// the two middle ones for an even count).
    pub fn layer(self, layers: usize) -> usize {
        let last = layers.saturating_sub(1);
        match self {
            Quality::Low => 0,
            Quality::Medium => last / 2,
            Quality::High => last,
        }
    }
}

/// The simulcast layers of one published track, in the order of the
/// publisher's `a=simulcast:send` list, which is taken to be lowest first
/// (as browsers' `sendEncodings` are conventionally written).
#[derive(Debug, Default)]
pub struct Layers {
    rids: Vec<Rid>,
    seen: Vec<Option<Instant>>,
    keyframes: Vec<KeyframeThrottle>,
}

impl Layers {
    pub fn new(rids: Vec<Rid>) -> Layers {
        let n = rids.len();
        Layers {
            rids,
            seen: vec![None; n],
            keyframes: (0..n).map(|_| KeyframeThrottle::default()).collect(),
        }
    }

    /// How many layers the track has (0 or 1: not simulcast).
    pub fn count(&self) -> usize {
        self.rids.len()
    }

    pub fn is_simulcast(&self) -> bool {
        self.rids.len() > 1
    }

    /// The index of a layer by its rid.
    pub fn index(&self, rid: Option<Rid>) -> Option<usize> {
        let rid = rid?;
        self.rids.iter().position(|r| *r == rid)
    }

    pub fn rid(&self, layer: usize) -> Option<Rid> {
        self.rids.get(layer).copied()
    }

    /// A packet of `layer` arrived.
    pub fn saw(&mut self, layer: usize, now: Instant) {
        if let Some(s) = self.seen.get_mut(layer) {
            *s = Some(now);
        }
    }

    fn active(&self, layer: usize, now: Instant) -> bool {
        self.seen
            .get(layer)
            .copied()
            .flatten()
            .is_some_and(|t| now.saturating_duration_since(t) < ACTIVE_WINDOW)
    }

    /// The layer a subscriber asking for `quality` should get: that one if
    /// it flows, else the best flowing one below it, else the lowest
    /// flowing one above it; the asked one while none flows.
    pub fn choose(&self, quality: Quality, now: Instant) -> usize {
        let wanted = quality.layer(self.count());
        (0..=wanted)
            .rev()
            .chain(wanted + 1..self.count())
            .find(|l| self.active(*l, now))
            .unwrap_or(wanted)
    }

    /// Whether a keyframe request may go to `layer` now (one a second).
    pub fn allow_keyframe_request(&mut self, layer: usize, now: Instant) -> bool {
        self.keyframes.get_mut(layer).is_some_and(|k| k.allow(now))
    }
}

/// Whether an RTP payload of `codec` starts a keyframe: the packet a
/// subscriber can start decoding a layer from.
pub fn starts_keyframe(codec: Codec, payload: &[u8]) -> bool {
    use str0m::format::{
        detect_av1_keyframe, detect_h264_keyframe, detect_h264_nalu, detect_h265_keyframe,
        detect_vp8_keyframe,
    };
    const H264_SPS: u8 = 7;
    match codec {
        Codec::Vp8 => detect_vp8_keyframe(payload),
        // P (predicted) clear and B (beginning of a frame) set.
        Codec::Vp9 => payload
            .first()
            .is_some_and(|b| b & 0x40 == 0 && b & 0x08 != 0),
        // Browsers send the parameter sets just before the IDR picture: a
        // decoder needs them, so the switch is at them when they come.
        Codec::H264 => detect_h264_nalu(payload, H264_SPS) || detect_h264_keyframe(payload),
        Codec::H265 => detect_h265_keyframe(payload),
        Codec::Av1 => detect_av1_keyframe(payload),
        _ => false,
    }
}

/// What the room does with one packet for one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it with these header values.
    Forward(Rewritten),
    /// Not for this subscriber (another layer, or one a switch left behind).
    Skip,
    /// Not yet: the subscriber waits for a keyframe of this layer.
    SkipWantKeyframe(usize),
}

/// The header values a forwarded packet leaves with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    pub seq_no: u64,
    pub timestamp: u32,
    /// A VP8 picture id / TL0PICIDX rewrite, when the layer changed.
    pub vp8: Option<Vp8Patch>,
}

/// A packet as the room sees it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// Its layer's index, `None` for a track without simulcast.
    pub layer: Option<usize>,
    pub seq_no: u64,
    pub timestamp: u32,
    pub clock_rate: u32,
    pub codec: Codec,
    pub payload: &'a [u8],
    pub arrived: Instant,
}

/// The last packet that went out, what a switch continues from.
#[derive(Debug, Clone, Copy)]
struct Last {
    seq_no: u64,
    timestamp: u32,
    at: Instant,
    picture_id: Option<u16>,
    tl0_pic_idx: Option<u8>,
}

/// One published track towards one subscriber.
#[derive(Debug, Default)]
pub struct OutTrack {
    pub quality: Quality,
    /// The layer being forwarded (`None` before the first packet went).
    current: Option<Option<usize>>,
    /// Added (wrapping) to incoming sequence numbers.
    seq_offset: u64,
    /// The first outgoing sequence number of the current layer: packets of
    /// it that arrive late and would land before are dropped, since those
    /// numbers went out with the previous layer.
    seq_floor: u64,
    ts_offset: u32,
    /// Added to VP8 picture ids (15 bits) and TL0PICIDX.
    picture_id_offset: u16,
    tl0_offset: u8,
    last: Option<Last>,
}

const PICTURE_ID_15: u16 = 0x7fff;
const PICTURE_ID_7: u16 = 0x7f;

impl OutTrack {
    /// Decides about one packet. `chosen` is the layer the subscriber
    /// should get (from [`Layers::choose`]); ignored without simulcast.
    pub fn accept(&mut self, pkt: &Incoming<'_>, chosen: usize) -> Verdict {
        if self.current != Some(pkt.layer) {
            let switch = match pkt.layer {
                None => true,
                Some(l) if l == chosen => starts_keyframe(pkt.codec, pkt.payload),
                Some(_) => false,
            };
            if !switch {
                return match pkt.layer {
                    Some(l) if l == chosen => Verdict::SkipWantKeyframe(l),
                    _ => Verdict::Skip,
                };
            }
            self.switch_to(pkt);
        }
        // The current layer goes on while a switch waits for the chosen
        // one's keyframe.
        match self.forward(pkt) {
            Some(r) => Verdict::Forward(r),
            None => Verdict::Skip,
        }
    }

    /// The numbering for the next track on the same m-line (one that
    /// ended is reused for a new track): it continues where this one
    /// stopped, so a receiver that keeps one jitter buffer per m-line
    /// rather than per SSRC sees no jump back. Within SRTP rollover 0,
    /// since the next track has a new SSRC, whose context the receiver
    /// starts at rollover 0.
    pub fn successor(&self) -> OutTrack {
        let last = self
            .last
            .map(|l| Last {
                seq_no: l.seq_no & 0xffff,
                ..l
            })
            .filter(|l| l.seq_no < 0xffff);
        OutTrack {
            last,
            ..OutTrack::default()
        }
    }

    /// The layer being forwarded, if any.
    pub fn current_layer(&self) -> Option<usize> {
        self.current.flatten()
    }

    fn switch_to(&mut self, pkt: &Incoming<'_>) {
        let vp8 = vp8_ids(pkt);
        match self.last {
            // The first packet keeps its 16-bit number with rollover 0.
            None => {
                self.seq_offset = 0u64.wrapping_sub(pkt.seq_no & !0xffff);
                self.ts_offset = 0;
                self.picture_id_offset = 0;
                self.tl0_offset = 0;
            }
            Some(last) => {
                self.seq_offset = (last.seq_no + 1).wrapping_sub(pkt.seq_no);
                // The new layer's clock has its own origin: continue ours by
                // the time that passed, at least one tick so the frame is
                // a new one.
                let elapsed = pkt.arrived.saturating_duration_since(last.at);
                let ticks = (elapsed.as_secs_f64() * f64::from(pkt.clock_rate)) as u32;
                let next = last.timestamp.wrapping_add(ticks.max(1));
                self.ts_offset = next.wrapping_sub(pkt.timestamp);
                if let (Some(out), Some((pid, _))) = (last.picture_id, vp8) {
                    self.picture_id_offset = out.wrapping_add(1).wrapping_sub(pid) & PICTURE_ID_15;
                }
                if let (Some(out), Some((_, Some(tl0)))) = (last.tl0_pic_idx, vp8) {
                    self.tl0_offset = out.wrapping_add(1).wrapping_sub(tl0);
                }
            }
        }
        self.current = Some(pkt.layer);
        self.seq_floor = pkt.seq_no.wrapping_add(self.seq_offset);
    }

    fn forward(&mut self, pkt: &Incoming<'_>) -> Option<Rewritten> {
        let seq_no = pkt.seq_no.wrapping_add(self.seq_offset);
        // A late packet of the layer from before a switch (wrapping
        // arithmetic: "before" is a small negative distance).
        if (seq_no.wrapping_sub(self.seq_floor) as i64) < 0 {
            return None;
        }
        let timestamp = pkt.timestamp.wrapping_add(self.ts_offset);
        let mut vp8 = None;
        let mut ids = (None, None);
        if pkt.layer.is_some() {
            if let Some((desc, (pid, tl0))) = vp8_descriptor(pkt) {
                let mut patch = desc.patch();
                let mask = if pid > PICTURE_ID_7 || self.picture_id_offset > PICTURE_ID_7 {
                    PICTURE_ID_15
                } else {
                    PICTURE_ID_7
                };
                let out_pid = pid.wrapping_add(self.picture_id_offset) & mask;
                patch = patch.picture_id(out_pid);
                let out_tl0 = tl0.map(|t| t.wrapping_add(self.tl0_offset));
                if let Some(t) = out_tl0 {
                    patch = patch.tl0_pic_idx(t);
                }
                // A 7-bit picture id that cannot hold the rewritten one is
                // left as it came: the decoder copes with a jump at a
                // keyframe.
                vp8 = patch.build().ok();
                ids = (Some(out_pid), out_tl0);
            }
        }
        let newer = self
            .last
            .is_none_or(|l| (seq_no.wrapping_sub(l.seq_no) as i64) > 0);
        if newer {
            self.last = Some(Last {
                seq_no,
                timestamp,
                at: pkt.arrived,
                picture_id: ids.0,
                tl0_pic_idx: ids.1,
            });
        }
        Some(Rewritten {
            seq_no,
            timestamp,
            vp8,
        })
    }
}

/// The picture id and TL0PICIDX of a VP8 packet that has a picture id.
fn vp8_ids(pkt: &Incoming<'_>) -> Option<(u16, Option<u8>)> {
    vp8_descriptor(pkt).map(|(_, ids)| ids)
}

fn vp8_descriptor(pkt: &Incoming<'_>) -> Option<(Vp8Descriptor, (u16, Option<u8>))> {
    if pkt.codec != Codec::Vp8 {
        return None;
    }
    let desc = Vp8Descriptor::parse(pkt.payload).ok()?;
    let pid = desc.picture_id()?;
    Some((desc, (pid, desc.tl0_pic_idx())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vp8(keyframe: bool, picture_id: u16) -> Vec<u8> {
        // X, S; I (picture id, 15 bits); then the VP8 frame tag.
        let mut p = vec![0x90, 0x80, 0x80 | (picture_id >> 8) as u8, picture_id as u8];
        p.push(if keyframe { 0x10 } else { 0x11 });
        p.extend_from_slice(&[0x02, 0x00, 0x9d, 0x01, 0x2a, 0, 0, 0, 0]);
        p
    }

    fn pkt(layer: Option<usize>, seq: u64, ts: u32, payload: &[u8], at: Instant) -> Incoming<'_> {
        Incoming {
            layer,
            seq_no: seq,
            timestamp: ts,
            clock_rate: 90_000,
            codec: Codec::Vp8,
            payload,
            arrived: at,
        }
    }

    fn forwarded(v: Verdict) -> Rewritten {
        match v {
            Verdict::Forward(r) => r,
            other => panic!("expected a forward, got {other:?}"),
        }
    }

    #[test]
    fn qualities_map_onto_layers_lowest_first() {
        assert_eq!(Quality::Low.layer(3), 0);
        assert_eq!(Quality::Medium.layer(3), 1);
        assert_eq!(Quality::High.layer(3), 2);
        assert_eq!(Quality::Medium.layer(2), 0);
        assert_eq!(Quality::High.layer(2), 1);
        assert_eq!(Quality::High.layer(1), 0);
    }

    #[test]
    fn the_chosen_layer_falls_back_to_one_that_flows() {
        let t = Instant::now();
        let mut layers = Layers::new(vec![Rid::from("q"), Rid::from("h"), Rid::from("f")]);
        assert_eq!(layers.choose(Quality::High, t), 2, "nothing flows yet");
        layers.saw(0, t);
        layers.saw(1, t);
        assert_eq!(layers.choose(Quality::High, t), 1, "f does not flow");
        assert_eq!(layers.choose(Quality::Low, t), 0);
        layers.saw(2, t);
        assert_eq!(layers.choose(Quality::High, t), 2);
        let later = t + ACTIVE_WINDOW + Duration::from_millis(1);
        layers.saw(2, later);
        assert_eq!(
            layers.choose(Quality::Low, later),
            2,
            "only the top layer still flows"
        );
    }

    #[test]
    fn the_next_track_on_a_reused_m_line_continues_the_numbering_within_rollover_zero() {
        let t = Instant::now();
        let p = vp8(false, 5);
        let mut gone = OutTrack::default();
        // The track that ended had gone past a rollover.
        forwarded(gone.accept(&pkt(None, 70_000, 9_000, &p, t), 0));
        let mut next = gone.successor();
        let later = t + Duration::from_millis(20);
        let r = forwarded(next.accept(&pkt(None, 123, 5, &p, later), 0));
        assert_eq!(r.seq_no, 70_000 - 65_536 + 1, "continues, at rollover 0");
        assert_eq!(r.timestamp, 9_000 + 1_800, "on by the 20 ms that passed");
        let r = forwarded(next.accept(&pkt(None, 124, 3_005, &p, later), 0));
        assert_eq!(r.seq_no, 70_000 - 65_536 + 2);
        // One that stopped at the last number of a rollover starts afresh.
        let mut edge = OutTrack::default();
        forwarded(edge.accept(&pkt(None, 65_535, 1, &p, t), 0));
        let r = forwarded(edge.successor().accept(&pkt(None, 40, 1, &p, t), 0));
        assert_eq!(r.seq_no, 40);
    }

    #[test]
    fn a_track_without_simulcast_keeps_its_numbers_but_starts_at_rollover_zero() {
        let t = Instant::now();
        let mut out = OutTrack::default();
        let p = vp8(false, 5);
        // A publisher 3 rollovers in.
        let seq = 3 * 65_536 + 1_000;
        let r = forwarded(out.accept(&pkt(None, seq, 777, &p, t), 0));
        assert_eq!(r.seq_no, 1_000);
        assert_eq!(r.timestamp, 777);
        assert!(r.vp8.is_none(), "single-layer VP8 passes untouched");
        let r = forwarded(out.accept(&pkt(None, seq + 64_536, 778, &p, t), 0));
        assert_eq!(r.seq_no, 65_536, "wraps on into rollover 1");
    }

    #[test]
    fn a_switch_waits_for_a_keyframe_and_continues_the_numbers() {
        let t = Instant::now();
        let mut out = OutTrack::default();
        let delta = vp8(false, 100);
        let key = vp8(true, 9_000);
        // Layer 0 flows, the subscriber should get layer 0: its first
        // packet is not a keyframe, so a keyframe is wanted.
        assert_eq!(
            out.accept(&pkt(Some(0), 10, 1_000, &delta, t), 0),
            Verdict::SkipWantKeyframe(0)
        );
        let k0 = vp8(true, 100);
        let r = forwarded(out.accept(&pkt(Some(0), 11, 1_000, &k0, t), 0));
        assert_eq!(r.seq_no, 11);
        let d0 = vp8(false, 101);
        let r = forwarded(out.accept(&pkt(Some(0), 12, 4_000, &d0, t), 2));
        assert_eq!(r.seq_no, 12, "the old layer goes on while a switch waits");
        // Layer 2's delta frames wait; its keyframe switches.
        assert_eq!(
            out.accept(&pkt(Some(2), 50_000, 70_000, &delta, t), 2),
            Verdict::SkipWantKeyframe(2)
        );
        let later = t + Duration::from_millis(33);
        let r = forwarded(out.accept(&pkt(Some(2), 50_001, 73_000, &key, later), 2));
        assert_eq!(r.seq_no, 13, "numbers continue across the switch");
        assert_eq!(r.timestamp, 4_000 + 2_970, "time continues by what passed");
        assert!(r.vp8.is_some(), "the picture id is rewritten");
        assert_eq!(out.current_layer(), Some(2));
        // The old layer is dropped now.
        assert_eq!(
            out.accept(&pkt(Some(0), 13, 7_000, &d0, later), 2),
            Verdict::Skip
        );
        let r = forwarded(out.accept(&pkt(Some(2), 50_002, 76_000, &delta, later), 2));
        assert_eq!((r.seq_no, r.timestamp), (14, 6_970 + 3_000));
    }

    #[test]
    fn picture_ids_continue_across_a_switch() {
        let t = Instant::now();
        let mut out = OutTrack::default();
        let k0 = vp8(true, 300);
        forwarded(out.accept(&pkt(Some(0), 1, 0, &k0, t), 0));
        let d0 = vp8(false, 301);
        forwarded(out.accept(&pkt(Some(0), 2, 3_000, &d0, t), 0));
        let k1 = vp8(true, 20_000);
        let r = forwarded(out.accept(&pkt(Some(1), 900, 5, &k1, t), 1));
        let desc = Vp8Descriptor::parse(&k1).unwrap();
        let want = desc.patch().picture_id(302).build().unwrap();
        assert_eq!(r.vp8, Some(want));
    }

    #[test]
    fn keyframes_are_told_apart_per_codec() {
        assert!(starts_keyframe(Codec::Vp8, &vp8(true, 1)));
        assert!(!starts_keyframe(Codec::Vp8, &vp8(false, 1)));
        // VP9: B set, P clear / P set.
        assert!(starts_keyframe(Codec::Vp9, &[0x88, 0, 0]));
        assert!(!starts_keyframe(Codec::Vp9, &[0xc8, 0, 0]));
        // H264: an SPS, an IDR, a non-IDR slice.
        assert!(starts_keyframe(Codec::H264, &[0x67, 0x42]));
        assert!(starts_keyframe(Codec::H264, &[0x65, 0x88]));
        assert!(!starts_keyframe(Codec::H264, &[0x41, 0x9a]));
        assert!(!starts_keyframe(Codec::Opus, &[0x00]));
    }
}
