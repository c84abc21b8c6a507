//! Message search over the FTS5 index `message_words` (schema v7).
//!
//! Every filter is a token of the index's `scope` column (the guild or
//! channels, authors, mentions, links, embeds, pins), matched with the
//! words; the index hands the hits over by rowid, the message id, so a page
//! reads only its own rows and a count never leaves the index.

use async_trait::async_trait;
use hearth_model::Snowflake;

use super::SqliteStore;
use crate::rows::{self, db, USER_COLS};
use crate::{
    MessageHas, MessageSearch, Result, SearchHits, SearchIn, SearchStore, BUCKET_MS,
    SEARCH_COUNT_CAP,
};

/// `scope : (<prefix><id> OR ...)`: any of the ids.
fn any(prefix: &str, ids: &[Snowflake]) -> String {
    let tokens: Vec<String> = ids.iter().map(|id| format!("{prefix}{id}")).collect();
    format!("scope : ({})", tokens.join(" OR "))
}

/// The FTS5 query, or `None` when nothing can match. Each word is a
/// quoted phrase in `content` (quotes doubled, so nothing a user types is
/// read as FTS5's syntax); every filter a token in `scope`.
fn fts_query(search: &MessageSearch) -> Option<String> {
    let mut parts: Vec<String> = search
        .words
        .iter()
        .map(|w| format!("content : \"{}\"", w.replace('"', "\"\"")))
        .collect();
    parts.push(match &search.scope {
        SearchIn::Guild(id) => format!("scope : g{id}"),
        SearchIn::Channels(ids) if ids.is_empty() => return None,
        SearchIn::Channels(ids) => any("c", ids),
    });
    if !search.authors.is_empty() {
        parts.push(any("a", &search.authors));
    }
    if !search.mentions.is_empty() {
        parts.push(any("m", &search.mentions));
    }
    if let Some(calls) = &search.calling {
        let mut tokens = vec![format!("m{}", calls.user)];
        tokens.extend(calls.roles.iter().map(|r| format!("r{r}")));
        if calls.everyone {
            tokens.push("everyone".to_owned());
        }
        parts.push(format!("scope : ({})", tokens.join(" OR ")));
    }
    for has in &search.has {
        parts.push(match has {
            MessageHas::Link => "scope : haslink".to_owned(),
            MessageHas::Embed => "scope : hasembed".to_owned(),
            MessageHas::File => "scope : hasfile".to_owned(),
            MessageHas::Image => "scope : hasimage".to_owned(),
            MessageHas::Video => "scope : hasvideo".to_owned(),
            MessageHas::Sound => "scope : hassound".to_owned(),
            // Messages carry none of these yet.
            MessageHas::Sticker | MessageHas::Poll | MessageHas::Snapshot => return None,
        });
    }
    let mut query = parts.join(" AND ");
    if let Some(author) = search.not_by {
        query.push_str(&format!(" NOT scope : a{author}"));
    }
    match search.pinned {
        Some(true) => query.push_str(" AND scope : pinned"),
        Some(false) => query.push_str(" NOT scope : pinned"),
        None => {}
    }
    Some(query)
}

#[async_trait]
impl SearchStore for SqliteStore {
    async fn search_messages(&self, search: &MessageSearch) -> Result<SearchHits> {
        let Some(query) = fts_query(search) else {
            return Ok(SearchHits {
                total: 0,
                messages: Vec::new(),
            });
        };
        let mut filter = String::from("WHERE message_words MATCH ?");
        let mut bounds = Vec::new();
        if let Some(after) = search.after {
            filter.push_str(" AND message_words.rowid > ?");
            bounds.push(db(after));
        }
        if let Some(before) = search.before {
            filter.push_str(" AND message_words.rowid < ?");
            bounds.push(db(before));
        }
        let order = if search.oldest_first { "ASC" } else { "DESC" };
        let count_sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM message_words {filter} LIMIT {SEARCH_COUNT_CAP})"
        );
        // The page's ids first, from the index alone; then their rows.
        let page_sql = format!(
            "SELECT m.*, {USER_COLS}
             FROM (SELECT rowid AS id, channel_id FROM message_words {filter}
                   ORDER BY rowid {order} LIMIT ? OFFSET ?) hit
             JOIN messages m ON m.channel_id = hit.channel_id
                 AND m.bucket = (hit.id >> 22) / {BUCKET_MS} AND m.id = hit.id
             LEFT JOIN users u ON u.id = m.author_id
             ORDER BY m.id {order}"
        );
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql).bind(&query);
        let mut page = sqlx::query(&page_sql).bind(&query);
        for b in bounds {
            count = count.bind(b);
            page = page.bind(b);
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
