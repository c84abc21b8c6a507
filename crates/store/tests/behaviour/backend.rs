//! The backends the cases run on: a fresh SQLite directory, or a fresh
//! PostgreSQL database made through the admin URL in `HEARTH_TEST_POSTGRES`
//! and dropped at the end.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use hearth_store::{Durability, PgStore, PostgresUrl, SqliteStore, Store, StoreError};
use sqlx::Connection;

/// The admin URL of the PostgreSQL server the tests may create databases on.
pub const POSTGRES_ENV: &str = "HEARTH_TEST_POSTGRES";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// Where one store's data lives.
#[derive(Debug, Clone)]
pub enum Target {
    Sqlite(PathBuf),
    Postgres(PostgresUrl, String),
}

/// An open store of either kind, kept so it can be closed before its
/// database is dropped.
#[derive(Clone)]
enum Opened {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

pub struct Backend {
    pub kind: Kind,
    /// The store the case works on (opened on `target`).
    pub store: Arc<dyn Store>,
    pub target: Target,
    opened: Mutex<Vec<Opened>>,
    /// SQLite directories and PostgreSQL databases to remove at the end.
    made: Mutex<Vec<Target>>,
    _dir: Option<tempfile::TempDir>,
}

/// Runs one case on a fresh backend, then removes what it made, whether
/// the case passed or not.
pub async fn run<F, Fut>(kind: Kind, case: F)
where
    F: FnOnce(Arc<Backend>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let backend = Arc::new(Backend::open(kind).await);
    let outcome = tokio::spawn(case(backend.clone())).await;
    backend.finish().await;
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("the case was cancelled: {e}");
    }
}

fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn admin_url() -> String {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{POSTGRES_ENV} is not set: the PostgreSQL cases need a server to create databases on, \
             e.g. {POSTGRES_ENV}=postgres://postgres@127.0.0.1:5432/postgres \
             (scripts/test.sh starts one and sets it)"
        ),
    }
}

/// The admin URL with its database replaced by `name`.
fn url_of(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[after_scheme..]
        .find('/')
        .map(|i| after_scheme + i)
        .unwrap_or(base.len());
    let mut url = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

async fn admin_connection() -> sqlx::PgConnection {
    let admin = admin_url();
    sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("connecting to {POSTGRES_ENV} ({}): {e}", redacted(&admin)))
}

fn redacted(url: &str) -> String {
    PostgresUrl::parse(url)
        .map(|u| u.to_string())
        .unwrap_or_else(|e| e)
}

impl Backend {
    async fn open(kind: Kind) -> Backend {
        let (target, dir) = match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                (Target::Sqlite(dir.path().to_owned()), Some(dir))
            }
            Kind::Postgres => (create_database().await, None),
        };
        let (opened, store) = open(&target).await.expect("opening a fresh store");
        Backend {
            kind,
            store,
            target: target.clone(),
            opened: Mutex::new(vec![opened]),
            made: Mutex::new(vec![target]),
            _dir: dir,
        }
    }

    /// Another store on the same data: a restart, or a second node.
    pub async fn reopen(&self) -> Result<Arc<dyn Store>, StoreError> {
        self.open_at(&self.target).await
    }

    /// An empty place for a store, removed at the end.
    pub async fn spare(&self) -> Target {
        let target = match self.kind {
            Kind::Sqlite => {
                let dir = match &self.target {
                    Target::Sqlite(dir) => dir.join(unique("spare")),
                    Target::Postgres(..) => unreachable!("a SQLite backend has a directory"),
                };
                std::fs::create_dir_all(&dir).expect("creating a spare directory");
                Target::Sqlite(dir)
            }
            Kind::Postgres => create_database().await,
        };
        self.made.lock().unwrap().push(target.clone());
        target
    }

    /// Opens (and migrates) a store at `target`.
    pub async fn open_at(&self, target: &Target) -> Result<Arc<dyn Store>, StoreError> {
        let (opened, store) = open(target).await?;
        self.opened.lock().unwrap().push(opened);
        Ok(store)
    }

    /// Overwrites the schema version recorded at `target`, as a newer (or
    /// older) binary would have left it.
    pub async fn set_schema_version(&self, target: &Target, version: i64) {
        match target {
            Target::Sqlite(dir) => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(dir.join("hearth.db"))
                    .create_if_missing(true);
                let mut conn = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .expect("opening the SQLite file");
                sqlx::query(&format!("PRAGMA user_version = {version}"))
                    .execute(&mut conn)
                    .await
                    .expect("setting user_version");
                conn.close().await.ok();
            }
            Target::Postgres(_, name) => {
                let url = url_of(&admin_url(), name);
                let mut conn = sqlx::PgConnection::connect(&url)
                    .await
                    .expect("connecting to the test database");
                sqlx::query("UPDATE hearth_schema SET version = $1")
                    .bind(version)
                    .execute(&mut conn)
                    .await
                    .expect("setting the schema version");
                conn.close().await.ok();
            }
        }
    }

    /// The schema version recorded at `target`.
    pub async fn schema_version(&self, target: &Target) -> i64 {
        match target {
            Target::Sqlite(dir) => {
                let options =
                    sqlx::sqlite::SqliteConnectOptions::new().filename(dir.join("hearth.db"));
                let mut conn = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .expect("opening the SQLite file");
                sqlx::query_scalar("PRAGMA user_version")
                    .fetch_one(&mut conn)
                    .await
                    .expect("reading user_version")
            }
            Target::Postgres(_, name) => {
                let mut conn = sqlx::PgConnection::connect(&url_of(&admin_url(), name))
                    .await
                    .expect("connecting to the test database");
                sqlx::query_scalar("SELECT version FROM hearth_schema")
                    .fetch_one(&mut conn)
                    .await
                    .expect("reading the schema version")
            }
        }
    }

    async fn finish(&self) {
        let opened: Vec<Opened> = std::mem::take(&mut *self.opened.lock().unwrap());
        for o in opened {
            match o {
                Opened::Sqlite(s) => s.close().await,
                Opened::Postgres(s) => s.close().await,
            }
        }
        let made: Vec<Target> = std::mem::take(&mut *self.made.lock().unwrap());
        let databases: Vec<String> = made
            .into_iter()
            .filter_map(|t| match t {
                Target::Postgres(_, name) => Some(name),
                Target::Sqlite(_) => None,
            })
            .collect();
        if databases.is_empty() {
            return;
        }
        // Best effort: a database left behind costs disk, not correctness.
        let mut admin = admin_connection().await;
        for name in databases {
            if let Err(e) = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await
            {
                eprintln!("could not drop test database {name}: {e}");
            }
        }
        admin.close().await.ok();
    }
}

async fn open(target: &Target) -> Result<(Opened, Arc<dyn Store>), StoreError> {
    Ok(match target {
        Target::Sqlite(dir) => {
            let s = SqliteStore::open(dir, Durability::Normal).await?;
            (Opened::Sqlite(s.clone()), Arc::new(s))
        }
        Target::Postgres(url, _) => {
            let s = PgStore::connect(url).await?;
            (Opened::Postgres(s.clone()), Arc::new(s))
        }
    })
}

async fn create_database() -> Target {
    let name = unique("hearth_test");
    let mut admin = admin_connection().await;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
    admin.close().await.ok();
    let url = PostgresUrl::parse(&url_of(&admin_url(), &name)).expect("a PostgreSQL URL");
    Target::Postgres(url, name)
}
