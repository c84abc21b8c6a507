//! Sustained load over HTTP against the real binary, with latency
//! percentiles.
//!
//! Starts `hearth serve --rate-limits off` on a fresh data directory and a
//! port the kernel picks on 127.0.0.1, registers a user, makes a guild with
//! a few text channels, then for each mix of concurrency drives clients
//! posting messages and clients reading the newest 50 for a fixed time. The server
//! is killed when the run ends (or fails).
//!
//! Unpaced scenarios are a closed loop (capacity); paced ones (`4x4@100`)
//! give the latency at a fixed load; see `store_load`.
//!
//! The binary is the one cargo builds for this bench (`target/release/hearth`
//! under `cargo bench`, the bench profile inheriting release); `HEARTH_BIN`
//! points elsewhere. Run with `cargo bench --bench http_load`; settings are
//! in `support/load.rs`. Client and server share the machine's cores.

#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/load.rs"]
mod load;
#[path = "support/server.rs"]
mod server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use load::{LoadSettings, Summary};
use server::Server;

/// Posts per channel before the clock starts, so the first pages are full.
const SEED_PER_CHANNEL: usize = 60;
const PAGE: usize = 50;

fn main() -> anyhow::Result<()> {
    let settings = LoadSettings::from_env()?;
    let bin = std::env::var_os("HEARTH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_hearth").into());
    anyhow::ensure!(bin.is_file(), "no server binary at {}", bin.display());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    load::print_machine();
    println!(
        "http_load: {:?} per scenario, {} channels, closed loop",
        settings.duration, settings.channels
    );
    load::print_header();
    for name in &settings.durabilities {
        let server = Server::start(&bin, &["--durability", name])?;
        let result = rt.block_on(run(&settings, &server, name));
        drop(server);
        result?;
    }
    Ok(())
}

/// The server process; killed and reaped when dropped, then its data
/// directory removed.
/// A client of one account.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: Arc<str>,
    token: Arc<str>,
}

impl Api {
    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let res = req
            .header("Authorization", &*self.token)
            .timeout(Duration::from_secs(30))
            .send()
            .await?;
        if !res.status().is_success() {
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            bail!("{status}: {body}");
        }
        Ok(res)
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let req = self.http.post(format!("{}{path}", self.base)).json(body);
        Ok(self.send(req).await?.json().await?)
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let req = self.http.get(format!("{}{path}", self.base));
        Ok(self.send(req).await?.json().await?)
    }
}

fn id(v: &Value, field: &str) -> anyhow::Result<String> {
    v[field]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no string {field:?} in {v}"))
}

async fn setup(server: &Server, channels: usize) -> anyhow::Result<(Api, Vec<String>)> {
    // Loopback only: never a proxy from the environment.
    let http = hearth_loadtest::http_client().no_proxy().build()?;
    let reply: Value = http
        .post(format!("{}/auth/register", server.api))
        .json(&json!({"username": "bench", "password": "bench-password"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let api = Api {
        http,
        base: server.api.as_str().into(),
        token: id(&reply, "token")?.into(),
    };
    let guild = api.post("/guilds", &json!({"name": "bench"})).await?;
    let guild_id = id(&guild, "id")?;
    let existing = api.get(&format!("/guilds/{guild_id}/channels")).await?;
    let general = id(&existing[0], "id")?;
    let mut ids = vec![general];
    for i in 1..channels {
        let c = api
            .post(
                &format!("/guilds/{guild_id}/channels"),
                &json!({"name": format!("bench-{i}")}),
            )
            .await?;
        ids.push(id(&c, "id")?);
    }
    for c in &ids {
        for n in 0..SEED_PER_CHANNEL {
            api.post(
                &format!("/channels/{c}/messages"),
                &json!({"content": format!("seed {n}")}),
            )
            .await?;
        }
        let page = api.get(&format!("/channels/{c}/messages?limit=50")).await?;
        anyhow::ensure!(
            page.as_array().map(Vec::len) == Some(PAGE),
            "a seeded channel's first page is not full"
        );
    }
    Ok((api, ids))
}

async fn run(settings: &LoadSettings, server: &Server, durability: &str) -> anyhow::Result<()> {
    let (api, channels) = setup(server, settings.channels).await?;
    let channels = Arc::new(channels);
    for &mix in &settings.concurrency {
        let max_ops = settings.max_ops_per_task;
        let start = Instant::now();
        let deadline = start + settings.duration;
        let posters: Vec<_> = (0..mix.writers)
            .map(|w| {
                let (api, channels) = (api.clone(), channels.clone());
                tokio::spawn(async move {
                    let mut samples = Vec::new();
                    let mut pacer = mix.pacer(w, mix.writers, start);
                    for i in 0..max_ops {
                        let began = pacer.next().await;
                        if began >= deadline {
                            break;
                        }
                        let c = &channels[(w + i as usize) % channels.len()];
                        let req = api
                            .http
                            .post(format!("{}/channels/{c}/messages", api.base))
                            .json(&json!({
                                "content": format!("message {i}: the quick brown fox jumps over the lazy dog")
                            }));
                        api.send(req).await?.bytes().await?;
                        samples.push(began.elapsed());
                    }
                    anyhow::Ok(samples)
                })
            })
            .collect();
        let readers: Vec<_> = (0..mix.readers)
            .map(|r| {
                let (api, channels) = (api.clone(), channels.clone());
                tokio::spawn(async move {
                    let mut samples = Vec::new();
                    let mut pacer = mix.pacer(r, mix.readers, start);
                    for i in 0..max_ops {
                        let began = pacer.next().await;
                        if began >= deadline {
                            break;
                        }
                        let c = &channels[(r + i as usize) % channels.len()];
                        let req = api
                            .http
                            .get(format!("{}/channels/{c}/messages?limit=50", api.base));
                        api.send(req).await?.bytes().await?;
                        samples.push(began.elapsed());
                    }
                    anyhow::Ok(samples)
                })
            })
            .collect();
        let (mut posts, mut lists) = (Vec::new(), Vec::new());
        for p in posters {
            posts.extend(p.await??);
        }
        for r in readers {
            lists.extend(r.await??);
        }
        let elapsed = start.elapsed();
        let label = mix.label();
        load::print_row(
            durability,
            &label,
            "POST message",
            &Summary::of(posts, elapsed),
        );
        load::print_row(
            durability,
            &label,
            "GET list-50",
            &Summary::of(lists, elapsed),
        );
    }
    Ok(())
}
