//! Interactions and their ephemeral messages, kept while their tokens work.

use async_trait::async_trait;
use hearth_model::{Message, Snowflake, Timestamp};

use super::SqliteStore;
use crate::rows::{db, id, opt_id, sf, Cols};
use crate::{Acknowledge, FirstResponse, InteractionRecord, InteractionStore, Result, StoreError};

/// The callback type that opens a modal.
const MODAL: u8 = 9;

fn record(row: &impl Cols) -> Result<InteractionRecord> {
    let hash = row.bytes("token_hash");
    let token_hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| StoreError::Corrupt("interaction token hash".into()))?;
    Ok(InteractionRecord {
        id: id(row, "id"),
        token_hash,
        application_id: id(row, "application_id"),
        kind: row.int("type") as u8,
        guild_id: id(row, "guild_id"),
        channel_id: id(row, "channel_id"),
        user_id: id(row, "user_id"),
        created_at: Timestamp(row.int("created_at")),
        message_id: opt_id(row, "message_id"),
        command_name: row.opt_text("command_name"),
        command_type: row.opt_int("command_type").map(|t| t as u8),
        nonce: row.opt_text("nonce"),
        response: row.opt_int("response").map(|r| r as u8),
        ephemeral: row.flag("ephemeral"),
        original_id: opt_id(row, "original_id"),
    })
}

#[async_trait]
impl InteractionStore for SqliteStore {
    async fn create_interaction(
        &self,
        i: &InteractionRecord,
        forget_before: Timestamp,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        // Ephemeral messages go with them (the foreign key cascades).
        sqlx::query("DELETE FROM interactions WHERE created_at < ?")
            .bind(forget_before.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO interactions (id, token_hash, application_id, type, guild_id, channel_id,
             user_id, created_at, message_id, command_name, command_type, nonce, response, ephemeral,
             original_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(db(i.id))
        .bind(&i.token_hash[..])
        .bind(db(i.application_id))
        .bind(i64::from(i.kind))
        .bind(db(i.guild_id))
        .bind(db(i.channel_id))
        .bind(db(i.user_id))
        .bind(i.created_at.0)
        .bind(i.message_id.map(db))
        .bind(&i.command_name)
        .bind(i.command_type.map(i64::from))
        .bind(&i.nonce)
        .bind(i.response.map(i64::from))
        .bind(i.ephemeral)
        .bind(i.original_id.map(db))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn interaction(&self, id: Snowflake) -> Result<Option<InteractionRecord>> {
        sqlx::query("SELECT * FROM interactions WHERE id = ?")
            .bind(db(id))
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(record)
            .transpose()
    }

    async fn interaction_by_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<InteractionRecord>> {
        sqlx::query("SELECT * FROM interactions WHERE token_hash = ?")
            .bind(&token_hash[..])
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(record)
            .transpose()
    }

    async fn acknowledge(
        &self,
        id: Snowflake,
        token_hash: &[u8; 32],
        r: FirstResponse,
    ) -> Result<Acknowledge> {
        let mut tx = self.writer.begin().await?;
        let found: Option<(Option<i64>, i64)> = sqlx::query_as(
            "SELECT response, created_at FROM interactions WHERE id = ? AND token_hash = ?",
        )
        .bind(db(id))
        .bind(&token_hash[..])
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match found {
            None => Acknowledge::Unknown,
            Some((Some(_), _)) => Acknowledge::Already,
            Some((None, created)) if created < r.deadline_created_after.0 => Acknowledge::Unknown,
            Some((None, _)) => {
                sqlx::query(
                    "UPDATE interactions SET response = ?, ephemeral = ?, original_id = ?, modal_open = ?
                     WHERE id = ?",
                )
                .bind(i64::from(r.callback_type))
                .bind(r.ephemeral)
                .bind(r.original_id.map(db))
                .bind(r.callback_type == MODAL)
                .bind(db(id))
                .execute(&mut *tx)
                .await?;
                Acknowledge::Done
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn close_modal(&self, id: Snowflake, user_id: Snowflake) -> Result<bool> {
        let done = sqlx::query("UPDATE interactions SET modal_open = 0 WHERE id = ? AND user_id = ? AND modal_open = 1")
            .bind(db(id))
            .bind(db(user_id))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_original(&self, id: Snowflake, message_id: Snowflake) -> Result<()> {
        sqlx::query("UPDATE interactions SET original_id = ? WHERE id = ?")
            .bind(db(message_id))
            .bind(db(id))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn put_ephemeral(&self, interaction_id: Snowflake, m: &Message) -> Result<()> {
        sqlx::query(
            "INSERT INTO ephemeral_messages (id, interaction_id, body) VALUES (?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
        )
        .bind(db(m.id))
        .bind(db(interaction_id))
        .bind(serde_json::to_string(m)?)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn ephemeral(&self, id: Snowflake) -> Result<Option<(Snowflake, Message)>> {
        let found: Option<(i64, String)> =
            sqlx::query_as("SELECT interaction_id, body FROM ephemeral_messages WHERE id = ?")
                .bind(db(id))
                .fetch_optional(&self.reader)
                .await?;
        match found {
            Some((interaction, body)) => Ok(Some((sf(interaction), serde_json::from_str(&body)?))),
            None => Ok(None),
        }
    }

    async fn delete_ephemeral(&self, id: Snowflake) -> Result<bool> {
        let done = sqlx::query("DELETE FROM ephemeral_messages WHERE id = ?")
            .bind(db(id))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
