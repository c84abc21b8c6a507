use async_trait::async_trait;
use hearth_model::{Application, Snowflake, Timestamp, User};
use sqlx::Row;

use super::PgStore;
use crate::edits::{ApplicationEdit, Edited};
use crate::rows::{self, db, Cols, USER_COLS};
use crate::{AccountStore, Credentials, NewUser, Result, StoreError, TokenRecord};

const INSERT_TOKEN: &str = "INSERT INTO tokens (hash, user_id, created_at) VALUES ($1, $2, $3)";

#[async_trait]
impl AccountStore for PgStore {
    async fn create_user(&self, new: NewUser) -> Result<User> {
        sqlx::query("INSERT INTO users (id, username, global_name, bot, password_hash) VALUES ($1, $2, $3, $4, $5)")
            .bind(db(new.id))
            .bind(&new.username)
            .bind(&new.global_name)
            .bind(new.bot)
            .bind(&new.password_hash)
            .execute(&self.pool)
            .await
            .map_err(|e| rows::conflict(e, "username"))?;
        Ok(User {
            id: new.id,
            username: new.username,
            discriminator: "0".to_owned(),
            global_name: new.global_name,
            avatar: None,
            bot: new.bot,
        })
    }

    async fn user(&self, id: Snowflake) -> Result<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"))
            .bind(db(id))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(rows::user))
    }

    async fn credentials(&self, username: &str) -> Result<Option<Credentials>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Credentials {
            user: rows::user(&r),
            password_hash: r.opt_text("password_hash"),
        }))
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        sqlx::query("UPDATE users SET username = $1, global_name = $2, avatar = $3 WHERE id = $4")
            .bind(&user.username)
            .bind(&user.global_name)
            .bind(&user.avatar)
            .bind(db(user.id))
            .execute(&self.pool)
            .await
            .map_err(|e| rows::conflict(e, "username"))?;
        Ok(())
    }

    async fn insert_token(&self, hash: &[u8], user_id: Snowflake, at: Timestamp) -> Result<()> {
        sqlx::query(INSERT_TOKEN)
            .bind(hash)
            .bind(db(user_id))
            .bind(at.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn token_user(&self, hash: &[u8]) -> Result<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1"
        ))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(rows::user))
    }

    async fn delete_token(&self, hash: &[u8]) -> Result<()> {
        sqlx::query("DELETE FROM tokens WHERE hash = $1")
            .bind(hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn replace_tokens(&self, user_id: Snowflake, hash: &[u8], at: Timestamp) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM tokens WHERE user_id = $1")
            .bind(db(user_id))
            .execute(&mut *tx)
            .await?;
        sqlx::query(INSERT_TOKEN)
            .bind(hash)
            .bind(db(user_id))
            .bind(at.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_application(&self, app: &Application) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO users (id, username, global_name, bot) VALUES ($1, $2, $3, TRUE)")
            .bind(db(app.bot.id))
            .bind(&app.bot.username)
            .bind(&app.bot.global_name)
            .execute(&mut *tx)
            .await
            .map_err(|e| rows::conflict(e, "username"))?;
        sqlx::query("INSERT INTO applications (id, owner_id, name, description, flags, bot_public) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(db(app.id))
            .bind(db(app.owner.id))
            .bind(&app.name)
            .bind(&app.description)
            .bind(app.flags as i64)
            .bind(app.bot_public)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn application(&self, id: Snowflake) -> Result<Option<Application>> {
        let Some(row) = sqlx::query(&format!(
            "SELECT a.name, a.description, a.flags, a.bot_public, a.owner_id, {USER_COLS}
             FROM applications a JOIN users u ON u.id = a.id WHERE a.id = $1"
        ))
        .bind(db(id))
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let owner_id = rows::id(&row, "owner_id");
        let Some(owner) = self.user(owner_id).await? else {
            return Ok(None);
        };
        Ok(Some(Application {
            id,
            name: row.text("name"),
            description: row.text("description"),
            icon: None,
            bot_public: row.flag("bot_public"),
            bot_require_code_grant: false,
            flags: row.int("flags") as u64,
            owner,
            bot: rows::user(&row),
        }))
    }

    async fn edit_application(
        &self,
        id: Snowflake,
        edit: &ApplicationEdit,
    ) -> Result<Edited<Application>> {
        let mut tx = self.pool.begin().await?;
        // The row lock holds off a concurrent edit until this one commits,
        // so each applies to the other's result.
        let row = sqlx::query(
            "SELECT name, description, flags FROM applications WHERE id = $1 FOR UPDATE",
        )
        .bind(db(id))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::Missing("application"))?;
        let name = row.text("name");
        let description = row.text("description");
        let flags = row.int("flags") as u64;
        let now = (
            edit.name.clone().unwrap_or_else(|| name.clone()),
            edit.description
                .clone()
                .unwrap_or_else(|| description.clone()),
            edit.flags.unwrap_or(flags),
        );
        let changed = now != (name, description, flags);
        if changed {
            sqlx::query(
                "UPDATE applications SET name = $1, description = $2, flags = $3 WHERE id = $4",
            )
            .bind(&now.0)
            .bind(&now.1)
            .bind(now.2 as i64)
            .bind(db(id))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let now = self
            .application(id)
            .await?
            .ok_or(StoreError::Missing("application"))?;
        Ok(Edited { now, changed })
    }

    async fn set_password(
        &self,
        user_id: Snowflake,
        password_hash: &str,
        keep: Option<(&[u8], Timestamp)>,
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(db(user_id))
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Missing("user"));
        }
        let revoked = sqlx::query("DELETE FROM tokens WHERE user_id = $1")
            .bind(db(user_id))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if let Some((hash, at)) = keep {
            sqlx::query(INSERT_TOKEN)
                .bind(hash)
                .bind(db(user_id))
                .bind(at.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(revoked)
    }

    async fn revoke_tokens(&self, user_id: Snowflake, except: Option<&[u8]>) -> Result<u64> {
        // `IS DISTINCT FROM NULL` is true for every row: keeps nothing back.
        let revoked =
            sqlx::query("DELETE FROM tokens WHERE user_id = $1 AND hash IS DISTINCT FROM $2")
                .bind(db(user_id))
                .bind(except)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(revoked)
    }

    async fn tokens_of(&self, user_id: Snowflake) -> Result<Vec<TokenRecord>> {
        let rows = sqlx::query(
            "SELECT hash, created_at FROM tokens WHERE user_id = $1 ORDER BY created_at, hash",
        )
        .bind(db(user_id))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| TokenRecord {
                hash: r.get("hash"),
                created_at: Timestamp(r.int("created_at")),
            })
            .collect())
    }

    async fn set_instance_admin(&self, user_id: Snowflake, admin: bool) -> Result<()> {
        let updated = sqlx::query("UPDATE users SET instance_admin = $1 WHERE id = $2")
            .bind(admin)
            .bind(db(user_id))
            .execute(&self.pool)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Missing("user"));
        }
        Ok(())
    }

    async fn is_instance_admin(&self, user_id: Snowflake) -> Result<bool> {
        let admin: Option<bool> =
            sqlx::query_scalar("SELECT instance_admin FROM users WHERE id = $1")
                .bind(db(user_id))
                .fetch_optional(&self.pool)
                .await?;
        Ok(admin.unwrap_or(false))
    }

    async fn delete_user(&self, user_id: Snowflake) -> Result<()> {
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(db(user_id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
