//! `--simulcast`: the layers a publisher sends, the quality each subscriber
//! asks the SFU for (voice op 42), and, per received track, which layer
//! arrived and whether it was the one asked for.
//!
//! A publisher sends its video as three layers, lowest first ([`LAYERS`]),
//! and the SFU forwards one of them to each subscriber. The SFU switches a
//! subscriber's layer only on a keyframe, so after asking, a track may go
//! on carrying the old layer for up to a keyframe interval. Packets are
//! therefore judged only once the track has [settled](settle): from a
//! keyframe interval plus a second after its first packet or the ask,
//! whichever came later. Which layer a packet belongs to comes from the
//! trailer the publisher wrote into its payload
//! ([`Trailer`](super::payload::Trailer)), since the SFU gives every
//! subscriber one stream whatever layer it carries.

use std::time::Duration;

use serde::Serialize;

use super::peer::TrackResult;

/// One simulcast layer of a publisher's video.
#[derive(Clone, Copy, Debug)]
pub struct Layer {
    /// Its RTP stream id (the `a=simulcast:send` list names these).
    pub rid: &'static str,
    /// Its bitrate is `--video-kbps` divided by this.
    pub kbps_divisor: u32,
    /// What its keyframes claim.
    pub dimensions: (u16, u16),
}

/// Lowest first, as the offer lists them: the SFU maps "low" to the first
/// rid of the list and "high" to the last.
pub const LAYERS: [Layer; 3] = [
    Layer {
        rid: "q",
        kbps_divisor: 4,
        dimensions: (320, 180),
    },
    Layer {
        rid: "h",
        kbps_divisor: 2,
        dimensions: (640, 360),
    },
    Layer {
        rid: "f",
        kbps_divisor: 1,
        dimensions: (1280, 720),
    },
];

/// The rid of layer `index`, `"?"` for an index no publisher sends.
pub fn rid_of(index: u8) -> &'static str {
    LAYERS.get(usize::from(index)).map_or("?", |l| l.rid)
}

/// What a subscriber asks for in op 42 (`"low"`, `"medium"`, `"high"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    Low,
    Medium,
    High,
}

impl Quality {
    /// What the SFU sends a subscriber that never asked.
    pub const DEFAULT: Quality = Quality::High;

    /// Subscriber `k` of a room (listeners counted from 0) asks for high,
    /// medium, low, high, ... so every quality is exercised in a room of
    /// three listeners.
    pub fn of_subscriber(k: usize) -> Quality {
        [Quality::High, Quality::Medium, Quality::Low][k % 3]
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Low => "low",
            Quality::Medium => "medium",
            Quality::High => "high",
        }
    }

    /// The index (lowest first) of the layer the SFU should send for this
    /// quality when the publisher sends `layers`: the first, the middle
    /// one (the lower of two), the last.
    pub fn layer(self, layers: usize) -> u8 {
        let last = layers.max(1) - 1;
        let index = match self {
            Quality::Low => 0,
            Quality::Medium => last / 2,
            Quality::High => last,
        };
        index as u8
    }
}

/// How long after its first packet (or the ask) a track's layer is
/// judged: the SFU switches on a keyframe, and without being asked for one
/// the publisher sends one every `keyframe_interval`; a second more for
/// the request and the switch to travel.
pub fn settle(keyframe_interval: Duration) -> Duration {
    keyframe_interval + Duration::from_secs(1)
}

/// The layers of one received simulcast track, packet by packet.
#[derive(Clone, Debug)]
pub struct LayerTally {
    quality: Quality,
    /// Layers the publisher sends.
    layers: usize,
    settle_nanos: u64,
    /// When packets start being judged (epoch nanoseconds), once a packet
    /// arrived.
    settles_at: Option<u64>,
    /// When the subscriber asked, if before the first packet.
    asked_at: Option<u64>,
    last_layer: Option<u8>,
    /// Judged packets, those of another layer than asked, and the
    /// payload bytes and arrival span of the judged ones.
    settled_packets: u64,
    mismatched_packets: u64,
    settled_bytes: u64,
    settled_span: Option<(u64, u64)>,
}

impl LayerTally {
    /// A track whose subscriber has not asked (yet): the default quality.
    pub fn new(layers: usize, settle: Duration) -> LayerTally {
        LayerTally {
            quality: Quality::DEFAULT,
            layers,
            settle_nanos: u64::try_from(settle.as_nanos()).unwrap_or(u64::MAX),
            settles_at: None,
            asked_at: None,
            last_layer: None,
            settled_packets: 0,
            mismatched_packets: 0,
            settled_bytes: 0,
            settled_span: None,
        }
    }

    /// The subscriber asked for `quality` of a track of `layers` at
    /// `nanos`: judging starts no earlier than a settling time later.
    pub fn ask(&mut self, quality: Quality, layers: usize, nanos: u64) {
        self.quality = quality;
        self.layers = layers;
        let from = nanos.saturating_add(self.settle_nanos);
        match &mut self.settles_at {
            Some(at) => *at = (*at).max(from),
            None => self.asked_at = Some(nanos),
        }
    }

    /// A packet of layer `layer` with `bytes` of payload arrived at
    /// `nanos`.
    pub fn on_packet(&mut self, layer: u8, bytes: usize, nanos: u64) {
        let settles_at = *self.settles_at.get_or_insert_with(|| {
            nanos
                .max(self.asked_at.unwrap_or(0))
                .saturating_add(self.settle_nanos)
        });
        self.last_layer = Some(layer);
        if nanos < settles_at {
            return;
        }
        self.settled_packets += 1;
        self.settled_bytes += bytes as u64;
        if layer != self.quality.layer(self.layers) {
            self.mismatched_packets += 1;
        }
        let span = self.settled_span.get_or_insert((nanos, nanos));
        span.0 = span.0.min(nanos);
        span.1 = span.1.max(nanos);
    }

    pub fn result(&self) -> TrackLayers {
        let kbps = self.settled_span.and_then(|(first, last)| {
            let secs = (last - first) as f64 / 1e9;
            (secs > 0.0).then(|| self.settled_bytes as f64 * 8.0 / 1000.0 / secs)
        });
        TrackLayers {
            quality_asked: self.quality,
            layer_expected: rid_of(self.quality.layer(self.layers)),
            layer_received: self.last_layer.map(rid_of),
            kbps,
            settled_packets: self.settled_packets,
            mismatched_packets: self.mismatched_packets,
        }
    }
}

/// Per received simulcast track, in the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrackLayers {
    /// What the subscriber asked for ("high" if it never did).
    pub quality_asked: Quality,
    /// The rid that quality maps to.
    pub layer_expected: &'static str,
    /// The rid of the last packet that arrived.
    pub layer_received: Option<&'static str>,
    /// Payload kbps over the packets judged.
    pub kbps: Option<f64>,
    /// Packets that arrived once the track had settled.
    pub settled_packets: u64,
    /// Of those, packets of another layer than the one asked for.
    pub mismatched_packets: u64,
}

/// Received simulcast tracks of one quality asked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QualityReport {
    pub quality: Quality,
    /// The rid it maps to.
    pub layer_expected: &'static str,
    pub tracks: u64,
    /// Mean over the tracks of their received kbps.
    pub kbps_mean: Option<f64>,
    /// Tracks whose judged packets were all of the layer asked for.
    pub matched: u64,
    /// Tracks with a judged packet of another layer.
    pub mismatched: u64,
    pub mismatched_packets: u64,
}

/// `--simulcast`'s figures: per quality asked, what arrived.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SimulcastReport {
    /// A track's packets are judged from this long after its first packet
    /// or its ask.
    pub settle_secs: f64,
    /// Low, medium, high; only the qualities some track asked for.
    pub qualities: Vec<QualityReport>,
}

impl SimulcastReport {
    /// Over the tracks of the run's own publishers.
    pub fn from_tracks<'a>(
        tracks: impl Iterator<Item = &'a TrackResult>,
        settle: Duration,
    ) -> SimulcastReport {
        let mut qualities: Vec<(QualityReport, Vec<f64>)> = Vec::new();
        for (l, _) in tracks
            .filter(|t| t.publisher.is_some())
            .filter_map(|t| t.simulcast.as_ref().map(|l| (l, t)))
        {
            let i = match qualities
                .iter()
                .position(|(q, _)| q.quality == l.quality_asked)
            {
                Some(i) => i,
                None => {
                    qualities.push((
                        QualityReport {
                            quality: l.quality_asked,
                            layer_expected: l.layer_expected,
                            tracks: 0,
                            kbps_mean: None,
                            matched: 0,
                            mismatched: 0,
                            mismatched_packets: 0,
                        },
                        Vec::new(),
                    ));
                    qualities.len() - 1
                }
            };
            let (q, kbps) = &mut qualities[i];
            q.tracks += 1;
            q.mismatched_packets += l.mismatched_packets;
            if l.mismatched_packets > 0 {
                q.mismatched += 1;
            } else if l.settled_packets > 0 {
                q.matched += 1;
            }
            kbps.extend(l.kbps);
        }
        let mut qualities: Vec<QualityReport> = qualities
            .into_iter()
            .map(|(mut q, kbps)| {
                q.kbps_mean =
                    (!kbps.is_empty()).then(|| kbps.iter().sum::<f64>() / kbps.len() as f64);
                q
            })
            .collect();
        qualities.sort_by_key(|q| q.quality);
        SimulcastReport {
            settle_secs: settle.as_secs_f64(),
            qualities,
        }
    }

    /// Tracks that received another layer than they asked for.
    pub fn mismatched_tracks(&self) -> u64 {
        self.qualities.iter().map(|q| q.mismatched).sum()
    }

    /// Tracks that never settled: nothing arrived long enough after they
    /// asked to judge (a run too short, or a track that stopped).
    pub fn unjudged_tracks(&self) -> u64 {
        self.qualities
            .iter()
            .map(|q| q.tracks - q.matched - q.mismatched)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn qualities_map_to_the_first_middle_and_last_layer() {
        assert_eq!(
            [Quality::Low, Quality::Medium, Quality::High].map(|q| rid_of(q.layer(3))),
            ["q", "h", "f"]
        );
        assert_eq!(Quality::High.layer(1), 0);
        assert_eq!(Quality::Medium.layer(1), 0);
        assert_eq!(Quality::Low.layer(2), 0);
        assert_eq!(Quality::Medium.layer(2), 0);
        assert_eq!(Quality::High.layer(2), 1);
        assert_eq!(
            (0..4).map(Quality::of_subscriber).collect::<Vec<_>>(),
            [Quality::High, Quality::Medium, Quality::Low, Quality::High]
        );
        assert_eq!(serde_json::to_value(Quality::Medium).unwrap(), "medium");
    }

    #[test]
    fn the_old_layer_is_forgiven_until_the_track_settles() {
        let mut t = LayerTally::new(3, Duration::from_millis(100));
        t.ask(Quality::Low, 3, 0);
        // The SFU goes on with the default (high) until a keyframe...
        for i in 0..5 {
            t.on_packet(2, 1000, 10 * MS + i * 10 * MS);
        }
        // ...then switches.
        for i in 0..10 {
            t.on_packet(0, 250, 60 * MS + i * 10 * MS);
        }
        let r = t.result();
        assert_eq!(r.quality_asked, Quality::Low);
        assert_eq!((r.layer_expected, r.layer_received), ("q", Some("q")));
        // Judged from 110 ms (first packet at 10 ms + 100 ms): 110..=150.
        assert_eq!((r.settled_packets, r.mismatched_packets), (5, 0));
        // 5 × 250 bytes over 40 ms.
        assert!((r.kbps.unwrap() - 250.0).abs() < 1e-9, "{:?}", r.kbps);
    }

    #[test]
    fn another_layer_after_settling_is_a_mismatch() {
        let mut t = LayerTally::new(3, Duration::from_millis(100));
        for i in 0..30 {
            t.on_packet(1, 500, i * 10 * MS);
        }
        // Never asked: the default is high, and medium arrived.
        let r = t.result();
        assert_eq!(r.quality_asked, Quality::High);
        assert_eq!((r.layer_expected, r.layer_received), ("f", Some("h")));
        assert_eq!((r.settled_packets, r.mismatched_packets), (20, 20));
    }

    #[test]
    fn a_late_ask_restarts_the_settling_time() {
        let mut t = LayerTally::new(3, Duration::from_millis(100));
        t.on_packet(2, 500, 0);
        t.ask(Quality::Medium, 3, 50 * MS);
        t.on_packet(2, 500, 120 * MS); // settles at 150 ms
        t.on_packet(1, 500, 160 * MS);
        assert_eq!(
            (t.result().settled_packets, t.result().mismatched_packets),
            (1, 0)
        );
        // An ask before the first packet counts from the ask.
        let mut t = LayerTally::new(3, Duration::from_millis(100));
        t.ask(Quality::Low, 3, 0);
        t.on_packet(2, 500, 50 * MS); // settles at 150 ms
        t.on_packet(2, 500, 140 * MS);
        assert_eq!(t.result().settled_packets, 0);
    }

    fn track(subscriber: usize, layers: Option<TrackLayers>) -> TrackResult {
        TrackResult {
            subscriber,
            publisher: Some(0),
            kind: "video",
            packets: 10,
            duplicates: 0,
            expected: 10,
            lost: 0,
            jitter_ms: 0.0,
            latency_mean_ms: None,
            latency_max_ms: None,
            simulcast: layers,
        }
    }

    #[test]
    fn the_report_counts_tracks_per_quality_asked() {
        let layers = |q: Quality, received: &'static str, settled, mismatched, kbps| {
            Some(TrackLayers {
                quality_asked: q,
                layer_expected: rid_of(q.layer(3)),
                layer_received: Some(received),
                kbps,
                settled_packets: settled,
                mismatched_packets: mismatched,
            })
        };
        let tracks = [
            track(1, layers(Quality::High, "f", 10, 0, Some(1000.0))),
            track(2, layers(Quality::Low, "q", 10, 0, Some(200.0))),
            track(3, layers(Quality::Low, "f", 10, 10, Some(1000.0))),
            track(4, layers(Quality::Low, "q", 0, 0, None)),
            track(5, None),
        ];
        let r = SimulcastReport::from_tracks(tracks.iter(), Duration::from_secs(4));
        assert_eq!(r.settle_secs, 4.0);
        let low = &r.qualities[0];
        assert_eq!(low.quality, Quality::Low);
        assert_eq!(low.layer_expected, "q");
        assert_eq!(
            (
                low.tracks,
                low.matched,
                low.mismatched,
                low.mismatched_packets
            ),
            (3, 1, 1, 10)
        );
        assert_eq!(low.kbps_mean, Some(600.0));
        assert_eq!(r.qualities[1].quality, Quality::High);
        assert_eq!((r.qualities[1].tracks, r.qualities[1].matched), (1, 1));
        assert_eq!(r.mismatched_tracks(), 1);
        assert_eq!(r.unjudged_tracks(), 1);
    }
}
