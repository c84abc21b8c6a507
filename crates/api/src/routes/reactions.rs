//! Reactions on messages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use hearth_model::{Emoji, Message, Permissions, Reaction, Snowflake, Timestamp, User};
use hearth_proto::events::{DirectEvent, DirectReaction, ReactionChange};
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::{NewEmoji, Reacted, ReactionKey};
use serde::Deserialize;

use crate::access::{self, Place};
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

/// The message a reaction route names, in a guild channel or a DM, with
/// the caller's access to it.
struct Target {
    place: Place,
    message: Message,
}

impl Target {
    fn perms(&self) -> Permissions {
        self.place.permissions()
    }
}

async fn target(
    state: &AppState,
    caller: &Caller,
    channel_id: &str,
    message_id: &str,
) -> ApiResult<Target> {
    let channel_id = snowflake("channel_id", channel_id)?;
    let message_id = snowflake("message_id", message_id)?;
    let place = access::place(state, channel_id, caller.user.id).await?;
    // Reacting, and seeing who reacted, needs the message's history.
    access::require(place.permissions(), Permissions::READ_MESSAGE_HISTORY)?;
    let message = state
        .messages
        .get(place.id(), message_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_MESSAGE)?;
    Ok(Target { place, message })
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
        channel_id: t.place.id(),
        message_id: t.message.id,
        emoji: emoji.name.as_deref().unwrap_or_default(),
    }
}

fn change(guild_id: Snowflake, t: &Target, user_id: Snowflake, emoji: Emoji) -> ReactionChange {
    ReactionChange {
        user_id,
        channel_id: t.place.id(),
        message_id: t.message.id,
        guild_id,
        emoji,
    }
}

/// A DM's reaction change, to each recipient.
fn direct_reaction(state: &AppState, t: &Target, user_id: Snowflake, emoji: Emoji, added: bool) {
    let Place::Private(c) = &t.place else { return };
    let reaction = DirectReaction {
        user_id,
        channel_id: c.id,
        message_id: t.message.id,
        emoji,
        message_author_id: added.then_some(t.message.author.id),
    };
    state.direct(&c.recipient_ids(), |_| match added {
        true => DirectEvent::ReactionAdd(reaction.clone()),
        false => DirectEvent::ReactionRemove(reaction.clone()),
    });
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
    t.place.writable()?;
    let emoji = emoji_of(&emoji)?;
    // A timed-out member may read but not react, even with emoji already
    // there.
    if let Place::Guild { access, .. } = &t.place {
        let timed_out = access
            .member
            .communication_disabled_until
            .is_some_and(|until| until > access.now);
        if timed_out {
            return Err(ErrorCode::MISSING_PERMISSIONS.into());
        }
    }
    let new_emoji = if t.perms().contains(Permissions::ADD_REACTIONS) {
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
            match &t.place {
                Place::Guild {
                    channel, access, ..
                } => state.reaction_added(
                    change(channel.guild_id, &t, caller.user.id, emoji),
                    access.member.clone(),
                    t.message.author.id,
                ),
                Place::Private(_) => direct_reaction(&state, &t, caller.user.id, emoji, true),
            }
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
    t.place.writable()?;
    let emoji = emoji_of(&emoji)?;
    let user_id = match user.as_str() {
        "@me" => caller.user.id,
        other => snowflake("user_id", other)?,
    };
    if user_id != caller.user.id {
        // Never in a DM: nobody manages another's messages there.
        access::require(t.perms(), Permissions::MANAGE_MESSAGES)?;
    }
    if state
        .store
        .remove_reaction(key(&t, &emoji), user_id)
        .await?
    {
        match &t.place {
            Place::Guild { channel, .. } => {
                state.reaction_removed(change(channel.guild_id, &t, user_id, emoji))
            }
            Place::Private(_) => direct_reaction(&state, &t, user_id, emoji, false),
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_emoji(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, message_id, emoji)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let t = target(&state, &caller, &channel_id, &message_id).await?;
    t.place.writable()?;
    let emoji = emoji_of(&emoji)?;
    access::require(t.perms(), Permissions::MANAGE_MESSAGES)?;
    if state.store.remove_emoji_reactions(key(&t, &emoji)).await? > 0 {
        match &t.place {
            Place::Guild { channel, .. } => {
                state.reaction_emoji_removed(channel.guild_id, channel.id, t.message.id, emoji)
            }
            Place::Private(c) => {
                state.direct(&c.recipient_ids(), |_| DirectEvent::ReactionRemoveEmoji {
                    channel_id: c.id,
                    message_id: t.message.id,
                    emoji: emoji.clone(),
                })
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_all(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, message_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let t = target(&state, &caller, &channel_id, &message_id).await?;
    t.place.writable()?;
    access::require(t.perms(), Permissions::MANAGE_MESSAGES)?;
    if state
        .store
        .remove_all_reactions(t.place.id(), t.message.id)
        .await?
        > 0
    {
        match &t.place {
            Place::Guild { channel, .. } => {
                state.reactions_cleared(channel.guild_id, channel.id, t.message.id)
            }
            Place::Private(c) => {
                state.direct(&c.recipient_ids(), |_| DirectEvent::ReactionRemoveAll {
                    channel_id: c.id,
                    message_id: t.message.id,
                })
            }
        }
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
