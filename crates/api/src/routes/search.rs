//! Message search in a guild, as Discord's user clients ask for it:
//! `GET /guilds/{g}/messages/search` with repeatable filters, over only
//! the channels the searcher may read; and the mentions inbox
//! (`GET /users/@me/mentions`), the same search across the user's guilds.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use hearth_model::{ChannelType, Message, Permissions, Snowflake};
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::{CallsOn, MessageHas, MessageSearch, SearchIn};
use serde::Serialize;

use crate::access;
use crate::error::ApiResult;
use crate::extract::{snowflake, Caller};
use crate::state::AppState;

/// The largest page, and the furthest a search may page, as on Discord.
const MAX_LIMIT: u32 = 25;
const MAX_OFFSET: u32 = 9975;
/// Discord's limit on `content`.
const MAX_CONTENT: usize = 1024;
/// Values of one repeatable filter.
const MAX_VALUES: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/guilds/{guild_id}/messages/search", get(search))
        .route(
            "/channels/{channel_id}/messages/search",
            get(search_channel),
        )
        .route("/users/@me/mentions", get(recent_mentions))
}

/// The largest page of the mentions inbox, as on Discord.
const MAX_MENTIONS: u32 = 100;

/// Each hit is a list of one message: Discord once sent the messages around
/// each hit with it, and clients still read the shape.
#[derive(Debug, Serialize)]
struct SearchResults {
    total_results: u64,
    messages: Vec<[Message; 1]>,
    threads: [(); 0],
    members: [(); 0],
}

/// A search as asked, before the channels are narrowed to the readable.
#[derive(Debug, Default, PartialEq, Eq)]
struct SearchRequest {
    /// Set when `content` was given: the words to find (none left when it
    /// held no searchable word, which finds nothing).
    words: Option<Vec<String>>,
    channels: Vec<Snowflake>,
    authors: Vec<Snowflake>,
    mentions: Vec<Snowflake>,
    has: Vec<MessageHas>,
    min_id: Option<Snowflake>,
    max_id: Option<Snowflake>,
    pinned: Option<bool>,
    oldest_first: bool,
    offset: u32,
    limit: u32,
}

fn has_value(raw: &str) -> Option<MessageHas> {
    Some(match raw {
        "link" => MessageHas::Link,
        "embed" => MessageHas::Embed,
        "file" => MessageHas::File,
        "image" => MessageHas::Image,
        "video" => MessageHas::Video,
        "sound" => MessageHas::Sound,
        "sticker" => MessageHas::Sticker,
        "poll" => MessageHas::Poll,
        "snapshot" => MessageHas::Snapshot,
        _ => return None,
    })
}

/// Words as the index sees them: split on spaces, and only those holding a
/// letter or digit (punctuation alone is no word in either index).
fn words_of(content: &str) -> Vec<String> {
    let mut words: Vec<String> = content
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .map(str::to_lowercase)
        .collect();
    words.sort();
    words.dedup();
    words
}

fn number(errors: &mut FormErrors, field: &str, raw: &str, max: u32) -> Option<u32> {
    match raw.parse::<u32>() {
        Ok(n) if n <= max => Some(n),
        Err(_) => {
            errors.add(
                field,
                "NUMBER_TYPE_COERCE",
                format!("Value \"{raw}\" is not int."),
            );
            None
        }
        Ok(_) => {
            errors.add(
                field,
                "NUMBER_TYPE_MAX",
                format!("int value should be less than or equal to {max}."),
            );
            None
        }
    }
}

fn choice(errors: &mut FormErrors, field: &str, raw: &str, allowed: &[&str]) -> bool {
    if allowed.contains(&raw) {
        return true;
    }
    errors.add(
        field,
        "BASE_TYPE_CHOICES",
        format!("Value must be one of {allowed:?}."),
    );
    false
}

/// Reads the query string; every bad value is reported at once.
fn parse(query: &str) -> Result<SearchRequest, FormErrors> {
    let mut errors = FormErrors::new();
    let mut req = SearchRequest {
        limit: MAX_LIMIT,
        ..SearchRequest::default()
    };
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let n = counts.entry(key.to_string()).or_default();
        *n += 1;
        if *n > MAX_VALUES {
            errors.add(
                &key,
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {MAX_VALUES} or fewer in length."),
            );
            continue;
        }
        let id = |errors: &mut FormErrors| match snowflake(&key, &value) {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add(
                    &key,
                    "NUMBER_TYPE_COERCE",
                    format!("Value \"{value}\" is not snowflake."),
                );
                None
            }
        };
        match key.as_ref() {
            "content" => {
                if value.chars().count() > MAX_CONTENT {
                    errors.add(
                        "content",
                        "BASE_TYPE_MAX_LENGTH",
                        format!("Must be {MAX_CONTENT} or fewer in length."),
                    );
                } else {
                    req.words
                        .get_or_insert_with(Vec::new)
                        .extend(words_of(&value));
                }
            }
            "channel_id" => req.channels.extend(id(&mut errors)),
            "author_id" => req.authors.extend(id(&mut errors)),
            "mentions" => req.mentions.extend(id(&mut errors)),
            "min_id" => req.min_id = id(&mut errors),
            "max_id" => req.max_id = id(&mut errors),
            "has" => match has_value(&value) {
                Some(h) => req.has.push(h),
                None => {
                    choice(
                        &mut errors,
                        "has",
                        &value,
                        &[
                            "link", "embed", "file", "image", "video", "sound", "sticker", "poll",
                            "snapshot",
                        ],
                    );
                }
            },
            // A bad value is reported by `choice` and changes nothing.
            "pinned" if choice(&mut errors, "pinned", &value, &["true", "false"]) => {
                req.pinned = Some(value == "true");
            }
            "sort_by" => {
                // Relevance is not ranked here: hits come by time either way.
                choice(&mut errors, "sort_by", &value, &["timestamp", "relevance"]);
            }
            "sort_order" if choice(&mut errors, "sort_order", &value, &["asc", "desc"]) => {
                req.oldest_first = value == "asc";
            }
            "limit" => {
                if let Some(n) = number(&mut errors, "limit", &value, MAX_LIMIT) {
                    if n == 0 {
                        errors.add(
                            "limit",
                            "NUMBER_TYPE_MIN",
                            "int value should be greater than or equal to 1.",
                        );
                    } else {
                        req.limit = n;
                    }
                }
            }
            "offset" => {
                if let Some(n) = number(&mut errors, "offset", &value, MAX_OFFSET) {
                    req.offset = n;
                }
            }
            // Discord's other filters (author_type, include_nsfw, ...) are
            // accepted and have no effect.
            _ => {}
        }
    }
    errors.finish()?;
    Ok(req)
}

async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<SearchResults>> {
    let guild_id = snowflake("guild_id", &guild_id)?;
    let req = parse(query.as_deref().unwrap_or(""))?;
    let access = access::guild(&state, guild_id, caller.user.id).await?;
    let places = readable_places(&state, &access).await?;
    let scope = if req.channels.is_empty() {
        let readable: Vec<Snowflake> = places
            .iter()
            .filter(|(_, &may)| may)
            .map(|(&id, _)| id)
            .collect();
        // Who reads everything searches the guild at once.
        if readable.len() == places.len() {
            SearchIn::Guild(guild_id)
        } else {
            SearchIn::Channels(readable)
        }
    } else {
        for id in &req.channels {
            // A channel elsewhere is as unknown as one that never was.
            match places.get(id) {
                None => return Err(ErrorCode::UNKNOWN_CHANNEL.into()),
                Some(false) => return Err(ErrorCode::MISSING_ACCESS.into()),
                Some(true) => {}
            }
        }
        SearchIn::Channels(req.channels.clone())
    };
    run(&state, &caller, req, scope).await
}

/// `GET /channels/{c}/messages/search`: the same search in one channel, a
/// thread, or a DM or group DM the caller is in (Discord's client searches
/// DMs this way). `channel_id` filters are ignored.
async fn search_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<SearchResults>> {
    let channel_id = snowflake("channel_id", &channel_id)?;
    let req = parse(query.as_deref().unwrap_or(""))?;
    let place = access::place(&state, channel_id, caller.user.id).await?;
    if !place
        .permissions()
        .contains(Permissions::READ_MESSAGE_HISTORY)
    {
        return Err(ErrorCode::MISSING_ACCESS.into());
    }
    run(&state, &caller, req, SearchIn::Channels(vec![place.id()])).await
}

async fn run(
    state: &AppState,
    caller: &Caller,
    req: SearchRequest,
    scope: SearchIn,
) -> ApiResult<Json<SearchResults>> {
    let words = req.words.clone().unwrap_or_default();
    if req.words.is_some() && words.is_empty() {
        return Ok(Json(SearchResults {
            total_results: 0,
            messages: Vec::new(),
            threads: [],
            members: [],
        }));
    }
    let hits = state
        .store
        .search_messages(&MessageSearch {
            scope,
            words,
            authors: req.authors,
            mentions: req.mentions,
            has: req.has,
            after: req.min_id,
            before: req.max_id,
            pinned: req.pinned,
            oldest_first: req.oldest_first,
            offset: req.offset,
            limit: req.limit,
            ..MessageSearch::default()
        })
        .await?;
    let mut messages = hits.messages;
    with_reactions(state, &mut messages, caller.user.id).await?;
    Ok(Json(SearchResults {
        total_results: hits.total,
        messages: messages.into_iter().map(|m| [m]).collect(),
        threads: [],
        members: [],
    }))
}

/// Every place of the guild that holds messages (categories hold none),
/// threads included, and whether the member may read its history there.
async fn readable_places(
    state: &AppState,
    access: &access::GuildAccess,
) -> ApiResult<BTreeMap<Snowflake, bool>> {
    let readable = Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY;
    let guild_id = access.guild.id;
    let mut places = BTreeMap::new();
    let mut in_channel = BTreeMap::new();
    for c in state.store.channels(guild_id).await? {
        if c.kind != ChannelType::Category {
            let perms = access.channel_permissions(&c);
            places.insert(c.id, perms.contains(readable));
            in_channel.insert(c.id, perms);
        }
    }
    let threads = state
        .store
        .thread_index(guild_id, access.member.user.id)
        .await?;
    for t in threads {
        let in_parent = in_channel
            .get(&t.parent_id)
            .copied()
            .unwrap_or(Permissions::NONE);
        let perms = hearth_model::threads::thread_permissions(in_parent, t.private, t.joined);
        places.insert(t.id, perms.contains(readable));
    }
    Ok(places)
}

/// Reactions as the reader sees them, one channel at a time.
async fn with_reactions(
    state: &AppState,
    messages: &mut [Message],
    reader: Snowflake,
) -> ApiResult<()> {
    let mut by_channel: BTreeMap<Snowflake, Vec<usize>> = BTreeMap::new();
    for (i, m) in messages.iter().enumerate() {
        by_channel.entry(m.channel_id).or_default().push(i);
    }
    for (channel_id, at) in by_channel {
        let mut group: Vec<Message> = at.iter().map(|&i| messages[i].clone()).collect();
        super::reactions::fill_reactions(state, channel_id, &mut group, reader).await?;
        for (&i, m) in at.iter().zip(group) {
            messages[i] = m;
        }
    }
    Ok(())
}

/// `GET /users/@me/mentions`'s query.
#[derive(Debug, PartialEq, Eq)]
struct MentionsRequest {
    limit: u32,
    before: Option<Snowflake>,
    guild_id: Option<Snowflake>,
    roles: bool,
    everyone: bool,
}

fn parse_mentions(query: &str) -> Result<MentionsRequest, FormErrors> {
    let mut errors = FormErrors::new();
    let mut req = MentionsRequest {
        limit: 25,
        before: None,
        guild_id: None,
        roles: true,
        everyone: true,
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let id = |errors: &mut FormErrors| match snowflake(&key, &value) {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add(
                    &key,
                    "NUMBER_TYPE_COERCE",
                    format!("Value \"{value}\" is not snowflake."),
                );
                None
            }
        };
        match key.as_ref() {
            "limit" => match number(&mut errors, "limit", &value, MAX_MENTIONS) {
                Some(0) => errors.add(
                    "limit",
                    "NUMBER_TYPE_MIN",
                    "int value should be greater than or equal to 1.",
                ),
                Some(n) => req.limit = n,
                None => {}
            },
            "before" => req.before = id(&mut errors),
            "guild_id" => req.guild_id = id(&mut errors),
            "roles" | "everyone" if choice(&mut errors, &key, &value, &["true", "false"]) => {
                let on = value == "true";
                if key == "roles" {
                    req.roles = on;
                } else {
                    req.everyone = on;
                }
            }
            _ => {}
        }
    }
    errors.finish()?;
    Ok(req)
}

/// The mentions inbox: the newest messages of others that call on the
/// user (by name, by one of their roles, @everyone), in every channel of
/// their guilds (or of one) that they may read.
async fn recent_mentions(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Vec<Message>>> {
    // A person's inbox; Discord refuses bots here too.
    if caller.user.bot {
        return Err(ErrorCode::BOTS_CANNOT_USE.into());
    }
    let me = caller.user.id;
    let req = parse_mentions(query.as_deref().unwrap_or(""))?;
    let guilds = match req.guild_id {
        Some(g) => vec![g],
        None => state.store.guilds_of_user(me).await?,
    };
    let mut channels = Vec::new();
    let mut roles = Vec::new();
    for guild_id in guilds {
        let access = access::guild(&state, guild_id, me).await?;
        let places = readable_places(&state, &access).await?;
        channels.extend(places.into_iter().filter(|(_, may)| *may).map(|(id, _)| id));
        if req.roles {
            roles.extend(access.member.roles.iter().copied());
        }
    }
    let hits = state
        .store
        .search_messages(&MessageSearch {
            scope: SearchIn::Channels(channels),
            calling: Some(CallsOn {
                user: me,
                roles,
                everyone: req.everyone,
            }),
            not_by: Some(me),
            before: req.before,
            limit: req.limit,
            ..MessageSearch::default()
        })
        .await?;
    let mut messages = hits.messages;
    with_reactions(&state, &mut messages, me).await?;
    Ok(Json(messages))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_filters_gather_and_words_fold() {
        let req = parse("content=Hello%20hello+world!&author_id=1&author_id=2&has=link&sort_order=asc&limit=5&offset=10&pinned=true").unwrap();
        assert_eq!(
            req.words,
            Some(vec!["hello".to_owned(), "world!".to_owned()])
        );
        assert_eq!(req.authors, vec![Snowflake(1), Snowflake(2)]);
        assert_eq!(req.has, vec![MessageHas::Link]);
        assert!(req.oldest_first);
        assert_eq!((req.limit, req.offset, req.pinned), (5, 10, Some(true)));
    }

    #[test]
    fn punctuation_alone_is_no_word() {
        let req = parse("content=%22*%20-%20OR%20%22").unwrap();
        assert_eq!(req.words, Some(vec!["or".to_owned()]));
        let req = parse("content=!!!").unwrap();
        assert_eq!(req.words, Some(Vec::new()));
    }

    #[test]
    fn bad_values_are_each_reported() {
        let e = parse("limit=26&offset=9976&has=gif&author_id=me&sort_order=up").unwrap_err();
        let text = e.into_value().to_string();
        for field in ["limit", "offset", "has", "author_id", "sort_order"] {
            assert!(text.contains(field), "{field} missing from {text}");
        }
        assert!(parse("limit=0").is_err());
    }
}
