use async_trait::async_trait;
use hearth_model::{Ban, Invite, Member, Snowflake, Timestamp};
use sqlx::{Row, Sqlite, Transaction};

use super::SqliteStore;
use crate::edits::{Edited, MemberEdit, RolesEdit};
use crate::rows::{self, db, USER_COLS};
use crate::{InviteUse, MemberStore, Result, StoreError};

const INVITE_SELECT: &str = "SELECT i.*, g.name AS g_name, g.icon AS g_icon, c.name AS c_name, c.type AS c_type
     FROM invites i JOIN guilds g ON g.id = i.guild_id JOIN channels c ON c.id = i.channel_id WHERE i.code = ?";

/// Deletes the guild's invites no longer usable at `now` (expired, or
/// used up), so they neither count against its limit nor linger.
async fn forget_spent_invites(
    tx: &mut Transaction<'_, Sqlite>,
    guild_id: Snowflake,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM invites WHERE guild_id = ?
         AND ((max_age > 0 AND created_at + max_age * 1000 <= ?) OR (max_uses > 0 AND uses >= max_uses))",
    )
    .bind(db(guild_id))
    .bind(now.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn is_banned(
    tx: &mut Transaction<'_, Sqlite>,
    guild_id: Snowflake,
    user_id: Snowflake,
) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM bans WHERE guild_id = ? AND user_id = ?")
            .bind(db(guild_id))
            .bind(db(user_id))
            .fetch_optional(&mut **tx)
            .await?
            .is_some(),
    )
}

async fn insert_member(
    tx: &mut Transaction<'_, Sqlite>,
    guild_id: Snowflake,
    user_id: Snowflake,
    roles: &[Snowflake],
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT OR IGNORE INTO members (guild_id, user_id, roles, joined_at, dms_restricted)
         VALUES (?1, ?2, ?3, ?4, COALESCE((SELECT default_guilds_restricted FROM users WHERE id = ?2), 0))",
    )
    .bind(db(guild_id))
    .bind(db(user_id))
    .bind(serde_json::to_string(roles)?)
    .bind(at.0)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl MemberStore for SqliteStore {
    async fn member(&self, guild_id: Snowflake, user_id: Snowflake) -> Result<Option<Member>> {
        sqlx::query(&format!(
            "SELECT m.*, {USER_COLS} FROM members m JOIN users u ON u.id = m.user_id WHERE m.guild_id = ? AND m.user_id = ?"
        ))
        .bind(db(guild_id))
        .bind(db(user_id))
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(rows::member)
        .transpose()
    }

    async fn members(
        &self,
        guild_id: Snowflake,
        after: Snowflake,
        limit: u32,
    ) -> Result<Vec<Member>> {
        sqlx::query(&format!(
            "SELECT m.*, {USER_COLS} FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.guild_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?"
        ))
        .bind(db(guild_id))
        .bind(db(after))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(rows::member)
        .collect()
    }

    async fn search_members(
        &self,
        guild_id: Snowflake,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<Member>> {
        // Escape LIKE's wildcards so the prefix matches literally.
        let pattern = format!(
            "{}%",
            prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        sqlx::query(&format!(
            "SELECT m.*, {USER_COLS} FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.guild_id = ? AND (u.username LIKE ?2 ESCAPE '\\' OR m.nick LIKE ?2 ESCAPE '\\')
             ORDER BY m.user_id LIMIT ?3"
        ))
        .bind(db(guild_id))
        .bind(pattern)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(rows::member)
        .collect()
    }

    async fn guilds_of_user(&self, user_id: Snowflake) -> Result<Vec<Snowflake>> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT guild_id FROM members WHERE user_id = ? ORDER BY guild_id",
        )
        .bind(db(user_id))
        .fetch_all(&self.reader)
        .await?
        .into_iter()
        .map(rows::sf)
        .collect())
    }

    async fn add_member(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
        roles: &[Snowflake],
        at: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        if is_banned(&mut tx, guild_id, user_id).await? {
            return Err(StoreError::Banned);
        }
        let added = insert_member(&mut tx, guild_id, user_id, roles, at).await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn edit_member(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
        edit: &MemberEdit,
    ) -> Result<Edited<Member>> {
        // The one writer connection is held for the whole transaction, so
        // nothing writes between this read and the update below. (A
        // server-based backend reads with SELECT ... FOR UPDATE instead.)
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT m.*, {USER_COLS} FROM members m JOIN users u ON u.id = m.user_id WHERE m.guild_id = ? AND m.user_id = ?"
        ))
        .bind(db(guild_id))
        .bind(db(user_id))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::Missing("member"))?;
        let mut member = rows::member(&row)?;
        let before = member.clone();
        let roles: Vec<i64> = match &edit.roles {
            Some(RolesEdit::Set(_) | RolesEdit::Add(_)) => {
                sqlx::query_scalar("SELECT id FROM roles WHERE guild_id = ? AND id != ?")
                    .bind(db(guild_id))
                    .bind(db(guild_id))
                    .fetch_all(&mut *tx)
                    .await?
            }
            _ => Vec::new(),
        };
        edit.apply(&mut member, |r| roles.contains(&db(r)));
        let changed = member != before;
        if changed {
            sqlx::query(
                "UPDATE members SET nick = ?, roles = ?, deaf = ?, mute = ?, timeout_until = ? WHERE guild_id = ? AND user_id = ?",
            )
            .bind(&member.nick)
            .bind(serde_json::to_string(&member.roles)?)
            .bind(member.deaf)
            .bind(member.mute)
            .bind(member.communication_disabled_until.map(|t| t.0))
            .bind(db(guild_id))
            .bind(db(user_id))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Edited {
            now: member,
            changed,
        })
    }

    async fn remove_member(&self, guild_id: Snowflake, user_id: Snowflake) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("DELETE FROM members WHERE guild_id = ? AND user_id = ?")
            .bind(db(guild_id))
            .bind(db(user_id))
            .execute(&mut *tx)
            .await?;
        forget_member_state(&mut tx, guild_id, user_id).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn ban(
        &self,
        guild_id: Snowflake,
        user_id: Snowflake,
        reason: Option<&str>,
        delete_since: Option<Snowflake>,
    ) -> Result<Vec<(Snowflake, Snowflake)>> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("INSERT OR REPLACE INTO bans (guild_id, user_id, reason) VALUES (?, ?, ?)")
            .bind(db(guild_id))
            .bind(db(user_id))
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM members WHERE guild_id = ? AND user_id = ?")
            .bind(db(guild_id))
            .bind(db(user_id))
            .execute(&mut *tx)
            .await?;
        forget_member_state(&mut tx, guild_id, user_id).await?;
        let mut deleted = Vec::new();
        if let Some(since) = delete_since {
            deleted = sqlx::query_as::<_, (i64, i64)>(
                "DELETE FROM messages WHERE guild_id = ? AND author_id = ? AND id >= ? AND webhook_id IS NULL
                 RETURNING channel_id, id",
            )
            .bind(db(guild_id))
            .bind(db(user_id))
            .bind(db(since))
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(c, m)| (rows::sf(c), rows::sf(m)))
            .collect();
        }
        tx.commit().await?;
        Ok(deleted)
    }

    async fn unban(&self, guild_id: Snowflake, user_id: Snowflake) -> Result<bool> {
        let done = sqlx::query("DELETE FROM bans WHERE guild_id = ? AND user_id = ?")
            .bind(db(guild_id))
            .bind(db(user_id))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn bans(&self, guild_id: Snowflake) -> Result<Vec<Ban>> {
        Ok(sqlx::query(&format!(
            "SELECT b.reason, {USER_COLS} FROM bans b JOIN users u ON u.id = b.user_id WHERE b.guild_id = ? ORDER BY b.user_id"
        ))
        .bind(db(guild_id))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|r| Ban { reason: r.get("reason"), user: rows::user(r) })
        .collect())
    }

    async fn ban_of(&self, guild_id: Snowflake, user_id: Snowflake) -> Result<Option<Ban>> {
        Ok(sqlx::query(&format!(
            "SELECT b.reason, {USER_COLS} FROM bans b JOIN users u ON u.id = b.user_id WHERE b.guild_id = ? AND b.user_id = ?"
        ))
        .bind(db(guild_id))
        .bind(db(user_id))
        .fetch_optional(&self.reader)
        .await?
        .map(|r| Ban { reason: r.get("reason"), user: rows::user(&r) }))
    }

    async fn create_invite(&self, i: &Invite, max: usize) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        forget_spent_invites(&mut tx, i.guild.id, i.created_at).await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invites WHERE guild_id = ?")
            .bind(db(i.guild.id))
            .fetch_one(&mut *tx)
            .await?;
        if count as usize >= max {
            return Err(StoreError::Full(crate::Capacity::Invites));
        }
        sqlx::query(
            "INSERT INTO invites (code, guild_id, channel_id, inviter_id, max_age, max_uses, uses, temporary, created_at)
             VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
        )
        .bind(&i.code)
        .bind(db(i.guild.id))
        .bind(db(i.channel.id))
        .bind(i.inviter.as_ref().map(|u| db(u.id)))
        .bind(i64::from(i.max_age))
        .bind(i64::from(i.max_uses))
        .bind(i.temporary)
        .bind(i.created_at.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| rows::conflict(e, "invite code"))?;
        tx.commit().await?;
        Ok(())
    }

    async fn guild_invites(&self, guild_id: Snowflake, now: Timestamp) -> Result<Vec<Invite>> {
        let rows = sqlx::query(&format!(
            "SELECT i.*, g.name AS g_name, g.icon AS g_icon, c.name AS c_name, c.type AS c_type, {USER_COLS}
             FROM invites i JOIN guilds g ON g.id = i.guild_id JOIN channels c ON c.id = i.channel_id
             LEFT JOIN users u ON u.id = i.inviter_id
             WHERE i.guild_id = ? ORDER BY i.created_at, i.code"
        ))
        .bind(db(guild_id))
        .fetch_all(&self.reader)
        .await?;
        let mut invites = Vec::with_capacity(rows.len());
        for row in &rows {
            let inviter = rows::opt_id(row, "u_id").map(|_| rows::user(row));
            let invite = rows::invite(row, inviter)?;
            if invite.usable_at(now) {
                invites.push(invite);
            }
        }
        Ok(invites)
    }

    async fn delete_invite(&self, code: &str) -> Result<Option<Invite>> {
        let Some(found) = self.invite(code).await? else {
            return Ok(None);
        };
        let gone = sqlx::query("DELETE FROM invites WHERE code = ?")
            .bind(code)
            .execute(&self.writer)
            .await?
            .rows_affected();
        // Deleted meanwhile by someone else (or used up): theirs to tell.
        Ok((gone == 1).then_some(found))
    }

    async fn invite(&self, code: &str) -> Result<Option<Invite>> {
        let Some(row) = sqlx::query(INVITE_SELECT)
            .bind(code)
            .fetch_optional(&self.reader)
            .await?
        else {
            return Ok(None);
        };
        let inviter = match rows::opt_id(&row, "inviter_id") {
            Some(id) => crate::AccountStore::user(self, id).await?,
            None => None,
        };
        rows::invite(&row, inviter).map(Some)
    }

    async fn use_invite(
        &self,
        code: &str,
        user_id: Snowflake,
        now: Timestamp,
    ) -> Result<InviteUse> {
        let mut tx = self.writer.begin().await?;
        let Some(row) = sqlx::query(INVITE_SELECT)
            .bind(code)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Err(StoreError::Missing("invite"));
        };
        let mut found = rows::invite(&row, None)?;
        if !found.usable_at(now) {
            return Err(StoreError::Missing("invite"));
        }
        if is_banned(&mut tx, found.guild.id, user_id).await? {
            return Err(StoreError::Banned);
        }
        let joined = insert_member(&mut tx, found.guild.id, user_id, &[], now).await?;
        if joined {
            found.uses += 1;
            if found.max_uses != 0 && found.uses >= found.max_uses {
                // Used up: gone, as in Discord.
                sqlx::query("DELETE FROM invites WHERE code = ?")
                    .bind(code)
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query("UPDATE invites SET uses = uses + 1 WHERE code = ?")
                    .bind(code)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        if let Some(inviter) = rows::opt_id(&row, "inviter_id") {
            found.inviter = crate::AccountStore::user(self, inviter).await?;
        }
        Ok(InviteUse {
            invite: found,
            joined,
        })
    }
}

/// A member who leaves (or is removed) takes their read states of the
/// guild's channels and their notification settings for it along: nothing
/// of a guild stays with someone outside it.
async fn forget_member_state(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    guild_id: Snowflake,
    user_id: Snowflake,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM read_states WHERE user_id = ?
         AND channel_id IN (SELECT id FROM channels WHERE guild_id = ?)",
    )
    .bind(db(user_id))
    .bind(db(guild_id))
    .execute(&mut **tx)
    .await?;
    // A member who leaves leaves the guild's threads too.
    sqlx::query(
        "UPDATE channels SET member_count = member_count - 1
         WHERE guild_id = ?1 AND type > 10
           AND id IN (SELECT thread_id FROM thread_members WHERE user_id = ?2)",
    )
    .bind(db(guild_id))
    .bind(db(user_id))
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "DELETE FROM thread_members WHERE user_id = ?2
         AND thread_id IN (SELECT id FROM channels WHERE guild_id = ?1 AND type > 10)",
    )
    .bind(db(guild_id))
    .bind(db(user_id))
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM user_guild_settings WHERE user_id = ? AND guild_id = ?")
        .bind(db(user_id))
        .bind(db(guild_id))
        .execute(&mut **tx)
        .await?;
    Ok(())
}
