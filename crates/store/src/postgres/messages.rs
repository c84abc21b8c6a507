//! Messages, read and written by partition `(channel_id, bucket)`, with the
//! same queries as the SQLite backend (see its module header).

use async_trait::async_trait;
use hearth_model::{Message, Snowflake};
use sqlx::postgres::PgRow;

use super::PgStore;
use crate::rows::{self, db, USER_COLS};
use crate::{bucket_of, MessageStore, Page, Result};

/// `filter` uses `$2` (bucket) and `$3` (id) when there is a pivot; the
/// limit is the last parameter.
fn select(filter: &str, order: &str, limit_param: &str) -> String {
    format!(
        "SELECT m.*, {USER_COLS} FROM messages m LEFT JOIN users u ON u.id = m.author_id
         WHERE m.channel_id = $1 {filter} ORDER BY m.bucket {order}, m.id {order} LIMIT {limit_param}"
    )
}

impl PgStore {
    async fn fetch(
        &self,
        channel_id: Snowflake,
        filter: &str,
        order: &str,
        pivot: Option<Snowflake>,
        limit: u32,
    ) -> Result<Vec<PgRow>> {
        let sql = select(filter, order, if pivot.is_some() { "$4" } else { "$2" });
        let mut q = sqlx::query(&sql).bind(db(channel_id));
        if let Some(p) = pivot {
            q = q.bind(bucket_of(p)).bind(db(p));
        }
        Ok(q.bind(i64::from(limit)).fetch_all(&self.pool).await?)
    }

    async fn one(&self, channel_id: Snowflake, id: Snowflake) -> Result<Option<Message>> {
        let sql = format!(
            "SELECT m.*, {USER_COLS} FROM messages m LEFT JOIN users u ON u.id = m.author_id
             WHERE m.channel_id = $1 AND m.bucket = $2 AND m.id = $3"
        );
        sqlx::query(&sql)
            .bind(db(channel_id))
            .bind(bucket_of(id))
            .bind(db(id))
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::message)
            .transpose()
    }

    /// Fills `referenced_message` of replies (null when the original is gone).
    pub(super) async fn resolve_references(&self, messages: &mut [Message]) -> Result<()> {
        for m in messages.iter_mut() {
            let Some(reference) = &m.message_reference else {
                continue;
            };
            let (Some(ref_id), ch) = (
                reference.message_id,
                reference.channel_id.unwrap_or(m.channel_id),
            ) else {
                continue;
            };
            let original = self.one(ch, ref_id).await?;
            m.referenced_message = Some(original.map(Box::new));
        }
        Ok(())
    }
}

#[async_trait]
impl MessageStore for PgStore {
    async fn insert_message(&self, m: &Message) -> Result<()> {
        let author_json = match m.webhook_id {
            Some(_) => Some(serde_json::to_string(&m.author)?),
            None => None,
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO messages (channel_id, bucket, id, guild_id, author_id, webhook_id, author_json, content, edited_at,
             tts, mention_everyone, mentions, mention_roles, embeds, nonce, type, flags, pinned, reference,
             components, application_id, interaction, attachments, call)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)",
        )
        .bind(db(m.channel_id))
        .bind(bucket_of(m.id))
        .bind(db(m.id))
        .bind(m.guild_id.map(db))
        .bind(db(m.author.id))
        .bind(m.webhook_id.map(db))
        .bind(author_json)
        .bind(&m.content)
        .bind(m.edited_timestamp.map(|t| t.0))
        .bind(m.tts)
        .bind(m.mention_everyone)
        .bind(serde_json::to_string(&m.mentions)?)
        .bind(serde_json::to_string(&m.mention_roles)?)
        .bind(serde_json::to_string(&m.embeds)?)
        .bind(m.nonce.as_ref().map(serde_json::to_string).transpose()?)
        .bind(i64::from(m.kind))
        .bind(i64::from(m.flags))
        .bind(m.pinned)
        .bind(m.message_reference.as_ref().map(serde_json::to_string).transpose()?)
        .bind(serde_json::to_string(&m.components)?)
        .bind(m.application_id.map(db))
        .bind(m.interaction_metadata.as_ref().map(serde_json::to_string).transpose()?)
        .bind(crate::rows::attachments_json(&m.attachments)?)
        .bind(m.call.as_ref().map(serde_json::to_string).transpose()?)
        .execute(&mut *tx)
        .await?;
        // Messages of one channel may commit out of id order when nodes
        // insert concurrently; the newest id wins, whichever commits last.
        // (GREATEST skips the NULL of a channel without messages.)
        // The counts and the inactivity clock matter to threads only.
        sqlx::query(
            "UPDATE channels SET last_message_id = GREATEST(last_message_id, $1),
             message_count = message_count + 1, total_message_sent = total_message_sent + 1,
             last_active = GREATEST(last_active, $3) WHERE id = $2",
        )
        .bind(db(m.id))
        .bind(db(m.channel_id))
        .bind(m.timestamp.0)
        .execute(&mut *tx)
        .await?;
        if m.guild_id.is_none() {
            // A DM's message also brings it back into every recipient's list.
            sqlx::query(
                "UPDATE private_channels SET last_message_id = GREATEST(last_message_id, $1) WHERE id = $2",
            )
            .bind(db(m.id))
            .bind(db(m.channel_id))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE private_recipients SET open = TRUE WHERE channel_id = $1 AND NOT open",
            )
            .bind(db(m.channel_id))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn message(&self, channel_id: Snowflake, id: Snowflake) -> Result<Option<Message>> {
        let Some(m) = self.one(channel_id, id).await? else {
            return Ok(None);
        };
        let mut one = [m];
        self.resolve_references(&mut one).await?;
        let [m] = one;
        Ok(Some(m))
    }

    async fn messages(
        &self,
        channel_id: Snowflake,
        page: Page,
        limit: u32,
    ) -> Result<Vec<Message>> {
        const OLDER: &str = "AND m.bucket <= $2 AND m.id < $3";
        const NEWER: &str = "AND m.bucket >= $2 AND m.id > $3";
        let rows = match page {
            Page::Latest => self.fetch(channel_id, "", "DESC", None, limit).await?,
            Page::Before(x) => {
                self.fetch(channel_id, OLDER, "DESC", Some(x), limit)
                    .await?
            }
            Page::After(x) => {
                let mut r = self.fetch(channel_id, NEWER, "ASC", Some(x), limit).await?;
                r.reverse();
                r
            }
            Page::Around(x) => {
                let newer_n = limit / 2;
                let mut newer = self
                    .fetch(channel_id, NEWER, "ASC", Some(x), newer_n)
                    .await?;
                newer.reverse();
                let at_or_older = "AND m.bucket <= $2 AND m.id <= $3";
                let older = self
                    .fetch(channel_id, at_or_older, "DESC", Some(x), limit - newer_n)
                    .await?;
                newer.extend(older);
                newer
            }
        };
        let mut out = rows.iter().map(rows::message).collect::<Result<Vec<_>>>()?;
        self.resolve_references(&mut out).await?;
        Ok(out)
    }

    async fn update_message(
        &self,
        m: &Message,
        read_edited: Option<hearth_model::Timestamp>,
    ) -> Result<bool> {
        // HAS_THREAD (32) is the store's to set (`create_thread`): an edit
        // made from a copy read before a thread started keeps it.
        let done = sqlx::query(
            "UPDATE messages SET content = $1, embeds = $2, mentions = $3, mention_roles = $4, mention_everyone = $5, flags = ($6 & ~32) | (flags & 32), edited_at = $7, components = $8, attachments = $9, call = $10
             WHERE channel_id = $11 AND bucket = $12 AND id = $13 AND edited_at IS NOT DISTINCT FROM $14",
        )
        .bind(&m.content)
        .bind(serde_json::to_string(&m.embeds)?)
        .bind(serde_json::to_string(&m.mentions)?)
        .bind(serde_json::to_string(&m.mention_roles)?)
        .bind(m.mention_everyone)
        .bind(i64::from(m.flags))
        .bind(m.edited_timestamp.map(|t| t.0))
        .bind(serde_json::to_string(&m.components)?)
        .bind(crate::rows::attachments_json(&m.attachments)?)
        .bind(m.call.as_ref().map(serde_json::to_string).transpose()?)
        .bind(db(m.channel_id))
        .bind(bucket_of(m.id))
        .bind(db(m.id))
        .bind(read_edited.map(|t| t.0))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_message(&self, channel_id: Snowflake, id: Snowflake) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM messages WHERE channel_id = $1 AND bucket = $2 AND id = $3")
                .bind(db(channel_id))
                .bind(bucket_of(id))
                .bind(db(id))
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_messages(&self, channel_id: Snowflake, ids: &[Snowflake]) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut n = 0;
        for id in ids {
            n += sqlx::query(
                "DELETE FROM messages WHERE channel_id = $1 AND bucket = $2 AND id = $3",
            )
            .bind(db(channel_id))
            .bind(bucket_of(*id))
            .bind(db(*id))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn dropped_files(&self, limit: u32) -> Result<Vec<Snowflake>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT attachment_id FROM dropped_files ORDER BY attachment_id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| Snowflake(id as u64)).collect())
    }

    async fn forget_dropped_files(&self, ids: &[Snowflake]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for id in ids {
            sqlx::query("DELETE FROM dropped_files WHERE attachment_id = $1")
                .bind(db(*id))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
