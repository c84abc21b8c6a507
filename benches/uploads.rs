//! Uploads against the real binary: throughput, and the server's memory
//! while many clients upload large files at once.
//!
//! Starts `hearth serve` (rate limits off, files in its data directory),
//! then for each round has `HEARTH_BENCH_UPLOAD_CLIENTS` clients (default
//! 20) each post one message with a file of `HEARTH_BENCH_UPLOAD_MB`
//! megabytes (default 25) at the same time. The bodies are generated as
//! they are sent, so the bench holds no file in memory either. The
//! server's resident memory is sampled every 20 ms; the point is that it
//! stays flat — uploads are streamed to disk, never buffered whole.
//!
//! Run with `cargo bench --bench uploads`; `HEARTH_BIN` points at another
//! binary, `HEARTH_BENCH_UPLOAD_ROUNDS` sets the rounds (default 3).

#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/server.rs"]
mod server;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use serde_json::{json, Value};
use server::Server;

const BOUNDARY: &str = "hearth-bench-boundary";
const CHUNK: usize = 64 * 1024;

fn env_or(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(v) => v.parse().with_context(|| format!("{name}={v}")),
        Err(_) => Ok(default),
    }
}

/// The server's resident set in KiB, from /proc.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A multipart body with one file of `len` bytes, made as it is sent.
fn body(len: u64) -> reqwest::Body {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{{\"content\":\"bench\"}}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"big.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let chunk = Bytes::from(vec![0x5a; CHUNK]);
    let full = len / CHUNK as u64;
    let rest = (len % CHUNK as u64) as usize;
    let file = futures_util::stream::iter(
        (0..full)
            .map(move |_| chunk.clone())
            .chain((rest > 0).then(|| Bytes::from(vec![0x5a; rest]))),
    );
    let parts = futures_util::stream::once(async move { Bytes::from(head) })
        .chain(file)
        .chain(futures_util::stream::once(async move { Bytes::from(tail) }));
    reqwest::Body::wrap_stream(futures_util::StreamExt::map(parts, Ok::<_, std::io::Error>))
}

use futures_util::StreamExt;

fn main() -> anyhow::Result<()> {
    let bin = std::env::var_os("HEARTH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_hearth").into());
    let clients = env_or("HEARTH_BENCH_UPLOAD_CLIENTS", 20)?;
    let mb = env_or("HEARTH_BENCH_UPLOAD_MB", 25)?;
    let rounds = env_or("HEARTH_BENCH_UPLOAD_ROUNDS", 3)?;
    let len = mb * 1024 * 1024;
    let limit = (len + 1024 * 1024).to_string();
    let per_message = (len + 2 * 1024 * 1024).to_string();
    let server = Server::start(
        &bin,
        &[
            "--max-upload-bytes",
            &limit,
            "--max-message-upload-bytes",
            &per_message,
        ],
    )?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!("uploads: {clients} clients x {mb} MiB at once, {rounds} rounds");
    println!("round  wall_s  MiB/s  upload_p50_s  upload_max_s  rss_before_MiB  rss_peak_MiB  rss_after_MiB");
    rt.block_on(async {
        let http = hearth_loadtest::http_client().no_proxy().build()?;
        let reply: Value = http
            .post(format!("{}/auth/register", server.api))
            .json(&json!({"username": "bench", "password": "bench password 1"}))
            .send()
            .await?
            .json()
            .await?;
        let token = reply["token"].as_str().context("no token")?.to_owned();
        let guild: Value = http
            .post(format!("{}/guilds", server.api))
            .header("Authorization", &token)
            .json(&json!({"name": "uploads"}))
            .send()
            .await?
            .json()
            .await?;
        let guild_id = guild["id"].as_str().context("no guild id")?;
        let channels: Value = http
            .get(format!("{}/guilds/{guild_id}/channels", server.api))
            .header("Authorization", &token)
            .send()
            .await?
            .json()
            .await?;
        let channel = channels
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == 0))
            .and_then(|c| c["id"].as_str())
            .context("no text channel")?
            .to_owned();
        let url = format!("{}/channels/{channel}/messages", server.api);
        for round in 1..=rounds {
            let pid = server.pid();
            let before = rss_kib(pid).unwrap_or(0);
            let peak = Arc::new(AtomicU64::new(before));
            let done = Arc::new(AtomicBool::new(false));
            let sampler = {
                let (peak, done) = (peak.clone(), done.clone());
                tokio::spawn(async move {
                    while !done.load(Ordering::Relaxed) {
                        if let Some(r) = rss_kib(pid) {
                            peak.fetch_max(r, Ordering::Relaxed);
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                })
            };
            let started = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..clients {
                let (http, url, token) = (http.clone(), url.clone(), token.clone());
                tasks.push(tokio::spawn(async move {
                    let t = Instant::now();
                    let res = http
                        .post(&url)
                        .header("Authorization", &token)
                        .header(
                            "Content-Type",
                            format!("multipart/form-data; boundary={BOUNDARY}"),
                        )
                        .body(body(len))
                        .timeout(Duration::from_secs(600))
                        .send()
                        .await?;
                    anyhow::ensure!(res.status().is_success(), "upload: {}", res.status());
                    let m: Value = res.json().await?;
                    anyhow::ensure!(m["attachments"][0]["size"] == len, "stored size: {m}");
                    Ok::<_, anyhow::Error>(t.elapsed())
                }));
            }
            let mut each = Vec::new();
            for t in tasks {
                each.push(t.await??);
            }
            let wall = started.elapsed();
            done.store(true, Ordering::Relaxed);
            sampler.await?;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let after = rss_kib(pid).unwrap_or(0);
            each.sort();
            let mib = |k: u64| k as f64 / 1024.0;
            println!(
                "{round:>5}  {:>6.2}  {:>5.0}  {:>12.2}  {:>12.2}  {:>14.1}  {:>12.1}  {:>13.1}",
                wall.as_secs_f64(),
                (clients * len) as f64 / 1048576.0 / wall.as_secs_f64(),
                each[each.len() / 2].as_secs_f64(),
                each[each.len() - 1].as_secs_f64(),
                mib(before),
                mib(peak.load(Ordering::Relaxed)),
                mib(after),
            );
        }
        Ok::<_, anyhow::Error>(())
    })?;
    drop(server);
    Ok(())
}
