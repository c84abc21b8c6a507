//! Request bodies and query strings of the REST API.
//!
//! Optional fields of PATCH bodies that may be set to null are
//! `Option<Option<T>>`: absent leaves the value alone, null clears it.

use hearth_model::{Embed, MessageReference, Overwrite, Permissions, Snowflake, Timestamp};
use serde::{Deserialize, Deserializer, Serialize};

/// Distinguishes an absent field (None) from an explicit null (Some(None)).
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Deserialize)]
pub struct Register {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub global_name: Option<String>,
    /// An invite code: the new account joins its guild (required when the
    /// node's registration is invite-only).
    #[serde(default)]
    pub invite: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    pub login: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenReply {
    pub token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Snowflake>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct PatchUser {
    pub username: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub global_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub avatar: Option<Option<String>>,
    /// The current password; required with `new_password`.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub new_password: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CreateApplication {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct PatchApplication {
    pub name: Option<String>,
    pub description: Option<String>,
    pub flags: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthorizeQuery {
    pub client_id: Snowflake,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub permissions: Option<Permissions>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Authorize {
    pub guild_id: Snowflake,
    #[serde(default)]
    pub permissions: Option<Permissions>,
    #[serde(default)]
    pub authorize: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CreateGuild {
    pub name: String,
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct PatchGuild {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub icon: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub system_channel_id: Option<Option<Snowflake>>,
    #[serde(default, deserialize_with = "nullable")]
    pub afk_channel_id: Option<Option<Snowflake>>,
    pub afk_timeout: Option<u32>,
    /// 0: all messages, 1: only mentions.
    pub default_message_notifications: Option<u8>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GuildQuery {
    #[serde(default)]
    pub with_counts: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CreateChannel {
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: Option<u8>,
    pub topic: Option<String>,
    pub bitrate: Option<u32>,
    pub user_limit: Option<u32>,
    pub rtc_region: Option<String>,
    pub parent_id: Option<Snowflake>,
    pub position: Option<i32>,
    pub nsfw: Option<bool>,
    pub rate_limit_per_user: Option<u32>,
    #[serde(default)]
    pub permission_overwrites: Vec<Overwrite>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct PatchChannel {
    pub name: Option<String>,
    pub position: Option<i32>,
    #[serde(default, deserialize_with = "nullable")]
    pub topic: Option<Option<String>>,
    pub nsfw: Option<bool>,
    pub rate_limit_per_user: Option<u32>,
    pub bitrate: Option<u32>,
    pub user_limit: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    pub rtc_region: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub parent_id: Option<Option<Snowflake>>,
    pub permission_overwrites: Option<Vec<Overwrite>>,
    // Threads only.
    pub archived: Option<bool>,
    pub auto_archive_duration: Option<u32>,
    pub locked: Option<bool>,
    pub invitable: Option<bool>,
}

/// `POST /channels/{id}/threads` and `.../messages/{id}/threads`.
#[derive(Debug, Clone, Deserialize)]
pub struct StartThread {
    pub name: String,
    pub auto_archive_duration: Option<u32>,
    pub rate_limit_per_user: Option<u32>,
    /// 11 public or 12 private (the default) without a message.
    #[serde(rename = "type")]
    pub kind: Option<u8>,
    pub invitable: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PutOverwrite {
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(default)]
    pub allow: Option<Permissions>,
    #[serde(default)]
    pub deny: Option<Permissions>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct RoleBody {
    pub name: Option<String>,
    pub permissions: Option<Permissions>,
    pub color: Option<u32>,
    /// Today's form of `color`: its primary colour is the role's colour
    /// (a gradient's other colours are not kept).
    pub colors: Option<RoleColorsBody>,
    pub hoist: Option<bool>,
    pub mentionable: Option<bool>,
    pub position: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct RoleColorsBody {
    pub primary_color: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct CreateInvite {
    pub max_age: Option<u32>,
    pub max_uses: Option<u32>,
    #[serde(default)]
    pub temporary: bool,
    #[serde(default)]
    pub unique: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MembersQuery {
    pub limit: Option<u32>,
    pub after: Option<Snowflake>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct PatchMember {
    #[serde(default, deserialize_with = "nullable")]
    pub nick: Option<Option<String>>,
    pub roles: Option<Vec<Snowflake>>,
    pub mute: Option<bool>,
    pub deaf: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub channel_id: Option<Option<Snowflake>>,
    #[serde(default, deserialize_with = "nullable")]
    pub communication_disabled_until: Option<Option<Timestamp>>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct PatchSelfMember {
    #[serde(default, deserialize_with = "nullable")]
    pub nick: Option<Option<String>>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct CreateBan {
    pub delete_message_seconds: Option<u32>,
    /// Older clients send days.
    pub delete_message_days: Option<u32>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct CreateMessage {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub nonce: Option<serde_json::Value>,
    #[serde(default)]
    pub tts: bool,
    #[serde(default)]
    pub embeds: Option<Vec<Embed>>,
    /// The deprecated single-embed field, still sent by some bots.
    #[serde(default)]
    pub embed: Option<Embed>,
    #[serde(default)]
    pub message_reference: Option<MessageReference>,
    #[serde(default)]
    pub enforce_nonce: bool,
    /// Which of the content's mentions count (absent: all of them).
    #[serde(default)]
    pub allowed_mentions: Option<AllowedMentions>,
}

/// Discord's allowed mentions: which mentions in a message's content count.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct AllowedMentions {
    /// Kinds counted wholesale: `users`, `roles`, `everyone`.
    #[serde(default)]
    pub parse: Option<Vec<String>>,
    /// Users counted when mentioned (when `parse` lacks `users`).
    #[serde(default)]
    pub users: Option<Vec<Snowflake>>,
    /// Roles counted when mentioned (when `parse` lacks `roles`).
    #[serde(default)]
    pub roles: Option<Vec<Snowflake>>,
    /// For a reply: the replied-to message's author is mentioned.
    #[serde(default)]
    pub replied_user: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct EditMessage {
    #[serde(default, deserialize_with = "nullable")]
    pub content: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub embeds: Option<Option<Vec<Embed>>>,
    pub flags: Option<u32>,
    /// Which of the edited content's mentions count (absent: all).
    #[serde(default)]
    pub allowed_mentions: Option<AllowedMentions>,
    /// The attachments to keep (absent: all); new files of a multipart
    /// edit are added to them.
    #[serde(default, deserialize_with = "nullable")]
    pub attachments: Option<Option<Vec<AttachmentRef>>>,
}

/// An attachment named in an edit: an existing one by its id (a new
/// file's entry, `{"id": 0}` for `files[0]`, names no existing one).
#[derive(Debug, Clone, Deserialize)]
pub struct AttachmentRef {
    pub id: serde_json::Value,
}

impl AttachmentRef {
    pub fn existing(&self) -> Option<Snowflake> {
        match &self.id {
            serde_json::Value::String(s) => s.parse().ok(),
            serde_json::Value::Number(n) => n.as_u64().map(Snowflake),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct MessagesQuery {
    pub limit: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub around: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BulkDelete {
    pub messages: Vec<Snowflake>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CreateWebhook {
    pub name: String,
    #[serde(default)]
    pub avatar: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct ExecuteWebhook {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub tts: bool,
    #[serde(default)]
    pub embeds: Option<Vec<Embed>>,
    /// Which of the content's mentions count (absent: all).
    #[serde(default)]
    pub allowed_mentions: Option<AllowedMentions>,
    /// Interaction follow-ups only (an ordinary webhook's are refused).
    #[serde(default)]
    pub components: Option<Vec<hearth_model::Component>>,
    /// Interaction follow-ups: 64 makes the message ephemeral.
    #[serde(default)]
    pub flags: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct ExecuteQuery {
    #[serde(default)]
    pub wait: Option<bool>,
}
