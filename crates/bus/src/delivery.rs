//! Handing events to this node's receiver (the gateway's fan-out) off the
//! publisher's path.
//!
//! A REST write returns once its event is stored and published; queuing
//! the dispatch for every local session (thousands of writes for a large
//! guild) is the fan-out thread's work, not the request's. One thread takes
//! events, commands and "events were missed" in the order they were handed
//! over (publishers' own and other nodes'), so the receiver sees each
//! source's order unchanged. The queue is bounded: a publisher faster than
//! the fan-out waits for room (backpressure) rather than grow it without
//! end.

use std::sync::mpsc::{sync_channel, Receiver as Queue, SyncSender};
use std::sync::{Arc, RwLock};

use hearth_proto::events::{Event, EventId, NodeCommand};
use prometheus_client::metrics::gauge::Gauge;

use crate::Receiver;

/// Items the fan-out may be behind by.
pub const QUEUE: usize = 65_536;

enum Item {
    Event(Arc<Event>, EventId),
    Command(NodeCommand),
    Missed,
    /// Answered once everything handed over before it was delivered.
    Settled(std::sync::mpsc::Sender<()>),
}

type Slot = Arc<RwLock<Option<Arc<dyn Receiver>>>>;

pub(crate) struct Delivery {
    tx: SyncSender<Item>,
    receiver: Slot,
    /// Items handed over and not yet delivered (`hearth_bus_fanout_queue`).
    pub(crate) queued: Gauge,
}

impl Delivery {
    pub(crate) fn start() -> Delivery {
        let (tx, rx) = sync_channel(QUEUE);
        let receiver: Slot = Arc::new(RwLock::new(None));
        let queued = Gauge::default();
        let (slot, depth) = (receiver.clone(), queued.clone());
        // The receiver spawns work (a newcomer's subscriptions) on the
        // runtime of whoever started the bus.
        let runtime = tokio::runtime::Handle::try_current().ok();
        std::thread::Builder::new()
            .name("hearth-fanout".into())
            .spawn(move || {
                let _entered = runtime.as_ref().map(|r| r.enter());
                run(rx, slot, depth)
            })
            .expect("spawning the fan-out thread");
        Delivery {
            tx,
            receiver,
            queued,
        }
    }

    pub(crate) fn set_receiver(&self, receiver: Arc<dyn Receiver>) {
        *self.receiver.write().unwrap_or_else(|p| p.into_inner()) = Some(receiver);
    }

    fn hand(&self, item: Item) {
        self.queued.inc();
        // Err only once the thread is gone, with the process.
        if self.tx.send(item).is_err() {
            self.queued.dec();
        }
    }

    pub(crate) fn event(&self, event: Arc<Event>, id: EventId) {
        self.hand(Item::Event(event, id));
    }

    pub(crate) fn command(&self, command: NodeCommand) {
        self.hand(Item::Command(command));
    }

    pub(crate) fn missed(&self) {
        self.hand(Item::Missed);
    }

    /// Waits until everything handed over so far has been delivered.
    pub(crate) fn settle(&self) {
        let (done, wait) = std::sync::mpsc::channel();
        self.hand(Item::Settled(done));
        let _ = wait.recv();
    }
}

fn run(queue: Queue<Item>, receiver: Slot, queued: Gauge) {
    while let Ok(item) = queue.recv() {
        queued.dec();
        if let Item::Settled(done) = item {
            let _ = done.send(());
            continue;
        }
        // Without a receiver (a REST-only embedding, tests) events have no
        // audience.
        let Some(r) = receiver.read().unwrap_or_else(|p| p.into_inner()).clone() else {
            continue;
        };
        match item {
            Item::Event(e, id) => r.deliver(e, id),
            Item::Command(c) => r.command(c),
            Item::Missed => r.missed_events(),
            Item::Settled(_) => {}
        }
    }
}

pub(crate) fn register(registry: &mut prometheus_client::registry::Registry, delivery: &Delivery) {
    registry.register(
        "bus_fanout_queue",
        "Events and commands handed to this node's fan-out and not yet delivered to its sessions",
        delivery.queued.clone(),
    );
}
