use async_trait::async_trait;
use hearth_model::{Channel, ChannelType, Guild, Overwrite, Role, Snowflake, Timestamp};
use sqlx::{Row, Sqlite, SqliteConnection, Transaction};

use super::SqliteStore;
use crate::edits::{place_role, ChannelEdit, Edited, GuildEdit, RoleEdit};
use crate::rows::{self, db};
use crate::{Capacity, GuildStore, Result, RoleWrite, StoreError};

use crate::rows::CHANNEL_COLS;

/// The columns every channel has (threads add theirs, `threads.rs`).
const BASE_CHANNEL_COLS: &str = "id, guild_id, type, name, position, parent_id, topic, nsfw, rate_limit_per_user, bitrate, user_limit, rtc_region, overwrites, last_message_id";

async fn insert_role(
    tx: &mut Transaction<'_, Sqlite>,
    guild_id: Snowflake,
    role: &Role,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO roles (id, guild_id, name, color, hoist, position, permissions, managed, mentionable, bot_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(db(role.id))
    .bind(db(guild_id))
    .bind(&role.name)
    .bind(role.color as i64)
    .bind(role.hoist)
    .bind(role.position as i64)
    .bind(role.permissions.0 as i64)
    .bind(role.managed)
    .bind(role.mentionable)
    .bind(role.tags.as_ref().and_then(|t| t.bot_id).map(db))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_channel(tx: &mut Transaction<'_, Sqlite>, c: &Channel) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO channels ({BASE_CHANNEL_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(db(c.id))
    .bind(db(c.guild_id))
    .bind(u8::from(c.kind) as i64)
    .bind(&c.name)
    .bind(c.position as i64)
    .bind(c.parent_id.map(db))
    .bind(&c.topic)
    .bind(c.nsfw)
    .bind(c.rate_limit_per_user.map(i64::from))
    .bind(c.bitrate.map(i64::from))
    .bind(c.user_limit.map(i64::from))
    .bind(c.rtc_region.clone().flatten())
    .bind(serde_json::to_string(&c.permission_overwrites)?)
    .bind(c.last_message_id.map(db))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn load_guild(conn: &mut SqliteConnection, id: Snowflake) -> Result<Option<Guild>> {
    let Some(row) = sqlx::query("SELECT * FROM guilds WHERE id = ?")
        .bind(db(id))
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let roles = guild_roles(conn, id).await?;
    Ok(Some(Guild {
        id,
        name: row.get("name"),
        icon: row.get("icon"),
        description: row.get("description"),
        owner_id: rows::id(&row, "owner_id"),
        afk_channel_id: rows::opt_id(&row, "afk_channel_id"),
        afk_timeout: row.get::<i64, _>("afk_timeout") as u32,
        system_channel_id: rows::opt_id(&row, "system_channel_id"),
        verification_level: 0,
        default_message_notifications: row.get::<i64, _>("default_message_notifications") as u8,
        explicit_content_filter: 0,
        mfa_level: 0,
        nsfw_level: 0,
        premium_tier: 0,
        preferred_locale: "en-US".to_owned(),
        features: Vec::new(),
        emojis: Vec::new(),
        stickers: Vec::new(),
        roles,
        approximate_member_count: None,
        unused: Default::default(),
    }))
}

async fn guild_roles(conn: &mut SqliteConnection, guild_id: Snowflake) -> Result<Vec<Role>> {
    Ok(
        sqlx::query("SELECT * FROM roles WHERE guild_id = ? ORDER BY position, id")
            .bind(db(guild_id))
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(rows::role)
            .collect(),
    )
}

/// Writes the new positions of the roles in `ids` (except `skip`, not yet
/// inserted) and returns them.
async fn write_positions(
    tx: &mut Transaction<'_, Sqlite>,
    roles: &[Role],
    ids: &[Snowflake],
    skip: Option<Snowflake>,
) -> Result<Vec<Role>> {
    let mut written = Vec::new();
    for role in roles
        .iter()
        .filter(|r| ids.contains(&r.id) && Some(r.id) != skip)
    {
        sqlx::query("UPDATE roles SET position = ? WHERE id = ?")
            .bind(i64::from(role.position))
            .bind(db(role.id))
            .execute(&mut **tx)
            .await?;
        written.push(role.clone());
    }
    Ok(written)
}

/// A parent must be a category of the same guild.
async fn check_parent(
    tx: &mut Transaction<'_, Sqlite>,
    guild_id: Snowflake,
    parent: Snowflake,
) -> Result<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM channels WHERE id = ? AND guild_id = ? AND type = ?")
            .bind(db(parent))
            .bind(db(guild_id))
            .bind(u8::from(ChannelType::Category) as i64)
            .fetch_optional(&mut **tx)
            .await?;
    found.map(|_| ()).ok_or(StoreError::Missing("parent"))
}

/// An overwrite's role must (still) be one of the guild's.
async fn check_role(
    tx: &mut Transaction<'_, Sqlite>,
    guild_id: Snowflake,
    role: Snowflake,
) -> Result<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM roles WHERE id = ? AND guild_id = ?")
            .bind(db(role))
            .bind(db(guild_id))
            .fetch_optional(&mut **tx)
            .await?;
    found.map(|_| ()).ok_or(StoreError::Missing("role"))
}

#[async_trait]
impl GuildStore for SqliteStore {
    async fn create_guild(
        &self,
        g: &Guild,
        channels: &[Channel],
        joined_at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO guilds (id, name, icon, description, owner_id, afk_channel_id, afk_timeout, system_channel_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(db(g.id))
        .bind(&g.name)
        .bind(&g.icon)
        .bind(&g.description)
        .bind(db(g.owner_id))
        .bind(g.afk_channel_id.map(db))
        .bind(g.afk_timeout as i64)
        .bind(g.system_channel_id.map(db))
        .execute(&mut *tx)
        .await?;
        for role in &g.roles {
            insert_role(&mut tx, g.id, role).await?;
        }
        for c in channels {
            insert_channel(&mut tx, c).await?;
        }
        sqlx::query("INSERT INTO members (guild_id, user_id, joined_at) VALUES (?, ?, ?)")
            .bind(db(g.id))
            .bind(db(g.owner_id))
            .bind(joined_at.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn guild(&self, id: Snowflake) -> Result<Option<Guild>> {
        let mut conn = self.reader.acquire().await?;
        load_guild(&mut conn, id).await
    }

    async fn edit_guild(&self, id: Snowflake, edit: &GuildEdit) -> Result<Edited<Guild>> {
        let mut tx = self.writer.begin().await?;
        let mut guild = load_guild(&mut tx, id)
            .await?
            .ok_or(StoreError::Missing("guild"))?;
        let before = guild.clone();
        edit.apply(&mut guild);
        // Checked here, not only in the route: the channel may have been
        // deleted since the route looked.
        for (wanted, kind) in [
            (edit.system_channel_id.flatten(), ChannelType::Text),
            (edit.afk_channel_id.flatten(), ChannelType::Voice),
        ] {
            if let Some(channel) = wanted {
                let found: Option<i64> = sqlx::query_scalar(
                    "SELECT 1 FROM channels WHERE id = ? AND guild_id = ? AND type = ?",
                )
                .bind(db(channel))
                .bind(db(id))
                .bind(u8::from(kind) as i64)
                .fetch_optional(&mut *tx)
                .await?;
                if found.is_none() {
                    return Err(StoreError::Missing("channel"));
                }
            }
        }
        let changed = guild != before;
        if changed {
            sqlx::query(
                "UPDATE guilds SET name = ?, icon = ?, description = ?, afk_channel_id = ?, afk_timeout = ?, system_channel_id = ?,
                 default_message_notifications = ? WHERE id = ?",
            )
            .bind(&guild.name)
            .bind(&guild.icon)
            .bind(&guild.description)
            .bind(guild.afk_channel_id.map(db))
            .bind(guild.afk_timeout as i64)
            .bind(guild.system_channel_id.map(db))
            .bind(i64::from(guild.default_message_notifications))
            .bind(db(id))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Edited {
            now: guild,
            changed,
        })
    }

    async fn delete_guild(&self, id: Snowflake) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "DELETE FROM messages WHERE channel_id IN (SELECT id FROM channels WHERE guild_id = ?)",
        )
        .bind(db(id))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM read_states WHERE channel_id IN (SELECT id FROM channels WHERE guild_id = ?)",
        )
        .bind(db(id))
        .execute(&mut *tx)
        .await?;
        // Foreign keys cascade to roles, channels, members, bans, invites, webhooks.
        sqlx::query("DELETE FROM guilds WHERE id = ?")
            .bind(db(id))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn member_count(&self, guild_id: Snowflake) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE guild_id = ?")
            .bind(db(guild_id))
            .fetch_one(&self.reader)
            .await?;
        Ok(n as u64)
    }

    async fn channels(&self, guild_id: Snowflake) -> Result<Vec<Channel>> {
        sqlx::query(&format!(
            "SELECT {CHANNEL_COLS} FROM channels WHERE guild_id = ? AND type < 10 ORDER BY position, id"
        ))
        .bind(db(guild_id))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(rows::channel)
        .collect()
    }

    async fn channel(&self, id: Snowflake) -> Result<Option<Channel>> {
        sqlx::query(&format!("SELECT {CHANNEL_COLS} FROM channels WHERE id = ?"))
            .bind(db(id))
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(rows::channel)
            .transpose()
    }

    async fn create_channel(&self, channel: &Channel, max: usize) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM channels WHERE guild_id = ? AND type < 10")
                .bind(db(channel.guild_id))
                .fetch_one(&mut *tx)
                .await?;
        if count as usize >= max {
            return Err(StoreError::Full(Capacity::Channels));
        }
        if let Some(parent) = channel.parent_id {
            check_parent(&mut tx, channel.guild_id, parent).await?;
        }
        for role in channel.permission_overwrites.iter().filter(|o| o.kind == 0) {
            check_role(&mut tx, channel.guild_id, role.id).await?;
        }
        insert_channel(&mut tx, channel).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn edit_channel(
        &self,
        id: Snowflake,
        edit: &ChannelEdit,
        max_overwrites: usize,
    ) -> Result<Edited<Channel>> {
        let mut tx = self.writer.begin().await?;
        let mut channel = sqlx::query(&format!("SELECT {CHANNEL_COLS} FROM channels WHERE id = ?"))
            .bind(db(id))
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(rows::channel)
            .transpose()?
            .ok_or(StoreError::Missing("channel"))?;
        let before = channel.clone();
        edit.apply(&mut channel);
        if channel.permission_overwrites.len() > max_overwrites {
            return Err(StoreError::Full(Capacity::Overwrites));
        }
        // A role deleted since the route looked must not come back as an
        // overwrite: its deletion already swept the overwrites.
        for role in edit.role_targets() {
            check_role(&mut tx, channel.guild_id, role).await?;
        }
        if let Some(Some(parent)) = edit.parent_id {
            check_parent(&mut tx, channel.guild_id, parent).await?;
        }
        let changed = channel != before;
        if changed {
            let c = &channel;
            sqlx::query(
                "UPDATE channels SET name = ?, position = ?, parent_id = ?, topic = ?, nsfw = ?, rate_limit_per_user = ?,
                 bitrate = ?, user_limit = ?, rtc_region = ?, overwrites = ? WHERE id = ?",
            )
            .bind(&c.name)
            .bind(c.position as i64)
            .bind(c.parent_id.map(db))
            .bind(&c.topic)
            .bind(c.nsfw)
            .bind(c.rate_limit_per_user.map(i64::from))
            .bind(c.bitrate.map(i64::from))
            .bind(c.user_limit.map(i64::from))
            .bind(c.rtc_region.clone().flatten())
            .bind(serde_json::to_string(&c.permission_overwrites)?)
            .bind(db(c.id))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Edited {
            now: channel,
            changed,
        })
    }

    async fn delete_channel(&self, id: Snowflake) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "DELETE FROM messages WHERE channel_id = ?1
             OR channel_id IN (SELECT id FROM channels WHERE parent_id = ?1 AND type > 10)",
        )
        .bind(db(id))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM read_states WHERE channel_id = ?1
             OR channel_id IN (SELECT id FROM channels WHERE parent_id = ?1 AND type > 10)",
        )
        .bind(db(id))
        .execute(&mut *tx)
        .await?;
        // A channel's threads go with it; children of a deleted category
        // move to the top level, as in Discord, and the guild forgets it as
        // its system or AFK channel.
        for sql in [
            "DELETE FROM channels WHERE parent_id = ?1 AND type > 10",
            "UPDATE channels SET parent_id = NULL WHERE parent_id = ?1",
            "UPDATE guilds SET system_channel_id = NULLIF(system_channel_id, ?1),
                               afk_channel_id = NULLIF(afk_channel_id, ?1)
             WHERE system_channel_id = ?1 OR afk_channel_id = ?1",
            "DELETE FROM channels WHERE id = ?1",
        ] {
            sqlx::query(sql).bind(db(id)).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_role(&self, guild_id: Snowflake, role: &Role, max: usize) -> Result<RoleWrite> {
        let mut tx = self.writer.begin().await?;
        let mut roles = guild_roles(&mut tx, guild_id).await?;
        if roles.is_empty() {
            return Err(StoreError::Missing("guild"));
        }
        if roles.len() >= max {
            return Err(StoreError::Full(Capacity::Roles));
        }
        // Enter at the bottom, then move to the asked position like any edit.
        let mut new = role.clone();
        new.position = 0;
        roles.push(new);
        let moved = place_role(&mut roles, guild_id, role.id, Some(role.position));
        let written = write_positions(&mut tx, &roles, &moved, Some(role.id)).await?;
        let new = roles
            .iter()
            .find(|r| r.id == role.id)
            .cloned()
            .ok_or(StoreError::Missing("role"))?;
        insert_role(&mut tx, guild_id, &new).await?;
        tx.commit().await?;
        Ok(RoleWrite {
            role: new,
            moved: written,
        })
    }

    async fn edit_role(
        &self,
        guild_id: Snowflake,
        role_id: Snowflake,
        edit: &RoleEdit,
    ) -> Result<RoleWrite> {
        let mut tx = self.writer.begin().await?;
        let mut roles = guild_roles(&mut tx, guild_id).await?;
        let Some(role) = roles.iter_mut().find(|r| r.id == role_id) else {
            return Err(StoreError::Missing("role"));
        };
        edit.apply(role);
        sqlx::query(
            "UPDATE roles SET name = ?, color = ?, hoist = ?, permissions = ?, mentionable = ? WHERE id = ? AND guild_id = ?",
        )
        .bind(&role.name)
        .bind(role.color as i64)
        .bind(role.hoist)
        .bind(role.permissions.0 as i64)
        .bind(role.mentionable)
        .bind(db(role_id))
        .bind(db(guild_id))
        .execute(&mut *tx)
        .await?;
        // @everyone stays at 0.
        let position = edit.position.filter(|_| role_id != guild_id);
        let moved = place_role(&mut roles, guild_id, role_id, position);
        let moved = write_positions(&mut tx, &roles, &moved, None).await?;
        tx.commit().await?;
        let role = roles
            .iter()
            .find(|r| r.id == role_id)
            .cloned()
            .ok_or(StoreError::Missing("role"))?;
        Ok(RoleWrite {
            moved: moved.into_iter().filter(|r| r.id != role_id).collect(),
            role,
        })
    }

    async fn move_roles(
        &self,
        guild_id: Snowflake,
        moves: &[(Snowflake, i32)],
    ) -> Result<Vec<Role>> {
        let mut tx = self.writer.begin().await?;
        let mut roles = guild_roles(&mut tx, guild_id).await?;
        let mut moved: Vec<Snowflake> = place_role(&mut roles, guild_id, guild_id, None);
        for &(id, position) in moves {
            if id != guild_id && roles.iter().any(|r| r.id == id) {
                moved.extend(place_role(&mut roles, guild_id, id, Some(position)));
            }
        }
        moved.sort();
        moved.dedup();
        let written = write_positions(&mut tx, &roles, &moved, None).await?;
        tx.commit().await?;
        Ok(written)
    }

    async fn delete_role(&self, guild_id: Snowflake, role_id: Snowflake) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("DELETE FROM roles WHERE id = ? AND guild_id = ?")
            .bind(db(role_id))
            .bind(db(guild_id))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            // Someone deleted it first: nothing to sweep, and only the
            // first delete answers 204.
            return Ok(false);
        }
        let id_text = role_id.to_string();
        sqlx::query(
            "UPDATE members SET roles = (SELECT json_group_array(value) FROM json_each(members.roles) WHERE value != ?1)
             WHERE guild_id = ?2 AND EXISTS (SELECT 1 FROM json_each(members.roles) WHERE value = ?1)",
        )
        .bind(&id_text)
        .bind(db(guild_id))
        .execute(&mut *tx)
        .await?;
        let channels = sqlx::query("SELECT id, overwrites FROM channels WHERE guild_id = ?")
            .bind(db(guild_id))
            .fetch_all(&mut *tx)
            .await?;
        for row in channels {
            let mut overwrites: Vec<Overwrite> = rows::json(&row, "overwrites")?;
            let before = overwrites.len();
            overwrites.retain(|o| !(o.kind == 0 && o.id == role_id));
            if overwrites.len() != before {
                sqlx::query("UPDATE channels SET overwrites = ? WHERE id = ?")
                    .bind(serde_json::to_string(&overwrites)?)
                    .bind(row.get::<i64, _>("id"))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }
}
