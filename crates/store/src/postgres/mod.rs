//! The server backend for clusters: PostgreSQL through sqlx.
//!
//! Several nodes share one database, so SQLite's guarantee that one writer
//! runs at a time has to be rebuilt here. Every write transaction that
//! reads before it writes, or counts against a limit, first takes a
//! transaction-scoped advisory lock on its guild
//! (`pg_advisory_xact_lock(guild_id)`, see [`lock_guild`]). Writes within a
//! guild are then serialised exactly as SQLite serialises all writes, so
//! every check-then-write in the backend (limits, bans against joins, role
//! positions, a role's deletion against a grant of it) keeps the meaning
//! it has on SQLite, while guilds proceed in parallel. We chose this over
//! SERIALIZABLE with retries because the latter would need a retry loop
//! around every transaction and turns contention into aborted work; over
//! row locks alone because several checks are about rows that do not
//! exist yet (a count, a ban), which `FOR UPDATE` cannot lock. Writes of a
//! single row that read nothing (tokens, a message) need no lock.
//!
//! Reads run on the same pool at READ COMMITTED: each statement sees
//! committed data, as SQLite's WAL readers do.

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
mod url;
mod webhooks;

use std::time::Duration;

use hearth_model::Snowflake;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};

use crate::rows::db;
use crate::{Result, StoreError};

pub use url::PostgresUrl;

/// Schema versions, applied in order; the table `hearth_schema` records the
/// last. PostgreSQL's numbering is its own: it started with everything the
/// SQLite schema had at the time.
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
];

/// The advisory lock (two-key form, a key space apart from the guilds'
/// one-key locks) held while a node checks and migrates the schema, so
/// nodes starting together migrate once, one after the other.
const MIGRATION_LOCK: (i32, i32) = (0x4845_4152, 1); // "HEAR"

/// Connections per node unless the operator says otherwise. Enough for a
/// node's concurrent requests; a cluster's nodes together must stay under
/// the server's max_connections.
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// How long start-up (and a request) waits for a connection before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// By hand: the pool's connect options hold the password.
impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// The connections' pool (for `copy`).
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Connects, then checks and applies migrations. Fails with
    /// `SchemaTooNew` when a newer Hearth has migrated the database.
    pub async fn connect(url: &PostgresUrl) -> Result<Self> {
        Self::connect_pooled(url, DEFAULT_POOL_SIZE).await
    }

    /// As [`PgStore::connect`], with at most `pool_size` connections.
    pub async fn connect_pooled(url: &PostgresUrl, pool_size: u32) -> Result<Self> {
        let options: PgConnectOptions = url.expose().parse()?;
        // One connection first, for the migration and for a clear error: a
        // pool retries a refused connection until its timeout and then
        // reports only that it timed out.
        let mut first = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
            .await
            .map_err(|_| {
                StoreError::Database(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
                )))
            })??;
        migrate(&mut first).await?;
        first.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(pool_size.max(1))
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await?;
        Ok(PgStore { pool })
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn migrate(conn: &mut PgConnection) -> Result<()> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(MIGRATION_LOCK.0)
        .bind(MIGRATION_LOCK.1)
        .execute(&mut *tx)
        .await?;
    tx.execute(
        "CREATE TABLE IF NOT EXISTS hearth_schema (
             one     BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
             version BIGINT NOT NULL
         )",
    )
    .await?;
    let version: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM hearth_schema")
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
        // Without arguments sqlx sends the simple query protocol, which
        // runs a file of several statements.
        tx.execute(*sql).await?;
        sqlx::query(
            "INSERT INTO hearth_schema (one, version) VALUES (TRUE, $1)
             ON CONFLICT (one) DO UPDATE SET version = EXCLUDED.version",
        )
        .bind(i as i64 + 1)
        .execute(&mut *tx)
        .await?;
        tracing::info!(version = i + 1, "applied store migration");
    }
    tx.commit().await?;
    Ok(())
}

/// Serialises this transaction against every other write transaction of
/// the guild, until it commits or rolls back (see the module header).
async fn lock_guild(conn: &mut PgConnection, guild_id: Snowflake) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(db(guild_id))
        .execute(conn)
        .await?;
    Ok(())
}

/// As [`lock_guild`], for the writes of one message (its reactions).
/// Messages and guilds draw ids from one generator, so the two kinds of
/// lock never share a key.
async fn lock_message(conn: &mut PgConnection, message_id: Snowflake) -> Result<()> {
    lock_guild(conn, message_id).await
}

/// As [`lock_guild`], for the writes of one user's blocks.
async fn lock_user(conn: &mut PgConnection, user_id: Snowflake) -> Result<()> {
    lock_guild(conn, user_id).await
}

/// As [`lock_guild`], for the writes of one channel's pins.
async fn lock_channel(conn: &mut PgConnection, channel_id: Snowflake) -> Result<()> {
    lock_guild(conn, channel_id).await
}

/// As [`lock_guild`], for the writes of an application's commands.
async fn lock_application(conn: &mut PgConnection, application_id: Snowflake) -> Result<()> {
    lock_guild(conn, application_id).await
}
