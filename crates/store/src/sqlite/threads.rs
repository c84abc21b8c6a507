//! Threads: rows of `channels` with their own columns, and
//! `thread_members`. SQLite has one writer, so a count and the write that
//! depends on it (the active-thread and member limits) cannot interleave.

use async_trait::async_trait;
use hearth_model::{Channel, ChannelType, Message, Snowflake, ThreadMember, Timestamp};
use sqlx::{Sqlite, Transaction};

use super::SqliteStore;
use crate::edits::{Edited, ThreadEdit};
use crate::rows::{self, db, CHANNEL_COLS};
use crate::{
    bucket_of, ArchivedThreads, Capacity, MessageStore, Result, StoreError, ThreadEntry,
    ThreadStore,
};

/// HAS_THREAD: the message started a thread.
const HAS_THREAD: i64 = 1 << 5;

async fn active_count(tx: &mut Transaction<'_, Sqlite>, guild_id: Snowflake) -> Result<usize> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM channels WHERE guild_id = ? AND archived = 0 AND type > 10",
    )
    .bind(db(guild_id))
    .fetch_one(&mut **tx)
    .await?;
    Ok(n as usize)
}

fn member_of(row: &sqlx::sqlite::SqliteRow) -> ThreadMember {
    rows::thread_member(row)
}

#[async_trait]
impl ThreadStore for SqliteStore {
    async fn create_thread(
        &self,
        thread: &Channel,
        starter: Option<Snowflake>,
        max_active: usize,
    ) -> Result<Option<Message>> {
        let fields = thread
            .thread
            .as_ref()
            .ok_or(StoreError::Missing("thread"))?;
        let parent = thread.parent_id.ok_or(StoreError::Missing("channel"))?;
        let mut tx = self.writer.begin().await?;
        let parent_ok: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM channels WHERE id = ? AND guild_id = ? AND type = ?")
                .bind(db(parent))
                .bind(db(thread.guild_id))
                .bind(u8::from(ChannelType::Text) as i64)
                .fetch_optional(&mut *tx)
                .await?;
        if parent_ok.is_none() {
            return Err(StoreError::Missing("channel"));
        }
        if active_count(&mut tx, thread.guild_id).await? >= max_active {
            return Err(StoreError::Full(Capacity::ActiveThreads));
        }
        if let Some(message) = starter {
            let marked = sqlx::query(
                "UPDATE messages SET flags = flags | ?1
                 WHERE channel_id = ?2 AND bucket = ?3 AND id = ?4 AND flags & ?1 = 0",
            )
            .bind(HAS_THREAD)
            .bind(db(parent))
            .bind(bucket_of(message))
            .bind(db(message))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if marked == 0 {
                let exists: Option<i64> = sqlx::query_scalar(
                    "SELECT 1 FROM messages WHERE channel_id = ? AND bucket = ? AND id = ?",
                )
                .bind(db(parent))
                .bind(bucket_of(message))
                .bind(db(message))
                .fetch_optional(&mut *tx)
                .await?;
                return Err(match exists {
                    Some(_) => StoreError::Conflict("thread"),
                    None => StoreError::Missing("message"),
                });
            }
        }
        let meta = &fields.thread_metadata;
        sqlx::query(&format!(
            "INSERT INTO channels ({CHANNEL_COLS}, last_active)
             VALUES (?, ?, ?, ?, 0, ?, NULL, 0, ?, NULL, NULL, NULL, '[]', NULL,
                     ?, ?, ?, ?, ?, ?, ?, 0, 1, 0, ?)"
        ))
        .bind(db(thread.id))
        .bind(db(thread.guild_id))
        .bind(u8::from(thread.kind) as i64)
        .bind(&thread.name)
        .bind(db(parent))
        .bind(thread.rate_limit_per_user.map(i64::from))
        .bind(db(fields.owner_id))
        .bind(meta.archived)
        .bind(meta.locked)
        .bind(meta.invitable.unwrap_or(true))
        .bind(i64::from(meta.auto_archive_duration))
        .bind(meta.archive_timestamp.0)
        .bind(meta.create_timestamp.0)
        .bind(meta.create_timestamp.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO thread_members (thread_id, user_id, joined_at) VALUES (?, ?, ?)")
            .bind(db(thread.id))
            .bind(db(fields.owner_id))
            .bind(meta.create_timestamp.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        match starter {
            Some(message) => self.message(parent, message).await,
            None => Ok(None),
        }
    }

    async fn edit_thread(
        &self,
        id: Snowflake,
        edit: &ThreadEdit,
        now: Timestamp,
        max_active: usize,
    ) -> Result<Edited<Channel>> {
        let mut tx = self.writer.begin().await?;
        let mut thread = sqlx::query(&format!(
            "SELECT {CHANNEL_COLS} FROM channels WHERE id = ? AND type > 10"
        ))
        .bind(db(id))
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(rows::channel)
        .transpose()?
        .ok_or(StoreError::Missing("channel"))?;
        let before = thread.clone();
        edit.apply(&mut thread, now);
        let archived = |c: &Channel| {
            c.thread
                .as_ref()
                .is_some_and(|t| t.thread_metadata.archived)
        };
        let unarchived = archived(&before) && !archived(&thread);
        if unarchived && active_count(&mut tx, thread.guild_id).await? >= max_active {
            return Err(StoreError::Full(Capacity::ActiveThreads));
        }
        let changed = thread != before;
        if let (true, Some(fields)) = (changed, thread.thread.as_ref()) {
            let meta = &fields.thread_metadata;
            sqlx::query(
                "UPDATE channels SET name = ?, rate_limit_per_user = ?, archived = ?, locked = ?,
                 invitable = ?, auto_archive_duration = ?, archive_timestamp = ?,
                 last_active = CASE WHEN ? THEN ? ELSE last_active END
                 WHERE id = ?",
            )
            .bind(&thread.name)
            .bind(thread.rate_limit_per_user.map(i64::from))
            .bind(meta.archived)
            .bind(meta.locked)
            .bind(meta.invitable.unwrap_or(true))
            .bind(i64::from(meta.auto_archive_duration))
            .bind(meta.archive_timestamp.0)
            .bind(unarchived)
            .bind(now.0)
            .bind(db(id))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Edited {
            now: thread,
            changed,
        })
    }

    async fn active_threads(&self, guild_id: Snowflake) -> Result<Vec<Channel>> {
        sqlx::query(&format!(
            "SELECT {CHANNEL_COLS} FROM channels
             WHERE guild_id = ? AND archived = 0 AND type > 10 ORDER BY id"
        ))
        .bind(db(guild_id))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(rows::channel)
        .collect()
    }

    async fn archived_threads(
        &self,
        parent_id: Snowflake,
        which: &ArchivedThreads,
    ) -> Result<Vec<Channel>> {
        let kind = if which.private {
            ChannelType::PrivateThread
        } else {
            ChannelType::PublicThread
        };
        sqlx::query(&format!(
            "SELECT {CHANNEL_COLS} FROM channels
             WHERE parent_id = ?1 AND type = ?2 AND archived = 1
               AND (?3 IS NULL OR archive_timestamp < ?3)
               AND (?4 IS NULL OR id IN (SELECT thread_id FROM thread_members WHERE user_id = ?4))
             ORDER BY archive_timestamp DESC, id DESC LIMIT ?5"
        ))
        .bind(db(parent_id))
        .bind(u8::from(kind) as i64)
        .bind(which.before.map(|t| t.0))
        .bind(which.joined_by.map(db))
        .bind(which.limit as i64)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(rows::channel)
        .collect()
    }

    async fn join_thread(
        &self,
        thread_id: Snowflake,
        user_id: Snowflake,
        at: Timestamp,
        max_members: usize,
    ) -> Result<Option<u32>> {
        let mut tx = self.writer.begin().await?;
        let count: Option<i64> =
            sqlx::query_scalar("SELECT member_count FROM channels WHERE id = ? AND type > 10")
                .bind(db(thread_id))
                .fetch_optional(&mut *tx)
                .await?;
        let count = count.ok_or(StoreError::Missing("channel"))?;
        let inserted = sqlx::query(
            "INSERT INTO thread_members (thread_id, user_id, joined_at) VALUES (?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(db(thread_id))
        .bind(db(user_id))
        .bind(at.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(None);
        }
        if count as usize >= max_members {
            return Err(StoreError::Full(Capacity::ThreadMembers));
        }
        let now: i64 = sqlx::query_scalar(
            "UPDATE channels SET member_count = member_count + 1 WHERE id = ? RETURNING member_count",
        )
        .bind(db(thread_id))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(now as u32))
    }

    async fn leave_thread(&self, thread_id: Snowflake, user_id: Snowflake) -> Result<Option<u32>> {
        let mut tx = self.writer.begin().await?;
        let gone = sqlx::query("DELETE FROM thread_members WHERE thread_id = ? AND user_id = ?")
            .bind(db(thread_id))
            .bind(db(user_id))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 0 {
            return Ok(None);
        }
        let now: i64 = sqlx::query_scalar(
            "UPDATE channels SET member_count = member_count - 1 WHERE id = ? RETURNING member_count",
        )
        .bind(db(thread_id))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(now as u32))
    }

    async fn thread_member(
        &self,
        thread_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<Option<ThreadMember>> {
        Ok(
            sqlx::query("SELECT * FROM thread_members WHERE thread_id = ? AND user_id = ?")
                .bind(db(thread_id))
                .bind(db(user_id))
                .fetch_optional(&self.reader)
                .await?
                .as_ref()
                .map(member_of),
        )
    }

    async fn thread_members(
        &self,
        thread_id: Snowflake,
        after: Snowflake,
        limit: usize,
    ) -> Result<Vec<ThreadMember>> {
        Ok(sqlx::query(
            "SELECT * FROM thread_members WHERE thread_id = ? AND user_id > ?
             ORDER BY user_id LIMIT ?",
        )
        .bind(db(thread_id))
        .bind(db(after))
        .bind(limit as i64)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(member_of)
        .collect())
    }

    async fn thread_memberships(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<Vec<ThreadMember>> {
        Ok(sqlx::query(
            "SELECT m.* FROM thread_members m JOIN channels c ON c.id = m.thread_id
             WHERE m.user_id = ? AND c.guild_id = ? AND c.archived = 0",
        )
        .bind(db(user_id))
        .bind(db(guild_id))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(member_of)
        .collect())
    }

    async fn private_thread_members(&self, guild_id: Snowflake) -> Result<Vec<ThreadMember>> {
        Ok(sqlx::query(
            "SELECT m.* FROM thread_members m JOIN channels c ON c.id = m.thread_id
             WHERE c.guild_id = ? AND c.archived = 0 AND c.type = 12",
        )
        .bind(db(guild_id))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(member_of)
        .collect())
    }

    async fn thread_index(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<Vec<ThreadEntry>> {
        let rows: Vec<(i64, Option<i64>, i64, bool)> = sqlx::query_as(
            "SELECT c.id, c.parent_id, c.type, m.user_id IS NOT NULL
             FROM channels c
             LEFT JOIN thread_members m ON m.thread_id = c.id AND m.user_id = ?2
             WHERE c.guild_id = ?1 AND c.type > 10",
        )
        .bind(db(guild_id))
        .bind(db(user_id))
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, parent, kind, joined)| ThreadEntry {
                id: rows::sf(id),
                parent_id: parent.map(rows::sf).unwrap_or_default(),
                private: kind == i64::from(u8::from(ChannelType::PrivateThread)),
                joined,
            })
            .collect())
    }

    async fn archive_idle_threads(&self, now: Timestamp) -> Result<Vec<Channel>> {
        sqlx::query(&format!(
            "UPDATE channels SET archived = 1, archive_timestamp = ?1
             WHERE type > 10 AND archived = 0 AND last_active + auto_archive_duration * 60000 <= ?1
             RETURNING {CHANNEL_COLS}"
        ))
        .bind(now.0)
        .fetch_all(&self.writer)
        .await?
        .iter()
        .map(rows::channel)
        .collect()
    }
}
