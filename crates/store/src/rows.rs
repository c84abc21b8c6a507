//! Turning rows into model objects, for every backend.
//!
//! Both schemas keep the same columns under the same names, so decoding is
//! written once against [`Cols`], which each backend's row type implements.

use hearth_model::{
    Channel, ChannelType, Embed, InteractionMetadata, Invite, Member, Message, MessageReference,
    Overwrite, PartialChannel, PartialGuild, Permissions, Role, RoleTags, Snowflake, ThreadFields,
    ThreadMember, ThreadMetadata, Timestamp, User, Webhook,
};
use serde::de::DeserializeOwned;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::{Result, StoreError};

/// Reading a column of one of our own rows. The schema is ours, so a
/// missing column or a wrong type is a bug, and panics as `Row::get` does.
pub trait Cols {
    fn int(&self, col: &str) -> i64;
    fn opt_int(&self, col: &str) -> Option<i64>;
    fn text(&self, col: &str) -> String;
    fn opt_text(&self, col: &str) -> Option<String>;
    fn flag(&self, col: &str) -> bool;
    fn bytes(&self, col: &str) -> Vec<u8>;
}

macro_rules! cols_for {
    ($row:ty) => {
        impl Cols for $row {
            fn int(&self, col: &str) -> i64 {
                self.get(col)
            }
            fn opt_int(&self, col: &str) -> Option<i64> {
                self.get(col)
            }
            fn text(&self, col: &str) -> String {
                self.get(col)
            }
            fn opt_text(&self, col: &str) -> Option<String> {
                self.get(col)
            }
            fn flag(&self, col: &str) -> bool {
                self.get(col)
            }
            fn bytes(&self, col: &str) -> Vec<u8> {
                self.get(col)
            }
        }
    };
}

cols_for!(SqliteRow);
cols_for!(PgRow);

/// The user columns, selected from a join aliased `u`.
pub const USER_COLS: &str =
    "u.id AS u_id, u.username AS u_username, u.global_name AS u_global_name, u.avatar AS u_avatar, u.bot AS u_bot";

pub fn sf(v: i64) -> Snowflake {
    Snowflake(v as u64)
}

pub fn db(id: Snowflake) -> i64 {
    id.0 as i64
}

pub fn id(row: &impl Cols, col: &str) -> Snowflake {
    sf(row.int(col))
}

pub fn opt_id(row: &impl Cols, col: &str) -> Option<Snowflake> {
    row.opt_int(col).map(sf)
}

pub fn json<T: DeserializeOwned>(row: &impl Cols, col: &str) -> Result<T> {
    let text = row.text(col);
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

pub fn user(row: &impl Cols) -> User {
    User {
        id: id(row, "u_id"),
        username: row.text("u_username"),
        discriminator: "0".to_owned(),
        global_name: row.opt_text("u_global_name"),
        avatar: row.opt_text("u_avatar"),
        bot: row.flag("u_bot"),
    }
}

pub fn role(row: &impl Cols) -> Role {
    Role {
        id: id(row, "id"),
        name: row.text("name"),
        color: row.int("color") as u32,
        hoist: row.flag("hoist"),
        icon: None,
        unicode_emoji: None,
        position: row.int("position") as i32,
        permissions: Permissions(row.int("permissions") as u64),
        managed: row.flag("managed"),
        mentionable: row.flag("mentionable"),
        flags: 0,
        tags: opt_id(row, "bot_id").map(|b| RoleTags { bot_id: Some(b) }),
    }
}

pub fn channel(row: &impl Cols) -> Result<Channel> {
    let kind = ChannelType::try_from(row.int("type") as u8).map_err(StoreError::Corrupt)?;
    let voice = kind == ChannelType::Voice;
    let text = kind == ChannelType::Text;
    Ok(Channel {
        id: id(row, "id"),
        kind,
        guild_id: id(row, "guild_id"),
        position: row.int("position") as i32,
        permission_overwrites: json::<Vec<Overwrite>>(row, "overwrites")?,
        name: row.text("name"),
        parent_id: opt_id(row, "parent_id"),
        nsfw: row.flag("nsfw"),
        flags: 0,
        topic: if text {
            Some(row.opt_text("topic").unwrap_or_default())
        } else {
            None
        },
        last_message_id: opt_id(row, "last_message_id"),
        rate_limit_per_user: if kind == ChannelType::Category {
            None
        } else {
            Some(row.opt_int("rate_limit_per_user").unwrap_or(0) as u32)
        },
        bitrate: if voice {
            row.opt_int("bitrate").map(|v| v as u32)
        } else {
            None
        },
        user_limit: if voice {
            row.opt_int("user_limit").map(|v| v as u32)
        } else {
            None
        },
        rtc_region: if voice {
            Some(row.opt_text("rtc_region"))
        } else {
            None
        },
        thread: if kind.is_thread() {
            Some(thread_fields(row, kind))
        } else {
            None
        },
    })
}

fn thread_fields(row: &impl Cols, kind: ChannelType) -> ThreadFields {
    let count = |col| u32::try_from(row.int(col)).unwrap_or(u32::MAX);
    ThreadFields {
        owner_id: opt_id(row, "owner_id").unwrap_or_default(),
        thread_metadata: ThreadMetadata {
            archived: row.flag("archived"),
            auto_archive_duration: count("auto_archive_duration"),
            archive_timestamp: Timestamp(row.int("archive_timestamp")),
            locked: row.flag("locked"),
            invitable: (kind == ChannelType::PrivateThread).then(|| row.flag("invitable")),
            create_timestamp: Timestamp(row.int("created_at")),
        },
        message_count: count("message_count"),
        member_count: count("member_count"),
        total_message_sent: count("total_message_sent"),
    }
}

/// A `thread_members` row.
pub fn thread_member(row: &impl Cols) -> ThreadMember {
    ThreadMember {
        id: id(row, "thread_id"),
        user_id: id(row, "user_id"),
        join_timestamp: Timestamp(row.int("joined_at")),
        flags: 0,
    }
}

/// The columns [`channel`] reads.
pub const CHANNEL_COLS: &str = "id, guild_id, type, name, position, parent_id, topic, nsfw, rate_limit_per_user, bitrate, user_limit, rtc_region, overwrites, last_message_id, owner_id, archived, locked, invitable, auto_archive_duration, archive_timestamp, created_at, message_count, member_count, total_message_sent";

/// A member row joined with its user (`USER_COLS`).
pub fn member(row: &impl Cols) -> Result<Member> {
    Ok(Member {
        user: user(row),
        nick: row.opt_text("nick"),
        avatar: None,
        roles: json(row, "roles")?,
        joined_at: Timestamp(row.int("joined_at")),
        deaf: row.flag("deaf"),
        mute: row.flag("mute"),
        flags: 0,
        pending: false,
        communication_disabled_until: row.opt_int("timeout_until").map(Timestamp),
    })
}

/// A message row left-joined with its author (`USER_COLS`). Webhook
/// messages carry their author in `author_json` instead.
pub fn message(row: &impl Cols) -> Result<Message> {
    let msg_id = id(row, "id");
    let author = match row.opt_text("author_json") {
        Some(text) => serde_json::from_str(&text)?,
        None => match row.opt_int("u_id") {
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
    let reference: Option<MessageReference> = match row.opt_text("reference") {
        Some(text) => Some(serde_json::from_str(&text)?),
        None => None,
    };
    let metadata: Option<InteractionMetadata> = match row.opt_text("interaction") {
        Some(text) => Some(serde_json::from_str(&text)?),
        None => None,
    };
    let call = match row.opt_text("call") {
        Some(text) => Some(serde_json::from_str(&text)?),
        None => None,
    };
    let nonce = match row.opt_text("nonce") {
        Some(text) => Some(serde_json::from_str(&text)?),
        None => None,
    };
    Ok(Message {
        id: msg_id,
        channel_id: id(row, "channel_id"),
        guild_id: opt_id(row, "guild_id"),
        author,
        content: row.text("content"),
        timestamp: Timestamp(msg_id.timestamp_ms() as i64),
        edited_timestamp: row.opt_int("edited_at").map(Timestamp),
        tts: row.flag("tts"),
        mention_everyone: row.flag("mention_everyone"),
        mentions: json(row, "mentions")?,
        mention_roles: json(row, "mention_roles")?,
        attachments: json(row, "attachments")?,
        embeds: json::<Vec<Embed>>(row, "embeds")?,
        pinned: row.flag("pinned"),
        kind: row.int("type") as u8,
        flags: row.int("flags") as u32,
        nonce,
        webhook_id: opt_id(row, "webhook_id"),
        referenced_message: reference.as_ref().map(|_| None),
        message_reference: reference,
        reactions: Vec::new(),
        components: json(row, "components")?,
        application_id: opt_id(row, "application_id"),
        interaction: metadata.as_ref().map(InteractionMetadata::legacy),
        call,
        interaction_metadata: metadata,
    })
}

/// An invite row joined with its guild's name and icon (`g_name`,
/// `g_icon`) and its channel's name and type (`c_name`, `c_type`).
pub fn invite(row: &impl Cols, inviter: Option<User>) -> Result<Invite> {
    let created_at = Timestamp(row.int("created_at"));
    let max_age = row.int("max_age") as u32;
    Ok(Invite {
        kind: 0,
        code: row.text("code"),
        guild: PartialGuild {
            id: id(row, "guild_id"),
            name: row.text("g_name"),
            icon: row.opt_text("g_icon"),
        },
        channel: PartialChannel {
            id: id(row, "channel_id"),
            name: row.text("c_name"),
            kind: ChannelType::try_from(row.int("c_type") as u8).map_err(StoreError::Corrupt)?,
        },
        inviter,
        max_age,
        max_uses: row.int("max_uses") as u32,
        uses: row.int("uses") as u32,
        temporary: row.flag("temporary"),
        created_at,
        expires_at: (max_age > 0).then(|| Timestamp(created_at.0 + i64::from(max_age) * 1000)),
    })
}

/// A webhook row; `user` is its creator, looked up by the caller.
pub fn webhook(row: &impl Cols, user: Option<User>) -> Webhook {
    Webhook {
        id: id(row, "id"),
        kind: 1,
        guild_id: id(row, "guild_id"),
        channel_id: id(row, "channel_id"),
        name: row.opt_text("name"),
        avatar: row.opt_text("avatar"),
        // Only its hash is kept: the token is shown once, at creation.
        token: None,
        user,
        application_id: None,
    }
}

/// Maps a unique-constraint failure to `Conflict(what)`.
pub fn conflict(e: sqlx::Error, what: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(e),
    }
}

/// A message's attachments as the `attachments` column keeps them: the
/// model's fields without the links, which are signed when sent (see
/// `hearth_model::attachments`).
pub fn attachments_json(attachments: &[hearth_model::Attachment]) -> Result<String> {
    #[derive(serde::Serialize)]
    struct Stored<'a> {
        id: Snowflake,
        filename: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<&'a str>,
        content_type: &'a str,
        size: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        width: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        height: Option<u32>,
    }
    let stored: Vec<Stored> = attachments
        .iter()
        .map(|a| Stored {
            id: a.id,
            filename: &a.filename,
            description: a.description.as_deref(),
            content_type: &a.content_type,
            size: a.size,
            width: a.width,
            height: a.height,
        })
        .collect();
    Ok(serde_json::to_string(&stored)?)
}
