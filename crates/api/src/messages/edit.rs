//! Writing an edit so that it changes only the fields it names.
//!
//! An edit reads the message, applies itself, and writes the whole row. Two
//! edits of one message at once (a content change and an embed
//! suppression, say) would each write what they read of the other's
//! fields, and the later write would undo the earlier. So the write is a
//! compare-and-set on the edit time the edit read
//! (`MessageStore::update_message`); an edit that finds the message edited
//! since reads it again and applies itself to that, a bounded number of
//! times. The new files are stored once, before the first write, and
//! belong to whichever attempt commits.

use std::future::Future;
use std::pin::Pin;

use hearth_model::{Message, Timestamp};
use hearth_proto::ErrorCode;

use crate::error::{ApiError, ApiResult};
use crate::files::{self, Upload, Written};
use crate::state::AppState;

/// How many times an edit is applied at most; each further attempt means
/// another edit of the same message committed in the meantime.
const ATTEMPTS: usize = 16;

/// An edit, applied to the message as stored.
pub trait Patch: Sync {
    /// Applies the edit to `message`, with `added` new files to come
    /// (checking the result); says whether it dropped any of the message's
    /// files.
    fn apply<'a>(
        &'a self,
        message: &'a mut Message,
        added: usize,
    ) -> Pin<Box<dyn Future<Output = ApiResult<bool>> + Send + 'a>>;
}

/// Applies `patch` to `message` (as read) and writes it with `uploads`
/// added, again to a fresh read whenever another edit came first; the
/// files it dropped are reaped. Returns the message as written.
pub async fn write(
    state: &AppState,
    mut message: Message,
    uploads: Vec<Upload>,
    patch: &impl Patch,
) -> ApiResult<Message> {
    let added = uploads.len();
    let mut read_edited = message.edited_timestamp;
    let mut dropped = patch.apply(&mut message, added).await?;
    // Stored only once the edit is known to be valid.
    let mut stored = files::store(state, uploads).await?;
    for _ in 0..ATTEMPTS {
        message.edited_timestamp = Some(Timestamp::now());
        message
            .attachments
            .extend(stored.attachments.iter().cloned());
        let how = files::Write::Update { read_edited };
        match stored.write(state, &message, how).await? {
            Written::Done => {
                if dropped {
                    if let Some(files) = state.files() {
                        files.reap_soon();
                    }
                }
                return Ok(message);
            }
            Written::Stale(back) => {
                stored = back;
                message = state
                    .messages
                    .get(message.channel_id, message.id)
                    .await?
                    .ok_or(ErrorCode::UNKNOWN_MESSAGE)?;
                read_edited = message.edited_timestamp;
                dropped = patch.apply(&mut message, added).await?;
            }
        }
    }
    Err(ApiError::Internal(format!(
        "message {} was edited by others {ATTEMPTS} times while this edit was written",
        message.id
    )))
}
