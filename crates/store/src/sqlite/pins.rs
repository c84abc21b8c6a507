//! Pins: a row per pinned message beside the message's own `pinned` flag,
//! both written in one transaction.

use async_trait::async_trait;
use hearth_model::{Snowflake, Timestamp};

use super::SqliteStore;
use crate::rows::{self, db, Cols, USER_COLS};
use crate::{bucket_of, Capacity, PinStore, PinnedMessage, Result, StoreError};

#[async_trait]
impl PinStore for SqliteStore {
    async fn pin_message(
        &self,
        channel_id: Snowflake,
        message_id: Snowflake,
        at: Timestamp,
        max: usize,
    ) -> Result<Option<Timestamp>> {
        let bucket = bucket_of(message_id);
        let mut tx = self.writer.begin().await?;
        let pinned: Option<bool> = sqlx::query_scalar(
            "SELECT pinned FROM messages WHERE channel_id = ? AND bucket = ? AND id = ?",
        )
        .bind(db(channel_id))
        .bind(bucket)
        .bind(db(message_id))
        .fetch_optional(&mut *tx)
        .await?;
        match pinned {
            None => return Err(StoreError::Missing("message")),
            Some(true) => return Ok(None),
            Some(false) => {}
        }
        let (count, newest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MAX(pinned_at) FROM pins WHERE channel_id = ?")
                .bind(db(channel_id))
                .fetch_one(&mut *tx)
                .await?;
        if count as usize >= max {
            return Err(StoreError::Full(Capacity::Pins));
        }
        // Pin times are distinct within a channel, so paging by them
        // (`before`) neither skips nor repeats a pin.
        let at = Timestamp(newest.map_or(at.0, |n| at.0.max(n + 1)));
        sqlx::query(
            "INSERT INTO pins (channel_id, message_id, bucket, pinned_at) VALUES (?, ?, ?, ?)",
        )
        .bind(db(channel_id))
        .bind(db(message_id))
        .bind(bucket)
        .bind(at.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE messages SET pinned = 1 WHERE channel_id = ? AND bucket = ? AND id = ?",
        )
        .bind(db(channel_id))
        .bind(bucket)
        .bind(db(message_id))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(at))
    }

    async fn unpin_message(&self, channel_id: Snowflake, message_id: Snowflake) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("DELETE FROM pins WHERE channel_id = ? AND message_id = ?")
            .bind(db(channel_id))
            .bind(db(message_id))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE messages SET pinned = 0 WHERE channel_id = ? AND bucket = ? AND id = ?",
        )
        .bind(db(channel_id))
        .bind(bucket_of(message_id))
        .bind(db(message_id))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn pins(
        &self,
        channel_id: Snowflake,
        before: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<PinnedMessage>> {
        let sql = format!(
            "SELECT m.*, {USER_COLS}, p.pinned_at AS pin_pinned_at FROM pins p
             JOIN messages m ON m.channel_id = p.channel_id AND m.bucket = p.bucket AND m.id = p.message_id
             LEFT JOIN users u ON u.id = m.author_id
             WHERE p.channel_id = ? AND p.pinned_at < ?
             ORDER BY p.pinned_at DESC, p.message_id DESC LIMIT ?"
        );
        let found = sqlx::query(&sql)
            .bind(db(channel_id))
            .bind(before.map_or(i64::MAX, |t| t.0))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
        let mut messages = found
            .iter()
            .map(rows::message)
            .collect::<Result<Vec<_>>>()?;
        self.resolve_references(&mut messages).await?;
        Ok(found
            .iter()
            .zip(messages)
            .map(|(row, message)| PinnedMessage {
                pinned_at: Timestamp(row.int("pin_pinned_at")),
                message,
            })
            .collect())
    }

    async fn last_pin_at(&self, channel_id: Snowflake) -> Result<Option<Timestamp>> {
        let at: Option<i64> =
            sqlx::query_scalar("SELECT MAX(pinned_at) FROM pins WHERE channel_id = ?")
                .bind(db(channel_id))
                .fetch_one(&self.reader)
                .await?;
        Ok(at.map(Timestamp))
    }
}
