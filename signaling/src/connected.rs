//! In a cluster, `max_sessions_per_user` counts a user's connected
//! sessions on every node (`hearth_bus::connected`). The node's own count
//! (`Gateway::register`) still decides first, and alone when Redis does
//! not answer in time.

use std::sync::Arc;

use hearth_bus::connected::{ConnectedSessions, RENEW_EVERY};

use crate::gateway::Gateway;
use crate::session::Session;

impl Gateway {
    /// In a cluster: connected sessions counted by every node together.
    pub fn share_connected_sessions(self: &Arc<Self>, shared: Arc<ConnectedSessions>) {
        if self.connected.set(shared.clone()).is_err() {
            return;
        }
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RENEW_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(gw) = me.upgrade() else { return };
                let attached = gw.attached_sessions();
                drop(gw);
                if let Err(e) = shared.renew(&attached).await {
                    tracing::debug!(error = %e, "connected sessions not renewed");
                }
            }
        });
    }

    /// Whether the cluster lets this newly registered session connect:
    /// false if its user has `max_sessions_per_user` connected sessions on
    /// the nodes together.
    pub(crate) async fn admit_connected(&self, session: &Session) -> bool {
        let Some(shared) = self.connected.get() else {
            return true;
        };
        let limit = self.config.max_sessions_per_user;
        if limit == usize::MAX {
            return true;
        }
        match shared.admit(session.user.id, &session.id, limit).await {
            Ok(admitted) => admitted,
            Err(e) => {
                tracing::warn!(error = %e, "connected sessions counted by this node alone");
                true
            }
        }
    }

    /// The session's connection is gone (or the session ended): it counts
    /// no more. Off the caller's path.
    pub(crate) fn disconnected(&self, session: &Session) {
        let Some(shared) = self.connected.get().cloned() else {
            return;
        };
        let (user, id) = (session.user.id, session.id.clone());
        tokio::spawn(async move {
            if let Err(e) = shared.release(user, &id).await {
                tracing::debug!(error = %e, "a connected session not released");
            }
        });
    }

    /// A resumed session counts again (resuming is never refused for the
    /// count: the session existed already). Off the caller's path.
    pub(crate) fn reconnected(&self, session: &Session) {
        let Some(shared) = self.connected.get().cloned() else {
            return;
        };
        let one = vec![(session.user.id, session.id.clone())];
        tokio::spawn(async move {
            let _ = shared.renew(&one).await;
        });
    }
}
