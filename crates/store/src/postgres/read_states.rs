//! Read states (see the SQLite backend), and the mention counts derived from them when a session
//! starts: counted from the messages themselves (their `mentions`,
//! `mention_roles` and `mention_everyone`) rather than kept per user on
//! every post, so a message to a large guild writes nothing per member.

use async_trait::async_trait;
use hearth_model::Snowflake;

use super::PgStore;
use crate::rows::{self, db, Cols};
use crate::{bucket_of, Ack, ReadState, ReadStateStore, Result};

#[async_trait]
impl ReadStateStore for PgStore {
    async fn ack(&self, user: Snowflake, channel: Snowflake, message_id: Snowflake) -> Result<u64> {
        let versions = self
            .ack_many(&[Ack {
                user,
                channel,
                message_id,
            }])
            .await?;
        Ok(versions.first().copied().unwrap_or(0))
    }

    async fn ack_many(&self, acks: &[Ack]) -> Result<Vec<u64>> {
        // One transaction: one commit for the batch.
        let mut tx = self.pool.begin().await?;
        let mut versions = vec![0; acks.len()];
        // Rows in one order, so two nodes' batches cannot deadlock.
        let mut order: Vec<usize> = (0..acks.len()).collect();
        order.sort_by_key(|&i| (acks[i].user, acks[i].channel));
        for i in order {
            let ack = &acks[i];
            let version: i64 = sqlx::query_scalar(
                "INSERT INTO read_states (user_id, channel_id, last_message_id, version) VALUES ($1, $2, $3, 1)
                 ON CONFLICT (user_id, channel_id) DO UPDATE SET
                     last_message_id = GREATEST(read_states.last_message_id, excluded.last_message_id),
                     version = read_states.version + 1
                 RETURNING version",
            )
            .bind(db(ack.user))
            .bind(db(ack.channel))
            .bind(db(ack.message_id))
            .fetch_one(&mut *tx)
            .await?;
            versions[i] = version as u64;
        }
        tx.commit().await?;
        Ok(versions)
    }

    async fn read_states(&self, user: Snowflake, scan: u32) -> Result<Vec<ReadState>> {
        // Each state with its channel's newest message, guild or private.
        let found = sqlx::query(
            "SELECT r.channel_id, r.last_message_id, r.version,
                    COALESCE(c.last_message_id, p.last_message_id) AS newest
             FROM read_states r
             LEFT JOIN channels c ON c.id = r.channel_id
             LEFT JOIN private_channels p ON p.id = r.channel_id
             WHERE r.user_id = $1",
        )
        .bind(db(user))
        .fetch_all(&self.pool)
        .await?;
        let mut states = Vec::with_capacity(found.len());
        for row in &found {
            let channel_id = rows::sf(row.int("channel_id"));
            let last = rows::sf(row.int("last_message_id"));
            let newer = row.opt_int("newest").is_some_and(|n| rows::sf(n) > last);
            let mention_count = if newer {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM (
                         SELECT m.guild_id, m.author_id, m.mentions, m.mention_roles, m.mention_everyone
                         FROM messages m
                         WHERE m.channel_id = $1 AND m.bucket >= $2 AND m.id > $3
                         ORDER BY m.bucket DESC, m.id DESC LIMIT $4) m
                     WHERE m.author_id <> $5 AND (
                         m.guild_id IS NULL
                         OR m.mention_everyone
                         OR m.mentions::jsonb @> jsonb_build_array(jsonb_build_object('id', $6::text))
                         OR EXISTS (SELECT 1 FROM members mem
                                    WHERE mem.guild_id = m.guild_id AND mem.user_id = $5
                                      AND mem.roles::jsonb ?| ARRAY(
                                          SELECT jsonb_array_elements_text(m.mention_roles::jsonb))))",
                )
                .bind(db(channel_id))
                .bind(bucket_of(last))
                .bind(db(last))
                .bind(i64::from(scan))
                .bind(db(user))
                .bind(user.to_string())
                .fetch_one(&self.pool)
                .await?;
                n as u32
            } else {
                0
            };
            states.push(ReadState {
                channel_id,
                last_message_id: last,
                version: row.int("version") as u64,
                mention_count,
            });
        }
        Ok(states)
    }
}
