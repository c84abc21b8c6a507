//! Direct and group messages: opening DMs and group DMs, their recipients,
//! and the channel routes (`GET/PATCH/DELETE /channels/{id}`, messages,
//! typing) as they apply to a private channel.
//!
//! Who may message whom: a DM may be opened with, and written to, a user
//! who shares a guild with the caller (Discord's rule without friends); a
//! group DM's recipients are added by its members, each sharing a guild
//! with whoever adds them. Bots may open DMs, never group DMs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use hearth_model::{message_type, Message, PrivateChannel, PrivateChannelType, Snowflake, User};
use hearth_proto::events::DirectEvent;
use hearth_proto::rest::CreateMessage;
use hearth_proto::{ErrorCode, FormErrors};
use serde::Deserialize;

use crate::access::{self, Place};
use crate::error::ApiResult;
use crate::extract::{snowflake, Body, Caller};
use crate::state::AppState;

/// Users in one group DM, the caller included, as on Discord.
pub const MAX_GROUP_RECIPIENTS: usize = 10;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users/@me/channels", get(list).post(open))
        .route(
            "/channels/{channel_id}/recipients/{user_id}",
            put(add_recipient).delete(remove_recipient),
        )
}

#[derive(Debug, Deserialize)]
struct OpenBody {
    #[serde(default)]
    recipient_id: Option<Snowflake>,
    #[serde(default)]
    recipients: Option<Vec<Snowflake>>,
    #[serde(default)]
    name: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<PrivateChannel>>> {
    let me = caller.user.id;
    let channels = state.store.private_channels_of(me).await?;
    Ok(Json(channels.iter().map(|c| c.seen_by(me)).collect()))
}

/// A user the caller may message: 10013 when unknown, 50007 when they
/// share no guild or either blocks the other.
async fn reachable(state: &AppState, from: Snowflake, to: Snowflake) -> ApiResult<User> {
    let user = state.store.user(to).await?.ok_or(ErrorCode::UNKNOWN_USER)?;
    if to != from
        && (!state.store.share_a_guild(from, to).await?
            || state.store.blocked_between(from, to).await?)
    {
        return Err(ErrorCode::CANNOT_MESSAGE_USER.into());
    }
    Ok(user)
}

async fn open(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<OpenBody>,
) -> ApiResult<Json<PrivateChannel>> {
    let me = caller.user.id;
    match (body.recipient_id, body.recipients) {
        (Some(to), None) => {
            reachable(&state, me, to).await?;
            let (channel, made) = state.store.open_dm(state.ids.next(), me, to).await?;
            if made {
                // Only the opener hears of it now; the other side when the
                // first message comes.
                state.direct(&[me], |r| DirectEvent::ChannelCreate(channel.seen_by(r)));
            }
            Ok(Json(channel.seen_by(me)))
        }
        (None, Some(mut ids)) => {
            if caller.user.bot {
                return Err(ErrorCode::BOTS_CANNOT_USE.into());
            }
            ids.sort();
            ids.dedup();
            ids.retain(|id| *id != me);
            if ids.len() + 1 > MAX_GROUP_RECIPIENTS {
                return Err(ErrorCode::MAX_RECIPIENTS.into());
            }
            let mut errors = FormErrors::new();
            if let Some(name) = &body.name {
                errors.check_len("name", name, 1, 100);
            }
            errors.finish()?;
            let mut recipients = vec![caller.user.clone()];
            for id in ids {
                let user = reachable(&state, me, id).await?;
                // Group DMs are for people, as on Discord.
                if user.bot {
                    return Err(ErrorCode::CANNOT_MESSAGE_USER.into());
                }
                recipients.push(user);
            }
            let channel = PrivateChannel {
                id: state.ids.next(),
                kind: PrivateChannelType::GroupDm,
                last_message_id: None,
                recipients,
                name: body.name.filter(|n| !n.trim().is_empty()),
                icon: None,
                owner_id: Some(me),
                flags: 0,
            };
            state.store.create_group_dm(&channel).await?;
            state.direct(&channel.recipient_ids(), |r| {
                DirectEvent::ChannelCreate(channel.seen_by(r))
            });
            Ok(Json(channel.seen_by(me)))
        }
        _ => Err(FormErrors::single(
            "recipient_id",
            "BASE_TYPE_REQUIRED",
            "Give recipient_id for a DM or recipients for a group DM.",
        )
        .into()),
    }
}

/// A group DM the caller is in: 10003 when there is none, 50001 when they
/// are not in it, 50024 for a DM.
async fn group_of(
    state: &AppState,
    caller: &Caller,
    channel_id: &str,
) -> ApiResult<PrivateChannel> {
    let id = snowflake("channel_id", channel_id)?;
    match access::place(state, id, caller.user.id).await? {
        Place::Private(c) if c.kind == PrivateChannelType::GroupDm => Ok(c),
        _ => Err(ErrorCode::INVALID_CHANNEL_TYPE.into()),
    }
}

async fn add_recipient(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let group = group_of(&state, &caller, &channel_id).await?;
    let user_id = snowflake("user_id", &user_id)?;
    let user = reachable(&state, caller.user.id, user_id).await?;
    if user.bot {
        return Err(ErrorCode::CANNOT_MESSAGE_USER.into());
    }
    if !state
        .store
        .add_recipient(group.id, user_id, MAX_GROUP_RECIPIENTS)
        .await?
    {
        return Ok(StatusCode::NO_CONTENT);
    }
    let others = group.recipient_ids();
    state.direct(&others, |_| DirectEvent::RecipientAdd {
        channel_id: group.id,
        user: user.clone(),
    });
    if let Some(now) = state.store.private_channel(group.id).await? {
        state.direct(&[user_id], |r| DirectEvent::ChannelCreate(now.seen_by(r)));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_recipient(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let group = group_of(&state, &caller, &channel_id).await?;
    let user_id = snowflake("user_id", &user_id)?;
    // The owner removes others; anyone may leave.
    if user_id != caller.user.id && group.owner_id != Some(caller.user.id) {
        return Err(ErrorCode::MISSING_PERMISSIONS.into());
    }
    let Some(user) = group.recipients.iter().find(|u| u.id == user_id).cloned() else {
        return Err(ErrorCode::UNKNOWN_USER.into());
    };
    leave(&state, &group, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a user out of a group DM and tells everyone.
async fn leave(state: &AppState, group: &PrivateChannel, user: User) -> ApiResult<()> {
    let after = state.store.remove_recipient(group.id, user.id).await?;
    state.messages.changed(group.id);
    state.direct(&[user.id], |r| DirectEvent::ChannelDelete(group.seen_by(r)));
    if let Some(after) = after {
        state.direct(&after.recipient_ids(), |_| DirectEvent::RecipientRemove {
            channel_id: group.id,
            user: user.clone(),
        });
        if after.owner_id != group.owner_id {
            state.direct(&after.recipient_ids(), |r| {
                DirectEvent::ChannelUpdate(after.seen_by(r))
            });
        }
    }
    Ok(())
}

/// `GET /channels/{id}` of a private channel.
pub(super) fn shown(caller: &Caller, channel: &PrivateChannel) -> PrivateChannel {
    channel.seen_by(caller.user.id)
}

/// `PATCH /channels/{id}` of a group DM: its name, by any member.
pub(super) async fn patch(
    state: &AppState,
    caller: &Caller,
    channel: PrivateChannel,
    name: Option<String>,
) -> ApiResult<PrivateChannel> {
    if channel.kind != PrivateChannelType::GroupDm {
        return Err(ErrorCode::INVALID_CHANNEL_TYPE.into());
    }
    let Some(name) = name else {
        return Ok(channel.seen_by(caller.user.id));
    };
    // An empty name clears it.
    let name = Some(name).filter(|n| !n.trim().is_empty());
    let mut errors = FormErrors::new();
    if let Some(n) = &name {
        errors.check_len("name", n, 1, 100);
    }
    errors.finish()?;
    state
        .store
        .rename_group_dm(channel.id, name.as_deref())
        .await?;
    let mut now = channel;
    now.name = name;
    state.direct(&now.recipient_ids(), |r| {
        DirectEvent::ChannelUpdate(now.seen_by(r))
    });
    Ok(now.seen_by(caller.user.id))
}

/// `DELETE /channels/{id}`: closes a DM (it comes back with the next
/// message) or leaves a group DM.
pub(super) async fn remove(
    state: &AppState,
    caller: &Caller,
    channel: PrivateChannel,
) -> ApiResult<PrivateChannel> {
    let me = caller.user.id;
    match channel.kind {
        PrivateChannelType::Dm => {
            state.store.close_dm(channel.id, me).await?;
            state.direct(&[me], |r| DirectEvent::ChannelDelete(channel.seen_by(r)));
        }
        PrivateChannelType::GroupDm => leave(state, &channel, caller.user.clone()).await?,
    }
    Ok(channel.seen_by(me))
}

/// `POST /channels/{id}/typing` in a private channel.
pub(super) fn typing(state: &AppState, caller: &Caller, channel: &PrivateChannel) {
    let timestamp = hearth_model::snowflake::now_unix_ms() / 1000;
    state.direct(&channel.recipient_ids(), |_| DirectEvent::TypingStart {
        channel_id: channel.id,
        user_id: caller.user.id,
        timestamp,
    });
}

/// A DM's other user must still share a guild with the writer, and
/// neither may block the other; a group DM's recipients may always write
/// to it.
pub(crate) async fn may_write(
    state: &AppState,
    from: Snowflake,
    channel: &PrivateChannel,
) -> ApiResult<()> {
    if channel.kind == PrivateChannelType::Dm {
        for other in channel.recipients.iter().filter(|u| u.id != from) {
            if !state.store.share_a_guild(from, other.id).await?
                || state.store.blocked_between(from, other.id).await?
            {
                return Err(ErrorCode::CANNOT_MESSAGE_USER.into());
            }
        }
    }
    Ok(())
}

/// `POST /channels/{id}/messages` in a private channel.
pub(super) async fn post(
    state: &AppState,
    caller: Caller,
    channel: PrivateChannel,
    body: CreateMessage,
    uploads: Vec<crate::files::Upload>,
) -> ApiResult<Message> {
    may_write(state, caller.user.id, &channel).await?;
    let content = body.content.unwrap_or_default();
    let embeds = body
        .embeds
        .or(body.embed.map(|e| vec![e]))
        .unwrap_or_default();
    super::messages::check_draft(&content, &embeds, uploads.len())?;
    super::messages::check_nonce(&body.nonce)?;
    if let Some(allowed) = &body.allowed_mentions {
        super::messages::check_allowed_mentions(allowed)?;
    }
    let reference = match body.message_reference {
        Some(mut r) => {
            let same_channel = r.channel_id.is_none_or(|c| c == channel.id);
            let original = match r.message_id {
                Some(target) if same_channel => state.messages.get(channel.id, target).await?,
                _ => None,
            };
            if original.is_none() && r.fail_if_not_exists {
                return Err(FormErrors::single(
                    "message_reference",
                    "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                    "Unknown message",
                )
                .into());
            }
            r.channel_id = Some(channel.id);
            r.guild_id = None;
            original.map(|o| (r, o))
        }
        None => None,
    };
    let mentions = super::messages::resolve_private_mentions(state, &content).await?;
    let mut message = super::messages::system_message(
        state,
        channel.id,
        None,
        caller.user,
        message_type::DEFAULT,
        None,
    );
    message.content = content;
    message.embeds = embeds;
    message.mentions = mentions.users;
    message.tts = body.tts;
    message.nonce = body.nonce.filter(|n| !n.is_null());
    if let Some(allowed) = &body.allowed_mentions {
        let replied_author = reference.as_ref().map(|(_, o)| o.author.clone());
        super::messages::apply_allowed_mentions(&mut message, allowed, replied_author);
    }
    if let Some((r, mut original)) = reference {
        message.kind = message_type::REPLY;
        message.message_reference = Some(r);
        original.referenced_message = None;
        message.referenced_message = Some(Some(Box::new(original)));
    }
    let stored = crate::files::store(state, uploads).await?;
    message.attachments = stored.attachments.clone();
    stored
        .write(state, &message, crate::files::Write::Create)
        .await?;
    // A closed DM comes back into the lists it left with this message.
    state.direct(&channel.recipient_ids(), |_| {
        DirectEvent::MessageCreate(message.clone())
    });
    state.metrics.messages_created.inc();
    Ok(message)
}
