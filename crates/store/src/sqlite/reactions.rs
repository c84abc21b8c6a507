//! Reactions, keyed like their messages (see `messages.rs`), so every query
//! stays on the primary key.

use async_trait::async_trait;
use hearth_model::{Snowflake, Timestamp, User};

use super::SqliteStore;
use crate::rows::{self, db, Cols, USER_COLS};
use crate::{
    bucket_of, Capacity, NewEmoji, Reacted, ReactionCount, ReactionKey, ReactionStore, Result,
    StoreError,
};

/// `?, ?, ...` for `n` values.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

#[async_trait]
impl ReactionStore for SqliteStore {
    async fn add_reaction(
        &self,
        key: ReactionKey<'_>,
        user_id: Snowflake,
        at: Timestamp,
        new_emoji: NewEmoji,
    ) -> Result<Reacted> {
        let bucket = bucket_of(key.message_id);
        let mut tx = self.writer.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM messages WHERE channel_id = ? AND bucket = ? AND id = ?",
        )
        .bind(db(key.channel_id))
        .bind(bucket)
        .bind(db(key.message_id))
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_none() {
            return Err(StoreError::Missing("message"));
        }
        let emojis: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT emoji FROM reactions WHERE channel_id = ? AND bucket = ? AND message_id = ?",
        )
        .bind(db(key.channel_id))
        .bind(bucket)
        .bind(db(key.message_id))
        .fetch_all(&mut *tx)
        .await?;
        if !emojis.iter().any(|e| e == key.emoji) {
            match new_emoji {
                NewEmoji::Forbidden => return Ok(Reacted::NewEmojiForbidden),
                NewEmoji::Allowed { max } if emojis.len() >= max => {
                    return Err(StoreError::Full(Capacity::Reactions))
                }
                NewEmoji::Allowed { .. } => {}
            }
        }
        let done = sqlx::query(
            "INSERT INTO reactions (channel_id, bucket, message_id, emoji, user_id, reacted_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(db(key.channel_id))
        .bind(bucket)
        .bind(db(key.message_id))
        .bind(key.emoji)
        .bind(db(user_id))
        .bind(at.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(if done.rows_affected() == 1 {
            Reacted::Added
        } else {
            Reacted::AlreadyThere
        })
    }

    async fn remove_reaction(&self, key: ReactionKey<'_>, user_id: Snowflake) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM reactions WHERE channel_id = ? AND bucket = ? AND message_id = ? AND emoji = ? AND user_id = ?",
        )
        .bind(db(key.channel_id))
        .bind(bucket_of(key.message_id))
        .bind(db(key.message_id))
        .bind(key.emoji)
        .bind(db(user_id))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_emoji_reactions(&self, key: ReactionKey<'_>) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM reactions WHERE channel_id = ? AND bucket = ? AND message_id = ? AND emoji = ?",
        )
        .bind(db(key.channel_id))
        .bind(bucket_of(key.message_id))
        .bind(db(key.message_id))
        .bind(key.emoji)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    async fn remove_all_reactions(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
    ) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM reactions WHERE channel_id = ? AND bucket = ? AND message_id = ?",
        )
        .bind(db(channel_id))
        .bind(bucket_of(message_id))
        .bind(db(message_id))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    async fn reactors(
        &self,
        key: ReactionKey<'_>,
        after: Snowflake,
        limit: u32,
    ) -> Result<Vec<User>> {
        let sql = format!(
            "SELECT {USER_COLS} FROM reactions r JOIN users u ON u.id = r.user_id
             WHERE r.channel_id = ? AND r.bucket = ? AND r.message_id = ? AND r.emoji = ? AND r.user_id > ?
             ORDER BY r.user_id LIMIT ?"
        );
        let found = sqlx::query(&sql)
            .bind(db(key.channel_id))
            .bind(bucket_of(key.message_id))
            .bind(db(key.message_id))
            .bind(key.emoji)
            .bind(db(after))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
        Ok(found.iter().map(rows::user).collect())
    }

    async fn reaction_counts(
        &self,
        channel_id: Snowflake,
        message_ids: &[Snowflake],
        reader: Snowflake,
    ) -> Result<Vec<ReactionCount>> {
        if message_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut buckets: Vec<i64> = message_ids.iter().map(|m| bucket_of(*m)).collect();
        buckets.sort_unstable();
        buckets.dedup();
        let sql = format!(
            "SELECT message_id, emoji, COUNT(*) AS n, MAX(user_id = ?) AS me, MIN(reacted_at) AS first
             FROM reactions WHERE channel_id = ? AND bucket IN ({}) AND message_id IN ({})
             GROUP BY message_id, emoji ORDER BY message_id, first, emoji",
            placeholders(buckets.len()),
            placeholders(message_ids.len()),
        );
        let mut q = sqlx::query(&sql).bind(db(reader)).bind(db(channel_id));
        for b in buckets {
            q = q.bind(b);
        }
        for m in message_ids {
            q = q.bind(db(*m));
        }
        let found = q.fetch_all(&self.reader).await?;
        Ok(found
            .iter()
            .map(|row| ReactionCount {
                message_id: rows::id(row, "message_id"),
                emoji: row.text("emoji"),
                count: row.int("n") as u32,
                me: row.flag("me"),
            })
            .collect())
    }
}
