//! What publishers send: real Opus, encoded once at start and replayed, and
//! synthetic VP8 RTP payloads at a requested bitrate.
//!
//! The SFU forwards without decoding, so video needs no encoder: a VP8
//! payload is a correct RFC 7741 payload descriptor (with a 15-bit picture
//! id), a correct frame tag (the keyframe bit, the keyframe start code and
//! dimensions) and filler bytes to the size the bitrate asks for.

use std::f64::consts::PI;
use std::sync::Arc;

/// 20 ms of 48 kHz.
pub const OPUS_FRAME_SAMPLES: u32 = 960;
const SAMPLE_RATE: u32 = 48_000;
/// Distinct speech frames replayed in a loop: one second.
const SPEECH_FRAMES: usize = 50;
/// RTP payload bytes per video packet (before the descriptor), under a
/// typical 1200-byte WebRTC MTU with SRTP and header extensions.
pub const VP8_PACKET_BYTES: usize = 1100;
const VP8_DESCRIPTOR_BYTES: usize = 4;
pub const VIDEO_FPS: u32 = 30;
pub const VIDEO_CLOCK: u32 = 90_000;
/// The dimensions a synthetic keyframe claims.
const WIDTH: u16 = 640;
const HEIGHT: u16 = 360;

/// Opus frames to replay.
pub struct OpusFrames {
    /// A second of a warbling tone, frame by frame.
    pub speech: Vec<Arc<[u8]>>,
    /// What the encoder sends for silence with DTX on: a comfort-noise
    /// update, sent every 400 ms while a speaker is silent.
    pub comfort_noise: Arc<[u8]>,
}

impl OpusFrames {
    pub fn encode() -> Result<OpusFrames, String> {
        let mut enc =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
                .map_err(|e| format!("creating the Opus encoder: {e}"))?;
        let mut out = vec![0u8; 1500];
        let mut speech = Vec::with_capacity(SPEECH_FRAMES);
        for k in 0..SPEECH_FRAMES as u64 {
            let pcm: Vec<i16> = (0..u64::from(OPUS_FRAME_SAMPLES))
                .map(|i| {
                    let n = k * u64::from(OPUS_FRAME_SAMPLES) + i;
                    let t = n as f64 / f64::from(SAMPLE_RATE);
                    // A 220 Hz tone whose pitch and loudness wander, so the
                    // encoder does real work and packet sizes vary.
                    let hz = 220.0 + 40.0 * (2.0 * PI * 0.7 * t).sin();
                    let amp = 0.3 + 0.2 * (2.0 * PI * 3.0 * t).sin().abs();
                    ((2.0 * PI * hz * t).sin() * amp * f64::from(i16::MAX)) as i16
                })
                .collect();
            let len = enc
                .encode(&pcm, &mut out)
                .map_err(|e| format!("Opus encoding: {e}"))?;
            speech.push(Arc::from(&out[..len]));
        }
        enc.set_dtx(true)
            .map_err(|e| format!("turning Opus DTX on: {e}"))?;
        let silence = vec![0i16; OPUS_FRAME_SAMPLES as usize];
        let mut comfort_noise: Option<Arc<[u8]>> = None;
        // The first frames of silence still carry the fading signal; the
        // encoder settles into DTX after a few.
        for _ in 0..30 {
            let len = enc
                .encode(&silence, &mut out)
                .map_err(|e| format!("Opus encoding: {e}"))?;
            if len > 2 {
                comfort_noise = Some(Arc::from(&out[..len]));
            }
        }
        Ok(OpusFrames {
            speech,
            comfort_noise: comfort_noise.unwrap_or_else(|| Arc::from(&[0xf8u8, 0xff, 0xfe][..])),
        })
    }
}

/// Frame sizes that average `kbps` at 30 frames a second with a keyframe
/// every `keyframe_every` frames five times the size of an interframe.
pub fn vp8_frame_sizes(kbps: u32, keyframe_every: u32) -> (usize, usize) {
    let bytes_per_sec = f64::from(kbps) * 1000.0 / 8.0;
    let per_period = bytes_per_sec * f64::from(keyframe_every) / f64::from(VIDEO_FPS);
    let inter = (per_period / f64::from(keyframe_every + 4)).max(16.0);
    (inter as usize * 5, inter as usize)
}

/// The RTP payloads of one synthetic VP8 frame: descriptor plus a slice of
/// the frame, the first with S=1, in order. The caller sets the marker on
/// the last.
pub fn vp8_frame_packets(keyframe: bool, size: usize, picture_id: u16) -> Vec<Arc<[u8]>> {
    let size = size.max(10);
    let mut frame = vec![0u8; size];
    // Frame tag (RFC 6386 §9.1): bit 0 is 0 for a keyframe, version 0,
    // show_frame 1, then the 19-bit size of the first partition.
    let first_part = (size.saturating_sub(10).min(0x7ffff)) as u32;
    let tag = u32::from(!keyframe) | (1 << 4) | (first_part << 5);
    frame[..3].copy_from_slice(&tag.to_le_bytes()[..3]);
    let mut at = 3;
    if keyframe {
        frame[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        frame[6..8].copy_from_slice(&WIDTH.to_le_bytes());
        frame[8..10].copy_from_slice(&HEIGHT.to_le_bytes());
        at = 10;
    }
    // Filler that does not compress or look like a start code.
    let mut x = 0x9e37_79b9u32 ^ u32::from(picture_id);
    for b in &mut frame[at..] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    let pid = picture_id & 0x7fff;
    frame
        .chunks(VP8_PACKET_BYTES)
        .enumerate()
        .map(|(i, chunk)| {
            let mut p = Vec::with_capacity(VP8_DESCRIPTOR_BYTES + chunk.len());
            // X=1 (extensions follow), S on the first packet, partition 0;
            // then I=1 and a 15-bit picture id (M=1).
            p.push(0x80 | if i == 0 { 0x10 } else { 0 });
            p.push(0x80);
            p.push(0x80 | (pid >> 8) as u8);
            p.push(pid as u8);
            p.extend_from_slice(chunk);
            Arc::from(p)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_frames_are_real_opus_and_dtx_gives_a_small_comfort_noise_frame() {
        let f = OpusFrames::encode().unwrap();
        assert_eq!(f.speech.len(), SPEECH_FRAMES);
        let mut dec = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono).unwrap();
        let mut pcm = vec![0i16; 5760];
        for frame in &f.speech {
            assert_eq!(dec.decode(frame, &mut pcm, false).unwrap(), 960);
        }
        assert!(f.comfort_noise.len() < f.speech[10].len());
    }

    #[test]
    fn a_synthetic_keyframe_has_a_valid_descriptor_and_frame_header() {
        let packets = vp8_frame_packets(true, 3000, 300);
        assert_eq!(packets.len(), 3);
        let first = &packets[0];
        assert_eq!(first[0], 0x90, "X and S set, partition 0");
        assert_eq!(first[1], 0x80, "I set");
        assert_eq!(u16::from_be_bytes([first[2], first[3]]) & 0x7fff, 300);
        let vp8 = &first[4..];
        assert_eq!(vp8[0] & 1, 0, "keyframe");
        assert_eq!(&vp8[3..6], &[0x9d, 0x01, 0x2a]);
        assert_eq!(u16::from_le_bytes([vp8[6], vp8[7]]), WIDTH);
        assert_eq!(packets[1][0], 0x80, "S clear after the first packet");
        let total: usize = packets.iter().map(|p| p.len() - 4).sum();
        assert_eq!(total, 3000);
        let inter = vp8_frame_packets(false, 500, 301);
        assert_eq!(inter.len(), 1);
        assert_eq!(inter[0][4] & 1, 1, "interframe");
    }

    #[test]
    fn frame_sizes_average_the_requested_bitrate() {
        let (key, inter) = vp8_frame_sizes(1000, 90);
        let bytes = key + 89 * inter;
        let kbps = bytes as f64 * 8.0 / 3.0 / 1000.0;
        assert!((kbps - 1000.0).abs() < 5.0, "{kbps}");
    }
}
