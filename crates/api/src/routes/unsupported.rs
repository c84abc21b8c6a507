//! Discord routes Hearth does not serve, known by shape: a request for one
//! gets 501 in Discord's error shape, naming the feature, instead of the
//! bare 404 (or 405) of a route that does not exist, so a bot's author can
//! tell "not supported here" from "wrong URL". Routes of absent features
//! whose reads have an honest empty answer are served in `absent`.

use axum::http::{Method, Uri};

use crate::error::ApiError;

/// `(methods, template, feature)`; `*` in a template is one path segment.
const ROUTES: &[(&[&str], &str, &str)] = &[
    (
        &["PATCH"],
        "/applications/@me",
        "editing the current application",
    ),
    (
        &["PUT"],
        "/applications/*/guilds/*/commands/permissions",
        "command permission overrides",
    ),
    (
        &["PUT"],
        "/applications/*/guilds/*/commands/*/permissions",
        "command permission overrides",
    ),
    (
        &["GET", "PUT"],
        "/applications/*/role-connections/metadata",
        "role connections",
    ),
    (
        &["GET"],
        "/applications/*/activity-instances/*",
        "activities",
    ),
    (
        &["GET", "PATCH", "DELETE"],
        "/applications/*/emojis/*",
        "application emoji",
    ),
    (&["POST"], "/applications/*/emojis", "application emoji"),
    (
        &["GET", "DELETE"],
        "/applications/*/entitlements/*",
        "entitlements",
    ),
    (&["POST"], "/applications/*/entitlements", "entitlements"),
    (
        &["POST"],
        "/applications/*/entitlements/*/consume",
        "entitlements",
    ),
    (&["GET"], "/skus/*/subscriptions", "subscriptions"),
    (&["GET"], "/skus/*/subscriptions/*", "subscriptions"),
    (
        &["GET", "PUT"],
        "/invites/*/target-users",
        "invite target users",
    ),
    (
        &["GET"],
        "/invites/*/target-users/job-status",
        "invite target users",
    ),
    (&["POST"], "/channels/*/followers", "announcement channels"),
    (
        &["POST"],
        "/channels/*/messages/*/crosspost",
        "announcement channels",
    ),
    (
        &["PUT"],
        "/channels/*/voice-status",
        "voice channel statuses",
    ),
    (
        &["GET", "PUT", "DELETE"],
        "/channels/*/thread-members/*",
        "threads",
    ),
    (&["GET"], "/channels/*/thread-members", "threads"),
    (&["GET"], "/channels/*/polls/*/answers/*", "polls"),
    (&["POST"], "/channels/*/polls/*/expire", "polls"),
    (
        &["POST"],
        "/channels/*/send-soundboard-sound",
        "soundboard sounds",
    ),
    (
        &["PUT"],
        "/guilds/*/members/*",
        "adding members with OAuth2",
    ),
    (
        &["PATCH"],
        "/guilds/*/members/@me/nick",
        "the old nickname route",
    ),
    (&["POST"], "/guilds/*/bulk-ban", "bulk bans"),
    (&["GET", "POST"], "/guilds/*/prune", "pruning"),
    (
        &["GET"],
        "/guilds/*/roles/member-counts",
        "role member counts",
    ),
    (&["POST", "PATCH"], "/guilds/*/mfa", "guild MFA levels"),
    (&["PUT"], "/guilds/*/incident-actions", "incident actions"),
    (&["GET"], "/guilds/*/preview", "guild previews"),
    (&["GET"], "/guilds/*/widget.json", "widgets"),
    (
        &["GET", "PATCH"],
        "/guilds/*/voice-states/*",
        "voice state routes",
    ),
    (
        &["GET", "POST", "PATCH", "DELETE"],
        "/guilds/*/auto-moderation/rules/*",
        "auto-moderation rules",
    ),
    (
        &["GET", "PATCH", "DELETE"],
        "/guilds/*/soundboard-sounds/*",
        "soundboard sounds",
    ),
    (
        &["GET"],
        "/guilds/*/scheduled-events/*/users",
        "scheduled events",
    ),
    (
        &["POST", "PATCH", "DELETE"],
        "/guilds/*/integrations/*",
        "integrations",
    ),
    (&["POST"], "/guilds/*/integrations/*/sync", "integrations"),
    (
        &["PUT", "PATCH", "DELETE"],
        "/guilds/*/templates/*",
        "guild templates",
    ),
    (&["GET", "POST"], "/guilds/templates/*", "guild templates"),
    (
        &["GET", "PUT", "DELETE"],
        "/channels/*/thread-members/@me",
        "threads",
    ),
    (&["POST"], "/stage-instances", "stage instances"),
    (
        &["GET", "PATCH", "DELETE"],
        "/stage-instances/*",
        "stage instances",
    ),
    (&["GET"], "/sticker-packs/*", "stickers"),
    (&["POST"], "/users/*/channels", "group direct messages"),
    (&["GET"], "/users/@me/connections", "connections"),
    (
        &["GET"],
        "/users/@me/guilds/*/member",
        "OAuth2 member reads",
    ),
    (&["GET"], "/oauth2/@me", "OAuth2 authorization info"),
    (&["PATCH"], "/webhooks/*", "editing webhooks"),
    (&["PATCH"], "/webhooks/*/*", "editing webhooks"),
    (
        &["POST"],
        "/webhooks/*/*/slack",
        "Slack-compatible webhooks",
    ),
    (
        &["POST"],
        "/webhooks/*/*/github",
        "GitHub-compatible webhooks",
    ),
];

fn matches(template: &str, path: &str) -> bool {
    let mut t = template.split('/');
    let mut p = path.trim_end_matches('/').split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some("*"), Some(seg)) if !seg.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// The feature a Discord route of this method and path belongs to, if it
/// is one Hearth knows it lacks.
pub fn feature(method: &Method, uri: &Uri) -> Option<&'static str> {
    let path = uri.path();
    let path = path
        .strip_prefix("/api/v10")
        .or_else(|| path.strip_prefix("/api/v9"))
        .unwrap_or(path);
    ROUTES
        .iter()
        .find(|(methods, template, _)| {
            methods.contains(&method.as_str()) && matches(template, path)
        })
        .map(|(_, _, feature)| *feature)
}

/// What the router answers for a route it does not have.
pub fn refusal(method: &Method, uri: &Uri, otherwise: ApiError) -> ApiError {
    match feature(method, uri) {
        Some(f) => ApiError::Unsupported(f),
        None => otherwise,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_shapes_and_only_those() {
        let f = |m: Method, p: &str| feature(&m, &p.parse().unwrap());
        assert_eq!(
            f(Method::POST, "/api/v10/guilds/1/bulk-ban"),
            Some("bulk bans")
        );
        assert_eq!(f(Method::GET, "/guilds/1/preview"), Some("guild previews"));
        assert_eq!(
            f(Method::PATCH, "/api/v9/webhooks/1/tok"),
            Some("editing webhooks")
        );
        assert_eq!(f(Method::GET, "/api/v10/guilds/1/bulk-ban"), None);
        assert_eq!(f(Method::GET, "/api/v10/nothing/here"), None);
        assert_eq!(f(Method::GET, "/api/v10/guilds//preview"), None);
    }
}
