//! Which strings are emoji a reaction may use.
//!
//! Hearth has no custom emoji yet, so a reaction names a unicode emoji:
//! one pictograph, optionally with its variation selector, skin tone,
//! joined pictographs (ZWJ sequences), tags (subdivision flags), or a
//! keycap. We check the characters' ranges rather than carry Unicode's
//! emoji list: what passes is something a client renders as one emoji, and
//! what fails (words, markup, control characters) cannot pose as one.

/// Longer than any emoji sequence Unicode defines (family sequences with
/// skin tones reach about 40 bytes).
const MAX_BYTES: usize = 64;

fn is_pictograph(c: char) -> bool {
    matches!(c as u32,
        0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139
        | 0x2194..=0x21AA | 0x231A..=0x23FF | 0x24C2 | 0x25AA..=0x25FE
        | 0x2600..=0x27BF | 0x2934 | 0x2935 | 0x2B05..=0x2B55
        | 0x3030 | 0x303D | 0x3297 | 0x3299
        | 0x1F000..=0x1FAFF)
}

fn is_joiner_or_modifier(c: char) -> bool {
    matches!(
        c as u32,
        0x200D            // zero-width joiner
        | 0xFE0E | 0xFE0F // variation selectors
        | 0x20E3          // combining keycap
        | 0xE0020..=0xE007F
    ) // tags
}

/// Whether `s` is one unicode emoji.
pub fn is_unicode_emoji(s: &str) -> bool {
    if s.is_empty() || s.len() > MAX_BYTES {
        return false;
    }
    let keycap = s.contains('\u{20E3}');
    let mut pictographs = 0;
    for c in s.chars() {
        let keycap_base = keycap && matches!(c, '0'..='9' | '#' | '*');
        if is_pictograph(c) || keycap_base {
            pictographs += 1;
        } else if !is_joiner_or_modifier(c) {
            return false;
        }
    }
    pictographs > 0 && (keycap || !s.starts_with(is_joiner_or_modifier))
}

#[cfg(test)]
mod tests {
    use super::is_unicode_emoji;

    #[test]
    fn emoji_pass() {
        for e in [
            "👍",
            "❤️",
            "🇫🇷",
            "1️⃣",
            "#️⃣",
            "👨‍👩‍👧‍👦",
            "👍🏽",
            "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
            "©️",
        ] {
            assert!(is_unicode_emoji(e), "{e}");
        }
    }

    #[test]
    fn other_text_fails() {
        for e in [
            "",
            "a",
            "ok",
            "👍a",
            "1",
            "<b>",
            "\u{200D}",
            "\u{FE0F}👍",
            "👍\n",
            &"👍".repeat(20),
        ] {
            assert!(!is_unicode_emoji(e), "{e:?}");
        }
    }
}
