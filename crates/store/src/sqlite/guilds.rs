use async_trait::async_trait;
use hearth_model::{Channel, Guild, Overwrite, Role, Snowflake, Timestamp};
use sqlx::{Row, Sqlite, Transaction};

use super::rows::{self, db};
use super::SqliteStore;
use crate::{GuildStore, Result};

const CHANNEL_COLS: &str = "id, guild_id, type, name, position, parent_id, topic, nsfw, rate_limit_per_user, bitrate, user_limit, rtc_region, overwrites, last_message_id";

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
        "INSERT INTO channels ({CHANNEL_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
        let Some(row) = sqlx::query("SELECT * FROM guilds WHERE id = ?")
            .bind(db(id))
            .fetch_optional(&self.reader)
            .await?
        else {
            return Ok(None);
        };
        let roles = sqlx::query("SELECT * FROM roles WHERE guild_id = ? ORDER BY position, id")
            .bind(db(id))
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(rows::role)
            .collect();
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
            default_message_notifications: 0,
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
        }))
    }

    async fn update_guild(&self, g: &Guild) -> Result<()> {
        sqlx::query(
            "UPDATE guilds SET name = ?, icon = ?, description = ?, owner_id = ?, afk_channel_id = ?, afk_timeout = ?, system_channel_id = ? WHERE id = ?",
        )
        .bind(&g.name)
        .bind(&g.icon)
        .bind(&g.description)
        .bind(db(g.owner_id))
        .bind(g.afk_channel_id.map(db))
        .bind(g.afk_timeout as i64)
        .bind(g.system_channel_id.map(db))
        .bind(db(g.id))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn delete_guild(&self, id: Snowflake) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "DELETE FROM messages WHERE channel_id IN (SELECT id FROM channels WHERE guild_id = ?)",
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
            "SELECT {CHANNEL_COLS} FROM channels WHERE guild_id = ? ORDER BY position, id"
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

    async fn create_channel(&self, channel: &Channel) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        insert_channel(&mut tx, channel).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_channel(&self, c: &Channel) -> Result<()> {
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
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn delete_channel(&self, id: Snowflake) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM messages WHERE channel_id = ?")
            .bind(db(id))
            .execute(&mut *tx)
            .await?;
        // Children of a deleted category move to the top level, as in
        // Discord, and the guild forgets it as its system or AFK channel.
        for sql in [
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

    async fn create_role(&self, guild_id: Snowflake, role: &Role) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        // Make room, as Discord does: positions stay distinct.
        sqlx::query("UPDATE roles SET position = position + 1 WHERE guild_id = ? AND position >= ? AND id != ?")
            .bind(db(guild_id))
            .bind(role.position as i64)
            .bind(db(guild_id))
            .execute(&mut *tx)
            .await?;
        insert_role(&mut tx, guild_id, role).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_role(&self, guild_id: Snowflake, r: &Role) -> Result<()> {
        sqlx::query(
            "UPDATE roles SET name = ?, color = ?, hoist = ?, position = ?, permissions = ?, mentionable = ? WHERE id = ? AND guild_id = ?",
        )
        .bind(&r.name)
        .bind(r.color as i64)
        .bind(r.hoist)
        .bind(r.position as i64)
        .bind(r.permissions.0 as i64)
        .bind(r.mentionable)
        .bind(db(r.id))
        .bind(db(guild_id))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn delete_role(&self, guild_id: Snowflake, role_id: Snowflake) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM roles WHERE id = ? AND guild_id = ?")
            .bind(db(role_id))
            .bind(db(guild_id))
            .execute(&mut *tx)
            .await?;
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
        Ok(())
    }
}
