//! Message search with PostgreSQL's full-text search (schema v6's
//! expression index), the same conditions as the SQLite backend.

use async_trait::async_trait;
use hearth_model::Snowflake;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, Encode, Postgres, Type};

use super::PgStore;
use crate::rows::{self, db, USER_COLS};
use crate::{
    MessageHas, MessageSearch, Result, SearchHits, SearchIn, SearchStore, SEARCH_COUNT_CAP,
};

fn ids(ids: &[Snowflake]) -> Vec<i64> {
    ids.iter().map(|id| db(*id)).collect()
}

/// Text with its punctuation made space, as schema v6's index has it.
fn words_of(text: &str) -> String {
    format!("regexp_replace({text}, '[[:punct:]]+', ' ', 'g')")
}

/// Values numbered as they are added (`$1`, `$2`, ...).
#[derive(Default)]
struct Params {
    args: PgArguments,
    n: usize,
}

impl Params {
    fn add<T>(&mut self, value: T) -> Result<String>
    where
        T: for<'q> Encode<'q, Postgres> + Type<Postgres>,
    {
        self.args.add(value).map_err(sqlx::Error::Encode)?;
        self.n += 1;
        Ok(format!("${}", self.n))
    }
}

/// The WHERE clause and its values.
fn conditions(search: &MessageSearch) -> Result<(String, Params)> {
    let mut p = Params::default();
    let mut sql = match &search.scope {
        SearchIn::Guild(id) => format!("WHERE m.guild_id = {}", p.add(db(*id))?),
        SearchIn::Channels(list) => format!("WHERE m.channel_id = ANY({})", p.add(ids(list))?),
    };
    // People's messages: default, reply, and the two command kinds.
    sql.push_str(" AND m.type IN (0, 19, 20, 23)");
    if !search.words.is_empty() {
        // Each word a phrase of its tokens, every word required: one query
        // against the indexed expression.
        let mut words = Vec::with_capacity(search.words.len());
        for w in &search.words {
            words.push(format!(
                "phraseto_tsquery('simple', {})",
                words_of(&p.add(w.clone())?)
            ));
        }
        sql.push_str(&format!(
            " AND to_tsvector('simple', {}) @@ ({})",
            words_of("m.content"),
            words.join(" && ")
        ));
    }
    if !search.authors.is_empty() {
        sql.push_str(&format!(
            " AND m.author_id = ANY({})",
            p.add(ids(&search.authors))?
        ));
    }
    if !search.mentions.is_empty() {
        let wanted: Vec<String> = search.mentions.iter().map(|u| u.to_string()).collect();
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM jsonb_array_elements(m.mentions::jsonb) j
                          WHERE j->>'id' = ANY({}))",
            p.add(wanted)?
        ));
    }
    if let Some(calls) = &search.calling {
        let user = p.add(calls.user.to_string())?;
        let roles: Vec<String> = calls.roles.iter().map(|r| r.to_string()).collect();
        let roles = p.add(roles)?;
        let everyone = p.add(calls.everyone)?;
        sql.push_str(&format!(
            " AND (EXISTS (SELECT 1 FROM jsonb_array_elements(m.mentions::jsonb) j
                           WHERE j->>'id' = {user})
                   OR m.mention_roles::jsonb ?| {roles}::text[]
                   OR ({everyone} AND m.mention_everyone))"
        ));
    }
    if let Some(author) = search.not_by {
        sql.push_str(&format!(" AND m.author_id <> {}", p.add(db(author))?));
    }
    for has in &search.has {
        sql.push_str(match has {
            MessageHas::Link => " AND (m.content LIKE '%http://%' OR m.content LIKE '%https://%')",
            MessageHas::Embed => " AND m.embeds <> '[]'",
            MessageHas::File => " AND m.attachments <> '[]'",
            MessageHas::Image => " AND m.attachments LIKE '%\"content_type\":\"image/%'",
            MessageHas::Video => " AND m.attachments LIKE '%\"content_type\":\"video/%'",
            MessageHas::Sound => " AND m.attachments LIKE '%\"content_type\":\"audio/%'",
            // Messages carry none of these yet.
            MessageHas::Sticker | MessageHas::Poll | MessageHas::Snapshot => " AND FALSE",
        });
    }
    if let Some(after) = search.after {
        sql.push_str(&format!(" AND m.id > {}", p.add(db(after))?));
    }
    if let Some(before) = search.before {
        sql.push_str(&format!(" AND m.id < {}", p.add(db(before))?));
    }
    if let Some(pinned) = search.pinned {
        sql.push_str(&format!(" AND m.pinned = {}", p.add(pinned)?));
    }
    Ok((sql, p))
}

#[async_trait]
impl SearchStore for PgStore {
    async fn search_messages(&self, search: &MessageSearch) -> Result<SearchHits> {
        if search.scope == SearchIn::Channels(Vec::new()) {
            return Ok(SearchHits {
                total: 0,
                messages: Vec::new(),
            });
        }
        let order = if search.oldest_first { "ASC" } else { "DESC" };
        let (filter, count_params) = conditions(search)?;
        let count_sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM messages m {filter} LIMIT {SEARCH_COUNT_CAP}) hits"
        );
        let (_, mut page_params) = conditions(search)?;
        let limit = page_params.add(i64::from(search.limit))?;
        let offset = page_params.add(i64::from(search.offset))?;
        let page_sql = format!(
            "SELECT m.*, {USER_COLS} FROM messages m LEFT JOIN users u ON u.id = m.author_id
             {filter} ORDER BY m.id {order} LIMIT {limit} OFFSET {offset}"
        );
        // One snapshot for the count and the page, so they agree.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let total: i64 = sqlx::query_scalar_with(&count_sql, count_params.args)
            .fetch_one(&mut *tx)
            .await?;
        let found = sqlx::query_with(&page_sql, page_params.args)
            .fetch_all(&mut *tx)
            .await?;
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
