//! The embedded backend: SQLite in WAL mode through sqlx.
//!
//! One connection writes and a small pool reads. SQLite admits one writer at
//! a time anyway; funnelling writes through one connection turns lock
//! contention (SQLITE_BUSY and its retries) into an orderly queue, while WAL
//! lets reads proceed beside it.

mod accounts;
mod commands;
mod guilds;
mod interactions;
mod members;
mod messages;
mod notifications;
mod pins;
mod private;
mod reactions;
mod read_states;
mod search;
mod threads;
mod webhooks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Executor;

use crate::{Result, StoreError};

/// Schema versions, applied in order; `PRAGMA user_version` records the last.
const MIGRATIONS: &[&str] = &[
    include_str!("schema_v1.sql"),
    include_str!("schema_v2.sql"),
    include_str!("schema_v3.sql"),
    include_str!("schema_v4.sql"),
    include_str!("schema_v5.sql"),
    include_str!("schema_v6.sql"),
    include_str!("schema_v7.sql"),
    include_str!("schema_v8.sql"),
    include_str!("schema_v9.sql"),
    include_str!("schema_v10.sql"),
    include_str!("schema_v11.sql"),
    include_str!("schema_v12.sql"),
];

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync on every commit: an acknowledged write survives power loss.
    #[default]
    Full,
    /// fsync at checkpoints only: survives a process crash (`kill -9`) but
    /// not a power cut. Faster.
    Normal,
}

impl FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "full" => Ok(Durability::Full),
            "normal" => Ok(Durability::Normal),
            other => Err(format!(
                "durability {other:?} is neither \"full\" nor \"normal\""
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// The readers' pool (for `copy`).
    pub(crate) fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// Opens (creating if needed) `dir/hearth.db` and applies migrations.
    pub async fn open(dir: &Path, durability: Durability) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(dir.join("hearth.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-16000");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        migrate(&writer).await?;
        webhooks::hash_plain_webhook_tokens(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteStore { writer, reader })
    }

    /// The cheapest round trip through both pools, for readiness: fails
    /// when a pool is closed or its connections cannot be had.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        sqlx::query("SELECT 1").execute(&self.writer).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

async fn migrate(pool: &SqlitePool) -> Result<()> {
    let mut conn = pool.acquire().await?;
    // IMMEDIATE takes the write lock up front (waiting out the busy
    // timeout), so two processes opening a fresh directory at once migrate
    // one after the other; a deferred transaction would fail with
    // SQLITE_BUSY when upgrading its read to a write.
    let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *tx)
        .await?;
    // A newer binary may have added columns or changed what a value means;
    // this one would misread or damage them.
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::SchemaTooNew {
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute(*sql).await?;
        tx.execute(format!("PRAGMA user_version = {}", i + 1).as_str())
            .await?;
        tracing::info!(version = i + 1, "applied store migration");
    }
    tx.commit().await?;
    Ok(())
}
