use async_trait::async_trait;
use hearth_model::{Channel, ChannelType, Guild, Overwrite, Role, Snowflake, Timestamp};
use sqlx::PgConnection;

use super::{lock_guild, PgStore};
use crate::edits::{place_role, ChannelEdit, Edited, GuildEdit, RoleEdit};
use crate::rows::{self, db, Cols};
use crate::{Capacity, GuildStore, Result, RoleWrite, StoreError};

use crate::rows::CHANNEL_COLS;

/// The columns every channel has (threads add theirs, `threads.rs`).
const BASE_CHANNEL_COLS: &str = "id, guild_id, type, name, position, parent_id, topic, nsfw, rate_limit_per_user, bitrate, user_limit, rtc_region, overwrites, last_message_id";

async fn insert_role(conn: &mut PgConnection, guild_id: Snowflake, role: &Role) -> Result<()> {
    sqlx::query(
        "INSERT INTO roles (id, guild_id, name, color, hoist, position, permissions, managed, mentionable, bot_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_channel(conn: &mut PgConnection, c: &Channel) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO channels ({BASE_CHANNEL_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
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
    .execute(conn)
    .await?;
    Ok(())
}

async fn load_guild(conn: &mut PgConnection, id: Snowflake) -> Result<Option<Guild>> {
    let Some(row) = sqlx::query("SELECT * FROM guilds WHERE id = $1")
        .bind(db(id))
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let roles = guild_roles(conn, id).await?;
    Ok(Some(Guild {
        id,
        name: row.text("name"),
        icon: row.opt_text("icon"),
        description: row.opt_text("description"),
        owner_id: rows::id(&row, "owner_id"),
        afk_channel_id: rows::opt_id(&row, "afk_channel_id"),
        afk_timeout: row.int("afk_timeout") as u32,
        system_channel_id: rows::opt_id(&row, "system_channel_id"),
        verification_level: 0,
        default_message_notifications: row.int("default_message_notifications") as u8,
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

async fn guild_roles(conn: &mut PgConnection, guild_id: Snowflake) -> Result<Vec<Role>> {
    Ok(
        sqlx::query("SELECT * FROM roles WHERE guild_id = $1 ORDER BY position, id")
            .bind(db(guild_id))
            .fetch_all(conn)
            .await?
            .iter()
            .map(rows::role)
            .collect(),
    )
}

/// The guild a channel belongs to (which never changes), to lock it.
async fn guild_of_channel(conn: &mut PgConnection, id: Snowflake) -> Result<Option<Snowflake>> {
    let guild: Option<i64> = sqlx::query_scalar("SELECT guild_id FROM channels WHERE id = $1")
        .bind(db(id))
        .fetch_optional(conn)
        .await?;
    Ok(guild.map(rows::sf))
}

/// Writes the new positions of the roles in `ids` (except `skip`, not yet
/// inserted) and returns them.
async fn write_positions(
    conn: &mut PgConnection,
    roles: &[Role],
    ids: &[Snowflake],
    skip: Option<Snowflake>,
) -> Result<Vec<Role>> {
    let mut written = Vec::new();
    for role in roles
        .iter()
        .filter(|r| ids.contains(&r.id) && Some(r.id) != skip)
    {
        sqlx::query("UPDATE roles SET position = $1 WHERE id = $2")
            .bind(i64::from(role.position))
            .bind(db(role.id))
            .execute(&mut *conn)
            .await?;
        written.push(role.clone());
    }
    Ok(written)
}

/// Whether `id` is a channel of the guild of the given type.
async fn is_channel_of(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    id: Snowflake,
    kind: ChannelType,
) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM channels WHERE id = $1 AND guild_id = $2 AND type = $3")
            .bind(db(id))
            .bind(db(guild_id))
            .bind(u8::from(kind) as i64)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

/// A parent must be a category of the same guild.
async fn check_parent(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    parent: Snowflake,
) -> Result<()> {
    if is_channel_of(conn, guild_id, parent, ChannelType::Category).await? {
        Ok(())
    } else {
        Err(StoreError::Missing("parent"))
    }
}

/// An overwrite's role must (still) be one of the guild's.
async fn check_role(conn: &mut PgConnection, guild_id: Snowflake, role: Snowflake) -> Result<()> {
    sqlx::query("SELECT 1 FROM roles WHERE id = $1 AND guild_id = $2")
        .bind(db(role))
        .bind(db(guild_id))
        .fetch_optional(conn)
        .await?
        .map(|_| ())
        .ok_or(StoreError::Missing("role"))
}

#[async_trait]
impl GuildStore for PgStore {
    async fn create_guild(
        &self,
        g: &Guild,
        channels: &[Channel],
        joined_at: Timestamp,
    ) -> Result<()> {
        // A new guild: nothing else can write to it yet, so no lock.
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO guilds (id, name, icon, description, owner_id, afk_channel_id, afk_timeout, system_channel_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
        sqlx::query("INSERT INTO members (guild_id, user_id, joined_at) VALUES ($1, $2, $3)")
            .bind(db(g.id))
            .bind(db(g.owner_id))
            .bind(joined_at.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn guild(&self, id: Snowflake) -> Result<Option<Guild>> {
        // One transaction: the guild row and its roles from one snapshot.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let guild = load_guild(&mut tx, id).await?;
        tx.commit().await?;
        Ok(guild)
    }

    async fn edit_guild(&self, id: Snowflake, edit: &GuildEdit) -> Result<Edited<Guild>> {
        let mut tx = self.pool.begin().await?;
        lock_guild(&mut tx, id).await?;
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
                if !is_channel_of(&mut tx, id, channel, kind).await? {
                    return Err(StoreError::Missing("channel"));
                }
            }
        }
        let changed = guild != before;
        if changed {
            sqlx::query(
                "UPDATE guilds SET name = $1, icon = $2, description = $3, afk_channel_id = $4, afk_timeout = $5, system_channel_id = $6,
                 default_message_notifications = $8 WHERE id = $7",
            )
            .bind(&guild.name)
            .bind(&guild.icon)
            .bind(&guild.description)
            .bind(guild.afk_channel_id.map(db))
            .bind(guild.afk_timeout as i64)
            .bind(guild.system_channel_id.map(db))
            .bind(db(id))
            .bind(i64::from(guild.default_message_notifications))
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
        let mut tx = self.pool.begin().await?;
        lock_guild(&mut tx, id).await?;
        sqlx::query(
            "DELETE FROM messages WHERE channel_id IN (SELECT id FROM channels WHERE guild_id = $1)",
        )
        .bind(db(id))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM read_states WHERE channel_id IN (SELECT id FROM channels WHERE guild_id = $1)",
        )
        .bind(db(id))
        .execute(&mut *tx)
        .await?;
        // Foreign keys cascade to roles, channels, members, bans, invites, webhooks.
        sqlx::query("DELETE FROM guilds WHERE id = $1")
            .bind(db(id))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn member_count(&self, guild_id: Snowflake) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE guild_id = $1")
            .bind(db(guild_id))
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    async fn channels(&self, guild_id: Snowflake) -> Result<Vec<Channel>> {
        sqlx::query(&format!(
            "SELECT {CHANNEL_COLS} FROM channels WHERE guild_id = $1 AND type < 10 ORDER BY position, id"
        ))
        .bind(db(guild_id))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::channel)
        .collect()
    }

    async fn channel(&self, id: Snowflake) -> Result<Option<Channel>> {
        sqlx::query(&format!(
            "SELECT {CHANNEL_COLS} FROM channels WHERE id = $1"
        ))
        .bind(db(id))
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(rows::channel)
        .transpose()
    }

    async fn create_channel(&self, channel: &Channel, max: usize) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // The count below holds until commit only because every channel
        // create of the guild waits for this lock.
        lock_guild(&mut tx, channel.guild_id).await?;
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM channels WHERE guild_id = $1 AND type < 10")
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
        let mut tx = self.pool.begin().await?;
        let guild_id = guild_of_channel(&mut tx, id)
            .await?
            .ok_or(StoreError::Missing("channel"))?;
        lock_guild(&mut tx, guild_id).await?;
        // Read again under the lock: the row as every earlier write left it.
        let mut channel = sqlx::query(&format!(
            "SELECT {CHANNEL_COLS} FROM channels WHERE id = $1"
        ))
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
                "UPDATE channels SET name = $1, position = $2, parent_id = $3, topic = $4, nsfw = $5, rate_limit_per_user = $6,
                 bitrate = $7, user_limit = $8, rtc_region = $9, overwrites = $10 WHERE id = $11",
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
        let mut tx = self.pool.begin().await?;
        let Some(guild_id) = guild_of_channel(&mut tx, id).await? else {
            return Ok(());
        };
        lock_guild(&mut tx, guild_id).await?;
        sqlx::query(
            "DELETE FROM messages WHERE channel_id = $1
             OR channel_id IN (SELECT id FROM channels WHERE parent_id = $1 AND type > 10)",
        )
        .bind(db(id))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM read_states WHERE channel_id = $1
             OR channel_id IN (SELECT id FROM channels WHERE parent_id = $1 AND type > 10)",
        )
        .bind(db(id))
        .execute(&mut *tx)
        .await?;
        // A channel's threads go with it; children of a deleted category
        // move to the top level, as in Discord, and the guild forgets it as
        // its system or AFK channel.
        for sql in [
            "DELETE FROM channels WHERE parent_id = $1 AND type > 10",
            "UPDATE channels SET parent_id = NULL WHERE parent_id = $1",
            "UPDATE guilds SET system_channel_id = NULLIF(system_channel_id, $1),
                               afk_channel_id = NULLIF(afk_channel_id, $1)
             WHERE system_channel_id = $1 OR afk_channel_id = $1",
            "DELETE FROM channels WHERE id = $1",
        ] {
            sqlx::query(sql).bind(db(id)).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_role(&self, guild_id: Snowflake, role: &Role, max: usize) -> Result<RoleWrite> {
        let mut tx = self.pool.begin().await?;
        lock_guild(&mut tx, guild_id).await?;
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
        let mut tx = self.pool.begin().await?;
        lock_guild(&mut tx, guild_id).await?;
        let mut roles = guild_roles(&mut tx, guild_id).await?;
        let Some(role) = roles.iter_mut().find(|r| r.id == role_id) else {
            return Err(StoreError::Missing("role"));
        };
        edit.apply(role);
        sqlx::query(
            "UPDATE roles SET name = $1, color = $2, hoist = $3, permissions = $4, mentionable = $5 WHERE id = $6 AND guild_id = $7",
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
        let mut tx = self.pool.begin().await?;
        lock_guild(&mut tx, guild_id).await?;
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
        let mut tx = self.pool.begin().await?;
        lock_guild(&mut tx, guild_id).await?;
        let done = sqlx::query("DELETE FROM roles WHERE id = $1 AND guild_id = $2")
            .bind(db(role_id))
            .bind(db(guild_id))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            // Someone deleted it first: nothing to sweep, and only the
            // first delete answers 204.
            return Ok(false);
        }
        // Role lists are JSON arrays of id strings; `jsonb - text` drops
        // the matching elements.
        sqlx::query(
            "UPDATE members SET roles = (roles::jsonb - $1::text)::text
             WHERE guild_id = $2 AND roles::jsonb @> jsonb_build_array($1::text)",
        )
        .bind(role_id.to_string())
        .bind(db(guild_id))
        .execute(&mut *tx)
        .await?;
        let channels = sqlx::query("SELECT id, overwrites FROM channels WHERE guild_id = $1")
            .bind(db(guild_id))
            .fetch_all(&mut *tx)
            .await?;
        for row in channels {
            let mut overwrites: Vec<Overwrite> = rows::json(&row, "overwrites")?;
            let before = overwrites.len();
            overwrites.retain(|o| !(o.kind == 0 && o.id == role_id));
            if overwrites.len() != before {
                sqlx::query("UPDATE channels SET overwrites = $1 WHERE id = $2")
                    .bind(serde_json::to_string(&overwrites)?)
                    .bind(row.int("id"))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }
}
