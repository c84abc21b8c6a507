//! `hearth-loadtest`: command line and report output; the scenarios are in
//! the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hearth_loadtest::chat::{self, ChatConfig, Churn};
use hearth_loadtest::hostile::HostileConfig;
use hearth_loadtest::idle::{self, IdleConfig};
use hearth_loadtest::soak::{self, SoakConfig};
use hearth_loadtest::system::raise_fd_limit;
use hearth_loadtest::voice::{self, VoiceConfig};
use hearth_loadtest::DEFAULT_INTENTS;
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "hearth-loadtest",
    about = "Simulated clients for a running Hearth server (start it with --rate-limits off)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sessions in guilds receive messages posted over REST; every delivery
    /// is checked. Exits 1 if anything was lost or duplicated.
    Chat(ChatArgs),
    /// Sessions that only heartbeat: the server's memory per session.
    Idle(IdleArgs),
    /// Participants in voice channels, each a real WebRTC client (str0m):
    /// join times, loss, jitter, latency, and the server's cost per
    /// forwarded packet. Exits 1 if a participant failed to join or loss
    /// exceeded --max-loss.
    Voice(VoiceArgs),
    /// Chat with churn, voice calls and hostile clients together for a long
    /// run. Exits 1 unless nothing was lost or duplicated, every call held,
    /// no hostile request got a 5xx and the server's memory stayed flat.
    Soak(SoakArgs),
}

#[derive(Args)]
struct SoakArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// How long the real clients chat and call.
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    duration: Duration,
    /// Chat: gateway sessions (with churn: 2 % dropped and resumed every second).
    #[arg(long, default_value_t = 500)]
    sessions: usize,
    /// Chat: guilds.
    #[arg(long, default_value_t = 10)]
    guilds: usize,
    /// Chat: messages per second over all guilds.
    #[arg(long, default_value = "20/s", value_parser = parse_rate)]
    rate: f64,
    /// Voice: rooms, each with 2 publishers and 3 listeners.
    #[arg(long, default_value_t = 10)]
    rooms: usize,
    /// Voice: the largest loss, in percent, that still passes.
    #[arg(long, default_value_t = 1.0)]
    max_loss: f64,
    /// Hostile: idle TCP connections held at once.
    #[arg(long, default_value_t = 200)]
    idle_connections: usize,
    /// Hostile: unidentified zstd gateway connections held at once.
    #[arg(long, default_value_t = 100)]
    unidentified: usize,
    /// Hostile: sessions one member opens and drops per second.
    #[arg(long, default_value = "20/s", value_parser = parse_rate)]
    session_flood: f64,
    /// Hostile: malformed requests per second.
    #[arg(long, default_value = "20/s", value_parser = parse_rate)]
    bad_requests: f64,
    /// How often to read the server's memory.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    memory_every: Duration,
    /// Allowed memory growth, in percent, from the run's second quarter to
    /// its last.
    #[arg(long, default_value_t = 10.0)]
    max_memory_growth: f64,
    /// The server's process id (its memory is judged only when given).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Also write the report as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum VoiceTarget {
    Hearth,
    Janus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Video {
    None,
    Vp8,
}

#[derive(Args)]
struct VoiceArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Whose signaling to speak: Hearth's, or a Janus VideoRoom's (at
    /// --janus-url; no REST set-up, and CPU per forwarded packet needs
    /// --server-pid).
    #[arg(long, value_enum, default_value_t = VoiceTarget::Hearth)]
    target: VoiceTarget,
    /// Janus' WebSocket API, with --target janus.
    #[arg(long, default_value = "ws://127.0.0.1:8188")]
    janus_url: String,
    /// Voice channels (each in its own guild).
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// Participants per room that publish audio (and video, with --video).
    #[arg(long, default_value_t = 2)]
    publishers: usize,
    /// Participants per room that only listen.
    #[arg(long, default_value_t = 2)]
    subscribers: usize,
    /// Publishers also send video.
    #[arg(long, value_enum, default_value_t = Video::None)]
    video: Video,
    /// With --video vp8: each publisher's video bitrate (with --simulcast,
    /// its top layer's).
    #[arg(long, default_value_t = 500)]
    video_kbps: u32,
    /// With --video vp8: publishers send three simulcast layers (rids q, h,
    /// f at a quarter, half and all of --video-kbps), and listener k of a
    /// room asks for high, medium, low quality in turn (k % 3).
    #[arg(long)]
    simulcast: bool,
    /// With --video vp8: a keyframe this often (and whenever one is asked for).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    keyframe_interval: Duration,
    /// Publishers alternate talk spurts (1-4 s) and silences (1-6 s), with
    /// Opus DTX while silent.
    #[arg(long)]
    simulate_speakers: bool,
    /// The steady phase, once every participant joined or failed.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Participants started per second, e.g. `50/s`.
    #[arg(long, default_value = "50/s", value_parser = parse_rate)]
    ramp: f64,
    /// Media threads; each owns many peers and their sockets.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Op 4 to joined (connected, and media from another participant).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    join_timeout: Duration,
    /// The largest loss, in percent, that still passes.
    #[arg(long, default_value_t = 1.0)]
    max_loss: f64,
    /// The server's process id: its CPU and memory go into the report.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Also write the report as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write a self-contained HTML report with charts here.
    #[arg(long)]
    html: Option<PathBuf>,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct Common {
    /// The server's base URL. Chat: several nodes of one cluster, repeated
    /// or separated by commas; sessions and posts are spread over them.
    #[arg(
        long = "url",
        value_name = "URL",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:8080"
    )]
    urls: Vec<String>,
    /// Gateway sessions to open.
    #[arg(long, default_value_t = 100)]
    sessions: usize,
    /// Guilds to spread the users (and so the sessions) over.
    #[arg(long, default_value_t = 1)]
    guilds: usize,
    /// Users to register [default: one per session up to 100, at least one
    /// per guild]. Sessions are spread over them.
    #[arg(long)]
    users: Option<usize>,
    /// Gateway intents for every session.
    #[arg(long, default_value_t = DEFAULT_INTENTS)]
    intents: u64,
    /// Sessions connecting and identifying at once.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// The server's process id: its memory and CPU go into the report.
    /// Chat: one per node, in the order of the URLs.
    #[arg(long = "server-pid", value_name = "PID", value_delimiter = ',')]
    server_pids: Vec<u32>,
    /// Also write the report as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
}

impl Common {
    /// The one node idle runs against.
    fn single_node(&self) -> anyhow::Result<(String, Option<u32>)> {
        match (self.urls.as_slice(), self.server_pids.as_slice()) {
            ([url], [] | [_]) => Ok((url.clone(), self.server_pids.first().copied())),
            _ => anyhow::bail!(
                "this scenario runs against one node: give one --url and at most one --server-pid"
            ),
        }
    }
}

#[derive(Args)]
struct ChatArgs {
    #[command(flatten)]
    common: Common,
    /// Messages per second over all guilds, e.g. `20/s` (also `/m`).
    #[arg(long, default_value = "10/s", value_parser = parse_rate)]
    rate: f64,
    /// How long to post, e.g. `30s`, `2m`, `500ms`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Drop some sessions' TCP connections during the run and resume them.
    #[arg(long)]
    churn: bool,
    /// With --churn: how often a round of drops happens.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    churn_every: Duration,
    /// With --churn: the share of sessions dropped each round.
    #[arg(long, default_value_t = 0.02)]
    churn_fraction: f64,
    /// With --churn: how long a dropped session waits before resuming.
    #[arg(long, default_value = "250ms", value_parser = parse_duration)]
    churn_downtime: Duration,
    /// How long to wait after the last post for deliveries still on their way.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    drain: Duration,
    /// Posts in flight at once.
    #[arg(long, default_value_t = 64)]
    post_concurrency: usize,
    /// Members of the guild who ack each posted message (read states).
    #[arg(long, default_value_t = 0)]
    acks_per_message: usize,
    /// The process id of the Redis the nodes share: its CPU goes into the
    /// report.
    #[arg(long)]
    redis_pid: Option<u32>,
}

#[derive(Args)]
struct IdleArgs {
    #[command(flatten)]
    common: Common,
    /// Session counts to read the server's memory at on the way, e.g.
    /// `1000,5000` (the last reading is always at --sessions).
    #[arg(long, value_delimiter = ',')]
    checkpoints: Vec<usize>,
    /// How long to let the server settle before each reading.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    settle: Duration,
    /// How long to hold every session idle (heartbeating) after the last step.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    hold: Duration,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().map_err(|_| format!("not a duration: {s:?}"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("unknown unit in {s:?} (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (n, per) = match s.split_once('/') {
        Some((n, per)) => (n, per),
        None => (s, "s"),
    };
    let n: f64 = n
        .trim()
        .parse()
        .map_err(|_| format!("not a rate: {s:?} (e.g. 20/s)"))?;
    let per_secs = match per.trim() {
        "s" => 1.0,
        "m" | "min" => 60.0,
        _ => return Err(format!("unknown rate unit in {s:?} (use /s or /m)")),
    };
    if n.is_nan() || n < 0.0 || !n.is_finite() {
        return Err(format!("the rate must be a number >= 0: {s:?}"));
    }
    Ok(n / per_secs)
}

fn write_json<T: Serialize>(path: &Option<PathBuf>, report: &T) -> anyhow::Result<()> {
    if let Some(path) = path {
        let json = serde_json::to_string_pretty(report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Chat(a) => {
            let c = a.common;
            let config = ChatConfig {
                urls: c.urls,
                sessions: c.sessions,
                guilds: c.guilds,
                users: c.users,
                rate: a.rate,
                duration: a.duration,
                churn: a.churn.then_some(Churn {
                    every: a.churn_every,
                    fraction: a.churn_fraction,
                    downtime: a.churn_downtime,
                }),
                drain: a.drain,
                intents: c.intents,
                connect_concurrency: c.connect_concurrency,
                post_concurrency: a.post_concurrency,
                server_pids: c.server_pids,
                redis_pid: a.redis_pid,
                acks_per_message: a.acks_per_message,
            };
            let report = chat::run(config).await?;
            println!("{report}");
            write_json(&c.out, &report)?;
            Ok(report.clean())
        }
        Command::Idle(a) => {
            let c = a.common;
            let (url, server_pid) = c.single_node()?;
            let config = IdleConfig {
                url,
                sessions: c.sessions,
                guilds: c.guilds,
                users: c.users,
                checkpoints: a.checkpoints,
                settle: a.settle,
                hold: a.hold,
                server_pid,
                intents: c.intents,
                connect_concurrency: c.connect_concurrency,
            };
            let report = idle::run(config).await?;
            print!("{report}");
            write_json(&c.out, &report)?;
            Ok(report.clean())
        }
        Command::Soak(a) => {
            let mut chat = ChatConfig::new(a.url.clone());
            chat.sessions = a.sessions;
            chat.guilds = a.guilds;
            chat.rate = a.rate;
            chat.duration = a.duration;
            chat.churn = Some(Churn {
                every: Duration::from_secs(1),
                fraction: 0.02,
                downtime: Duration::from_millis(250),
            });
            chat.server_pids = a.server_pid.into_iter().collect();
            let mut voice = VoiceConfig::new(a.url.clone());
            voice.rooms = a.rooms;
            voice.publishers = 2;
            voice.subscribers = 3;
            voice.duration = a.duration;
            voice.max_loss = a.max_loss / 100.0;
            voice.server_pid = a.server_pid;
            voice.progress = false;
            let mut hostile = HostileConfig::new(a.url);
            hostile.idle_connections = a.idle_connections;
            hostile.unidentified = a.unidentified;
            hostile.session_flood_per_sec = a.session_flood;
            hostile.bad_requests_per_sec = a.bad_requests;
            let report = soak::run(SoakConfig {
                chat,
                voice,
                hostile,
                server_pid: a.server_pid,
                memory_every: a.memory_every,
                max_memory_growth: a.max_memory_growth / 100.0,
            })
            .await?;
            println!("{report}");
            write_json(&a.out, &report)?;
            Ok(report.passed)
        }
        Command::Voice(a) => {
            if !(0.0..=100.0).contains(&a.max_loss) {
                anyhow::bail!("--max-loss is a percentage between 0 and 100");
            }
            if a.simulcast && a.video != Video::Vp8 {
                anyhow::bail!("--simulcast needs --video vp8");
            }
            let config = VoiceConfig {
                url: a.url,
                target: match a.target {
                    VoiceTarget::Hearth => voice::Target::Hearth,
                    VoiceTarget::Janus => voice::Target::Janus { url: a.janus_url },
                },
                rooms: a.rooms,
                publishers: a.publishers,
                subscribers: a.subscribers,
                video_kbps: (a.video == Video::Vp8).then_some(a.video_kbps),
                simulcast: a.simulcast,
                keyframe_interval: a.keyframe_interval,
                simulate_speakers: a.simulate_speakers,
                duration: a.duration,
                ramp: a.ramp,
                client_threads: a.client_threads,
                join_timeout: a.join_timeout,
                max_loss: a.max_loss / 100.0,
                server_pid: a.server_pid,
                progress: !a.quiet,
            };
            let report = voice::run(config).await?;
            println!("{report}");
            write_json(&a.out, &report)?;
            if let Some(path) = &a.html {
                std::fs::write(path, voice::html::render(&report))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(report.passed)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(limit) = raise_fd_limit() {
        if limit < 4096 {
            eprintln!(
                "note: only {limit} file descriptors allowed; large runs will fail to connect"
            );
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_rates_parse_with_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_rate("20/s"), Ok(20.0));
        assert_eq!(parse_rate("120/m"), Ok(2.0));
        assert_eq!(parse_rate("5"), Ok(5.0));
        assert!(parse_rate("-1/s").is_err());
        assert!(parse_rate("5/h").is_err());
    }

    fn chat_args(args: &[&str]) -> ChatArgs {
        let argv = ["hearth-loadtest", "chat"].iter().chain(args);
        match Cli::try_parse_from(argv)
            .expect("the arguments parse")
            .command
        {
            Command::Chat(a) => a,
            _ => unreachable!("parsed as chat"),
        }
    }

    #[test]
    fn chat_takes_nodes_repeated_or_separated_by_commas() {
        let one = chat_args(&[]);
        assert_eq!(one.common.urls, ["http://127.0.0.1:8080"]);
        assert!(one.common.server_pids.is_empty());

        let repeated = chat_args(&["--url", "http://a:1", "--url", "http://b:2"]);
        assert_eq!(repeated.common.urls, ["http://a:1", "http://b:2"]);
        let listed = chat_args(&["--url", "http://a:1,http://b:2", "--server-pid", "10,11"]);
        assert_eq!(listed.common.urls, ["http://a:1", "http://b:2"]);
        assert_eq!(listed.common.server_pids, [10, 11]);
    }

    #[test]
    fn idle_refuses_several_nodes() {
        let argv = ["hearth-loadtest", "idle", "--url", "http://a:1,http://b:2"];
        let Command::Idle(a) = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!("parsed as idle")
        };
        assert!(a.common.single_node().is_err());
        let argv = ["hearth-loadtest", "idle", "--server-pid", "7"];
        let Command::Idle(a) = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!("parsed as idle")
        };
        assert_eq!(
            a.common.single_node().unwrap(),
            ("http://127.0.0.1:8080".to_string(), Some(7))
        );
    }
}
