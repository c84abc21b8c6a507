//! Which payload type a subscriber receives a publisher's stream under.
//!
//! Payload types are per peer: the number a publisher sends with means
//! nothing to a subscriber, so each forwarded packet is rewritten to the
//! subscriber's payload type for the same codec. "The same codec" is more
//! than the codec's name: H264 comes in profiles and packetization modes
//! (fmtp `profile-level-id`, `packetization-mode`), H265 in profiles and
//! tiers, VP9 and AV1 in profiles, and a browser offers several of each,
//! each with its own payload type. A
//! payload type picked by codec name alone can label a Constrained Baseline
//! stream as Baseline, or name a variant the subscriber never negotiated on
//! that m-line, which it then drops. So the stream's whole codec spec
//! (codec, clock rate, channels, format parameters) is matched against the
//! payload types the subscriber accepted on the m-line that carries it.

use str0m::format::{CodecConfig, PayloadParams};
use str0m::media::{Mid, Pt};
use str0m::Rtc;

/// The payload type `sub` receives a stream under on its outgoing m-line
/// `out`, for a publisher sending with `src`; `None` if that m-line is not
/// negotiated yet (see [`matching_pt`] for the other `None`).
pub fn subscriber_pt(sub: &Rtc, out: Mid, src: &PayloadParams) -> Option<Option<Pt>> {
    let media = sub.media(out)?;
    if media.remote_pts().is_empty() {
        return None;
    }
    Some(matching_pt(sub.codec_config(), media.remote_pts(), src))
}

/// Of the payload types `negotiated` on an m-line (the receiver's, in its
/// order of preference, described by `config`), the one for a stream sent
/// as `src`:
///
/// 1. one with the same codec spec: codec, clock rate, channels and every
///    format parameter;
/// 2. else one str0m's negotiation would pair with it: H264 with the same
///    profile and packetization mode (any level), H265 with the same
///    profile and tier, VP9 with the same profile, AV1 with the same
///    profile, level and tier, Opus with any parameters;
/// 3. else the receiver's first of the same codec and clock rate, one with
///    the same H264 packetization mode first: the stream still plays on
///    decoders that take more than they advertise, rather than not at all.
///
/// `None` when the receiver did not negotiate the codec at all: it cannot
/// decode the stream, so it is not sent.
pub fn matching_pt(config: &CodecConfig, negotiated: &[Pt], src: &PayloadParams) -> Option<Pt> {
    let spec = src.spec();
    let candidates = || {
        negotiated
            .iter()
            .filter_map(|pt| config.iter().find(|p| p.pt() == *pt))
            .filter(|p| p.spec().codec == spec.codec && p.spec().clock_rate == spec.clock_rate)
    };
    if let Some(p) = candidates().find(|p| p.spec() == spec) {
        return Some(p.pt());
    }
    let same_codec: Vec<PayloadParams> = candidates().copied().collect();
    if same_codec.is_empty() {
        return None;
    }
    // `match_params` takes the last of equally good ones: reversed, that is
    // the receiver's first.
    let reversed = same_codec.iter().rev().copied().collect();
    if let Some(p) = CodecConfig::new_from_payload_params(reversed).match_params(*src) {
        return Some(p.pt());
    }
    let mode = |p: &PayloadParams| p.spec().format.packetization_mode.unwrap_or(0);
    let wanted = mode(src);
    same_codec
        .iter()
        .min_by_key(|p| mode(p) != wanted)
        .map(|p| p.pt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use str0m::format::{Codec, CodecSpec, FormatParams};
    use str0m::media::Frequency;

    fn h264(pt: u8, mode: u8, profile_level_id: u32) -> PayloadParams {
        PayloadParams::new(
            pt.into(),
            None,
            CodecSpec {
                codec: Codec::H264,
                clock_rate: Frequency::NINETY_KHZ,
                channels: None,
                format: FormatParams {
                    level_asymmetry_allowed: Some(true),
                    packetization_mode: Some(mode),
                    profile_level_id: Some(profile_level_id),
                    ..Default::default()
                },
            },
        )
    }

    fn vp9(pt: u8, profile: u32) -> PayloadParams {
        PayloadParams::new(
            pt.into(),
            None,
            CodecSpec {
                codec: Codec::Vp9,
                clock_rate: Frequency::NINETY_KHZ,
                channels: None,
                format: FormatParams {
                    profile_id: Some(profile),
                    ..Default::default()
                },
            },
        )
    }

    fn vp8(pt: u8) -> PayloadParams {
        PayloadParams::new(
            pt.into(),
            None,
            CodecSpec {
                codec: Codec::Vp8,
                clock_rate: Frequency::NINETY_KHZ,
                channels: None,
                format: FormatParams::default(),
            },
        )
    }

    /// A receiver offering H264 the way browsers do: Baseline and
    /// Constrained Baseline, each in both packetization modes, then High.
    fn browser_like() -> CodecConfig {
        CodecConfig::new_from_payload_params(vec![
            vp8(96),
            h264(102, 1, 0x42001f),
            h264(127, 0, 0x42001f),
            h264(125, 1, 0x42e01f),
            h264(108, 0, 0x42e01f),
            h264(123, 1, 0x640032),
            vp9(98, 0),
            vp9(100, 2),
        ])
    }

    fn all_pts(c: &CodecConfig) -> Vec<Pt> {
        c.iter().map(|p| p.pt()).collect()
    }

    #[test]
    fn h264_goes_out_under_the_payload_type_with_its_profile_and_mode() {
        let sub = browser_like();
        let pts = all_pts(&sub);
        // Constrained Baseline, mode 1: not the first H264 entry (Baseline).
        assert_eq!(
            matching_pt(&sub, &pts, &h264(35, 1, 0x42e01f)),
            Some(125.into())
        );
        assert_eq!(
            matching_pt(&sub, &pts, &h264(35, 0, 0x42e01f)),
            Some(108.into())
        );
        assert_eq!(
            matching_pt(&sub, &pts, &h264(35, 0, 0x42001f)),
            Some(127.into())
        );
    }

    #[test]
    fn a_different_h264_level_still_matches_its_profile() {
        let sub = browser_like();
        let pts = all_pts(&sub);
        // Constrained Baseline level 3.1 (1f) vs 4.0 (28).
        assert_eq!(
            matching_pt(&sub, &pts, &h264(35, 1, 0x42e028)),
            Some(125.into())
        );
        // High, level 5.0 (32) vs 3.1: still High.
        assert_eq!(
            matching_pt(&sub, &pts, &h264(35, 1, 0x64001f)),
            Some(123.into())
        );
    }

    #[test]
    fn only_payload_types_negotiated_on_the_m_line_are_used() {
        let sub = browser_like();
        // The m-line accepted only Constrained Baseline, mode 1, and VP8.
        let pts: Vec<Pt> = vec![96.into(), 125.into()];
        // Baseline mode 1 is configured but not negotiated here: the nearest
        // negotiated H264 is used, not the configured exact match.
        assert_eq!(
            matching_pt(&sub, &pts, &h264(35, 1, 0x42001f)),
            Some(125.into())
        );
        // No VP9 on this m-line: nothing goes out.
        assert_eq!(matching_pt(&sub, &pts, &vp9(41, 0)), None);
    }

    #[test]
    fn of_equally_good_matches_the_receivers_first_is_taken() {
        let sub = CodecConfig::new_from_payload_params(vec![
            h264(108, 1, 0x42e01f),
            h264(125, 1, 0x42e028),
            vp8(96),
        ]);
        // Level 3.2 (20): 3.1 and 4.0 are as far from it as each other.
        let src = h264(35, 1, 0x42e020);
        assert_eq!(
            matching_pt(&sub, &[108.into(), 125.into()], &src),
            Some(108.into())
        );
        assert_eq!(
            matching_pt(&sub, &[125.into(), 108.into()], &src),
            Some(125.into())
        );
    }

    #[test]
    fn fallback_prefers_the_same_packetization_mode() {
        let sub = browser_like();
        let pts: Vec<Pt> = vec![108.into(), 125.into()];
        // Main profile is not offered at all; mode 1 still picks mode 1.
        assert_eq!(
            matching_pt(&sub, &pts, &h264(35, 1, 0x4d001f)),
            Some(125.into())
        );
        assert_eq!(
            matching_pt(&sub, &pts, &h264(35, 0, 0x4d001f)),
            Some(108.into())
        );
    }

    #[test]
    fn vp9_goes_out_under_its_profile() {
        let sub = browser_like();
        let pts = all_pts(&sub);
        assert_eq!(matching_pt(&sub, &pts, &vp9(45, 0)), Some(98.into()));
        assert_eq!(matching_pt(&sub, &pts, &vp9(45, 2)), Some(100.into()));
    }

    #[test]
    fn a_codec_the_receiver_did_not_negotiate_is_not_sent() {
        let sub = CodecConfig::new_from_payload_params(vec![vp8(96)]);
        let pts = all_pts(&sub);
        assert_eq!(matching_pt(&sub, &pts, &h264(102, 1, 0x42e01f)), None);
        assert_eq!(matching_pt(&sub, &pts, &vp8(120)), Some(96.into()));
    }
}
