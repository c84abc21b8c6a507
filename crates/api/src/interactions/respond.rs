//! The messages an application sends in answer to an interaction: the
//! original response and follow-ups, in the channel or ephemeral (seen by
//! the interaction's user alone, never in the channel's history).

use std::collections::BTreeMap;

use hearth_model::{
    message_type, Component, Embed, InteractionMetadata, Message, Permissions, Snowflake, Timestamp,
};
use hearth_proto::rest::AllowedMentions;
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::InteractionRecord;

use super::components::{self, Surface};
use crate::access;
use crate::error::ApiResult;
use crate::messages::compose;
use crate::routes::messages::{
    apply_allowed_mentions, build_message, check_allowed_mentions, Draft,
};
use crate::state::AppState;

/// `flags` bit of an ephemeral message.
pub const EPHEMERAL: u32 = 1 << 6;
/// How long an interaction's token answers, as on Discord.
pub const TOKEN_LIFETIME_MS: i64 = 15 * 60 * 1000;
/// How long an application has for its first response.
pub const FIRST_RESPONSE_MS: i64 = 3000;

/// A message as an application sends it.
#[derive(Debug, Default)]
pub struct Reply {
    pub content: Option<String>,
    pub embeds: Option<Vec<Embed>>,
    pub components: Option<Vec<Component>>,
    pub allowed_mentions: Option<AllowedMentions>,
    pub flags: u32,
    pub tts: bool,
}

impl Reply {
    /// Adds the problems of the fields given (`prefix`: `data.` for a
    /// callback, empty for a webhook body).
    pub fn check(&self, prefix: &str, errors: &mut FormErrors) {
        compose::check_body(
            self.content.as_deref().unwrap_or_default(),
            self.embeds.as_deref().unwrap_or_default(),
            errors,
        );
        if let Some(rows) = &self.components {
            components::check(
                &format!("{prefix}components"),
                rows,
                Surface::Message,
                errors,
            );
        }
    }

    /// A new message needs something to show.
    pub fn check_not_empty(&self) -> ApiResult<()> {
        let empty = self
            .content
            .as_deref()
            .unwrap_or_default()
            .trim()
            .is_empty()
            && self.embeds.as_deref().unwrap_or_default().is_empty()
            && self.components.as_deref().unwrap_or_default().is_empty();
        if empty {
            return Err(ErrorCode::EMPTY_MESSAGE.into());
        }
        Ok(())
    }

    pub fn ephemeral(&self) -> bool {
        self.flags & EPHEMERAL != 0
    }
}

/// A response message, where it lives.
pub enum Located {
    Channel(Message),
    Ephemeral(Message),
}

impl Located {
    pub fn message(&self) -> &Message {
        match self {
            Located::Channel(m) | Located::Ephemeral(m) => m,
        }
    }
}

/// Posts a message answering the interaction: in the channel, or to its
/// user alone when ephemeral. `id`: an id chosen beforehand (the original
/// response's, recorded with the acknowledgement).
pub async fn post(
    state: &AppState,
    rec: &InteractionRecord,
    reply: Reply,
    kind: u8,
    id: Option<Snowflake>,
    uploads: Vec<crate::files::Upload>,
) -> ApiResult<Message> {
    let channel = state
        .store
        .channel(rec.channel_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_CHANNEL)?;
    let guild = state
        .store
        .guild(rec.guild_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_GUILD)?;
    let app = state
        .store
        .application(rec.application_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_APPLICATION)?;
    let user = state
        .store
        .user(rec.user_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_USER)?;
    if let Some(allowed) = &reply.allowed_mentions {
        check_allowed_mentions(allowed)?;
    }
    // The bot's own permission to mention everyone, if it is still there.
    let may_mention_everyone = match access::channel(state, channel.id, app.id).await {
        Ok((_, _, perms)) => perms.contains(Permissions::MENTION_EVERYONE),
        Err(_) => false,
    };
    let ephemeral = reply.ephemeral();
    if ephemeral && !uploads.is_empty() {
        // Ephemeral messages are forgotten with their interaction, with
        // nothing to drop their files.
        return Err(crate::ApiError::Unsupported("files on ephemeral messages"));
    }
    let draft = Draft {
        author: app.bot.clone(),
        content: reply.content.unwrap_or_default(),
        embeds: reply.embeds.unwrap_or_default(),
        tts: reply.tts && !ephemeral,
        webhook_id: Some(app.id),
    };
    let mut message = build_message(state, &channel, &guild, draft, may_mention_everyone).await?;
    if let Some(id) = id {
        message.id = id;
        message.timestamp = Timestamp(id.timestamp_ms() as i64);
    }
    if let Some(allowed) = &reply.allowed_mentions {
        apply_allowed_mentions(&mut message, allowed, None);
    }
    message.kind = kind;
    message.flags = reply.flags & EPHEMERAL;
    message.components = reply.components.unwrap_or_default();
    components::number(&mut message.components);
    message.application_id = Some(app.id);
    let metadata = InteractionMetadata {
        id: rec.id,
        kind: rec.kind,
        user,
        authorizing_integration_owners: BTreeMap::from([("0".to_owned(), rec.guild_id)]),
        name: rec.command_name.clone(),
        interacted_message_id: rec.message_id,
    };
    message.interaction = Some(metadata.legacy());
    message.interaction_metadata = Some(metadata);
    if ephemeral {
        state.store.put_ephemeral(rec.id, &message).await?;
        state.ephemeral_created(rec.user_id, &message);
    } else {
        let stored = crate::files::store(state, uploads).await?;
        message.attachments = stored.attachments.clone();
        stored
            .write(state, &message, crate::files::Write::Create)
            .await?;
        let member = state.store.member(guild.id, app.id).await?;
        state.message_created(&message, member.as_ref());
        state.metrics.messages_created.inc();
    }
    Ok(message)
}

/// The message type of the original response to an interaction.
pub fn original_kind(rec: &InteractionRecord) -> u8 {
    use hearth_model::commands::command_type;
    use hearth_proto::interactions::interaction_type as it;
    match (rec.kind, rec.command_type) {
        (it::APPLICATION_COMMAND, Some(command_type::CHAT_INPUT)) => {
            message_type::CHAT_INPUT_COMMAND
        }
        (it::APPLICATION_COMMAND, Some(_)) => message_type::CONTEXT_MENU_COMMAND,
        _ => message_type::DEFAULT,
    }
}

/// A message of the interaction by id: ephemeral ones of this interaction,
/// or channel messages the application sent (or whose components it owns).
pub async fn find(state: &AppState, rec: &InteractionRecord, id: Snowflake) -> ApiResult<Located> {
    if let Some((owner, message)) = state.store.ephemeral(id).await? {
        if owner == rec.id
            || message.application_id == Some(rec.application_id) && rec.message_id == Some(id)
        {
            return Ok(Located::Ephemeral(message));
        }
        return Err(ErrorCode::UNKNOWN_MESSAGE.into());
    }
    let message = state
        .messages
        .get(rec.channel_id, id)
        .await?
        .filter(|m| {
            m.author.id == rec.application_id || m.application_id == Some(rec.application_id)
        })
        .ok_or(ErrorCode::UNKNOWN_MESSAGE)?;
    Ok(Located::Channel(message))
}

/// What an edit may change.
#[derive(Debug, Default)]
pub struct Edit {
    pub content: Option<Option<String>>,
    pub embeds: Option<Option<Vec<Embed>>>,
    pub components: Option<Option<Vec<Component>>>,
}

impl Edit {
    /// Whether the edit would leave `m` with nothing to show.
    pub fn leaves_empty(&self, m: &Message) -> bool {
        let content = match &self.content {
            Some(c) => c.as_deref().unwrap_or_default(),
            None => &m.content,
        };
        let embeds = match &self.embeds {
            Some(e) => e.as_deref().unwrap_or_default().is_empty(),
            None => m.embeds.is_empty(),
        };
        let components = match &self.components {
            Some(c) => c.as_deref().unwrap_or_default().is_empty(),
            None => m.components.is_empty(),
        };
        content.trim().is_empty() && embeds && components
    }

    pub fn check(&self, prefix: &str, errors: &mut FormErrors) {
        if let Some(Some(c)) = &self.content {
            compose::check_body(c, &[], errors);
        }
        if let Some(Some(e)) = &self.embeds {
            compose::check_body("", e, errors);
        }
        if let Some(Some(rows)) = &self.components {
            components::check(
                &format!("{prefix}components"),
                rows,
                Surface::Message,
                errors,
            );
        }
    }
}

/// Applies the edit and tells whoever sees the message.
/// Files of an edit: those to keep (absent: all) and new ones.
pub struct EditFiles {
    pub keep: Option<Option<Vec<hearth_proto::rest::AttachmentRef>>>,
    pub uploads: Vec<crate::files::Upload>,
}

pub async fn edit(
    state: &AppState,
    rec: &InteractionRecord,
    found: Located,
    edit: Edit,
    files: EditFiles,
) -> ApiResult<Message> {
    let ephemeral = matches!(found, Located::Ephemeral(_));
    if ephemeral && !files.uploads.is_empty() {
        return Err(crate::ApiError::Unsupported("files on ephemeral messages"));
    }
    let patch = AppEdit {
        edit: &edit,
        keep: files.keep.as_ref(),
    };
    match found {
        Located::Ephemeral(mut message) => {
            patch.apply_now(&mut message, 0)?;
            message.edited_timestamp = Some(Timestamp::now());
            state.store.put_ephemeral(rec.id, &message).await?;
            state.ephemeral_updated(rec.user_id, &message);
            Ok(message)
        }
        Located::Channel(message) => {
            let message =
                crate::messages::edit::write(state, message, files.uploads, &patch).await?;
            state.message_updated(&message);
            Ok(message)
        }
    }
}

/// An application's edit of its interaction's message.
struct AppEdit<'a> {
    edit: &'a Edit,
    keep: Option<&'a Option<Vec<hearth_proto::rest::AttachmentRef>>>,
}

impl AppEdit<'_> {
    fn apply_now(&self, message: &mut Message, added: usize) -> ApiResult<bool> {
        let removed = crate::routes::messages::keep_attachments(message, self.keep, added)?;
        let edit = self.edit;
        if edit.leaves_empty(message) && message.attachments.is_empty() && added == 0 {
            return Err(ErrorCode::EMPTY_MESSAGE.into());
        }
        if let Some(c) = &edit.content {
            message.content = c.clone().unwrap_or_default();
        }
        if let Some(e) = &edit.embeds {
            message.embeds = e.clone().unwrap_or_default();
        }
        if let Some(c) = &edit.components {
            message.components = c.clone().unwrap_or_default();
            components::number(&mut message.components);
        }
        Ok(!removed.is_empty())
    }
}

impl crate::messages::edit::Patch for AppEdit<'_> {
    fn apply<'a>(
        &'a self,
        message: &'a mut Message,
        added: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ApiResult<bool>> + Send + 'a>> {
        Box::pin(std::future::ready(self.apply_now(message, added)))
    }
}

pub async fn delete(state: &AppState, rec: &InteractionRecord, found: Located) -> ApiResult<()> {
    match found {
        Located::Ephemeral(m) => {
            if state.store.delete_ephemeral(m.id).await? {
                state.ephemeral_deleted(rec.user_id, &m);
            }
        }
        Located::Channel(m) => {
            if state.messages.delete(m.channel_id, m.id).await? {
                state.message_deleted(rec.guild_id, m.channel_id, m.id);
            }
        }
    }
    Ok(())
}
