//! Message search over the FTS5 index `message_words` (schema v7): words
//! are matched in the index, everything else on the message row.

use async_trait::async_trait;
use hearth_model::Snowflake;

use super::SqliteStore;
use crate::rows::{self, db, USER_COLS};
use crate::{MessageHas, MessageSearch, Result, SearchHits, SearchStore, BUCKET_MS};

/// An FTS5 query for the words: each one a quoted phrase (quotes doubled),
/// so nothing a user types is read as FTS5's own syntax.
fn fts_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn json_ids(ids: &[Snowflake]) -> String {
    let ids: Vec<i64> = ids.iter().map(|id| db(*id)).collect();
    serde_json::Value::from(ids).to_string()
}

/// The conditions on the message row `m` (beyond its channel), with their
/// values in order.
fn conditions(search: &MessageSearch) -> (String, Vec<Bind>) {
    // People's messages: default, reply, and the two command kinds.
    let mut sql = String::from(" AND m.type IN (0, 19, 20, 23)");
    let mut binds = Vec::new();
    if !search.authors.is_empty() {
        sql.push_str(" AND m.author_id IN (SELECT value FROM json_each(?))");
        binds.push(Bind::Text(json_ids(&search.authors)));
    }
    if !search.mentions.is_empty() {
        let wanted: Vec<String> = search.mentions.iter().map(|u| u.to_string()).collect();
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM json_each(m.mentions) j
                          WHERE json_extract(j.value, '$.id') IN (SELECT value FROM json_each(?)))",
        );
        binds.push(Bind::Text(serde_json::Value::from(wanted).to_string()));
    }
    for has in &search.has {
        sql.push_str(match has {
            MessageHas::Link => " AND (m.content LIKE '%http://%' OR m.content LIKE '%https://%')",
            MessageHas::Embed => " AND m.embeds != '[]'",
            // Messages carry none of these yet.
            MessageHas::File
            | MessageHas::Image
            | MessageHas::Video
            | MessageHas::Sound
            | MessageHas::Sticker
            | MessageHas::Poll
            | MessageHas::Snapshot => " AND 0",
        });
    }
    if let Some(after) = search.after {
        sql.push_str(" AND m.id > ?");
        binds.push(Bind::Int(db(after)));
    }
    if let Some(before) = search.before {
        sql.push_str(" AND m.id < ?");
        binds.push(Bind::Int(db(before)));
    }
    if let Some(pinned) = search.pinned {
        sql.push_str(" AND m.pinned = ?");
        binds.push(Bind::Int(i64::from(pinned)));
    }
    (sql, binds)
}

/// Where the candidates come from, narrowed to the searched channels (the
/// first values: the FTS5 query when there are words, then the channels).
/// With words, the index finds them and leads to each row by its primary
/// key; without, the channels' rows are read.
fn source(words: bool, join: &str) -> String {
    if words {
        format!(
            "FROM message_words w
             JOIN messages m ON m.channel_id = w.channel_id
                 AND m.bucket = (w.rowid >> 22) / {BUCKET_MS} AND m.id = w.rowid
             {join}
             WHERE w.content MATCH ? AND w.channel_id IN (SELECT value FROM json_each(?))"
        )
    } else {
        format!("FROM messages m {join} WHERE m.channel_id IN (SELECT value FROM json_each(?))")
    }
}

enum Bind {
    Int(i64),
    Text(String),
}

#[async_trait]
impl SearchStore for SqliteStore {
    async fn search_messages(&self, search: &MessageSearch) -> Result<SearchHits> {
        if search.channels.is_empty() {
            return Ok(SearchHits {
                total: 0,
                messages: Vec::new(),
            });
        }
        let words = !search.words.is_empty();
        let mut binds = Vec::new();
        if words {
            binds.push(Bind::Text(fts_query(&search.words)));
        }
        binds.push(Bind::Text(json_ids(&search.channels)));
        let (filter, more) = conditions(search);
        binds.extend(more);
        let order = if search.oldest_first { "ASC" } else { "DESC" };
        let count_sql = format!("SELECT COUNT(*) {} {filter}", source(words, ""));
        let page_sql = format!(
            "SELECT m.*, {USER_COLS} {} {filter} ORDER BY m.id {order} LIMIT ? OFFSET ?",
            source(words, "LEFT JOIN users u ON u.id = m.author_id"),
        );
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        let mut page = sqlx::query(&page_sql);
        for b in &binds {
            match b {
                Bind::Int(v) => {
                    count = count.bind(*v);
                    page = page.bind(*v);
                }
                Bind::Text(v) => {
                    count = count.bind(v.clone());
                    page = page.bind(v.clone());
                }
            }
        }
        let page = page
            .bind(i64::from(search.limit))
            .bind(i64::from(search.offset));
        // One snapshot for the count and the page, so they agree.
        let mut tx = self.reader.begin().await?;
        let total = count.fetch_one(&mut *tx).await?;
        let found = page.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut messages = found
            .iter()
            .map(rows::message)
            .collect::<Result<Vec<_>>>()?;
        self.resolve_references(&mut messages).await?;
        Ok(SearchHits {
            total: total as u64,
            messages,
        })
    }
}
