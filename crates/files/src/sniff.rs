//! What a file is, from its first bytes. The client's `Content-Type` and
//! the file's extension are never trusted: a "cat.png" that is HTML must
//! not be served as anything a browser would render.
//!
//! Only types a browser may show inline are named precisely (images, audio,
//! video, PDF, plain text); everything else is `application/octet-stream`
//! and served as a download.

/// How many leading bytes [`content_type`] looks at.
pub const SNIFF_LEN: usize = 512;

/// The sniffed type of a file whose first bytes are `head`.
pub fn content_type(head: &[u8]) -> &'static str {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(b"\xFF\xD8\xFF") {
        "image/jpeg"
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        "image/gif"
    } else if starts(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        "image/webp"
    } else if starts(b"RIFF") && head.get(8..12) == Some(b"WAVE") {
        "audio/wav"
    } else if starts(b"%PDF-") {
        "application/pdf"
    } else if starts(b"OggS") {
        "audio/ogg"
    } else if starts(b"fLaC") {
        "audio/flac"
    } else if starts(b"ID3") || (head.len() > 1 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0) {
        "audio/mpeg"
    } else if starts(b"\x1A\x45\xDF\xA3") {
        "video/webm"
    } else if head.get(4..8) == Some(b"ftyp") {
        match head.get(8..12) {
            Some(b"M4A ") => "audio/mp4",
            Some(b"qt  ") => "video/quicktime",
            _ => "video/mp4",
        }
    } else if is_text(head) {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

/// Text: valid UTF-8 (allowing a character cut at the end of the sample)
/// without NULs or other control characters than whitespace.
fn is_text(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        // A multi-byte character cut by the sample's end is still text.
        Err(e) if e.error_len().is_none() && head.len() - e.valid_up_to() < 4 => {
            // Checked just above: the prefix up to `valid_up_to` is UTF-8.
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => return false,
    };
    valid
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\x0C'))
}

/// Whether a browser may show a file of this type in the page (an image
/// preview, a player); anything else is sent as a download.
pub fn is_inline(content_type: &str) -> bool {
    content_type.starts_with("image/")
        || content_type.starts_with("video/")
        || content_type.starts_with("audio/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes_not_the_name() {
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(content_type(b"\xFF\xD8\xFF\xE0\0\x10JFIF"), "image/jpeg");
        assert_eq!(content_type(b"GIF89a\x01\0"), "image/gif");
        assert_eq!(content_type(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(content_type(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(content_type(b"\0\0\0\x18ftypmp42"), "video/mp4");
        assert_eq!(
            content_type(b"hello\nworld\t!"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            content_type("h\u{e9}llo".as_bytes()),
            "text/plain; charset=utf-8"
        );
        // HTML is text to us: it is served as text/plain with nosniff, never rendered.
        assert_eq!(
            content_type(b"<html><script>alert(1)</script>"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            content_type(b"PK\x03\x04\x14\0"),
            "application/octet-stream"
        );
        assert_eq!(content_type(b"\x7fELF\x02\x01"), "application/octet-stream");
        assert_eq!(content_type(b""), "application/octet-stream");
    }

    #[test]
    fn a_utf8_character_cut_by_the_sample_end_is_still_text() {
        let mut head = "ab\u{20ac}".as_bytes().to_vec();
        head.pop();
        assert_eq!(content_type(&head), "text/plain; charset=utf-8");
    }
}
