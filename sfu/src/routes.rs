//! Which participant a datagram's source address belongs to.
//!
//! An address becomes a route once a STUN binding request from it proves
//! it knows the participant's ICE password (the worker checks that). A
//! participant who knows its own password could otherwise make a route of
//! every port it owns: each would also become a peer-reflexive candidate
//! in its `Rtc`, whose ICE agent scans its candidates on every request, so
//! tens of thousands of ports stalled the worker for every call on it.
//! Hence two bounds per participant, both independent of how many
//! addresses were tried:
//!
//! - at most `max_routes` live addresses; a new one replaces the one that
//!   was quiet longest (the address media flows on is never that one
//!   while it flows, and a participant can only evict its own);
//! - at most `max_new_routes` addresses over the life of its `Rtc`; past
//!   that, requests from new addresses are dropped before any hashing, and
//!   the `Rtc`'s candidate list stops growing. A client that really moves
//!   that often rejoins and gets a fresh budget.
//!
//! Every operation costs a map lookup or a walk over one participant's
//! few routes, never a scan of the worker.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use crate::room::{ParticipantId, RoomKey};

/// The bounds of [`RouteTable`].
#[derive(Debug, Clone, Copy)]
pub struct RouteLimits {
    pub max_routes: usize,
    pub max_new_routes: usize,
}

impl Default for RouteLimits {
    fn default() -> Self {
        RouteLimits {
            max_routes: 8,
            max_new_routes: 64,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Route {
    room: RoomKey,
    id: ParticipantId,
    /// The last datagram from this address.
    seen: Instant,
}

/// One participant's routes and ICE credentials.
#[derive(Debug)]
struct Peer {
    room: RoomKey,
    ufrag: String,
    pass: String,
    addrs: Vec<SocketAddr>,
    /// Addresses admitted so far, evicted ones included.
    admitted: usize,
}

/// Whether a STUN request from a new address may become a route.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission<'a> {
    /// Check the request's integrity with `pass`, then call
    /// [`RouteTable::admit`].
    Check {
        room: RoomKey,
        id: ParticipantId,
        pass: &'a str,
    },
    /// No participant has this ufrag.
    Unknown,
    /// The participant has used up its addresses.
    Exhausted,
}

#[derive(Debug, Default)]
pub struct RouteTable {
    limits: RouteLimits,
    by_addr: HashMap<SocketAddr, Route>,
    by_ufrag: HashMap<String, ParticipantId>,
    peers: HashMap<ParticipantId, Peer>,
}

impl RouteTable {
    pub fn new(limits: RouteLimits) -> Self {
        RouteTable {
            limits,
            ..RouteTable::default()
        }
    }

    /// A participant whose binding requests carry `ufrag` and are signed
    /// with `pass`.
    pub fn add_peer(&mut self, room: RoomKey, id: ParticipantId, ufrag: String, pass: String) {
        self.by_ufrag.insert(ufrag.clone(), id);
        self.peers.insert(
            id,
            Peer {
                room,
                ufrag,
                pass,
                addrs: Vec::new(),
                admitted: 0,
            },
        );
    }

    /// Forgets a participant and every route to it.
    pub fn remove_peer(&mut self, id: ParticipantId) {
        let Some(peer) = self.peers.remove(&id) else {
            return;
        };
        for addr in &peer.addrs {
            self.by_addr.remove(addr);
        }
        if self.by_ufrag.get(&peer.ufrag) == Some(&id) {
            self.by_ufrag.remove(&peer.ufrag);
        }
    }

    /// The participant a datagram from `source` is for, noting that the
    /// address is in use.
    pub fn route(&mut self, source: SocketAddr, now: Instant) -> Option<(RoomKey, ParticipantId)> {
        let r = self.by_addr.get_mut(&source)?;
        r.seen = now;
        Some((r.room, r.id))
    }

    /// What to do with a binding request naming `ufrag` from an address
    /// that is no route yet.
    pub fn admission(&self, ufrag: &str) -> Admission<'_> {
        let Some(peer) = self.by_ufrag.get(ufrag).and_then(|id| {
            let p = self.peers.get(id)?;
            Some((id, p))
        }) else {
            return Admission::Unknown;
        };
        let (id, peer) = peer;
        if peer.admitted >= self.limits.max_new_routes {
            return Admission::Exhausted;
        }
        Admission::Check {
            room: peer.room,
            id: *id,
            pass: &peer.pass,
        }
    }

    /// Makes `source` a route to `id` (its request proved the password),
    /// replacing the participant's quietest route if it has too many.
    pub fn admit(&mut self, id: ParticipantId, source: SocketAddr, now: Instant) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        if peer.admitted >= self.limits.max_new_routes || self.by_addr.contains_key(&source) {
            return;
        }
        if peer.addrs.len() >= self.limits.max_routes.max(1) {
            let quietest = peer
                .addrs
                .iter()
                .enumerate()
                .min_by_key(|(_, a)| self.by_addr.get(*a).map(|r| r.seen))
                .map(|(i, _)| i);
            if let Some(i) = quietest {
                let gone = peer.addrs.swap_remove(i);
                self.by_addr.remove(&gone);
            }
        }
        peer.addrs.push(source);
        peer.admitted += 1;
        self.by_addr.insert(
            source,
            Route {
                room: peer.room,
                id,
                seen: now,
            },
        );
    }

    /// Live routes, all participants together.
    pub fn len(&self) -> usize {
        self.by_addr.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_addr.is_empty()
    }

    /// Participants with credentials here.
    pub fn peers(&self) -> usize {
        self.peers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::Snowflake;
    use std::time::Duration;

    const ROOM: RoomKey = RoomKey {
        guild: Snowflake(1),
        channel: Snowflake(2),
    };

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn table(max_routes: usize, max_new_routes: usize) -> RouteTable {
        let mut t = RouteTable::new(RouteLimits {
            max_routes,
            max_new_routes,
        });
        t.add_peer(ROOM, ParticipantId(1), "ufA".into(), "passA".into());
        t.add_peer(ROOM, ParticipantId(2), "ufB".into(), "passB".into());
        t
    }

    #[test]
    fn a_proven_address_routes_to_its_participant() {
        let mut t = table(8, 64);
        let now = Instant::now();
        assert_eq!(
            t.admission("ufA"),
            Admission::Check {
                room: ROOM,
                id: ParticipantId(1),
                pass: "passA"
            }
        );
        assert_eq!(t.admission("nobody"), Admission::Unknown);
        t.admit(ParticipantId(1), addr(1000), now);
        assert_eq!(t.route(addr(1000), now), Some((ROOM, ParticipantId(1))));
        assert_eq!(t.route(addr(1001), now), None);
    }

    #[test]
    fn many_ports_keep_a_participant_at_its_route_limit_and_evict_the_quietest() {
        let mut t = table(4, 1_000);
        let start = Instant::now();
        // The port media flows on stays busy throughout.
        t.admit(ParticipantId(1), addr(1), start);
        t.admit(ParticipantId(2), addr(2), start);
        for port in 0..500u16 {
            let now = start + Duration::from_millis(u64::from(port) + 1);
            assert!(t.route(addr(1), now).is_some(), "media port evicted");
            t.admit(ParticipantId(1), addr(10_000 + port), now);
            assert!(t.len() <= 5, "{} routes after {port} ports", t.len());
        }
        assert_eq!(t.route(addr(2), start), Some((ROOM, ParticipantId(2))));
        assert!(t.route(addr(10_499), start).is_some(), "the newest stays");
        assert!(t.route(addr(10_000), start).is_none(), "the oldest went");
    }

    #[test]
    fn a_participant_that_tried_too_many_addresses_gets_no_more() {
        let mut t = table(4, 10);
        let now = Instant::now();
        for port in 0..10 {
            t.admit(ParticipantId(1), addr(port), now);
        }
        assert_eq!(t.admission("ufA"), Admission::Exhausted);
        t.admit(ParticipantId(1), addr(99), now);
        assert_eq!(t.route(addr(99), now), None);
        // The others are untouched.
        assert!(matches!(t.admission("ufB"), Admission::Check { .. }));
    }

    #[test]
    fn leaving_removes_every_route_and_the_ufrag() {
        let mut t = table(8, 64);
        let now = Instant::now();
        for port in 0..6 {
            t.admit(ParticipantId(1), addr(port), now);
        }
        t.admit(ParticipantId(2), addr(100), now);
        t.remove_peer(ParticipantId(1));
        assert_eq!(t.len(), 1);
        assert_eq!(t.peers(), 1);
        assert_eq!(t.admission("ufA"), Admission::Unknown);
        assert!(t.route(addr(0), now).is_none());
    }
}
