//! Persistence behind traits.
//!
//! Services see only the traits here; the embedded SQLite backend lives in
//! [`sqlite`], and the PostgreSQL backend for clusters in [`postgres`],
//! behind the same traits and passing the same behaviour tests
//! (`tests/behaviour.rs`). Only this crate knows SQL.
//!
//! Messages are kept the way Discord keeps them in its wide-column store:
//! partitioned by `(channel_id, bucket)`, where the bucket is a fixed window
//! of the snowflake's timestamp, and clustered by message id. Both
//! schemas use that as their primary key so the same access paths carry over
//! to ScyllaDB or Cassandra unchanged.

pub mod copy;
pub mod edits;
mod error;
pub mod postgres;
mod rows;
pub mod sqlite;
pub mod timed;
mod traits;
mod webhook_token;

pub use error::{Capacity, StoreError};
pub use postgres::{PgStore, PostgresUrl, DEFAULT_POOL_SIZE};
pub use sqlite::{Durability, SqliteStore};
pub use traits::*;

use hearth_model::Snowflake;

/// The width of a message partition: ten days, as Discord reports.
pub const BUCKET_MS: u64 = 10 * 24 * 60 * 60 * 1000;

/// How tokens are kept: only their SHA-256, so a copy of the database does
/// not let anyone log in. Every component that checks a token uses this.
pub fn token_hash(token: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// The partition a message id belongs to.
pub fn bucket_of(id: Snowflake) -> i64 {
    ((id.0 >> 22) / BUCKET_MS) as i64
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
