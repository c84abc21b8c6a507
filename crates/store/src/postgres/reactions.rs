//! Reactions, with the same queries as the SQLite backend. Adding one
//! takes an advisory lock on the message, so the check of its emoji count
//! and the insert are one step under concurrency (see the module header).

use async_trait::async_trait;
use hearth_model::{Snowflake, Timestamp, User};

use super::PgStore;
use crate::rows::{self, db, Cols, USER_COLS};
use crate::{
    bucket_of, Capacity, NewEmoji, Reacted, ReactionCount, ReactionKey, ReactionStore, Result,
    StoreError,
};

#[async_trait]
impl ReactionStore for PgStore {
    async fn add_reaction(
        &self,
        key: ReactionKey<'_>,
        user_id: Snowflake,
        at: Timestamp,
        new_emoji: NewEmoji,
    ) -> Result<Reacted> {
        let bucket = bucket_of(key.message_id);
        let mut tx = self.pool.begin().await?;
        super::lock_message(&mut tx, key.message_id).await?;
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM messages WHERE channel_id = $1 AND bucket = $2 AND id = $3",
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
            "SELECT DISTINCT emoji FROM reactions WHERE channel_id = $1 AND bucket = $2 AND message_id = $3",
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
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
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
            "DELETE FROM reactions WHERE channel_id = $1 AND bucket = $2 AND message_id = $3 AND emoji = $4 AND user_id = $5",
        )
        .bind(db(key.channel_id))
        .bind(bucket_of(key.message_id))
        .bind(db(key.message_id))
        .bind(key.emoji)
        .bind(db(user_id))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_emoji_reactions(&self, key: ReactionKey<'_>) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM reactions WHERE channel_id = $1 AND bucket = $2 AND message_id = $3 AND emoji = $4",
        )
        .bind(db(key.channel_id))
        .bind(bucket_of(key.message_id))
        .bind(db(key.message_id))
        .bind(key.emoji)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn remove_all_reactions(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
    ) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM reactions WHERE channel_id = $1 AND bucket = $2 AND message_id = $3",
        )
        .bind(db(channel_id))
        .bind(bucket_of(message_id))
        .bind(db(message_id))
        .execute(&self.pool)
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
             WHERE r.channel_id = $1 AND r.bucket = $2 AND r.message_id = $3 AND r.emoji = $4 AND r.user_id > $5
             ORDER BY r.user_id LIMIT $6"
        );
        let found = sqlx::query(&sql)
            .bind(db(key.channel_id))
            .bind(bucket_of(key.message_id))
            .bind(db(key.message_id))
            .bind(key.emoji)
            .bind(db(after))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
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
        let ids: Vec<i64> = message_ids.iter().map(|m| db(*m)).collect();
        let found = sqlx::query(
            "SELECT message_id, emoji, COUNT(*) AS n, BOOL_OR(user_id = $1) AS me, MIN(reacted_at) AS first
             FROM reactions WHERE channel_id = $2 AND bucket = ANY($3) AND message_id = ANY($4)
             GROUP BY message_id, emoji ORDER BY message_id, first, emoji",
        )
        .bind(db(reader))
        .bind(db(channel_id))
        .bind(buckets)
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
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
