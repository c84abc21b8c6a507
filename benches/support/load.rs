//! Closed-loop load: settings from the environment, latency samples, and
//! the percentile table the load benches print.
//!
//! Criterion reports means; a chat server is judged by its tail, so the load
//! benches keep every operation's latency and sort them.

// Each bench target includes this file and uses a different part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Settings shared by the load benches, each overridable by an environment
/// variable so a longer or wider run needs no edit.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// `HEARTH_BENCH_SECS`: how long each scenario drives load.
    pub duration: Duration,
    /// `HEARTH_BENCH_CONCURRENCY`: comma-separated scenarios, each `n` (n
    /// writers and n readers) or `WxR` (W writers, R readers), optionally
    /// paced with `@OPS` (each task starts OPS operations a second).
    pub concurrency: Vec<Mix>,
    /// `HEARTH_BENCH_MAX_OPS`: a cap on operations per task, so every loop
    /// ends even if the clock misbehaves.
    pub max_ops_per_task: u64,
    /// `HEARTH_BENCH_CHANNELS`: channels the writers and readers spread over.
    pub channels: usize,
    /// `HEARTH_BENCH_DURABILITY`: comma-separated, `full` and/or `normal`.
    pub durabilities: Vec<String>,
}

impl LoadSettings {
    pub fn from_env() -> anyhow::Result<LoadSettings> {
        let settings = LoadSettings {
            duration: Duration::from_secs_f64(env_parse("HEARTH_BENCH_SECS", 10.0)?),
            concurrency: env_list("HEARTH_BENCH_CONCURRENCY", "1,4,4x4@100")
                .iter()
                .map(|s| Mix::parse(s))
                .collect::<anyhow::Result<_>>()?,
            max_ops_per_task: env_parse("HEARTH_BENCH_MAX_OPS", 1_000_000)?,
            channels: env_parse("HEARTH_BENCH_CHANNELS", 4)?,
            durabilities: env_list("HEARTH_BENCH_DURABILITY", "full,normal"),
        };
        anyhow::ensure!(
            settings.channels > 0,
            "HEARTH_BENCH_CHANNELS must be at least 1"
        );
        Ok(settings)
    }
}

/// How many tasks write and how many read in one scenario, and how fast.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    pub writers: usize,
    pub readers: usize,
    /// Operations a second each task starts; `None` for a closed loop (the
    /// next operation as soon as the last returns).
    pub rate: Option<u32>,
}

impl Mix {
    fn parse(s: &str) -> anyhow::Result<Mix> {
        let bad =
            || anyhow::anyhow!("HEARTH_BENCH_CONCURRENCY: {s:?} is not n, WxR, n@OPS or WxR@OPS");
        let (tasks, rate) = match s.split_once('@') {
            Some((tasks, rate)) => (tasks, Some(rate.parse().map_err(|_| bad())?)),
            None => (s, None),
        };
        anyhow::ensure!(rate != Some(0), "{s:?}: a rate must be at least 1");
        let mix = match tasks.split_once('x') {
            Some((w, r)) => Mix {
                writers: w.parse().map_err(|_| bad())?,
                readers: r.parse().map_err(|_| bad())?,
                rate,
            },
            None => {
                let n = tasks.parse().map_err(|_| bad())?;
                Mix {
                    writers: n,
                    readers: n,
                    rate,
                }
            }
        };
        anyhow::ensure!(mix.writers + mix.readers > 0, "{s:?} runs nothing");
        Ok(mix)
    }

    pub fn label(&self) -> String {
        match self.rate {
            Some(r) => format!("{}w+{}r@{r}", self.writers, self.readers),
            None => format!("{}w+{}r", self.writers, self.readers),
        }
    }

    /// The pacer of task `index` of `of` doing the same kind of operation;
    /// paced tasks are spread over one interval so they do not fire together.
    pub fn pacer(&self, index: usize, of: usize, start: Instant) -> Pacer {
        let interval = self.rate.map(|r| Duration::from_secs(1) / r);
        let offset = interval.map_or(Duration::ZERO, |i| i * index as u32 / of.max(1) as u32);
        Pacer {
            interval,
            next_at: start + offset,
        }
    }
}

/// When a task starts its next operation, and from when its latency counts.
pub struct Pacer {
    interval: Option<Duration>,
    next_at: Instant,
}

impl Pacer {
    /// Waits for the next slot and returns the instant the operation's
    /// latency is measured from. A paced task that fell behind is charged
    /// from the slot it missed, so a stall shows in the latencies of the
    /// operations queued behind it instead of vanishing (coordinated
    /// omission); a task on time is charged from when it woke, so timer
    /// slack is not counted.
    pub async fn next(&mut self) -> Instant {
        let Some(interval) = self.interval else {
            return Instant::now();
        };
        let slot = self.next_at;
        self.next_at += interval;
        if Instant::now() >= slot {
            return slot;
        }
        tokio::time::sleep_until(slot.into()).await;
        Instant::now()
    }
}

fn env_parse<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}={v:?}: {e}")),
        Err(_) => Ok(default),
    }
}

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The figures of one kind of operation in one scenario.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub count: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub per_sec: f64,
}

impl Summary {
    /// `elapsed` is the wall time of the whole scenario, for throughput.
    pub fn of(mut samples: Vec<Duration>, elapsed: Duration) -> Summary {
        samples.sort_unstable();
        Summary {
            count: samples.len(),
            p50: percentile(&samples, 50.0),
            p99: percentile(&samples, 99.0),
            max: samples.last().copied().unwrap_or_default(),
            per_sec: samples.len() as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
        }
    }
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

pub fn print_header() {
    println!(
        "{:<10} {:<12} {:<16} {:>9} {:>10} {:>9} {:>9} {:>9}",
        "durability", "load", "operation", "ops", "ops/s", "p50 ms", "p99 ms", "max ms"
    );
}

/// Prints nothing for an operation the scenario did not run.
pub fn print_row(durability: &str, load: &str, operation: &str, s: &Summary) {
    if s.count == 0 {
        return;
    }
    println!(
        "{:<10} {:<12} {:<16} {:>9} {:>10.0} {:>9} {:>9} {:>9}",
        durability,
        load,
        operation,
        s.count,
        s.per_sec,
        ms(s.p50),
        ms(s.p99),
        ms(s.max)
    );
}

/// What the load benches say about where they ran.
pub fn print_machine() {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    println!("machine: {cores} cores, {model}");
}
