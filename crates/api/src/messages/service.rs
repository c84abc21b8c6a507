//! Reads with request coalescing and a recent-messages cache; writes that
//! keep both coherent.
//!
//! Coalescing, as Discord's data services do it: concurrent identical reads
//! (same channel, page and limit) share one store query. The first caller
//! runs it; the others wait on the same cell and get a copy of its result.
//! A write to a channel detaches that channel's in-flight reads, so a read
//! that starts after a write was acknowledged never joins a query that
//! started before it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use hearth_model::{Message, Snowflake};
use hearth_store::{MessageStore, Page, StoreError};
use prometheus_client::metrics::counter::Counter;
use tokio::sync::OnceCell;

use super::recent::{RecentCache, PER_CHANNEL};

type Outcome = Result<Arc<Vec<Message>>, Arc<StoreError>>;
type Shared = Arc<OnceCell<Outcome>>;
/// In-flight reads of one channel, by page and limit.
type ChannelReads = HashMap<(Page, u32), Shared>;

/// Channels whose newest messages are kept in memory.
const CACHED_CHANNELS: usize = 4096;

pub struct MessageService {
    store: Arc<dyn MessageStore>,
    inflight: Mutex<HashMap<Snowflake, ChannelReads>>,
    recent: Mutex<RecentCache>,
    /// Off on a node of a cluster: another node's writes to a channel reach
    /// this node only while it watches the channel's guild, so a cached
    /// page could go stale. Reads there always go to the store (still
    /// coalesced).
    cached: bool,
    queries: Counter,
    requests: Counter,
}

/// What a failed read reports: the store's error, shared by every waiter.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub Arc<StoreError>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded maps stay consistent even if a holder panicked mid-way
    // (every operation on them is a single insert or remove).
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MessageService {
    pub fn new(
        store: Arc<dyn MessageStore>,
        cached: bool,
        queries: Counter,
        requests: Counter,
    ) -> Self {
        MessageService {
            store,
            inflight: Mutex::new(HashMap::new()),
            recent: Mutex::new(RecentCache::new(CACHED_CHANNELS)),
            cached,
            queries,
            requests,
        }
    }

    /// A page of the channel's history, newest first.
    pub async fn list(
        &self,
        channel: Snowflake,
        page: Page,
        limit: u32,
    ) -> Result<Vec<Message>, ReadError> {
        self.requests.inc();
        if page == Page::Latest && self.cached {
            if let Some(hit) = lock(&self.recent).latest(channel, limit as usize) {
                return Ok(hit);
            }
            // Fetch a full cache entry's worth so later pages of any size hit.
            let all = self
                .coalesced(channel, Page::Latest, PER_CHANNEL as u32)
                .await?;
            return Ok(all.iter().take(limit as usize).cloned().collect());
        }
        let page_result = self.coalesced(channel, page, limit).await?;
        Ok(page_result.as_ref().clone())
    }

    pub async fn get(
        &self,
        channel: Snowflake,
        id: Snowflake,
    ) -> Result<Option<Message>, StoreError> {
        self.store.message(channel, id).await
    }

    pub async fn create(&self, message: &Message) -> Result<(), StoreError> {
        self.store.insert_message(message).await?;
        lock(&self.recent).inserted(message);
        self.detach_inflight(message.channel_id);
        Ok(())
    }

    /// Writes an edit if nothing edited the message since it was read
    /// (see `MessageStore::update_message`); false if something did.
    pub async fn update(
        &self,
        message: &Message,
        read_edited: Option<hearth_model::Timestamp>,
    ) -> Result<bool, StoreError> {
        let written = self.store.update_message(message, read_edited).await?;
        if written {
            self.changed(message.channel_id);
        }
        Ok(written)
    }

    pub async fn delete(&self, channel: Snowflake, id: Snowflake) -> Result<bool, StoreError> {
        let found = self.store.delete_message(channel, id).await?;
        self.changed(channel);
        Ok(found)
    }

    pub async fn delete_many(
        &self,
        channel: Snowflake,
        ids: &[Snowflake],
    ) -> Result<u64, StoreError> {
        let n = self.store.delete_messages(channel, ids).await?;
        self.changed(channel);
        Ok(n)
    }

    /// Something other than a post changed the channel's history (an edit, a
    /// delete, a ban that removed messages, the channel's deletion).
    pub fn changed(&self, channel: Snowflake) {
        lock(&self.recent).changed(channel);
        self.detach_inflight(channel);
    }

    fn detach_inflight(&self, channel: Snowflake) {
        lock(&self.inflight).remove(&channel);
    }

    async fn coalesced(
        &self,
        channel: Snowflake,
        page: Page,
        limit: u32,
    ) -> Result<Arc<Vec<Message>>, ReadError> {
        let key = (page, limit);
        let cell = lock(&self.inflight)
            .entry(channel)
            .or_default()
            .entry(key)
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        let outcome = cell
            .get_or_init(|| async {
                let generation = (page == Page::Latest && self.cached)
                    .then(|| lock(&self.recent).begin_fill(channel));
                self.queries.inc();
                match self.store.messages(channel, page, limit).await {
                    Ok(found) => {
                        if let Some(generation) = generation {
                            lock(&self.recent).install(channel, generation, &found);
                        }
                        Ok(Arc::new(found))
                    }
                    Err(e) => Err(Arc::new(e)),
                }
            })
            .await
            .clone();
        // Retire the cell so the next reader queries afresh, unless a write
        // already detached it (or a newer cell took its place).
        let mut inflight = lock(&self.inflight);
        if let Some(pages) = inflight.get_mut(&channel) {
            if pages.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                pages.remove(&key);
            }
            if pages.is_empty() {
                inflight.remove(&channel);
            }
        }
        outcome.map_err(ReadError)
    }
}

#[cfg(test)]
mod tests {
    //! Coalescing against a store whose list query blocks until released,
    //! so "concurrent" is certain rather than a matter of timing.

    use super::*;
    use async_trait::async_trait;
    use hearth_model::*;
    use hearth_store::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Semaphore;

    struct GatedStore {
        inner: SqliteStore,
        gate: Semaphore,
        calls: AtomicUsize,
    }

    #[async_trait]
    impl MessageStore for GatedStore {
        async fn insert_message(&self, m: &Message) -> hearth_store::Result<()> {
            self.inner.insert_message(m).await
        }
        async fn message(
            &self,
            c: Snowflake,
            id: Snowflake,
        ) -> hearth_store::Result<Option<Message>> {
            self.inner.message(c, id).await
        }
        async fn messages(
            &self,
            c: Snowflake,
            p: Page,
            l: u32,
        ) -> hearth_store::Result<Vec<Message>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let _permit = self.gate.acquire().await.expect("gate open");
            self.inner.messages(c, p, l).await
        }
        async fn update_message(
            &self,
            m: &Message,
            read_edited: Option<hearth_model::Timestamp>,
        ) -> hearth_store::Result<bool> {
            self.inner.update_message(m, read_edited).await
        }
        async fn delete_message(&self, c: Snowflake, id: Snowflake) -> hearth_store::Result<bool> {
            self.inner.delete_message(c, id).await
        }
        async fn delete_messages(
            &self,
            c: Snowflake,
            ids: &[Snowflake],
        ) -> hearth_store::Result<u64> {
            self.inner.delete_messages(c, ids).await
        }
        async fn dropped_files(&self, limit: u32) -> hearth_store::Result<Vec<Snowflake>> {
            self.inner.dropped_files(limit).await
        }
        async fn forget_dropped_files(&self, ids: &[Snowflake]) -> hearth_store::Result<()> {
            self.inner.forget_dropped_files(ids).await
        }
    }

    fn message(id: u64) -> Message {
        crate::messages::sample(7, id)
    }

    async fn service() -> (
        Arc<GatedStore>,
        Arc<MessageService>,
        Counter,
        tempfile::TempDir,
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let inner = SqliteStore::open(dir.path(), Durability::Normal)
            .await
            .expect("open store");
        let store = Arc::new(GatedStore {
            inner,
            gate: Semaphore::new(0),
            calls: AtomicUsize::new(0),
        });
        let queries = Counter::default();
        let svc = Arc::new(MessageService::new(
            store.clone(),
            true,
            queries.clone(),
            Counter::default(),
        ));
        (store, svc, queries, dir)
    }

    #[tokio::test]
    async fn hundred_concurrent_identical_reads_share_one_query() {
        let (store, svc, queries, _dir) = service().await;
        let gen = SnowflakeGenerator::new(0, 0);
        for _ in 0..60 {
            store
                .inner
                .insert_message(&Message {
                    id: gen.next(),
                    ..message(0)
                })
                .await
                .unwrap();
        }
        let pivot = gen.next();
        let mut readers = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let svc = svc.clone();
            readers.spawn(async move {
                svc.list(Snowflake(7), Page::Before(pivot), 50)
                    .await
                    .unwrap()
            });
        }
        // Let every reader reach the gate before the one query may proceed.
        while readers.len() < 100 {
            tokio::task::yield_now().await;
        }
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        store.gate.add_permits(1000);
        let mut pages = Vec::new();
        while let Some(r) = readers.join_next().await {
            pages.push(r.unwrap());
        }
        assert_eq!(pages.len(), 100);
        assert!(pages.iter().all(|p| p.len() == 50 && p == &pages[0]));
        assert_eq!(store.calls.load(Ordering::SeqCst), 1);
        assert_eq!(queries.get(), 1);
    }

    #[tokio::test]
    async fn a_read_after_a_write_sees_it_even_with_a_read_in_flight() {
        let (store, svc, _queries, _dir) = service().await;
        store.gate.add_permits(1000);
        let first = message(SnowflakeGenerator::new(0, 0).next().0);
        svc.create(&first).await.unwrap();
        // Fill the cache, then write: the cached page must include the write.
        assert_eq!(
            svc.list(Snowflake(7), Page::Latest, 50)
                .await
                .unwrap()
                .len(),
            1
        );
        let second = message(first.id.0 + (1 << 22));
        svc.create(&second).await.unwrap();
        let page = svc.list(Snowflake(7), Page::Latest, 50).await.unwrap();
        assert_eq!(
            page.iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![second.id, first.id]
        );
        // Served from the cache: one store query for the two reads.
        assert_eq!(store.calls.load(Ordering::SeqCst), 1);
        // An edit drops the cache; the next read goes to the store and sees it.
        let edited = Message {
            content: "edited".into(),
            ..second.clone()
        };
        assert!(svc.update(&edited, second.edited_timestamp).await.unwrap());
        let page = svc.list(Snowflake(7), Page::Latest, 50).await.unwrap();
        assert_eq!(page[0].content, "edited");
        assert_eq!(store.calls.load(Ordering::SeqCst), 2);
    }
}
