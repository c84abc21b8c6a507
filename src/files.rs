//! Opens the node's file handling: the blob store the configuration names
//! (`<data dir>/files`, or an S3-compatible bucket), the upload spool, and
//! the key that signs attachment links.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use hearth_api::files::{Files, LinkSigner};
use hearth_files::local::LocalBlobs;
use hearth_files::s3::S3Blobs;
use hearth_files::spool::Spool;
use hearth_files::BlobStore;

use crate::config::ServeConfig;

pub async fn open(config: &ServeConfig, addr: SocketAddr) -> anyhow::Result<Arc<Files>> {
    let blobs: Arc<dyn BlobStore> = match &config.s3 {
        None => Arc::new(
            LocalBlobs::new(config.data_dir.join("files"))
                .context("creating the files directory")?,
        ),
        Some(s3) => {
            let blobs = S3Blobs::new(s3.clone()).context("configuring the S3 file store")?;
            blobs
                .ensure_bucket()
                .await
                .with_context(|| format!("reaching the S3 bucket {:?}", s3.bucket))?;
            Arc::new(blobs)
        }
    };
    tracing::info!(store = %blobs.describe(), "files");
    if config.cluster.is_some() && config.s3.is_none() {
        tracing::warn!(
            "a node of a cluster keeps files in its own directory: other nodes cannot serve them; set s3_endpoint on every node"
        );
    }
    let spool = Spool::new(config.data_dir.join("spool")).context("creating the upload spool")?;
    let signer = LinkSigner::new(&link_secret(config)?, base_url(config, addr));
    Ok(Arc::new(Files::new(
        blobs,
        spool,
        config.uploads,
        Arc::new(signer),
    )))
}

/// Nodes of a cluster sign with the secret they share, so a link made on
/// one opens on all; a node alone keeps a random key in its data
/// directory, so links survive a restart.
fn link_secret(config: &ServeConfig) -> anyhow::Result<Vec<u8>> {
    if config.cluster.is_some() || config.voice_secret_set {
        return Ok(config.gateway.voice_secret.clone());
    }
    let path = config.data_dir.join("attachment-links.key");
    match std::fs::read(&path) {
        Ok(key) if key.len() >= 32 => Ok(key),
        _ => {
            let key: [u8; 32] = rand::random();
            write_private(&path, &key).with_context(|| format!("writing {}", path.display()))?;
            Ok(key.to_vec())
        }
    }
}

/// Where links point: the public URL, else this node's own address (the
/// loopback one when it listens on every interface).
fn base_url(config: &ServeConfig, addr: SocketAddr) -> String {
    match &config.public_url {
        Some(url) => url.clone(),
        None => {
            let mut addr = addr;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{addr}")
        }
    }
}

/// Writes a file only its owner may read: whoever reads the key can sign
/// links to every file.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}
