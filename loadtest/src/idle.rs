//! The idle scenario: what an authenticated session that does nothing but
//! heartbeat costs the server in memory.
//!
//! Users and guilds are made first, and the server's resident memory is read
//! once it has settled: the baseline. Sessions then connect in steps (say
//! 1,000, then 5,000, then 10,000); after each step the run waits for the
//! server to settle again and reads its memory. A step's figure is the growth
//! over the baseline divided by the sessions connected, and the growth over
//! the previous step divided by the sessions that step added (the marginal
//! cost, which leaves out one-off costs such as the guild's hub and memory
//! the allocator kept from the set-up). Finally the sessions are held for a
//! while, heartbeating, and the memory is read once more.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::chat::{run_tag, shared, Fleet};
use crate::rest::Rest;
use crate::setup;
use crate::system::ProcSample;
use crate::{Error, DEFAULT_INTENTS};

#[derive(Clone, Debug)]
pub struct IdleConfig {
    pub url: String,
    /// Sessions at the last step.
    pub sessions: usize,
    pub guilds: usize,
    pub users: Option<usize>,
    /// Session counts to measure at before `sessions`.
    pub checkpoints: Vec<usize>,
    /// How long to wait before each memory reading.
    pub settle: Duration,
    /// How long to keep every session idle after the last step.
    pub hold: Duration,
    pub server_pid: Option<u32>,
    pub intents: u64,
    pub connect_concurrency: usize,
}

impl IdleConfig {
    pub fn new(url: impl Into<String>) -> IdleConfig {
        IdleConfig {
            url: url.into(),
            sessions: 1000,
            guilds: 1,
            users: None,
            checkpoints: Vec::new(),
            settle: Duration::from_secs(5),
            hold: Duration::ZERO,
            server_pid: None,
            intents: DEFAULT_INTENTS,
            connect_concurrency: 64,
        }
    }
}

/// Memory at one step.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IdleStep {
    /// Sessions identified so far.
    pub sessions: usize,
    pub server_rss_kib: Option<u64>,
    /// (RSS - baseline) / sessions.
    pub bytes_per_session: Option<f64>,
    /// (RSS - previous step's RSS) / sessions added since.
    pub marginal_bytes_per_session: Option<f64>,
    pub loadtest_rss_kib: Option<u64>,
    pub connect_secs: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct IdleReport {
    pub sessions: usize,
    pub users: usize,
    pub guilds: usize,
    pub server_rss_baseline_kib: Option<u64>,
    pub steps: Vec<IdleStep>,
    pub hold_secs: f64,
    /// The reading after the hold, if there was one.
    pub after_hold: Option<IdleStep>,
    pub sessions_connected: usize,
    pub sessions_alive_at_end: usize,
    pub first_session_error: Option<String>,
    pub connection_endings: BTreeMap<String, u64>,
    pub heartbeats_sent: u64,
}

impl IdleReport {
    /// Every session identified and was still connected at the end.
    pub fn clean(&self) -> bool {
        self.sessions_connected == self.sessions && self.sessions_alive_at_end == self.sessions
    }
}

impl fmt::Display for IdleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "idle: {} sessions, {} users, {} guilds; server RSS baseline {}",
            self.sessions,
            self.users,
            self.guilds,
            self.server_rss_baseline_kib
                .map_or("unknown (no --server-pid)".into(), |k| format!("{k} KiB"))
        )?;
        writeln!(
            f,
            "  {:>9} {:>12} {:>14} {:>14} {:>14}",
            "sessions", "server RSS", "per session", "marginal", "loadtest RSS"
        )?;
        let kib = |v: Option<u64>| v.map_or("-".into(), |v| format!("{v} KiB"));
        let bytes = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.1} KiB", v / 1024.0));
        for (label, s) in self
            .steps
            .iter()
            .map(|s| ("", s))
            .chain(self.after_hold.iter().map(|s| ("after hold", s)))
        {
            writeln!(
                f,
                "  {:>9} {:>12} {:>14} {:>14} {:>14} {label}",
                s.sessions,
                kib(s.server_rss_kib),
                bytes(s.bytes_per_session),
                bytes(s.marginal_bytes_per_session),
                kib(s.loadtest_rss_kib),
            )?;
        }
        writeln!(
            f,
            "  held {:.0} s: {} heartbeats sent; {} of {} sessions connected at the end",
            self.hold_secs,
            self.heartbeats_sent,
            self.sessions_alive_at_end,
            self.sessions_connected
        )?;
        if let Some(e) = &self.first_session_error {
            writeln!(f, "  first session error: {e}")?;
        }
        if !self.connection_endings.is_empty() {
            writeln!(f, "  connections ended: {:?}", self.connection_endings)?;
        }
        Ok(())
    }
}

fn step(
    sessions: usize,
    pid: Option<u32>,
    baseline: Option<u64>,
    previous: Option<(usize, u64)>,
    connect_secs: f64,
) -> IdleStep {
    let rss = pid.and_then(ProcSample::read).map(|s| s.rss_kib);
    let per = |grown_kib: i128, n: usize| (n > 0).then(|| grown_kib as f64 * 1024.0 / n as f64);
    IdleStep {
        sessions,
        server_rss_kib: rss,
        bytes_per_session: rss
            .zip(baseline)
            .and_then(|(r, b)| per(r as i128 - b as i128, sessions)),
        marginal_bytes_per_session: rss
            .zip(previous)
            .and_then(|(r, (n, p))| per(r as i128 - p as i128, sessions.saturating_sub(n))),
        loadtest_rss_kib: ProcSample::of_self().map(|s| s.rss_kib),
        connect_secs,
    }
}

pub async fn run(config: IdleConfig) -> Result<IdleReport, Error> {
    if config.sessions == 0 || config.guilds == 0 {
        return Err(Error::Config(
            "sessions and guilds must be at least 1".into(),
        ));
    }
    let users = config
        .users
        .unwrap_or_else(|| setup::default_users(config.sessions, config.guilds));
    let rest = Rest::new(&config.url, 16)?;
    let gateway_url = rest.gateway_url().await?;
    let tag = run_tag();
    let world = setup::build(&rest, users, config.guilds, &tag).await?;
    let shared = shared(
        vec![gateway_url],
        config.intents,
        config.guilds,
        0,
        tag,
        config.connect_concurrency,
        Duration::ZERO,
    );
    let mut fleet = Fleet::new(shared.clone(), config.sessions);

    tokio::time::sleep(config.settle).await;
    let baseline = config
        .server_pid
        .and_then(ProcSample::read)
        .map(|s| s.rss_kib);
    let mut targets: Vec<usize> = config
        .checkpoints
        .iter()
        .copied()
        .filter(|c| *c > 0 && *c < config.sessions)
        .collect();
    targets.push(config.sessions);
    targets.sort_unstable();
    targets.dedup();

    let mut steps = Vec::new();
    let mut previous: Option<(usize, u64)> = None;
    for target in targets {
        let started = Instant::now();
        fleet.grow(&world, target).await;
        let connect_secs = started.elapsed().as_secs_f64();
        let connected = fleet.connected();
        eprintln!("{connected} sessions identified; settling");
        tokio::time::sleep(config.settle).await;
        let s = step(
            connected,
            config.server_pid,
            baseline,
            previous,
            connect_secs,
        );
        previous = s.server_rss_kib.map(|r| (connected, r));
        steps.push(s);
    }
    let after_hold = if config.hold.is_zero() {
        None
    } else {
        eprintln!("holding for {:.0}s", config.hold.as_secs_f64());
        tokio::time::sleep(config.hold).await;
        Some(step(
            fleet.connected(),
            config.server_pid,
            baseline,
            previous,
            0.0,
        ))
    };

    let connected = fleet.connected();
    let mut first_session_error = fleet.first_error.take();
    let outcomes = fleet.finish().await;
    let mut alive = 0;
    let mut heartbeats = 0;
    for o in &outcomes {
        heartbeats += o.heartbeats;
        if o.alive {
            alive += 1;
        } else if let Some(e) = &o.error {
            first_session_error.get_or_insert_with(|| e.clone());
        }
    }
    Ok(IdleReport {
        sessions: config.sessions,
        users,
        guilds: config.guilds,
        server_rss_baseline_kib: baseline,
        steps,
        hold_secs: config.hold.as_secs_f64(),
        after_hold,
        sessions_connected: connected,
        sessions_alive_at_end: alive,
        first_session_error,
        connection_endings: shared.stats.endings(),
        heartbeats_sent: heartbeats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_divides_growth_by_sessions() {
        // No pid: nothing to read, nothing to divide.
        let s = step(10, None, Some(1000), None, 0.0);
        assert!(s.server_rss_kib.is_none() && s.bytes_per_session.is_none());
        if cfg!(target_os = "linux") {
            let me = std::process::id();
            let s = step(1024, Some(me), Some(0), Some((0, 0)), 0.0);
            let rss = s.server_rss_kib.unwrap();
            assert_eq!(s.bytes_per_session, Some(rss as f64));
            assert_eq!(s.marginal_bytes_per_session, Some(rss as f64));
        }
    }
}
