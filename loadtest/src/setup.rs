//! The users and guilds a run needs, made over REST before any session
//! connects (so every session's READY already lists its guild).
//!
//! User `u` belongs to guild `u % guilds` and nothing else; users
//! `0..guilds` create the guilds (and own them), the rest join through an
//! invite. Session `n` is user `n % users`'s, so sessions spread evenly over
//! users and guilds, and a user has several sessions when there are more
//! sessions than users.

use std::time::Instant;

use futures_util::stream::{self, StreamExt, TryStreamExt};

use crate::rest::{Account, Rest};
use crate::Error;

/// Every account gets this password.
pub const PASSWORD: &str = "loadtest-password";

/// Registrations in flight: each costs the server an Argon2id hash (19 MiB,
/// tens of milliseconds of CPU), so a wide burst only inflates its memory.
const REGISTER_CONCURRENCY: usize = 4;
const SETUP_CONCURRENCY: usize = 16;

#[derive(Clone, Debug)]
pub struct Guild {
    pub id: String,
    /// Its first text channel, where the run posts.
    pub channel: String,
    /// Indices into `World::users`.
    pub members: Vec<usize>,
}

#[derive(Clone, Debug)]
pub struct World {
    pub users: Vec<Account>,
    pub guilds: Vec<Guild>,
}

impl World {
    pub fn guild_of_user(&self, user: usize) -> usize {
        user % self.guilds.len()
    }

    /// The user session `n` belongs to.
    pub fn user_of_session(&self, session: usize) -> usize {
        session % self.users.len()
    }

    pub fn guild_of_session(&self, session: usize) -> usize {
        self.guild_of_user(self.user_of_session(session))
    }
}

/// How many users a run makes when not told: one per session up to 100 (a
/// registration costs the server an Argon2 hash), and at least one per guild.
pub fn default_users(sessions: usize, guilds: usize) -> usize {
    sessions.clamp(1, 100).max(guilds)
}

/// Registers `users` users and makes `guilds` guilds with them. `tag` makes
/// the usernames unique to this run (lowercase letters and digits only).
pub async fn build(rest: &Rest, users: usize, guilds: usize, tag: &str) -> Result<World, Error> {
    if guilds == 0 || users < guilds {
        return Err(Error::Config(format!(
            "need at least one guild and a user per guild (users {users}, guilds {guilds})"
        )));
    }
    let started = Instant::now();
    let accounts: Vec<Account> = stream::iter(0..users)
        .map(|u| async move { rest.register(&format!("lt_{tag}_{u}"), PASSWORD).await })
        .buffered(REGISTER_CONCURRENCY)
        .try_collect()
        .await?;
    eprintln!(
        "registered {users} users in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let accounts_ref = &accounts;
    let made: Vec<(String, String, String)> = stream::iter(0..guilds)
        .map(|g| async move {
            let owner = &accounts_ref[g].token;
            let id = rest
                .create_guild(owner, &format!("loadtest {tag} {g}"))
                .await?;
            let channel = rest.text_channel(owner, &id).await?;
            let code = rest.create_invite(owner, &channel).await?;
            Ok::<_, Error>((id, channel, code))
        })
        .buffered(SETUP_CONCURRENCY)
        .try_collect()
        .await?;
    stream::iter(guilds..users)
        .map(|u| {
            let code = &made[u % guilds].2;
            async move { rest.join(&accounts_ref[u].token, code).await }
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    let world = World {
        guilds: made
            .into_iter()
            .enumerate()
            .map(|(g, (id, channel, _))| Guild {
                id,
                channel,
                members: (g..users).step_by(guilds).collect(),
            })
            .collect(),
        users: accounts,
    };
    eprintln!(
        "made {guilds} guilds and joined their members in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(world)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(users: usize, guilds: usize) -> World {
        World {
            users: (0..users)
                .map(|u| Account {
                    id: u.to_string(),
                    token: String::new(),
                })
                .collect(),
            guilds: (0..guilds)
                .map(|g| Guild {
                    id: g.to_string(),
                    channel: String::new(),
                    members: (g..users).step_by(guilds).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn sessions_spread_evenly_over_users_and_guilds() {
        let w = world(6, 3);
        let mut per_guild = [0; 3];
        for s in 0..30 {
            let g = w.guild_of_session(s);
            assert!(w.guilds[g].members.contains(&w.user_of_session(s)));
            per_guild[g] += 1;
        }
        assert_eq!(per_guild, [10, 10, 10]);
    }

    #[test]
    fn default_users_bounds_registrations() {
        assert_eq!(default_users(10_000, 1), 100);
        assert_eq!(default_users(20, 1), 20);
        assert_eq!(default_users(20, 40), 40);
    }
}
