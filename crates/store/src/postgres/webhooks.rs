use async_trait::async_trait;
use hearth_model::{Snowflake, Webhook};
use sqlx::postgres::PgRow;

use super::{lock_guild, PgStore};
use crate::rows::{self, db, Cols};
use crate::webhook_token::{constant_time_eq, stored_token};
use crate::{AccountStore, Capacity, Result, StoreError, WebhookStore};

impl PgStore {
    async fn webhook_from(&self, row: &PgRow) -> Result<Webhook> {
        let user = match rows::opt_id(row, "creator_id") {
            Some(id) => self.user(id).await?,
            None => None,
        };
        Ok(rows::webhook(row, user))
    }
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn create_webhook(&self, w: &Webhook, max: usize) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // The count holds until commit: webhook creates of the guild wait
        // for this lock.
        lock_guild(&mut tx, w.guild_id).await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhooks WHERE channel_id = $1")
            .bind(db(w.channel_id))
            .fetch_one(&mut *tx)
            .await?;
        if count as usize >= max {
            return Err(StoreError::Full(Capacity::Webhooks));
        }
        sqlx::query("INSERT INTO webhooks (id, guild_id, channel_id, creator_id, name, avatar, token) VALUES ($1, $2, $3, $4, $5, $6, $7)")
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
        match sqlx::query("SELECT * FROM webhooks WHERE id = $1")
            .bind(db(id))
            .fetch_optional(&self.pool)
            .await?
        {
            Some(row) => self.webhook_from(&row).await.map(Some),
            None => Ok(None),
        }
    }

    async fn webhook_with_token(&self, id: Snowflake, token: &str) -> Result<Option<Webhook>> {
        let Some(row) = sqlx::query("SELECT * FROM webhooks WHERE id = $1")
            .bind(db(id))
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let stored = row.text("token");
        if !constant_time_eq(stored.as_bytes(), stored_token(token).as_bytes()) {
            return Ok(None);
        }
        self.webhook_from(&row).await.map(Some)
    }

    async fn channel_webhooks(&self, channel_id: Snowflake) -> Result<Vec<Webhook>> {
        let rows = sqlx::query("SELECT * FROM webhooks WHERE channel_id = $1 ORDER BY id")
            .bind(db(channel_id))
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.webhook_from(row).await?);
        }
        Ok(out)
    }

    async fn delete_webhook(&self, id: Snowflake) -> Result<bool> {
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(db(id))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
