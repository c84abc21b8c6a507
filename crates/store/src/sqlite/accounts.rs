use async_trait::async_trait;
use hearth_model::{Application, Snowflake, Timestamp, User};
use sqlx::Row;

use super::SqliteStore;
use crate::edits::{ApplicationEdit, Edited};
use crate::rows::{self, db, USER_COLS};
use crate::{AccountStore, Credentials, NewUser, Result, StoreError, TokenRecord};

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_user(&self, new: NewUser) -> Result<User> {
        sqlx::query("INSERT INTO users (id, username, global_name, bot, password_hash) VALUES (?, ?, ?, ?, ?)")
            .bind(db(new.id))
            .bind(&new.username)
            .bind(&new.global_name)
            .bind(new.bot)
            .bind(&new.password_hash)
            .execute(&self.writer)
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
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?"))
            .bind(db(id))
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(rows::user))
    }

    async fn credentials(&self, username: &str) -> Result<Option<Credentials>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.username = ?"
        ))
        .bind(username)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.map(|r| Credentials {
            user: rows::user(&r),
            password_hash: r.get("password_hash"),
        }))
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        sqlx::query("UPDATE users SET username = ?, global_name = ?, avatar = ? WHERE id = ?")
            .bind(&user.username)
            .bind(&user.global_name)
            .bind(&user.avatar)
            .bind(db(user.id))
            .execute(&self.writer)
            .await
            .map_err(|e| rows::conflict(e, "username"))?;
        Ok(())
    }

    async fn insert_token(&self, hash: &[u8], user_id: Snowflake, at: Timestamp) -> Result<()> {
        sqlx::query("INSERT INTO tokens (hash, user_id, created_at) VALUES (?, ?, ?)")
            .bind(hash)
            .bind(db(user_id))
            .bind(at.0)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn token_user(&self, hash: &[u8]) -> Result<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?"
        ))
        .bind(hash)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.as_ref().map(rows::user))
    }

    async fn delete_token(&self, hash: &[u8]) -> Result<()> {
        sqlx::query("DELETE FROM tokens WHERE hash = ?")
            .bind(hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn replace_tokens(&self, user_id: Snowflake, hash: &[u8], at: Timestamp) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM tokens WHERE user_id = ?")
            .bind(db(user_id))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO tokens (hash, user_id, created_at) VALUES (?, ?, ?)")
            .bind(hash)
            .bind(db(user_id))
            .bind(at.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_application(&self, app: &Application) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("INSERT INTO users (id, username, global_name, bot) VALUES (?, ?, ?, 1)")
            .bind(db(app.bot.id))
            .bind(&app.bot.username)
            .bind(&app.bot.global_name)
            .execute(&mut *tx)
            .await
            .map_err(|e| rows::conflict(e, "username"))?;
        sqlx::query("INSERT INTO applications (id, owner_id, name, description, flags, bot_public) VALUES (?, ?, ?, ?, ?, ?)")
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
             FROM applications a JOIN users u ON u.id = a.id WHERE a.id = ?"
        ))
        .bind(db(id))
        .fetch_optional(&self.reader)
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
            name: row.get("name"),
            description: row.get("description"),
            icon: None,
            bot_public: row.get("bot_public"),
            bot_require_code_grant: false,
            flags: row.get::<i64, _>("flags") as u64,
            owner,
            bot: rows::user(&row),
        }))
    }

    async fn edit_application(
        &self,
        id: Snowflake,
        edit: &ApplicationEdit,
    ) -> Result<Edited<Application>> {
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query("SELECT name, description, flags FROM applications WHERE id = ?")
            .bind(db(id))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::Missing("application"))?;
        let name: String = row.get("name");
        let description: String = row.get("description");
        let flags = row.get::<i64, _>("flags") as u64;
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
                "UPDATE applications SET name = ?, description = ?, flags = ? WHERE id = ?",
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
        let mut tx = self.writer.begin().await?;
        let updated = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(db(user_id))
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Missing("user"));
        }
        let revoked = sqlx::query("DELETE FROM tokens WHERE user_id = ?")
            .bind(db(user_id))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if let Some((hash, at)) = keep {
            sqlx::query("INSERT INTO tokens (hash, user_id, created_at) VALUES (?, ?, ?)")
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
        // `hash IS NOT ?` with NULL keeps nothing back.
        let revoked = sqlx::query("DELETE FROM tokens WHERE user_id = ? AND hash IS NOT ?")
            .bind(db(user_id))
            .bind(except)
            .execute(&self.writer)
            .await?
            .rows_affected();
        Ok(revoked)
    }

    async fn tokens_of(&self, user_id: Snowflake) -> Result<Vec<TokenRecord>> {
        let rows = sqlx::query(
            "SELECT hash, created_at FROM tokens WHERE user_id = ? ORDER BY created_at, hash",
        )
        .bind(db(user_id))
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .iter()
            .map(|r| TokenRecord {
                hash: r.get("hash"),
                created_at: Timestamp(r.get("created_at")),
            })
            .collect())
    }

    async fn set_instance_admin(&self, user_id: Snowflake, admin: bool) -> Result<()> {
        let updated = sqlx::query("UPDATE users SET instance_admin = ? WHERE id = ?")
            .bind(admin)
            .bind(db(user_id))
            .execute(&self.writer)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Missing("user"));
        }
        Ok(())
    }

    async fn is_instance_admin(&self, user_id: Snowflake) -> Result<bool> {
        let admin: Option<bool> =
            sqlx::query_scalar("SELECT instance_admin FROM users WHERE id = ?")
                .bind(db(user_id))
                .fetch_optional(&self.reader)
                .await?;
        Ok(admin.unwrap_or(false))
    }

    async fn delete_user(&self, user_id: Snowflake) -> Result<()> {
        sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(db(user_id))
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

impl SqliteStore {
    /// Writes a consistent copy of the database to `path` (which must not
    /// exist) while the store stays in use: `VACUUM INTO` reads one snapshot
    /// of the database, whatever other connections (this process or a
    /// running node) write meanwhile.
    pub async fn backup_into(&self, path: &std::path::Path) -> Result<()> {
        let path = path
            .to_str()
            .ok_or(StoreError::Corrupt("the backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO ?")
            .bind(path)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
