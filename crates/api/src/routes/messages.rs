//! Messages in text channels.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hearth_model::{
    message_type, Channel, Embed, Guild, Message, Permissions, Snowflake, Timestamp, User,
};
use hearth_proto::events::DirectEvent;
use hearth_proto::rest::{AllowedMentions, BulkDelete, CreateMessage, EditMessage, MessagesQuery};
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::Page;

use crate::access::{self, Place};
use crate::error::{ApiError, ApiResult};
use crate::extract::{snowflake, Body, Caller, Query};
use crate::files::{self, MessageForm, Upload};
use crate::messages::compose::{self, parse_mentions};
use crate::messages::edit;
use crate::messages::nonces::NonceKey;
use crate::state::AppState;

/// Bulk delete refuses messages older than this, as Discord does.
const BULK_DELETE_MAX_AGE_MS: u64 = 14 * 24 * 60 * 60 * 1000;
/// Mentions resolved per message; more are ignored, as a guard against
/// messages that are nothing but mentions.
const MAX_MENTIONS: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/channels/{channel_id}/messages", get(list).post(create))
        .route(
            "/channels/{channel_id}/messages/bulk-delete",
            post(bulk_delete),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}",
            get(get_one).patch(edit).delete(remove),
        )
}

/// Who and what a text mentions, checked against the guild.
pub(crate) struct Resolved {
    pub users: Vec<User>,
    pub roles: Vec<Snowflake>,
    pub everyone: bool,
}

pub(crate) async fn resolve_mentions(
    state: &AppState,
    guild: &Guild,
    content: &str,
    may_mention_everyone: bool,
) -> ApiResult<Resolved> {
    let found = parse_mentions(content);
    let mut users = Vec::new();
    for id in found.users.into_iter().take(MAX_MENTIONS) {
        if let Some(u) = state.store.user(id).await? {
            users.push(u);
        }
    }
    let roles = found
        .roles
        .into_iter()
        .filter(|r| *r != guild.id && guild.roles.iter().any(|g| g.id == *r))
        .collect();
    Ok(Resolved {
        users,
        roles,
        everyone: found.everyone && may_mention_everyone,
    })
}

/// Who a DM's text mentions: users only (there are no roles, and nobody
/// to notify with @everyone).
pub(crate) async fn resolve_private_mentions(
    state: &AppState,
    content: &str,
) -> ApiResult<Resolved> {
    let found = parse_mentions(content);
    let mut users = Vec::new();
    for id in found.users.into_iter().take(MAX_MENTIONS) {
        if let Some(u) = state.store.user(id).await? {
            users.push(u);
        }
    }
    Ok(Resolved {
        users,
        roles: Vec::new(),
        everyone: false,
    })
}

/// A new message as the store will keep it.
pub(crate) struct Draft {
    pub author: User,
    pub content: String,
    pub embeds: Vec<Embed>,
    pub tts: bool,
    pub webhook_id: Option<Snowflake>,
}

pub(crate) async fn build_message(
    state: &AppState,
    channel: &Channel,
    guild: &Guild,
    draft: Draft,
    may_mention_everyone: bool,
) -> ApiResult<Message> {
    let mentions = resolve_mentions(state, guild, &draft.content, may_mention_everyone).await?;
    let id = state.ids.next();
    let message = Message {
        id,
        channel_id: channel.id,
        guild_id: Some(guild.id),
        author: draft.author,
        content: draft.content,
        // What every later read derives from the id.
        timestamp: Timestamp(id.timestamp_ms() as i64),
        edited_timestamp: None,
        tts: draft.tts,
        mention_everyone: mentions.everyone,
        mentions: mentions.users,
        mention_roles: mentions.roles,
        attachments: Vec::new(),
        embeds: draft.embeds,
        pinned: false,
        kind: message_type::DEFAULT,
        flags: 0,
        nonce: None,
        webhook_id: draft.webhook_id,
        message_reference: None,
        referenced_message: None,
        reactions: Vec::new(),
        components: Vec::new(),
        application_id: None,
        interaction_metadata: None,
        interaction: None,
        call: None,
    };
    Ok(message)
}

/// A message with no content yet: a system message (a pin notice, ...) by
/// the user whose action it records, or the start of a DM's message.
pub(crate) fn system_message(
    state: &AppState,
    channel_id: Snowflake,
    guild_id: Option<Snowflake>,
    author: User,
    kind: u8,
    reference: Option<hearth_model::MessageReference>,
) -> Message {
    let id = state.ids.next();
    Message {
        id,
        channel_id,
        guild_id,
        author,
        content: String::new(),
        timestamp: Timestamp(id.timestamp_ms() as i64),
        edited_timestamp: None,
        tts: false,
        mention_everyone: false,
        mentions: Vec::new(),
        mention_roles: Vec::new(),
        attachments: Vec::new(),
        embeds: Vec::new(),
        pinned: false,
        kind,
        flags: 0,
        nonce: None,
        webhook_id: None,
        message_reference: reference,
        referenced_message: None,
        reactions: Vec::new(),
        components: Vec::new(),
        application_id: None,
        interaction_metadata: None,
        interaction: None,
        call: None,
    }
}

/// Checks content and embeds; a message with neither nor files is 50006.
pub(crate) fn check_draft(content: &str, embeds: &[Embed], files: usize) -> ApiResult<()> {
    let mut errors = FormErrors::new();
    compose::check_body(content, embeds, &mut errors);
    errors.finish()?;
    if content.trim().is_empty() && embeds.is_empty() && files == 0 {
        return Err(ErrorCode::EMPTY_MESSAGE.into());
    }
    Ok(())
}

pub(crate) fn check_nonce(nonce: &Option<serde_json::Value>) -> ApiResult<()> {
    let ok = match nonce {
        None | Some(serde_json::Value::Null) => true,
        Some(serde_json::Value::String(s)) => s.chars().count() <= 25,
        Some(serde_json::Value::Number(n)) => n.is_i64() || n.is_u64(),
        Some(_) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(FormErrors::single(
            "nonce",
            "BASE_TYPE_INVALID",
            "Must be a string of at most 25 characters or an integer.",
        )
        .into())
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    request: axum::extract::Request,
) -> ApiResult<Json<Message>> {
    let id = snowflake("channel_id", &channel_id)?;
    if files::is_multipart(request.headers()) {
        // An upload nobody may make here is refused before its bytes are
        // read (the post checks again, with the rest).
        if let Place::Guild { perms, .. } = access::place(&state, id, caller.user.id).await? {
            access::require(perms, Permissions::SEND_MESSAGES)?;
            access::require(perms, Permissions::ATTACH_FILES)?;
        }
    }
    let MessageForm { body, uploads } =
        <MessageForm<CreateMessage> as axum::extract::FromRequest<AppState>>::from_request(
            request, &state,
        )
        .await?;
    let nonce = match &body.nonce {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    match nonce.filter(|_| body.enforce_nonce) {
        Some(nonce) => {
            // A repeat within minutes (or a concurrent one) gets the
            // first message, made once.
            let key = NonceKey {
                author: caller.user.id,
                channel: id,
                nonce,
            };
            let slot = state
                .nonces
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .claim(key, std::time::Instant::now());
            let made = slot
                .get_or_try_init(|| post_message(state, caller, id, body, uploads))
                .await?;
            Ok(Json(made.clone()))
        }
        None => post_message(state, caller, id, body, uploads)
            .await
            .map(Json),
    }
}

async fn post_message(
    state: AppState,
    caller: Caller,
    id: Snowflake,
    body: CreateMessage,
    uploads: Vec<Upload>,
) -> ApiResult<Message> {
    let (channel, access, perms) = match access::place(&state, id, caller.user.id).await? {
        Place::Private(private) => {
            return super::private::post(&state, caller, private, body, uploads).await
        }
        Place::Guild {
            channel,
            access,
            perms,
        } => (channel, access, perms),
    };
    if !channel.kind.holds_messages() {
        return Err(ErrorCode::INVALID_CHANNEL_TYPE.into());
    }
    access::require(perms, Permissions::SEND_MESSAGES)?;
    if !uploads.is_empty() {
        access::require(perms, Permissions::ATTACH_FILES)?;
    }
    let slow = channel.rate_limit_per_user.unwrap_or(0);
    // Moderators are exempt from slow mode, as in Discord.
    let exempt = perms.contains(Permissions::MANAGE_MESSAGES)
        || perms.contains(Permissions::MANAGE_CHANNELS);
    if slow > 0 && !exempt {
        let interval = std::time::Duration::from_secs(u64::from(slow));
        // In a cluster every node counts the interval together.
        let shared = match state.shared_limits() {
            Some(l) => l.slowmode(channel.id.0, caller.user.id.0, interval).await,
            None => None,
        };
        let verdict = shared.unwrap_or_else(|| {
            state
                .slowmode
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .post(
                    channel.id.0,
                    caller.user.id.0,
                    interval,
                    std::time::Instant::now(),
                )
        });
        if let Err(left) = verdict {
            return Err(ApiError::Slowmode {
                retry_after: (left.as_secs_f64() * 1000.0).ceil() / 1000.0,
            });
        }
    }
    let content = body.content.unwrap_or_default();
    let embeds = body
        .embeds
        .or(body.embed.map(|e| vec![e]))
        .unwrap_or_default();
    check_draft(&content, &embeds, uploads.len())?;
    check_nonce(&body.nonce)?;
    let reference = match body.message_reference {
        Some(mut r) => {
            let target = r.message_id.ok_or_else(|| {
                FormErrors::single(
                    "message_reference.message_id",
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                )
            })?;
            let same_channel = r.channel_id.is_none_or(|c| c == channel.id);
            let original = if same_channel && perms.contains(Permissions::READ_MESSAGE_HISTORY) {
                state.messages.get(channel.id, target).await?
            } else {
                None
            };
            let exists = original.is_some();
            if !exists && r.fail_if_not_exists {
                return Err(FormErrors::single(
                    "message_reference",
                    "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                    "Unknown message",
                )
                .into());
            }
            r.channel_id = Some(channel.id);
            r.guild_id = Some(access.guild.id);
            original.map(|o| (r, o))
        }
        None => None,
    };
    if let Some(allowed) = &body.allowed_mentions {
        check_allowed_mentions(allowed)?;
    }
    let draft = Draft {
        author: caller.user,
        content,
        embeds,
        tts: body.tts && perms.contains(Permissions::SEND_TTS_MESSAGES),
        webhook_id: None,
    };
    let mut message = build_message(
        &state,
        &channel,
        &access.guild,
        draft,
        perms.contains(Permissions::MENTION_EVERYONE),
    )
    .await?;
    message.nonce = body.nonce.filter(|n| !n.is_null());
    if let Some(allowed) = &body.allowed_mentions {
        let replied_author = reference.as_ref().map(|(_, o)| o.author.clone());
        apply_allowed_mentions(&mut message, allowed, replied_author);
    }
    if let Some((r, original)) = reference {
        message.kind = message_type::REPLY;
        message.message_reference = Some(r);
        // Filled before the write so the cache, the dispatch and the reply
        // all carry it, as later reads do.
        let mut original = original;
        original.referenced_message = None;
        message.referenced_message = Some(Some(Box::new(original)));
    }
    if channel.kind.is_thread() {
        super::threads::before_post(&state, &channel, perms).await?;
    }
    // Files first: a message is never written pointing at a file that is
    // not stored, and `stored` deletes them again if the write fails.
    let stored = files::store(&state, uploads).await?;
    message.attachments = stored.attachments.clone();
    stored.write(&state, &message, files::Write::Create).await?;
    state.message_created(&message, Some(&access.member));
    state.metrics.messages_created.inc();
    if channel.kind.is_thread() {
        // The message is written: a failure here only misses the join.
        if let Err(e) = super::threads::after_post(&state, &channel, message.author.id).await {
            tracing::warn!(error = ?e, thread = %channel.id, "could not add the author to the thread");
        }
    }
    Ok(message)
}

/// Applies an edit's `attachments` (the ones to keep) to the message;
/// returns those removed, whose files go once the edit is written.
pub(crate) fn keep_attachments(
    message: &mut Message,
    keep: Option<&Option<Vec<hearth_proto::rest::AttachmentRef>>>,
    added: usize,
) -> ApiResult<Vec<hearth_model::Attachment>> {
    let removed = match keep {
        None => Vec::new(),
        Some(keep) => {
            let keep: Vec<Snowflake> = keep.iter().flatten().filter_map(|r| r.existing()).collect();
            let (kept, removed) = std::mem::take(&mut message.attachments)
                .into_iter()
                .partition(|a| keep.contains(&a.id));
            message.attachments = kept;
            removed
        }
    };
    if message.attachments.len() + added > hearth_model::attachments::MAX_ATTACHMENTS {
        return Err(FormErrors::single(
            "attachments",
            "BASE_TYPE_MAX_LENGTH",
            format!(
                "Must be {} or fewer in length.",
                hearth_model::attachments::MAX_ATTACHMENTS
            ),
        )
        .into());
    }
    Ok(removed)
}

/// The kinds `allowed_mentions.parse` may name.
const MENTION_KINDS: [&str; 3] = ["users", "roles", "everyone"];

/// Discord's checks of `allowed_mentions`: known kinds, at most 100 ids
/// each, and a kind not both parsed wholesale and listed.
pub(crate) fn check_allowed_mentions(allowed: &AllowedMentions) -> ApiResult<()> {
    let mut errors = FormErrors::new();
    let parse = allowed.parse.as_deref().unwrap_or_default();
    for (i, kind) in parse.iter().enumerate() {
        if !MENTION_KINDS.contains(&kind.as_str()) {
            errors.add(
                &format!("allowed_mentions.parse.{i}"),
                "BASE_TYPE_CHOICES",
                "Value must be one of ('roles', 'users', 'everyone').",
            );
        }
    }
    for (field, ids) in [("users", &allowed.users), ("roles", &allowed.roles)] {
        let Some(ids) = ids else { continue };
        if ids.len() > MAX_MENTIONS {
            errors.add(
                &format!("allowed_mentions.{field}"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 100 or fewer in length.",
            );
        }
        if !ids.is_empty() && parse.iter().any(|k| k == field) {
            errors.add(
                "allowed_mentions",
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                format!("parse:[\"{field}\"] and {field}: [ids] are mutually exclusive."),
            );
        }
    }
    errors.finish()?;
    Ok(())
}

/// Keeps of the content's mentions those `allowed` lets count, and adds
/// the replied-to author when it asks.
pub(crate) fn apply_allowed_mentions(
    message: &mut Message,
    allowed: &AllowedMentions,
    replied_author: Option<hearth_model::User>,
) {
    let parse = allowed.parse.as_deref().unwrap_or_default();
    let parses = |kind: &str| parse.iter().any(|k| k == kind);
    if !parses("users") {
        let listed = allowed.users.as_deref().unwrap_or_default();
        message.mentions.retain(|u| listed.contains(&u.id));
    }
    if !parses("roles") {
        let listed = allowed.roles.as_deref().unwrap_or_default();
        message.mention_roles.retain(|r| listed.contains(r));
    }
    if !parses("everyone") {
        message.mention_everyone = false;
    }
    if let Some(author) = replied_author.filter(|_| allowed.replied_user) {
        if !message.mentions.iter().any(|u| u.id == author.id) {
            message.mentions.push(author);
        }
    }
}

/// The page a query asks for: at most one cursor, limit 1–100 (default 50).
fn page_of(q: &MessagesQuery) -> ApiResult<(Page, u32)> {
    let mut errors = FormErrors::new();
    let limit = match &q.limit {
        None => 50,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => n,
            Ok(0) => {
                errors.add("limit", "NUMBER_TYPE_MIN", "Must be between 1 and 100.");
                50
            }
            Ok(_) => {
                errors.add("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 100.");
                50
            }
            Err(_) => {
                errors.add("limit", "NUMBER_TYPE_COERCE", "Must be between 1 and 100.");
                50
            }
        },
    };
    let mut cursors = Vec::new();
    for (name, value, make) in [
        ("before", &q.before, Page::Before as fn(Snowflake) -> Page),
        ("after", &q.after, Page::After),
        ("around", &q.around, Page::Around),
    ] {
        if let Some(v) = value {
            match v.parse::<Snowflake>() {
                Ok(id) => cursors.push(make(id)),
                Err(_) => errors.add(
                    name,
                    "NUMBER_TYPE_COERCE",
                    format!("Value \"{v}\" is not snowflake."),
                ),
            }
        }
    }
    if cursors.len() > 1 {
        errors.add(
            "",
            "BASE_TYPE_INVALID",
            "Only one of before, after and around may be given.",
        );
    }
    errors.finish()?;
    Ok((cursors.pop().unwrap_or(Page::Latest), limit))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    Query(q): Query<MessagesQuery>,
) -> ApiResult<Json<Vec<Message>>> {
    let id = snowflake("channel_id", &channel_id)?;
    let (page, limit) = page_of(&q)?;
    let place = access::place(&state, id, caller.user.id).await?;
    if !place
        .permissions()
        .contains(Permissions::READ_MESSAGE_HISTORY)
    {
        return Ok(Json(Vec::new()));
    }
    let mut messages = state
        .messages
        .list(place.id(), page, limit)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    super::reactions::fill_reactions(&state, place.id(), &mut messages, caller.user.id).await?;
    Ok(Json(messages))
}

async fn find(
    state: &AppState,
    caller: &Caller,
    channel_id: &str,
    message_id: &str,
) -> ApiResult<(Message, Place)> {
    let id = snowflake("channel_id", channel_id)?;
    let message_id = snowflake("message_id", message_id)?;
    let place = access::place(state, id, caller.user.id).await?;
    let message = state
        .messages
        .get(place.id(), message_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_MESSAGE)?;
    Ok((message, place))
}

async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> ApiResult<Json<Message>> {
    let (message, place) = find(&state, &caller, &channel_id, &message_id).await?;
    if !place
        .permissions()
        .contains(Permissions::READ_MESSAGE_HISTORY)
    {
        return Err(ErrorCode::MISSING_ACCESS.into());
    }
    let mut one = [message];
    super::reactions::fill_reactions(&state, one[0].channel_id, &mut one, caller.user.id).await?;
    let [message] = one;
    Ok(Json(message))
}

async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, message_id)): Path<(String, String)>,
    MessageForm { body, uploads }: MessageForm<EditMessage>,
) -> ApiResult<Json<Message>> {
    let (message, place) = find(&state, &caller, &channel_id, &message_id).await?;
    place.writable()?;
    let perms = place.permissions();
    if message.author.id != caller.user.id || message.webhook_id.is_some() {
        return Err(ErrorCode::CANNOT_EDIT_OTHERS_MESSAGE.into());
    }
    // A pin's notice or a call's message records what happened.
    if matches!(
        message.kind,
        message_type::CHANNEL_PINNED_MESSAGE | message_type::CALL
    ) {
        return Err(ErrorCode::SYSTEM_MESSAGE.into());
    }
    if !uploads.is_empty() && matches!(place, Place::Guild { .. }) {
        access::require(perms, Permissions::ATTACH_FILES)?;
    }
    if let Some(allowed) = &body.allowed_mentions {
        check_allowed_mentions(allowed)?;
    }
    let patch = AuthorEdit {
        state: &state,
        place: &place,
        body: &body,
    };
    let message = edit::write(&state, message, uploads, &patch).await?;
    match &place {
        Place::Guild { .. } => state.message_updated(&message),
        Place::Private(c) => state.direct(&c.recipient_ids(), |_| {
            DirectEvent::MessageUpdate(message.clone())
        }),
    }
    let mut one = [message];
    super::reactions::fill_reactions(&state, one[0].channel_id, &mut one, caller.user.id).await?;
    let [message] = one;
    Ok(Json(message))
}

/// An author's edit of their message.
struct AuthorEdit<'a> {
    state: &'a AppState,
    place: &'a Place,
    body: &'a EditMessage,
}

impl edit::Patch for AuthorEdit<'_> {
    fn apply<'a>(
        &'a self,
        message: &'a mut Message,
        added: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ApiResult<bool>> + Send + 'a>> {
        Box::pin(apply_edit(
            self.state, self.place, self.body, message, added,
        ))
    }
}

async fn apply_edit(
    state: &AppState,
    place: &Place,
    body: &EditMessage,
    message: &mut Message,
    added: usize,
) -> ApiResult<bool> {
    let removed = keep_attachments(message, body.attachments.as_ref(), added)?;
    if let Some(content) = &body.content {
        message.content = content.clone().unwrap_or_default();
    }
    if let Some(embeds) = &body.embeds {
        message.embeds = embeds.clone().unwrap_or_default();
    }
    if let Some(flags) = body.flags {
        // Only SUPPRESS_EMBEDS may be toggled by the author.
        message.flags = (message.flags & !4) | (flags & 4);
    }
    check_draft(
        &message.content,
        &message.embeds,
        message.attachments.len() + added,
    )?;
    let mentions = match place {
        Place::Guild { access, perms, .. } => {
            resolve_mentions(
                state,
                &access.guild,
                &message.content,
                perms.contains(Permissions::MENTION_EVERYONE),
            )
            .await?
        }
        Place::Private(_) => resolve_private_mentions(state, &message.content).await?,
    };
    message.mentions = mentions.users;
    message.mention_roles = mentions.roles;
    message.mention_everyone = mentions.everyone;
    if let Some(allowed) = &body.allowed_mentions {
        // A reply keeps its target author only if asked, as on create.
        let replied_author = message
            .referenced_message
            .as_ref()
            .and_then(|r| r.as_deref())
            .map(|r| r.author.clone());
        apply_allowed_mentions(message, allowed, replied_author);
    }
    Ok(!removed.is_empty())
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (message, place) = find(&state, &caller, &channel_id, &message_id).await?;
    let own = message.author.id == caller.user.id && message.webhook_id.is_none();
    if !own {
        access::require(place.permissions(), Permissions::MANAGE_MESSAGES)?;
    }
    if state
        .messages
        .delete(message.channel_id, message.id)
        .await?
    {
        if let (Some(files), false) = (state.files(), message.attachments.is_empty()) {
            files.reap_soon();
        }
        match &place {
            Place::Guild { channel, .. } => {
                state.message_deleted(channel.guild_id, message.channel_id, message.id)
            }
            Place::Private(c) => state.direct(&c.recipient_ids(), |_| DirectEvent::MessageDelete {
                id: message.id,
                channel_id: c.id,
            }),
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn bulk_delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    Body(body): Body<BulkDelete>,
) -> ApiResult<StatusCode> {
    let id = snowflake("channel_id", &channel_id)?;
    let mut ids = body.messages;
    ids.sort();
    ids.dedup();
    if !(2..=100).contains(&ids.len()) {
        return Err(FormErrors::single(
            "messages",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 2 and 100 in length.",
        )
        .into());
    }
    let (channel, _, perms) = access::channel(&state, id, caller.user.id).await?;
    access::require(perms, Permissions::MANAGE_MESSAGES)?;
    let oldest_allowed =
        hearth_model::snowflake::now_unix_ms().saturating_sub(BULK_DELETE_MAX_AGE_MS);
    if ids.iter().any(|m| m.timestamp_ms() < oldest_allowed) {
        return Err(ErrorCode::BULK_DELETE_TOO_OLD.into());
    }
    if state.messages.delete_many(channel.id, &ids).await? > 0 {
        if let Some(files) = state.files() {
            files.reap_soon();
        }
        state.messages_deleted(channel.guild_id, channel.id, &ids);
    }
    Ok(StatusCode::NO_CONTENT)
}
