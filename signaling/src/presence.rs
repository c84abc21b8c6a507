//! Who is online, and what others see of them.
//!
//! A user is online while any of their sessions lives (a detached session in
//! its resume grace counts). Each session carries the status it set; what
//! others see is the most recently set status of a live session, with
//! invisible shown as offline.
//!
//! In a cluster this is the node's own view of the user; the most recently
//! set of all the nodes' views is what others see (`cluster_presence`). For
//! that, the newest setting here carries its cluster-wide stamp once it has
//! one.

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

    /// What others see of a session's (or node's) presence; `None`:
    /// offline.
    pub fn of(update: Option<&PresenceUpdate>) -> Self {
        match update {
            Some(p) => Seen {
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

/// A session's setting.
#[derive(Debug)]
struct Setting {
    session: String,
    update: PresenceUpdate,
    /// Tells this setting from a later one of the same session.
    version: u64,
    /// Its place in the cluster's order of settings, once known.
    stamp: Option<u64>,
}

#[derive(Debug, Default)]
struct UserPresence {
    /// Most recent last.
    sessions: Vec<Setting>,
}

impl UserPresence {
    fn seen(&self) -> Seen {
        Seen::of(self.sessions.last().map(|s| &s.update))
    }
}

/// The node's view of a user: its most recently set session's setting.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NodeSetting {
    pub session: String,
    pub version: u64,
    pub update: PresenceUpdate,
    pub stamp: Option<u64>,
}

#[derive(Debug, Default)]
struct Users {
    users: HashMap<Snowflake, UserPresence>,
    next_version: u64,
}

#[derive(Debug, Default)]
pub struct Presences {
    users: Mutex<Users>,
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
        let mut guard = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let Users {
            users,
            next_version,
        } = &mut *guard;
        *next_version += 1;
        let entry = users.entry(user).or_default();
        let before = entry.seen();
        let mut update = update.unwrap_or_else(online);
        if update.status == Status::Offline {
            // Clients may not set offline; invisible is how one hides.
            update.status = Status::Invisible;
        }
        entry.sessions.retain(|s| s.session != session);
        entry.sessions.push(Setting {
            session: session.to_owned(),
            update,
            version: *next_version,
            stamp: None,
        });
        let after = entry.seen();
        (after != before).then_some(after)
    }

    /// What the session set (Identify or op 3), if it is one of the user's.
    pub fn of_session(&self, user: Snowflake, session: &str) -> Option<PresenceUpdate> {
        let guard = self.users.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .users
            .get(&user)?
            .sessions
            .iter()
            .find(|s| s.session == session)
            .map(|s| s.update.clone())
    }

    /// A session ended. Returns what others now see, if that changed.
    pub fn remove(&self, user: Snowflake, session: &str) -> Option<Seen> {
        let mut guard = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let users = &mut guard.users;
        let entry = users.get_mut(&user)?;
        let before = entry.seen();
        entry.sessions.retain(|s| s.session != session);
        let after = entry.seen();
        if entry.sessions.is_empty() {
            users.remove(&user);
        }
        (after != before).then_some(after)
    }

    pub fn seen(&self, user: Snowflake) -> Seen {
        let guard = self.users.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .users
            .get(&user)
            .map(UserPresence::seen)
            .unwrap_or_else(Seen::offline)
    }

    /// The node's view of the user; `None` when it has no session of them.
    pub(crate) fn node_setting(&self, user: Snowflake) -> Option<NodeSetting> {
        let guard = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let newest = guard.users.get(&user)?.sessions.last()?;
        Some(NodeSetting {
            session: newest.session.clone(),
            version: newest.version,
            update: newest.update.clone(),
            stamp: newest.stamp,
        })
    }

    /// The cluster stamped a setting; kept unless the session set
    /// something else since.
    pub(crate) fn stamped(&self, user: Snowflake, setting: &NodeSetting, stamp: u64) {
        let mut guard = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = guard.users.get_mut(&user) else {
            return;
        };
        if let Some(s) = entry
            .sessions
            .iter_mut()
            .find(|s| s.session == setting.session && s.version == setting.version)
        {
            s.stamp = Some(stamp);
        }
    }

    /// The users this node has sessions of.
    pub(crate) fn users(&self) -> Vec<Snowflake> {
        let guard = self.users.lock().unwrap_or_else(|p| p.into_inner());
        guard.users.keys().copied().collect()
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

    #[test]
    fn the_node_view_is_the_newest_setting_and_keeps_its_stamp() {
        let p = Presences::default();
        let u = Snowflake(1);
        p.set(u, "a", status(Status::Dnd));
        p.set(u, "b", None);
        let newest = p.node_setting(u).unwrap();
        assert_eq!((newest.session.as_str(), newest.stamp), ("b", None));
        p.stamped(u, &newest, 7);
        assert_eq!(p.node_setting(u).unwrap().stamp, Some(7));

        // A stamp for a setting the session has replaced is not kept.
        p.set(u, "b", status(Status::Idle));
        p.stamped(u, &newest, 8);
        let replaced = p.node_setting(u).unwrap();
        assert_eq!(
            (replaced.update.status, replaced.stamp),
            (Status::Idle, None)
        );

        // The newest session ends: the older one is the node's view.
        p.remove(u, "b");
        assert_eq!(p.node_setting(u).unwrap().update.status, Status::Dnd);
        p.remove(u, "a");
        assert_eq!(p.node_setting(u), None);
        assert!(p.users().is_empty());
    }
}
