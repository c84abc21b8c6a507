//! `hearth admin`: the operator's account controls, run on a node's data
//! directory.
//!
//! The commands open the SQLite database directly, so they work whether the
//! node is running or stopped (SQLite's locking orders their writes with the
//! node's). Passwords are read from standard input, one line (not echoed
//! at a terminal), so they stay out of the process list and the shell's
//! history.
//!
//! Tokens revoked here stop working for REST at once (every request looks
//! its token up); gateway sessions already open on a running node are
//! closed by that node only for revocations it makes itself.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use hearth_api::auth;
use hearth_model::{SnowflakeGenerator, User};
use hearth_proto::FormErrors;
use hearth_store::{AccountStore, Durability, NewUser, SqliteStore};

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// TOML file of `hearth serve`; its `data_dir` is used.
    #[arg(long, env = "HEARTH_CONFIG")]
    pub config: Option<PathBuf>,
    /// The node's data directory. [default: ./hearth-data]
    #[arg(long, env = "HEARTH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Refused: the commands work on the embedded SQLite database only.
    #[arg(long, env = "HEARTH_DATABASE", hide_env_values = true)]
    pub database: Option<String>,
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
    let database = match args.database {
        Some(url) => Some(url),
        None => crate::config::file_database(args.config.as_deref())?,
    };
    if let Some(url) = database.filter(|u| !u.trim().is_empty()) {
        let shown = hearth_store::PostgresUrl::parse(&url)
            .map(|u| u.to_string())
            .unwrap_or_else(|refused| refused);
        bail!(
            "hearth admin works on the embedded SQLite database of a data directory only, \
             and this node's database is {shown}; unset --database / HEARTH_DATABASE / the \
             file's `database` to work on a data directory"
        );
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
    let result = command(&store, args.command).await;
    store.close().await;
    result
}

async fn command(store: &SqliteStore, command: AdminCommand) -> anyhow::Result<()> {
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
                    println!("session {id} of {username} revoked");
                }
                (None, false) => bail!("name a session id, or --all"),
            }
        }
        AdminCommand::Backup { file } => {
            if file.exists() {
                bail!("{} exists; a backup never overwrites", file.display());
            }
            store
                .backup_into(&file)
                .await
                .with_context(|| format!("writing the backup {}", file.display()))?;
            restrict(&file, 0o600)?;
            println!("backup written to {}", file.display());
        }
    }
    Ok(())
}

async fn user(store: &SqliteStore, username: &str) -> anyhow::Result<User> {
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
