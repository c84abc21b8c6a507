//! Uploads on their way in: each file is written to a temporary file in
//! the node's spool directory as its bytes arrive, counted against the
//! caller's limit, with its first bytes kept for sniffing. Memory per
//! upload is one network chunk, whatever the file's size.
//!
//! A spool file removes itself when dropped, so an upload refused half-way
//! (too large, a bad form, a failed insert) leaves nothing behind; the
//! directory is emptied at start-up in case a crash left anything.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::AsyncWriteExt;

use crate::sniff::SNIFF_LEN;

pub struct Spool {
    dir: PathBuf,
    next: AtomicU64,
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The file grew past the limit it was written under.
    #[error("file larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("spool i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl Spool {
    /// Uses (and empties) `dir`.
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        if dir.exists() {
            for entry in std::fs::read_dir(&dir)? {
                let _ = std::fs::remove_file(entry?.path());
            }
        }
        std::fs::create_dir_all(&dir)?;
        Ok(Spool {
            dir,
            next: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new, empty spool file that accepts at most `limit` bytes.
    pub async fn create(&self, limit: u64) -> std::io::Result<SpoolFile> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("{}-{n}.upload", std::process::id()));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        Ok(SpoolFile {
            spooled: Spooled {
                path,
                len: 0,
                head: Vec::new(),
            },
            file,
            limit,
        })
    }
}

/// A spool file being written.
pub struct SpoolFile {
    spooled: Spooled,
    file: tokio::fs::File,
    limit: u64,
}

impl SpoolFile {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), SpoolError> {
        let s = &mut self.spooled;
        if s.len + chunk.len() as u64 > self.limit {
            return Err(SpoolError::TooLarge { limit: self.limit });
        }
        if s.head.len() < SNIFF_LEN {
            let take = (SNIFF_LEN - s.head.len()).min(chunk.len());
            s.head.extend_from_slice(&chunk[..take]);
        }
        self.file.write_all(chunk).await?;
        s.len += chunk.len() as u64;
        Ok(())
    }

    /// The complete file, flushed to disk.
    pub async fn finish(mut self) -> std::io::Result<Spooled> {
        self.file.flush().await?;
        self.file.sync_data().await?;
        Ok(self.spooled)
    }
}

/// A complete spool file; removed when dropped.
pub struct Spooled {
    path: PathBuf,
    len: u64,
    head: Vec<u8>,
}

impl Spooled {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first bytes, for [`crate::sniff::content_type`].
    pub fn head(&self) -> &[u8] {
        &self.head
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_over_its_limit_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path().join("spool")).unwrap();
        let mut file = spool.create(10).await.unwrap();
        file.write(b"0123456").await.unwrap();
        assert!(matches!(
            file.write(b"7890").await,
            Err(SpoolError::TooLarge { limit: 10 })
        ));
        drop(file);
        assert_eq!(std::fs::read_dir(spool.dir()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn a_finished_file_holds_the_bytes_and_goes_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path().join("spool")).unwrap();
        let mut file = spool.create(1 << 20).await.unwrap();
        let data = vec![7u8; 1000];
        file.write(&data[..600]).await.unwrap();
        file.write(&data[600..]).await.unwrap();
        let done = file.finish().await.unwrap();
        assert_eq!(done.len(), 1000);
        assert_eq!(done.head().len(), SNIFF_LEN);
        assert_eq!(std::fs::read(done.path()).unwrap(), data);
        let path = done.path().to_owned();
        drop(done);
        assert!(!path.exists());
    }
}
