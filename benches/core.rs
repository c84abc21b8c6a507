//! Micro-benchmarks of the hot paths under every REST call: permission
//! computation, snowflake generation, and the SQLite message insert and
//! page reads.
//!
//! Run with `cargo bench --bench core`. Measurement times are short so the
//! whole target finishes in a few minutes on two cores; tail latencies under
//! sustained load are in `store_load` and `http_load`.

#[path = "support/fixture.rs"]
mod fixture;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use hearth_model::permissions::{MemberContext, OverwriteRule, OverwriteTarget};
use hearth_model::{Overwrite, Permissions, Snowflake, SnowflakeGenerator};
use hearth_store::{Durability, MessageStore, NewEmoji, Page, ReactionKey, ReactionStore};

use fixture::Fixture;

const GUILD: Snowflake = Snowflake(900_000_000_000_000_000);
const OWNER: Snowflake = Snowflake(900_000_000_000_000_001);
const MEMBER: Snowflake = Snowflake(900_000_000_000_000_002);

fn role(n: u64) -> Snowflake {
    Snowflake(900_000_000_000_001_000 + n)
}

/// A member of a community guild: @everyone plus five roles (a level role,
/// two cosmetic ones, a moderator role and a voice role), none of them
/// administrator.
fn member_roles() -> Vec<(Snowflake, Permissions)> {
    vec![
        (
            role(1),
            Permissions::ATTACH_FILES | Permissions::EMBED_LINKS,
        ),
        (role(2), Permissions::NONE),
        (role(3), Permissions::CHANGE_NICKNAME),
        (
            role(4),
            Permissions::MANAGE_MESSAGES
                | Permissions::MODERATE_MEMBERS
                | Permissions::KICK_MEMBERS,
        ),
        (
            role(5),
            Permissions::CONNECT | Permissions::SPEAK | Permissions::STREAM,
        ),
    ]
}

/// A staff-announcements style channel: hidden from @everyone, opened to
/// some roles (two of which the member has), closed to one, and a personal
/// overwrite for the member.
fn channel_overwrites() -> Vec<OverwriteRule> {
    let rule = |id, target, allow, deny| OverwriteRule {
        id,
        target,
        allow,
        deny,
    };
    use OverwriteTarget::{Member, Role};
    vec![
        rule(GUILD, Role, Permissions::NONE, Permissions::VIEW_CHANNEL),
        rule(role(9), Role, Permissions::VIEW_CHANNEL, Permissions::NONE),
        rule(
            role(1),
            Role,
            Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY,
            Permissions::NONE,
        ),
        rule(
            role(4),
            Role,
            Permissions::SEND_MESSAGES | Permissions::MENTION_EVERYONE,
            Permissions::NONE,
        ),
        rule(role(7), Role, Permissions::NONE, Permissions::SEND_MESSAGES),
        rule(
            MEMBER,
            Member,
            Permissions::NONE,
            Permissions::ADD_REACTIONS,
        ),
    ]
}

fn permissions(c: &mut Criterion) {
    let roles = member_roles();
    let overwrites = channel_overwrites();
    let member = MemberContext {
        guild_id: GUILD,
        owner_id: OWNER,
        user_id: MEMBER,
        everyone: Permissions::EVERYONE_DEFAULT,
        roles: &roles,
        timed_out: false,
    };
    // The computation must see the overwrites, or the bench measures nothing.
    let seen = member.channel_permissions(&overwrites);
    assert!(seen.contains(Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES));
    assert!(!seen.contains(Permissions::ADD_REACTIONS));

    let mut g = c.benchmark_group("permissions");
    g.bench_function("guild_permissions/5_roles", |b| {
        b.iter(|| black_box(&member).guild_permissions())
    });
    g.bench_function("channel_permissions/5_roles_6_overwrites", |b| {
        b.iter(|| black_box(&member).channel_permissions(black_box(&overwrites)))
    });
    // What a request does with a stored channel: convert its overwrites to
    // rules (an allocation), then compute.
    let channel_overwrites: Vec<Overwrite> = overwrites
        .iter()
        .map(|o| Overwrite {
            id: o.id,
            kind: u8::from(o.target == OverwriteTarget::Member),
            allow: o.allow,
            deny: o.deny,
        })
        .collect();
    g.bench_function("channel_permissions/from_stored_channel", |b| {
        b.iter(|| {
            let rules: Vec<OverwriteRule> = black_box(&channel_overwrites)
                .iter()
                .map(Overwrite::rule)
                .collect();
            member.channel_permissions(&rules)
        })
    });
    g.finish();
}

fn snowflakes(c: &mut Criterion) {
    let ids = SnowflakeGenerator::new(1, 1);
    let mut g = c.benchmark_group("snowflake");
    g.bench_function("next", |b| b.iter(|| black_box(&ids).next()));
    g.finish();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds on any platform tokio supports")
}

fn sqlite_messages(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("sqlite");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    for (name, durability) in [("full", Durability::Full), ("normal", Durability::Normal)] {
        let fx = rt
            .block_on(Fixture::new(durability, 1))
            .expect("bench store opens");
        let channel = fx.channels[0];
        let mut n = 0;
        g.bench_function(format!("insert_message/{name}"), |b| {
            b.iter_batched(
                || {
                    n += 1;
                    fx.message(channel, n)
                },
                |m| rt.block_on(fx.store.insert_message(&m)).expect("insert"),
                BatchSize::SmallInput,
            )
        });
        rt.block_on(fx.store.close());
    }

    // Reads do not depend on durability. One channel of 10,000 messages, all
    // in the current partition: `before` pages are read 1,000 and 9,000
    // messages back, because how far back a page is may matter (the store
    // finds the pivot inside its partition).
    const HISTORY: usize = 10_000;
    let fx = rt
        .block_on(Fixture::new(Durability::Normal, 1))
        .expect("bench store opens");
    let history = rt.block_on(fx.seed(HISTORY as u64)).expect("seed");
    let channel = fx.channels[0];
    let page = |p: Page| {
        let got = rt
            .block_on(fx.store.messages(channel, p, 50))
            .expect("list");
        assert_eq!(got.len(), 50, "a full page");
        got
    };
    let mut pages = vec![("list_50/latest".to_owned(), Page::Latest)];
    for back in [1_000, 9_000] {
        let pivot = history[0][HISTORY - back];
        pages.push((format!("list_50/before/{back}_back"), Page::Before(pivot)));
    }
    for (name, p) in pages {
        page(p);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(page(p));
                }
                start.elapsed()
            })
        });
    }
    // What a page read adds for its reactions (one more query, for the
    // reader's `me`): on a page without any, then with three emoji from
    // five users on each of its 50 messages.
    let newest: Vec<Snowflake> = history[0][HISTORY - 50..].to_vec();
    let counts = |name: &str, g: &mut criterion::BenchmarkGroup<'_, _>| {
        g.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    rt.block_on(fx.store.reaction_counts(channel, &newest, OWNER))
                        .expect("counts"),
                )
            })
        });
    };
    counts("reaction_counts_50/none", &mut g);
    for m in &newest {
        for emoji in ["👍", "🎉", "❤️"] {
            for user in 0..5 {
                let key = ReactionKey {
                    channel_id: channel,
                    message_id: *m,
                    emoji,
                };
                rt.block_on(fx.store.add_reaction(
                    key,
                    Snowflake(OWNER.0 + user),
                    hearth_model::Timestamp::now(),
                    NewEmoji::Allowed { max: 20 },
                ))
                .expect("react");
            }
        }
    }
    counts("reaction_counts_50/750_reactions", &mut g);
    g.finish();
    rt.block_on(fx.store.close());
}

fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

criterion_group! {
    name = model;
    config = quick();
    targets = permissions, snowflakes
}
criterion_group! {
    name = store;
    config = quick();
    targets = sqlite_messages
}
criterion_main!(model, store);
