//! The objects of the platform, shaped as Discord API v10 shapes them.

use serde::{Deserialize, Serialize};

use crate::permissions::{OverwriteRule, OverwriteTarget};
use crate::{Permissions, Snowflake, Timestamp};

fn is_false(b: &bool) -> bool {
    !*b
}

/// Reads a field that may be absent (`None`), null (`Some(None)`) or set,
/// so that an object read back (from another node) says what it said.
fn present_or_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: Snowflake,
    pub username: String,
    /// Always "0": Discord retired discriminators, and so do we.
    pub discriminator: String,
    pub global_name: Option<String>,
    pub avatar: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub bot: bool,
}

/// The user their own session sees (READY, `GET /users/@me`): the user
/// and the account fields libraries require there (twilight fails to read
/// a current user without `mfa_enabled`). Hearth has no MFA, e-mail,
/// banners or Nitro: those say so.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentUser<'a> {
    #[serde(flatten)]
    pub user: &'a User,
    pub mfa_enabled: bool,
    pub verified: bool,
    pub flags: u64,
    pub public_flags: u64,
    pub premium_type: u8,
    pub locale: &'static str,
    pub banner: Option<String>,
    pub accent_color: Option<u32>,
    pub email: Option<String>,
}

impl<'a> CurrentUser<'a> {
    pub fn of(user: &'a User) -> Self {
        CurrentUser {
            user,
            mfa_enabled: false,
            verified: true,
            flags: 0,
            public_flags: 0,
            premium_type: 0,
            locale: "en-US",
            banner: None,
            accent_color: None,
            email: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guild {
    pub id: Snowflake,
    pub name: String,
    pub icon: Option<String>,
    pub description: Option<String>,
    pub owner_id: Snowflake,
    pub afk_channel_id: Option<Snowflake>,
    pub afk_timeout: u32,
    pub system_channel_id: Option<Snowflake>,
    pub verification_level: u8,
    pub default_message_notifications: u8,
    pub explicit_content_filter: u8,
    pub mfa_level: u8,
    pub nsfw_level: u8,
    pub premium_tier: u8,
    pub preferred_locale: String,
    pub features: Vec<String>,
    pub emojis: Vec<serde_json::Value>,
    pub stickers: Vec<serde_json::Value>,
    pub roles: Vec<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximate_member_count: Option<u64>,
    #[serde(flatten, default)]
    pub unused: GuildUnused,
}

/// Guild fields of features Hearth does not have, at the values that say
/// so: libraries require them (twilight fails to read a guild without
/// `system_channel_flags`), so they are always written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct GuildUnused {
    pub system_channel_flags: u32,
    pub premium_progress_bar_enabled: bool,
    pub premium_subscription_count: u32,
    pub rules_channel_id: Option<Snowflake>,
    pub public_updates_channel_id: Option<Snowflake>,
    pub safety_alerts_channel_id: Option<Snowflake>,
    pub application_id: Option<Snowflake>,
    pub banner: Option<String>,
    pub splash: Option<String>,
    pub discovery_splash: Option<String>,
    pub vanity_url_code: Option<String>,
    pub widget_enabled: bool,
}

/// A role; on the wire also `colors` (see [`RoleColors`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Role {
    pub id: Snowflake,
    pub name: String,
    pub color: u32,
    pub hoist: bool,
    pub icon: Option<String>,
    pub unicode_emoji: Option<String>,
    pub position: i32,
    pub permissions: Permissions,
    pub managed: bool,
    pub mentionable: bool,
    pub flags: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<RoleTags>,
}

/// Today's API carries a role's colour as `colors` (a gradient's primary,
/// secondary and tertiary colours) besides the older `color`; libraries
/// read either. Hearth roles have one colour: it is the primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleColors {
    pub primary_color: u32,
    pub secondary_color: Option<u32>,
    pub tertiary_color: Option<u32>,
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            id: Snowflake,
            name: &'a str,
            color: u32,
            colors: RoleColors,
            hoist: bool,
            icon: &'a Option<String>,
            unicode_emoji: &'a Option<String>,
            position: i32,
            permissions: Permissions,
            managed: bool,
            mentionable: bool,
            flags: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            tags: &'a Option<RoleTags>,
        }
        Wire {
            id: self.id,
            name: &self.name,
            color: self.color,
            colors: RoleColors {
                primary_color: self.color,
                secondary_color: None,
                tertiary_color: None,
            },
            hoist: self.hoist,
            icon: &self.icon,
            unicode_emoji: &self.unicode_emoji,
            position: self.position,
            permissions: self.permissions,
            managed: self.managed,
            mentionable: self.mentionable,
            flags: self.flags,
            tags: &self.tags,
        }
        .serialize(serializer)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleTags {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<Snowflake>,
}

impl Role {
    /// Discord orders roles by position, and breaks ties by the lower id
    /// ranking higher.
    pub fn rank(&self) -> (i32, std::cmp::Reverse<Snowflake>) {
        (self.position, std::cmp::Reverse(self.id))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum ChannelType {
    Text = 0,
    Voice = 2,
    Category = 4,
    PublicThread = 11,
    PrivateThread = 12,
}

impl ChannelType {
    pub fn is_thread(self) -> bool {
        matches!(self, ChannelType::PublicThread | ChannelType::PrivateThread)
    }

    /// Where messages can be posted: text channels and their threads.
    pub fn holds_messages(self) -> bool {
        self == ChannelType::Text || self.is_thread()
    }
}

impl From<ChannelType> for u8 {
    fn from(t: ChannelType) -> u8 {
        t as u8
    }
}

impl TryFrom<u8> for ChannelType {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            0 => Ok(ChannelType::Text),
            2 => Ok(ChannelType::Voice),
            4 => Ok(ChannelType::Category),
            11 => Ok(ChannelType::PublicThread),
            12 => Ok(ChannelType::PrivateThread),
            other => Err(format!(
                "channel type {other} is not supported (0 text, 2 voice, 4 category, 11 and 12 threads)"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: ChannelType,
    pub guild_id: Snowflake,
    pub position: i32,
    pub permission_overwrites: Vec<Overwrite>,
    pub name: String,
    pub parent_id: Option<Snowflake>,
    pub nsfw: bool,
    pub flags: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_user: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_limit: Option<u32>,
    /// Voice only; `null` means automatic, so it is written even when empty.
    #[serde(
        default,
        skip_serializing_if = "skip_rtc_region",
        deserialize_with = "present_or_null"
    )]
    pub rtc_region: Option<Option<String>>,
    /// Threads only: what Discord writes on a thread beside the channel
    /// fields (`owner_id`, `thread_metadata`, the counts).
    #[serde(flatten, default)]
    pub thread: Option<crate::threads::ThreadFields>,
}

fn skip_rtc_region(r: &Option<Option<String>>) -> bool {
    r.is_none()
}

impl Channel {
    pub fn overwrite_rules(&self) -> Vec<OverwriteRule> {
        self.permission_overwrites
            .iter()
            .map(Overwrite::rule)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overwrite {
    pub id: Snowflake,
    /// 0 role, 1 member.
    #[serde(rename = "type")]
    pub kind: u8,
    pub allow: Permissions,
    pub deny: Permissions,
}

impl Overwrite {
    pub fn rule(&self) -> OverwriteRule {
        OverwriteRule {
            id: self.id,
            target: if self.kind == 1 {
                OverwriteTarget::Member
            } else {
                OverwriteTarget::Role
            },
            allow: self.allow,
            deny: self.deny,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user: User,
    pub nick: Option<String>,
    pub avatar: Option<String>,
    pub roles: Vec<Snowflake>,
    pub joined_at: Timestamp,
    pub deaf: bool,
    pub mute: bool,
    pub flags: u32,
    pub pending: bool,
    pub communication_disabled_until: Option<Timestamp>,
}

impl Member {
    pub fn timed_out_at(&self, now: Timestamp) -> bool {
        self.communication_disabled_until.is_some_and(|t| t > now)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Embed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "type", default = "rich")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<EmbedFooter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<EmbedMedia>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<EmbedMedia>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<EmbedAuthor>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<EmbedField>,
}

fn rich() -> String {
    "rich".to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedFooter {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedMedia {
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedAuthor {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedField {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub inline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageReference {
    #[serde(rename = "type", default)]
    pub kind: u8,
    pub message_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    #[serde(default = "yes", skip_serializing)]
    pub fail_if_not_exists: bool,
}

fn yes() -> bool {
    true
}

/// Message types we produce.
pub mod message_type {
    pub const DEFAULT: u8 = 0;
    /// A call in a DM or group DM: `call` says who took part, and when it
    /// ended.
    pub const CALL: u8 = 3;
    /// "X pinned a message": a system message pointing at the pin.
    pub const CHANNEL_PINNED_MESSAGE: u8 = 6;
    pub const REPLY: u8 = 19;
    pub const CHAT_INPUT_COMMAND: u8 = 20;
    pub const CONTEXT_MENU_COMMAND: u8 = 23;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: Snowflake,
    pub channel_id: Snowflake,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    pub author: User,
    pub content: String,
    pub timestamp: Timestamp,
    pub edited_timestamp: Option<Timestamp>,
    pub tts: bool,
    pub mention_everyone: bool,
    pub mentions: Vec<User>,
    pub mention_roles: Vec<Snowflake>,
    pub attachments: Vec<crate::Attachment>,
    pub embeds: Vec<Embed>,
    pub pinned: bool,
    #[serde(rename = "type")]
    pub kind: u8,
    pub flags: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<MessageReference>,
    /// Present (possibly null) on replies; filled in when the message is read.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_or_null"
    )]
    pub referenced_message: Option<Option<Box<Message>>>,
    /// Counted per emoji for the reader (`me`), so filled in when a
    /// message is read, never stored with it; absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    #[serde(default)]
    pub components: Vec<crate::Component>,
    /// The application whose interaction this message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_metadata: Option<InteractionMetadata>,
    /// The older form of `interaction_metadata`, which libraries still read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction: Option<MessageInteraction>,
    /// On a call message (type 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<MessageCall>,
}

/// A call message's call: who joined it, and when it ended (null while it
/// goes on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCall {
    pub participants: Vec<Snowflake>,
    pub ended_timestamp: Option<Timestamp>,
}

/// On a response to an interaction: the interaction it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionMetadata {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: u8,
    pub user: User,
    /// Installation context ("0": guild) to the guild's id.
    pub authorizing_integration_owners: std::collections::BTreeMap<String, Snowflake>,
    /// The command's name, for command interactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For component interactions: the message whose component was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interacted_message_id: Option<Snowflake>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageInteraction {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: u8,
    pub name: String,
    pub user: User,
}

impl InteractionMetadata {
    pub fn legacy(&self) -> MessageInteraction {
        MessageInteraction {
            id: self.id,
            kind: self.kind,
            name: self.name.clone().unwrap_or_default(),
            user: self.user.clone(),
        }
    }
}

/// An emoji as reactions carry it: a unicode emoji has only a name; a
/// custom one has its id too.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Emoji {
    pub id: Option<Snowflake>,
    pub name: Option<String>,
}

/// One emoji's reactions on a message, as one reader sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub count: u32,
    pub count_details: ReactionCountDetails,
    /// Whether the reader is among those who reacted.
    pub me: bool,
    /// Super reactions do not exist here; the fields libraries read do.
    pub me_burst: bool,
    pub burst_colors: Vec<String>,
    pub emoji: Emoji,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionCountDetails {
    pub burst: u32,
    pub normal: u32,
}

impl Reaction {
    pub fn normal(emoji: Emoji, count: u32, me: bool) -> Self {
        Reaction {
            count,
            count_details: ReactionCountDetails {
                burst: 0,
                normal: count,
            },
            me,
            me_burst: false,
            burst_colors: Vec::new(),
            emoji,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialGuild {
    pub id: Snowflake,
    pub name: String,
    pub icon: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialChannel {
    pub id: Snowflake,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ChannelType,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    #[serde(rename = "type")]
    pub kind: u8,
    pub code: String,
    pub guild: PartialGuild,
    pub channel: PartialChannel,
    pub inviter: Option<User>,
    pub max_age: u32,
    pub max_uses: u32,
    pub uses: u32,
    pub temporary: bool,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

impl Invite {
    pub fn usable_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|t| t > now) && (self.max_uses == 0 || self.uses < self.max_uses)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: Snowflake,
    /// 1: incoming.
    #[serde(rename = "type")]
    pub kind: u8,
    pub guild_id: Snowflake,
    pub channel_id: Snowflake,
    pub name: Option<String>,
    pub avatar: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    pub application_id: Option<Snowflake>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    pub reason: Option<String>,
    pub user: User,
}

/// An application and its bot. On the wire also the fields bot libraries
/// read at start-up (discord.py's `application_info` requires
/// `verify_key`): see the `Serialize` impl.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Application {
    pub id: Snowflake,
    pub name: String,
    pub description: String,
    pub icon: Option<String>,
    pub bot_public: bool,
    pub bot_require_code_grant: bool,
    pub flags: u64,
    pub owner: User,
    pub bot: User,
}

impl Application {
    /// Discord's `verify_key` is the Ed25519 public key that signs HTTP
    /// interactions. Hearth delivers interactions over the gateway only and
    /// signs nothing; libraries still read the field, so it is a stable
    /// 64-hex-digit value derived from the id (no key pair behind it).
    pub fn verify_key(&self) -> String {
        let mut x = self.id.0 ^ 0x9e37_79b9_7f4a_7c15;
        (0..4)
            .map(|_| {
                // SplitMix64: well-spread words from the id.
                x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                format!("{:016x}", z ^ (z >> 31))
            })
            .collect()
    }
}

impl Serialize for Application {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            id: Snowflake,
            name: &'a str,
            description: &'a str,
            summary: &'a str,
            icon: &'a Option<String>,
            bot_public: bool,
            bot_require_code_grant: bool,
            flags: u64,
            owner: &'a User,
            bot: &'a User,
            verify_key: String,
            team: Option<()>,
            rpc_origins: [(); 0],
            redirect_uris: [(); 0],
            tags: [(); 0],
            interactions_endpoint_url: Option<()>,
            hook: bool,
        }
        Wire {
            id: self.id,
            name: &self.name,
            description: &self.description,
            summary: "",
            icon: &self.icon,
            bot_public: self.bot_public,
            bot_require_code_grant: self.bot_require_code_grant,
            flags: self.flags,
            owner: &self.owner,
            bot: &self.bot,
            verify_key: self.verify_key(),
            team: None,
            rpc_origins: [],
            redirect_uris: [],
            tags: [],
            interactions_endpoint_url: None,
            hook: true,
        }
        .serialize(serializer)
    }
}

/// Application flags that unlock privileged gateway intents.
pub mod application_flags {
    pub const GATEWAY_PRESENCE: u64 = 1 << 12;
    pub const GATEWAY_PRESENCE_LIMITED: u64 = 1 << 13;
    pub const GATEWAY_GUILD_MEMBERS: u64 = 1 << 14;
    pub const GATEWAY_GUILD_MEMBERS_LIMITED: u64 = 1 << 15;
    pub const GATEWAY_MESSAGE_CONTENT: u64 = 1 << 18;
    pub const GATEWAY_MESSAGE_CONTENT_LIMITED: u64 = 1 << 19;
}

/// An entry of `GET /users/@me/guilds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserGuild {
    pub id: Snowflake,
    pub name: String,
    pub icon: Option<String>,
    pub owner: bool,
    pub permissions: Permissions,
    pub features: Vec<String>,
}
