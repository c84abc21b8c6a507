//! The voice run's report: what `--out` writes as JSON, what the terminal
//! shows at the end, and the figures the HTML page charts.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::accounting::{percentiles, Percentiles};
use super::peer::TrackResult;
use super::server::{forward_delay_summary, ServerReport};
use super::simulcast::SimulcastReport;
use super::udp_drops::UdpDrops;
use crate::latency::LatencySummary;
use crate::system::ProcUsage;

/// Bumped when a field changes meaning or goes away, or a section is
/// added (2: `config.simulcast`, `simulcast`, `tracks[].simulcast`;
/// 3: `server.forward_delay`).
pub const SCHEMA_VERSION: u32 = 3;

#[derive(Clone, Debug, Default, Serialize)]
pub struct RunConfig {
    pub url: String,
    /// Whose SFU: "hearth" or "janus".
    pub target: String,
    pub rooms: usize,
    pub publishers_per_room: usize,
    pub subscribers_per_room: usize,
    /// "none" or "vp8".
    pub video: String,
    pub video_kbps: Option<u32>,
    /// Video sent as three simulcast layers.
    pub simulcast: bool,
    pub simulate_speakers: bool,
    pub duration_secs: f64,
    pub ramp_per_sec: f64,
    pub client_threads: usize,
    pub max_loss: f64,
}

/// Joining, over every participant.
#[derive(Clone, Debug, Default, Serialize)]
pub struct JoinReport {
    pub planned: usize,
    pub joined: usize,
    pub failed: usize,
    /// Failures by stage: gateway, join refused, voice gateway, ice/dtls,
    /// no media, media, stopped.
    pub failures: BTreeMap<String, u64>,
    /// The first failure's message per stage.
    pub first_failure: BTreeMap<String, String>,
    /// Joined participants whose call ended before the run did, by stage.
    pub dropped_during_run: BTreeMap<String, u64>,
    /// From the first participant's start to the last join or failure.
    pub ramp_secs: f64,
    /// Op 4 sent → VOICE_SERVER_UPDATE read (the gateway's part).
    pub op4_to_voice_server_update: LatencySummary,
    /// Op 4 sent → ICE and DTLS connected (voice WebSocket, offer and
    /// answer included).
    pub op4_to_connected: LatencySummary,
    /// Op 4 sent → the first RTP packet from another participant.
    pub op4_to_first_media: LatencySummary,
}

/// Received media of one kind, over every received track.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MediaReport {
    /// Received tracks whose publisher is one of this run's.
    pub tracks: u64,
    /// Packets publishers wrote (their send tables).
    pub packets_sent: u64,
    /// Distinct packets received, over every subscriber.
    pub packets_received: u64,
    pub duplicates: u64,
    /// From each track's first received packet to its publisher's last.
    pub packets_expected: u64,
    pub packets_lost: u64,
    pub loss_ratio: f64,
    /// Tracks that lost anything.
    pub tracks_with_loss: u64,
    /// RFC 3550 interarrival jitter at the end, one value per track, ms.
    pub jitter_ms: Percentiles,
    /// Per-track mean latency, ms (the packet-level percentiles are in
    /// `latency`).
    pub track_mean_latency_ms: Percentiles,
}

impl MediaReport {
    pub fn from_tracks<'a>(tracks: impl Iterator<Item = &'a TrackResult>, sent: u64) -> Self {
        let mut r = MediaReport {
            packets_sent: sent,
            ..MediaReport::default()
        };
        let mut jitter = Vec::new();
        let mut latency = Vec::new();
        for t in tracks.filter(|t| t.publisher.is_some()) {
            r.tracks += 1;
            r.packets_received += t.packets;
            r.duplicates += t.duplicates;
            r.packets_expected += t.expected;
            r.packets_lost += t.lost;
            if t.lost > 0 {
                r.tracks_with_loss += 1;
            }
            jitter.push(t.jitter_ms);
            if let Some(l) = t.latency_mean_ms {
                latency.push(l);
            }
        }
        r.loss_ratio = if r.packets_expected > 0 {
            r.packets_lost as f64 / r.packets_expected as f64
        } else {
            0.0
        };
        r.jitter_ms = percentiles(&mut jitter);
        r.track_mean_latency_ms = percentiles(&mut latency);
        r
    }
}

/// One second of the run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Sample {
    /// Seconds since the first participant started.
    pub t: f64,
    pub joined: usize,
    /// RTP packets per second subscribers received / publishers wrote.
    pub pps_in: f64,
    pub pps_out: f64,
    pub kbps_in: f64,
    /// Loss among the packets expected in this second (running count from
    /// sequence numbers; the final figure is in `audio`/`video`).
    pub loss_ratio: f64,
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct VoiceReport {
    pub schema_version: u32,
    pub config: RunConfig,
    pub join: JoinReport,
    pub audio: MediaReport,
    pub video: Option<MediaReport>,
    /// With simulcast: per quality asked, what arrived.
    pub simulcast: Option<SimulcastReport>,
    /// End-to-end latency of every packet (publisher's write to the
    /// subscriber's receipt), all kinds.
    pub latency: LatencySummary,
    pub steady_secs: f64,
    /// Averages over the steady phase (all joined, until the duration ends).
    pub pps_in: f64,
    pub pps_out: f64,
    pub kbps_in: f64,
    pub kbps_out: f64,
    /// Client datagrams dropped because a socket's send buffer was full.
    pub client_send_drops: u64,
    /// RTP packets publishers wrote, and SRTP datagrams their sockets
    /// accepted, over the whole run: equal when the client stack put
    /// everything it was given on the wire (video retransmissions add to
    /// the second).
    pub rtp_packets_written: u64,
    pub rtp_datagrams_sent: u64,
    /// The same by kind (datagrams told apart by payload type; video
    /// retransmissions use their own and are in neither).
    pub audio_written: u64,
    pub audio_datagrams_sent: u64,
    pub video_written: u64,
    pub video_datagrams_sent: u64,
    /// Datagrams the kernel dropped at full receive buffers over the
    /// steady phase: the SFU's media sockets, and our peers' sockets.
    pub udp_drops: Option<UdpDrops>,
    /// The same counters at the end of the drain, cumulative: the whole run
    /// for the clients' sockets, the server's life for its sockets.
    pub udp_drops_cumulative: Option<UdpDrops>,
    pub server: Option<ServerReport>,
    /// This tool over the steady phase.
    pub loadtest: Option<ProcUsage>,
    pub timeline: Vec<Sample>,
    /// Every received track.
    pub tracks: Vec<TrackResult>,
    pub passed: bool,
    /// Why not, in words.
    pub verdict: String,
}

impl VoiceReport {
    /// Whether every participant joined and the loss stayed within bounds.
    pub fn judge(&mut self) {
        let mut why = Vec::new();
        if self.join.joined < self.join.planned {
            why.push(format!(
                "{} of {} participants did not join",
                self.join.planned - self.join.joined,
                self.join.planned
            ));
        }
        let dropped: u64 = self.join.dropped_during_run.values().sum();
        if dropped > 0 {
            why.push(format!("{dropped} participants dropped during the run"));
        }
        for (kind, m) in [("audio", Some(&self.audio)), ("video", self.video.as_ref())] {
            if let Some(m) = m {
                if m.loss_ratio > self.config.max_loss {
                    why.push(format!(
                        "{kind} loss {:.3}% above --max-loss {:.3}%",
                        m.loss_ratio * 100.0,
                        self.config.max_loss * 100.0
                    ));
                }
            }
        }
        if let Some(s) = &self.simulcast {
            let mismatched = s.mismatched_tracks();
            if mismatched > 0 {
                why.push(format!(
                    "{mismatched} simulcast tracks received another layer than asked for"
                ));
            }
        }
        self.passed = why.is_empty();
        self.verdict = if self.passed {
            "every participant joined; loss within bounds".into()
        } else {
            why.join("; ")
        };
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1}"))
}

fn row(f: &mut fmt::Formatter<'_>, name: &str, l: &LatencySummary) -> fmt::Result {
    writeln!(
        f,
        "  {name:<22} {:>8} {:>8} {:>8} {:>8} {:>9}",
        ms(l.p50_ms),
        ms(l.p95_ms),
        ms(l.p99_ms),
        ms(l.max_ms),
        l.count
    )
}

fn prow(f: &mut fmt::Formatter<'_>, name: &str, p: &Percentiles) -> fmt::Result {
    let v = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.2}"));
    writeln!(
        f,
        "  {name:<22} {:>8} {:>8} {:>8} {:>8} {:>9}",
        v(p.p50),
        v(p.p95),
        v(p.p99),
        v(p.max),
        p.count
    )
}

impl fmt::Display for VoiceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "voice: {} rooms x ({} publishers + {} subscribers), video {}{}, {:.0} s steady, ramp {}/s, {} client thread(s)",
            c.rooms,
            c.publishers_per_room,
            c.subscribers_per_room,
            c.video,
            c.video_kbps.map(|k| format!(" at {k} kbps")).unwrap_or_default(),
            c.duration_secs,
            c.ramp_per_sec,
            c.client_threads
        )?;
        let j = &self.join;
        writeln!(
            f,
            "  participants joined    {} of {} ({} failed) over {:.1} s",
            j.joined, j.planned, j.failed, j.ramp_secs
        )?;
        for (stage, n) in &j.failures {
            writeln!(
                f,
                "    failed: {stage:<16} {n}  (first: {})",
                j.first_failure.get(stage).map_or("", String::as_str)
            )?;
        }
        for (stage, n) in &j.dropped_during_run {
            writeln!(f, "    dropped later: {stage:<9} {n}")?;
        }
        writeln!(
            f,
            "  {:<22} {:>8} {:>8} {:>8} {:>8} {:>9}",
            "(ms)", "p50", "p95", "p99", "max", "n"
        )?;
        row(f, "join: op 4 → VSU", &j.op4_to_voice_server_update)?;
        row(f, "join: op 4 → connected", &j.op4_to_connected)?;
        row(f, "join: op 4 → 1st media", &j.op4_to_first_media)?;
        row(f, "latency (packets)", &self.latency)?;
        prow(f, "audio jitter (tracks)", &self.audio.jitter_ms)?;
        if let Some(v) = &self.video {
            prow(f, "video jitter (tracks)", &v.jitter_ms)?;
        }
        writeln!(
            f,
            "  {:<8} {:>7} {:>12} {:>12} {:>10} {:>9} {:>6}",
            "media", "tracks", "sent", "received", "lost", "loss", "dups"
        )?;
        for (kind, m) in [("audio", Some(&self.audio)), ("video", self.video.as_ref())] {
            if let Some(m) = m {
                writeln!(
                    f,
                    "  {kind:<8} {:>7} {:>12} {:>12} {:>10} {:>8.3}% {:>6}",
                    m.tracks,
                    m.packets_sent,
                    m.packets_received,
                    m.packets_lost,
                    m.loss_ratio * 100.0,
                    m.duplicates
                )?;
            }
        }
        if let Some(s) = &self.simulcast {
            writeln!(
                f,
                "  {:<8} {:>7} {:>7} {:>9} {:>8} {:>11}   (judged {:.0} s after a track's start)",
                "asked", "tracks", "layer", "kbps", "matched", "mismatched", s.settle_secs
            )?;
            for q in &s.qualities {
                writeln!(
                    f,
                    "  {:<8} {:>7} {:>7} {:>9} {:>8} {:>11}{}",
                    q.quality.as_str(),
                    q.tracks,
                    q.layer_expected,
                    q.kbps_mean.map_or("-".into(), |k| format!("{k:.0}")),
                    q.matched,
                    q.mismatched,
                    if q.mismatched_packets > 0 {
                        format!(" ({} packets of another layer)", q.mismatched_packets)
                    } else {
                        String::new()
                    }
                )?;
            }
            let unjudged = s.unjudged_tracks();
            if unjudged > 0 {
                writeln!(
                    f,
                    "  {unjudged} simulcast tracks not judged: nothing arrived {:.0} s after they started",
                    s.settle_secs
                )?;
            }
        }
        writeln!(
            f,
            "  throughput (steady)    in {:.0} pps / {:.0} kbps, out {:.0} pps / {:.0} kbps{}",
            self.pps_in,
            self.kbps_in,
            self.pps_out,
            self.kbps_out,
            if self.client_send_drops > 0 {
                format!(", {} client send drops", self.client_send_drops)
            } else {
                String::new()
            }
        )?;
        writeln!(
            f,
            "  client wire            {} RTP packets written, {} SRTP datagrams sent (audio {} / {}, video {} / {})",
            self.rtp_packets_written,
            self.rtp_datagrams_sent,
            self.audio_written,
            self.audio_datagrams_sent,
            self.video_written,
            self.video_datagrams_sent
        )?;
        if let Some(d) = &self.udp_drops {
            writeln!(
                f,
                "  UDP drops (steady)     {} at the server's media sockets, {} at the clients' sockets (kernel receive buffers)",
                d.server_sockets, d.client_sockets
            )?;
        }
        if let Some(d) = &self.udp_drops_cumulative {
            writeln!(
                f,
                "  UDP drops (all run)    {} at the server's media sockets, {} at the clients' sockets",
                d.server_sockets, d.client_sockets
            )?;
        }
        if let Some(s) = &self.server {
            if s.forwarded_counted_by.as_deref() == Some("subscribers") {
                writeln!(
                    f,
                    "  server (steady)        no metrics: {} packets received by subscribers ({:.0}/s) stand for those forwarded",
                    s.rtp_packets_forwarded.unwrap_or(0),
                    s.forwarded_per_sec.unwrap_or(0.0),
                )?;
            } else if let Some(out) = s.rtp_packets_forwarded {
                writeln!(
                    f,
                    "  server (steady)        {} packets in, {} forwarded ({:.0}/s), {} dropped, {} keyframe requests",
                    s.rtp_packets_in.unwrap_or(0),
                    out,
                    s.forwarded_per_sec.unwrap_or(0.0),
                    s.rtp_packets_dropped.unwrap_or(0),
                    s.keyframe_requests.unwrap_or(0)
                )?;
            }
            if let Some(b) = s.worker_busy_secs {
                writeln!(
                    f,
                    "                         workers busy {b:.2} s = {} µs per forwarded packet",
                    s.worker_busy_us_per_forwarded_packet
                        .map_or("-".into(), |v| format!("{v:.2}"))
                )?;
            }
            if let Some(cpu) = s.process_cpu_secs {
                writeln!(
                    f,
                    "                         process CPU {cpu:.2} s ({:.0}%) = {} µs per forwarded packet; RSS {} → {} KiB",
                    s.process_cpu_percent.unwrap_or(0.0),
                    s.process_cpu_us_per_forwarded_packet
                        .map_or("-".into(), |v| format!("{v:.2}")),
                    s.rss_start_kib.unwrap_or(0),
                    s.rss_end_kib.unwrap_or(0)
                )?;
            }
            writeln!(
                f,
                "  SFU forward delay      {}",
                forward_delay_summary(s.forward_delay.as_ref())
            )?;
        }
        if let Some(s) = &self.server {
            let other: Vec<String> = s
                .sfu_counters
                .iter()
                .filter(|(k, v)| {
                    **v != 0.0
                        && ![
                            "packets_in",
                            "packets_out",
                            "bytes_in",
                            "bytes_out",
                            "busy_seconds",
                        ]
                        .iter()
                        .any(|known| k.contains(known))
                })
                .map(|(k, v)| format!("{} {v}", k.trim_start_matches("hearth_")))
                .collect();
            if !other.is_empty() {
                writeln!(
                    f,
                    "                         other SFU counters: {}",
                    other.join(", ")
                )?;
            }
        }
        if let Some(l) = &self.loadtest {
            writeln!(
                f,
                "  loadtest (steady)      {:.0}% CPU, RSS {} → {} KiB",
                l.cpu_percent, l.rss_start_kib, l.rss_end_kib
            )?;
        }
        write!(
            f,
            "  result                 {}{}",
            if self.passed { "PASS: " } else { "FAIL: " },
            self.verdict
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(lost: u64, publisher: Option<usize>) -> TrackResult {
        TrackResult {
            subscriber: 1,
            publisher,
            kind: "audio",
            packets: 100 - lost,
            duplicates: 0,
            expected: 100,
            lost,
            jitter_ms: 0.5,
            latency_mean_ms: Some(2.0),
            latency_max_ms: Some(4.0),
            simulcast: None,
        }
    }

    #[test]
    fn media_totals_count_only_tracks_of_known_publishers() {
        let tracks = [track(0, Some(0)), track(5, Some(2)), track(50, None)];
        let m = MediaReport::from_tracks(tracks.iter(), 210);
        assert_eq!((m.tracks, m.packets_expected, m.packets_lost), (2, 200, 5));
        assert_eq!(m.tracks_with_loss, 1);
        assert!((m.loss_ratio - 0.025).abs() < 1e-12);
        assert_eq!(m.jitter_ms.count, 2);
    }

    #[test]
    fn the_verdict_fails_on_missing_joins_and_on_loss_above_the_bound() {
        let mut r = VoiceReport {
            config: RunConfig {
                max_loss: 0.01,
                ..RunConfig::default()
            },
            join: JoinReport {
                planned: 4,
                joined: 4,
                ..JoinReport::default()
            },
            ..VoiceReport::default()
        };
        r.judge();
        assert!(r.passed, "{}", r.verdict);
        r.audio.loss_ratio = 0.02;
        r.judge();
        assert!(!r.passed && r.verdict.contains("loss"), "{}", r.verdict);
        r.audio.loss_ratio = 0.0;
        r.join.joined = 3;
        r.judge();
        assert!(!r.passed && r.verdict.contains("did not join"));
    }

    #[test]
    fn a_simulcast_track_with_another_layer_than_asked_fails_the_run() {
        use super::super::simulcast::{Quality, TrackLayers};
        use std::time::Duration;
        let mut t = track(0, Some(0));
        t.kind = "video";
        t.simulcast = Some(TrackLayers {
            quality_asked: Quality::Low,
            layer_expected: "q",
            layer_received: Some("f"),
            kbps: Some(500.0),
            settled_packets: 100,
            mismatched_packets: 100,
        });
        let mut r = VoiceReport {
            simulcast: Some(SimulcastReport::from_tracks(
                [t].iter(),
                Duration::from_secs(4),
            )),
            ..VoiceReport::default()
        };
        r.judge();
        assert!(!r.passed && r.verdict.contains("layer"), "{}", r.verdict);
        assert!(r.to_string().contains("low"), "{r}");
        assert!(!r.to_string().contains("not judged"), "{r}");
    }

    /// The JSON fields documented in loadtest/README.md: renaming one is a
    /// schema change (bump SCHEMA_VERSION and the README).
    #[test]
    fn the_json_report_keeps_its_documented_fields() {
        let mut r = VoiceReport {
            schema_version: SCHEMA_VERSION,
            video: Some(MediaReport::default()),
            simulcast: Some(SimulcastReport::default()),
            server: Some(ServerReport::default()),
            udp_drops: Some(UdpDrops::default()),
            timeline: vec![Sample::default()],
            tracks: vec![track(1, Some(0))],
            ..VoiceReport::default()
        };
        r.judge();
        let v = serde_json::to_value(&r).unwrap();
        for key in [
            "schema_version",
            "config",
            "join",
            "audio",
            "video",
            "simulcast",
            "latency",
            "steady_secs",
            "pps_in",
            "pps_out",
            "kbps_in",
            "kbps_out",
            "client_send_drops",
            "rtp_packets_written",
            "rtp_datagrams_sent",
            "audio_written",
            "audio_datagrams_sent",
            "video_written",
            "video_datagrams_sent",
            "udp_drops",
            "udp_drops_cumulative",
            "server",
            "loadtest",
            "timeline",
            "tracks",
            "passed",
            "verdict",
        ] {
            assert!(v.get(key).is_some(), "missing {key}: {v}");
        }
        for key in [
            "rooms",
            "publishers_per_room",
            "subscribers_per_room",
            "video",
            "video_kbps",
            "simulcast",
            "simulate_speakers",
            "duration_secs",
            "ramp_per_sec",
            "client_threads",
            "max_loss",
        ] {
            assert!(v["config"].get(key).is_some(), "config.{key}");
        }
        for key in [
            "planned",
            "joined",
            "failed",
            "failures",
            "first_failure",
            "dropped_during_run",
            "op4_to_voice_server_update",
            "op4_to_connected",
            "op4_to_first_media",
        ] {
            assert!(v["join"].get(key).is_some(), "join.{key}");
        }
        for key in [
            "tracks",
            "packets_sent",
            "packets_received",
            "packets_expected",
            "packets_lost",
            "loss_ratio",
            "jitter_ms",
        ] {
            assert!(v["audio"].get(key).is_some(), "audio.{key}");
        }
        for key in ["p50_ms", "p95_ms", "p99_ms", "max_ms", "count"] {
            assert!(v["latency"].get(key).is_some(), "latency.{key}");
        }
        for key in [
            "rtp_packets_forwarded",
            "worker_busy_us_per_forwarded_packet",
            "process_cpu_us_per_forwarded_packet",
            "forward_delay",
        ] {
            assert!(v["server"].get(key).is_some(), "server.{key}");
        }
        for key in [
            "t",
            "joined",
            "pps_in",
            "pps_out",
            "loss_ratio",
            "latency_p99_ms",
        ] {
            assert!(v["timeline"][0].get(key).is_some(), "timeline[].{key}");
        }
        for key in [
            "subscriber",
            "publisher",
            "kind",
            "packets",
            "lost",
            "jitter_ms",
            "simulcast",
        ] {
            assert!(v["tracks"][0].get(key).is_some(), "tracks[].{key}");
        }
        assert_eq!(v["tracks"][0]["kind"], "audio");
    }
}
