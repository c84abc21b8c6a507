//! Files on messages, as the API handles them: uploads parsed from
//! `multipart/form-data` ([`form`]), stored before their message is
//! written and removed again if it is not ([`Stored`]), served through
//! signed, expiring links ([`links`], [`serve`]), and deleted with their
//! message.
//!
//! Files leave with their message however it goes: the store records, in
//! the transaction of any write that drops an attachment (a delete, a
//! purge, a channel's deletion, an edit), its id in `dropped_files`, and
//! [`Files::reap`] deletes those blobs.
//!
//! The order of a post is what keeps "no message pointing at a missing
//! file, no file without a message": spool every upload (refusing at the
//! first byte over a limit), check the message, put the blobs, insert the
//! message; any failure drops the [`Stored`] guard, which deletes the
//! blobs, and the spool files delete themselves.

pub mod avatars;
pub mod form;
pub mod links;
pub mod serve;
mod thumbs;

use std::sync::Arc;

use hearth_files::spool::Spool;
use hearth_files::{sniff, BlobKey, BlobStore};
use hearth_model::{attachments::safe_filename, Attachment, Message, Snowflake};

pub use form::{is_multipart, MessageForm, Upload};
pub use links::LinkSigner;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How much a client may upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// One file at most (Discord: 10 MiB for most users, 25 MiB for some).
    pub per_file: u64,
    /// All files of one message together.
    pub per_message: u64,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            per_file: 25 * 1024 * 1024,
            per_message: 50 * 1024 * 1024,
        }
    }
}

/// The node's file handling: where blobs go, where uploads spool, the
/// limits, and the thumbnails made lately.
pub struct Files {
    pub blobs: Arc<dyn BlobStore>,
    pub spool: Spool,
    pub limits: UploadLimits,
    /// The node's link maker (also installed for the model's serialiser).
    pub signer: Arc<LinkSigner>,
    pub(crate) thumbs: thumbs::Thumbnails,
    reap: tokio::sync::Notify,
}

impl Files {
    /// Also installs `signer` as the process's attachment link maker.
    pub fn new(
        blobs: Arc<dyn BlobStore>,
        spool: Spool,
        limits: UploadLimits,
        signer: Arc<LinkSigner>,
    ) -> Self {
        hearth_model::attachments::install_links(Box::new(signer.clone()));
        Files {
            blobs,
            spool,
            limits,
            signer,
            thumbs: thumbs::Thumbnails::new(),
            reap: tokio::sync::Notify::new(),
        }
    }

    /// Deletes blobs that were put for a message never written (see
    /// [`Stored`]), in the background.
    fn discard(self: &Arc<Self>, unwritten: Vec<Attachment>) {
        let files = self.clone();
        tokio::spawn(async move {
            for a in unwritten {
                if let Err(e) = files.blobs.delete(&key(a.id)).await {
                    tracing::warn!(attachment = %a.id, error = %e, "could not delete an unused file");
                }
            }
        });
    }

    /// A write dropped files (recorded by the store in `dropped_files`):
    /// the reaper runs now rather than at its next round.
    pub fn reap_soon(&self) {
        self.reap.notify_one();
    }

    /// Deletes the blobs of dropped files, then forgets them; every
    /// `REAP_EVERY` and whenever [`Files::reap_soon`] is called. A blob the
    /// store fails to delete stays listed and is tried again next round.
    /// Every node of a cluster reaps; deleting twice is harmless.
    pub async fn reap(self: Arc<Self>, store: Arc<dyn hearth_store::Store>) {
        loop {
            let _ = tokio::time::timeout(REAP_EVERY, self.reap.notified()).await;
            // Bounded per round; a full batch goes round again at once.
            for _ in 0..100 {
                let dropped = match store.dropped_files(REAP_BATCH).await {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!(error = %e, "listing dropped files");
                        break;
                    }
                };
                let mut done = Vec::with_capacity(dropped.len());
                for id in &dropped {
                    self.thumbs.forget(*id);
                    match self.blobs.delete(&key(*id)).await {
                        Ok(()) => done.push(*id),
                        Err(e) => {
                            tracing::warn!(attachment = %id, error = %e, "could not delete a file")
                        }
                    }
                }
                if let Err(e) = store.forget_dropped_files(&done).await {
                    tracing::warn!(error = %e, "forgetting dropped files");
                }
                if dropped.len() < REAP_BATCH as usize || done.is_empty() {
                    break;
                }
            }
        }
    }
}

/// How often dropped files are looked for without a nudge.
const REAP_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
const REAP_BATCH: u32 = 100;

pub(crate) fn key(attachment: Snowflake) -> BlobKey {
    BlobKey::attachment(attachment.0 % 256, attachment.0)
}

/// Blobs put for a message not yet written: deleted when dropped unless
/// [`Stored::write`] wrote the message.
pub struct Stored {
    files: Option<Arc<Files>>,
    pub attachments: Vec<Attachment>,
}

impl Stored {
    pub fn none() -> Self {
        Stored {
            files: None,
            attachments: Vec::new(),
        }
    }

    /// The message holding these is committed.
    fn keep(mut self) {
        self.files = None;
    }

    /// Writes (creates or updates) the message that holds these files and
    /// keeps them if it was written. When there are files, the write runs
    /// in a task of its own: a request cancelled mid-write (its client
    /// gone) must not leave the message committed and its files deleted.
    pub async fn write(
        self,
        state: &AppState,
        message: &Message,
        how: Write,
    ) -> ApiResult<Written> {
        if self.files.is_none() {
            return Ok(match how.run(state, message).await? {
                true => Written::Done,
                false => Written::Stale(self),
            });
        }
        let (state, message) = (state.clone(), message.clone());
        let written = tokio::spawn(async move {
            match how.run(&state, &message).await {
                Ok(true) => {
                    self.keep();
                    Ok(Written::Done)
                }
                Ok(false) => Ok(Written::Stale(self)),
                Err(e) => Err(e),
            }
        })
        .await
        .map_err(|e| ApiError::Internal(format!("writing a message: {e}")))?;
        Ok(written?)
    }
}

/// What [`Stored::write`] did.
pub enum Written {
    Done,
    /// An edit found the message edited since it was read (or gone): the
    /// files come back, for the edit to be applied again to what is there.
    Stale(Stored),
}

/// How [`Stored::write`] writes its message.
#[derive(Debug, Clone, Copy)]
pub enum Write {
    Create,
    /// An edit of the message as it was when its edit time was this.
    Update {
        read_edited: Option<hearth_model::Timestamp>,
    },
}

impl Write {
    async fn run(
        self,
        state: &AppState,
        message: &Message,
    ) -> Result<bool, hearth_store::StoreError> {
        match self {
            Write::Create => state.messages.create(message).await.map(|()| true),
            Write::Update { read_edited } => state.messages.update(message, read_edited).await,
        }
    }
}

impl Drop for Stored {
    fn drop(&mut self) {
        if let Some(files) = self.files.take() {
            files.discard(std::mem::take(&mut self.attachments));
        }
    }
}

/// Puts each upload in the blob store, as the attachments of a message
/// about to be written: sniffed type, image dimensions, the alt text and
/// name the payload gave.
pub async fn store(state: &AppState, uploads: Vec<Upload>) -> ApiResult<Stored> {
    if uploads.is_empty() {
        return Ok(Stored::none());
    }
    let files = state.files().ok_or(ApiError::Unsupported("file uploads"))?;
    let mut stored = Stored {
        files: Some(files.clone()),
        attachments: Vec::with_capacity(uploads.len()),
    };
    for upload in uploads {
        let content_type = sniff::content_type(upload.file.head()).to_owned();
        let path = upload.file.path().to_owned();
        let kind = content_type.clone();
        let dims =
            tokio::task::spawn_blocking(move || hearth_files::picture::dimensions(&path, &kind))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        let id = state.ids.next();
        files
            .blobs
            .put_file(
                &key(id),
                upload.file.path(),
                upload.file.len(),
                &content_type,
            )
            .await
            .map_err(|e| ApiError::Internal(format!("storing a file: {e}")))?;
        stored.attachments.push(Attachment {
            id,
            filename: safe_filename(&upload.filename),
            description: upload.description,
            content_type,
            size: upload.file.len(),
            width: dims.map(|d| d.width),
            height: dims.map(|d| d.height),
        });
    }
    Ok(stored)
}
