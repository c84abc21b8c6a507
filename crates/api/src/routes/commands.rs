//! Application commands: global and per guild, created, edited, replaced
//! in bulk and deleted by their application, and listed for the members
//! who may use them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use hearth_model::commands::command_type;
use hearth_model::{ApplicationCommand, Permissions, Snowflake};
use hearth_proto::interactions::CommandBody;
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::{CommandLimits, StoreError};
use serde::Serialize;
use serde_json::Value;

use crate::access;
use crate::error::{ApiError, ApiResult};
use crate::extract::{snowflake, Body, Caller};
use crate::interactions::definitions::{self, Definition};
use crate::state::AppState;

/// Per scope and type, as on Discord.
pub const LIMITS: CommandLimits = CommandLimits {
    chat_input: 100,
    user: 15,
    message: 15,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/applications/{application_id}/commands",
            get(list_global).post(create_global).put(overwrite_global),
        )
        .route(
            "/applications/{application_id}/commands/{command_id}",
            get(get_global).patch(edit_global).delete(delete_global),
        )
        .route(
            "/applications/{application_id}/guilds/{guild_id}/commands",
            get(list_guild).post(create_guild).put(overwrite_guild),
        )
        .route(
            "/applications/{application_id}/guilds/{guild_id}/commands/permissions",
            get(no_permissions),
        )
        .route(
            "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
            get(get_guild).patch(edit_guild).delete(delete_guild),
        )
        .route(
            "/guilds/{guild_id}/application-command-index",
            get(command_index),
        )
}

/// The scope a route names, checked: the caller is the application's bot
/// or its owner, and for a guild scope the bot is in the guild.
async fn scope(
    state: &AppState,
    caller: &Caller,
    application_id: &str,
    guild_id: Option<&str>,
) -> ApiResult<(Snowflake, Option<Snowflake>)> {
    let app_id = snowflake("application_id", application_id)?;
    let app = access::application(state, app_id, caller.user.id).await?;
    let guild = match guild_id {
        None => None,
        Some(g) => {
            let g = snowflake("guild_id", g)?;
            if state.store.member(g, app.id).await?.is_none() {
                return Err(ErrorCode::MISSING_ACCESS.into());
            }
            Some(g)
        }
    };
    Ok((app.id, guild))
}

/// `default_member_permissions` as stored: a bitfield in decimal, or none.
fn permissions_of(v: &Option<Value>, path: &str, errors: &mut FormErrors) -> Option<String> {
    let parsed = match v {
        None | Some(Value::Null) => return None,
        Some(Value::String(s)) => s.parse::<u64>().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        Some(_) => None,
    };
    match parsed {
        Some(bits) => Some(Permissions(bits).0.to_string()),
        None => {
            errors.add(path, "NUMBER_TYPE_COERCE", "Must be a permission bitfield");
            None
        }
    }
}

/// A new command from its definition, or `None` with the problems added
/// under `path`.
fn build(
    state: &AppState,
    app_id: Snowflake,
    guild_id: Option<Snowflake>,
    body: CommandBody,
    path: &str,
    errors: &mut FormErrors,
) -> Option<ApplicationCommand> {
    let at = |f: &str| {
        if path.is_empty() {
            f.to_owned()
        } else {
            format!("{path}.{f}")
        }
    };
    let kind = body.kind.unwrap_or(command_type::CHAT_INPUT);
    let Some(name) = body.name else {
        errors.add(&at("name"), "BASE_TYPE_REQUIRED", "This field is required");
        return None;
    };
    let description = body.description.unwrap_or_default();
    let options = body.options.unwrap_or_default();
    definitions::check(
        path,
        &Definition {
            kind,
            name: &name,
            description: &description,
            name_localizations: &body.name_localizations,
            description_localizations: &body.description_localizations,
            options: &options,
        },
        errors,
    );
    let perms = permissions_of(
        &body.default_member_permissions,
        &at("default_member_permissions"),
        errors,
    );
    Some(ApplicationCommand {
        id: body.id.unwrap_or_else(|| state.ids.next()),
        kind,
        application_id: app_id,
        guild_id,
        name,
        name_localizations: body.name_localizations,
        description,
        description_localizations: body.description_localizations,
        options,
        default_member_permissions: perms,
        dm_permission: body.dm_permission.unwrap_or(true),
        contexts: body.contexts,
        integration_types: body.integration_types.unwrap_or_else(|| vec![0]),
        nsfw: body.nsfw.unwrap_or(false),
        version: state.ids.next(),
    })
}

async fn create(
    state: AppState,
    caller: Caller,
    application_id: String,
    guild_id: Option<String>,
    body: CommandBody,
) -> ApiResult<impl IntoResponse> {
    let (app_id, guild) = scope(&state, &caller, &application_id, guild_id.as_deref()).await?;
    let mut errors = FormErrors::new();
    let mut body = body;
    body.id = None;
    let command = build(&state, app_id, guild, body, "", &mut errors);
    errors.finish()?;
    let command = command.ok_or(ErrorCode::INVALID_FORM_BODY)?;
    let (stored, created) = state.store.upsert_command(&command, LIMITS).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(stored)))
}

async fn overwrite(
    state: AppState,
    caller: Caller,
    application_id: String,
    guild_id: Option<String>,
    bodies: Vec<CommandBody>,
) -> ApiResult<Json<Vec<ApplicationCommand>>> {
    let (app_id, guild) = scope(&state, &caller, &application_id, guild_id.as_deref()).await?;
    let mut errors = FormErrors::new();
    let mut commands = Vec::with_capacity(bodies.len());
    for kind in [
        command_type::CHAT_INPUT,
        command_type::USER,
        command_type::MESSAGE,
    ] {
        let n = bodies
            .iter()
            .filter(|b| b.kind.unwrap_or(command_type::CHAT_INPUT) == kind)
            .count();
        if n > LIMITS.of(kind) {
            return Err(ErrorCode::MAX_COMMANDS.into());
        }
    }
    for (i, body) in bodies.into_iter().enumerate() {
        if let Some(c) = build(&state, app_id, guild, body, &i.to_string(), &mut errors) {
            if commands
                .iter()
                .any(|o: &ApplicationCommand| o.kind == c.kind && o.name == c.name)
            {
                errors.add(
                    &format!("{i}.name"),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    format!("Application command names must be unique ({})", c.name),
                );
            }
            commands.push(c);
        }
    }
    errors.finish()?;
    // Ids a body named are kept only when they are the scope's own; the
    // store keeps the id of a command replaced by name.
    let existing = state.store.commands(app_id, guild).await?;
    for c in commands.iter_mut() {
        if !existing.iter().any(|e| e.id == c.id) {
            c.id = state.ids.next();
        }
    }
    let stored = state
        .store
        .overwrite_commands(app_id, guild, &commands)
        .await?;
    Ok(Json(stored))
}

async fn edit(
    state: AppState,
    caller: Caller,
    application_id: String,
    guild_id: Option<String>,
    command_id: String,
    body: CommandBody,
) -> ApiResult<Json<ApplicationCommand>> {
    let (app_id, guild) = scope(&state, &caller, &application_id, guild_id.as_deref()).await?;
    let old = found(&state, app_id, guild, &command_id).await?;
    // What the body leaves out stays as it was.
    let merged = CommandBody {
        name: body.name.or(Some(old.name.clone())),
        name_localizations: body.name_localizations.or(old.name_localizations.clone()),
        description: body.description.or(Some(old.description.clone())),
        description_localizations: body
            .description_localizations
            .or(old.description_localizations.clone()),
        options: body.options.or(Some(old.options.clone())),
        default_member_permissions: match body.default_member_permissions {
            Some(v) => Some(v),
            None => old.default_member_permissions.clone().map(Value::String),
        },
        dm_permission: body.dm_permission.or(Some(old.dm_permission)),
        contexts: body.contexts.or(old.contexts.clone()),
        integration_types: body
            .integration_types
            .or(Some(old.integration_types.clone())),
        kind: Some(old.kind),
        nsfw: body.nsfw.or(Some(old.nsfw)),
        id: Some(old.id),
    };
    let mut errors = FormErrors::new();
    let command = build(&state, app_id, guild, merged, "", &mut errors);
    errors.finish()?;
    let command = command.ok_or(ErrorCode::INVALID_FORM_BODY)?;
    state
        .store
        .replace_command(&command)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::Form(FormErrors::single(
                "name",
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )),
            StoreError::Missing(_) => ErrorCode::UNKNOWN_APPLICATION_COMMAND.into(),
            other => other.into(),
        })?;
    Ok(Json(command))
}

/// The command, if it is of the scope.
async fn found(
    state: &AppState,
    app_id: Snowflake,
    guild: Option<Snowflake>,
    command_id: &str,
) -> ApiResult<ApplicationCommand> {
    let id = snowflake("command_id", command_id)?;
    state
        .store
        .command(app_id, id)
        .await?
        .filter(|c| c.guild_id == guild)
        .ok_or_else(|| ErrorCode::UNKNOWN_APPLICATION_COMMAND.into())
}

async fn remove(
    state: AppState,
    caller: Caller,
    application_id: String,
    guild_id: Option<String>,
    command_id: String,
) -> ApiResult<StatusCode> {
    let (app_id, guild) = scope(&state, &caller, &application_id, guild_id.as_deref()).await?;
    let command = found(&state, app_id, guild, &command_id).await?;
    state.store.delete_command(app_id, command.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_global(
    State(state): State<AppState>,
    caller: Caller,
    Path(application_id): Path<String>,
) -> ApiResult<Json<Vec<ApplicationCommand>>> {
    let (app_id, guild) = scope(&state, &caller, &application_id, None).await?;
    Ok(Json(state.store.commands(app_id, guild).await?))
}

async fn list_guild(
    State(state): State<AppState>,
    caller: Caller,
    Path((application_id, guild_id)): Path<(String, String)>,
) -> ApiResult<Json<Vec<ApplicationCommand>>> {
    let (app_id, guild) = scope(&state, &caller, &application_id, Some(&guild_id)).await?;
    Ok(Json(state.store.commands(app_id, guild).await?))
}

async fn get_global(
    State(state): State<AppState>,
    caller: Caller,
    Path((application_id, command_id)): Path<(String, String)>,
) -> ApiResult<Json<ApplicationCommand>> {
    let (app_id, guild) = scope(&state, &caller, &application_id, None).await?;
    Ok(Json(found(&state, app_id, guild, &command_id).await?))
}

async fn get_guild(
    State(state): State<AppState>,
    caller: Caller,
    Path((application_id, guild_id, command_id)): Path<(String, String, String)>,
) -> ApiResult<Json<ApplicationCommand>> {
    let (app_id, guild) = scope(&state, &caller, &application_id, Some(&guild_id)).await?;
    Ok(Json(found(&state, app_id, guild, &command_id).await?))
}

async fn create_global(
    State(state): State<AppState>,
    caller: Caller,
    Path(application_id): Path<String>,
    Body(body): Body<CommandBody>,
) -> ApiResult<impl IntoResponse> {
    create(state, caller, application_id, None, body).await
}

async fn create_guild(
    State(state): State<AppState>,
    caller: Caller,
    Path((application_id, guild_id)): Path<(String, String)>,
    Body(body): Body<CommandBody>,
) -> ApiResult<impl IntoResponse> {
    create(state, caller, application_id, Some(guild_id), body).await
}

async fn overwrite_global(
    State(state): State<AppState>,
    caller: Caller,
    Path(application_id): Path<String>,
    Body(bodies): Body<Vec<CommandBody>>,
) -> ApiResult<Json<Vec<ApplicationCommand>>> {
    overwrite(state, caller, application_id, None, bodies).await
}

async fn overwrite_guild(
    State(state): State<AppState>,
    caller: Caller,
    Path((application_id, guild_id)): Path<(String, String)>,
    Body(bodies): Body<Vec<CommandBody>>,
) -> ApiResult<Json<Vec<ApplicationCommand>>> {
    overwrite(state, caller, application_id, Some(guild_id), bodies).await
}

async fn edit_global(
    State(state): State<AppState>,
    caller: Caller,
    Path((application_id, command_id)): Path<(String, String)>,
    Body(body): Body<CommandBody>,
) -> ApiResult<Json<ApplicationCommand>> {
    edit(state, caller, application_id, None, command_id, body).await
}

async fn edit_guild(
    State(state): State<AppState>,
    caller: Caller,
    Path((application_id, guild_id, command_id)): Path<(String, String, String)>,
    Body(body): Body<CommandBody>,
) -> ApiResult<Json<ApplicationCommand>> {
    edit(
        state,
        caller,
        application_id,
        Some(guild_id),
        command_id,
        body,
    )
    .await
}

async fn delete_global(
    State(state): State<AppState>,
    caller: Caller,
    Path((application_id, command_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    remove(state, caller, application_id, None, command_id).await
}

async fn delete_guild(
    State(state): State<AppState>,
    caller: Caller,
    Path((application_id, guild_id, command_id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    remove(state, caller, application_id, Some(guild_id), command_id).await
}

/// Per-command permission overrides are not kept: every command has none.
async fn no_permissions(
    State(state): State<AppState>,
    caller: Caller,
    Path((application_id, guild_id)): Path<(String, String)>,
) -> ApiResult<Json<Vec<Value>>> {
    scope(&state, &caller, &application_id, Some(&guild_id)).await?;
    Ok(Json(Vec::new()))
}

#[derive(Serialize)]
struct IndexApplication {
    id: Snowflake,
    name: String,
    icon: Option<String>,
    bot_id: Snowflake,
}

#[derive(Serialize)]
struct CommandIndex {
    applications: Vec<IndexApplication>,
    application_commands: Vec<ApplicationCommand>,
}

/// What a member may see to use in the guild: the commands of the
/// guild's applications that the member's permissions allow.
async fn command_index(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
) -> ApiResult<Json<CommandIndex>> {
    let guild_id = snowflake("guild_id", &guild_id)?;
    let access = access::guild(&state, guild_id, caller.user.id).await?;
    let perms = access.permissions();
    let commands: Vec<ApplicationCommand> = state
        .store
        .guild_command_index(guild_id)
        .await?
        .into_iter()
        .filter(|c| member_may_use(c, perms))
        .collect();
    let mut applications: Vec<IndexApplication> = Vec::new();
    for c in &commands {
        if applications.iter().any(|a| a.id == c.application_id) {
            continue;
        }
        if let Some(app) = state.store.application(c.application_id).await? {
            applications.push(IndexApplication {
                id: app.id,
                name: app.name,
                icon: app.icon,
                bot_id: app.bot.id,
            });
        }
    }
    Ok(Json(CommandIndex {
        applications,
        application_commands: commands,
    }))
}

/// `default_member_permissions`: the member needs every bit it names
/// ("0": only administrators); none: everyone.
pub fn member_may_use(command: &ApplicationCommand, perms: Permissions) -> bool {
    match command
        .default_member_permissions
        .as_deref()
        .and_then(|p| p.parse::<u64>().ok())
    {
        None => true,
        Some(_) if perms.contains(Permissions::ADMINISTRATOR) => true,
        Some(0) => false,
        Some(bits) => perms.contains(Permissions(bits)),
    }
}
