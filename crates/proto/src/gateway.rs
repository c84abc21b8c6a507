//! The gateway's wire: opcodes, close codes, intents and payloads (Discord
//! gateway v10).

use hearth_model::Snowflake;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The gateway's URL as seen by a client that reached this node at `host`;
/// `secure` when a TLS-terminating proxy says so (`X-Forwarded-Proto: https`).
pub fn gateway_url(host: &str, secure: bool) -> String {
    format!("{}://{host}/gateway", if secure { "wss" } else { "ws" })
}

/// The gateway URL of a node reached at `public_url`: `https://host`
/// becomes `wss://host/gateway`, `http://host` `ws://host/gateway`.
pub fn public_gateway_url(public_url: &str) -> String {
    match public_url.strip_prefix("https://") {
        Some(host) => gateway_url(host, true),
        None => gateway_url(public_url.trim_start_matches("http://"), false),
    }
}

pub mod op {
    pub const DISPATCH: u8 = 0;
    pub const HEARTBEAT: u8 = 1;
    pub const IDENTIFY: u8 = 2;
    pub const PRESENCE_UPDATE: u8 = 3;
    pub const VOICE_STATE_UPDATE: u8 = 4;
    pub const RESUME: u8 = 6;
    pub const RECONNECT: u8 = 7;
    pub const REQUEST_GUILD_MEMBERS: u8 = 8;
    pub const INVALID_SESSION: u8 = 9;
    pub const HELLO: u8 = 10;
    pub const HEARTBEAT_ACK: u8 = 11;
}

/// Close codes and what a client should do after each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    UnknownError = 4000,
    UnknownOpcode = 4001,
    DecodeError = 4002,
    NotAuthenticated = 4003,
    AuthenticationFailed = 4004,
    AlreadyAuthenticated = 4005,
    InvalidSeq = 4007,
    RateLimited = 4008,
    SessionTimedOut = 4009,
    InvalidShard = 4010,
    ShardingRequired = 4011,
    InvalidApiVersion = 4012,
    InvalidIntents = 4013,
    DisallowedIntents = 4014,
}

impl CloseCode {
    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::UnknownError => "Unknown error",
            CloseCode::UnknownOpcode => "Unknown opcode",
            CloseCode::DecodeError => "Decode error",
            CloseCode::NotAuthenticated => "Not authenticated",
            CloseCode::AuthenticationFailed => "Authentication failed",
            CloseCode::AlreadyAuthenticated => "Already authenticated",
            CloseCode::InvalidSeq => "Invalid seq",
            CloseCode::RateLimited => "Rate limited",
            CloseCode::SessionTimedOut => "Session timed out",
            CloseCode::InvalidShard => "Invalid shard",
            CloseCode::ShardingRequired => "Sharding required",
            CloseCode::InvalidApiVersion => "Invalid API version",
            CloseCode::InvalidIntents => "Invalid intent(s)",
            CloseCode::DisallowedIntents => "Disallowed intent(s)",
        }
    }

    /// Whether the session survives this close and may be resumed.
    pub fn keeps_session(self) -> bool {
        matches!(
            self,
            CloseCode::UnknownError
                | CloseCode::UnknownOpcode
                | CloseCode::DecodeError
                | CloseCode::InvalidSeq
                | CloseCode::RateLimited
                | CloseCode::SessionTimedOut
        )
    }
}

/// Gateway intents.
pub mod intents {
    pub const GUILDS: u64 = 1 << 0;
    pub const GUILD_MEMBERS: u64 = 1 << 1;
    pub const GUILD_MODERATION: u64 = 1 << 2;
    pub const GUILD_EXPRESSIONS: u64 = 1 << 3;
    pub const GUILD_INTEGRATIONS: u64 = 1 << 4;
    pub const GUILD_WEBHOOKS: u64 = 1 << 5;
    pub const GUILD_INVITES: u64 = 1 << 6;
    pub const GUILD_VOICE_STATES: u64 = 1 << 7;
    pub const GUILD_PRESENCES: u64 = 1 << 8;
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    pub const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
    pub const GUILD_MESSAGE_TYPING: u64 = 1 << 11;
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
    pub const DIRECT_MESSAGE_REACTIONS: u64 = 1 << 13;
    pub const DIRECT_MESSAGE_TYPING: u64 = 1 << 14;
    pub const MESSAGE_CONTENT: u64 = 1 << 15;
    pub const GUILD_SCHEDULED_EVENTS: u64 = 1 << 16;
    pub const AUTO_MODERATION_CONFIGURATION: u64 = 1 << 20;
    pub const AUTO_MODERATION_EXECUTION: u64 = 1 << 21;
    pub const GUILD_MESSAGE_POLLS: u64 = 1 << 24;
    pub const DIRECT_MESSAGE_POLLS: u64 = 1 << 25;

    /// Every intent Discord defines; other bits are invalid (4013).
    pub const ALL: u64 = ((1 << 17) - 1)
        | AUTO_MODERATION_CONFIGURATION
        | AUTO_MODERATION_EXECUTION
        | GUILD_MESSAGE_POLLS
        | DIRECT_MESSAGE_POLLS;
    pub const PRIVILEGED: u64 = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT;

    /// The intent a dispatch needs, if any (`None`: always delivered).
    pub fn for_event(name: &str) -> Option<u64> {
        Some(match name {
            "GUILD_CREATE"
            | "GUILD_UPDATE"
            | "GUILD_DELETE"
            | "GUILD_ROLE_CREATE"
            | "GUILD_ROLE_UPDATE"
            | "GUILD_ROLE_DELETE"
            | "CHANNEL_CREATE"
            | "CHANNEL_UPDATE"
            | "CHANNEL_DELETE"
            | "CHANNEL_PINS_UPDATE"
            | "THREAD_CREATE"
            | "THREAD_UPDATE"
            | "THREAD_DELETE"
            | "THREAD_MEMBERS_UPDATE"
            | "THREAD_MEMBER_UPDATE"
            | "THREAD_LIST_SYNC" => GUILDS,
            "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" | "GUILD_MEMBER_REMOVE" => GUILD_MEMBERS,
            "GUILD_BAN_ADD" | "GUILD_BAN_REMOVE" => GUILD_MODERATION,
            "GUILD_WEBHOOKS_UPDATE" => GUILD_WEBHOOKS,
            "INVITE_CREATE" | "INVITE_DELETE" => GUILD_INVITES,
            "VOICE_STATE_UPDATE" => GUILD_VOICE_STATES,
            "PRESENCE_UPDATE" => GUILD_PRESENCES,
            "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" | "MESSAGE_DELETE_BULK" => {
                GUILD_MESSAGES
            }
            "MESSAGE_REACTION_ADD"
            | "MESSAGE_REACTION_REMOVE"
            | "MESSAGE_REACTION_REMOVE_ALL"
            | "MESSAGE_REACTION_REMOVE_EMOJI" => GUILD_MESSAGE_REACTIONS,
            "TYPING_START" => GUILD_MESSAGE_TYPING,
            _ => return None,
        })
    }
}

/// What a client sends: `{op, d}` (`s` and `t` are ignored if present).
#[derive(Debug, Clone, Deserialize)]
pub struct ClientPayload {
    pub op: u8,
    #[serde(default)]
    pub d: Value,
}

/// `session_start_limit` of `GET /gateway/bot`: the account's Identify
/// budget (the gateway counts it, the REST side reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStartLimit {
    pub total: u32,
    pub remaining: u32,
    /// Milliseconds until `remaining` is back to `total`.
    pub reset_after: u64,
    /// Identifies allowed per five seconds.
    pub max_concurrency: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hello {
    pub heartbeat_interval: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Identify {
    pub token: String,
    #[serde(default)]
    pub properties: Value,
    #[serde(default)]
    pub compress: bool,
    #[serde(default)]
    pub large_threshold: Option<u32>,
    #[serde(default)]
    pub shard: Option<[u32; 2]>,
    #[serde(default)]
    pub presence: Option<PresenceUpdate>,
    pub intents: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Resume {
    pub token: String,
    pub session_id: String,
    pub seq: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct PresenceUpdate {
    #[serde(default)]
    pub since: Option<u64>,
    #[serde(default)]
    pub activities: Vec<Value>,
    pub status: Status,
    #[serde(default)]
    pub afk: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Online,
    Idle,
    Dnd,
    Invisible,
    Offline,
}

impl Status {
    /// What others see.
    pub fn visible(self) -> Status {
        match self {
            Status::Invisible => Status::Offline,
            other => other,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RequestGuildMembers {
    pub guild_id: Snowflake,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub presences: bool,
    #[serde(default)]
    pub user_ids: Option<OneOrMany>,
    #[serde(default)]
    pub nonce: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(Snowflake),
    Many(Vec<Snowflake>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<Snowflake> {
        match self {
            OneOrMany::One(id) => vec![id],
            OneOrMany::Many(ids) => ids,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct VoiceStateUpdate {
    /// `None` for a call in a DM or group DM, whose id is `channel_id`.
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    pub channel_id: Option<Snowflake>,
    #[serde(default)]
    pub self_mute: bool,
    #[serde(default)]
    pub self_deaf: bool,
    #[serde(default)]
    pub self_video: bool,
    /// Sharing the screen ("Go Live"): a second video track (§7.2).
    #[serde(default)]
    pub self_stream: bool,
}

/// A voice state on the wire: the `d` of VOICE_STATE_UPDATE, and an entry of
/// GUILD_CREATE's `voice_states` (which leaves out `guild_id`, as Discord).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoiceState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    /// `None` when the user left.
    pub channel_id: Option<Snowflake>,
    pub user_id: Snowflake,
    /// The member, with its user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<hearth_model::Member>,
    /// The main gateway session the voice connection belongs to.
    pub session_id: String,
    /// Deafened by the guild (the member's `deaf`).
    pub deaf: bool,
    /// Muted by the guild (the member's `mute`).
    pub mute: bool,
    pub self_deaf: bool,
    pub self_mute: bool,
    #[serde(default)]
    pub self_stream: bool,
    pub self_video: bool,
    pub suppress: bool,
    pub request_to_speak_timestamp: Option<hearth_model::Timestamp>,
}

/// VOICE_SERVER_UPDATE's `d`: where to open the voice gateway, and the token
/// to identify there with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceServerUpdate {
    pub token: String,
    /// `None` for a call in a DM or group DM: `channel_id` names it then.
    pub guild_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<Snowflake>,
    /// `host:port/path`, without a scheme, as Discord sends it.
    pub endpoint: String,
}
