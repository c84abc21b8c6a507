//! The soak: chat with churn, voice calls and hostile clients at once, for
//! a long time, against one node.
//!
//! It passes when every chat delivery arrived exactly once, every call
//! joined and kept its loss within bounds, no hostile request got a server
//! error, and the node's memory stayed flat: the mean of the last quarter
//! of the run's samples is at most `max_memory_growth` above the mean of
//! the second quarter (the first is warm-up: caches and pools filling).

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::chat::{self, ChatConfig, ChatReport};
use crate::hostile::{self, HostileConfig, HostileReport};
use crate::system::ProcSample;
use crate::voice::report::VoiceReport;
use crate::voice::{self, VoiceConfig};
use crate::Error;

#[derive(Clone, Debug)]
pub struct SoakConfig {
    pub chat: ChatConfig,
    pub voice: VoiceConfig,
    pub hostile: HostileConfig,
    /// The node's process id: memory is judged only when it is given.
    pub server_pid: Option<u32>,
    /// How often the node's memory is read.
    pub memory_every: Duration,
    /// Allowed growth of the node's memory from the second quarter of the
    /// run to the last, as a ratio (0.1 = 10 %).
    pub max_memory_growth: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct MemorySample {
    pub secs: f64,
    pub rss_kib: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct MemoryReport {
    pub samples: Vec<MemorySample>,
    pub second_quarter_mean_kib: u64,
    pub last_quarter_mean_kib: u64,
    pub max_kib: u64,
    /// `last / second - 1`.
    pub growth: f64,
}

impl MemoryReport {
    fn of(samples: Vec<MemorySample>) -> MemoryReport {
        let n = samples.len();
        let mean = |s: &[MemorySample]| -> u64 {
            if s.is_empty() {
                0
            } else {
                s.iter().map(|m| m.rss_kib).sum::<u64>() / s.len() as u64
            }
        };
        let second = mean(&samples[n / 4..n / 2]);
        let last = mean(&samples[n - n / 4..]);
        MemoryReport {
            second_quarter_mean_kib: second,
            last_quarter_mean_kib: last,
            max_kib: samples.iter().map(|m| m.rss_kib).max().unwrap_or(0),
            growth: if second > 0 {
                last as f64 / second as f64 - 1.0
            } else {
                0.0
            },
            samples,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct SoakReport {
    pub duration_secs: f64,
    pub chat: ChatReport,
    pub voice: VoiceReport,
    pub hostile: HostileReport,
    pub memory: Option<MemoryReport>,
    pub passed: bool,
    pub verdict: String,
}

pub async fn run(config: SoakConfig) -> Result<SoakReport, Error> {
    let started = Instant::now();
    // The hostile clients keep going as long as the real ones.
    let deadline = started + config.chat.duration.max(config.voice.duration);
    let sampling = sample_memory(config.server_pid, config.memory_every, deadline);
    let (chat, voice, hostile, samples) = tokio::join!(
        chat::run(config.chat.clone()),
        voice::run(config.voice.clone()),
        hostile::run(config.hostile.clone(), deadline),
        sampling,
    );
    let (chat, voice, hostile) = (chat?, voice?, hostile?);
    let memory = config
        .server_pid
        .filter(|_| samples.len() >= 8)
        .map(|_| MemoryReport::of(samples));
    let mut why = Vec::new();
    if !chat.clean() {
        why.push(format!(
            "chat: {} lost, {} duplicated",
            chat.lost, chat.duplicated
        ));
    }
    if !voice.passed {
        why.push(format!("voice: {}", voice.verdict));
    }
    if hostile.bad_answered_5xx > 0 {
        why.push(format!(
            "{} hostile requests got a server error",
            hostile.bad_answered_5xx
        ));
    }
    if let Some(m) = &memory {
        if m.growth > config.max_memory_growth {
            why.push(format!(
                "memory grew {:.1} % (allowed {:.1} %)",
                m.growth * 100.0,
                config.max_memory_growth * 100.0
            ));
        }
    }
    Ok(SoakReport {
        duration_secs: started.elapsed().as_secs_f64(),
        chat,
        voice,
        hostile,
        memory,
        passed: why.is_empty(),
        verdict: if why.is_empty() {
            "passed".into()
        } else {
            why.join("; ")
        },
    })
}

async fn sample_memory(pid: Option<u32>, every: Duration, deadline: Instant) -> Vec<MemorySample> {
    let Some(pid) = pid else {
        return Vec::new();
    };
    let start = Instant::now();
    let mut out = Vec::new();
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    while Instant::now() < deadline {
        tick.tick().await;
        if let Some(s) = ProcSample::read(pid) {
            out.push(MemorySample {
                secs: start.elapsed().as_secs_f64(),
                rss_kib: s.rss_kib,
            });
        }
    }
    out
}

impl fmt::Display for SoakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "== soak: {:.0} s", self.duration_secs)?;
        writeln!(f, "-- chat\n{}", self.chat)?;
        writeln!(f, "-- voice\n{}", self.voice)?;
        let h = &self.hostile;
        writeln!(f, "-- hostile clients")?;
        writeln!(
            f,
            "idle TCP connections: {} opened, {} closed by the node",
            h.idle_opened, h.idle_closed_by_server
        )?;
        writeln!(
            f,
            "unidentified zstd gateway connections: {} opened, {} closed by the node",
            h.unidentified_opened, h.unidentified_closed_by_server
        )?;
        writeln!(
            f,
            "flooded sessions: {} identified, {} refused",
            h.sessions_flooded, h.sessions_refused
        )?;
        writeln!(
            f,
            "bad requests: {} sent, {} answered 4xx, {} answered 5xx, {} unanswered",
            h.bad_requests, h.bad_answered_4xx, h.bad_answered_5xx, h.bad_unanswered
        )?;
        if let Some(m) = &self.memory {
            writeln!(
                f,
                "-- node memory: second quarter {} MiB, last quarter {} MiB ({:+.1} %), max {} MiB",
                m.second_quarter_mean_kib / 1024,
                m.last_quarter_mean_kib / 1024,
                m.growth * 100.0,
                m.max_kib / 1024
            )?;
        }
        write!(f, "soak {}", self.verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_growth_compares_the_last_quarter_with_the_second() {
        let samples = (0..8)
            .map(|i| MemorySample {
                secs: i as f64,
                // Warm-up spike, then flat, then 10 % up.
                rss_kib: [500, 100, 100, 100, 100, 100, 110, 110][i],
            })
            .collect();
        let m = MemoryReport::of(samples);
        assert_eq!(m.second_quarter_mean_kib, 100);
        assert_eq!(m.last_quarter_mean_kib, 110);
        assert!((m.growth - 0.1).abs() < 1e-9);
    }
}
