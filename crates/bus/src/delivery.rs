//! Handing events to this node's receiver (the gateway's fan-out) off the
//! publisher's path.
//!
//! A REST write returns once its event is stored and published; queuing
//! the dispatch for every local session (thousands of writes for a large
//! guild) is the fan-out thread's work, not the request's. One thread takes
//! events, commands and "events were missed" in the order they were handed
//! over (publishers' own and other nodes'), so the receiver sees each
//! source's order unchanged.
//!
//! A publisher faster than the fan-out waits for room before it publishes
//! ([`Delivery::wait_for_room`], outside any lock) rather than grow the
//! queue without end. The fan-out thread itself never waits: what it
//! publishes while delivering (a voice state that ends with a member's
//! removal) goes in at once, or it would wait for itself.

use std::cell::Cell;
use std::sync::mpsc::{channel, Receiver as Queue, Sender};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

use hearth_proto::events::{Event, EventId, NodeCommand};
use prometheus_client::metrics::gauge::Gauge;

use crate::Receiver;

/// Items the fan-out may be behind by before publishers wait.
pub const QUEUE: usize = 65_536;

thread_local! {
    /// Set on the fan-out thread.
    static FANOUT: Cell<bool> = const { Cell::new(false) };
}

enum Item {
    Event(Arc<Event>, EventId),
    Command(NodeCommand),
    Missed,
    /// Answered once everything handed over before it was delivered.
    Settled(std::sync::mpsc::Sender<()>),
}

type Slot = Arc<RwLock<Option<Arc<dyn Receiver>>>>;

/// Publishers waiting for room, woken as the fan-out takes items.
#[derive(Default)]
struct Room {
    lock: Mutex<()>,
    freed: Condvar,
}

pub(crate) struct Delivery {
    tx: Sender<Item>,
    receiver: Slot,
    /// Items handed over and not yet delivered (`hearth_bus_fanout_queue`).
    pub(crate) queued: Gauge,
    room: Arc<Room>,
}

impl Delivery {
    pub(crate) fn start() -> Delivery {
        let (tx, rx) = channel();
        let receiver: Slot = Arc::new(RwLock::new(None));
        let queued = Gauge::default();
        let room = Arc::new(Room::default());
        let (slot, depth, freed) = (receiver.clone(), queued.clone(), room.clone());
        // The receiver spawns work (a newcomer's subscriptions) on the
        // runtime of whoever started the bus.
        let runtime = tokio::runtime::Handle::try_current().ok();
        std::thread::Builder::new()
            .name("hearth-fanout".into())
            .spawn(move || {
                FANOUT.with(|f| f.set(true));
                let _entered = runtime.as_ref().map(|r| r.enter());
                run(rx, slot, depth, freed)
            })
            .expect("spawning the fan-out thread");
        Delivery {
            tx,
            receiver,
            queued,
            room,
        }
    }

    pub(crate) fn set_receiver(&self, receiver: Arc<dyn Receiver>) {
        *self.receiver.write().unwrap_or_else(|p| p.into_inner()) = Some(receiver);
    }

    /// Waits while the fan-out is [`QUEUE`] items behind; at once on the
    /// fan-out thread. Call it before taking any lock the fan-out may need.
    pub(crate) fn wait_for_room(&self) {
        if FANOUT.with(Cell::get) {
            return;
        }
        let mut guard = self.room.lock.lock().unwrap_or_else(|p| p.into_inner());
        while self.queued.get() >= QUEUE as i64 {
            // Bounded waits: a wake-up between the check and the wait is
            // not lost for long.
            guard = self
                .room
                .freed
                .wait_timeout(guard, Duration::from_millis(20))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
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

    /// Waits until everything handed over so far has been delivered (not
    /// on the fan-out thread).
    pub(crate) fn settle(&self) {
        let (done, wait) = std::sync::mpsc::channel();
        self.hand(Item::Settled(done));
        let _ = wait.recv();
    }
}

fn run(queue: Queue<Item>, receiver: Slot, queued: Gauge, room: Arc<Room>) {
    while let Ok(item) = queue.recv() {
        if queued.dec() <= QUEUE as i64 {
            room.freed.notify_all();
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Publishes from inside the fan-out, as the gateway does when a
    /// member's removal ends their voice state.
    struct Echo {
        delivery: std::sync::OnceLock<Arc<Delivery>>,
        seen: AtomicUsize,
    }

    impl Receiver for Echo {
        fn deliver(&self, event: Arc<Event>, id: EventId) {
            self.seen.fetch_add(1, Ordering::Relaxed);
            if id.counter == 1 {
                let d = self.delivery.get().unwrap();
                // Far more than the queue holds: it must not wait for
                // itself.
                for n in 0..(QUEUE as u64 + 10) {
                    d.wait_for_room();
                    d.event(
                        event.clone(),
                        EventId {
                            origin: 1,
                            counter: n + 2,
                        },
                    );
                }
            }
        }
        fn command(&self, _: NodeCommand) {}
    }

    #[test]
    fn the_fan_out_thread_never_waits_for_room_in_its_own_queue() {
        let delivery = Arc::new(Delivery::start());
        let echo = Arc::new(Echo {
            delivery: std::sync::OnceLock::new(),
            seen: AtomicUsize::new(0),
        });
        let _ = echo.delivery.set(delivery.clone());
        delivery.set_receiver(echo.clone());
        let event = Arc::new(Event::GuildDelete {
            guild_id: hearth_model::Snowflake(1),
        });
        delivery.event(
            event,
            EventId {
                origin: 1,
                counter: 1,
            },
        );
        // Once for the first event (which queues the rest), once for them.
        delivery.settle();
        delivery.settle();
        assert_eq!(echo.seen.load(Ordering::Relaxed), QUEUE + 11);
        assert_eq!(delivery.queued.get(), 0);
    }
}
