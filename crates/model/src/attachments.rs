//! Files on messages, and the links to them.
//!
//! An attachment's `url` and `proxy_url` are not data: they are signed,
//! expiring links (as Discord's CDN gives, `?ex=&is=&hm=`), so whoever is
//! handed a message may fetch its files for a day or two and a leaked link
//! stops working. They are therefore made when an attachment is written out,
//! by the node's [`AttachmentLinks`], installed once at start-up; the store
//! keeps only the fields below. Every path that sends a message (REST reads,
//! dispatches, search, pins) thus signs its links without knowing it.

use std::sync::OnceLock;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::Snowflake;

/// Attachments on one message at most, as Discord allows.
pub const MAX_ATTACHMENTS: usize = 10;
/// Characters of alt text at most, as Discord allows.
pub const MAX_DESCRIPTION: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Attachment {
    pub id: Snowflake,
    /// Made safe for a URL path ([`safe_filename`]).
    pub filename: String,
    /// Alt text.
    #[serde(default)]
    pub description: Option<String>,
    /// Sniffed from the bytes, never the uploader's word.
    pub content_type: String,
    pub size: u64,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
}

/// Makes the links of attachments; the node installs one at start-up.
pub trait AttachmentLinks: Send + Sync {
    /// `url` and `proxy_url` for the attachment `id` named `filename`.
    fn links(&self, id: Snowflake, filename: &str) -> (String, String);
}

impl<T: AttachmentLinks + ?Sized> AttachmentLinks for std::sync::Arc<T> {
    fn links(&self, id: Snowflake, filename: &str) -> (String, String) {
        (**self).links(id, filename)
    }
}

static LINKS: OnceLock<Box<dyn AttachmentLinks>> = OnceLock::new();

/// Installs the process's link maker; the first one wins (a process runs
/// one node, whose secret does not change while it runs).
pub fn install_links(links: Box<dyn AttachmentLinks>) {
    let _ = LINKS.set(links);
}

/// The process's link maker, once installed.
pub fn links() -> Option<&'static dyn AttachmentLinks> {
    LINKS.get().map(|b| b.as_ref())
}

impl Serialize for Attachment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (url, proxy_url) = match links() {
            Some(l) => l.links(self.id, &self.filename),
            // Only in tests of this crate and its neighbours: no node.
            None => {
                let path = format!("/attachments/{}/{}", self.id, self.filename);
                (path.clone(), path)
            }
        };
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("filename", &self.filename)?;
        if let Some(d) = &self.description {
            map.serialize_entry("description", d)?;
        }
        map.serialize_entry("content_type", &self.content_type)?;
        map.serialize_entry("size", &self.size)?;
        map.serialize_entry("url", &url)?;
        map.serialize_entry("proxy_url", &proxy_url)?;
        if let (Some(w), Some(h)) = (self.width, self.height) {
            map.serialize_entry("width", &w)?;
            map.serialize_entry("height", &h)?;
        }
        map.end()
    }
}

/// A client's file name made safe for a URL path and a download: letters,
/// digits, `.`, `-` and `_`, other characters as `_`, no leading dots (no
/// `..`, no hidden files), at most 100 characters keeping the extension;
/// `unknown` when nothing is left.
pub fn safe_filename(name: &str) -> String {
    // A path sent as a name keeps only its last part.
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut out: String = base
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
            _ => '_',
        })
        .collect();
    // Only dots: a name of replaced characters (`日本.png` is `__.png`)
    // keeps its extension.
    let trimmed = out.trim_start_matches('.').len();
    out.drain(..out.len() - trimmed);
    if out.len() > 100 {
        let ext = out
            .rfind('.')
            .filter(|i| out.len() - i <= 16)
            .map(|i| out[i..].to_owned())
            .unwrap_or_default();
        out.truncate(100 - ext.len());
        out.push_str(&ext);
    }
    if out.is_empty() {
        out.push_str("unknown");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_climb_out_of_their_path_or_hide() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(safe_filename("...hidden"), "hidden");
        assert_eq!(safe_filename("my cat (1).png"), "my_cat__1_.png");
        assert_eq!(safe_filename("f\u{e9}te.txt"), "f_te.txt");
        assert_eq!(safe_filename("\u{e9}.txt"), "_.txt");
        assert_eq!(safe_filename("\u{65e5}\u{672c}.png"), "__.png");
        assert_eq!(safe_filename(""), "unknown");
        assert_eq!(safe_filename("../"), "unknown");
        let long = format!("{}.jpeg", "a".repeat(300));
        let safe = safe_filename(&long);
        assert_eq!(safe.len(), 100);
        assert!(safe.ends_with(".jpeg"));
    }

    #[test]
    fn an_attachment_is_written_with_links_and_read_back_without_them() {
        let a = Attachment {
            id: Snowflake(5),
            filename: "a.png".into(),
            description: Some("a cat".into()),
            content_type: "image/png".into(),
            size: 10,
            width: Some(2),
            height: Some(3),
        };
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["url"].as_str().unwrap(), "/attachments/5/a.png");
        assert_eq!(json["width"], 2);
        let back: Attachment = serde_json::from_value(json).unwrap();
        assert_eq!(back, a);
    }
}
