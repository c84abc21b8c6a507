use async_trait::async_trait;
use hearth_model::{Snowflake, Webhook};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::SqliteStore;
use crate::rows::{self, db};
use crate::webhook_token::{constant_time_eq, stored_token};
use crate::{AccountStore, Capacity, Result, StoreError, WebhookStore};

impl SqliteStore {
    async fn webhook_from(&self, row: &SqliteRow) -> Result<Webhook> {
        let user = match rows::opt_id(row, "creator_id") {
            Some(id) => self.user(id).await?,
            None => None,
        };
        Ok(rows::webhook(row, user))
    }
}

/// Databases written before tokens were hashed keep them in plain text:
/// hash them in place once, at start-up.
pub(super) async fn hash_plain_webhook_tokens(pool: &sqlx::SqlitePool) -> Result<()> {
    let plain: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, token FROM webhooks WHERE token NOT LIKE 'sha256:%'")
            .fetch_all(pool)
            .await?;
    for (id, token) in plain {
        sqlx::query("UPDATE webhooks SET token = ? WHERE id = ?")
            .bind(stored_token(&token))
            .bind(id)
            .execute(pool)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(&self, w: &Webhook, max: usize) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhooks WHERE channel_id = ?")
            .bind(db(w.channel_id))
            .fetch_one(&mut *tx)
            .await?;
        if count as usize >= max {
            return Err(StoreError::Full(Capacity::Webhooks));
        }
        sqlx::query("INSERT INTO webhooks (id, guild_id, channel_id, creator_id, name, avatar, token) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(db(w.id))
            .bind(db(w.guild_id))
            .bind(db(w.channel_id))
            .bind(w.user.as_ref().map(|u| db(u.id)))
            .bind(&w.name)
            .bind(&w.avatar)
            .bind(w.token.as_deref().map(stored_token))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn webhook(&self, id: Snowflake) -> Result<Option<Webhook>> {
        match sqlx::query("SELECT * FROM webhooks WHERE id = ?")
            .bind(db(id))
            .fetch_optional(&self.reader)
            .await?
        {
            Some(row) => self.webhook_from(&row).await.map(Some),
            None => Ok(None),
        }
    }

    async fn webhook_with_token(&self, id: Snowflake, token: &str) -> Result<Option<Webhook>> {
        let Some(row) = sqlx::query("SELECT * FROM webhooks WHERE id = ?")
            .bind(db(id))
            .fetch_optional(&self.reader)
            .await?
        else {
            return Ok(None);
        };
        let stored: String = row.get("token");
        // Digests of equal length compared whole: the time taken says
        // nothing about how much of the token was right.
        if !constant_time_eq(stored.as_bytes(), stored_token(token).as_bytes()) {
            return Ok(None);
        }
        self.webhook_from(&row).await.map(Some)
    }

    async fn channel_webhooks(&self, channel_id: Snowflake) -> Result<Vec<Webhook>> {
        let rows = sqlx::query("SELECT * FROM webhooks WHERE channel_id = ? ORDER BY id")
            .bind(db(channel_id))
            .fetch_all(&self.reader)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.webhook_from(row).await?);
        }
        Ok(out)
    }

    async fn delete_webhook(&self, id: Snowflake) -> Result<bool> {
        let done = sqlx::query("DELETE FROM webhooks WHERE id = ?")
            .bind(db(id))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
