//! Message search over a large guild: latency percentiles of the kinds of
//! search people make, on the embedded store and (when
//! `HEARTH_BENCH_POSTGRES` names an admin URL) on PostgreSQL.
//!
//! The guild has 20 channels and 50 authors; every message holds 8 words
//! drawn from a 20,000-word vocabulary with a Zipf-like skew, so some words
//! are in a tenth of the messages and most in a handful, as in chat. One
//! message in 50 carries a link. Each kind of search runs `RUNS` times
//! with different words or authors, one at a time, through the store's
//! `search_messages` (what the route calls after its permission check):
//! the page of 25 and the total count.
//!
//! Run with `cargo bench --bench search`; `HEARTH_BENCH_MESSAGES` sets the
//! size (default 1,000,000), `HEARTH_BENCH_POSTGRES` adds the PostgreSQL
//! run (a database is made for it and dropped after; its statistics are
//! gathered after the load, as autovacuum would), `HEARTH_BENCH_SQLITE=0`
//! leaves SQLite out.

#[path = "support/fixture.rs"]
mod fixture;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hearth_model::{
    message_type, Channel, ChannelType, Message, Snowflake, SnowflakeGenerator, Timestamp, User,
};
use hearth_store::{
    Durability, MessageHas, MessageSearch, NewUser, PgStore, PostgresUrl, SearchIn, SqliteStore,
    Store,
};
use sqlx::Connection;

const CHANNELS: usize = 20;
const AUTHORS: usize = 50;
const VOCABULARY: u64 = 20_000;
const WORDS_PER_MESSAGE: usize = 8;
const RUNS: usize = 200;
/// Inserts in flight while seeding (one writer on SQLite; a pool on
/// PostgreSQL).
const SEEDERS: usize = 8;

/// A small deterministic generator (xorshift), so every run seeds the same.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A word rank with a Zipf-like skew: rank r is drawn about 1/r as
    /// often as the first.
    fn word(&mut self) -> u64 {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((VOCABULARY as f64).powf(u) as u64).clamp(1, VOCABULARY)
    }
}

fn word(rank: u64) -> String {
    format!("w{rank}x")
}

struct Guild20 {
    store: Arc<dyn Store>,
    guild_id: Snowflake,
    channels: Vec<Snowflake>,
    authors: Vec<User>,
}

async fn populate(store: Arc<dyn Store>, messages: u64) -> anyhow::Result<Guild20> {
    let ids = Arc::new(SnowflakeGenerator::new(1, 1));
    let mut authors = Vec::new();
    for i in 0..AUTHORS {
        authors.push(
            store
                .create_user(NewUser {
                    id: ids.next(),
                    username: format!("author{i}"),
                    global_name: None,
                    password_hash: None,
                    bot: false,
                })
                .await?,
        );
    }
    let guild_id = ids.next();
    let channels: Vec<Channel> = (0..CHANNELS)
        .map(|i| Channel {
            id: ids.next(),
            kind: ChannelType::Text,
            guild_id,
            position: i as i32,
            permission_overwrites: Vec::new(),
            name: format!("channel-{i}"),
            parent_id: None,
            nsfw: false,
            flags: 0,
            topic: None,
            last_message_id: None,
            rate_limit_per_user: Some(0),
            bitrate: None,
            user_limit: None,
            rtc_region: None,
            thread: None,
        })
        .collect();
    store
        .create_guild(
            &fixture::guild(guild_id, authors[0].id),
            &channels,
            Timestamp::now(),
        )
        .await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for seeder in 0..SEEDERS as u64 {
        let (store, ids) = (store.clone(), ids.clone());
        let (authors, channels) = (authors.clone(), channels.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (seeder + 1));
            let mut n = seeder;
            while n < messages {
                let mut words: Vec<String> =
                    (0..WORDS_PER_MESSAGE).map(|_| word(rng.word())).collect();
                if n % 50 == 0 {
                    words.push(format!("https://example.com/{n}"));
                }
                let c = &channels[(rng.next() % CHANNELS as u64) as usize];
                let author = &authors[(rng.next() % AUTHORS as u64) as usize];
                store
                    .insert_message(&message(ids.next(), c, author, words.join(" ")))
                    .await?;
                n += SEEDERS as u64;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    println!(
        "  seeded {messages} messages in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Guild20 {
        store,
        guild_id,
        channels: channels.iter().map(|c| c.id).collect(),
        authors,
    })
}

/// The searches measured, by name: each makes its `i`th query.
/// A kind of search: its name, and its `i`th query.
type SearchKind<'g> = (&'static str, Box<dyn Fn(usize) -> MessageSearch + 'g>);

fn searches(g: &Guild20) -> Vec<SearchKind<'_>> {
    let base = move || MessageSearch {
        scope: SearchIn::Guild(g.guild_id),
        limit: 25,
        ..MessageSearch::default()
    };
    vec![
        // Ranks 1-5: each in about a tenth of the messages.
        (
            "common word",
            Box::new(move |i| MessageSearch {
                words: vec![word(1 + (i as u64 % 5))],
                ..base()
            }),
        ),
        // Ranks in the thousands: tens to hundreds of messages each.
        (
            "rare word",
            Box::new(move |i| MessageSearch {
                words: vec![word(2_000 + i as u64 * 37)],
                ..base()
            }),
        ),
        (
            "two words",
            Box::new(move |i| MessageSearch {
                words: vec![word(1 + i as u64 % 20), word(50 + i as u64 * 3)],
                ..base()
            }),
        ),
        (
            "word + author",
            Box::new(move |i| MessageSearch {
                words: vec![word(10 + i as u64 % 40)],
                authors: vec![g.authors[i % AUTHORS].id],
                ..base()
            }),
        ),
        (
            "author only",
            Box::new(move |i| MessageSearch {
                authors: vec![g.authors[i % AUTHORS].id],
                ..base()
            }),
        ),
        (
            "word in one channel",
            Box::new(move |i| MessageSearch {
                words: vec![word(100 + i as u64)],
                scope: SearchIn::Channels(vec![g.channels[i % CHANNELS]]),
                ..base()
            }),
        ),
        (
            "has:link, page 4",
            Box::new(move |_| MessageSearch {
                has: vec![MessageHas::Link],
                offset: 75,
                ..base()
            }),
        ),
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

async fn measure(label: &str, g: &Guild20) -> anyhow::Result<()> {
    for (name, make) in searches(g) {
        let mut times = Vec::with_capacity(RUNS);
        let mut hits = 0u64;
        for i in 0..RUNS {
            let q = make(i);
            let t = Instant::now();
            let found = g.store.search_messages(&q).await?;
            times.push(t.elapsed());
            hits += found.total;
        }
        times.sort();
        println!(
            "| {label} | {name} | {:.2} ms | {:.2} ms | {:.2} ms | {} |",
            percentile(&times, 0.50).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
            hits / RUNS as u64
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let messages: u64 = std::env::var("HEARTH_BENCH_MESSAGES")
        .ok()
        .map(|v| v.parse())
        .transpose()
        .context("HEARTH_BENCH_MESSAGES")?
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        println!("search: {messages} messages, {CHANNELS} channels, {AUTHORS} authors, {RUNS} runs per kind");
        println!("| store | search | p50 | p99 | max | mean total_results |");
        println!("| --- | --- | --- | --- | --- | --- |");
        // `HEARTH_BENCH_SQLITE=0` leaves the embedded store out (to time
        // PostgreSQL alone).
        if std::env::var("HEARTH_BENCH_SQLITE").as_deref() != Ok("0") {
            let dir = fixture::bench_dir()?;
            let sqlite: Arc<dyn Store> =
                Arc::new(SqliteStore::open(dir.path(), Durability::Normal).await?);
            let g = populate(sqlite, messages).await?;
            measure("SQLite", &g).await?;
        }
        if let Ok(admin) = std::env::var("HEARTH_BENCH_POSTGRES") {
            let name = format!("hearth_bench_search_{}", std::process::id());
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await?;
            let url = match admin.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{name}"),
                None => anyhow::bail!("HEARTH_BENCH_POSTGRES has no database part"),
            };
            let outcome = async {
                let pg: Arc<dyn Store> = Arc::new(
                    PgStore::connect(&PostgresUrl::parse(&url).map_err(anyhow::Error::msg)?).await?,
                );
                let g = populate(pg, messages).await?;
                // What autovacuum does soon after a bulk load: without
                // statistics the planner walks a million index entries
                // for "this guild".
                let mut db = sqlx::PgConnection::connect(&url).await?;
                sqlx::query("ANALYZE messages").execute(&mut db).await?;
                measure("PostgreSQL", &g).await
            }
            .await;
            sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)")).execute(&mut conn).await?;
            outcome?;
        }
        anyhow::Ok(())
    })
}

fn message(id: Snowflake, channel: &Channel, author: &User, content: String) -> Message {
    Message {
        id,
        channel_id: channel.id,
        guild_id: Some(channel.guild_id),
        author: author.clone(),
        content,
        timestamp: Timestamp::now(),
        edited_timestamp: None,
        tts: false,
        mention_everyone: false,
        mentions: Vec::new(),
        mention_roles: Vec::new(),
        attachments: Vec::new(),
        embeds: Vec::new(),
        pinned: false,
        kind: message_type::DEFAULT,
        flags: 0,
        nonce: None,
        webhook_id: None,
        message_reference: None,
        referenced_message: None,
        reactions: Vec::new(),
        components: Vec::new(),
        application_id: None,
        interaction_metadata: None,
        interaction: None,
        call: None,
    }
}
