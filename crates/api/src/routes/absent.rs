//! Routes of Discord features Hearth does not have (yet): custom emoji,
//! stickers, scheduled events, audit logs, integrations,
//! auto-moderation, templates, soundboard, monetization, onboarding,
//! widgets, vanity URLs.
//!
//! A bot library calls some of these as a matter of course; a bare 404
//! would read as a bug in the server or the library. Reads answer what
//! Discord answers when there are none (after the same access checks as a
//! real route), lookups of one item answer its "Unknown ..." error, and
//! writes answer 501 in Discord's error shape, naming the feature.

use axum::extract::{Path, State};
use axum::routing::{get, MethodRouter};
use axum::{Json, Router};
use hearth_model::Snowflake;
use hearth_proto::ErrorCode;
use serde_json::{json, Value};

use crate::access;
use crate::error::{ApiError, ApiResult};
use crate::extract::{snowflake, Caller};
use crate::state::AppState;

/// What a guild-scoped read of an absent feature answers.
#[derive(Debug, Clone, Copy)]
enum Empty {
    List,
    /// `{"items": []}` (application emojis, soundboard sounds).
    Items,
    AuditLog,
    Onboarding,
    WelcomeScreen,
    Widget,
    VanityUrl,
}

impl Empty {
    fn body(self, guild_id: Snowflake) -> Value {
        match self {
            Empty::List => json!([]),
            Empty::Items => json!({"items": []}),
            Empty::AuditLog => json!({
                "application_commands": [], "audit_log_entries": [], "auto_moderation_rules": [],
                "guild_scheduled_events": [], "integrations": [], "threads": [], "users": [],
                "webhooks": []
            }),
            Empty::Onboarding => json!({
                "guild_id": guild_id, "prompts": [], "default_channel_ids": [],
                "enabled": false, "mode": 0
            }),
            Empty::WelcomeScreen => json!({"description": null, "welcome_channels": []}),
            Empty::Widget => json!({"enabled": false, "channel_id": null}),
            Empty::VanityUrl => json!({"code": null, "uses": 0}),
        }
    }
}

/// A guild route: members read `empty`, writes are unsupported.
fn guild_read(empty: Empty, feature: &'static str) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>,
              caller: Caller,
              Path(p): Path<Vec<(String, String)>>| async move {
            let guild_id = param(&p, "guild_id")?;
            access::guild(&state, guild_id, caller.user.id).await?;
            Ok::<_, ApiError>(Json(empty.body(guild_id)))
        },
    )
    .fallback(move |_caller: Caller| async move { unsupported(feature) })
}

/// One item of an absent feature: reads are its "Unknown ..." error.
fn unknown(code: ErrorCode, feature: &'static str) -> MethodRouter<AppState> {
    get(move |_caller: Caller| async move { Err::<Json<Value>, _>(ApiError::Code(code)) })
        .fallback(move |_caller: Caller| async move { unsupported(feature) })
}

/// Writes only (the feature has no read here).
fn writes(feature: &'static str) -> MethodRouter<AppState> {
    MethodRouter::new().fallback(move |_caller: Caller| async move { unsupported(feature) })
}

fn unsupported(feature: &'static str) -> ApiResult<Json<Value>> {
    Err(ApiError::Unsupported(feature))
}

fn param(p: &[(String, String)], name: &str) -> ApiResult<Snowflake> {
    let raw = p
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    snowflake(name, raw)
}

/// An application's own lists (entitlements, SKUs, emojis): empty, for its
/// bot or owner.
fn application_read(body: fn() -> Value) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>,
              caller: Caller,
              Path(p): Path<Vec<(String, String)>>| async move {
            let app_id = param(&p, "application_id")?;
            access::application(&state, app_id, caller.user.id).await?;
            Ok::<_, ApiError>(Json(body()))
        },
    )
}

pub fn routes() -> Router<AppState> {
    Router::new()
        // Custom emoji and stickers.
        .route(
            "/guilds/{guild_id}/emojis",
            guild_read(Empty::List, "custom emoji"),
        )
        .route(
            "/guilds/{guild_id}/emojis/{emoji_id}",
            unknown(ErrorCode::UNKNOWN_GUILD_EMOJI, "custom emoji"),
        )
        .route(
            "/guilds/{guild_id}/stickers",
            guild_read(Empty::List, "stickers"),
        )
        .route(
            "/guilds/{guild_id}/stickers/{sticker_id}",
            unknown(ErrorCode::UNKNOWN_STICKER, "stickers"),
        )
        .route(
            "/stickers/{sticker_id}",
            unknown(ErrorCode::UNKNOWN_STICKER, "stickers"),
        )
        .route(
            "/sticker-packs",
            get(|_caller: Caller| async { Json(json!({"sticker_packs": []})) }),
        )
        // Guild features that are not there.
        .route(
            "/guilds/{guild_id}/scheduled-events",
            guild_read(Empty::List, "scheduled events"),
        )
        .route(
            "/guilds/{guild_id}/scheduled-events/{event_id}",
            unknown(ErrorCode::UNKNOWN_SCHEDULED_EVENT, "scheduled events"),
        )
        .route(
            "/guilds/{guild_id}/audit-logs",
            guild_read(Empty::AuditLog, "audit logs"),
        )
        .route(
            "/guilds/{guild_id}/integrations",
            guild_read(Empty::List, "integrations"),
        )
        .route(
            "/guilds/{guild_id}/auto-moderation/rules",
            guild_read(Empty::List, "auto-moderation rules"),
        )
        .route(
            "/guilds/{guild_id}/templates",
            guild_read(Empty::List, "guild templates"),
        )
        .route(
            "/guilds/{guild_id}/soundboard-sounds",
            guild_read(Empty::Items, "soundboard sounds"),
        )
        .route(
            "/soundboard-default-sounds",
            get(|_caller: Caller| async { Json(json!([])) }),
        )
        .route(
            "/guilds/{guild_id}/onboarding",
            guild_read(Empty::Onboarding, "onboarding"),
        )
        .route(
            "/guilds/{guild_id}/welcome-screen",
            guild_read(Empty::WelcomeScreen, "welcome screens"),
        )
        .route(
            "/guilds/{guild_id}/widget",
            guild_read(Empty::Widget, "widgets"),
        )
        .route(
            "/guilds/{guild_id}/vanity-url",
            guild_read(Empty::VanityUrl, "vanity URLs"),
        )
        // Not a role id: the counts are not kept.
        .route(
            "/guilds/{guild_id}/roles/member-counts",
            writes("role member counts"),
        )
        // Per-command permission overrides are not kept (the list is empty).
        .route(
            "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}/permissions",
            unknown(
                ErrorCode::UNKNOWN_COMMAND_PERMISSIONS,
                "command permission overrides",
            ),
        )
        // Monetization and application emoji.
        .route(
            "/applications/{application_id}/entitlements",
            application_read(|| json!([])),
        )
        .route(
            "/applications/{application_id}/skus",
            application_read(|| json!([])),
        )
        .route(
            "/applications/{application_id}/emojis",
            application_read(|| json!({"items": []})),
        )
}
