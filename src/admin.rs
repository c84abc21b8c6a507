//! `hearth admin`: the operator's account controls, run on a node's data
//! directory or on a cluster's PostgreSQL database.
//!
//! The commands open the database directly, so they work whether the nodes
//! are running or stopped (SQLite's locking, or PostgreSQL's transactions,
//! order their writes with the nodes'). Passwords are read from standard
//! input, one line (not echoed at a terminal), so they stay out of the
//! process list and the shell's history.
//!
//! Tokens revoked here stop working for REST at once (every request looks
//! its token up). Gateway sessions they opened close too when the command
//! can tell the nodes: with `--redis`, the cluster's bus carries the
//! revocation to every node (4004), as a logout through the API would.
//! Without it, open sessions last until they reconnect.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use hearth_api::auth;
use hearth_model::{SnowflakeGenerator, User};
use hearth_proto::events::NodeCommand;
use hearth_proto::FormErrors;
use hearth_store::{Durability, NewUser, SqliteStore, Store};

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// TOML file of `hearth serve`; its `data_dir` is used.
    #[arg(long, env = "HEARTH_CONFIG")]
    pub config: Option<PathBuf>,
    /// The node's data directory. [default: ./hearth-data]
    #[arg(long, env = "HEARTH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The cluster's PostgreSQL database (`postgres://...`) instead of a
    /// data directory; else the config file's `database`.
    #[arg(long, env = "HEARTH_DATABASE", hide_env_values = true)]
    pub database: Option<String>,
    /// The cluster's Redis: revocations then close the gateway sessions
    /// they opened on every running node. Else the config file's `redis`.
    #[arg(long, env = "HEARTH_REDIS", hide_env_values = true)]
    pub redis: Option<String>,
    /// The cluster's Redis key prefix. [default: the config file's, else
    /// `hearth:`]
    #[arg(long, env = "HEARTH_REDIS_PREFIX")]
    pub redis_prefix: Option<String>,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an account; the password is read from standard input. Prints
    /// the new user's id.
    CreateUser {
        username: String,
        /// Make the new user an instance administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Set a user's password (read from standard input) and revoke every
    /// token of the user.
    ResetPassword { username: String },
    /// Make a user an instance administrator (or, with --revoke, no longer).
    SetAdmin {
        username: String,
        #[arg(long)]
        revoke: bool,
    },
    /// List or revoke a user's sessions (tokens).
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Write a consistent copy of the database to FILE (which must not
    /// exist), while the node keeps running.
    Backup { file: PathBuf },
    /// Copy the data directory's whole database into a new, empty
    /// PostgreSQL database, to run the node (or a cluster) on it. Stop the
    /// node first: what it writes during the copy is not copied.
    CopyToPostgres {
        /// The PostgreSQL database to fill (`postgres://...`).
        url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// One line per token: its id (the start of its hash) and when it was
    /// issued.
    List { username: String },
    /// Revoke the token with this id, or with --all every token of the user.
    Revoke {
        username: String,
        id: Option<String>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
}

/// Characters of a token hash's hex shown as its id: enough to tell a
/// user's tokens apart, too few to matter to anyone holding the database.
const SESSION_ID_LEN: usize = 16;

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let file = crate::config::file_cluster(args.config.as_deref())?;
    let database = args.database.clone().or(file.database);
    let redis = args.redis.clone().or(file.redis);
    let prefix = args
        .redis_prefix
        .clone()
        .or(file.redis_prefix)
        .unwrap_or_else(|| "hearth:".to_owned());
    // The nodes are told of revocations before the command says it is done.
    let bus = match redis.filter(|u| !u.trim().is_empty()) {
        Some(url) => Some(
            hearth_bus::RedisBus::connect(hearth_bus::RedisBusConfig {
                url,
                prefix,
                max_queued: 1024,
            })
            .await?,
        ),
        None => None,
    };
    let tell = Nodes(bus, Default::default());
    if let Some(url) = database.filter(|u| !u.trim().is_empty()) {
        let url = hearth_store::PostgresUrl::parse(&url).map_err(anyhow::Error::msg)?;
        let store = hearth_store::PgStore::connect_pooled(&url, 2)
            .await
            .with_context(|| format!("opening the PostgreSQL store at {url}"))?;
        let result = match args.command {
            AdminCommand::Backup { .. } => Err(anyhow::anyhow!(
                "hearth admin backup copies an embedded SQLite database; back a \
                 PostgreSQL database up with pg_dump (see docs/operations.md, Backups)"
            )),
            AdminCommand::CopyToPostgres { .. } => Err(anyhow::anyhow!(
                "copy-to-postgres reads a data directory: give --data-dir (not --database)"
            )),
            command => accounts(&store, command, &tell).await,
        };
        store.close().await;
        tell.flush().await;
        return result;
    }
    let dir = crate::config::data_dir(args.config, args.data_dir)?;
    // Files the commands create (a backup) are the operator's alone.
    private_umask();
    if !dir.join("hearth.db").exists() {
        bail!("no Hearth database in {}", dir.display());
    }
    let store = SqliteStore::open(&dir, Durability::Full)
        .await
        .with_context(|| format!("opening the store in {}", dir.display()))?;
    let result = match args.command {
        AdminCommand::Backup { file } => backup(&store, &file).await,
        AdminCommand::CopyToPostgres { url } => copy_to_postgres(&store, &url).await,
        command => accounts(&store, command, &tell).await,
    };
    store.close().await;
    tell.flush().await;
    result
}

/// The cluster's nodes, when the command can reach them.
struct Nodes(
    Option<std::sync::Arc<hearth_bus::RedisBus>>,
    std::sync::atomic::AtomicU64,
);

impl Nodes {
    /// The user's gateway sessions opened with these tokens (None: all of
    /// them) end on every node.
    fn revoked(&self, user: hearth_model::Snowflake, token_hash: Option<[u8; 32]>) {
        use hearth_bus::Bus;
        if let Some(bus) = &self.0 {
            bus.command(NodeCommand::EndSessions {
                user_id: user,
                token_hash,
            });
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Waits (a few seconds at most) until what was sent reached Redis.
    async fn flush(&self) {
        let Some(bus) = &self.0 else { return };
        let sent = self.1.load(std::sync::atomic::Ordering::Relaxed);
        for _ in 0..50 {
            if bus.counters().published.get() >= sent {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        eprintln!("the running nodes could not be told (Redis did not take the revocation)");
    }
}

async fn copy_to_postgres(store: &SqliteStore, url: &str) -> anyhow::Result<()> {
    let url = hearth_store::PostgresUrl::parse(url).map_err(anyhow::Error::msg)?;
    let to = hearth_store::PgStore::connect_pooled(&url, 2)
        .await
        .with_context(|| format!("opening the PostgreSQL store at {url}"))?;
    let copied = hearth_store::copy::copy_into_postgres(store, &to).await;
    to.close().await;
    let copied = copied.with_context(|| format!("copying into {url}"))?;
    for (table, rows) in copied {
        println!("{table}: {rows} row(s)");
    }
    println!("copied into {url}; start the node with --database pointing there");
    Ok(())
}

async fn backup(store: &SqliteStore, file: &Path) -> anyhow::Result<()> {
    if file.exists() {
        bail!("{} exists; a backup never overwrites", file.display());
    }
    store
        .backup_into(file)
        .await
        .with_context(|| format!("writing the backup {}", file.display()))?;
    restrict(file, 0o600)?;
    println!("backup written to {}", file.display());
    Ok(())
}

async fn accounts(store: &dyn Store, command: AdminCommand, nodes: &Nodes) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateUser { username, admin } => {
            let mut errors = FormErrors::new();
            hearth_api::check_username("username", &username, &mut errors);
            if !errors.is_empty() {
                bail!("{username:?} is not a valid username (2-32 of a-z, 0-9, _ and .)");
            }
            let hash = hash_new_password().await?;
            // Node id 1023 is left to the admin tool, so its ids never
            // collide with a running node's (node ids 0-1022).
            let id = SnowflakeGenerator::new(31, 31).next();
            let user = store
                .create_user(NewUser {
                    id,
                    username: username.clone(),
                    global_name: None,
                    password_hash: Some(hash),
                    bot: false,
                })
                .await
                .map_err(|e| match e {
                    hearth_store::StoreError::Conflict(_) => {
                        anyhow::anyhow!("the username {username:?} is taken")
                    }
                    other => other.into(),
                })?;
            if admin {
                store.set_instance_admin(user.id, true).await?;
            }
            println!("{}", user.id);
        }
        AdminCommand::ResetPassword { username } => {
            let user = user(store, &username).await?;
            let hash = hash_new_password().await?;
            let revoked = store.set_password(user.id, &hash, None).await?;
            nodes.revoked(user.id, None);
            println!("password of {username} reset; {revoked} session(s) revoked");
        }
        AdminCommand::SetAdmin { username, revoke } => {
            let user = user(store, &username).await?;
            store.set_instance_admin(user.id, !revoke).await?;
            if revoke {
                println!("{username} is no longer an instance administrator");
            } else {
                println!("{username} is an instance administrator");
            }
        }
        AdminCommand::Sessions(SessionsCommand::List { username }) => {
            let user = user(store, &username).await?;
            for token in store.tokens_of(user.id).await? {
                println!("{} {}", session_id(&token.hash), token.created_at);
            }
        }
        AdminCommand::Sessions(SessionsCommand::Revoke { username, id, all }) => {
            let user = user(store, &username).await?;
            match (id, all) {
                (_, true) => {
                    let revoked = store.revoke_tokens(user.id, None).await?;
                    nodes.revoked(user.id, None);
                    println!("{revoked} session(s) of {username} revoked");
                }
                (Some(id), false) => {
                    let tokens = store.tokens_of(user.id).await?;
                    let id = id.to_ascii_lowercase();
                    let mut matching = tokens.iter().filter(|t| session_id(&t.hash) == id);
                    let Some(token) = matching.next() else {
                        bail!("{username} has no session {id}");
                    };
                    store.delete_token(&token.hash).await?;
                    nodes.revoked(user.id, token.hash.as_slice().try_into().ok());
                    println!("session {id} of {username} revoked");
                }
                (None, false) => bail!("name a session id, or --all"),
            }
        }
        // Taken by `run`, which knows the backend.
        AdminCommand::Backup { .. } | AdminCommand::CopyToPostgres { .. } => {
            bail!("not an account command")
        }
    }
    Ok(())
}

async fn user(store: &dyn Store, username: &str) -> anyhow::Result<User> {
    match store.credentials(username).await? {
        Some(c) => Ok(c.user),
        None => bail!("no user named {username:?}"),
    }
}

fn session_id(hash: &[u8]) -> String {
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    hex[..SESSION_ID_LEN.min(hex.len())].to_owned()
}

/// The first line of standard input, checked like a registration's. At a
/// terminal it is asked for and not echoed.
async fn hash_new_password() -> anyhow::Result<String> {
    let mut line = String::new();
    {
        let quiet = TerminalEcho::off();
        if quiet.is_some() {
            eprint!("password: ");
        }
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        if quiet.is_some() {
            eprintln!();
        }
    }
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    let n = password.chars().count();
    if !(8..=72).contains(&n) {
        bail!("the password (one line on standard input) must be 8 to 72 characters");
    }
    auth::hash_password(password)
        .await
        .map_err(anyhow::Error::msg)
}

/// Echo switched off on a terminal standard input, until dropped.
struct TerminalEcho {
    #[cfg(unix)]
    saved: libc::termios,
}

impl TerminalEcho {
    /// None when standard input is not a terminal (a pipe, a file).
    fn off() -> Option<TerminalEcho> {
        #[cfg(unix)]
        // SAFETY: isatty/tcgetattr/tcsetattr read and write only the
        // termios struct we pass, for descriptor 0.
        unsafe {
            if libc::isatty(0) != 1 {
                return None;
            }
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut saved) != 0 {
                return None;
            }
            let mut quiet = saved;
            quiet.c_lflag &= !libc::ECHO;
            if libc::tcsetattr(0, libc::TCSANOW, &quiet) != 0 {
                return None;
            }
            Some(TerminalEcho { saved })
        }
        #[cfg(not(unix))]
        None
    }
}

impl Drop for TerminalEcho {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: restores the settings read in `off`.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.saved);
        }
    }
}

/// Files the process creates are readable by its user only: the database,
/// its journal and backups hold password hashes and every message.
pub fn private_umask() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file mode mask.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates the data directory readable by the service's user only, and
/// takes group and world access away from one that exists.
pub fn private_data_dir(dir: &Path) -> anyhow::Result<()> {
    private_umask();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    restrict(dir, 0o700)
}

/// The database files, also when an older version created them readable
/// by everyone.
pub fn private_database_files(dir: &Path) -> anyhow::Result<()> {
    for name in ["hearth.db", "hearth.db-wal", "hearth.db-shm"] {
        let path = dir.join(name);
        if path.exists() {
            restrict(&path, 0o600)?;
        }
    }
    Ok(())
}

fn restrict(path: &Path, mode: u32) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let current = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .permissions()
            .mode()
            & 0o777;
        if current & !mode != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("restricting {} to {mode:o}", path.display()))?;
            tracing::info!(path = %path.display(), from = format!("{current:o}"), to = format!("{mode:o}"), "restricted permissions");
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_the_start_of_the_hash_in_hex() {
        assert_eq!(
            session_id(&[0xab, 0x01, 0xff, 0, 1, 2, 3, 4, 5, 6]),
            "ab01ff0001020304"
        );
    }
}
