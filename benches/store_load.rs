//! Sustained load on the embedded store, with latency percentiles.
//!
//! For each durability and each mix of concurrency (by default 1 writer and
//! 1 reader, then 4 and 4): writer tasks insert messages round-robin over a
//! few channels while reader tasks read pages of 50, alternating the newest page and an older one (`before`), for a
//! fixed time. Every operation's latency is kept; the table gives p50, p99,
//! max and throughput per kind of operation.
//!
//! Unpaced scenarios are a closed loop: each task starts its next operation
//! when the last one returns, which finds the store's capacity, and latency
//! includes waiting for its single writer connection behind the other
//! writers. Paced scenarios (`4x4@100`) start operations at a fixed rate,
//! which gives the latency at a given load.
//!
//! Run with `cargo bench --bench store_load`; settings are in
//! `support/load.rs` (`HEARTH_BENCH_SECS`, `HEARTH_BENCH_CONCURRENCY`, ...).

#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/load.rs"]
mod load;

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use hearth_model::Snowflake;
use hearth_store::{Durability, MessageStore, Page};

use fixture::Fixture;
use load::{LoadSettings, Mix, Summary};

/// Messages written to each channel before the clock starts: enough for a
/// full page of 50 before the pivot the `before` reads use.
const SEED_PER_CHANNEL: u64 = 120;
const PAGE: u32 = 50;

fn main() -> anyhow::Result<()> {
    let settings = LoadSettings::from_env()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    load::print_machine();
    println!(
        "store_load: {:?} per scenario, {} channels, closed loop",
        settings.duration, settings.channels
    );
    load::print_header();
    for name in &settings.durabilities {
        let durability: Durability = name.parse().map_err(anyhow::Error::msg)?;
        for &mix in &settings.concurrency {
            let report = rt.block_on(scenario(&settings, durability, mix))?;
            let label = mix.label();
            load::print_row(name, &label, "insert", &report.insert);
            load::print_row(name, &label, "list-50 latest", &report.latest);
            load::print_row(name, &label, "list-50 before", &report.before);
        }
    }
    Ok(())
}

struct Report {
    insert: Summary,
    latest: Summary,
    before: Summary,
}

async fn scenario(
    settings: &LoadSettings,
    durability: Durability,
    mix: Mix,
) -> anyhow::Result<Report> {
    let fx = Arc::new(Fixture::new(durability, settings.channels).await?);
    let history = fx.seed(SEED_PER_CHANNEL).await?;
    let pivots: Arc<Vec<Snowflake>> = Arc::new(
        history
            .iter()
            .map(|ids| ids[(SEED_PER_CHANNEL / 2) as usize])
            .collect(),
    );
    let max_ops = settings.max_ops_per_task;
    let start = Instant::now();
    let deadline = start + settings.duration;

    let writers: Vec<_> = (0..mix.writers)
        .map(|w| {
            let fx = fx.clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut pacer = mix.pacer(w, mix.writers, start);
                for i in 0..max_ops {
                    let began = pacer.next().await;
                    if began >= deadline {
                        break;
                    }
                    let channel = fx.channels[(w + i as usize) % fx.channels.len()];
                    let m = fx.message(channel, i);
                    fx.store
                        .insert_message(&m)
                        .await
                        .context("insert_message")?;
                    samples.push(began.elapsed());
                }
                anyhow::Ok(samples)
            })
        })
        .collect();

    let readers: Vec<_> = (0..mix.readers)
        .map(|r| {
            let (fx, pivots) = (fx.clone(), pivots.clone());
            tokio::spawn(async move {
                let (mut latest, mut before) = (Vec::new(), Vec::new());
                let mut pacer = mix.pacer(r, mix.readers, start);
                for i in 0..max_ops {
                    let began = pacer.next().await;
                    if began >= deadline {
                        break;
                    }
                    let c = (r + i as usize) % fx.channels.len();
                    let (page, samples) = if i % 2 == 0 {
                        (Page::Latest, &mut latest)
                    } else {
                        (Page::Before(pivots[c]), &mut before)
                    };
                    let got = fx
                        .store
                        .messages(fx.channels[c], page, PAGE)
                        .await
                        .context("messages")?;
                    anyhow::ensure!(got.len() == PAGE as usize, "a short page: {}", got.len());
                    samples.push(began.elapsed());
                }
                anyhow::Ok((latest, before))
            })
        })
        .collect();

    let mut inserts = Vec::new();
    for w in writers {
        inserts.extend(w.await??);
    }
    let (mut latest, mut before) = (Vec::new(), Vec::new());
    for r in readers {
        let (l, b) = r.await??;
        latest.extend(l);
        before.extend(b);
    }
    let elapsed = start.elapsed();
    fx.store.close().await;
    Ok(Report {
        insert: Summary::of(inserts, elapsed),
        latest: Summary::of(latest, elapsed),
        before: Summary::of(before, elapsed),
    })
}
