//! Discord's JSON error codes and body shape: `{code, message, errors?}`.

use serde::Serialize;
use serde_json::{Map, Value};

/// A JSON error code with the HTTP status and message that go with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    pub code: u32,
    pub status: u16,
    pub message: &'static str,
}

macro_rules! codes {
    ($($name:ident = ($code:expr, $status:expr, $msg:expr);)*) => {
        impl ErrorCode { $(pub const $name: ErrorCode = ErrorCode { code: $code, status: $status, message: $msg };)* }
    };
}

codes! {
    UNAUTHORIZED = (0, 401, "401: Unauthorized");
    NOT_FOUND = (0, 404, "404: Not Found");
    METHOD_NOT_ALLOWED = (0, 405, "405: Method Not Allowed");
    INTERNAL = (0, 500, "500: Internal Server Error");
    UNKNOWN_APPLICATION = (10002, 404, "Unknown Application");
    UNKNOWN_CHANNEL = (10003, 404, "Unknown Channel");
    UNKNOWN_GUILD = (10004, 404, "Unknown Guild");
    UNKNOWN_INVITE = (10006, 404, "Unknown Invite");
    UNKNOWN_MEMBER = (10007, 404, "Unknown Member");
    UNKNOWN_MESSAGE = (10008, 404, "Unknown Message");
    UNKNOWN_OVERWRITE = (10009, 404, "Unknown Permission Overwrite");
    UNKNOWN_ROLE = (10011, 404, "Unknown Role");
    UNKNOWN_USER = (10013, 404, "Unknown User");
    UNKNOWN_WEBHOOK = (10015, 404, "Unknown Webhook");
    UNKNOWN_EMOJI = (10014, 400, "Unknown Emoji");
    UNKNOWN_BAN = (10026, 404, "Unknown Ban");
    UNKNOWN_GUILD_EMOJI = (10014, 404, "Unknown Emoji");
    UNKNOWN_STICKER = (10060, 404, "Unknown sticker");
    UNKNOWN_SCHEDULED_EVENT = (10070, 404, "Unknown Guild Scheduled Event");
    UNKNOWN_COMMAND_PERMISSIONS = (10066, 404, "Unknown application command permissions");
    UNKNOWN_INTERACTION = (10062, 404, "Unknown interaction");
    UNKNOWN_APPLICATION_COMMAND = (10063, 404, "Unknown application command");
    BOTS_CANNOT_USE = (20001, 403, "Bots cannot use this endpoint");
    MAX_GUILD_ROLES = (30005, 400, "Maximum number of guild roles reached (250)");
    MAX_WEBHOOKS = (30007, 400, "Maximum number of webhooks reached (15)");
    MAX_RECIPIENTS = (30011, 400, "Maximum number of group DM recipients reached (10)");
    MAX_PINS = (30003, 400, "Maximum number of pins reached for the channel (50)");
    MAX_REACTIONS = (30010, 400, "Maximum number of reactions reached (20)");
    MAX_COMMANDS = (30032, 400, "Maximum number of application commands reached");
    MAX_CHANNELS = (30013, 400, "Maximum number of guild channels reached (500)");
    MAX_INVITES = (30016, 400, "Maximum number of invites reached (1000)");
    MAX_THREAD_MEMBERS = (30033, 400, "Max number of thread participants has been reached");
    THREAD_ARCHIVED = (50083, 400, "Operation cannot be performed on an archived thread");
    THREAD_ALREADY_CREATED = (160004, 400, "A thread has already been created for this message");
    MAX_ACTIVE_THREADS = (160006, 400, "Maximum number of active threads reached");
    UNAUTHORIZED_ACTION = (40001, 401, "Unauthorized. Provide a valid token and try again");
    ENTITY_TOO_LARGE = (40005, 413, "Request entity too large");
    BANNED = (40007, 403, "The user is banned from this guild.");
    ALREADY_MEMBER = (40004, 400, "This user is already a member of this guild.");
    TARGET_NOT_IN_VOICE = (40032, 400, "Target user is not connected to voice.");
    MISSING_ACCESS = (50001, 403, "Missing Access");
    INVALID_ACCOUNT_TYPE = (50002, 403, "Invalid account type");
    CANNOT_EDIT_OTHERS_MESSAGE = (50005, 403, "Cannot edit a message authored by another user");
    EMPTY_MESSAGE = (50006, 400, "Cannot send an empty message");
    MISSING_PERMISSIONS = (50013, 403, "Missing Permissions");
    BULK_DELETE_COUNT = (50016, 400, "Provided too few or too many messages to delete. Must provide at least 2 and fewer than 100 messages to delete.");
    CANNOT_MESSAGE_USER = (50007, 400, "Cannot send messages to this user");
    SYSTEM_MESSAGE = (50021, 400, "Cannot execute action on a system message");
    INVALID_CHANNEL_TYPE = (50024, 400, "Cannot execute action on this channel type");
    INVALID_WEBHOOK_TOKEN = (50027, 401, "Invalid Webhook Token");
    INVALID_ROLE = (50028, 400, "Invalid Role");
    BULK_DELETE_TOO_OLD = (50034, 400, "You can only bulk delete messages that are under 14 days old.");
    INTERACTION_ALREADY_ACKNOWLEDGED = (40060, 400, "Interaction has already been acknowledged.");
    INVALID_FORM_BODY = (50035, 400, "Invalid Form Body");
    INVALID_JSON = (50109, 400, "The request body contains invalid JSON.");
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
    pub code: u32,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Value>,
}

impl From<ErrorCode> for ErrorBody {
    fn from(c: ErrorCode) -> Self {
        ErrorBody {
            code: c.code,
            message: c.message.to_owned(),
            errors: None,
        }
    }
}

/// Field errors of a 50035 response, nested the way Discord nests them:
/// `{"embeds": {"0": {"title": {"_errors": [{"code", "message"}]}}}}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormErrors {
    root: Map<String, Value>,
}

impl FormErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an error at a dotted path (`"embeds.0.title"`; `""` for the body itself).
    pub fn add(&mut self, path: &str, code: &str, message: impl Into<String>) {
        let mut node = &mut self.root;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            let entry = node
                .entry(part.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            // Just made sure it is an object.
            node = entry.as_object_mut().expect("object");
        }
        let list = node
            .entry("_errors".to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list {
            items.push(serde_json::json!({"code": code, "message": message.into()}));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.root.is_empty()
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.root)
    }

    /// Ok when nothing was added, so validators can end with `errors.finish()?`.
    pub fn finish(self) -> Result<(), FormErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Shorthand for a single field error.
    pub fn single(path: &str, code: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(path, code, message);
        e
    }

    /// A name shown to other people (guild, channel, role, nickname): its
    /// length, and no control characters or bidirectional overrides, which
    /// let one name disguise itself as another or garble the text around it.
    pub fn check_name(&mut self, path: &str, value: &str, min: usize, max: usize) {
        self.check_len(path, value, min, max);
        if value.chars().any(forbidden_in_names) {
            self.add(
                path,
                "NAME_INVALID_CHARACTERS",
                "Names cannot contain control or text-direction characters.",
            );
        }
    }

    /// Length check in characters (what Discord counts), recorded under `path`.
    pub fn check_len(&mut self, path: &str, value: &str, min: usize, max: usize) {
        let n = value.chars().count();
        if n < min {
            self.add(
                path,
                "BASE_TYPE_BAD_LENGTH",
                format!("Must be between {min} and {max} in length."),
            );
        } else if n > max {
            self.add(
                path,
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length."),
            );
        }
    }
}

/// Control characters (NUL, newlines, C1) and the Unicode embedding,
/// override and isolate controls (U+202A–U+202E, U+2066–U+2069).
fn forbidden_in_names(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_nul_and_direction_overrides() {
        for bad in ["a\0b", "evil\u{202E}txt.exe", "line\nbreak", "\u{2067}x"] {
            let mut e = FormErrors::new();
            e.check_name("name", bad, 1, 100);
            assert!(!e.is_empty(), "{bad:?} accepted");
        }
        let mut e = FormErrors::new();
        e.check_name("name", "Café ☕ — 日本", 1, 100);
        assert!(e.is_empty());
    }

    #[test]
    fn nests_paths_like_discord() {
        let mut e = FormErrors::new();
        e.add(
            "embeds.0.title",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 256 or fewer in length.",
        );
        e.add("content", "BASE_TYPE_REQUIRED", "This field is required");
        let v = e.into_value();
        assert_eq!(
            v["embeds"]["0"]["title"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );
        assert_eq!(
            v["content"]["_errors"][0]["message"],
            "This field is required"
        );
    }
}
