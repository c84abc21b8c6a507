//! Application commands and interactions on the wire: what applications
//! send to define commands and answer interactions, what clients send to
//! invoke them, and the interaction object applications receive.

use std::collections::BTreeMap;

use hearth_model::commands::Localizations;
use hearth_model::{
    Channel, CommandOption, Component, Embed, Member, Message, Role, Snowflake, User,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::rest::AllowedMentions;

/// A command definition as `POST`, `PUT` (bulk) and `PATCH` take it; on
/// `PATCH` every field is optional.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct CommandBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub name_localizations: Option<Localizations>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub description_localizations: Option<Localizations>,
    #[serde(default)]
    pub options: Option<Vec<CommandOption>>,
    /// A decimal string, an integer, or null (everyone).
    #[serde(default)]
    pub default_member_permissions: Option<Value>,
    #[serde(default)]
    pub dm_permission: Option<bool>,
    #[serde(default)]
    pub contexts: Option<Vec<u8>>,
    #[serde(default)]
    pub integration_types: Option<Vec<u8>>,
    #[serde(rename = "type", default)]
    pub kind: Option<u8>,
    #[serde(default)]
    pub nsfw: Option<bool>,
    /// Bulk overwrite may name an existing command by id.
    #[serde(default)]
    pub id: Option<Snowflake>,
}

/// `type` of an interaction.
pub mod interaction_type {
    pub const PING: u8 = 1;
    pub const APPLICATION_COMMAND: u8 = 2;
    pub const MESSAGE_COMPONENT: u8 = 3;
    pub const AUTOCOMPLETE: u8 = 4;
    pub const MODAL_SUBMIT: u8 = 5;
}

/// `type` of an interaction response (callback).
pub mod callback_type {
    pub const PONG: u8 = 1;
    pub const CHANNEL_MESSAGE: u8 = 4;
    pub const DEFERRED_CHANNEL_MESSAGE: u8 = 5;
    pub const DEFERRED_UPDATE_MESSAGE: u8 = 6;
    pub const UPDATE_MESSAGE: u8 = 7;
    pub const AUTOCOMPLETE_RESULT: u8 = 8;
    pub const MODAL: u8 = 9;
}

/// `POST /interactions/{id}/{token}/callback`.
#[derive(Debug, Clone, Deserialize)]
pub struct CallbackBody {
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(default)]
    pub data: Option<CallbackData>,
}

/// The `data` of a callback: a message (types 4, 7), flags (5), choices
/// (8), or a modal (9).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct CallbackData {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub embeds: Option<Vec<Embed>>,
    #[serde(default)]
    pub tts: Option<bool>,
    #[serde(default)]
    pub flags: Option<u32>,
    #[serde(default)]
    pub components: Option<Vec<Component>>,
    #[serde(default)]
    pub allowed_mentions: Option<AllowedMentions>,
    #[serde(default)]
    pub choices: Option<Vec<hearth_model::CommandChoice>>,
    #[serde(default)]
    pub custom_id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct CallbackQuery {
    #[serde(default)]
    pub with_response: Option<String>,
}

/// `PATCH /webhooks/{application}/{token}/messages/{id}`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct EditWebhookMessage {
    #[serde(default, deserialize_with = "crate::rest::nullable")]
    pub content: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::rest::nullable")]
    pub embeds: Option<Option<Vec<Embed>>>,
    #[serde(default, deserialize_with = "crate::rest::nullable")]
    pub components: Option<Option<Vec<Component>>>,
    #[serde(default)]
    pub allowed_mentions: Option<AllowedMentions>,
    /// The attachments to keep (absent: all); new files of a multipart
    /// edit are added to them.
    #[serde(default, deserialize_with = "crate::rest::nullable")]
    pub attachments: Option<Option<Vec<crate::rest::AttachmentRef>>>,
}

/// What a client sends to `POST /interactions` to use a command, a
/// component or a modal (the shape Discord's own client sends).
#[derive(Debug, Clone, Deserialize)]
pub struct InvokeBody {
    #[serde(rename = "type")]
    pub kind: u8,
    pub application_id: Snowflake,
    pub channel_id: Snowflake,
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    /// A component interaction's message.
    #[serde(default)]
    pub message_id: Option<Snowflake>,
    #[serde(default)]
    pub nonce: Option<String>,
    pub data: InvokeData,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct InvokeData {
    /// The command's id (commands), or the modal's (modal submits).
    #[serde(default)]
    pub id: Option<Snowflake>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<u8>,
    #[serde(default)]
    pub options: Vec<InvokeOption>,
    /// User and message commands: whom or what they were used on.
    #[serde(default)]
    pub target_id: Option<Snowflake>,
    #[serde(default)]
    pub custom_id: Option<String>,
    #[serde(default)]
    pub component_type: Option<u8>,
    #[serde(default)]
    pub values: Option<Vec<String>>,
    /// A modal's rows of text inputs, with the values entered.
    #[serde(default)]
    pub components: Option<Vec<Component>>,
}

/// An option as the invoking client fills it in (and as the application
/// receives it, checked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvokeOption {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<InvokeOption>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub focused: bool,
}

/// The interaction object an application receives (INTERACTION_CREATE).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub id: Snowflake,
    pub application_id: Snowflake,
    #[serde(rename = "type")]
    pub kind: u8,
    pub data: InteractionData,
    pub guild_id: Snowflake,
    pub guild: InteractionGuild,
    pub channel_id: Snowflake,
    pub channel: Channel,
    pub member: InteractionMember,
    pub token: String,
    pub version: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Box<Message>>,
    /// The application's permissions in the channel.
    pub app_permissions: String,
    pub locale: String,
    pub guild_locale: String,
    pub entitlements: Vec<Value>,
    pub authorizing_integration_owners: BTreeMap<String, Snowflake>,
    /// 0: in a guild.
    pub context: u8,
    pub attachment_size_limit: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionGuild {
    pub id: Snowflake,
    pub locale: String,
    pub features: Vec<String>,
}

/// The invoking member, with their permissions in the channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionMember {
    #[serde(flatten)]
    pub member: Member,
    pub permissions: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct InteractionData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<InvokeOption>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Resolved>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_type: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<Component>>,
}

/// The users, members, roles, channels and messages an interaction's
/// options and values name, by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Resolved {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub users: BTreeMap<Snowflake, User>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub members: BTreeMap<Snowflake, ResolvedMember>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<Snowflake, Role>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channels: BTreeMap<Snowflake, ResolvedChannel>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub messages: BTreeMap<Snowflake, Message>,
}

/// A member as `resolved` carries it: without `user` (it is in `users`),
/// with the member's permissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedMember {
    pub nick: Option<String>,
    pub avatar: Option<String>,
    pub roles: Vec<Snowflake>,
    pub joined_at: hearth_model::Timestamp,
    pub pending: bool,
    pub flags: u32,
    pub communication_disabled_until: Option<hearth_model::Timestamp>,
    pub permissions: String,
}

impl ResolvedMember {
    pub fn of(m: &Member, permissions: u64) -> Self {
        ResolvedMember {
            nick: m.nick.clone(),
            avatar: m.avatar.clone(),
            roles: m.roles.clone(),
            joined_at: m.joined_at,
            pending: m.pending,
            flags: m.flags,
            communication_disabled_until: m.communication_disabled_until,
            permissions: permissions.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedChannel {
    pub id: Snowflake,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: u8,
    pub permissions: String,
}

/// What the invoker's client is told of a modal an application opened
/// (INTERACTION_MODAL_CREATE).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModalShown {
    /// The id a submit names (`data.id`): the interaction that opened it.
    pub id: Snowflake,
    pub application_id: Snowflake,
    pub channel_id: Snowflake,
    pub custom_id: String,
    pub title: String,
    pub components: Vec<Component>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}
