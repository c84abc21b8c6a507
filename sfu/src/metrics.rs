//! The SFU's Prometheus metrics. Every series is created up front, one per
//! worker: the packet loop only increments atomics it alone writes, so
//! counting costs no lock and no cache line shared with another worker.

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerLabel {
    worker: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    worker: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabel {
    worker: String,
    direction: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DropLabel {
    worker: String,
    reason: String,
}

/// Counters by media kind: `[audio, video]`.
#[derive(Clone, Debug, Default)]
pub struct ByKind(pub [Counter; 2]);

impl ByKind {
    pub fn inc_by(&self, video: bool, n: u64) {
        self.0[usize::from(video)].inc_by(n);
    }
}

/// Upper bounds of the forwarding-delay buckets, in seconds.
const DELAY_BOUNDS: [f64; 12] = [
    25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3,
];

/// A histogram of durations the packet loop fills with atomic adds only
/// (prometheus-client's own histogram takes a lock the scraper shares).
#[derive(Clone, Debug, Default)]
pub struct DelayHistogram(Arc<DelayCounts>);

#[derive(Debug, Default)]
struct DelayCounts {
    /// Per bucket, not cumulative; the last is above every bound.
    buckets: [AtomicU64; DELAY_BOUNDS.len() + 1],
    sum_nanos: AtomicU64,
}

impl DelayHistogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = DELAY_BOUNDS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(DELAY_BOUNDS.len());
        self.0.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.0
            .sum_nanos
            .fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    /// (sum in seconds, count, per-bucket counts) as the encoder takes
    /// them: it makes them cumulative, and `f64::MAX` is its `+Inf`.
    fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let buckets: Vec<(f64, u64)> = self
            .0
            .buckets
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let bound = DELAY_BOUNDS.get(i).copied().unwrap_or(f64::MAX);
                (bound, n.load(Ordering::Relaxed))
            })
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = self.0.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        (sum, count, buckets)
    }
}

impl TypedMetric for DelayHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for DelayHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let (sum, count, buckets) = self.snapshot();
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// One worker's series.
#[derive(Clone, Debug, Default)]
pub struct WorkerMetrics {
    pub rooms: Gauge,
    pub participants: Gauge,
    /// Source addresses routed to a participant.
    pub routes: Gauge,
    /// Binding requests from new addresses refused because their
    /// participant had used up its addresses.
    pub routes_refused: Counter,
    pub packets_in: ByKind,
    pub bytes_in: ByKind,
    pub packets_out: ByKind,
    pub bytes_out: ByKind,
    /// Why packets were not forwarded: muted (or no SPEAK), unknown track.
    pub dropped_muted: Counter,
    pub dropped_unknown: Counter,
    /// Keyframe requests relayed to publishers (after throttling).
    pub keyframe_requests: Counter,
    /// NACKs received from subscribers (answered from str0m's send cache).
    pub nacks_received: Counter,
    /// NACKs sent to publishers for packets that did not arrive.
    pub nacks_sent: Counter,
    /// Datagrams the socket would not take (buffer full, peer unreachable).
    pub send_failures: Counter,
    /// From a batch of datagrams leaving the socket to the copies they
    /// caused being handed to the kernel: the delay forwarding adds.
    pub forward_delay: DelayHistogram,
    /// Wall time the loop spent working rather than waiting, in seconds
    /// (time it was runnable but not scheduled counts too).
    pub busy_seconds: Counter<f64, AtomicU64>,
}

impl WorkerMetrics {
    /// Registers `workers` sets of series in the node's registry.
    pub fn register(registry: &mut Registry, workers: usize) -> Vec<WorkerMetrics> {
        let sub = registry.sub_registry_with_prefix("sfu");
        let rooms = Family::<WorkerLabel, Gauge>::default();
        let participants = Family::<WorkerLabel, Gauge>::default();
        let routes = Family::<WorkerLabel, Gauge>::default();
        let routes_refused = Family::<WorkerLabel, Counter>::default();
        let packets_in = Family::<KindLabel, Counter>::default();
        let bytes_in = Family::<KindLabel, Counter>::default();
        let packets_out = Family::<KindLabel, Counter>::default();
        let bytes_out = Family::<KindLabel, Counter>::default();
        let dropped = Family::<DropLabel, Counter>::default();
        let keyframes = Family::<WorkerLabel, Counter>::default();
        let nacks = Family::<DirectionLabel, Counter>::default();
        let send_failures = Family::<WorkerLabel, Counter>::default();
        let busy = Family::<WorkerLabel, Counter<f64, AtomicU64>>::default();
        let delay = Family::<WorkerLabel, DelayHistogram>::default();
        sub.register("rooms", "Voice channels with participants", rooms.clone());
        sub.register(
            "participants",
            "Participants in calls",
            participants.clone(),
        );
        sub.register(
            "routes",
            "Source addresses routed to a participant (at most voice_max_routes each)",
            routes.clone(),
        );
        sub.register(
            "routes_refused",
            "Binding requests from new addresses refused: the participant had tried voice_max_new_routes",
            routes_refused.clone(),
        );
        sub.register(
            "rtp_packets_in",
            "RTP packets received from publishers",
            packets_in.clone(),
        );
        sub.register(
            "rtp_bytes_in",
            "RTP payload bytes received from publishers",
            bytes_in.clone(),
        );
        sub.register(
            "rtp_packets_out",
            "RTP packets forwarded to subscribers",
            packets_out.clone(),
        );
        sub.register(
            "rtp_bytes_out",
            "RTP payload bytes forwarded to subscribers",
            bytes_out.clone(),
        );
        sub.register(
            "rtp_packets_dropped",
            "RTP packets not forwarded, by reason",
            dropped.clone(),
        );
        sub.register(
            "keyframe_requests",
            "Keyframe requests (PLI/FIR) relayed to publishers",
            keyframes.clone(),
        );
        sub.register(
            "nacks",
            "NACKs received from subscribers (direction=received) and sent to publishers (direction=sent)",
            nacks.clone(),
        );
        sub.register(
            "send_failures",
            "Datagrams the media socket would not take",
            send_failures.clone(),
        );
        sub.register(
            "forward_delay_seconds",
            "Per receive batch: from taking the datagrams off the socket to sending the copies they caused",
            delay.clone(),
        );
        sub.register(
            "worker_busy_seconds",
            "Time each worker loop spent working",
            busy.clone(),
        );
        (0..workers)
            .map(|i| {
                let w = || WorkerLabel {
                    worker: i.to_string(),
                };
                let k = |kind: &str| KindLabel {
                    worker: i.to_string(),
                    kind: kind.to_owned(),
                };
                let d = |reason: &str| DropLabel {
                    worker: i.to_string(),
                    reason: reason.to_owned(),
                };
                // One get_or_create per statement: each returns a read guard,
                // and a second creation in the same expression would wait on it.
                let by_kind = |f: &Family<KindLabel, Counter>| {
                    let audio = f.get_or_create(&k("audio")).clone();
                    let video = f.get_or_create(&k("video")).clone();
                    ByKind([audio, video])
                };
                let n = |direction: &str| DirectionLabel {
                    worker: i.to_string(),
                    direction: direction.to_owned(),
                };
                let nacks_received = nacks.get_or_create(&n("received")).clone();
                let nacks_sent = nacks.get_or_create(&n("sent")).clone();
                let dropped_muted = dropped.get_or_create(&d("muted")).clone();
                let dropped_unknown = dropped.get_or_create(&d("unknown_track")).clone();
                WorkerMetrics {
                    rooms: rooms.get_or_create(&w()).clone(),
                    participants: participants.get_or_create(&w()).clone(),
                    routes: routes.get_or_create(&w()).clone(),
                    routes_refused: routes_refused.get_or_create(&w()).clone(),
                    packets_in: by_kind(&packets_in),
                    bytes_in: by_kind(&bytes_in),
                    packets_out: by_kind(&packets_out),
                    bytes_out: by_kind(&bytes_out),
                    dropped_muted,
                    dropped_unknown,
                    keyframe_requests: keyframes.get_or_create(&w()).clone(),
                    nacks_received,
                    nacks_sent,
                    send_failures: send_failures.get_or_create(&w()).clone(),
                    forward_delay: delay.get_or_create(&w()).clone(),
                    busy_seconds: busy.get_or_create(&w()).clone(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn every_worker_gets_its_own_series() {
        let mut registry = Registry::default();
        let workers = WorkerMetrics::register(&mut registry, 2);
        workers[1].packets_out.inc_by(true, 3);
        workers[0].dropped_muted.inc();
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(
            text.contains(r#"sfu_rtp_packets_out_total{worker="1",kind="video"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(r#"sfu_rtp_packets_dropped_total{worker="0",reason="muted"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn forwarding_delays_land_in_cumulative_buckets() {
        let mut registry = Registry::default();
        let workers = WorkerMetrics::register(&mut registry, 1);
        let delay = &workers[0].forward_delay;
        delay.observe(Duration::from_micros(40));
        delay.observe(Duration::from_micros(700));
        delay.observe(Duration::from_secs(1));
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for line in [
            r#"sfu_forward_delay_seconds_bucket{le="0.000025",worker="0"} 0"#,
            r#"sfu_forward_delay_seconds_bucket{le="0.00005",worker="0"} 1"#,
            r#"sfu_forward_delay_seconds_bucket{le="0.0005",worker="0"} 1"#,
            r#"sfu_forward_delay_seconds_bucket{le="0.001",worker="0"} 2"#,
            r#"sfu_forward_delay_seconds_bucket{le="0.1",worker="0"} 2"#,
            r#"sfu_forward_delay_seconds_bucket{le="+Inf",worker="0"} 3"#,
            r#"sfu_forward_delay_seconds_count{worker="0"} 3"#,
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }
}
