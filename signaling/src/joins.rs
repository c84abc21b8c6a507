//! Joins in flight: a session being subscribed to a guild while a removal
//! of its member (kick, ban, leave) may be under way.
//!
//! Subscribing needs the store (is the user a member? the guild's shape),
//! so it runs after an await; a GUILD_MEMBER_REMOVE that arrives meanwhile
//! finds nothing to unsubscribe, and a subscription made from a member read
//! before the removal committed would outlive it. So a join takes a
//! [`JoinTicket`] *before* it reads the store, a removal counts against
//! every ticket of that member, and the hub admits the subscription only if
//! no removal came since the ticket was taken: either the join read the
//! store after the removal committed (and found no member), or the removal
//! is seen here, or it comes after the subscription and unsubscribes it.

use std::collections::HashMap;
use std::sync::Mutex;

use hearth_model::Snowflake;

#[derive(Debug, Default)]
pub struct Joins {
    pending: Mutex<HashMap<(Snowflake, Snowflake), Pending>>,
}

#[derive(Debug, Default)]
struct Pending {
    tickets: usize,
    /// Removals of the member seen while tickets were out.
    removals: u64,
}

/// One join in flight; dropping it ends the join.
pub struct JoinTicket<'a> {
    joins: &'a Joins,
    key: (Snowflake, Snowflake),
    removals_at_start: u64,
}

impl Joins {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Snowflake, Snowflake), Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Take before reading whether `user` is a member of `guild`.
    pub fn begin(&self, guild: Snowflake, user: Snowflake) -> JoinTicket<'_> {
        let key = (guild, user);
        let mut pending = self.lock();
        let p = pending.entry(key).or_default();
        p.tickets += 1;
        JoinTicket {
            joins: self,
            key,
            removals_at_start: p.removals,
        }
    }

    /// The member was removed from the guild (the removal is committed).
    pub fn removed(&self, guild: Snowflake, user: Snowflake) {
        if let Some(p) = self.lock().get_mut(&(guild, user)) {
            p.removals += 1;
        }
    }
}

impl JoinTicket<'_> {
    /// Whether no removal of the member came since the ticket was taken.
    pub fn still_member(&self) -> bool {
        self.joins
            .lock()
            .get(&self.key)
            .is_some_and(|p| p.removals == self.removals_at_start)
    }
}

impl Drop for JoinTicket<'_> {
    fn drop(&mut self) {
        let mut pending = self.joins.lock();
        if let Some(p) = pending.get_mut(&self.key) {
            p.tickets -= 1;
            if p.tickets == 0 {
                pending.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Snowflake = Snowflake(1);
    const U: Snowflake = Snowflake(2);

    #[test]
    fn a_removal_during_a_join_refuses_it_and_only_it() {
        let joins = Joins::default();
        let first = joins.begin(G, U);
        joins.removed(G, U);
        // A join that starts after the removal read the store after it.
        let second = joins.begin(G, U);
        assert!(!first.still_member());
        assert!(second.still_member());
        joins.removed(Snowflake(9), U);
        assert!(second.still_member(), "another guild's removal");
    }

    #[test]
    fn nothing_is_kept_once_the_joins_end() {
        let joins = Joins::default();
        drop(joins.begin(G, U));
        joins.removed(G, U);
        assert!(joins.lock().is_empty());
        let t = joins.begin(G, U);
        assert!(t.still_member());
    }
}
