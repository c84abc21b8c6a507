//! A user's presence across the nodes of a cluster.
//!
//! Each node knows its own sessions of a user; what others see must be the
//! union over every node. A node records its *own* view of the user (the
//! presence its most recently set session set) in a shared place, stamped
//! with a cluster-wide order, and what is shown is the most recently set of
//! all the nodes' views: the rule a single node applies to its sessions
//! (`signaling::presence`), and what Discord does, where a status set by
//! one client becomes the user's status on all of them.
//!
//! The decision is here, without IO: [`Exchange`] is what one record
//! returns (every node's view as it was, and this node's as it is now), and
//! [`Exchange::shown_before`] / [`Exchange::shown_after`] are what others
//! saw before it and see after. Records of one user are atomic and ordered
//! by the shared place, so each change of what is shown is seen by exactly
//! the node that made it, which announces it. [`SharedPresences`] is the
//! edge; [`RedisPresences`] keeps the views in Redis.

mod redis;

use async_trait::async_trait;
use hearth_model::Snowflake;
use hearth_proto::gateway::PresenceUpdate;

pub use self::redis::RedisPresences;

/// How long a node's view of a user outlives its last renewal: a node that
/// died takes its sessions' presence with it after this.
pub const VIEW_TTL: std::time::Duration = std::time::Duration::from_secs(30);
/// How often a node renews its views.
pub const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// Nodes' views of one user considered at most: a cluster has far fewer
/// nodes, so more means entries of another kind, which are ignored.
pub const MAX_VIEWS: usize = 256;

/// One node's view of a user: what its most recently set session set, and
/// the cluster-wide order of that setting.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    pub stamp: u64,
    pub update: PresenceUpdate,
}

/// What a node records as its view of a user.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A session set this presence now: it gets a new stamp, later than
    /// every stamp of the user so far.
    Fresh(PresenceUpdate),
    /// The node's view is a presence set earlier (its newest session ended
    /// and an older one is now its newest, or a renewal).
    Kept(NodeView),
    /// The node has no session of the user left.
    Gone,
}

/// What one record saw and did.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// The other nodes' live views.
    pub others: Vec<NodeView>,
    /// This node's view before the record.
    pub mine_before: Option<NodeView>,
    /// Views of nodes that died (their deadline passed), removed by this
    /// record: they were shown until now, so a change they hid is this
    /// record's to announce.
    pub expired: Vec<NodeView>,
    /// This node's view after it (a `Fresh` record's with its new stamp).
    pub mine_after: Option<NodeView>,
}

/// The view that others see: the most recently set.
pub fn shown<'a>(views: impl IntoIterator<Item = &'a NodeView>) -> Option<&'a NodeView> {
    views.into_iter().max_by_key(|v| v.stamp)
}

impl Exchange {
    /// The presence others saw before the record (`None`: offline).
    pub fn shown_before(&self) -> Option<&PresenceUpdate> {
        shown(
            self.others
                .iter()
                .chain(&self.expired)
                .chain(&self.mine_before),
        )
        .map(|v| &v.update)
    }

    /// The presence others see after it.
    pub fn shown_after(&self) -> Option<&PresenceUpdate> {
        shown(self.others.iter().chain(&self.mine_after)).map(|v| &v.update)
    }

    /// The stamp a `Fresh` record got.
    pub fn stamp(&self) -> Option<u64> {
        self.mine_after.as_ref().map(|v| v.stamp)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PresenceError {
    #[error("presence store unreachable: {0}")]
    Unreachable(String),
    #[error("presence store answered with something unreadable: {0}")]
    Unreadable(String),
}

/// Where the nodes of a cluster keep their views of users.
#[async_trait]
pub trait SharedPresences: Send + Sync {
    /// Records this node's view of the user, atomically with reading the
    /// other nodes' views. A node records each of its users again every
    /// [`RENEW_EVERY`] to keep its views alive (and to write them again if
    /// the store lost them).
    async fn record(&self, user: Snowflake, record: Record) -> Result<Exchange, PresenceError>;
    /// What each user's live views show (`None`: no node has them), in
    /// the order asked.
    async fn shown(
        &self,
        users: &[Snowflake],
    ) -> Result<Vec<Option<PresenceUpdate>>, PresenceError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_proto::gateway::Status;

    fn view(stamp: u64, status: Status) -> NodeView {
        NodeView {
            stamp,
            update: PresenceUpdate {
                since: None,
                activities: vec![],
                status,
                afk: false,
            },
        }
    }

    fn status(p: Option<&PresenceUpdate>) -> Option<Status> {
        p.map(|p| p.status)
    }

    #[test]
    fn a_node_leaving_keeps_the_user_shown_while_another_node_has_them() {
        let ex = Exchange {
            others: vec![view(1, Status::Online)],
            mine_before: Some(view(2, Status::Online)),
            mine_after: None,
            expired: vec![],
        };
        assert_eq!(status(ex.shown_before()), Some(Status::Online));
        assert_eq!(status(ex.shown_after()), Some(Status::Online));
        assert_eq!(ex.shown_before(), ex.shown_after(), "nothing to announce");
    }

    #[test]
    fn the_last_node_leaving_shows_the_user_offline() {
        let ex = Exchange {
            others: vec![],
            mine_before: Some(view(5, Status::Idle)),
            mine_after: None,
            expired: vec![],
        };
        assert_eq!(status(ex.shown_after()), None);
        assert_ne!(ex.shown_before(), ex.shown_after());
    }

    #[test]
    fn the_most_recently_set_status_wins_on_any_node() {
        // dnd set on node b after online on node a: dnd is shown.
        let ex = Exchange {
            others: vec![view(1, Status::Online)],
            mine_before: Some(view(2, Status::Online)),
            mine_after: Some(view(3, Status::Dnd)),
            expired: vec![],
        };
        assert_eq!(status(ex.shown_after()), Some(Status::Dnd));
        // ...and when b's session ends, a's older online comes back.
        let ex = Exchange {
            others: vec![view(1, Status::Online)],
            mine_before: Some(view(3, Status::Dnd)),
            mine_after: None,
            expired: vec![],
        };
        assert_eq!(status(ex.shown_after()), Some(Status::Online));
    }

    #[test]
    fn an_older_view_of_this_node_does_not_hide_a_newer_one_elsewhere() {
        // This node's newest session ended; its older one (stamp 2) is its
        // view now, and node a's idle (stamp 4) stays what is shown.
        let ex = Exchange {
            others: vec![view(4, Status::Idle)],
            mine_before: Some(view(6, Status::Online)),
            mine_after: Some(view(2, Status::Dnd)),
            expired: vec![],
        };
        assert_eq!(status(ex.shown_before()), Some(Status::Online));
        assert_eq!(status(ex.shown_after()), Some(Status::Idle));
    }

    #[test]
    fn a_first_session_anywhere_is_a_change_from_offline() {
        let ex = Exchange {
            others: vec![],
            mine_before: None,
            mine_after: Some(view(1, Status::Online)),
            expired: vec![],
        };
        assert_eq!(ex.shown_before(), None);
        assert_eq!(status(ex.shown_after()), Some(Status::Online));
        assert_eq!(ex.stamp(), Some(1));
    }

    #[test]
    fn a_dead_nodes_view_that_was_shown_is_a_change_when_it_expires() {
        // Node b died with dnd, the newest; node a renews its online.
        let ex = Exchange {
            others: vec![],
            mine_before: Some(view(1, Status::Online)),
            mine_after: Some(view(1, Status::Online)),
            expired: vec![view(2, Status::Dnd)],
        };
        assert_eq!(status(ex.shown_before()), Some(Status::Dnd));
        assert_eq!(status(ex.shown_after()), Some(Status::Online));
    }
}
