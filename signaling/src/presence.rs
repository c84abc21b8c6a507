//! Who is online, and what others see of them.
//!
//! A user is online while any of their sessions lives (a detached session in
//! its resume grace counts). Each session carries the status it set; what
//! others see is the most recently set status of a live session, with
//! invisible shown as offline.

use std::collections::HashMap;
use std::sync::Mutex;

use hearth_model::Snowflake;
use hearth_proto::events::Presence;
use hearth_proto::gateway::{PresenceUpdate, Status};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub status: Status,
    pub activities: Vec<Value>,
}

impl Seen {
    pub fn offline() -> Self {
        Seen {
            status: Status::Offline,
            activities: Vec::new(),
        }
    }

    /// The presence one guild sees.
    pub fn in_guild(&self, user: Snowflake, guild: Snowflake) -> Presence {
        Presence {
            user_id: user,
            guild_id: guild,
            status: self.status,
            activities: self.activities.clone(),
        }
    }
}

#[derive(Debug, Default)]
struct UserPresence {
    /// (session id, what it set), most recent last.
    sessions: Vec<(String, PresenceUpdate)>,
}

impl UserPresence {
    fn seen(&self) -> Seen {
        match self.sessions.last() {
            Some((_, p)) => Seen {
                status: p.status.visible(),
                activities: if p.status == Status::Invisible {
                    vec![]
                } else {
                    p.activities.clone()
                },
            },
            None => Seen::offline(),
        }
    }
}

#[derive(Debug, Default)]
pub struct Presences {
    users: Mutex<HashMap<Snowflake, UserPresence>>,
}

fn online() -> PresenceUpdate {
    PresenceUpdate {
        since: None,
        activities: vec![],
        status: Status::Online,
        afk: false,
    }
}

impl Presences {
    /// Records a session's presence (new, or changed by op 3). Returns what
    /// others now see, if that changed.
    pub fn set(
        &self,
        user: Snowflake,
        session: &str,
        update: Option<PresenceUpdate>,
    ) -> Option<Seen> {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let entry = users.entry(user).or_default();
        let before = entry.seen();
        let mut update = update.unwrap_or_else(online);
        if update.status == Status::Offline {
            // Clients may not set offline; invisible is how one hides.
            update.status = Status::Invisible;
        }
        entry.sessions.retain(|(id, _)| id != session);
        entry.sessions.push((session.to_owned(), update));
        let after = entry.seen();
        (after != before).then_some(after)
    }

    /// A session ended. Returns what others now see, if that changed.
    pub fn remove(&self, user: Snowflake, session: &str) -> Option<Seen> {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let entry = users.get_mut(&user)?;
        let before = entry.seen();
        entry.sessions.retain(|(id, _)| id != session);
        let after = entry.seen();
        if entry.sessions.is_empty() {
            users.remove(&user);
        }
        (after != before).then_some(after)
    }

    pub fn seen(&self, user: Snowflake) -> Seen {
        let users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        users
            .get(&user)
            .map(UserPresence::seen)
            .unwrap_or_else(Seen::offline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: Status) -> Option<PresenceUpdate> {
        Some(PresenceUpdate {
            since: None,
            activities: vec![],
            status: s,
            afk: false,
        })
    }

    #[test]
    fn online_while_any_session_lives() {
        let p = Presences::default();
        let u = Snowflake(1);
        assert_eq!(p.set(u, "a", None).unwrap().status, Status::Online);
        assert_eq!(p.set(u, "b", None), None);
        assert_eq!(p.remove(u, "a"), None);
        assert_eq!(p.remove(u, "b").unwrap().status, Status::Offline);
        assert_eq!(p.seen(u).status, Status::Offline);
    }

    #[test]
    fn invisible_looks_offline_and_changes_are_reported_once() {
        let p = Presences::default();
        let u = Snowflake(1);
        assert_eq!(p.set(u, "a", status(Status::Invisible)), None);
        assert_eq!(p.seen(u).status, Status::Offline);
        assert_eq!(
            p.set(u, "a", status(Status::Idle)).unwrap().status,
            Status::Idle
        );
        assert_eq!(p.set(u, "a", status(Status::Idle)), None);
        assert_eq!(
            p.set(u, "a", status(Status::Dnd)).unwrap().status,
            Status::Dnd
        );
    }
}
