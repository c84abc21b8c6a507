//! The SFU's Prometheus metrics. Every series is created up front, one per
//! worker: the packet loop only increments atomics it alone writes, so
//! counting costs no lock and no cache line shared with another worker.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

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

/// One worker's series.
#[derive(Clone, Debug, Default)]
pub struct WorkerMetrics {
    pub rooms: Gauge,
    pub participants: Gauge,
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
    /// Time the loop spent working rather than waiting, in seconds.
    pub busy_seconds: Counter<f64, AtomicU64>,
}

impl WorkerMetrics {
    /// Registers `workers` sets of series in the node's registry.
    pub fn register(registry: &mut Registry, workers: usize) -> Vec<WorkerMetrics> {
        let sub = registry.sub_registry_with_prefix("sfu");
        let rooms = Family::<WorkerLabel, Gauge>::default();
        let participants = Family::<WorkerLabel, Gauge>::default();
        let packets_in = Family::<KindLabel, Counter>::default();
        let bytes_in = Family::<KindLabel, Counter>::default();
        let packets_out = Family::<KindLabel, Counter>::default();
        let bytes_out = Family::<KindLabel, Counter>::default();
        let dropped = Family::<DropLabel, Counter>::default();
        let keyframes = Family::<WorkerLabel, Counter>::default();
        let nacks = Family::<DirectionLabel, Counter>::default();
        let send_failures = Family::<WorkerLabel, Counter>::default();
        let busy = Family::<WorkerLabel, Counter<f64, AtomicU64>>::default();
        sub.register("rooms", "Voice channels with participants", rooms.clone());
        sub.register(
            "participants",
            "Participants in calls",
            participants.clone(),
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
}
