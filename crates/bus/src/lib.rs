//! The bus: services publish events, the node's gateway receives them.
//!
//! A single node uses [`LocalBus`], which hands each event straight to the
//! node's receiver on the publisher's thread, so a REST handler's 200 comes
//! after every local session has the dispatch in its queue. A cluster puts a
//! Redis-backed bus behind the same trait: `publish` sends to the guild's
//! channel, and a subscriber task per node calls the receiver; `watch` tells
//! it which guild topics this node's sessions need.

use std::sync::{Arc, RwLock};

use hearth_proto::events::Event;

/// What a node's gateway implements to receive events.
pub trait Receiver: Send + Sync {
    fn deliver(&self, event: Arc<Event>);
}

pub trait Bus: Send + Sync {
    /// Sends the event to every node (this one included).
    fn publish(&self, event: Event);
    /// Sets the receiver of this node's events.
    fn set_receiver(&self, receiver: Arc<dyn Receiver>);
}

/// The in-process bus of a single node.
#[derive(Default)]
pub struct LocalBus {
    receiver: RwLock<Option<Arc<dyn Receiver>>>,
}

impl LocalBus {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Bus for LocalBus {
    fn publish(&self, event: Event) {
        let receiver = self
            .receiver
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        // Without a gateway (a REST-only embedding, tests) events have no audience.
        if let Some(r) = receiver {
            r.deliver(Arc::new(event));
        }
    }

    fn set_receiver(&self, receiver: Arc<dyn Receiver>) {
        *self.receiver.write().unwrap_or_else(|p| p.into_inner()) = Some(receiver);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::Snowflake;
    use std::sync::Mutex;

    struct Collect(Mutex<Vec<Snowflake>>);
    impl Receiver for Collect {
        fn deliver(&self, event: Arc<Event>) {
            if let Event::GuildDelete { guild_id } = *event {
                self.0.lock().unwrap().push(guild_id);
            }
        }
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
        let c = Arc::new(Collect(Mutex::new(vec![])));
        bus.set_receiver(c.clone());
        for id in [1, 2, 3] {
            bus.publish(deleted(id));
        }
        assert_eq!(
            *c.0.lock().unwrap(),
            vec![Snowflake(1), Snowflake(2), Snowflake(3)]
        );
    }
}
