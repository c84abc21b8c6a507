//! Blobs as files under a directory of the node (by default
//! `<data dir>/files`), so a single node needs no other service.
//!
//! A put copies into a temporary name beside the destination and renames
//! it into place, so a reader never sees half a file and a crash leaves at
//! worst a `.part` file that the next put of the same key replaces.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::{Blob, BlobError, BlobKey, BlobStore, ByteRange};

pub struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    pub fn new(root: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(LocalBlobs { root })
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        // Keys are made of ids and '/', never of client text (`BlobKey`).
        self.root.join(key.as_str())
    }
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn put_file(
        &self,
        key: &BlobKey,
        source: &Path,
        _len: u64,
        _content_type: &str,
    ) -> Result<(), BlobError> {
        let dest = self.path(key);
        if let Some(dir) = dest.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let part = dest.with_extension("part");
        // A hard link is free when the spool is on the same filesystem (the
        // default: both live in the data directory); a copy otherwise.
        let _ = tokio::fs::remove_file(&part).await;
        if tokio::fs::hard_link(source, &part).await.is_err() {
            tokio::fs::copy(source, &part).await?;
        }
        tokio::fs::rename(&part, &dest).await?;
        Ok(())
    }

    async fn get(
        &self,
        key: &BlobKey,
        range: Option<ByteRange>,
    ) -> Result<Option<Blob>, BlobError> {
        let mut file = match tokio::fs::File::open(self.path(key)).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let total_len = file.metadata().await?.len();
        let body = match range {
            None => tokio_util::io::ReaderStream::new(file).boxed(),
            Some(r) => {
                if r.first > r.last || r.last >= total_len {
                    return Err(BlobError::BadRange);
                }
                file.seek(SeekFrom::Start(r.first)).await?;
                tokio_util::io::ReaderStream::new(file.take(r.len())).boxed()
            }
        };
        Ok(Some(Blob { total_len, body }))
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        let path = self.path(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        // The channel's directory goes with its last file; another put
        // racing this recreates it.
        if let Some(dir) = path.parent() {
            let _ = tokio::fs::remove_dir(dir).await;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(blob: Blob) -> Vec<u8> {
        let mut out = Vec::new();
        let mut body = blob.body;
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn a_put_blob_reads_back_whole_and_by_range_and_is_gone_after_delete() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::new(dir.path().join("files")).unwrap();
        let source = dir.path().join("upload");
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&source, &data).unwrap();
        let key = BlobKey::attachment(7, 9);
        blobs
            .put_file(&key, &source, 100_000, "application/octet-stream")
            .await
            .unwrap();
        let whole = blobs.get(&key, None).await.unwrap().unwrap();
        assert_eq!(whole.total_len, 100_000);
        assert_eq!(read_all(whole).await, data);
        let part = blobs
            .get(
                &key,
                Some(ByteRange {
                    first: 10,
                    last: 19,
                }),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read_all(part).await, &data[10..20]);
        assert!(matches!(
            blobs
                .get(
                    &key,
                    Some(ByteRange {
                        first: 0,
                        last: 100_000
                    })
                )
                .await,
            Err(BlobError::BadRange)
        ));
        blobs.delete(&key).await.unwrap();
        assert!(blobs.get(&key, None).await.unwrap().is_none());
        blobs.delete(&key).await.unwrap();
        assert!(source.exists(), "the spool file is the caller's to remove");
    }
}
