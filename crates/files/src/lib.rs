//! Uploaded files, apart from the messages that carry them.
//!
//! An upload is first *spooled* ([`spool`]): streamed to a temporary file
//! under the node's data directory while its size is counted against the
//! limits and its first bytes are kept for sniffing, so a 25 MB file never
//! sits in memory. Only a complete, accepted file is handed to a
//! [`BlobStore`]: the local directory ([`local`]) by default, or any
//! S3-compatible object store ([`s3`]) when a cluster shares its files.
//!
//! What a file *is* comes from its bytes, never from what the client said
//! ([`sniff`]); images are measured from their headers before anything is
//! decoded, and decoded only within fixed pixel and memory limits
//! ([`picture`]), so a decompression bomb is refused, not inflated.

pub mod local;
pub mod picture;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "s3")]
mod sigv4;
pub mod sniff;
pub mod spool;

use std::path::Path;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;

/// Where a blob lives in a store: `<channel id>/<attachment id>`. Built
/// only from ids, so no client text ever reaches a path or an object key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn attachment(channel_id: u64, attachment_id: u64) -> Self {
        BlobKey(format!("{channel_id}/{attachment_id}"))
    }

    /// A user's avatar: `avatars/<user id>/<hash>`, `hash` being the
    /// server's own hex digest of the image (None for anything else, so a
    /// client's text never becomes a path).
    pub fn avatar(user_id: u64, hash: &str) -> Option<Self> {
        let hex = hash.len() == 32 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        hex.then(|| BlobKey(format!("avatars/{user_id}/{hash}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An inclusive byte range of a blob, as an HTTP `Range` header names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub last: u64,
}

impl ByteRange {
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A blob being read: its whole length, and the bytes asked for.
pub struct Blob {
    /// The length of the whole blob, whatever range was read.
    pub total_len: u64,
    pub body: ByteStream,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("file store i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("object store: {0}")]
    Remote(String),
    /// A range past the end of the blob.
    #[error("range not satisfiable")]
    BadRange,
}

/// Durable storage for uploaded files. Every operation is idempotent, so a
/// caller may retry, and deleting what is gone succeeds.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores the complete file at `source` (a finished spool file, `len`
    /// bytes) under `key`. The source is left in place; the caller removes
    /// it.
    async fn put_file(
        &self,
        key: &BlobKey,
        source: &Path,
        len: u64,
        content_type: &str,
    ) -> Result<(), BlobError>;

    /// The blob, or the part of it `range` names; None when there is none.
    async fn get(&self, key: &BlobKey, range: Option<ByteRange>)
        -> Result<Option<Blob>, BlobError>;

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError>;

    /// For logs and `hearth` start-up lines.
    fn describe(&self) -> String;
}
