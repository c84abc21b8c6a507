use async_trait::async_trait;
use hearth_model::{Snowflake, Webhook};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::rows::{self, db};
use super::SqliteStore;
use crate::{AccountStore, Result, WebhookStore};

impl SqliteStore {
    async fn webhook_from(&self, row: &SqliteRow) -> Result<Webhook> {
        let user = match rows::opt_id(row, "creator_id") {
            Some(id) => self.user(id).await?,
            None => None,
        };
        Ok(Webhook {
            id: rows::id(row, "id"),
            kind: 1,
            guild_id: rows::id(row, "guild_id"),
            channel_id: rows::id(row, "channel_id"),
            name: row.get("name"),
            avatar: row.get("avatar"),
            token: Some(row.get("token")),
            user,
            application_id: None,
        })
    }
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(&self, w: &Webhook) -> Result<()> {
        sqlx::query("INSERT INTO webhooks (id, guild_id, channel_id, creator_id, name, avatar, token) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(db(w.id))
            .bind(db(w.guild_id))
            .bind(db(w.channel_id))
            .bind(w.user.as_ref().map(|u| db(u.id)))
            .bind(&w.name)
            .bind(&w.avatar)
            .bind(&w.token)
            .execute(&self.writer)
            .await?;
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
