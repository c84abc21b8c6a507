//! Application commands, with the same queries as the SQLite backend.
//! Writes to an application's commands take an advisory lock on the
//! application, so a scope's limit and names hold under concurrency.

use async_trait::async_trait;
use hearth_model::{ApplicationCommand, Snowflake};
use sqlx::{Executor, Postgres, Transaction};

use super::PgStore;
use crate::rows::{db, Cols};
use crate::{Capacity, CommandLimits, CommandStore, Result, StoreError};

fn decode(row: &impl Cols) -> Result<ApplicationCommand> {
    serde_json::from_str(&row.text("definition"))
        .map_err(|e| StoreError::Corrupt(format!("application command: {e}")))
}

/// The application's commands in a scope (`None`: global), by name.
async fn scope<'e, E: Executor<'e, Database = Postgres>>(
    exec: E,
    application_id: Snowflake,
    guild_id: Option<Snowflake>,
) -> Result<Vec<ApplicationCommand>> {
    let found = sqlx::query(
        "SELECT definition FROM application_commands
         WHERE application_id = $1 AND COALESCE(guild_id, 0) = $2 ORDER BY name",
    )
    .bind(db(application_id))
    .bind(guild_id.map(db).unwrap_or(0))
    .fetch_all(exec)
    .await?;
    found.iter().map(decode).collect()
}

async fn insert(tx: &mut Transaction<'_, Postgres>, c: &ApplicationCommand) -> Result<()> {
    sqlx::query(
        "INSERT INTO application_commands (id, application_id, guild_id, type, name, definition)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(db(c.id))
    .bind(db(c.application_id))
    .bind(c.guild_id.map(db))
    .bind(i64::from(c.kind))
    .bind(&c.name)
    .bind(serde_json::to_string(c)?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl CommandStore for PgStore {
    async fn commands(
        &self,
        application_id: Snowflake,
        guild_id: Option<Snowflake>,
    ) -> Result<Vec<ApplicationCommand>> {
        scope(&self.pool, application_id, guild_id).await
    }

    async fn command(
        &self,
        application_id: Snowflake,
        id: Snowflake,
    ) -> Result<Option<ApplicationCommand>> {
        sqlx::query(
            "SELECT definition FROM application_commands WHERE id = $1 AND application_id = $2",
        )
        .bind(db(id))
        .bind(db(application_id))
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(decode)
        .transpose()
    }

    async fn upsert_command(
        &self,
        command: &ApplicationCommand,
        limits: CommandLimits,
    ) -> Result<(ApplicationCommand, bool)> {
        let mut tx = self.pool.begin().await?;
        super::lock_application(&mut tx, command.application_id).await?;
        let existing = scope(&mut *tx, command.application_id, command.guild_id).await?;
        let mut stored = command.clone();
        let same = existing
            .iter()
            .find(|c| c.kind == command.kind && c.name == command.name);
        let created = match same {
            Some(old) => {
                stored.id = old.id;
                sqlx::query("UPDATE application_commands SET definition = $1 WHERE id = $2")
                    .bind(serde_json::to_string(&stored)?)
                    .bind(db(old.id))
                    .execute(&mut *tx)
                    .await?;
                false
            }
            None => {
                let of_kind = existing.iter().filter(|c| c.kind == command.kind).count();
                if of_kind >= limits.of(command.kind) {
                    return Err(StoreError::Full(Capacity::Commands));
                }
                insert(&mut tx, &stored).await?;
                true
            }
        };
        tx.commit().await?;
        Ok((stored, created))
    }

    async fn replace_command(&self, command: &ApplicationCommand) -> Result<()> {
        let done = sqlx::query(
            "UPDATE application_commands SET name = $1, definition = $2 WHERE id = $3 AND application_id = $4",
        )
        .bind(&command.name)
        .bind(serde_json::to_string(command)?)
        .bind(db(command.id))
        .bind(db(command.application_id))
        .execute(&self.pool)
        .await
        .map_err(|e| crate::rows::conflict(e, "name"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Missing("command"));
        }
        Ok(())
    }

    async fn delete_command(&self, application_id: Snowflake, id: Snowflake) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM application_commands WHERE id = $1 AND application_id = $2")
                .bind(db(id))
                .bind(db(application_id))
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn overwrite_commands(
        &self,
        application_id: Snowflake,
        guild_id: Option<Snowflake>,
        commands: &[ApplicationCommand],
    ) -> Result<Vec<ApplicationCommand>> {
        let mut tx = self.pool.begin().await?;
        super::lock_application(&mut tx, application_id).await?;
        let existing = scope(&mut *tx, application_id, guild_id).await?;
        sqlx::query(
            "DELETE FROM application_commands WHERE application_id = $1 AND COALESCE(guild_id, 0) = $2",
        )
        .bind(db(application_id))
        .bind(guild_id.map(db).unwrap_or(0))
        .execute(&mut *tx)
        .await?;
        let mut stored = Vec::with_capacity(commands.len());
        for c in commands {
            let mut c = c.clone();
            if let Some(old) = existing
                .iter()
                .find(|o| o.kind == c.kind && o.name == c.name)
            {
                c.id = old.id;
            }
            insert(&mut tx, &c).await?;
            stored.push(c);
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn guild_command_index(&self, guild_id: Snowflake) -> Result<Vec<ApplicationCommand>> {
        let found = sqlx::query(
            "SELECT c.definition FROM application_commands c
             WHERE (c.guild_id = $1 OR c.guild_id IS NULL)
               AND c.application_id IN (SELECT user_id FROM members WHERE guild_id = $2)
             ORDER BY c.name, c.id",
        )
        .bind(db(guild_id))
        .bind(db(guild_id))
        .fetch_all(&self.pool)
        .await?;
        found.iter().map(decode).collect()
    }
}
