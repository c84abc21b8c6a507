//! Notification settings, one JSON row per user and guild, changed by
//! applying a patch inside a write transaction (the one writer connection
//! serialises them).

use async_trait::async_trait;
use hearth_model::{GuildSettingsPatch, Snowflake, UserGuildSettings};

use super::SqliteStore;
use crate::rows::db;
use crate::{NotificationSettingsStore, Result, StoreError};

#[async_trait]
impl NotificationSettingsStore for SqliteStore {
    async fn guild_settings_of(&self, user: Snowflake) -> Result<Vec<UserGuildSettings>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT settings FROM user_guild_settings WHERE user_id = ? ORDER BY guild_id",
        )
        .bind(db(user))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|r| Ok(serde_json::from_str(r)?)).collect()
    }

    async fn update_guild_settings(
        &self,
        user: Snowflake,
        defaults: UserGuildSettings,
        patch: &GuildSettingsPatch,
        channels: &[Snowflake],
    ) -> Result<UserGuildSettings> {
        let guild = defaults.guild_id;
        let mut tx = self.writer.begin().await?;
        // Only a member has settings for the guild: one who left since
        // the caller's check gets none (the one writer orders the two).
        let member: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM members WHERE guild_id = ? AND user_id = ?")
                .bind(db(guild))
                .bind(db(user))
                .fetch_optional(&mut *tx)
                .await?;
        if member.is_none() {
            return Err(StoreError::Missing("member"));
        }
        let stored: Option<String> = sqlx::query_scalar(
            "SELECT settings FROM user_guild_settings WHERE user_id = ? AND guild_id = ?",
        )
        .bind(db(user))
        .bind(db(guild))
        .fetch_optional(&mut *tx)
        .await?;
        let mut settings = match stored {
            Some(s) => serde_json::from_str(&s)?,
            None => defaults,
        };
        settings.apply(patch, channels);
        sqlx::query(
            "INSERT INTO user_guild_settings (user_id, guild_id, settings) VALUES (?, ?, ?)
             ON CONFLICT (user_id, guild_id) DO UPDATE SET settings = excluded.settings",
        )
        .bind(db(user))
        .bind(db(guild))
        .bind(serde_json::to_string(&settings)?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(settings)
    }
}
