//! Direct and group messages' channels and their recipients, with the
//! same queries as the SQLite backend. Writes that check a count first
//! (recipients of a group, the one DM of a pair) lock the channel or rely
//! on the pair's unique index.

use async_trait::async_trait;
use hearth_model::{DmPrivacy, PrivateChannel, PrivateChannelType, Snowflake, Timestamp};
use sqlx::postgres::PgRow;
use sqlx::{Executor, Postgres};

use super::PgStore;
use crate::rows::{self, db, Cols, USER_COLS};
use crate::{Capacity, PrivateChannelStore, Result, StoreError};

const CHANNEL_COLS: &str = "id, type, name, icon, owner_id, last_message_id";

fn channel_row(row: &PgRow) -> Result<PrivateChannel> {
    let kind = u8::try_from(row.int("type"))
        .ok()
        .and_then(|t| PrivateChannelType::try_from(t).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("private channel type {}", row.int("type"))))?;
    Ok(PrivateChannel {
        id: rows::sf(row.int("id")),
        kind,
        last_message_id: row.opt_int("last_message_id").map(rows::sf),
        recipients: Vec::new(),
        name: row.opt_text("name"),
        icon: row.opt_text("icon"),
        owner_id: row.opt_int("owner_id").map(rows::sf),
        flags: 0,
    })
}

/// Fills the channels' recipients, by user id.
async fn fill_recipients<'e, E: Executor<'e, Database = Postgres>>(
    exec: E,
    channels: &mut [PrivateChannel],
) -> Result<()> {
    if channels.is_empty() {
        return Ok(());
    }
    let ids = (1..=channels.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT r.channel_id AS r_channel_id, {USER_COLS} FROM private_recipients r
         JOIN users u ON u.id = r.user_id WHERE r.channel_id IN ({ids}) ORDER BY u.id"
    );
    let mut q = sqlx::query(&sql);
    for c in channels.iter() {
        q = q.bind(db(c.id));
    }
    for row in q.fetch_all(exec).await? {
        let channel = rows::sf(row.int("r_channel_id"));
        if let Some(c) = channels.iter_mut().find(|c| c.id == channel) {
            c.recipients.push(rows::user(&row));
        }
    }
    Ok(())
}

impl PgStore {
    async fn private_in<'e, E>(&self, exec: E, id: Snowflake) -> Result<Option<PrivateChannel>>
    where
        E: Executor<'e, Database = Postgres> + Copy,
    {
        let sql = format!("SELECT {CHANNEL_COLS} FROM private_channels WHERE id = $1");
        let Some(row) = sqlx::query(&sql).bind(db(id)).fetch_optional(exec).await? else {
            return Ok(None);
        };
        let mut one = [channel_row(&row)?];
        fill_recipients(exec, &mut one).await?;
        let [c] = one;
        Ok(Some(c))
    }
}

#[async_trait]
impl PrivateChannelStore for PgStore {
    async fn open_dm(
        &self,
        new_id: Snowflake,
        a: Snowflake,
        b: Snowflake,
    ) -> Result<(PrivateChannel, bool)> {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let mut tx = self.pool.begin().await?;
        // Two opens of one pair at once: the second waits on the unique
        // index and then finds the first's channel.
        let made = sqlx::query(
            "INSERT INTO private_channels (id, type, dm_low, dm_high) VALUES ($1, 1, $2, $3)
             ON CONFLICT (dm_low, dm_high) WHERE dm_low IS NOT NULL DO NOTHING",
        )
        .bind(db(new_id))
        .bind(db(low))
        .bind(db(high))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let id: i64 = sqlx::query_scalar(
            "SELECT id FROM private_channels WHERE dm_low = $1 AND dm_high = $2",
        )
        .bind(db(low))
        .bind(db(high))
        .fetch_one(&mut *tx)
        .await?;
        if made {
            // The other side sees it once a message arrives.
            for (user, open) in [(a, true), (b, a == b)] {
                sqlx::query(
                    "INSERT INTO private_recipients (channel_id, user_id, open) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(db(user))
                .bind(open)
                .execute(&mut *tx)
                .await?;
            }
        } else {
            sqlx::query(
                "UPDATE private_recipients SET open = TRUE WHERE channel_id = $1 AND user_id = $2",
            )
            .bind(id)
            .bind(db(a))
            .execute(&mut *tx)
            .await?;
        }
        let id = rows::sf(id);
        tx.commit().await?;
        let channel = self
            .private_in(&self.pool, id)
            .await?
            .ok_or(StoreError::Missing("channel"))?;
        Ok((channel, made))
    }

    async fn create_group_dm(&self, c: &PrivateChannel) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO private_channels (id, type, name, icon, owner_id) VALUES ($1, 3, $2, $3, $4)",
        )
        .bind(db(c.id))
        .bind(&c.name)
        .bind(&c.icon)
        .bind(c.owner_id.map(db))
        .execute(&mut *tx)
        .await?;
        for u in &c.recipients {
            sqlx::query(
                "INSERT INTO private_recipients (channel_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(db(c.id))
            .bind(db(u.id))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn private_channel(&self, id: Snowflake) -> Result<Option<PrivateChannel>> {
        self.private_in(&self.pool, id).await
    }

    async fn private_channels_of(&self, user: Snowflake) -> Result<Vec<PrivateChannel>> {
        let sql = format!(
            "SELECT {CHANNEL_COLS} FROM private_channels WHERE id IN
             (SELECT channel_id FROM private_recipients WHERE user_id = $1 AND open)
             ORDER BY COALESCE(last_message_id, id) DESC"
        );
        let found = sqlx::query(&sql)
            .bind(db(user))
            .fetch_all(&self.pool)
            .await?;
        let mut channels = found.iter().map(channel_row).collect::<Result<Vec<_>>>()?;
        fill_recipients(&self.pool, &mut channels).await?;
        Ok(channels)
    }

    async fn add_recipient(
        &self,
        channel_id: Snowflake,
        user_id: Snowflake,
        max: usize,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        super::lock_channel(&mut tx, channel_id).await?;
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM private_recipients WHERE channel_id = $1")
                .bind(db(channel_id))
                .fetch_one(&mut *tx)
                .await?;
        let there: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM private_recipients WHERE channel_id = $1 AND user_id = $2",
        )
        .bind(db(channel_id))
        .bind(db(user_id))
        .fetch_optional(&mut *tx)
        .await?;
        if there.is_some() {
            return Ok(false);
        }
        if count as usize >= max {
            return Err(StoreError::Full(Capacity::Recipients));
        }
        sqlx::query("INSERT INTO private_recipients (channel_id, user_id) VALUES ($1, $2)")
            .bind(db(channel_id))
            .bind(db(user_id))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn remove_recipient(
        &self,
        channel_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<Option<PrivateChannel>> {
        let mut tx = self.pool.begin().await?;
        super::lock_channel(&mut tx, channel_id).await?;
        let gone =
            sqlx::query("DELETE FROM private_recipients WHERE channel_id = $1 AND user_id = $2")
                .bind(db(channel_id))
                .bind(db(user_id))
                .execute(&mut *tx)
                .await?;
        if gone.rows_affected() == 0 {
            return Err(StoreError::Missing("recipient"));
        }
        // Whoever leaves keeps no read state of the conversation.
        sqlx::query("DELETE FROM read_states WHERE channel_id = $1 AND user_id = $2")
            .bind(db(channel_id))
            .bind(db(user_id))
            .execute(&mut *tx)
            .await?;
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM private_recipients WHERE channel_id = $1 ORDER BY user_id LIMIT 1",
        )
        .bind(db(channel_id))
        .fetch_optional(&mut *tx)
        .await?;
        match next {
            None => {
                sqlx::query("DELETE FROM private_channels WHERE id = $1")
                    .bind(db(channel_id))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM messages WHERE channel_id = $1")
                    .bind(db(channel_id))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM read_states WHERE channel_id = $1")
                    .bind(db(channel_id))
                    .execute(&mut *tx)
                    .await?;
            }
            Some(next) => {
                sqlx::query(
                    "UPDATE private_channels SET owner_id = $1 WHERE id = $2 AND owner_id = $3",
                )
                .bind(next)
                .bind(db(channel_id))
                .bind(db(user_id))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.private_in(&self.pool, channel_id).await
    }

    async fn close_dm(&self, channel_id: Snowflake, user_id: Snowflake) -> Result<()> {
        sqlx::query(
            "UPDATE private_recipients SET open = FALSE WHERE channel_id = $1 AND user_id = $2",
        )
        .bind(db(channel_id))
        .bind(db(user_id))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn rename_group_dm(&self, channel_id: Snowflake, name: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE private_channels SET name = $1 WHERE id = $2 AND type = 3")
            .bind(name)
            .bind(db(channel_id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn share_a_guild(&self, a: Snowflake, b: Snowflake) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT m1.guild_id FROM members m1 JOIN members m2 ON m2.guild_id = m1.guild_id
             WHERE m1.user_id = $1 AND m2.user_id = $2 AND NOT m2.dms_restricted LIMIT 1",
        )
        .bind(db(a))
        .bind(db(b))
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn block(
        &self,
        user: Snowflake,
        target: Snowflake,
        since: Timestamp,
        max: usize,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        // One user's blocks are counted and written one at a time.
        super::lock_user(&mut tx, user).await?;
        let there: Option<i64> =
            sqlx::query_scalar("SELECT since FROM blocks WHERE user_id = $1 AND blocked_id = $2")
                .bind(db(user))
                .bind(db(target))
                .fetch_optional(&mut *tx)
                .await?;
        if there.is_some() {
            return Ok(false);
        }
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blocks WHERE user_id = $1")
            .bind(db(user))
            .fetch_one(&mut *tx)
            .await?;
        if count as usize >= max {
            return Err(StoreError::Full(Capacity::Blocks));
        }
        sqlx::query("INSERT INTO blocks (user_id, blocked_id, since) VALUES ($1, $2, $3)")
            .bind(db(user))
            .bind(db(target))
            .bind(since.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn unblock(&self, user: Snowflake, target: Snowflake) -> Result<bool> {
        let done = sqlx::query("DELETE FROM blocks WHERE user_id = $1 AND blocked_id = $2")
            .bind(db(user))
            .bind(db(target))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn blocked_by(&self, user: Snowflake) -> Result<Vec<(Snowflake, Timestamp)>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT blocked_id, since FROM blocks WHERE user_id = $1 ORDER BY since, blocked_id",
        )
        .bind(db(user))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, since)| (rows::sf(id), Timestamp(since)))
            .collect())
    }

    async fn blocked_between(&self, a: Snowflake, b: Snowflake) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM blocks WHERE (user_id = $1 AND blocked_id = $2) OR (user_id = $3 AND blocked_id = $4) LIMIT 1",
        )
        .bind(db(a))
        .bind(db(b))
        .bind(db(b))
        .bind(db(a))
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn dm_privacy(&self, user: Snowflake) -> Result<DmPrivacy> {
        let mut conn = self.pool.acquire().await?;
        read_dm_privacy(&mut conn, user).await
    }

    async fn set_dm_privacy(
        &self,
        user: Snowflake,
        restricted: Option<&[Snowflake]>,
        default_restricted: Option<bool>,
    ) -> Result<DmPrivacy> {
        let mut tx = self.pool.begin().await?;
        if let Some(guilds) = restricted {
            let ids: Vec<i64> = guilds.iter().map(|g| db(*g)).collect();
            sqlx::query(
                "UPDATE members SET dms_restricted = (guild_id = ANY($1)) WHERE user_id = $2",
            )
            .bind(ids)
            .bind(db(user))
            .execute(&mut *tx)
            .await?;
        }
        if let Some(default) = default_restricted {
            sqlx::query("UPDATE users SET default_guilds_restricted = $1 WHERE id = $2")
                .bind(default)
                .bind(db(user))
                .execute(&mut *tx)
                .await?;
        }
        let now = read_dm_privacy(&mut tx, user).await?;
        tx.commit().await?;
        Ok(now)
    }
}

async fn read_dm_privacy(conn: &mut sqlx::PgConnection, user: Snowflake) -> Result<DmPrivacy> {
    let restricted: Vec<i64> = sqlx::query_scalar(
        "SELECT guild_id FROM members WHERE user_id = $1 AND dms_restricted ORDER BY guild_id",
    )
    .bind(db(user))
    .fetch_all(&mut *conn)
    .await?;
    let default: Option<bool> =
        sqlx::query_scalar("SELECT default_guilds_restricted FROM users WHERE id = $1")
            .bind(db(user))
            .fetch_optional(&mut *conn)
            .await?;
    Ok(DmPrivacy {
        restricted_guilds: restricted.into_iter().map(rows::sf).collect(),
        default_guilds_restricted: default.unwrap_or(false),
    })
}
