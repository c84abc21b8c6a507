//! Partial writes: what an edit names, and nothing else.
//!
//! A route never writes back a whole record it read earlier: between its read
//! and its write another request may have changed the row (a moderator's
//! time-out, a role taken away, a new overwrite), and writing the stale copy
//! would silently undo that. Instead a route describes the fields it changes
//! as an edit; the store reads the current row, applies the edit and writes
//! it in one transaction, so concurrent edits of different fields all
//! survive and edits of the same field apply in some order, never lost.
//!
//! `apply` is plain data manipulation, shared by every backend and tested
//! here without a database.

use hearth_model::{Application, Channel, Guild, Member, Overwrite, Permissions, Role};
use hearth_model::{Snowflake, Timestamp};

/// A member's roles: replaced whole (`PATCH member {roles}`), or one added
/// or taken away (`PUT`/`DELETE .../roles/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolesEdit {
    Set(Vec<Snowflake>),
    Add(Snowflake),
    Remove(Snowflake),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberEdit {
    pub nick: Option<Option<String>>,
    pub roles: Option<RolesEdit>,
    pub mute: Option<bool>,
    pub deaf: Option<bool>,
    pub communication_disabled_until: Option<Option<Timestamp>>,
}

impl MemberEdit {
    /// Applies the edit; roles no longer in the guild (`exists` says no) are
    /// dropped, so a grant racing the role's deletion cannot bring it back.
    pub fn apply(&self, m: &mut Member, exists: impl Fn(Snowflake) -> bool) {
        if let Some(nick) = &self.nick {
            m.nick.clone_from(nick);
        }
        match &self.roles {
            Some(RolesEdit::Set(roles)) => {
                m.roles.clear();
                for r in roles {
                    if exists(*r) && !m.roles.contains(r) {
                        m.roles.push(*r);
                    }
                }
            }
            Some(RolesEdit::Add(r)) if exists(*r) && !m.roles.contains(r) => m.roles.push(*r),
            Some(RolesEdit::Remove(r)) => m.roles.retain(|x| x != r),
            Some(RolesEdit::Add(_)) | None => {}
        }
        if let Some(mute) = self.mute {
            m.mute = mute;
        }
        if let Some(deaf) = self.deaf {
            m.deaf = deaf;
        }
        if let Some(until) = self.communication_disabled_until {
            m.communication_disabled_until = until;
        }
    }
}

/// A channel's overwrites: replaced whole, or one put or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverwritesEdit {
    Set(Vec<Overwrite>),
    Put(Overwrite),
    Delete(Snowflake),
}

/// A change to a thread: only the fields named change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadEdit {
    pub name: Option<String>,
    pub archived: Option<bool>,
    pub auto_archive_duration: Option<u32>,
    pub locked: Option<bool>,
    pub invitable: Option<bool>,
    pub rate_limit_per_user: Option<u32>,
}

impl ThreadEdit {
    /// Applies the edit; a change of `archived` restarts the archive clock
    /// at `now`. Whether it unarchived the thread is for the caller to see
    /// in the result.
    pub fn apply(&self, c: &mut Channel, now: hearth_model::Timestamp) {
        if let Some(name) = &self.name {
            c.name.clone_from(name);
        }
        if let Some(r) = self.rate_limit_per_user {
            c.rate_limit_per_user = Some(r);
        }
        let Some(thread) = c.thread.as_mut() else {
            return;
        };
        let meta = &mut thread.thread_metadata;
        if let Some(a) = self.archived {
            if a != meta.archived {
                meta.archived = a;
                meta.archive_timestamp = now;
            }
        }
        if let Some(d) = self.auto_archive_duration {
            meta.auto_archive_duration = d;
        }
        if let Some(l) = self.locked {
            meta.locked = l;
        }
        if let (Some(i), Some(slot)) = (self.invitable, meta.invitable.as_mut()) {
            *slot = i;
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelEdit {
    pub name: Option<String>,
    pub position: Option<i32>,
    pub topic: Option<Option<String>>,
    pub nsfw: Option<bool>,
    pub rate_limit_per_user: Option<u32>,
    pub bitrate: Option<u32>,
    pub user_limit: Option<u32>,
    pub rtc_region: Option<Option<String>>,
    pub parent_id: Option<Option<Snowflake>>,
    pub overwrites: Option<OverwritesEdit>,
}

impl ChannelEdit {
    pub fn apply(&self, c: &mut Channel) {
        if let Some(name) = &self.name {
            c.name.clone_from(name);
        }
        if let Some(p) = self.position {
            c.position = p;
        }
        if let Some(t) = &self.topic {
            c.topic.clone_from(t);
        }
        if let Some(n) = self.nsfw {
            c.nsfw = n;
        }
        if let Some(r) = self.rate_limit_per_user {
            c.rate_limit_per_user = Some(r);
        }
        if let Some(b) = self.bitrate {
            c.bitrate = Some(b);
        }
        if let Some(u) = self.user_limit {
            c.user_limit = Some(u);
        }
        if let Some(r) = &self.rtc_region {
            c.rtc_region = Some(r.clone());
        }
        if let Some(p) = self.parent_id {
            c.parent_id = p;
        }
        match &self.overwrites {
            Some(OverwritesEdit::Set(all)) => c.permission_overwrites.clone_from(all),
            Some(OverwritesEdit::Put(o)) => {
                match c.permission_overwrites.iter_mut().find(|x| x.id == o.id) {
                    Some(slot) => *slot = o.clone(),
                    None => c.permission_overwrites.push(o.clone()),
                }
            }
            Some(OverwritesEdit::Delete(id)) => c.permission_overwrites.retain(|x| x.id != *id),
            None => {}
        }
    }

    /// The role overwrites this edit would write (checked against the
    /// guild's roles inside the transaction).
    pub fn role_targets(&self) -> Vec<Snowflake> {
        let role_ids = |os: &[Overwrite]| -> Vec<Snowflake> {
            os.iter().filter(|o| o.kind == 0).map(|o| o.id).collect()
        };
        match &self.overwrites {
            Some(OverwritesEdit::Set(all)) => role_ids(all),
            Some(OverwritesEdit::Put(o)) => role_ids(std::slice::from_ref(o)),
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleEdit {
    pub name: Option<String>,
    pub permissions: Option<Permissions>,
    pub color: Option<u32>,
    pub hoist: Option<bool>,
    pub mentionable: Option<bool>,
    /// Where the role goes among the others (see [`place_role`]).
    pub position: Option<i32>,
}

impl RoleEdit {
    /// Applies everything but the position, which moves other roles too.
    pub fn apply(&self, r: &mut Role) {
        if let Some(name) = &self.name {
            r.name.clone_from(name);
        }
        if let Some(p) = self.permissions {
            r.permissions = p;
        }
        if let Some(c) = self.color {
            r.color = c;
        }
        if let Some(h) = self.hoist {
            r.hoist = h;
        }
        if let Some(m) = self.mentionable {
            r.mentionable = m;
        }
    }
}

/// The highest position a role can hold: one per role besides @everyone,
/// which stays at 0. Positions are kept dense (1..=n), so no client value
/// can push one past another's or make it wrap.
pub fn top_position(roles: &[Role], guild_id: Snowflake) -> i32 {
    roles.iter().filter(|r| r.id != guild_id).count() as i32
}

/// Moves (or inserts) `role_id` to `position` among the guild's roles and
/// renumbers every role but @everyone to 1..=n in rank order. `position` is
/// clamped to that range. Returns the roles whose position changed.
pub fn place_role(
    roles: &mut [Role],
    guild_id: Snowflake,
    role_id: Snowflake,
    position: Option<i32>,
) -> Vec<Snowflake> {
    let before: Vec<(Snowflake, i32)> = roles.iter().map(|r| (r.id, r.position)).collect();
    let mut order: Vec<usize> = (0..roles.len())
        .filter(|&i| roles[i].id != guild_id)
        .collect();
    order.sort_by_key(|&i| roles[i].rank());
    if let Some(p) = position {
        if let Some(at) = order.iter().position(|&i| roles[i].id == role_id) {
            let moved = order.remove(at);
            let slot = (p.clamp(1, order.len() as i32 + 1) - 1) as usize;
            order.insert(slot, moved);
        }
    }
    for (rank, &i) in order.iter().enumerate() {
        roles[i].position = rank as i32 + 1;
    }
    roles
        .iter()
        .zip(before)
        .filter(|(r, (_, was))| r.position != *was)
        .map(|(r, _)| r.id)
        .collect()
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuildEdit {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub icon: Option<Option<String>>,
    pub afk_timeout: Option<u32>,
    pub system_channel_id: Option<Option<Snowflake>>,
    pub afk_channel_id: Option<Option<Snowflake>>,
    pub default_message_notifications: Option<u8>,
}

impl GuildEdit {
    pub fn apply(&self, g: &mut Guild) {
        if let Some(name) = &self.name {
            g.name.clone_from(name);
        }
        if let Some(d) = &self.description {
            g.description.clone_from(d);
        }
        if let Some(i) = &self.icon {
            g.icon.clone_from(i);
        }
        if let Some(t) = self.afk_timeout {
            g.afk_timeout = t;
        }
        if let Some(c) = self.system_channel_id {
            g.system_channel_id = c;
        }
        if let Some(c) = self.afk_channel_id {
            g.afk_channel_id = c;
        }
        if let Some(level) = self.default_message_notifications {
            g.default_message_notifications = level;
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationEdit {
    pub name: Option<String>,
    pub description: Option<String>,
    pub flags: Option<u64>,
}

impl ApplicationEdit {
    pub fn apply(&self, a: &mut Application) {
        if let Some(name) = &self.name {
            a.name.clone_from(name);
        }
        if let Some(d) = &self.description {
            a.description.clone_from(d);
        }
        if let Some(f) = self.flags {
            a.flags = f;
        }
    }
}

/// The result of an edit: the record as stored afterwards, and whether the
/// edit changed anything (an event is due only then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited<T> {
    pub now: T,
    pub changed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(id: u64, position: i32) -> Role {
        Role {
            id: Snowflake(id),
            name: format!("r{id}"),
            color: 0,
            hoist: false,
            icon: None,
            unicode_emoji: None,
            position,
            permissions: Permissions::default(),
            managed: false,
            mentionable: false,
            flags: 0,
            tags: None,
        }
    }

    fn positions(roles: &[Role]) -> Vec<(u64, i32)> {
        let mut v: Vec<_> = roles.iter().map(|r| (r.id.0, r.position)).collect();
        v.sort();
        v
    }

    #[test]
    fn a_huge_position_lands_on_top_and_stays_small() {
        // @everyone is 1; roles 2 (admin, top) and 3.
        let mut roles = vec![role(1, 0), role(2, 2), role(3, 1), role(4, 1)];
        place_role(&mut roles, Snowflake(1), Snowflake(4), Some(i32::MAX));
        assert_eq!(positions(&roles), vec![(1, 0), (2, 2), (3, 1), (4, 3)]);
    }

    #[test]
    fn a_negative_position_lands_just_above_everyone() {
        let mut roles = vec![role(1, 0), role(2, 2), role(3, 1)];
        let changed = place_role(&mut roles, Snowflake(1), Snowflake(2), Some(i32::MIN));
        assert_eq!(positions(&roles), vec![(1, 0), (2, 1), (3, 2)]);
        assert_eq!(changed.len(), 2);
    }

    #[test]
    fn stale_sparse_positions_are_renumbered_without_overflow() {
        // Data written by an older build: positions near i32::MAX.
        let mut roles = vec![role(1, 0), role(2, i32::MAX), role(3, i32::MAX - 1)];
        place_role(&mut roles, Snowflake(1), Snowflake(3), None);
        assert_eq!(positions(&roles), vec![(1, 0), (2, 2), (3, 1)]);
    }

    #[test]
    fn adding_a_deleted_role_does_nothing() {
        let mut m = Member {
            user: hearth_model::User {
                id: Snowflake(9),
                username: "u".into(),
                discriminator: "0".into(),
                global_name: None,
                avatar: None,
                bot: false,
            },
            nick: None,
            avatar: None,
            roles: vec![Snowflake(5)],
            joined_at: Timestamp(0),
            deaf: false,
            mute: false,
            flags: 0,
            pending: false,
            communication_disabled_until: None,
        };
        let exists = |r: Snowflake| r == Snowflake(5) || r == Snowflake(6);
        MemberEdit {
            roles: Some(RolesEdit::Add(Snowflake(7))),
            ..Default::default()
        }
        .apply(&mut m, exists);
        assert_eq!(m.roles, vec![Snowflake(5)]);
        MemberEdit {
            nick: Some(Some("n".into())),
            ..Default::default()
        }
        .apply(&mut m, exists);
        assert_eq!(m.roles, vec![Snowflake(5)], "a nick edit keeps roles");
        assert_eq!(m.nick.as_deref(), Some("n"));
    }

    #[test]
    fn putting_an_overwrite_replaces_only_that_target() {
        let ow = |id: u64, allow: u64| Overwrite {
            id: Snowflake(id),
            kind: 0,
            allow: Permissions(allow),
            deny: Permissions(0),
        };
        let mut c = Channel {
            id: Snowflake(1),
            kind: hearth_model::ChannelType::Text,
            guild_id: Snowflake(2),
            position: 0,
            permission_overwrites: vec![ow(3, 1), ow(4, 1)],
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
        ChannelEdit {
            overwrites: Some(OverwritesEdit::Put(ow(4, 2))),
            ..Default::default()
        }
        .apply(&mut c);
        assert_eq!(c.permission_overwrites, vec![ow(3, 1), ow(4, 2)]);
        ChannelEdit {
            name: Some("d".into()),
            ..Default::default()
        }
        .apply(&mut c);
        assert_eq!(
            c.permission_overwrites.len(),
            2,
            "a rename keeps overwrites"
        );
    }
}
