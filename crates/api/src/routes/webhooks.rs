//! Incoming webhooks: a URL with a secret token that posts into a channel
//! without a user account — how operators push events and KPIs into chat.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hearth_model::{ChannelType, Message, Permissions, User, Webhook};
use hearth_proto::interactions::EditWebhookMessage;
use hearth_proto::rest::{CreateWebhook, ExecuteQuery, ExecuteWebhook};
use hearth_proto::{ErrorCode, FormErrors};

use super::messages::{
    apply_allowed_mentions, build_message, check_allowed_mentions, check_draft, resolve_mentions,
    Draft,
};
use crate::access;
use crate::auth;
use crate::error::ApiResult;
use crate::extract::{snowflake, Body, Caller, Query};
use crate::files::MessageForm;
use crate::state::AppState;

/// Random bytes of a webhook token: 51 encode to 68 characters.
const WEBHOOK_TOKEN_BYTES: usize = 51;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/channels/{channel_id}/webhooks", get(list).post(create))
        .route("/guilds/{guild_id}/webhooks", get(list_guild))
        .route("/webhooks/{webhook_id}", get(get_one).delete(remove))
        .route(
            "/webhooks/{webhook_id}/{token}",
            get(get_with_token).post(execute).delete(remove_with_token),
        )
}

fn check_name(name: &str, errors: &mut FormErrors) {
    errors.check_name("name", name, 1, 80);
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    Body(body): Body<CreateWebhook>,
) -> ApiResult<Json<Webhook>> {
    let id = snowflake("channel_id", &channel_id)?;
    let (channel, _, perms) = access::channel(&state, id, caller.user.id).await?;
    access::require(perms, Permissions::MANAGE_WEBHOOKS)?;
    if channel.kind != ChannelType::Text {
        return Err(ErrorCode::INVALID_CHANNEL_TYPE.into());
    }
    let mut errors = FormErrors::new();
    check_name(&body.name, &mut errors);
    errors.finish()?;
    let webhook = Webhook {
        id: state.ids.next(),
        kind: 1,
        guild_id: channel.guild_id,
        channel_id: channel.id,
        name: Some(body.name),
        avatar: body.avatar,
        // 68 URL-safe characters, the length and alphabet of Discord's
        // tokens, which webhook clients check URLs against.
        token: Some(auth::random_code(WEBHOOK_TOKEN_BYTES)),
        user: Some(caller.user),
        application_id: None,
    };
    state
        .store
        .create_webhook(&webhook, state.config.limits.webhooks_per_channel)
        .await?;
    Ok(Json(webhook))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
) -> ApiResult<Json<Vec<Webhook>>> {
    let id = snowflake("channel_id", &channel_id)?;
    let (channel, _, perms) = access::channel(&state, id, caller.user.id).await?;
    access::require(perms, Permissions::MANAGE_WEBHOOKS)?;
    Ok(Json(state.store.channel_webhooks(channel.id).await?))
}

/// A message the webhook whose token this is sent, in its channel.
async fn own_message(
    state: &AppState,
    webhook_id: &str,
    token: &str,
    message_id: &str,
) -> ApiResult<(Webhook, Message)> {
    let webhook = by_token(state, webhook_id, token).await?;
    let id = snowflake("message_id", message_id)?;
    let message = state
        .messages
        .get(webhook.channel_id, id)
        .await?
        .filter(|m| m.webhook_id == Some(webhook.id))
        .ok_or(ErrorCode::UNKNOWN_MESSAGE)?;
    Ok((webhook, message))
}

/// `GET /webhooks/{id}/{token}/messages/{message}` of an ordinary webhook.
pub(super) async fn get_own_message(
    state: &AppState,
    webhook_id: &str,
    token: &str,
    message_id: &str,
) -> ApiResult<Json<Message>> {
    Ok(Json(
        own_message(state, webhook_id, token, message_id).await?.1,
    ))
}

/// `PATCH` of the same: content and embeds, as on create.
pub(super) async fn edit_own_message(
    state: &AppState,
    webhook_id: &str,
    token: &str,
    message_id: &str,
    body: EditWebhookMessage,
    uploads: Vec<crate::files::Upload>,
) -> ApiResult<Json<Message>> {
    if body
        .components
        .as_ref()
        .is_some_and(|c| c.as_ref().is_some_and(|c| !c.is_empty()))
    {
        return Err(FormErrors::single(
            "components",
            "COMPONENT_NOT_ALLOWED",
            "Only application-owned webhooks can send components",
        )
        .into());
    }
    let (webhook, message) = own_message(state, webhook_id, token, message_id).await?;
    if let Some(allowed) = &body.allowed_mentions {
        check_allowed_mentions(allowed)?;
    }
    let guild = state
        .store
        .guild(webhook.guild_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_GUILD)?;
    let patch = WebhookEdit {
        state,
        guild: &guild,
        body: &body,
    };
    let message = crate::messages::edit::write(state, message, uploads, &patch).await?;
    state.message_updated(&message);
    Ok(Json(message))
}

/// A webhook's edit of its own message.
struct WebhookEdit<'a> {
    state: &'a AppState,
    guild: &'a hearth_model::Guild,
    body: &'a EditWebhookMessage,
}

impl crate::messages::edit::Patch for WebhookEdit<'_> {
    fn apply<'a>(
        &'a self,
        message: &'a mut Message,
        added: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ApiResult<bool>> + Send + 'a>> {
        Box::pin(async move {
            let body = self.body;
            let removed =
                super::messages::keep_attachments(message, body.attachments.as_ref(), added)?;
            if let Some(content) = &body.content {
                message.content = content.clone().unwrap_or_default();
            }
            if let Some(embeds) = &body.embeds {
                message.embeds = embeds.clone().unwrap_or_default();
            }
            check_draft(
                &message.content,
                &message.embeds,
                message.attachments.len() + added,
            )?;
            let mentions = resolve_mentions(self.state, self.guild, &message.content, true).await?;
            message.mentions = mentions.users;
            message.mention_roles = mentions.roles;
            message.mention_everyone = mentions.everyone;
            if let Some(allowed) = &body.allowed_mentions {
                apply_allowed_mentions(message, allowed, None);
            }
            Ok(!removed.is_empty())
        })
    }
}

/// `DELETE` of the same.
pub(super) async fn delete_own_message(
    state: &AppState,
    webhook_id: &str,
    token: &str,
    message_id: &str,
) -> ApiResult<StatusCode> {
    let (webhook, message) = own_message(state, webhook_id, token, message_id).await?;
    if state
        .messages
        .delete(message.channel_id, message.id)
        .await?
    {
        state.message_deleted(webhook.guild_id, message.channel_id, message.id);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Every webhook of the guild's channels (MANAGE_WEBHOOKS in the guild).
async fn list_guild(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
) -> ApiResult<Json<Vec<Webhook>>> {
    let guild_id = snowflake("guild_id", &guild_id)?;
    let access = access::guild(&state, guild_id, caller.user.id).await?;
    access.require(Permissions::MANAGE_WEBHOOKS)?;
    let mut all = Vec::new();
    for channel in state.store.channels(guild_id).await? {
        all.extend(state.store.channel_webhooks(channel.id).await?);
    }
    Ok(Json(all))
}

/// A webhook the caller manages (MANAGE_WEBHOOKS in its channel).
async fn managed(state: &AppState, caller: &Caller, webhook_id: &str) -> ApiResult<Webhook> {
    let id = snowflake("webhook_id", webhook_id)?;
    let webhook = state
        .store
        .webhook(id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_WEBHOOK)?;
    let (_, _, perms) = access::channel(state, webhook.channel_id, caller.user.id).await?;
    access::require(perms, Permissions::MANAGE_WEBHOOKS)?;
    Ok(webhook)
}

async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(webhook_id): Path<String>,
) -> ApiResult<Json<Webhook>> {
    Ok(Json(managed(&state, &caller, &webhook_id).await?))
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(webhook_id): Path<String>,
) -> ApiResult<StatusCode> {
    let webhook = managed(&state, &caller, &webhook_id).await?;
    state.store.delete_webhook(webhook.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The webhook named by an execute URL, if the token matches.
async fn by_token(state: &AppState, webhook_id: &str, token: &str) -> ApiResult<Webhook> {
    let id = snowflake("webhook_id", webhook_id)?;
    if let Some(found) = state.store.webhook_with_token(id, token).await? {
        return Ok(found);
    }
    Err(match state.store.webhook(id).await? {
        Some(_) => ErrorCode::INVALID_WEBHOOK_TOKEN.into(),
        None => ErrorCode::UNKNOWN_WEBHOOK.into(),
    })
}

async fn get_with_token(
    State(state): State<AppState>,
    Path((webhook_id, token)): Path<(String, String)>,
) -> ApiResult<Json<Webhook>> {
    let mut webhook = by_token(&state, &webhook_id, &token).await?;
    webhook.user = None;
    Ok(Json(webhook))
}

async fn remove_with_token(
    State(state): State<AppState>,
    Path((webhook_id, token)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let webhook = by_token(&state, &webhook_id, &token).await?;
    state.store.delete_webhook(webhook.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn execute(
    State(state): State<AppState>,
    Path((webhook_id, token)): Path<(String, String)>,
    Query(query): Query<ExecuteQuery>,
    MessageForm { body, uploads }: MessageForm<ExecuteWebhook>,
) -> ApiResult<Response> {
    // An application's id with an interaction's token: a follow-up.
    let id = snowflake("webhook_id", &webhook_id)?;
    if let Some(rec) = super::interactions::by_token(&state, id, &token).await? {
        return super::interactions::follow_up(&state, &rec, body, uploads).await;
    }
    let webhook = by_token(&state, &webhook_id, &token).await?;
    if body.components.is_some() || body.flags.is_some_and(|f| f != 0) {
        // Only an application's webhooks send components (Discord's rule).
        return Err(FormErrors::single(
            "components",
            "COMPONENT_NOT_ALLOWED",
            "Only application-owned webhooks can send components",
        )
        .into());
    }
    let content = body.content.unwrap_or_default();
    let embeds = body.embeds.unwrap_or_default();
    let mut errors = FormErrors::new();
    if let Some(name) = &body.username {
        errors.check_name("username", name, 1, 80);
    }
    errors.finish()?;
    check_draft(&content, &embeds, uploads.len())?;
    if let Some(allowed) = &body.allowed_mentions {
        check_allowed_mentions(allowed)?;
    }
    let channel = state
        .store
        .channel(webhook.channel_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_CHANNEL)?;
    let guild = state
        .store
        .guild(webhook.guild_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_GUILD)?;
    let author = User {
        id: webhook.id,
        username: body
            .username
            .or(webhook.name.clone())
            .unwrap_or_else(|| "Captain Hook".into()),
        discriminator: "0000".into(),
        global_name: None,
        avatar: body.avatar_url.or(webhook.avatar.clone()),
        bot: true,
    };
    let draft = Draft {
        author,
        content,
        embeds,
        tts: body.tts,
        webhook_id: Some(webhook.id),
    };
    let mut message = build_message(&state, &channel, &guild, draft, true).await?;
    if let Some(allowed) = &body.allowed_mentions {
        apply_allowed_mentions(&mut message, allowed, None);
    }
    let stored = crate::files::store(&state, uploads).await?;
    message.attachments = stored.attachments.clone();
    stored
        .write(&state, &message, crate::files::Write::Create)
        .await?;
    state.message_created(&message, None);
    state.metrics.messages_created.inc();
    if query.wait == Some(true) {
        Ok(Json(message).into_response())
    } else {
        Ok(StatusCode::NO_CONTENT.into_response())
    }
}
