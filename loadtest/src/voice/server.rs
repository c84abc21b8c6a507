//! The server's side of a voice run: its `/metrics` counters (packets the
//! SFU received and forwarded, time its workers were busy), the SFU's
//! forwarding-delay histogram and, given its pid, its CPU time and memory
//! from `/proc`, each read before and after the measured phase.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::system::ProcSample;

/// One reading of `/metrics`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scrape {
    /// Every metric summed over its series (all workers, both kinds).
    pub sums: BTreeMap<String, f64>,
    /// Every histogram's buckets (`name_bucket` series) summed over their
    /// series, by the histogram's name: summing over labels would lose `le`.
    pub histograms: BTreeMap<String, Histogram>,
}

impl Scrape {
    /// Parses Prometheus/OpenMetrics text: `name{labels} value`.
    pub fn parse(text: &str) -> Scrape {
        let mut sums = BTreeMap::new();
        let mut histograms: BTreeMap<String, Histogram> = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, labels, rest) = match line.find('{') {
                Some(i) => {
                    let close = line[i..].find('}').map_or(line.len(), |j| i + j + 1);
                    (&line[..i], &line[i..close], &line[close..])
                }
                None => match line.split_once(' ') {
                    Some((n, r)) => (n, "", r),
                    None => continue,
                },
            };
            let Some(value) = rest
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
            else {
                continue;
            };
            *sums.entry(name.to_string()).or_insert(0.0) += value;
            if let (Some(histogram), Some(bound)) =
                (name.strip_suffix("_bucket"), bucket_bound(labels))
            {
                histograms
                    .entry(histogram.to_string())
                    .or_default()
                    .add(bound, value);
            }
        }
        Scrape { sums, histograms }
    }

    /// The metric `name`, also under a registry prefix (the node
    /// registers the SFU's series as `hearth_sfu_...`).
    pub fn get(&self, name: &str) -> f64 {
        self.find(name).unwrap_or(0.0)
    }

    fn find(&self, name: &str) -> Option<f64> {
        let suffix = format!("_{name}");
        let mut found = None;
        for (k, v) in &self.sums {
            if k == name || k.ends_with(&suffix) {
                *found.get_or_insert(0.0) += v;
            }
        }
        found
    }

    pub fn has_sfu(&self) -> bool {
        self.find(PACKETS_OUT).is_some()
    }

    /// The histogram `name`, also under a registry prefix, as [`Self::get`].
    pub fn histogram(&self, name: &str) -> Option<Histogram> {
        let suffix = format!("_{name}");
        let mut found: Option<Histogram> = None;
        for (k, h) in &self.histograms {
            if k == name || k.ends_with(&suffix) {
                let sum = found.get_or_insert_with(Histogram::default);
                for &(bound, count) in &h.0 {
                    sum.add(bound, count);
                }
            }
        }
        found
    }
}

/// The `le` label's value of a bucket series (`{...}`), `+Inf` as infinity.
fn bucket_bound(labels: &str) -> Option<f64> {
    let start = ["{le=\"", ",le=\""].iter().find_map(|l| labels.find(l))? + 5;
    let len = labels[start..].find('"')?;
    match &labels[start..start + len] {
        "+Inf" => Some(f64::INFINITY),
        v => v.parse().ok(),
    }
}

/// A Prometheus histogram's cumulative buckets: (upper bound, observations
/// at or below it), ascending, the last normally `+Inf` (every observation).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram(pub Vec<(f64, f64)>);

impl Histogram {
    /// Adds `count` to the bucket ending at `bound`, making it if need be.
    fn add(&mut self, bound: f64, count: f64) {
        match self.0.iter_mut().find(|(b, _)| *b == bound) {
            Some((_, c)) => *c += count,
            None => {
                self.0.push((bound, count));
                self.0.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
    }

    /// What was observed after `before` was read: bucket by bucket, the
    /// counts' difference (a bucket `before` lacks counted from 0).
    pub fn since(&self, before: &Histogram) -> Histogram {
        Histogram(
            self.0
                .iter()
                .map(|&(bound, count)| {
                    let earlier = before
                        .0
                        .iter()
                        .find(|(b, _)| *b == bound)
                        .map_or(0.0, |(_, c)| *c);
                    (bound, (count - earlier).max(0.0))
                })
                .collect(),
        )
    }

    /// Every observation: the last (`+Inf`) bucket.
    pub fn count(&self) -> u64 {
        self.0.last().map_or(0, |(_, c)| *c as u64)
    }

    /// The `q` quantile at bucket resolution: the upper bound of the first
    /// bucket that holds at least `q` of the observations. A bucket says
    /// nothing of where within it an observation fell, so its bound is
    /// what can be said; None without observations.
    pub fn quantile_bound(&self, q: f64) -> Option<f64> {
        let total = self.0.last()?.1;
        if total <= 0.0 {
            return None;
        }
        self.0
            .iter()
            .find(|(_, c)| *c >= q * total)
            .map(|(bound, _)| *bound)
    }

    /// The largest finite bound: what an observation in `+Inf` exceeds.
    fn last_finite_bound(&self) -> Option<f64> {
        self.0.iter().rev().map(|(b, _)| *b).find(|b| b.is_finite())
    }
}

/// Where a percentile of the SFU's forwarding delay lies, at the
/// resolution of its buckets.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DelayBound {
    /// In the bucket ending here: at most this many ms.
    AtMostMs(f64),
    /// In the open top bucket: above its last finite bound, in ms.
    AboveMs(f64),
}

impl DelayBound {
    fn of(histogram: &Histogram, q: f64) -> Option<DelayBound> {
        // To the nanosecond: the SFU's bounds are whole microseconds, and
        // this keeps 25e-6 s from printing as 0.025000000000000001 ms.
        let ms = |secs: f64| (secs * 1e9).round() / 1e6;
        let bound = histogram.quantile_bound(q)?;
        Some(if bound.is_finite() {
            DelayBound::AtMostMs(ms(bound))
        } else {
            DelayBound::AboveMs(ms(histogram.last_finite_bound().unwrap_or(0.0)))
        })
    }
}

impl fmt::Display for DelayBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DelayBound::AtMostMs(ms) => write!(f, "≤ {ms} ms"),
            DelayBound::AboveMs(ms) => write!(f, "> {ms} ms"),
        }
    }
}

/// The delay the SFU added to forwarding over the window, from its own
/// histogram: per receive batch, from taking the datagrams off the socket
/// to handing the copies they caused to the kernel.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ForwardDelay {
    /// Receive batches the SFU's workers handled over the window.
    pub batches: u64,
    /// None when there was no batch.
    pub p50: Option<DelayBound>,
    pub p99: Option<DelayBound>,
}

/// The forwarding delay in words, for the end table and the HTML page:
/// "not measured" where there was no histogram, never a zero.
pub fn forward_delay_summary(delay: Option<&ForwardDelay>) -> String {
    match delay {
        None => "not measured (no forwarding-delay histogram on /metrics)".into(),
        Some(ForwardDelay {
            batches,
            p50: Some(p50),
            p99: Some(p99),
        }) => format!("p50 {p50}, p99 {p99} per receive batch ({batches} batches, bucket bounds)"),
        Some(_) => "no receive batches in the window".into(),
    }
}

impl ForwardDelay {
    fn between(before: &Histogram, after: &Histogram) -> ForwardDelay {
        let window = after.since(before);
        ForwardDelay {
            batches: window.count(),
            p50: DelayBound::of(&window, 0.5),
            p99: DelayBound::of(&window, 0.99),
        }
    }
}

const PACKETS_IN: &str = "sfu_rtp_packets_in_total";
const PACKETS_OUT: &str = "sfu_rtp_packets_out_total";
const DROPPED: &str = "sfu_rtp_packets_dropped_total";
const BUSY: &str = "sfu_worker_busy_seconds_total";
const KEYFRAMES: &str = "sfu_keyframe_requests_total";
const FORWARD_DELAY: &str = "sfu_forward_delay_seconds";

/// The server over the measured phase.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServerReport {
    pub window_secs: f64,
    /// From /metrics (absent if the server exposes no SFU series).
    pub rtp_packets_in: Option<u64>,
    pub rtp_packets_forwarded: Option<u64>,
    /// Who counted the forwarded packets: "server" (its /metrics) or
    /// "subscribers" (what our subscribers received, for a server without
    /// metrics, such as Janus).
    pub forwarded_counted_by: Option<String>,
    pub rtp_packets_dropped: Option<u64>,
    pub keyframe_requests: Option<u64>,
    pub forwarded_per_sec: Option<f64>,
    /// Sum over SFU workers of the time their loops spent working.
    pub worker_busy_secs: Option<f64>,
    pub worker_busy_us_per_forwarded_packet: Option<f64>,
    /// From /proc, with --server-pid: the whole process (gateway included).
    pub process_cpu_secs: Option<f64>,
    pub process_cpu_percent: Option<f64>,
    pub process_cpu_us_per_forwarded_packet: Option<f64>,
    pub rss_start_kib: Option<u64>,
    pub rss_end_kib: Option<u64>,
    /// From the SFU's histogram on /metrics; None (not measured) for a
    /// server without it, such as Janus.
    pub forward_delay: Option<ForwardDelay>,
    /// The difference of every SFU series (summed over labels) over the
    /// window, by name: whatever the SFU counts (NACKs, send failures...)
    /// without this tool having to know it.
    pub sfu_counters: BTreeMap<String, f64>,
}

impl ServerReport {
    pub fn between(
        window_secs: f64,
        before: Option<&Scrape>,
        after: Option<&Scrape>,
        proc_before: Option<&ProcSample>,
        proc_after: Option<&ProcSample>,
    ) -> ServerReport {
        let mut r = ServerReport {
            window_secs,
            ..ServerReport::default()
        };
        if let (Some(a), Some(b)) = (before, after) {
            if b.has_sfu() {
                let d = |n: &str| (b.get(n) - a.get(n)).max(0.0);
                let out = d(PACKETS_OUT);
                r.rtp_packets_in = Some(d(PACKETS_IN) as u64);
                r.rtp_packets_forwarded = Some(out as u64);
                r.forwarded_counted_by = Some("server".into());
                r.rtp_packets_dropped = Some(d(DROPPED) as u64);
                r.keyframe_requests = Some(d(KEYFRAMES) as u64);
                r.forwarded_per_sec = (window_secs > 0.0).then(|| out / window_secs);
                r.sfu_counters = b
                    .sums
                    .iter()
                    .filter(|(k, _)| k.contains("sfu_") && k.ends_with("_total"))
                    .map(|(k, v)| (k.clone(), v - a.sums.get(k).copied().unwrap_or(0.0)))
                    .collect();
                if b.find(BUSY).is_some() {
                    let busy = d(BUSY);
                    r.worker_busy_secs = Some(busy);
                    r.worker_busy_us_per_forwarded_packet = (out > 0.0).then(|| busy * 1e6 / out);
                }
                if let Some(delay_after) = b.histogram(FORWARD_DELAY) {
                    let delay_before = a.histogram(FORWARD_DELAY).unwrap_or_default();
                    r.forward_delay = Some(ForwardDelay::between(&delay_before, &delay_after));
                }
            }
        }
        if let (Some(a), Some(b)) = (proc_before, proc_after) {
            let cpu = (b.cpu_secs - a.cpu_secs).max(0.0);
            r.process_cpu_secs = Some(cpu);
            r.process_cpu_percent = Some(b.cpu_percent_since(a));
            r.rss_start_kib = Some(a.rss_kib);
            r.rss_end_kib = Some(b.rss_kib);
            r.process_cpu_us_per_forwarded_packet = r
                .rtp_packets_forwarded
                .filter(|n| *n > 0)
                .map(|n| cpu * 1e6 / n as f64);
        }
        r
    }

    /// For a server without /metrics: the packets our subscribers received
    /// over the window stand for those it forwarded (a lower bound: what it
    /// sent and the network lost is left out), and the process CPU is
    /// divided by them.
    pub fn forwarded_from_subscribers(&mut self, received: u64) {
        if self.rtp_packets_forwarded.is_some() {
            return;
        }
        self.rtp_packets_forwarded = Some(received);
        self.forwarded_counted_by = Some("subscribers".into());
        let w = self.window_secs;
        self.forwarded_per_sec = (w > 0.0).then(|| received as f64 / w);
        self.process_cpu_us_per_forwarded_packet = self
            .process_cpu_secs
            .filter(|_| received > 0)
            .map(|cpu| cpu * 1e6 / received as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP sfu_rtp_packets_out RTP packets forwarded to subscribers.
# TYPE sfu_rtp_packets_out counter
sfu_rtp_packets_out_total{worker="0",kind="audio"} 1000
sfu_rtp_packets_out_total{worker="1",kind="audio"} 500
sfu_rtp_packets_out_total{worker="1",kind="video"} 500
sfu_worker_busy_seconds_total{worker="0"} 0.5
hearth_sfu_worker_busy_seconds_total{worker="1"} 1.5e-1
hearth_messages_created_total 7
# EOF
"#;

    #[test]
    fn series_are_summed_over_labels() {
        let s = Scrape::parse(TEXT);
        assert_eq!(s.get("sfu_rtp_packets_out_total"), 2000.0);
        assert!((s.get("sfu_worker_busy_seconds_total") - 0.65).abs() < 1e-9);
        assert_eq!(s.get("hearth_messages_created_total"), 7.0);
        assert_eq!(s.get("absent"), 0.0);
        // The node's registry prefixes the SFU's series.
        assert_eq!(
            s.get("sfu_worker_busy_seconds_total"),
            s.get("hearth_sfu_worker_busy_seconds_total") + 0.5
        );
    }

    #[test]
    fn cost_per_forwarded_packet_comes_from_the_differences() {
        let before = Scrape::parse(TEXT);
        let mut after = before.clone();
        *after.sums.get_mut("sfu_rtp_packets_out_total").unwrap() += 10_000.0;
        *after.sums.get_mut("sfu_worker_busy_seconds_total").unwrap() += 0.02;
        let r = ServerReport::between(2.0, Some(&before), Some(&after), None, None);
        assert_eq!(r.rtp_packets_forwarded, Some(10_000));
        assert_eq!(r.forwarded_per_sec, Some(5000.0));
        let us = r.worker_busy_us_per_forwarded_packet.unwrap();
        assert!((us - 2.0).abs() < 1e-6, "{us}");
        assert!(r.process_cpu_secs.is_none());
        assert_eq!(r.sfu_counters["sfu_rtp_packets_out_total"], 10_000.0);
        assert!(!r.sfu_counters.contains_key("hearth_messages_created_total"));
        assert_eq!(r.forwarded_counted_by.as_deref(), Some("server"));
    }

    /// Two workers' forwarding-delay histograms, the `le` label first on
    /// one and last on the other, as an exposition may order them.
    fn delay_scrape(worker0: [u64; 4], worker1: [u64; 4]) -> Scrape {
        let mut text = String::from(
            "# TYPE hearth_sfu_forward_delay_seconds histogram\n\
             hearth_sfu_rtp_packets_out_total{worker=\"0\",kind=\"audio\"} 0\n",
        );
        for (i, le) in ["0.00025", "0.001", "0.0025", "+Inf"].iter().enumerate() {
            text += &format!(
                "hearth_sfu_forward_delay_seconds_bucket{{le=\"{le}\",worker=\"0\"}} {}\n\
                 hearth_sfu_forward_delay_seconds_bucket{{worker=\"1\",le=\"{le}\"}} {}\n",
                worker0[i], worker1[i]
            );
        }
        text += &format!(
            "hearth_sfu_forward_delay_seconds_count{{worker=\"0\"}} {}\n",
            worker0[3]
        );
        Scrape::parse(&text)
    }

    #[test]
    fn the_forwarding_delay_is_what_the_buckets_gained_over_the_window() {
        // Before the window: 1000 batches slower than every bound, which
        // would put the median in the top bucket if they were counted.
        let before = delay_scrape([0, 0, 0, 1000], [0, 0, 0, 0]);
        // Over the window: 100 of 200 batches within 0.25 ms (worker 0
        // alone would put the median at 1 ms), 199 within 2.5 ms.
        let after = delay_scrape([30, 80, 100, 1100], [70, 90, 99, 100]);
        let r = ServerReport::between(30.0, Some(&before), Some(&after), None, None);
        let d = r.forward_delay.expect("measured");
        assert_eq!(d.batches, 200);
        assert_eq!(d.p50, Some(DelayBound::AtMostMs(0.25)));
        assert_eq!(d.p99, Some(DelayBound::AtMostMs(2.5)));
    }

    #[test]
    fn a_percentile_in_the_top_bucket_is_above_the_last_bound() {
        let before = delay_scrape([0; 4], [0; 4]);
        let after = delay_scrape([10, 60, 90, 100], [0; 4]);
        let d = ServerReport::between(1.0, Some(&before), Some(&after), None, None)
            .forward_delay
            .expect("measured");
        assert_eq!(d.p50, Some(DelayBound::AtMostMs(1.0)));
        assert_eq!(d.p99, Some(DelayBound::AboveMs(2.5)));
        assert_eq!(d.p99.map(|b| b.to_string()).as_deref(), Some("> 2.5 ms"));
    }

    #[test]
    fn the_summary_says_not_measured_rather_than_zero() {
        assert!(forward_delay_summary(None).starts_with("not measured"));
        let d = ForwardDelay {
            batches: 200,
            p50: Some(DelayBound::AtMostMs(0.25)),
            p99: Some(DelayBound::AboveMs(100.0)),
        };
        assert_eq!(
            forward_delay_summary(Some(&d)),
            "p50 ≤ 0.25 ms, p99 > 100 ms per receive batch (200 batches, bucket bounds)"
        );
    }

    #[test]
    fn a_window_without_batches_has_no_percentiles() {
        let s = delay_scrape([1, 2, 3, 4], [0; 4]);
        let d = ServerReport::between(1.0, Some(&s), Some(&s), None, None)
            .forward_delay
            .expect("measured");
        assert_eq!((d.batches, d.p50, d.p99), (0, None, None));
    }

    #[test]
    fn without_the_histogram_the_delay_is_not_measured() {
        let s = Scrape::parse(TEXT);
        let r = ServerReport::between(1.0, Some(&s), Some(&s), None, None);
        assert!(r.rtp_packets_forwarded.is_some());
        assert_eq!(r.forward_delay, None);
        let v = serde_json::to_value(&r).unwrap();
        assert!(v["forward_delay"].is_null(), "{v}");
    }

    #[test]
    fn bucket_bounds_come_from_the_le_label_alone() {
        assert_eq!(bucket_bound(r#"{le="0.001",worker="0"}"#), Some(0.001));
        assert_eq!(
            bucket_bound(r#"{worker="0",le="+Inf"}"#),
            Some(f64::INFINITY)
        );
        assert_eq!(bucket_bound(r#"{handle="7"}"#), None);
        assert_eq!(bucket_bound(""), None);
    }

    #[test]
    fn without_metrics_the_subscribers_count_what_was_forwarded() {
        let at = std::time::Instant::now();
        let a = ProcSample {
            at,
            rss_kib: 1000,
            cpu_secs: 1.0,
        };
        let b = ProcSample {
            at: at + std::time::Duration::from_secs(10),
            rss_kib: 1000,
            cpu_secs: 1.5,
        };
        let mut r = ServerReport::between(10.0, None, None, Some(&a), Some(&b));
        assert_eq!(r.rtp_packets_forwarded, None);
        r.forwarded_from_subscribers(25_000);
        assert_eq!(r.rtp_packets_forwarded, Some(25_000));
        assert_eq!(r.forwarded_counted_by.as_deref(), Some("subscribers"));
        assert_eq!(r.forwarded_per_sec, Some(2500.0));
        let us = r.process_cpu_us_per_forwarded_packet.unwrap();
        assert!((us - 20.0).abs() < 1e-6, "{us}");
    }
}
