//! Interactions: a user invokes a command, clicks a component or submits a
//! modal (`POST /interactions`, the shape Discord's own client sends); the
//! application receives INTERACTION_CREATE and answers through the
//! callback within three seconds, then through its webhook for fifteen
//! minutes.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hearth_model::commands::command_type;
use hearth_model::components::component_type as ct;
use hearth_model::{Channel, ChannelType, Message, Permissions, Snowflake, Timestamp};
use hearth_proto::interactions::{
    callback_type as cb, interaction_type as it, CallbackBody, CallbackQuery, EditWebhookMessage,
    Interaction, InteractionData, InteractionGuild, InteractionMember, InvokeBody, ModalShown,
    Resolved, ResolvedChannel, ResolvedMember,
};
use hearth_proto::rest::ExecuteWebhook;
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::{Acknowledge, FirstResponse, InteractionRecord};
use serde::Serialize;

use crate::access::{self, GuildAccess};
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{snowflake, Body, Caller, Query};
use crate::interactions::components::{self, Surface};
use crate::interactions::options::{self, Named};
use crate::interactions::respond::{self, Edit, Reply, FIRST_RESPONSE_MS, TOKEN_LIFETIME_MS};
use crate::state::AppState;

/// Bytes of randomness in an interaction token.
const TOKEN_BYTES: usize = 96;
/// Values of a select menu a user may send.
const MAX_VALUES: usize = 25;
/// Characters of a client's nonce (Discord's client sends snowflakes).
const MAX_NONCE: usize = 64;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/interactions", post(invoke))
        .route(
            "/interactions/{interaction_id}/{token}/callback",
            post(callback),
        )
        .route(
            "/webhooks/{application_id}/{token}/messages/{message_id}",
            get(get_message).patch(edit_message).delete(delete_message),
        )
}

fn now_ms() -> i64 {
    Timestamp::now().0
}

/// What the invoking user's use of a command, component or modal gives the
/// application to work with.
struct Invocation {
    data: InteractionData,
    message: Option<Message>,
    /// A command's name and type.
    command: Option<(String, u8)>,
}

async fn invoke(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<InvokeBody>,
) -> ApiResult<StatusCode> {
    if caller.user.bot {
        return Err(ErrorCode::BOTS_CANNOT_USE.into());
    }
    if body
        .nonce
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NONCE)
    {
        return Err(FormErrors::single(
            "nonce",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 64 or fewer in length.",
        )
        .into());
    }
    let (channel, access, perms) = access::channel(&state, body.channel_id, caller.user.id).await?;
    if channel.kind != ChannelType::Text || body.guild_id.is_some_and(|g| g != channel.guild_id) {
        return Err(ErrorCode::INVALID_CHANNEL_TYPE.into());
    }
    // A timed-out member uses no commands, buttons or modals, as on Discord.
    if access.member.timed_out_at(access.now) {
        return Err(ErrorCode::MISSING_PERMISSIONS.into());
    }
    let app = state
        .store
        .application(body.application_id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_APPLICATION)?;
    let app_member = state
        .store
        .member(channel.guild_id, app.id)
        .await?
        .ok_or(ErrorCode::UNKNOWN_APPLICATION)?;
    let invocation = match body.kind {
        it::APPLICATION_COMMAND | it::AUTOCOMPLETE => {
            command(&state, &body, &channel, &access, perms).await?
        }
        it::MESSAGE_COMPONENT => component(&state, &body, &channel, &access).await?,
        it::MODAL_SUBMIT => modal_submit(&state, &body, &caller).await?,
        _ => {
            return Err(FormErrors::single(
                "type",
                "BASE_TYPE_CHOICES",
                "Value must be one of (2, 3, 4, 5).",
            )
            .into())
        }
    };
    let token = auth::random_code(TOKEN_BYTES);
    let id = state.ids.next();
    let created_at = Timestamp::now();
    let record = InteractionRecord {
        id,
        token_hash: auth::hash_token(&token),
        application_id: app.id,
        kind: body.kind,
        guild_id: channel.guild_id,
        channel_id: channel.id,
        user_id: caller.user.id,
        created_at,
        message_id: invocation.message.as_ref().map(|m| m.id),
        command_name: invocation.command.as_ref().map(|(name, _)| name.clone()),
        command_type: invocation.command.as_ref().map(|(_, kind)| *kind),
        nonce: body.nonce.clone(),
        response: None,
        ephemeral: false,
        original_id: None,
    };
    state
        .store
        .create_interaction(&record, Timestamp(created_at.0 - TOKEN_LIFETIME_MS))
        .await?;
    let app_perms = access.channel_permissions_of(&app_member, &channel);
    let interaction = Interaction {
        id,
        application_id: app.id,
        kind: body.kind,
        data: invocation.data,
        guild_id: channel.guild_id,
        guild: InteractionGuild {
            id: access.guild.id,
            locale: access.guild.preferred_locale.clone(),
            features: Vec::new(),
        },
        channel_id: channel.id,
        channel: channel.clone(),
        member: InteractionMember {
            member: access.member.clone(),
            permissions: perms.0.to_string(),
        },
        token,
        version: 1,
        message: invocation.message.map(Box::new),
        app_permissions: app_perms.0.to_string(),
        locale: "en-US".to_owned(),
        guild_locale: access.guild.preferred_locale.clone(),
        entitlements: Vec::new(),
        authorizing_integration_owners: BTreeMap::from([("0".to_owned(), channel.guild_id)]),
        context: 0,
        attachment_size_limit: 10 * 1024 * 1024,
    };
    state.interaction_created(interaction);
    if body.kind != it::AUTOCOMPLETE {
        // The user learns whether the application answered in time.
        let (state, user, nonce) = (state.clone(), caller.user.id, body.nonce.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(FIRST_RESPONSE_MS as u64)).await;
            if let Ok(Some(r)) = state.store.interaction(id).await {
                if r.response.is_none() {
                    state.interaction_outcome(user, id, nonce, false);
                }
            }
        });
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn command(
    state: &AppState,
    body: &InvokeBody,
    channel: &Channel,
    access: &GuildAccess,
    perms: Permissions,
) -> ApiResult<Invocation> {
    access::require(perms, Permissions::USE_APPLICATION_COMMANDS)?;
    let data = &body.data;
    let id = data.id.ok_or_else(|| {
        FormErrors::single("data.id", "BASE_TYPE_REQUIRED", "This field is required")
    })?;
    let cmd = state
        .store
        .command(body.application_id, id)
        .await?
        .filter(|c| c.guild_id.is_none_or(|g| g == channel.guild_id))
        .filter(|c| data.name.as_ref().is_none_or(|n| *n == c.name))
        .ok_or(ErrorCode::UNKNOWN_APPLICATION_COMMAND)?;
    if !super::commands::member_may_use(&cmd, perms) {
        return Err(ErrorCode::MISSING_PERMISSIONS.into());
    }
    let mut errors = FormErrors::new();
    let mut named = Named::default();
    let mut out = InteractionData {
        id: Some(cmd.id),
        name: Some(cmd.name.clone()),
        kind: Some(cmd.kind),
        guild_id: cmd.guild_id,
        ..InteractionData::default()
    };
    let mut message = None;
    match cmd.kind {
        command_type::CHAT_INPUT => {
            options::check(
                "data.options",
                &cmd.options,
                &data.options,
                &mut named,
                &mut errors,
            );
            let focused = count_focused(&data.options);
            let wanted = usize::from(body.kind == it::AUTOCOMPLETE);
            if focused != wanted {
                errors.add(
                    "data.options",
                    "APPLICATION_COMMAND_OPTION_FOCUSED_INVALID",
                    "Exactly one option is focused in autocomplete, none otherwise",
                );
            }
            if !data.options.is_empty() {
                out.options = Some(data.options.clone());
            }
        }
        command_type::USER => match data.target_id {
            Some(t) => {
                named.users.push(t);
                out.target_id = Some(t);
            }
            None => errors.add(
                "data.target_id",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ),
        },
        _ => match data.target_id {
            Some(t) => {
                let m = state
                    .messages
                    .get(channel.id, t)
                    .await?
                    .ok_or(ErrorCode::UNKNOWN_MESSAGE)?;
                out.target_id = Some(t);
                message = Some(m);
            }
            None => errors.add(
                "data.target_id",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ),
        },
    }
    errors.finish()?;
    let mut resolved = resolve(state, access, &named).await?;
    if let Some(m) = message {
        resolved.messages.insert(m.id, m);
    }
    if resolved != Resolved::default() {
        out.resolved = Some(resolved);
    }
    Ok(Invocation {
        data: out,
        message: None,
        command: Some((cmd.name.clone(), cmd.kind)),
    })
}

fn count_focused(opts: &[hearth_proto::interactions::InvokeOption]) -> usize {
    opts.iter()
        .map(|o| usize::from(o.focused) + count_focused(&o.options))
        .sum()
}

async fn component(
    state: &AppState,
    body: &InvokeBody,
    channel: &Channel,
    access: &GuildAccess,
) -> ApiResult<Invocation> {
    let data = &body.data;
    let message_id = body.message_id.ok_or_else(|| {
        FormErrors::single("message_id", "BASE_TYPE_REQUIRED", "This field is required")
    })?;
    let custom_id = data.custom_id.as_deref().ok_or_else(|| {
        FormErrors::single(
            "data.custom_id",
            "BASE_TYPE_REQUIRED",
            "This field is required",
        )
    })?;
    // An ephemeral message is the clicking user's own; a channel message
    // must be the application's.
    let message = match state.store.ephemeral(message_id).await? {
        Some((owner, m)) => {
            let rec = state.store.interaction(owner).await?;
            if rec.is_none_or(|r| r.user_id != access.member.user.id) {
                return Err(ErrorCode::UNKNOWN_MESSAGE.into());
            }
            m
        }
        None => state
            .messages
            .get(channel.id, message_id)
            .await?
            .ok_or(ErrorCode::UNKNOWN_MESSAGE)?,
    };
    let owned = message.author.id == body.application_id
        || message.application_id == Some(body.application_id);
    let found = components::find(&message.components, custom_id).filter(|_| owned);
    let Some(found) = found else {
        return Err(FormErrors::single(
            "data.custom_id",
            "COMPONENT_UNKNOWN",
            "The message has no such component",
        )
        .into());
    };
    if found.disabled == Some(true)
        || data.component_type.is_some_and(|t| t != found.kind)
        || found.kind == ct::ACTION_ROW
    {
        return Err(FormErrors::single(
            "data.component_type",
            "COMPONENT_INVALID",
            "That component cannot be used",
        )
        .into());
    }
    let mut out = InteractionData {
        custom_id: Some(custom_id.to_owned()),
        component_type: Some(found.kind),
        ..InteractionData::default()
    };
    if found.kind != ct::BUTTON {
        let values = data.values.clone().unwrap_or_default();
        let (lo, hi) = (
            usize::from(found.min_values.unwrap_or(1)),
            usize::from(found.max_values.unwrap_or(1)),
        );
        if values.len() < lo || values.len() > hi.min(MAX_VALUES) {
            return Err(FormErrors::single(
                "data.values",
                "BASE_TYPE_BAD_LENGTH",
                format!("Must be between {lo} and {hi} in length."),
            )
            .into());
        }
        let mut named = Named::default();
        for v in &values {
            if found.kind == ct::STRING_SELECT {
                let known = found
                    .options
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .any(|o| o.value == *v);
                if !known {
                    return Err(FormErrors::single(
                        "data.values",
                        "SELECT_COMPONENT_VALUE_INVALID",
                        "Not one of the menu's options",
                    )
                    .into());
                }
                continue;
            }
            let id: Snowflake = snowflake("data.values", v)?;
            match found.kind {
                ct::USER_SELECT => named.users.push(id),
                ct::ROLE_SELECT => named.roles.push(id),
                ct::CHANNEL_SELECT => named.channels.push((id, found.channel_types.clone())),
                _ => named.mentionables.push(id),
            }
        }
        let resolved = resolve(state, access, &named).await?;
        if resolved != Resolved::default() {
            out.resolved = Some(resolved);
        }
        out.values = Some(values);
    }
    Ok(Invocation {
        data: out,
        message: Some(message),
        command: None,
    })
}

async fn modal_submit(
    state: &AppState,
    body: &InvokeBody,
    caller: &Caller,
) -> ApiResult<Invocation> {
    let data = &body.data;
    let opened_by = data.id.ok_or_else(|| {
        FormErrors::single("data.id", "BASE_TYPE_REQUIRED", "This field is required")
    })?;
    // The modal must be one this application opened for this user.
    let opener = state
        .store
        .interaction(opened_by)
        .await?
        .filter(|r| {
            r.response == Some(cb::MODAL)
                && r.user_id == caller.user.id
                && r.application_id == body.application_id
        })
        .ok_or(ErrorCode::UNKNOWN_INTERACTION)?;
    let custom_id = data.custom_id.clone().ok_or_else(|| {
        FormErrors::single(
            "data.custom_id",
            "BASE_TYPE_REQUIRED",
            "This field is required",
        )
    })?;
    let rows = data.components.clone().unwrap_or_default();
    let mut errors = FormErrors::new();
    errors.check_len("data.custom_id", &custom_id, 1, 100);
    if rows.is_empty() || rows.len() > 5 {
        errors.add(
            "data.components",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 5 in length.",
        );
    }
    // What comes back is each text input's custom id and value, nothing
    // else, in the layout the modal had: action rows or labels.
    let mut submitted = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let (input, path) = match (
            row.kind,
            row.components.as_deref(),
            row.component.as_deref(),
        ) {
            (ct::ACTION_ROW, Some([input]), None) => {
                (input, format!("data.components.{i}.components.0"))
            }
            (ct::LABEL, None, Some(input)) => (input, format!("data.components.{i}.component")),
            _ => {
                errors.add(
                    &format!("data.components.{i}"),
                    "COMPONENT_TYPE_INVALID",
                    "Each row holds one text input",
                );
                continue;
            }
        };
        if input.kind != ct::TEXT_INPUT {
            errors.add(
                &format!("{path}.type"),
                "COMPONENT_TYPE_INVALID",
                "Only text inputs are submitted",
            );
            continue;
        }
        let id = input.custom_id.clone().unwrap_or_default();
        errors.check_len(&format!("{path}.custom_id"), &id, 1, 100);
        let value = input.value.clone().unwrap_or_default();
        errors.check_len(&format!("{path}.value"), &value, 0, 4000);
        let entered = hearth_model::Component {
            kind: ct::TEXT_INPUT,
            id: input.id,
            custom_id: Some(id),
            value: Some(value),
            ..Default::default()
        };
        let (components, component) = match row.kind {
            ct::ACTION_ROW => (Some(vec![entered]), None),
            _ => (None, Some(Box::new(entered))),
        };
        submitted.push(hearth_model::Component {
            kind: row.kind,
            id: row.id,
            components,
            component,
            ..Default::default()
        });
    }
    errors.finish()?;
    // A modal is submitted once: the client closes it as it sends.
    if !state.store.close_modal(opener.id, caller.user.id).await? {
        return Err(ErrorCode::UNKNOWN_INTERACTION.into());
    }
    components::number(&mut submitted);
    let message = match opener.message_id {
        Some(m) => state.messages.get(opener.channel_id, m).await?,
        None => None,
    };
    Ok(Invocation {
        data: InteractionData {
            custom_id: Some(custom_id),
            components: Some(submitted),
            ..InteractionData::default()
        },
        message,
        command: None,
    })
}

/// The users, members, roles and channels `named` names, which must exist
/// (and be the guild's).
async fn resolve(state: &AppState, access: &GuildAccess, named: &Named) -> ApiResult<Resolved> {
    let mut r = Resolved::default();
    let unknown = |what: &str| -> ApiError {
        FormErrors::single(
            "data",
            "APPLICATION_COMMAND_OPTION_VALUE_INVALID",
            format!("Unknown {what}"),
        )
        .into()
    };
    let mut users: Vec<Snowflake> = named.users.clone();
    for id in &named.mentionables {
        if access.role(*id).is_some() {
            r.roles.insert(
                *id,
                access.role(*id).cloned().ok_or_else(|| unknown("role"))?,
            );
        } else {
            users.push(*id);
        }
    }
    for id in users {
        let user = state.store.user(id).await?.ok_or_else(|| unknown("user"))?;
        if let Some(member) = state.store.member(access.guild.id, id).await? {
            let perms = access.permissions_of(&member);
            r.members.insert(id, ResolvedMember::of(&member, perms.0));
        }
        r.users.insert(id, user);
    }
    for id in &named.roles {
        r.roles.insert(
            *id,
            access.role(*id).cloned().ok_or_else(|| unknown("role"))?,
        );
    }
    for (id, allowed) in &named.channels {
        let c = state
            .store
            .channel(*id)
            .await?
            .filter(|c| c.guild_id == access.guild.id)
            .ok_or_else(|| unknown("channel"))?;
        let perms = access.channel_permissions(&c);
        if !perms.contains(Permissions::VIEW_CHANNEL) {
            return Err(unknown("channel"));
        }
        if allowed
            .as_ref()
            .is_some_and(|types| !types.contains(&(c.kind as u8)))
        {
            return Err(unknown("channel of the allowed types"));
        }
        r.channels.insert(
            c.id,
            ResolvedChannel {
                id: c.id,
                name: c.name.clone(),
                kind: c.kind as u8,
                permissions: perms.0.to_string(),
            },
        );
    }
    Ok(r)
}

/// `with_response=true`: what Discord returns about a callback.
#[derive(Serialize)]
struct CallbackResponse {
    interaction: CallbackInteraction,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<CallbackResource>,
}

#[derive(Serialize)]
struct CallbackInteraction {
    id: Snowflake,
    #[serde(rename = "type")]
    kind: u8,
    activity_instance_id: Option<String>,
    response_message_id: Option<Snowflake>,
    response_message_loading: bool,
    response_message_ephemeral: bool,
}

#[derive(Serialize)]
struct CallbackResource {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message>,
}

/// Which callbacks answer which interactions.
fn allowed(interaction: u8, callback: u8) -> bool {
    match callback {
        cb::CHANNEL_MESSAGE | cb::DEFERRED_CHANNEL_MESSAGE => interaction != it::AUTOCOMPLETE,
        cb::DEFERRED_UPDATE_MESSAGE | cb::UPDATE_MESSAGE => {
            matches!(interaction, it::MESSAGE_COMPONENT | it::MODAL_SUBMIT)
        }
        cb::AUTOCOMPLETE_RESULT => interaction == it::AUTOCOMPLETE,
        cb::MODAL => matches!(interaction, it::APPLICATION_COMMAND | it::MESSAGE_COMPONENT),
        _ => false,
    }
}

async fn callback(
    State(state): State<AppState>,
    Path((interaction_id, token)): Path<(String, String)>,
    Query(query): Query<CallbackQuery>,
    crate::files::MessageForm { body, uploads }: crate::files::MessageForm<CallbackBody>,
) -> ApiResult<Response> {
    let id = snowflake("interaction_id", &interaction_id)?;
    let token_hash = auth::hash_token(&token);
    let rec = state
        .store
        .interaction(id)
        .await?
        .filter(|r| r.token_hash == token_hash)
        .ok_or(ErrorCode::UNKNOWN_INTERACTION)?;
    if !allowed(rec.kind, body.kind) {
        return Err(FormErrors::single(
            "type",
            "INTERACTION_RESPONSE_TYPE_INVALID",
            "Interaction response type is invalid for this interaction",
        )
        .into());
    }
    let data = body.data.unwrap_or_default();
    let reply = Reply {
        content: data.content.clone(),
        embeds: data.embeds.clone(),
        components: data.components.clone(),
        allowed_mentions: data.allowed_mentions.clone(),
        flags: data.flags.unwrap_or(0),
        tts: data.tts.unwrap_or(false),
    };
    // Everything is checked before the response is claimed, so a bad one
    // can be corrected within the three seconds.
    let mut errors = FormErrors::new();
    match body.kind {
        cb::CHANNEL_MESSAGE | cb::UPDATE_MESSAGE => reply.check("data.", &mut errors),
        cb::AUTOCOMPLETE_RESULT => {
            let choices = data.choices.as_deref().unwrap_or_default();
            if choices.len() > 25 {
                errors.add(
                    "data.choices",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 25 or fewer in length.",
                );
            }
            for (i, c) in choices.iter().enumerate() {
                errors.check_len(&format!("data.choices.{i}.name"), &c.name, 1, 100);
            }
        }
        cb::MODAL => {
            match &data.custom_id {
                Some(c) => errors.check_len("data.custom_id", c, 1, 100),
                None => errors.add(
                    "data.custom_id",
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                ),
            }
            match &data.title {
                Some(t) => errors.check_len("data.title", t, 1, 45),
                None => errors.add("data.title", "BASE_TYPE_REQUIRED", "This field is required"),
            }
            components::check(
                "data.components",
                data.components.as_deref().unwrap_or_default(),
                Surface::Modal,
                &mut errors,
            );
        }
        _ => {}
    }
    errors.finish()?;
    if !uploads.is_empty() && (body.kind != cb::CHANNEL_MESSAGE || reply.ephemeral()) {
        return Err(ApiError::Unsupported(
            "files on interaction responses other than a channel message",
        ));
    }
    if body.kind == cb::CHANNEL_MESSAGE && uploads.is_empty() {
        reply.check_not_empty()?;
    }
    // An update is made of the message as it is now: found (and checked
    // for what the edit would leave) before the response is claimed.
    let update = match (body.kind, rec.message_id) {
        (cb::UPDATE_MESSAGE, Some(target)) => {
            let found = respond::find(&state, &rec, target).await?;
            let edit = Edit {
                content: data.content.clone().map(Some),
                embeds: data.embeds.clone().map(Some),
                components: data.components.clone().map(Some),
            };
            if edit.leaves_empty(found.message()) {
                return Err(ErrorCode::EMPTY_MESSAGE.into());
            }
            Some((found, edit))
        }
        _ => None,
    };
    let ephemeral = matches!(
        body.kind,
        cb::CHANNEL_MESSAGE | cb::DEFERRED_CHANNEL_MESSAGE
    ) && reply.ephemeral();
    let original_id = match body.kind {
        cb::CHANNEL_MESSAGE => Some(state.ids.next()),
        cb::DEFERRED_UPDATE_MESSAGE | cb::UPDATE_MESSAGE => rec.message_id,
        _ => None,
    };
    let first = FirstResponse {
        callback_type: body.kind,
        ephemeral,
        original_id,
        deadline_created_after: Timestamp(now_ms() - FIRST_RESPONSE_MS),
    };
    match state.store.acknowledge(rec.id, &token_hash, first).await? {
        Acknowledge::Done => {}
        Acknowledge::Already => return Err(ErrorCode::INTERACTION_ALREADY_ACKNOWLEDGED.into()),
        Acknowledge::Unknown => return Err(ErrorCode::UNKNOWN_INTERACTION.into()),
    }
    let nonce = rec.nonce.clone();
    let mut message = None;
    match body.kind {
        cb::CHANNEL_MESSAGE => {
            let kind = respond::original_kind(&rec);
            message = Some(respond::post(&state, &rec, reply, kind, original_id, uploads).await?);
        }
        cb::UPDATE_MESSAGE => {
            if let Some((found, edit)) = update {
                // Files on an update are refused above.
                let files = respond::EditFiles {
                    keep: None,
                    uploads: Vec::new(),
                };
                message = Some(respond::edit(&state, &rec, found, edit, files).await?);
            }
        }
        cb::AUTOCOMPLETE_RESULT => {
            state.autocomplete_result(
                rec.user_id,
                rec.id,
                nonce.clone(),
                data.choices.unwrap_or_default(),
            );
        }
        cb::MODAL => {
            let mut rows = data.components.unwrap_or_default();
            components::number(&mut rows);
            state.modal_shown(
                rec.user_id,
                ModalShown {
                    id: rec.id,
                    application_id: rec.application_id,
                    channel_id: rec.channel_id,
                    custom_id: data.custom_id.unwrap_or_default(),
                    title: data.title.unwrap_or_default(),
                    components: rows,
                    nonce: nonce.clone(),
                },
            );
        }
        _ => {}
    }
    if rec.kind != it::AUTOCOMPLETE {
        state.interaction_outcome(rec.user_id, rec.id, nonce, true);
    }
    let with_response = matches!(query.with_response.as_deref(), Some("true" | "True" | "1"));
    if !with_response {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let resource = match body.kind {
        cb::AUTOCOMPLETE_RESULT => None,
        kind => Some(CallbackResource {
            kind,
            message: message.clone(),
        }),
    };
    Ok(Json(CallbackResponse {
        interaction: CallbackInteraction {
            id: rec.id,
            kind: rec.kind,
            activity_instance_id: None,
            response_message_id: message.as_ref().map(|m| m.id).or(original_id),
            response_message_loading: body.kind == cb::DEFERRED_CHANNEL_MESSAGE,
            response_message_ephemeral: ephemeral,
        },
        resource,
    })
    .into_response())
}

/// The interaction whose token this is, for its application, while the
/// token lives; `None` when the token is no interaction's (it may be an
/// ordinary webhook's).
pub(super) async fn by_token(
    state: &AppState,
    application_id: Snowflake,
    token: &str,
) -> ApiResult<Option<InteractionRecord>> {
    let Some(rec) = state
        .store
        .interaction_by_token(&auth::hash_token(token))
        .await?
    else {
        return Ok(None);
    };
    if rec.application_id != application_id {
        return Ok(None);
    }
    if rec.created_at.0 < now_ms() - TOKEN_LIFETIME_MS {
        return Err(ErrorCode::INVALID_WEBHOOK_TOKEN.into());
    }
    Ok(Some(rec))
}

async fn live(state: &AppState, application_id: &str, token: &str) -> ApiResult<InteractionRecord> {
    let app = snowflake("application_id", application_id)?;
    let rec = by_token(state, app, token)
        .await?
        .ok_or(ErrorCode::UNKNOWN_WEBHOOK)?;
    // Follow-ups and edits come after the first response.
    if rec.response.is_none() {
        return Err(ErrorCode::UNKNOWN_WEBHOOK.into());
    }
    Ok(rec)
}

/// A follow-up message (`POST /webhooks/{application}/{token}`). The
/// message comes back whatever `wait` says: libraries read it.
pub(super) async fn follow_up(
    state: &AppState,
    rec: &InteractionRecord,
    body: ExecuteWebhook,
    uploads: Vec<crate::files::Upload>,
) -> ApiResult<Response> {
    if rec.response.is_none() {
        return Err(ErrorCode::UNKNOWN_WEBHOOK.into());
    }
    let reply = Reply {
        content: body.content,
        embeds: body.embeds,
        components: body.components,
        allowed_mentions: body.allowed_mentions,
        flags: body.flags.unwrap_or(0),
        tts: body.tts,
    };
    let mut errors = FormErrors::new();
    reply.check("", &mut errors);
    errors.finish()?;
    if uploads.is_empty() {
        reply.check_not_empty()?;
    }
    // The first message after a deferred response is its original.
    let deferred_original =
        rec.response == Some(cb::DEFERRED_CHANNEL_MESSAGE) && rec.original_id.is_none();
    let mut reply = reply;
    if deferred_original && rec.ephemeral {
        reply.flags |= respond::EPHEMERAL;
    }
    let kind = if deferred_original {
        respond::original_kind(rec)
    } else {
        hearth_model::message_type::DEFAULT
    };
    let message = respond::post(state, rec, reply, kind, None, uploads).await?;
    if deferred_original {
        state.store.set_original(rec.id, message.id).await?;
    }
    Ok(Json(message).into_response())
}

/// The message a webhook path names: `@original` or a follow-up's id.
fn target(rec: &InteractionRecord, message_id: &str) -> ApiResult<Option<Snowflake>> {
    if message_id == "@original" {
        return Ok(rec.original_id);
    }
    snowflake("message_id", message_id).map(Some)
}

/// The interaction a webhook path's token belongs to, or `None` for an
/// ordinary webhook's token (whose messages `webhooks` serves).
async fn interaction_of(
    state: &AppState,
    application_id: &str,
    token: &str,
) -> ApiResult<Option<InteractionRecord>> {
    let app = snowflake("application_id", application_id)?;
    if by_token(state, app, token).await?.is_none() {
        return Ok(None);
    }
    live(state, application_id, token).await.map(Some)
}

async fn get_message(
    State(state): State<AppState>,
    Path((application_id, token, message_id)): Path<(String, String, String)>,
) -> ApiResult<Json<Message>> {
    let Some(rec) = interaction_of(&state, &application_id, &token).await? else {
        return super::webhooks::get_own_message(&state, &application_id, &token, &message_id)
            .await;
    };
    let id = target(&rec, &message_id)?.ok_or(ErrorCode::UNKNOWN_MESSAGE)?;
    let found = respond::find(&state, &rec, id).await?;
    Ok(Json(found.message().clone()))
}

async fn edit_message(
    State(state): State<AppState>,
    Path((application_id, token, message_id)): Path<(String, String, String)>,
    crate::files::MessageForm { body, uploads }: crate::files::MessageForm<EditWebhookMessage>,
) -> ApiResult<Json<Message>> {
    let Some(rec) = interaction_of(&state, &application_id, &token).await? else {
        return super::webhooks::edit_own_message(
            &state,
            &application_id,
            &token,
            &message_id,
            body,
            uploads,
        )
        .await;
    };
    let edit = Edit {
        content: body.content,
        embeds: body.embeds,
        components: body.components,
    };
    let mut errors = FormErrors::new();
    edit.check("", &mut errors);
    errors.finish()?;
    match target(&rec, &message_id)? {
        Some(id) => {
            let found = respond::find(&state, &rec, id).await?;
            let files = respond::EditFiles {
                keep: body.attachments,
                uploads,
            };
            Ok(Json(respond::edit(&state, &rec, found, edit, files).await?))
        }
        // A deferred response's original comes with its first edit.
        None if rec.response == Some(cb::DEFERRED_CHANNEL_MESSAGE) => {
            let reply = Reply {
                content: edit.content.flatten(),
                embeds: edit.embeds.flatten(),
                components: edit.components.flatten(),
                allowed_mentions: body.allowed_mentions,
                flags: if rec.ephemeral { respond::EPHEMERAL } else { 0 },
                tts: false,
            };
            // Files alone make a message too.
            if uploads.is_empty() {
                reply.check_not_empty()?;
            }
            let message = respond::post(
                &state,
                &rec,
                reply,
                respond::original_kind(&rec),
                None,
                uploads,
            )
            .await?;
            state.store.set_original(rec.id, message.id).await?;
            Ok(Json(message))
        }
        None => Err(ErrorCode::UNKNOWN_MESSAGE.into()),
    }
}

async fn delete_message(
    State(state): State<AppState>,
    Path((application_id, token, message_id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let Some(rec) = interaction_of(&state, &application_id, &token).await? else {
        return super::webhooks::delete_own_message(&state, &application_id, &token, &message_id)
            .await;
    };
    let id = target(&rec, &message_id)?.ok_or(ErrorCode::UNKNOWN_MESSAGE)?;
    let found = respond::find(&state, &rec, id).await?;
    respond::delete(&state, &rec, found).await?;
    Ok(StatusCode::NO_CONTENT)
}
