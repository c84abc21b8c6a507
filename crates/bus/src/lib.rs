//! The bus: services publish events, gateways receive them.
//!
//! A single node uses [`LocalBus`], which hands each event to the node's
//! fan-out thread (`delivery`), in order, through a bounded queue: a REST
//! handler returns once its event is published, and the fan-out to the
//! sessions runs off its path. A cluster uses [`RedisBus`]: the event is
//! queued for a Redis channel per topic (a guild or a user), then handed to
//! the fan-out the same way, as are other nodes' events; each node
//! subscribes to the topics its sessions need ([`Bus::watch`]). [`presence`] keeps each
//! node's view of its users' presence where the other nodes read it.

pub mod connected;
mod delivery;
mod envelope;
pub mod journal;
mod lease;
pub mod presence;
mod remote;
pub mod sfu_registry;
pub mod voice_directory;
mod windows;

use std::sync::Arc;

use async_trait::async_trait;
use hearth_proto::events::{Event, EventId, NodeCommand, Topic};

pub use lease::{LeaseError, NodeIdLease, NodeNames, MAX_CLOCK_SKEW};
pub use remote::{redacted, BusCounters, RedisBus, RedisBusConfig};
pub use windows::{SharedWindows, Taken, WindowSpec, WindowsUnavailable, WINDOW_TIMEOUT};

/// What a node's gateway implements to receive events.
pub trait Receiver: Send + Sync {
    /// `id` names the event: the node that published it and its place in
    /// that node's order (for each node, events arrive in that order).
    fn deliver(&self, event: Arc<Event>, id: EventId);
    fn command(&self, command: NodeCommand);
    /// Events meant for this node were lost (its Redis subscription broke
    /// and came back): whatever the receiver built from the event stream
    /// can no longer be trusted.
    fn missed_events(&self) {}
}

/// Whether the bus can reach the other nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusHealth {
    /// In-process: there are no other nodes.
    Local,
    Connected,
    /// Events from other nodes are not arriving, and this node's do not
    /// leave it (they queue, up to a bound).
    Disconnected,
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot reach Redis at {url}: {reason}")]
    Unreachable { url: String, reason: String },
}

#[async_trait]
pub trait Bus: Send + Sync {
    /// Sends the event to every node that watches its topic, this one
    /// included.
    fn publish(&self, event: Event);
    /// Sends the command to every node that watches its topic, this one
    /// included.
    fn command(&self, command: NodeCommand);
    /// Sets the receiver of this node's events.
    fn set_receiver(&self, receiver: Arc<dyn Receiver>);
    /// Starts receiving the topic's events from other nodes, and returns
    /// once they flow (or at once when the bus is down: its return is then
    /// announced by [`Receiver::missed_events`]). Counted: a topic stays
    /// watched until `unwatch` was called as often as `watch`.
    async fn watch(&self, topic: Topic);
    fn unwatch(&self, topic: Topic);
    fn health(&self) -> BusHealth;
}

/// The in-process bus of a single node.
pub struct LocalBus {
    delivery: delivery::Delivery,
    /// The last event's counter.
    published: std::sync::Mutex<u64>,
}

impl Default for LocalBus {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalBus {
    pub fn new() -> Self {
        LocalBus {
            delivery: delivery::Delivery::start(),
            published: std::sync::Mutex::new(0),
        }
    }

    /// Waits until every event published so far reached the receiver.
    pub fn settle(&self) {
        self.delivery.settle();
    }

    /// `hearth_bus_fanout_queue`: events published and not yet fanned out.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        delivery::register(registry, &self.delivery);
    }
}

#[async_trait]
impl Bus for LocalBus {
    fn publish(&self, event: Event) {
        self.delivery.wait_for_room();
        let mut counter = self.published.lock().unwrap_or_else(|p| p.into_inner());
        *counter += 1;
        let id = EventId {
            origin: 0,
            counter: *counter,
        };
        self.delivery.event(Arc::new(event), id);
    }

    fn command(&self, command: NodeCommand) {
        self.delivery.command(command);
    }

    fn set_receiver(&self, receiver: Arc<dyn Receiver>) {
        self.delivery.set_receiver(receiver);
    }

    async fn watch(&self, _topic: Topic) {}

    fn unwatch(&self, _topic: Topic) {}

    fn health(&self) -> BusHealth {
        BusHealth::Local
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::Snowflake;
    use std::sync::Mutex;

    struct Collect(Mutex<Vec<Snowflake>>);
    impl Receiver for Collect {
        fn deliver(&self, event: Arc<Event>, _: EventId) {
            if let Event::GuildDelete { guild_id } = *event {
                self.0.lock().unwrap().push(guild_id);
            }
        }
        fn command(&self, _: NodeCommand) {}
    }

    fn deleted(id: u64) -> Event {
        Event::GuildDelete {
            guild_id: Snowflake(id),
        }
    }

    #[test]
    fn delivers_in_publish_order_once_a_receiver_is_set() {
        let bus = LocalBus::new();
        bus.publish(deleted(0));
        bus.settle();
        let c = Arc::new(Collect(Mutex::new(vec![])));
        bus.set_receiver(c.clone());
        for id in [1, 2, 3] {
            bus.publish(deleted(id));
        }
        bus.settle();
        assert_eq!(
            *c.0.lock().unwrap(),
            vec![Snowflake(1), Snowflake(2), Snowflake(3)]
        );
    }
}
