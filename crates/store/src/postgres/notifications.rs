//! Notification settings (see the SQLite backend): the row is made if
//! missing, then locked while the patch is applied, so concurrent changes
//! from several nodes each keep the other's.

use async_trait::async_trait;
use hearth_model::{GuildSettingsPatch, Snowflake, UserGuildSettings};

use super::PgStore;
use crate::rows::db;
use crate::{NotificationSettingsStore, Result, StoreError};

#[async_trait]
impl NotificationSettingsStore for PgStore {
    async fn guild_settings_of(&self, user: Snowflake) -> Result<Vec<UserGuildSettings>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT settings FROM user_guild_settings WHERE user_id = $1 ORDER BY guild_id",
        )
        .bind(db(user))
        .fetch_all(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        // Only a member has settings for the guild; the share lock keeps
        // the membership from going before this commits.
        let member: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM members WHERE guild_id = $1 AND user_id = $2 FOR SHARE",
        )
        .bind(db(guild))
        .bind(db(user))
        .fetch_optional(&mut *tx)
        .await?;
        if member.is_none() {
            return Err(StoreError::Missing("member"));
        }
        sqlx::query(
            "INSERT INTO user_guild_settings (user_id, guild_id, settings) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, guild_id) DO NOTHING",
        )
        .bind(db(user))
        .bind(db(guild))
        .bind(serde_json::to_string(&defaults)?)
        .execute(&mut *tx)
        .await?;
        let stored: String = sqlx::query_scalar(
            "SELECT settings FROM user_guild_settings WHERE user_id = $1 AND guild_id = $2
             FOR UPDATE",
        )
        .bind(db(user))
        .bind(db(guild))
        .fetch_one(&mut *tx)
        .await?;
        let mut settings: UserGuildSettings = serde_json::from_str(&stored)?;
        settings.apply(patch, channels);
        sqlx::query(
            "UPDATE user_guild_settings SET settings = $3 WHERE user_id = $1 AND guild_id = $2",
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
