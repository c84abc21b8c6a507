//! The permission bitfield with Discord's bit positions, and Discord's exact
//! computation of a member's permissions in a guild and in a channel.
//!
//! The computation is pure: callers hand in the guild's owner, the roles and
//! the channel's overwrites, so the same function serves REST checks, gateway
//! fan-out filtering and voice admission.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Not};

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::Snowflake;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(pub u64);

macro_rules! bits {
    ($($name:ident = $bit:expr;)*) => {
        impl Permissions {
            $(pub const $name: Permissions = Permissions(1 << $bit);)*
            /// Every named bit, for display and for "all permissions".
            pub const NAMED: &'static [(&'static str, Permissions)] = &[$((stringify!($name), Permissions(1 << $bit)),)*];
        }
    };
}

bits! {
    CREATE_INSTANT_INVITE = 0;
    KICK_MEMBERS = 1;
    BAN_MEMBERS = 2;
    ADMINISTRATOR = 3;
    MANAGE_CHANNELS = 4;
    MANAGE_GUILD = 5;
    ADD_REACTIONS = 6;
    VIEW_AUDIT_LOG = 7;
    PRIORITY_SPEAKER = 8;
    STREAM = 9;
    VIEW_CHANNEL = 10;
    SEND_MESSAGES = 11;
    SEND_TTS_MESSAGES = 12;
    MANAGE_MESSAGES = 13;
    EMBED_LINKS = 14;
    ATTACH_FILES = 15;
    READ_MESSAGE_HISTORY = 16;
    MENTION_EVERYONE = 17;
    USE_EXTERNAL_EMOJIS = 18;
    VIEW_GUILD_INSIGHTS = 19;
    CONNECT = 20;
    SPEAK = 21;
    MUTE_MEMBERS = 22;
    DEAFEN_MEMBERS = 23;
    MOVE_MEMBERS = 24;
    USE_VAD = 25;
    CHANGE_NICKNAME = 26;
    MANAGE_NICKNAMES = 27;
    MANAGE_ROLES = 28;
    MANAGE_WEBHOOKS = 29;
    MANAGE_GUILD_EXPRESSIONS = 30;
    USE_APPLICATION_COMMANDS = 31;
    REQUEST_TO_SPEAK = 32;
    MANAGE_EVENTS = 33;
    MANAGE_THREADS = 34;
    CREATE_PUBLIC_THREADS = 35;
    CREATE_PRIVATE_THREADS = 36;
    USE_EXTERNAL_STICKERS = 37;
    SEND_MESSAGES_IN_THREADS = 38;
    USE_EMBEDDED_ACTIVITIES = 39;
    MODERATE_MEMBERS = 40;
    VIEW_CREATOR_MONETIZATION_ANALYTICS = 41;
    USE_SOUNDBOARD = 42;
    CREATE_GUILD_EXPRESSIONS = 43;
    CREATE_EVENTS = 44;
    USE_EXTERNAL_SOUNDS = 45;
    SEND_VOICE_MESSAGES = 46;
    SEND_POLLS = 49;
    USE_EXTERNAL_APPS = 50;
}

impl Permissions {
    pub const NONE: Permissions = Permissions(0);
    /// Every bit Discord defines; what owners and administrators get.
    pub const ALL: Permissions = Permissions(((1 << 47) - 1) | (1 << 49) | (1 << 50));

    /// What a new guild's @everyone role carries, as in Discord.
    pub const EVERYONE_DEFAULT: Permissions = Permissions(
        Self::CREATE_INSTANT_INVITE.0
            | Self::ADD_REACTIONS.0
            | Self::STREAM.0
            | Self::VIEW_CHANNEL.0
            | Self::SEND_MESSAGES.0
            | Self::SEND_TTS_MESSAGES.0
            | Self::EMBED_LINKS.0
            | Self::ATTACH_FILES.0
            | Self::READ_MESSAGE_HISTORY.0
            | Self::MENTION_EVERYONE.0
            | Self::USE_EXTERNAL_EMOJIS.0
            | Self::CONNECT.0
            | Self::SPEAK.0
            | Self::USE_VAD.0
            | Self::CHANGE_NICKNAME.0
            | Self::USE_APPLICATION_COMMANDS.0
            | Self::REQUEST_TO_SPEAK.0
            | Self::CREATE_PUBLIC_THREADS.0
            | Self::CREATE_PRIVATE_THREADS.0
            | Self::USE_EXTERNAL_STICKERS.0
            | Self::SEND_MESSAGES_IN_THREADS.0
            | Self::USE_EMBEDDED_ACTIVITIES.0
            | Self::USE_SOUNDBOARD.0
            | Self::USE_EXTERNAL_SOUNDS.0
            | Self::SEND_VOICE_MESSAGES.0
            | Self::SEND_POLLS.0
            | Self::USE_EXTERNAL_APPS.0,
    );

    /// What a timed-out member keeps in a channel.
    const TIMEOUT_KEEPS: Permissions =
        Permissions(Self::VIEW_CHANNEL.0 | Self::READ_MESSAGE_HISTORY.0);

    /// What denying SEND_MESSAGES takes away with it.
    const NEEDS_SEND: Permissions = Permissions(
        Self::MENTION_EVERYONE.0
            | Self::SEND_TTS_MESSAGES.0
            | Self::ATTACH_FILES.0
            | Self::EMBED_LINKS.0,
    );

    pub fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn remove(&mut self, other: Permissions) {
        self.0 &= !other.0;
    }

    pub fn insert(&mut self, other: Permissions) {
        self.0 |= other.0;
    }
}

impl BitOr for Permissions {
    type Output = Permissions;
    fn bitor(self, rhs: Self) -> Self {
        Permissions(self.0 | rhs.0)
    }
}

impl BitOrAssign for Permissions {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Permissions {
    type Output = Permissions;
    fn bitand(self, rhs: Self) -> Self {
        Permissions(self.0 & rhs.0)
    }
}

impl Not for Permissions {
    type Output = Permissions;
    fn not(self) -> Self {
        Permissions(!self.0)
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Self::NAMED
            .iter()
            .filter(|(_, p)| self.contains(*p))
            .map(|(n, _)| *n)
            .collect();
        write!(f, "Permissions({})", names.join(" | "))
    }
}

impl Serialize for Permissions {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Permissions {
    /// Discord sends permissions as decimal strings; integers are accepted too.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Permissions;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a permission bitfield as a decimal string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Permissions, E> {
                v.parse::<u64>()
                    .map(Permissions)
                    .map_err(|_| E::custom(format!("value {v:?} is not a permission bitfield")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Permissions, E> {
                Ok(Permissions(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Permissions, E> {
                u64::try_from(v)
                    .map(Permissions)
                    .map_err(|_| E::custom("a permission bitfield cannot be negative"))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Whom a channel overwrite applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverwriteTarget {
    Role,
    Member,
}

/// The inputs of the computation for one member of one guild.
#[derive(Debug, Clone, Copy)]
pub struct MemberContext<'a> {
    pub guild_id: Snowflake,
    pub owner_id: Snowflake,
    pub user_id: Snowflake,
    /// The @everyone role's permissions (the role whose id is the guild's).
    pub everyone: Permissions,
    /// The member's roles other than @everyone, with their permissions.
    pub roles: &'a [(Snowflake, Permissions)],
    /// Whether a time-out is in force now.
    pub timed_out: bool,
}

/// One channel overwrite, as the computation needs it.
#[derive(Debug, Clone, Copy)]
pub struct OverwriteRule {
    pub id: Snowflake,
    pub target: OverwriteTarget,
    pub allow: Permissions,
    pub deny: Permissions,
}

impl MemberContext<'_> {
    fn is_owner(&self) -> bool {
        self.owner_id == self.user_id
    }

    /// Guild-level permissions: owner gets all; @everyone OR every role;
    /// ADMINISTRATOR gets all. A time-out narrows the result the same way it
    /// does in channels, so guild-wide actions (kick, manage roles, ...) are
    /// closed to a timed-out member too.
    pub fn guild_permissions(&self) -> Permissions {
        let raw = self.raw_base();
        if raw.contains(Permissions::ADMINISTRATOR) || self.is_owner() {
            return Permissions::ALL;
        }
        if self.timed_out {
            return raw & Permissions::TIMEOUT_KEEPS;
        }
        raw
    }

    fn raw_base(&self) -> Permissions {
        self.roles
            .iter()
            .fold(self.everyone, |acc, (_, p)| acc | *p)
    }

    /// Channel permissions: the base, then the @everyone overwrite, then the
    /// member's role overwrites OR-ed together, then the member's own
    /// overwrite; each applied as "clear deny, then set allow". Then the
    /// implicit rules.
    pub fn channel_permissions(&self, overwrites: &[OverwriteRule]) -> Permissions {
        let raw = self.raw_base();
        if raw.contains(Permissions::ADMINISTRATOR) || self.is_owner() {
            return Permissions::ALL;
        }
        let mut perms = raw;
        let apply = |perms: &mut Permissions, deny: Permissions, allow: Permissions| {
            perms.remove(deny);
            perms.insert(allow);
        };
        if let Some(everyone) = overwrites
            .iter()
            .find(|o| o.target == OverwriteTarget::Role && o.id == self.guild_id)
        {
            apply(&mut perms, everyone.deny, everyone.allow);
        }
        let (mut allow, mut deny) = (Permissions::NONE, Permissions::NONE);
        for o in overwrites.iter().filter(|o| {
            o.target == OverwriteTarget::Role && self.roles.iter().any(|(id, _)| *id == o.id)
        }) {
            allow |= o.allow;
            deny |= o.deny;
        }
        apply(&mut perms, deny, allow);
        if let Some(own) = overwrites
            .iter()
            .find(|o| o.target == OverwriteTarget::Member && o.id == self.user_id)
        {
            apply(&mut perms, own.deny, own.allow);
        }
        implicit(perms, self.timed_out)
    }
}

/// Discord's implicit channel rules.
fn implicit(mut perms: Permissions, timed_out: bool) -> Permissions {
    if !perms.contains(Permissions::VIEW_CHANNEL) {
        return Permissions::NONE;
    }
    if !perms.contains(Permissions::SEND_MESSAGES) {
        perms.remove(Permissions::NEEDS_SEND);
    }
    if timed_out {
        perms = perms & Permissions::TIMEOUT_KEEPS;
    }
    perms
}

#[cfg(test)]
mod tests {
    use super::*;
    use OverwriteTarget::{Member, Role};

    const GUILD: Snowflake = Snowflake(100);
    const OWNER: Snowflake = Snowflake(1);
    const USER: Snowflake = Snowflake(2);
    const MODS: Snowflake = Snowflake(500);
    const FANS: Snowflake = Snowflake(501);

    fn ctx(roles: &[(Snowflake, Permissions)]) -> MemberContext<'_> {
        MemberContext {
            guild_id: GUILD,
            owner_id: OWNER,
            user_id: USER,
            everyone: Permissions::EVERYONE_DEFAULT,
            roles,
            timed_out: false,
        }
    }

    fn ow(
        id: Snowflake,
        target: OverwriteTarget,
        allow: Permissions,
        deny: Permissions,
    ) -> OverwriteRule {
        OverwriteRule {
            id,
            target,
            allow,
            deny,
        }
    }

    use Permissions as P;

    /// One row per rule of Discord's algorithm: the inputs and what must or
    /// must not come out.
    #[test]
    fn permission_table() {
        struct Row {
            name: &'static str,
            roles: Vec<(Snowflake, Permissions)>,
            overwrites: Vec<OverwriteRule>,
            timed_out: bool,
            owner: bool,
            has: Permissions,
            lacks: Permissions,
        }
        let row = |name| Row {
            name,
            roles: vec![],
            overwrites: vec![],
            timed_out: false,
            owner: false,
            has: P::NONE,
            lacks: P::NONE,
        };
        let rows = vec![
            Row {
                has: P::VIEW_CHANNEL | P::SEND_MESSAGES,
                lacks: P::MANAGE_MESSAGES | P::KICK_MEMBERS,
                ..row("everyone defaults")
            },
            Row {
                owner: true,
                overwrites: vec![ow(GUILD, Role, P::NONE, P::VIEW_CHANNEL)],
                has: P::ALL,
                ..row("owner bypasses everything")
            },
            Row {
                roles: vec![(MODS, P::ADMINISTRATOR)],
                overwrites: vec![
                    ow(GUILD, Role, P::NONE, P::VIEW_CHANNEL),
                    ow(USER, Member, P::NONE, P::ALL),
                ],
                has: P::ALL,
                ..row("administrator bypasses overwrites")
            },
            Row {
                roles: vec![(MODS, P::MANAGE_MESSAGES)],
                has: P::MANAGE_MESSAGES | P::SEND_MESSAGES,
                ..row("role permissions add to everyone")
            },
            Row {
                overwrites: vec![ow(GUILD, Role, P::NONE, P::VIEW_CHANNEL)],
                lacks: P::VIEW_CHANNEL | P::SEND_MESSAGES | P::READ_MESSAGE_HISTORY,
                ..row("no view hides everything")
            },
            Row {
                roles: vec![(MODS, P::NONE)],
                overwrites: vec![
                    ow(GUILD, Role, P::NONE, P::VIEW_CHANNEL),
                    ow(MODS, Role, P::VIEW_CHANNEL, P::NONE),
                ],
                has: P::VIEW_CHANNEL | P::SEND_MESSAGES,
                ..row("role overwrite allow beats everyone deny")
            },
            Row {
                roles: vec![(MODS, P::NONE), (FANS, P::NONE)],
                overwrites: vec![
                    ow(MODS, Role, P::NONE, P::SEND_MESSAGES),
                    ow(FANS, Role, P::SEND_MESSAGES, P::NONE),
                ],
                has: P::SEND_MESSAGES,
                ..row("role allows beat role denies")
            },
            Row {
                roles: vec![(MODS, P::NONE)],
                overwrites: vec![
                    ow(MODS, Role, P::SEND_MESSAGES, P::NONE),
                    ow(USER, Member, P::NONE, P::SEND_MESSAGES),
                ],
                lacks: P::SEND_MESSAGES,
                has: P::VIEW_CHANNEL,
                ..row("member overwrite is applied last")
            },
            Row {
                overwrites: vec![ow(FANS, Role, P::NONE, P::VIEW_CHANNEL)],
                has: P::VIEW_CHANNEL,
                ..row("overwrites of roles the member lacks do not apply")
            },
            Row {
                overwrites: vec![ow(GUILD, Role, P::NONE, P::SEND_MESSAGES)],
                lacks: P::SEND_MESSAGES
                    | P::MENTION_EVERYONE
                    | P::EMBED_LINKS
                    | P::ATTACH_FILES
                    | P::SEND_TTS_MESSAGES,
                has: P::VIEW_CHANNEL | P::READ_MESSAGE_HISTORY | P::ADD_REACTIONS,
                ..row("denied send removes what needs it")
            },
            Row {
                timed_out: true,
                roles: vec![(MODS, P::MANAGE_MESSAGES)],
                has: P::VIEW_CHANNEL | P::READ_MESSAGE_HISTORY,
                lacks: P::SEND_MESSAGES | P::MANAGE_MESSAGES | P::CONNECT,
                ..row("timeout keeps only view and history")
            },
            Row {
                timed_out: true,
                roles: vec![(MODS, P::ADMINISTRATOR)],
                has: P::ALL,
                ..row("timeout does not limit administrators")
            },
        ];
        for r in rows {
            let mut c = ctx(&r.roles);
            c.timed_out = r.timed_out;
            if r.owner {
                c.user_id = OWNER;
            }
            let got = c.channel_permissions(&r.overwrites);
            assert!(
                got.contains(r.has),
                "{}: {:?} lacks {:?}",
                r.name,
                got,
                r.has
            );
            assert!(
                (got & r.lacks).is_empty(),
                "{}: {:?} has some of {:?}",
                r.name,
                got,
                r.lacks
            );
        }
    }

    #[test]
    fn guild_permissions_or_roles_and_respect_timeouts() {
        let roles = [(MODS, P::KICK_MEMBERS), (FANS, P::BAN_MEMBERS)];
        let c = ctx(&roles);
        assert!(c
            .guild_permissions()
            .contains(P::KICK_MEMBERS | P::BAN_MEMBERS | P::SEND_MESSAGES));
        let timed = MemberContext {
            timed_out: true,
            ..c
        };
        assert_eq!(
            timed.guild_permissions(),
            P::VIEW_CHANNEL | P::READ_MESSAGE_HISTORY
        );
    }

    #[test]
    fn serialises_as_decimal_string() {
        let p = P::VIEW_CHANNEL | P::MODERATE_MEMBERS;
        let s = serde_json::to_string(&p).unwrap();
        assert_eq!(s, format!("\"{}\"", (1u64 << 10) | (1u64 << 40)));
        let back: Permissions = serde_json::from_str(&s).unwrap();
        assert_eq!(back, p);
        assert!(serde_json::from_str::<Permissions>("\"x\"").is_err());
    }

    #[test]
    fn bit_positions_match_discord() {
        assert_eq!(P::ADMINISTRATOR.0, 8);
        assert_eq!(P::VIEW_CHANNEL.0, 1024);
        assert_eq!(P::SEND_MESSAGES.0, 2048);
        assert_eq!(P::CONNECT.0, 1 << 20);
        assert_eq!(P::MODERATE_MEMBERS.0, 1 << 40);
        assert!(P::ALL.contains(P::USE_EXTERNAL_APPS));
    }
}
