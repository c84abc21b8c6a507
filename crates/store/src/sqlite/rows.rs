//! Turning rows into model objects.

use hearth_model::{
    Channel, ChannelType, Embed, Member, Message, MessageReference, Overwrite, Permissions, Role,
    RoleTags, Snowflake, Timestamp, User,
};
use serde::de::DeserializeOwned;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::{Result, StoreError};

/// The user columns, selected from a join aliased `u`.
pub const USER_COLS: &str =
    "u.id AS u_id, u.username AS u_username, u.global_name AS u_global_name, u.avatar AS u_avatar, u.bot AS u_bot";

pub fn sf(v: i64) -> Snowflake {
    Snowflake(v as u64)
}

pub fn db(id: Snowflake) -> i64 {
    id.0 as i64
}

pub fn id(row: &SqliteRow, col: &str) -> Snowflake {
    sf(row.get::<i64, _>(col))
}

pub fn opt_id(row: &SqliteRow, col: &str) -> Option<Snowflake> {
    row.get::<Option<i64>, _>(col).map(sf)
}

pub fn json<T: DeserializeOwned>(row: &SqliteRow, col: &str) -> Result<T> {
    let text: String = row.get(col);
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

pub fn user(row: &SqliteRow) -> User {
    User {
        id: id(row, "u_id"),
        username: row.get("u_username"),
        discriminator: "0".to_owned(),
        global_name: row.get("u_global_name"),
        avatar: row.get("u_avatar"),
        bot: row.get::<bool, _>("u_bot"),
    }
}

pub fn role(row: &SqliteRow) -> Role {
    Role {
        id: id(row, "id"),
        name: row.get("name"),
        color: row.get::<i64, _>("color") as u32,
        hoist: row.get("hoist"),
        icon: None,
        unicode_emoji: None,
        position: row.get::<i64, _>("position") as i32,
        permissions: Permissions(row.get::<i64, _>("permissions") as u64),
        managed: row.get("managed"),
        mentionable: row.get("mentionable"),
        flags: 0,
        tags: opt_id(row, "bot_id").map(|b| RoleTags { bot_id: Some(b) }),
    }
}

pub fn channel(row: &SqliteRow) -> Result<Channel> {
    let kind =
        ChannelType::try_from(row.get::<i64, _>("type") as u8).map_err(StoreError::Corrupt)?;
    let voice = kind == ChannelType::Voice;
    let text = kind == ChannelType::Text;
    Ok(Channel {
        id: id(row, "id"),
        kind,
        guild_id: id(row, "guild_id"),
        position: row.get::<i64, _>("position") as i32,
        permission_overwrites: json::<Vec<Overwrite>>(row, "overwrites")?,
        name: row.get("name"),
        parent_id: opt_id(row, "parent_id"),
        nsfw: row.get("nsfw"),
        flags: 0,
        topic: if text {
            Some(row.get::<Option<String>, _>("topic").unwrap_or_default())
        } else {
            None
        },
        last_message_id: opt_id(row, "last_message_id"),
        rate_limit_per_user: if kind == ChannelType::Category {
            None
        } else {
            Some(
                row.get::<Option<i64>, _>("rate_limit_per_user")
                    .unwrap_or(0) as u32,
            )
        },
        bitrate: if voice {
            row.get::<Option<i64>, _>("bitrate").map(|v| v as u32)
        } else {
            None
        },
        user_limit: if voice {
            row.get::<Option<i64>, _>("user_limit").map(|v| v as u32)
        } else {
            None
        },
        rtc_region: if voice {
            Some(row.get("rtc_region"))
        } else {
            None
        },
    })
}

/// A member row joined with its user (`USER_COLS`).
pub fn member(row: &SqliteRow) -> Result<Member> {
    Ok(Member {
        user: user(row),
        nick: row.get("nick"),
        avatar: None,
        roles: json(row, "roles")?,
        joined_at: Timestamp(row.get("joined_at")),
        deaf: row.get("deaf"),
        mute: row.get("mute"),
        flags: 0,
        pending: false,
        communication_disabled_until: row.get::<Option<i64>, _>("timeout_until").map(Timestamp),
    })
}

/// A message row left-joined with its author (`USER_COLS`). Webhook
/// messages carry their author in `author_json` instead.
pub fn message(row: &SqliteRow) -> Result<Message> {
    let msg_id = id(row, "id");
    let author = match row.get::<Option<String>, _>("author_json") {
        Some(text) => serde_json::from_str(&text)?,
        None => match row.get::<Option<i64>, _>("u_id") {
            Some(_) => user(row),
            // The author's account is gone; show what Discord shows.
            None => User {
                id: id(row, "author_id"),
                username: "deleted_user".to_owned(),
                discriminator: "0".to_owned(),
                global_name: Some("Deleted User".to_owned()),
                avatar: None,
                bot: false,
            },
        },
    };
    let reference: Option<MessageReference> = match row.get::<Option<String>, _>("reference") {
        Some(text) => Some(serde_json::from_str(&text)?),
        None => None,
    };
    let nonce = match row.get::<Option<String>, _>("nonce") {
        Some(text) => Some(serde_json::from_str(&text)?),
        None => None,
    };
    Ok(Message {
        id: msg_id,
        channel_id: id(row, "channel_id"),
        guild_id: opt_id(row, "guild_id"),
        author,
        content: row.get("content"),
        timestamp: Timestamp(msg_id.timestamp_ms() as i64),
        edited_timestamp: row.get::<Option<i64>, _>("edited_at").map(Timestamp),
        tts: row.get("tts"),
        mention_everyone: row.get("mention_everyone"),
        mentions: json(row, "mentions")?,
        mention_roles: json(row, "mention_roles")?,
        attachments: Vec::new(),
        embeds: json::<Vec<Embed>>(row, "embeds")?,
        pinned: row.get("pinned"),
        kind: row.get::<i64, _>("type") as u8,
        flags: row.get::<i64, _>("flags") as u32,
        nonce,
        webhook_id: opt_id(row, "webhook_id"),
        referenced_message: reference.as_ref().map(|_| None),
        message_reference: reference,
    })
}

/// Maps a unique-constraint failure to `Conflict(what)`.
pub fn conflict(e: sqlx::Error, what: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(e),
    }
}
