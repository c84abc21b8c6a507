//! Presence across the nodes of a cluster: what others see of a user is
//! the union of their sessions on every node (`hearth_bus::presence`).
//!
//! A session's change only marks its user here (it never awaits). One task
//! takes the marked users in batches and records this node's view of each
//! in the shared store, several users at a time but each user once per
//! batch, so one user's records leave in the order of their changes; a
//! user marked again meanwhile is recorded in the next batch, with the
//! state as it is then. When a record changes what the cluster shows, this
//! node announces it (the store orders the records of a user, so exactly
//! one node sees each change). Every [`RENEW_EVERY`] each user this node
//! has is marked again: that keeps its views alive, writes them again if
//! the store lost them, and announces what changed because a node died.
//!
//! When the store cannot be reached, the node falls back to its own view,
//! as a single node does, and says so in its log (once per outage).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hearth_bus::presence::{NodeView, PresenceError, Record, SharedPresences, RENEW_EVERY};
use hearth_model::Snowflake;
use tokio::sync::Notify;

use crate::presence::Seen;
use crate::Gateway;

/// Users recorded at once.
const IN_FLIGHT: usize = 32;
/// After a failed request, the store is left alone this long: through an
/// outage each user falls back to this node's view at once, rather than
/// each waiting for a request to time out.
const RETRY_AFTER: Duration = Duration::from_secs(2);

pub(crate) struct ClusterPresence {
    shared: Arc<dyn SharedPresences>,
    /// Users to record, each with the guilds to announce a change in
    /// besides those of their live sessions here (an ended session's).
    marked: Mutex<HashMap<Snowflake, Vec<Snowflake>>>,
    wake: Notify,
    /// What this node last took the cluster to show of each of its users;
    /// what a change is told against while the store is unreachable.
    last_shown: Mutex<HashMap<Snowflake, Seen>>,
    unreachable: AtomicBool,
    /// Set after a failed request: until then, the store is not asked.
    retry_at: Mutex<Option<Instant>>,
}

impl ClusterPresence {
    /// Starts recording the gateway's users in `shared`.
    pub(crate) fn start(gw: &Arc<Gateway>, shared: Arc<dyn SharedPresences>) -> Arc<Self> {
        let cluster = Arc::new(ClusterPresence {
            shared,
            marked: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            last_shown: Mutex::new(HashMap::new()),
            unreachable: AtomicBool::new(false),
            retry_at: Mutex::new(None),
        });
        tokio::spawn(record_marked(Arc::downgrade(gw), cluster.clone()));
        tokio::spawn(renew(Arc::downgrade(gw), Arc::downgrade(&cluster)));
        cluster
    }

    /// The user's presence on this node may have changed.
    pub(crate) fn mark(&self, user: Snowflake, guilds: &[Snowflake]) {
        {
            let mut marked = lock(&self.marked);
            let also = marked.entry(user).or_default();
            for g in guilds {
                if !also.contains(g) {
                    also.push(*g);
                }
            }
        }
        self.wake.notify_one();
    }

    /// Records the node's view of one user; announces what the cluster
    /// shows if that changed.
    async fn settle(&self, gw: &Gateway, user: Snowflake, also: Vec<Snowflake>) {
        let setting = gw.presences.node_setting(user);
        let record = match &setting {
            None => Record::Gone,
            Some(s) => match s.stamp {
                Some(stamp) => Record::Kept(NodeView {
                    stamp,
                    update: s.update.clone(),
                }),
                None => Record::Fresh(s.update.clone()),
            },
        };
        // `Err(None)`: the store failed moments ago and is not asked.
        let recorded = if self.resting() {
            Err(None)
        } else {
            self.shared.record(user, record).await.map_err(Some)
        };
        let (before, after) = match recorded {
            Ok(exchange) => {
                self.reachable();
                if let (Some(s), Some(stamp)) = (&setting, exchange.stamp()) {
                    if s.stamp.is_none() {
                        gw.presences.stamped(user, s, stamp);
                    }
                }
                (
                    Seen::of(exchange.shown_before()),
                    Seen::of(exchange.shown_after()),
                )
            }
            Err(e) => {
                if let Some(e) = e {
                    self.unreachable(&e);
                }
                let before = lock(&self.last_shown)
                    .get(&user)
                    .cloned()
                    .unwrap_or_else(Seen::offline);
                (before, gw.presences.seen(user))
            }
        };
        {
            let mut last = lock(&self.last_shown);
            match setting {
                Some(_) => last.insert(user, after.clone()),
                None => last.remove(&user),
            };
        }
        if before != after {
            let mut guilds = gw.guilds_of_user(user);
            guilds.extend(also);
            guilds.sort();
            guilds.dedup();
            gw.announce_presence(user, &after, &guilds);
        }
    }

    /// What the cluster shows of those of `users` some node has. Users
    /// missing (no node has them, or the store cannot be reached) are for
    /// the caller to take from this node's own view.
    pub(crate) async fn shown(&self, users: &[Snowflake]) -> HashMap<Snowflake, Seen> {
        if self.resting() {
            return HashMap::new();
        }
        match self.shared.shown(users).await {
            Ok(all) => {
                self.reachable();
                users
                    .iter()
                    .zip(all)
                    .filter_map(|(u, p)| p.map(|p| (*u, Seen::of(Some(&p)))))
                    .collect()
            }
            Err(e) => {
                self.unreachable(&e);
                HashMap::new()
            }
        }
    }

    /// Tells a guild the user just joined what the cluster shows of them,
    /// unless that is offline.
    pub(crate) async fn tell_guild(&self, gw: &Gateway, user: Snowflake, guild: Snowflake) {
        let shown = self.shown(&[user]).await;
        let seen = gw.seen(user, &shown);
        if seen.status != hearth_proto::gateway::Status::Offline {
            gw.announce_presence(user, &seen, &[guild]);
        }
    }

    /// Whether the store failed so recently that it is not asked.
    fn resting(&self) -> bool {
        lock(&self.retry_at).is_some_and(|at| Instant::now() < at)
    }

    fn reachable(&self) {
        *lock(&self.retry_at) = None;
        if self.unreachable.swap(false, Ordering::AcqRel) {
            tracing::info!("presence store reachable again: presence is the cluster's again");
        }
    }

    fn unreachable(&self, e: &PresenceError) {
        *lock(&self.retry_at) = Some(Instant::now() + RETRY_AFTER);
        if !self.unreachable.swap(true, Ordering::AcqRel) {
            tracing::warn!(error = %e, "presence store unreachable: announcing this node's own view of its users' presence until it is back");
        }
    }
}

/// Records marked users until the gateway is gone.
async fn record_marked(gw: Weak<Gateway>, cluster: Arc<ClusterPresence>) {
    loop {
        cluster.wake.notified().await;
        let Some(gw) = gw.upgrade() else {
            return;
        };
        let batch = std::mem::take(&mut *lock(&cluster.marked));
        futures_util::stream::iter(batch)
            .for_each_concurrent(IN_FLIGHT, |(user, also)| {
                let (gw, cluster) = (&gw, &cluster);
                async move { cluster.settle(gw, user, also).await }
            })
            .await;
    }
}

/// Marks every user of the node every [`RENEW_EVERY`], until the gateway
/// is gone.
async fn renew(gw: Weak<Gateway>, cluster: Weak<ClusterPresence>) {
    let mut every = tokio::time::interval(RENEW_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        let (Some(gw), Some(cluster)) = (gw.upgrade(), cluster.upgrade()) else {
            return;
        };
        for user in gw.presences.users() {
            cluster.mark(user, &[]);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
