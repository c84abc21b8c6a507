//! What publishers send: real Opus, encoded once at start and replayed, and
//! synthetic VP8 RTP payloads at a requested bitrate.
//!
//! The SFU forwards without decoding, so video needs no encoder: a VP8
//! payload is a correct RFC 7741 payload descriptor (with a 15-bit picture
//! id), a correct frame tag (the keyframe bit, the keyframe start code and
//! dimensions) and filler bytes to the size the bitrate asks for.
//!
//! A simulcast layer's packets end in a [`Trailer`]: which layer, the
//! publisher's sequence number on it and when it was sent. The SFU renumbers
//! and retimes a simulcast track for each subscriber (it switches layers
//! under them), but forwards payload bytes as they came, so the trailer is
//! what tells a subscriber which layer arrived and how late.

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
/// The dimensions a synthetic keyframe of a single-layer track claims.
pub const DIMENSIONS: (u16, u16) = (640, 360);

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

/// One synthetic VP8 frame to packetize.
#[derive(Clone, Copy, Debug)]
pub struct Vp8Frame {
    pub keyframe: bool,
    /// Frame bytes (descriptors and trailers come on top).
    pub size: usize,
    pub picture_id: u16,
    /// What a keyframe's header claims.
    pub dimensions: (u16, u16),
    /// Leave [`TRAILER_BYTES`] at the end of every packet for a [`Trailer`].
    pub trailer: bool,
}

/// The RTP payloads of one synthetic VP8 frame: descriptor plus a slice of
/// the frame (plus room for a trailer), the first with S=1, in order. The
/// caller sets the marker on the last, and writes the trailers.
pub fn vp8_frame_packets(f: &Vp8Frame) -> Vec<Vec<u8>> {
    let size = f.size.max(10);
    let mut frame = vec![0u8; size];
    // Frame tag (RFC 6386 §9.1): bit 0 is 0 for a keyframe, version 0,
    // show_frame 1, then the 19-bit size of the first partition.
    let first_part = (size.saturating_sub(10).min(0x7ffff)) as u32;
    let tag = u32::from(!f.keyframe) | (1 << 4) | (first_part << 5);
    frame[..3].copy_from_slice(&tag.to_le_bytes()[..3]);
    let mut at = 3;
    if f.keyframe {
        let (width, height) = f.dimensions;
        frame[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        frame[6..8].copy_from_slice(&width.to_le_bytes());
        frame[8..10].copy_from_slice(&height.to_le_bytes());
        at = 10;
    }
    // Filler that does not compress or look like a start code.
    let mut x = 0x9e37_79b9u32 ^ u32::from(f.picture_id);
    for b in &mut frame[at..] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    let pid = f.picture_id & 0x7fff;
    let (chunk_bytes, trailer_bytes) = if f.trailer {
        (VP8_PACKET_BYTES - TRAILER_BYTES, TRAILER_BYTES)
    } else {
        (VP8_PACKET_BYTES, 0)
    };
    frame
        .chunks(chunk_bytes)
        .enumerate()
        .map(|(i, chunk)| {
            let mut p = Vec::with_capacity(VP8_DESCRIPTOR_BYTES + chunk.len() + trailer_bytes);
            // X=1 (extensions follow), S on the first packet, partition 0;
            // then I=1 and a 15-bit picture id (M=1).
            p.push(0x80 | if i == 0 { 0x10 } else { 0 });
            p.push(0x80);
            p.push(0x80 | (pid >> 8) as u8);
            p.push(pid as u8);
            p.extend_from_slice(chunk);
            p.resize(p.len() + trailer_bytes, 0);
            p
        })
        .collect()
}

/// Marks a payload that ends in a [`Trailer`]. Filler matches it by chance
/// once in 2^32 packets.
const TRAILER_MAGIC: [u8; 4] = *b"HLsc";
/// Magic, layer, sequence number, send time.
pub const TRAILER_BYTES: usize = 4 + 1 + 2 + 8;

/// What the last [`TRAILER_BYTES`] of a simulcast layer's packet say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trailer {
    /// Index in the publisher's layers, lowest first.
    pub layer: u8,
    /// The publisher's sequence number on that layer.
    pub seq: u16,
    /// When the publisher wrote the packet, in nanoseconds since the run's
    /// epoch ([`Epoch`](super::accounting::Epoch)).
    pub sent_nanos: u64,
}

impl Trailer {
    /// Writes the trailer over the last [`TRAILER_BYTES`] of `payload`
    /// (which [`vp8_frame_packets`] left for it).
    pub fn write(&self, payload: &mut [u8]) {
        let Some(start) = payload.len().checked_sub(TRAILER_BYTES) else {
            return;
        };
        let t = &mut payload[start..];
        t[..4].copy_from_slice(&TRAILER_MAGIC);
        t[4] = self.layer;
        t[5..7].copy_from_slice(&self.seq.to_be_bytes());
        t[7..].copy_from_slice(&self.sent_nanos.to_be_bytes());
    }

    /// The trailer a payload ends in, if it has one.
    pub fn read(payload: &[u8]) -> Option<Trailer> {
        let start = payload.len().checked_sub(TRAILER_BYTES)?;
        let t = &payload[start..];
        if t[..4] != TRAILER_MAGIC {
            return None;
        }
        Some(Trailer {
            layer: t[4],
            seq: u16::from_be_bytes([t[5], t[6]]),
            sent_nanos: u64::from_be_bytes([t[7], t[8], t[9], t[10], t[11], t[12], t[13], t[14]]),
        })
    }
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
        let packets = vp8_frame_packets(&Vp8Frame {
            keyframe: true,
            size: 3000,
            picture_id: 300,
            dimensions: DIMENSIONS,
            trailer: false,
        });
        assert_eq!(packets.len(), 3);
        let first = &packets[0];
        assert_eq!(first[0], 0x90, "X and S set, partition 0");
        assert_eq!(first[1], 0x80, "I set");
        assert_eq!(u16::from_be_bytes([first[2], first[3]]) & 0x7fff, 300);
        let vp8 = &first[4..];
        assert_eq!(vp8[0] & 1, 0, "keyframe");
        assert_eq!(&vp8[3..6], &[0x9d, 0x01, 0x2a]);
        assert_eq!(u16::from_le_bytes([vp8[6], vp8[7]]), DIMENSIONS.0);
        assert_eq!(u16::from_le_bytes([vp8[8], vp8[9]]), DIMENSIONS.1);
        assert_eq!(packets[1][0], 0x80, "S clear after the first packet");
        let total: usize = packets.iter().map(|p| p.len() - 4).sum();
        assert_eq!(total, 3000);
        let inter = vp8_frame_packets(&Vp8Frame {
            keyframe: false,
            size: 500,
            picture_id: 301,
            dimensions: DIMENSIONS,
            trailer: false,
        });
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

    #[test]
    fn every_packet_of_a_simulcast_frame_carries_its_trailer_after_the_frame() {
        let f = Vp8Frame {
            keyframe: true,
            size: 2500,
            picture_id: 7,
            dimensions: (1280, 720),
            trailer: true,
        };
        let mut packets = vp8_frame_packets(&f);
        assert_eq!(packets.len(), 3);
        for (i, p) in packets.iter_mut().enumerate() {
            assert!(
                p.len() <= VP8_DESCRIPTOR_BYTES + VP8_PACKET_BYTES,
                "{}",
                p.len()
            );
            assert_eq!(Trailer::read(p), None, "room left, nothing written yet");
            let t = Trailer {
                layer: 2,
                seq: 65_535 - i as u16,
                sent_nanos: 1 << 40 | i as u64,
            };
            t.write(p);
            assert_eq!(Trailer::read(p), Some(t));
        }
        // The frame itself is intact: its header, and its size without
        // descriptors and trailers.
        assert_eq!(&packets[0][10..12], &1280u16.to_le_bytes());
        let frame: usize = packets
            .iter()
            .map(|p| p.len() - VP8_DESCRIPTOR_BYTES - TRAILER_BYTES)
            .sum();
        assert_eq!(frame, 2500);
    }

    #[test]
    fn a_payload_without_the_magic_has_no_trailer() {
        assert_eq!(Trailer::read(&[0u8; 40]), None);
        assert_eq!(Trailer::read(&TRAILER_MAGIC), None, "too short");
        let mut p = vec![0xaa; 20];
        Trailer {
            layer: 0,
            seq: 1,
            sent_nanos: 2,
        }
        .write(&mut p);
        assert!(Trailer::read(&p).is_some());
        p[20 - TRAILER_BYTES] ^= 1; // a byte of the magic
        assert_eq!(Trailer::read(&p), None);
    }
}
