//! Read-state acks, written together. A client acks as it reads (Discord's
//! acks each message it shows in the open channel), so in a busy channel
//! every reader writes once per message: one transaction, and on SQLite
//! one fsync, each. Here acks queue for one writer task that commits
//! whatever has queued while the previous commit ran, in one transaction
//! (group commit): alone, an ack is written at once; under load, hundreds
//! share a commit. Acks of one user and channel in a batch merge into the
//! furthest. Each request waits for its batch's commit, so a 200 still
//! means stored; the user's other sessions get one MESSAGE_ACK per merged
//! state.

use std::collections::HashMap;
use std::sync::Arc;

use hearth_bus::Bus;
use hearth_model::Snowflake;
use hearth_proto::events::Event;
use hearth_store::{Ack, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::error::{ApiError, ApiResult};

/// Acks one commit writes at most by default (merged ones count once);
/// `ack_batch_max` sets it.
pub const MAX_BATCH: usize = 1024;
/// Acks waiting for the writer at most; more wait to be queued.
const QUEUE: usize = 8192;

type Reply = oneshot::Sender<Result<u64, Arc<StoreError>>>;

/// Acks merged by user and channel: the furthest message wins, and every
/// request waiting on any of them gets the merged state's version.
pub struct Batch {
    merged: HashMap<(Snowflake, Snowflake), (Snowflake, Vec<Reply>)>,
    max: usize,
}

impl Batch {
    pub fn new(max: usize) -> Self {
        Batch {
            merged: HashMap::new(),
            max: max.max(1),
        }
    }

    pub fn add(&mut self, ack: Ack, reply: Reply) {
        let entry = self
            .merged
            .entry((ack.user, ack.channel))
            .or_insert((ack.message_id, Vec::new()));
        entry.0 = entry.0.max(ack.message_id);
        entry.1.push(reply);
    }

    pub fn is_full(&self) -> bool {
        self.merged.len() >= self.max
    }

    pub fn len(&self) -> usize {
        self.merged.len()
    }

    pub fn is_empty(&self) -> bool {
        self.merged.is_empty()
    }

    /// The merged acks and who waits on each.
    pub fn take(&mut self) -> Vec<(Ack, Vec<Reply>)> {
        self.merged
            .drain()
            .map(|((user, channel), (message_id, replies))| {
                (
                    Ack {
                        user,
                        channel,
                        message_id,
                    },
                    replies,
                )
            })
            .collect()
    }
}

/// The queue to the node's ack writer.
pub struct AckWriter {
    queue: mpsc::Sender<(Ack, Reply)>,
}

impl AckWriter {
    /// Starts the writer task (on the current Tokio runtime).
    pub fn start(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        max: usize,
        batches: prometheus_client::metrics::histogram::Histogram,
    ) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write(rx, store, bus, max, batches));
        AckWriter { queue }
    }

    /// Stores the ack (with the others queued meanwhile) and returns the
    /// read state's new version once committed.
    pub async fn ack(&self, ack: Ack) -> ApiResult<u64> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((ack, reply))
            .await
            .map_err(|_| ApiError::Internal("the ack writer stopped".into()))?;
        match answer.await {
            Ok(Ok(version)) => Ok(version),
            Ok(Err(e)) => Err(ApiError::Internal(format!("storing acks: {e}"))),
            Err(_) => Err(ApiError::Internal("the ack writer stopped".into())),
        }
    }
}

async fn write(
    mut rx: mpsc::Receiver<(Ack, Reply)>,
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    max: usize,
    batches: prometheus_client::metrics::histogram::Histogram,
) {
    let mut batch = Batch::new(max);
    while let Some((ack, reply)) = rx.recv().await {
        batch.add(ack, reply);
        // Whatever queued while the last commit ran joins this one.
        while !batch.is_full() {
            match rx.try_recv() {
                Ok((ack, reply)) => batch.add(ack, reply),
                Err(_) => break,
            }
        }
        batches.observe(batch.len() as f64);
        let items = batch.take();
        let acks: Vec<Ack> = items.iter().map(|(a, _)| *a).collect();
        match store.ack_many(&acks).await {
            Ok(versions) => {
                for ((ack, replies), version) in items.into_iter().zip(versions) {
                    bus.publish(Event::MessageAck {
                        user_id: ack.user,
                        channel_id: ack.channel,
                        message_id: ack.message_id,
                        version,
                    });
                    for reply in replies {
                        let _ = reply.send(Ok(version));
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, acks = acks.len(), "could not store acks");
                let e = Arc::new(e);
                for (_, replies) in items {
                    for reply in replies {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(user: u64, channel: u64, message: u64) -> Ack {
        Ack {
            user: Snowflake(user),
            channel: Snowflake(channel),
            message_id: Snowflake(message),
        }
    }

    #[test]
    fn acks_of_one_user_and_channel_merge_into_the_furthest() {
        let mut batch = Batch::new(MAX_BATCH);
        let mut waiting = Vec::new();
        for a in [
            ack(1, 10, 100),
            ack(1, 10, 300),
            ack(1, 10, 200),
            ack(2, 10, 150),
        ] {
            let (reply, answer) = oneshot::channel();
            batch.add(a, reply);
            waiting.push(answer);
        }
        assert_eq!(batch.len(), 2);
        let mut taken = batch.take();
        taken.sort_by_key(|(a, _)| a.user);
        assert_eq!(taken[0].0, ack(1, 10, 300));
        assert_eq!(taken[0].1.len(), 3, "every request waits on the merged ack");
        assert_eq!(taken[1].0, ack(2, 10, 150));
        assert!(batch.is_empty());
    }
}
