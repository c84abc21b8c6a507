//! Moving a single node's embedded SQLite database into PostgreSQL, for an
//! operator whose Hearth outgrew one machine (`hearth admin
//! copy-to-postgres`).
//!
//! Both backends have the same tables and columns (`postgres/schema_v1.sql`
//! says so); only the types differ: SQLite keeps booleans as integers. The
//! copy reads every table in an order that satisfies the foreign keys and
//! writes it into an empty PostgreSQL database in one transaction: either
//! everything arrives, or nothing does and the database stays empty.
//! Interactions and their ephemeral messages are not copied: they live 15
//! minutes, and the copy is made with the node stopped.

use futures_util::TryStreamExt;
use sqlx::{Postgres, QueryBuilder, Row};

use crate::error::StoreError;
use crate::{PgStore, Result, SqliteStore};

/// How a column is read from SQLite and written to PostgreSQL.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Bool,
    Text,
    Bytes,
}

use Kind::*;

/// Every table, parents before children, with its columns.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "users",
        &[
            ("id", Int),
            ("username", Text),
            ("global_name", Text),
            ("avatar", Text),
            ("bot", Bool),
            ("password_hash", Text),
            ("instance_admin", Bool),
            ("default_guilds_restricted", Bool),
        ],
    ),
    (
        "tokens",
        &[("hash", Bytes), ("user_id", Int), ("created_at", Int)],
    ),
    (
        "applications",
        &[
            ("id", Int),
            ("owner_id", Int),
            ("name", Text),
            ("description", Text),
            ("flags", Int),
            ("bot_public", Bool),
        ],
    ),
    (
        "guilds",
        &[
            ("id", Int),
            ("name", Text),
            ("icon", Text),
            ("description", Text),
            ("owner_id", Int),
            ("afk_channel_id", Int),
            ("afk_timeout", Int),
            ("system_channel_id", Int),
            ("default_message_notifications", Int),
        ],
    ),
    (
        "roles",
        &[
            ("id", Int),
            ("guild_id", Int),
            ("name", Text),
            ("color", Int),
            ("hoist", Bool),
            ("position", Int),
            ("permissions", Int),
            ("managed", Bool),
            ("mentionable", Bool),
            ("bot_id", Int),
        ],
    ),
    (
        "channels",
        &[
            ("id", Int),
            ("guild_id", Int),
            ("type", Int),
            ("name", Text),
            ("position", Int),
            ("parent_id", Int),
            ("topic", Text),
            ("nsfw", Bool),
            ("rate_limit_per_user", Int),
            ("bitrate", Int),
            ("user_limit", Int),
            ("rtc_region", Text),
            ("overwrites", Text),
            ("last_message_id", Int),
            ("owner_id", Int),
            ("archived", Bool),
            ("locked", Bool),
            ("invitable", Bool),
            ("auto_archive_duration", Int),
            ("archive_timestamp", Int),
            ("created_at", Int),
            ("last_active", Int),
            ("message_count", Int),
            ("member_count", Int),
            ("total_message_sent", Int),
        ],
    ),
    (
        "blocks",
        &[("user_id", Int), ("blocked_id", Int), ("since", Int)],
    ),
    (
        "thread_members",
        &[("thread_id", Int), ("user_id", Int), ("joined_at", Int)],
    ),
    (
        "members",
        &[
            ("guild_id", Int),
            ("user_id", Int),
            ("nick", Text),
            ("roles", Text),
            ("joined_at", Int),
            ("deaf", Bool),
            ("mute", Bool),
            ("timeout_until", Int),
            ("dms_restricted", Bool),
        ],
    ),
    (
        "bans",
        &[("guild_id", Int), ("user_id", Int), ("reason", Text)],
    ),
    (
        "invites",
        &[
            ("code", Text),
            ("guild_id", Int),
            ("channel_id", Int),
            ("inviter_id", Int),
            ("max_age", Int),
            ("max_uses", Int),
            ("uses", Int),
            ("temporary", Bool),
            ("created_at", Int),
        ],
    ),
    (
        "webhooks",
        &[
            ("id", Int),
            ("guild_id", Int),
            ("channel_id", Int),
            ("creator_id", Int),
            ("name", Text),
            ("avatar", Text),
            ("token", Text),
        ],
    ),
    (
        "application_commands",
        &[
            ("id", Int),
            ("application_id", Int),
            ("guild_id", Int),
            ("type", Int),
            ("name", Text),
            ("definition", Text),
        ],
    ),
    (
        "messages",
        &[
            ("channel_id", Int),
            ("bucket", Int),
            ("id", Int),
            ("guild_id", Int),
            ("author_id", Int),
            ("webhook_id", Int),
            ("author_json", Text),
            ("content", Text),
            ("edited_at", Int),
            ("tts", Bool),
            ("mention_everyone", Bool),
            ("mentions", Text),
            ("mention_roles", Text),
            ("embeds", Text),
            ("nonce", Text),
            ("type", Int),
            ("flags", Int),
            ("pinned", Bool),
            ("reference", Text),
            ("components", Text),
            ("application_id", Int),
            ("interaction", Text),
            ("attachments", Text),
            ("call", Text),
        ],
    ),
    (
        "reactions",
        &[
            ("channel_id", Int),
            ("bucket", Int),
            ("message_id", Int),
            ("emoji", Text),
            ("user_id", Int),
            ("reacted_at", Int),
        ],
    ),
    (
        "private_channels",
        &[
            ("id", Int),
            ("type", Int),
            ("name", Text),
            ("icon", Text),
            ("owner_id", Int),
            ("dm_low", Int),
            ("dm_high", Int),
            ("last_message_id", Int),
        ],
    ),
    (
        "private_recipients",
        &[("channel_id", Int), ("user_id", Int), ("open", Bool)],
    ),
    (
        "read_states",
        &[
            ("user_id", Int),
            ("channel_id", Int),
            ("last_message_id", Int),
            ("version", Int),
        ],
    ),
    (
        "user_guild_settings",
        &[("user_id", Int), ("guild_id", Int), ("settings", Text)],
    ),
    (
        "pins",
        &[
            ("channel_id", Int),
            ("message_id", Int),
            ("bucket", Int),
            ("pinned_at", Int),
        ],
    ),
];

/// Rows per INSERT: PostgreSQL takes at most 65,535 parameters a statement.
const ROWS_PER_INSERT: usize = 1000;

/// One value read from SQLite.
enum Value {
    Int(Option<i64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

/// What was copied: each table with its row count.
pub type Copied = Vec<(&'static str, u64)>;

/// Why the copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the PostgreSQL database is not empty ({0} has rows): copy into a new database")]
    NotEmpty(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> Self {
        CopyError::Store(e.into())
    }
}

/// Copies every row of `from` into `to`, which must hold no rows yet.
pub async fn copy_into_postgres(
    from: &SqliteStore,
    to: &PgStore,
) -> std::result::Result<Copied, CopyError> {
    let mut tx = to.pool().begin().await?;
    for (table, _) in TABLES {
        let any: Option<i32> = sqlx::query_scalar(&format!("SELECT 1 FROM {table} LIMIT 1"))
            .fetch_optional(&mut *tx)
            .await?;
        if any.is_some() {
            return Err(CopyError::NotEmpty(table));
        }
    }
    // One read transaction: every table as of one moment, even if a node
    // writes meanwhile (what it writes after is not copied: stop it first).
    let mut snapshot = from.reader().begin().await?;
    let mut copied = Vec::with_capacity(TABLES.len());
    for (table, columns) in TABLES {
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let select = format!("SELECT {} FROM {table}", quoted(&names));
        let mut rows = sqlx::query(&select).fetch(&mut *snapshot);
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(ROWS_PER_INSERT);
        let mut count = 0u64;
        while let Some(row) = rows.try_next().await.map_err(StoreError::from)? {
            let mut values = Vec::with_capacity(columns.len());
            for (i, (_, kind)) in columns.iter().enumerate() {
                values.push(match kind {
                    Int => Value::Int(row.try_get(i)?),
                    Bool => Value::Bool(row.try_get::<Option<i64>, _>(i)?.map(|v| v != 0)),
                    Text => Value::Text(row.try_get(i)?),
                    Bytes => Value::Bytes(row.try_get(i)?),
                });
            }
            batch.push(values);
            if batch.len() == ROWS_PER_INSERT {
                count += insert(&mut tx, table, &names, std::mem::take(&mut batch)).await?;
            }
        }
        if !batch.is_empty() {
            count += insert(&mut tx, table, &names, batch).await?;
        }
        copied.push((*table, count));
    }
    tx.commit().await?;
    Ok(copied)
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn insert(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    table: &str,
    names: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<u64> {
    let n = rows.len() as u64;
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("INSERT INTO {table} ({}) ", quoted(names)));
    q.push_values(rows, |mut b, row| {
        for v in row {
            match v {
                Value::Int(v) => b.push_bind(v),
                Value::Bool(v) => b.push_bind(v),
                Value::Text(v) => b.push_bind(v),
                Value::Bytes(v) => b.push_bind(v),
            };
        }
    });
    q.build().execute(&mut **tx).await?;
    Ok(n)
}
