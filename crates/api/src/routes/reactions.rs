//! Reactions on messages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use hearth_model::{Channel, Emoji, Message, Permissions, Reaction, Snowflake, Timestamp, User};
use hearth_proto::events::ReactionChange;
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::{NewEmoji, Reacted, ReactionKey};
use serde::Deserialize;

use crate::access::{self, GuildAccess};
use crate::error::{ApiError, ApiResult};
use crate::extract::{snowflake, Caller, Query};
use crate::messages::emoji::is_unicode_emoji;
use crate::state::AppState;

/// Distinct emoji on one message, as on Discord.
pub const MAX_EMOJI_PER_MESSAGE: usize = 20;

pub fn routes() -> Router<AppState> {
    let base = "/channels/{channel_id}/messages/{message_id}/reactions";
    Router::new()
        .route(base, delete(remove_all))
        .route(
            &format!("{base}/{{emoji}}"),
            get(reactors).delete(remove_emoji),
        )
        .route(
            &format!("{base}/{{emoji}}/{{user}}"),
            axum::routing::put(add).delete(remove_one),
        )
}

/// The message a reaction route names, with the caller's access to it.
struct Target {
    channel: Channel,
    access: GuildAccess,
    perms: Permissions,
    message: Message,
}

async fn target(
    state: &AppState,
    caller: &Caller,
    channel_id: &str,
    message_id: &str,
) -> ApiResult<Target> {
    let channel_id = snowflake("channel_id", channel_id)?;
    let message_id = snowflake("message_id", message_id)?;
    let (channel, access, perms) = access::channel(state, channel_id, caller.user.id).await?;
    // Reacting, and seeing who reacted, needs the message's history.
    access::require(perms, Permissions::READ_MESSAGE_HISTORY)?;
    let message = state
        .messages
        .get(channel.id, message_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_MESSAGE)?;
    Ok(Target {
        channel,
        access,
        perms,
        message,
    })
}

/// The emoji a path names: a unicode emoji (percent-decoded by the
/// router). `name:id` names a custom emoji, and there are none yet.
fn emoji_of(raw: &str) -> ApiResult<Emoji> {
    if is_unicode_emoji(raw) {
        Ok(Emoji {
            id: None,
            name: Some(raw.to_owned()),
        })
    } else {
        Err(ErrorCode::UNKNOWN_EMOJI.into())
    }
}

fn key<'a>(t: &Target, emoji: &'a Emoji) -> ReactionKey<'a> {
    ReactionKey {
        channel_id: t.channel.id,
        message_id: t.message.id,
        emoji: emoji.name.as_deref().unwrap_or_default(),
    }
}

fn change(t: &Target, user_id: Snowflake, emoji: Emoji) -> ReactionChange {
    ReactionChange {
        user_id,
        channel_id: t.channel.id,
        message_id: t.message.id,
        guild_id: t.channel.guild_id,
        emoji,
    }
}

async fn add(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, message_id, emoji, user)): Path<(String, String, String, String)>,
) -> ApiResult<StatusCode> {
    if user != "@me" {
        // Discord has no way to add another user's reaction.
        return Err(ErrorCode::NOT_FOUND.into());
    }
    let t = target(&state, &caller, &channel_id, &message_id).await?;
    let emoji = emoji_of(&emoji)?;
    // A timed-out member may read but not react, even with emoji already
    // there.
    let timed_out = t
        .access
        .member
        .communication_disabled_until
        .is_some_and(|until| until > t.access.now);
    if timed_out {
        return Err(ErrorCode::MISSING_PERMISSIONS.into());
    }
    let new_emoji = if t.perms.contains(Permissions::ADD_REACTIONS) {
        NewEmoji::Allowed {
            max: MAX_EMOJI_PER_MESSAGE,
        }
    } else {
        NewEmoji::Forbidden
    };
    let reacted = state
        .store
        .add_reaction(key(&t, &emoji), caller.user.id, Timestamp::now(), new_emoji)
        .await
        .map_err(|e| match e {
            hearth_store::StoreError::Missing(_) => ApiError::from(ErrorCode::UNKNOWN_MESSAGE),
            other => ApiError::from(other),
        })?;
    match reacted {
        Reacted::Added => {
            let message_author_id = t.message.author.id;
            let member = t.access.member.clone();
            state.reaction_added(change(&t, caller.user.id, emoji), member, message_author_id);
            Ok(StatusCode::NO_CONTENT)
        }
        Reacted::AlreadyThere => Ok(StatusCode::NO_CONTENT),
        Reacted::NewEmojiForbidden => Err(ErrorCode::MISSING_PERMISSIONS.into()),
    }
}

async fn remove_one(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, message_id, emoji, user)): Path<(String, String, String, String)>,
) -> ApiResult<StatusCode> {
    let t = target(&state, &caller, &channel_id, &message_id).await?;
    let emoji = emoji_of(&emoji)?;
    let user_id = match user.as_str() {
        "@me" => caller.user.id,
        other => snowflake("user_id", other)?,
    };
    if user_id != caller.user.id {
        access::require(t.perms, Permissions::MANAGE_MESSAGES)?;
    }
    if state
        .store
        .remove_reaction(key(&t, &emoji), user_id)
        .await?
    {
        state.reaction_removed(change(&t, user_id, emoji));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_emoji(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, message_id, emoji)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let t = target(&state, &caller, &channel_id, &message_id).await?;
    let emoji = emoji_of(&emoji)?;
    access::require(t.perms, Permissions::MANAGE_MESSAGES)?;
    if state.store.remove_emoji_reactions(key(&t, &emoji)).await? > 0 {
        state.reaction_emoji_removed(t.channel.guild_id, t.channel.id, t.message.id, emoji);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_all(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let t = target(&state, &caller, &channel_id, &message_id).await?;
    access::require(t.perms, Permissions::MANAGE_MESSAGES)?;
    if state
        .store
        .remove_all_reactions(t.channel.id, t.message.id)
        .await?
        > 0
    {
        state.reactions_cleared(t.channel.guild_id, t.channel.id, t.message.id);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, Default)]
struct ReactorsQuery {
    after: Option<String>,
    limit: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

async fn reactors(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, message_id, emoji)): Path<(String, String, String)>,
    Query(q): Query<ReactorsQuery>,
) -> ApiResult<Json<Vec<User>>> {
    let mut errors = FormErrors::new();
    let limit = match q.limit.as_deref().map(str::parse::<u32>) {
        None => 25,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            errors.add("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 100.");
            25
        }
    };
    let after = match q.after.as_deref() {
        None => Snowflake(0),
        Some(raw) => raw.parse().unwrap_or_else(|_| {
            errors.add(
                "after",
                "NUMBER_TYPE_COERCE",
                format!("Value \"{raw}\" is not snowflake."),
            );
            Snowflake(0)
        }),
    };
    // 0: normal reactions, 1: super reactions (there are none here).
    let burst = match q.kind.as_deref() {
        None | Some("0") => false,
        Some("1") => true,
        Some(_) => {
            errors.add("type", "BASE_TYPE_CHOICES", "Value must be one of (0, 1).");
            false
        }
    };
    errors.finish()?;
    let t = target(&state, &caller, &channel_id, &message_id).await?;
    let emoji = emoji_of(&emoji)?;
    if burst {
        return Ok(Json(Vec::new()));
    }
    let users = state.store.reactors(key(&t, &emoji), after, limit).await?;
    Ok(Json(users))
}

/// Fills `reactions` of messages of one channel as `reader` sees them.
pub(super) async fn fill_reactions(
    state: &AppState,
    channel_id: Snowflake,
    messages: &mut [Message],
    reader: Snowflake,
) -> ApiResult<()> {
    let ids: Vec<Snowflake> = messages.iter().map(|m| m.id).collect();
    let counts = state
        .store
        .reaction_counts(channel_id, &ids, reader)
        .await?;
    for m in messages.iter_mut() {
        m.reactions = counts
            .iter()
            .filter(|c| c.message_id == m.id)
            .map(|c| {
                let emoji = Emoji {
                    id: None,
                    name: Some(c.emoji.clone()),
                };
                Reaction::normal(emoji, c.count, c.me)
            })
            .collect();
    }
    Ok(())
}
