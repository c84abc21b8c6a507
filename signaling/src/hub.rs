//! Per guild: the state that decides who sees what, and the sessions
//! subscribed to it.
//!
//! The view is kept current by the same events the sessions receive (role,
//! channel, member and guild updates), applied before the event fans out, so
//! a role change that grants or revokes VIEW_CHANNEL governs the very next
//! dispatch. A hub is loaded from the store when its first session arrives;
//! events that come while it loads are queued and applied after.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use hearth_model::permissions::{MemberContext, OverwriteRule, OverwriteTarget};
use hearth_model::{
    Channel, ChannelType, Guild, Member, Permissions, Snowflake, ThreadMember, Timestamp,
};
use hearth_proto::events::Event;

use crate::session::Session;

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
    /// The unarchived threads (at most `MAX_ACTIVE_THREADS` per guild):
    /// events of an archived thread reach nobody until it is unarchived.
    pub threads: HashMap<Snowflake, ThreadView>,
}

/// A thread as the view knows it: who may see it follows its parent, and
/// for a private thread, who its members are.
#[derive(Debug, Clone)]
pub struct ThreadView {
    pub thread: Channel,
    /// Members of a private thread (empty for a public one: not needed).
    pub members: HashSet<Snowflake>,
}

impl ThreadView {
    fn private(&self) -> bool {
        self.thread.kind == ChannelType::PrivateThread
    }
}

impl GuildView {
    pub fn new(guild: Guild, channels: Vec<Channel>) -> Self {
        GuildView {
            guild,
            channels: channels.into_iter().map(|c| (c.id, c)).collect(),
            members: HashMap::new(),
            threads: HashMap::new(),
        }
    }

    /// The guild's unarchived threads and the members of its private ones.
    pub fn with_threads(
        mut self,
        threads: Vec<Channel>,
        private_members: Vec<ThreadMember>,
    ) -> Self {
        for thread in threads {
            self.threads.insert(
                thread.id,
                ThreadView {
                    thread,
                    members: HashSet::new(),
                },
            );
        }
        for m in private_members {
            if let Some(t) = self.threads.get_mut(&m.id) {
                t.members.insert(m.user_id);
            }
        }
        self
    }

    fn thread_changed(&mut self, thread: &Channel, newly_created: bool) {
        let entry = self.threads.entry(thread.id).or_insert_with(|| ThreadView {
            thread: thread.clone(),
            members: HashSet::new(),
        });
        entry.thread = thread.clone();
        if newly_created && entry.private() {
            if let Some(owner) = thread.thread.as_ref().map(|t| t.owner_id) {
                entry.members.insert(owner);
            }
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

    /// Who may see a channel or thread, for one fan-out: see
    /// [`Visibility`].
    pub fn visibility(&self, channel_id: Snowflake) -> Option<Visibility<'_>> {
        let (channel, thread) = match self.channels.get(&channel_id) {
            Some(c) => (c, None),
            None => {
                let t = self.threads.get(&channel_id)?;
                (self.channels.get(&t.thread.parent_id?)?, Some(t))
            }
        };
        Some(Visibility {
            view: self,
            channel,
            thread,
            rules: channel.overwrite_rules(),
            by_roles: HashMap::new(),
            scratch: Vec::new(),
        })
    }

    /// Before the fan-out of an event applied after it: a deleted thread
    /// the view forgot (archived) is known again for the fan-out, so those
    /// who saw it hear of its deletion.
    pub fn prepare(&mut self, event: &Event) {
        if let Event::ThreadDelete { thread, members } = event {
            if !self.threads.contains_key(&thread.id) {
                self.thread_changed(thread, false);
                if let (Some(members), Some(t)) = (members, self.threads.get_mut(&thread.id)) {
                    t.members = members.iter().copied().collect();
                }
            }
        }
    }

    /// Applies a state-changing event; others leave the view alone.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::GuildUpdate(g) => {
                let roles = std::mem::take(&mut self.guild.roles);
                self.guild = Guild { roles, ..g.clone() };
            }
            Event::GuildRoleCreate { role, .. } | Event::GuildRoleUpdate { role, .. } => {
                match self.guild.roles.iter_mut().find(|r| r.id == role.id) {
                    Some(slot) => *slot = role.clone(),
                    None => self.guild.roles.push(role.clone()),
                }
            }
            Event::GuildRoleDelete { role_id, .. } => {
                let id = *role_id;
                self.guild.roles.retain(|r| r.id != id);
                for m in self.members.values_mut() {
                    m.roles.retain(|r| *r != id);
                }
                for c in self.channels.values_mut() {
                    c.permission_overwrites
                        .retain(|o| !(o.kind == 0 && o.id == id));
                }
            }
            Event::ChannelCreate(c) | Event::ChannelUpdate(c) => {
                self.channels.insert(c.id, c.clone());
            }
            Event::ChannelDelete(c) => {
                self.channels.remove(&c.id);
                // Its threads went with it.
                self.threads.retain(|_, t| t.thread.parent_id != Some(c.id));
            }
            Event::ThreadCreate {
                thread,
                newly_created,
            } => self.thread_changed(thread, *newly_created),
            // The view keeps unarchived threads only (a guild has at most
            // so many): an archived one is forgotten, after its fan-out,
            // and an unarchived private one comes back with its members.
            Event::ThreadUpdate { thread, members } => {
                let archived = thread
                    .thread
                    .as_ref()
                    .is_some_and(|t| t.thread_metadata.archived);
                if archived {
                    self.threads.remove(&thread.id);
                } else {
                    self.thread_changed(thread, false);
                    if let (Some(members), Some(t)) = (members, self.threads.get_mut(&thread.id)) {
                        if t.private() {
                            t.members = members.iter().copied().collect();
                        }
                    }
                }
            }
            Event::ThreadShown { thread, .. } => self.thread_changed(thread, false),
            Event::ThreadDelete { thread, .. } => {
                self.threads.remove(&thread.id);
            }
            Event::ThreadMembersUpdate(change) => {
                if let Some(t) = self.threads.get_mut(&change.id) {
                    if let Some(fields) = t.thread.thread.as_mut() {
                        fields.member_count = change.member_count;
                    }
                    if t.private() {
                        t.members.extend(change.added.iter().map(|m| m.user_id));
                        for gone in &change.removed {
                            t.members.remove(gone);
                        }
                    }
                }
            }
            // GUILD_CREATE's channels say where their history ends: a
            // client compares it with its read state for the unread mark.
            Event::MessageCreate { message, .. } => {
                if let Some(c) = self.channels.get_mut(&message.channel_id) {
                    c.last_message_id = c.last_message_id.max(Some(message.id));
                } else if let Some(t) = self.threads.get_mut(&message.channel_id) {
                    let c = &mut t.thread;
                    c.last_message_id = c.last_message_id.max(Some(message.id));
                }
            }
            Event::GuildMemberUpdate { member, .. } => {
                if let Some(slot) = self.members.get_mut(&member.user.id) {
                    *slot = MemberPerms::from(member);
                }
            }
            _ => {}
        }
    }
}

/// VIEW_CHANNEL for one channel (or thread) across many sessions. The
/// overwrites are turned into rules once, and the permissions are
/// remembered per set of roles: in a large guild most members share a
/// handful of role sets, so the permission computation runs a few times per
/// event, not once per session. Time-outs cannot take VIEW_CHANNEL away, so
/// they do not enter the key; members with an overwrite of their own, and
/// the owner, are computed individually. In a thread, the permissions are
/// the parent's, and a private thread shows only to its members and to
/// those who may MANAGE_THREADS.
pub struct Visibility<'v> {
    view: &'v GuildView,
    /// The channel whose overwrites apply: a thread's parent.
    channel: &'v Channel,
    thread: Option<&'v ThreadView>,
    rules: Vec<OverwriteRule>,
    by_roles: HashMap<&'v [Snowflake], Permissions>,
    scratch: Vec<(Snowflake, Permissions)>,
}

impl Visibility<'_> {
    pub fn allows(&mut self, user: Snowflake) -> bool {
        self.allows_with(user, Permissions::NONE)
    }

    /// Whether the user sees the channel and holds `also` there too (see
    /// `Event::channel_permission`).
    pub fn allows_with(&mut self, user: Snowflake, also: Permissions) -> bool {
        let perms = self.permissions(user);
        let needed = Permissions::VIEW_CHANNEL | also;
        match self.thread {
            Some(t) => hearth_model::threads::thread_permissions(
                perms,
                t.private(),
                t.members.contains(&user),
            )
            .contains(needed),
            None => perms.contains(needed),
        }
    }

    /// The user's permissions in the channel (a thread's parent).
    fn permissions(&mut self, user: Snowflake) -> Permissions {
        let Some(member) = self.view.members.get(&user) else {
            return Permissions::NONE;
        };
        let own_rule = user == self.view.guild.owner_id
            || self
                .rules
                .iter()
                .any(|r| r.target == OverwriteTarget::Member && r.id == user);
        if !own_rule {
            if let Some(&known) = self.by_roles.get(member.roles.as_slice()) {
                return known;
            }
        }
        self.scratch.clear();
        let mut everyone = Permissions::NONE;
        for role in &self.view.guild.roles {
            if role.id == self.view.guild.id {
                everyone = role.permissions;
            } else if member.roles.contains(&role.id) {
                self.scratch.push((role.id, role.permissions));
            }
        }
        let ctx = MemberContext {
            guild_id: self.view.guild.id,
            owner_id: self.view.guild.owner_id,
            user_id: user,
            everyone,
            roles: &self.scratch,
            timed_out: false,
        };
        let perms = ctx.channel_permissions(&self.rules);
        if !own_rule {
            self.by_roles.insert(member.roles.as_slice(), perms);
        }
        perms
    }

    pub fn channel(&self) -> &Channel {
        self.channel
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

    /// See [`GuildView::prepare`]; a loading view needs nothing prepared.
    pub fn prepare(&self, event: &Arc<Event>) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if let HubState::Ready(view) = &mut *state {
            view.prepare(event);
        }
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

    /// Subscribes a session, recording its member's roles in the view, if
    /// `admit` still agrees; `then` runs while the view is locked, so no
    /// event slips between the snapshot it takes and the subscription.
    ///
    /// `admit` runs under the sessions lock: a removal that it does not see
    /// looks for the member's sessions only after the subscription, and
    /// finds it (see `joins`).
    pub fn subscribe<R>(
        &self,
        session: &Arc<Session>,
        member: &Member,
        admit: impl FnOnce() -> bool,
        then: impl FnOnce(&GuildView) -> R,
    ) -> Option<R> {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let HubState::Ready(view) = &mut *state else {
            return None;
        };
        let mut sessions = self.sessions.write().unwrap_or_else(|p| p.into_inner());
        if !admit() {
            return None;
        }
        view.members
            .insert(member.user.id, MemberPerms::from(member));
        let out = then(view);
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

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::{ChannelType, Overwrite, Role};
    use serde_json::json;

    const GUILD: Snowflake = Snowflake(100);
    const OWNER: Snowflake = Snowflake(1);
    const STAFF: Snowflake = Snowflake(50);
    const CHANNEL: Snowflake = Snowflake(200);

    fn role(id: Snowflake, permissions: Permissions) -> Role {
        Role {
            id,
            name: "r".into(),
            color: 0,
            hoist: false,
            icon: None,
            unicode_emoji: None,
            position: 1,
            permissions,
            managed: false,
            mentionable: false,
            flags: 0,
            tags: None,
        }
    }

    fn member(id: u64) -> Member {
        serde_json::from_value(json!({
            "user": {"id": id.to_string(), "username": "u", "discriminator": "0", "global_name": null, "avatar": null},
            "nick": null, "avatar": null, "roles": [], "joined_at": "2026-01-01T00:00:00.000000+00:00",
            "deaf": false, "mute": false, "flags": 0, "pending": false, "communication_disabled_until": null,
        }))
        .unwrap()
    }

    fn view(overwrites: Vec<Overwrite>) -> GuildView {
        let guild: Guild = serde_json::from_value(json!({
            "id": GUILD, "name": "g", "icon": null, "description": null, "owner_id": OWNER, "afk_channel_id": null,
            "afk_timeout": 300, "system_channel_id": null, "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "mfa_level": 0, "nsfw_level": 0, "premium_tier": 0, "preferred_locale": "en-US",
            "features": [], "emojis": [], "stickers": [], "roles": []
        }))
        .unwrap();
        let mut guild = guild;
        guild.roles = vec![
            role(GUILD, Permissions::EVERYONE_DEFAULT),
            role(STAFF, Permissions::NONE),
        ];
        let channel = Channel {
            id: CHANNEL,
            kind: ChannelType::Text,
            guild_id: GUILD,
            position: 0,
            permission_overwrites: overwrites,
            name: "c".into(),
            parent_id: None,
            nsfw: false,
            flags: 0,
            topic: None,
            last_message_id: None,
            rate_limit_per_user: None,
            bitrate: None,
            user_limit: None,
            rtc_region: None,
            thread: None,
        };
        let mut v = GuildView::new(guild, vec![channel]);
        for (user, roles) in [
            (OWNER, vec![]),
            (Snowflake(2), vec![]),
            (Snowflake(3), vec![STAFF]),
            (Snowflake(4), vec![]),
            (Snowflake(5), vec![STAFF]),
        ] {
            v.members.insert(
                user,
                MemberPerms {
                    roles,
                    timeout_until: None,
                },
            );
        }
        v
    }

    fn hidden_but_for_staff_and_four() -> Vec<Overwrite> {
        vec![
            Overwrite {
                id: GUILD,
                kind: 0,
                allow: Permissions::NONE,
                deny: Permissions::VIEW_CHANNEL,
            },
            Overwrite {
                id: STAFF,
                kind: 0,
                allow: Permissions::VIEW_CHANNEL,
                deny: Permissions::NONE,
            },
            Overwrite {
                id: Snowflake(4),
                kind: 1,
                allow: Permissions::VIEW_CHANNEL,
                deny: Permissions::NONE,
            },
        ]
    }

    #[test]
    fn visibility_follows_roles_member_overwrites_and_ownership() {
        let v = view(hidden_but_for_staff_and_four());
        let mut vis = v.visibility(CHANNEL).unwrap();
        let seen: Vec<bool> = [2, 3, 4, 5, 1, 2, 99]
            .iter()
            .map(|u| vis.allows(Snowflake(*u)))
            .collect();
        // 2: no role; 3, 5: staff; 4: own overwrite; 1: owner; 99: not connected.
        assert_eq!(seen, vec![false, true, true, true, true, false, false]);
    }

    #[test]
    fn events_change_the_view_before_the_next_check() {
        let mut v = view(hidden_but_for_staff_and_four());
        assert!(!v.visibility(CHANNEL).unwrap().allows(Snowflake(2)));
        let mut staff = member(2);
        staff.roles = vec![STAFF];
        v.apply(&Event::GuildMemberUpdate {
            guild_id: GUILD,
            member: staff,
        });
        assert!(v.visibility(CHANNEL).unwrap().allows(Snowflake(2)));
        v.apply(&Event::GuildRoleDelete {
            guild_id: GUILD,
            role_id: STAFF,
        });
        assert!(!v.visibility(CHANNEL).unwrap().allows(Snowflake(2)));
        assert!(v.visibility(CHANNEL).unwrap().allows(Snowflake(4)));
    }
}
