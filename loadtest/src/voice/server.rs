//! The server's side of a voice run: its `/metrics` counters (packets the
//! SFU received and forwarded, time its workers were busy) and, given its
//! pid, its CPU time and memory from `/proc`, each read before and after
//! the measured phase.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::system::ProcSample;

/// Counters summed over every series of a metric (all workers, both kinds).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scrape(pub BTreeMap<String, f64>);

impl Scrape {
    /// Parses Prometheus/OpenMetrics text: `name{labels} value`.
    pub fn parse(text: &str) -> Scrape {
        let mut sums = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, rest) = match line.find('{') {
                Some(i) => {
                    let close = line[i..].find('}').map_or(line.len(), |j| i + j + 1);
                    (&line[..i], &line[close..])
                }
                None => match line.split_once(' ') {
                    Some((n, r)) => (n, r),
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
        }
        Scrape(sums)
    }

    /// The metric `name`, also under a registry prefix (the node
    /// registers the SFU's series as `hearth_sfu_...`).
    pub fn get(&self, name: &str) -> f64 {
        self.find(name).unwrap_or(0.0)
    }

    fn find(&self, name: &str) -> Option<f64> {
        let suffix = format!("_{name}");
        let mut found = None;
        for (k, v) in &self.0 {
            if k == name || k.ends_with(&suffix) {
                *found.get_or_insert(0.0) += v;
            }
        }
        found
    }

    pub fn has_sfu(&self) -> bool {
        self.find(PACKETS_OUT).is_some()
    }
}

const PACKETS_IN: &str = "sfu_rtp_packets_in_total";
const PACKETS_OUT: &str = "sfu_rtp_packets_out_total";
const DROPPED: &str = "sfu_rtp_packets_dropped_total";
const BUSY: &str = "sfu_worker_busy_seconds_total";
const KEYFRAMES: &str = "sfu_keyframe_requests_total";

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
                r.sfu_counters =
                    b.0.iter()
                        .filter(|(k, _)| k.contains("sfu_") && k.ends_with("_total"))
                        .map(|(k, v)| (k.clone(), v - a.0.get(k).copied().unwrap_or(0.0)))
                        .collect();
                if b.find(BUSY).is_some() {
                    let busy = d(BUSY);
                    r.worker_busy_secs = Some(busy);
                    r.worker_busy_us_per_forwarded_packet = (out > 0.0).then(|| busy * 1e6 / out);
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
        *after.0.get_mut("sfu_rtp_packets_out_total").unwrap() += 10_000.0;
        *after.0.get_mut("sfu_worker_busy_seconds_total").unwrap() += 0.02;
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
