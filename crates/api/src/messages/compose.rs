//! Checking what a client wants to post, and finding what it mentions.

use hearth_model::{Embed, Snowflake};
use hearth_proto::FormErrors;

pub const MAX_CONTENT: usize = 2000;
pub const MAX_EMBEDS: usize = 10;
const MAX_EMBED_TOTAL: usize = 6000;

/// Validates content and embeds with Discord's limits, recording every
/// problem (not just the first) under its field path.
pub fn check_body(content: &str, embeds: &[Embed], errors: &mut FormErrors) {
    let n = content.chars().count();
    if n > MAX_CONTENT {
        errors.add(
            "content",
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {MAX_CONTENT} or fewer in length."),
        );
    }
    if embeds.len() > MAX_EMBEDS {
        errors.add(
            "embeds",
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {MAX_EMBEDS} or fewer in length."),
        );
        return;
    }
    let mut total = 0;
    for (i, e) in embeds.iter().enumerate() {
        let at = |field: &str| format!("embeds.{i}.{field}");
        let mut text = |errors: &mut FormErrors, path: String, value: &str, max: usize| {
            let len = value.chars().count();
            total += len;
            if len > max {
                errors.add(
                    &path,
                    "BASE_TYPE_MAX_LENGTH",
                    format!("Must be {max} or fewer in length."),
                );
            }
        };
        if let Some(t) = &e.title {
            text(errors, at("title"), t, 256);
        }
        if let Some(d) = &e.description {
            text(errors, at("description"), d, 4096);
        }
        if let Some(f) = &e.footer {
            text(errors, at("footer.text"), &f.text, 2048);
        }
        if let Some(a) = &e.author {
            text(errors, at("author.name"), &a.name, 256);
        }
        if e.fields.len() > 25 {
            errors.add(
                &at("fields"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            );
        }
        for (j, f) in e.fields.iter().enumerate() {
            text(errors, at(&format!("fields.{j}.name")), &f.name, 256);
            text(errors, at(&format!("fields.{j}.value")), &f.value, 1024);
        }
        // Every URL a client renders as a link or loads as an image.
        let author = e.author.as_ref();
        for (field, url) in [
            ("url", e.url.as_deref()),
            ("image.url", e.image.as_ref().map(|m| m.url.as_str())),
            (
                "thumbnail.url",
                e.thumbnail.as_ref().map(|m| m.url.as_str()),
            ),
            ("author.url", author.and_then(|a| a.url.as_deref())),
            (
                "author.icon_url",
                author.and_then(|a| a.icon_url.as_deref()),
            ),
            (
                "footer.icon_url",
                e.footer.as_ref().and_then(|f| f.icon_url.as_deref()),
            ),
        ] {
            if url.is_some_and(|u| !is_web_url(u)) {
                errors.add(&at(field), "URL_TYPE_INVALID_URL", "Not a well formed URL.");
            }
        }
        if e.color.is_some_and(|c| c > 0xFF_FFFF) {
            errors.add(
                &at("color"),
                "NUMBER_TYPE_MAX",
                "int value should be less than or equal to 16777215.",
            );
        }
    }
    if total > MAX_EMBED_TOTAL {
        errors.add(
            "embeds",
            "MAX_EMBED_SIZE_EXCEEDED",
            format!("Embed size exceeds maximum size of {MAX_EMBED_TOTAL}"),
        );
    }
}

/// An http(s) URL with a host and nothing a browser would reinterpret:
/// `javascript:`, `data:` and the like are refused, and so are spaces and
/// control characters that could smuggle another scheme past a client.
pub fn is_web_url(u: &str) -> bool {
    let rest = match u.get(..8).map(str::to_ascii_lowercase).as_deref() {
        Some("https://") => &u[8..],
        _ => match u.get(..7).map(str::to_ascii_lowercase).as_deref() {
            Some("http://") => &u[7..],
            _ => return false,
        },
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty() && u.len() <= 2048 && !u.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// What a message's text mentions, before checking that it exists.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Mentions {
    pub users: Vec<Snowflake>,
    pub roles: Vec<Snowflake>,
    /// `@everyone` or `@here` appears.
    pub everyone: bool,
}

/// Finds `<@id>`, `<@!id>`, `<@&id>`, `@everyone` and `@here`; each id once,
/// in order of first appearance.
pub fn parse_mentions(content: &str) -> Mentions {
    let mut m = Mentions {
        everyone: content.contains("@everyone") || content.contains("@here"),
        ..Default::default()
    };
    let mut rest = content;
    while let Some(start) = rest.find("<@") {
        rest = &rest[start + 2..];
        let (is_role, body) = match rest.as_bytes().first() {
            Some(b'&') => (true, &rest[1..]),
            Some(b'!') => (false, &rest[1..]),
            _ => (false, rest),
        };
        let digits = body.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || body.as_bytes().get(digits) != Some(&b'>') {
            continue;
        }
        let Ok(id) = body[..digits].parse::<u64>() else {
            continue;
        };
        let list = if is_role { &mut m.roles } else { &mut m.users };
        if !list.contains(&Snowflake(id)) {
            list.push(Snowflake(id));
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_urls_pass() {
        for ok in ["https://example.org", "http://a.b/c?d#e", "HTTPS://X.Y/z"] {
            assert!(is_web_url(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript://%0aalert(1)",
            "data:text/html,x",
            "https://",
            "https:///path",
            "https://a b",
            "https://a\n.b",
            "//example.org",
        ] {
            assert!(!is_web_url(bad), "{bad}");
        }
    }

    #[test]
    fn finds_users_roles_and_everyone() {
        let m = parse_mentions("hi <@12> and <@!34>, <@&56> <@12> @everyone <@x> <@&> <@99");
        assert_eq!(m.users, vec![Snowflake(12), Snowflake(34)]);
        assert_eq!(m.roles, vec![Snowflake(56)]);
        assert!(m.everyone);
        assert_eq!(parse_mentions("plain"), Mentions::default());
    }

    #[test]
    fn reports_every_limit_at_its_path() {
        let mut e = FormErrors::new();
        let long_title = Embed {
            title: Some("x".repeat(257)),
            ..Default::default()
        };
        check_body(&"y".repeat(2001), &[Embed::default(), long_title], &mut e);
        let v = e.into_value();
        assert_eq!(v["content"]["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH");
        assert_eq!(
            v["embeds"]["1"]["title"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );
    }

    #[test]
    fn too_many_embeds() {
        let mut e = FormErrors::new();
        check_body("", &vec![Embed::default(); 11], &mut e);
        assert!(e.into_value()["embeds"]["_errors"].is_array());
    }
}
