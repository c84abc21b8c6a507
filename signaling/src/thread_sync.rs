//! THREAD_LIST_SYNC: when a change of roles, overwrites or ownership lets
//! a user see a channel they could not, Discord tells their sessions the
//! channel's active threads, which GUILD_CREATE gave them for the channels
//! they saw then. Only channels with active threads matter, so the check
//! before and after such a change looks at those alone.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hearth_model::{Channel, Snowflake};
use hearth_proto::events::Event;
use hearth_proto::gateway::intents;
use serde_json::json;

use crate::hub::GuildView;
use crate::session::Session;

/// For each subscribed user, the parents of active threads they may see.
pub type SeenParents = BTreeMap<Snowflake, BTreeSet<Snowflake>>;

/// Whose sight of which channels an event may change: only those are
/// compared, so an ordinary member's update (a nickname) costs a look at
/// their own sessions, not the guild's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// `None`: every subscribed user.
    user: Option<Snowflake>,
    /// `None`: every channel with active threads.
    channel: Option<Snowflake>,
}

/// Whether the event is of a kind that can change who sees a channel:
/// checked before anything else, so the other events (messages above all)
/// take no extra lock on the fan-out path.
pub fn may_change_sight(event: &Event) -> bool {
    matches!(
        event,
        Event::GuildMemberUpdate { .. }
            | Event::GuildUpdate(_)
            | Event::GuildRoleUpdate { .. }
            | Event::GuildRoleDelete { .. }
            | Event::ChannelUpdate(_)
    )
}

/// The scope of an event, judged before it is applied to the view; `None`
/// when it cannot change what anyone sees.
pub fn scope(view: &GuildView, event: &Event) -> Option<Scope> {
    let everyone = Scope {
        user: None,
        channel: None,
    };
    let scope = match event {
        Event::GuildMemberUpdate { member, .. } => Scope {
            user: Some(member.user.id),
            channel: None,
        },
        // Only a change of owner changes anyone's permissions.
        Event::GuildUpdate(g) if g.owner_id != view.guild.owner_id => everyone,
        Event::GuildRoleUpdate { .. } | Event::GuildRoleDelete { .. } => everyone,
        Event::ChannelUpdate(c) => Scope {
            user: None,
            channel: Some(c.id),
        },
        _ => return None,
    };
    // Nothing to sync where no channel has active threads.
    let parents = parents(view, scope.channel);
    (!parents.is_empty()).then_some(scope)
}

/// The parents of active threads, or only `channel` if it is one.
fn parents(view: &GuildView, channel: Option<Snowflake>) -> BTreeSet<Snowflake> {
    view.threads
        .values()
        .filter_map(|t| t.thread.parent_id)
        .filter(|p| channel.is_none_or(|c| c == *p))
        .collect()
}

/// What each user in scope sees now of the channels in scope.
pub fn seen(view: &GuildView, sessions: &[Arc<Session>], scope: &Scope) -> SeenParents {
    let parents = parents(view, scope.channel);
    let mut seen = SeenParents::new();
    if parents.is_empty() {
        return seen;
    }
    let mut visibility: Vec<_> = parents
        .iter()
        .filter_map(|p| view.visibility(*p).map(|v| (*p, v)))
        .collect();
    for s in sessions {
        let user = s.user.id;
        if scope.user.is_some_and(|u| u != user) || seen.contains_key(&user) {
            continue;
        }
        let visible = visibility
            .iter_mut()
            .filter_map(|(p, v)| v.allows(user).then_some(*p))
            .collect();
        seen.insert(user, visible);
    }
    seen
}

/// After the change: to each session (with GUILDS) of a user who now sees
/// a channel with active threads they did not see before, the
/// THREAD_LIST_SYNC of those channels: `{guild_id, channel_ids, threads,
/// members}` (`members` empty: the view does not know who joined a public
/// thread).
pub fn gained(
    view: &GuildView,
    sessions: &[Arc<Session>],
    scope: &Scope,
    before: &SeenParents,
) -> Vec<(Arc<Session>, serde_json::Value)> {
    if before.is_empty() {
        return Vec::new();
    }
    let after = seen(view, sessions, scope);
    let mut out = Vec::new();
    for s in sessions {
        if s.intents & intents::GUILDS == 0 {
            continue;
        }
        let user = s.user.id;
        let (Some(was), Some(now)) = (before.get(&user), after.get(&user)) else {
            continue;
        };
        let new: Vec<Snowflake> = now.difference(was).copied().collect();
        if new.is_empty() {
            continue;
        }
        let threads: Vec<&Channel> = view
            .threads
            .values()
            .map(|t| &t.thread)
            .filter(|t| t.parent_id.is_some_and(|p| new.contains(&p)))
            .filter(|t| view.visibility(t.id).is_some_and(|mut v| v.allows(user)))
            .collect();
        if threads.is_empty() {
            continue;
        }
        let d = json!({
            "guild_id": view.guild.id,
            "channel_ids": new,
            "threads": threads,
            "members": [],
        });
        out.push((s.clone(), d));
    }
    out
}
