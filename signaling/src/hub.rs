//! Per guild: the state that decides who sees what, and the sessions
//! subscribed to it.
//!
//! The view is kept current by the same events the sessions receive (role,
//! channel, member and guild updates), applied before the event fans out, so
//! a role change that grants or revokes VIEW_CHANNEL governs the very next
//! dispatch. A hub is loaded from the store when its first session arrives;
//! events that come while it loads are queued and applied after.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use hearth_model::permissions::MemberContext;
use hearth_model::{Channel, Guild, Member, Permissions, Role, Snowflake, Timestamp};
use hearth_proto::events::Event;
use serde_json::Value;

use crate::session::Session;

fn parse<T: serde::de::DeserializeOwned>(v: &Value) -> Option<T> {
    T::deserialize(v).ok()
}

/// What permission checks need of a connected member.
#[derive(Debug, Clone, Default)]
pub struct MemberPerms {
    pub roles: Vec<Snowflake>,
    pub timeout_until: Option<Timestamp>,
}

impl From<&Member> for MemberPerms {
    fn from(m: &Member) -> Self {
        MemberPerms {
            roles: m.roles.clone(),
            timeout_until: m.communication_disabled_until,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GuildView {
    pub guild: Guild,
    pub channels: HashMap<Snowflake, Channel>,
    /// Members with sessions on this node.
    pub members: HashMap<Snowflake, MemberPerms>,
}

impl GuildView {
    pub fn new(guild: Guild, channels: Vec<Channel>) -> Self {
        GuildView {
            guild,
            channels: channels.into_iter().map(|c| (c.id, c)).collect(),
            members: HashMap::new(),
        }
    }

    /// The member's permissions in the channel; `scratch` is reused across
    /// calls in a fan-out loop to avoid an allocation per session.
    pub fn channel_permissions(
        &self,
        user: Snowflake,
        channel: &Channel,
        now: Timestamp,
        scratch: &mut Vec<(Snowflake, Permissions)>,
    ) -> Permissions {
        let Some(member) = self.members.get(&user) else {
            return Permissions::NONE;
        };
        scratch.clear();
        let mut everyone = Permissions::NONE;
        for role in &self.guild.roles {
            if role.id == self.guild.id {
                everyone = role.permissions;
            } else if member.roles.contains(&role.id) {
                scratch.push((role.id, role.permissions));
            }
        }
        let ctx = MemberContext {
            guild_id: self.guild.id,
            owner_id: self.guild.owner_id,
            user_id: user,
            everyone,
            roles: scratch,
            timed_out: member.timeout_until.is_some_and(|t| t > now),
        };
        ctx.channel_permissions(&channel.overwrite_rules())
    }

    pub fn can_view(
        &self,
        user: Snowflake,
        channel_id: Snowflake,
        now: Timestamp,
        scratch: &mut Vec<(Snowflake, Permissions)>,
    ) -> bool {
        self.channels.get(&channel_id).is_some_and(|c| {
            self.channel_permissions(user, c, now, scratch)
                .contains(Permissions::VIEW_CHANNEL)
        })
    }

    /// Applies a state-changing event; others leave the view alone.
    pub fn apply(&mut self, event: &Event) {
        let d = &event.data;
        match event.name.as_str() {
            "GUILD_UPDATE" => {
                if let Some(mut g) = parse::<Guild>(d) {
                    g.roles = std::mem::take(&mut self.guild.roles);
                    self.guild = g;
                }
            }
            "GUILD_ROLE_CREATE" | "GUILD_ROLE_UPDATE" => {
                if let Some(role) = d.get("role").and_then(parse::<Role>) {
                    match self.guild.roles.iter_mut().find(|r| r.id == role.id) {
                        Some(slot) => *slot = role,
                        None => self.guild.roles.push(role),
                    }
                }
            }
            "GUILD_ROLE_DELETE" => {
                if let Some(id) = d.get("role_id").and_then(parse::<Snowflake>) {
                    self.guild.roles.retain(|r| r.id != id);
                    for m in self.members.values_mut() {
                        m.roles.retain(|r| *r != id);
                    }
                    for c in self.channels.values_mut() {
                        c.permission_overwrites
                            .retain(|o| !(o.kind == 0 && o.id == id));
                    }
                }
            }
            "CHANNEL_CREATE" | "CHANNEL_UPDATE" => {
                if let Some(c) = parse::<Channel>(d) {
                    self.channels.insert(c.id, c);
                }
            }
            "CHANNEL_DELETE" => {
                if let Some(id) = d.get("id").and_then(parse::<Snowflake>) {
                    self.channels.remove(&id);
                }
            }
            "GUILD_MEMBER_UPDATE" => {
                let user = d.pointer("/user/id").and_then(parse::<Snowflake>);
                if let Some(slot) = user.and_then(|u| self.members.get_mut(&u)) {
                    if let Some(roles) = d.get("roles").and_then(parse::<Vec<Snowflake>>) {
                        slot.roles = roles;
                    }
                    slot.timeout_until = d
                        .get("communication_disabled_until")
                        .and_then(parse::<Option<Timestamp>>)
                        .flatten();
                }
            }
            _ => {}
        }
    }
}

#[derive(Debug)]
enum HubState {
    Loading(Vec<Arc<Event>>),
    Ready(Box<GuildView>),
}

#[derive(Debug)]
pub struct Hub {
    pub guild_id: Snowflake,
    state: RwLock<HubState>,
    sessions: RwLock<Vec<Arc<Session>>>,
}

impl Hub {
    pub fn loading(guild_id: Snowflake) -> Self {
        Hub {
            guild_id,
            state: RwLock::new(HubState::Loading(Vec::new())),
            sessions: RwLock::new(Vec::new()),
        }
    }

    /// Installs the loaded view and applies what arrived meanwhile.
    pub fn loaded(&self, mut view: GuildView) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if let HubState::Loading(queued) = &*state {
            for e in queued {
                view.apply(e);
            }
        }
        *state = HubState::Ready(Box::new(view));
    }

    pub fn is_ready(&self) -> bool {
        matches!(
            *self.state.read().unwrap_or_else(|p| p.into_inner()),
            HubState::Ready(_)
        )
    }

    pub fn apply(&self, event: &Arc<Event>) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        match &mut *state {
            HubState::Loading(queued) => queued.push(event.clone()),
            HubState::Ready(view) => view.apply(event),
        }
    }

    /// Runs `f` on the view with the subscribed sessions, if loaded.
    pub fn with_view<R>(&self, f: impl FnOnce(&GuildView, &[Arc<Session>]) -> R) -> Option<R> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let HubState::Ready(view) = &*state else {
            return None;
        };
        let sessions = self.sessions.read().unwrap_or_else(|p| p.into_inner());
        Some(f(view, &sessions))
    }

    /// Subscribes a session, recording its member's roles in the view; `then`
    /// runs while the view is locked, so no event slips between the snapshot
    /// it takes and the subscription.
    pub fn subscribe<R>(
        &self,
        session: &Arc<Session>,
        member: &Member,
        then: impl FnOnce(&GuildView) -> R,
    ) -> Option<R> {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let HubState::Ready(view) = &mut *state else {
            return None;
        };
        view.members
            .insert(member.user.id, MemberPerms::from(member));
        let out = then(view);
        let mut sessions = self.sessions.write().unwrap_or_else(|p| p.into_inner());
        if !sessions.iter().any(|s| Arc::ptr_eq(s, session)) {
            sessions.push(session.clone());
        }
        Some(out)
    }

    pub fn unsubscribe(&self, session: &Arc<Session>) {
        let mut sessions = self.sessions.write().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|s| !Arc::ptr_eq(s, session));
        let user = session.user.id;
        let still_here = sessions.iter().any(|s| s.user.id == user);
        drop(sessions);
        if !still_here {
            if let HubState::Ready(view) =
                &mut *self.state.write().unwrap_or_else(|p| p.into_inner())
            {
                view.members.remove(&user);
            }
        }
    }

    pub fn sessions_of(&self, user: Snowflake) -> Vec<Arc<Session>> {
        self.sessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|s| s.user.id == user)
            .cloned()
            .collect()
    }

    pub fn all_sessions(&self) -> Vec<Arc<Session>> {
        self.sessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
