//! The node's store: the embedded SQLite database in its data directory,
//! or the PostgreSQL database the nodes of a cluster share (`--database`).

use std::sync::Arc;

use anyhow::Context;
use hearth_store::{PgStore, SqliteStore, Store};

use crate::config::ServeConfig;

pub enum Database {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl Database {
    /// Opens and migrates the store. Errors name the data directory or the
    /// URL (without its password).
    pub async fn open(config: &ServeConfig) -> anyhow::Result<Database> {
        match &config.database {
            None => {
                crate::admin::private_data_dir(&config.data_dir)?;
                let store = SqliteStore::open(&config.data_dir, config.durability)
                    .await
                    .with_context(|| {
                        format!("opening the store in {}", config.data_dir.display())
                    })?;
                crate::admin::private_database_files(&config.data_dir)?;
                Ok(Database::Sqlite(Arc::new(store)))
            }
            Some(url) => {
                let store = PgStore::connect_pooled(url, config.database_pool)
                    .await
                    .with_context(|| format!("opening the PostgreSQL store at {url}"))?;
                tracing::info!(database = %url, "store on PostgreSQL");
                Ok(Database::Postgres(Arc::new(store)))
            }
        }
    }

    /// What the services hold.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Database::Sqlite(s) => s.clone(),
            Database::Postgres(s) => s.clone(),
        }
    }

    /// Whether the store answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), hearth_store::StoreError> {
        match self {
            Database::Sqlite(s) => s.ping().await,
            Database::Postgres(s) => s.ping().await,
        }
    }

    pub async fn close(&self) {
        match self {
            Database::Sqlite(s) => s.close().await,
            Database::Postgres(s) => s.close().await,
        }
    }
}
