//! How many TCP connections the node holds open, per client address and in
//! all.
//!
//! Every connection costs a file descriptor and a task; a client that opens
//! thousands and sends nothing would otherwise take every descriptor the
//! process has, and normal requests would time out (2,048 idle connections
//! did that before this limit). The accept loop asks [`ConnectionLimits`]
//! before serving a connection; the [`Admitted`] ticket it gets back gives the
//! place back when the connection ends, however it ends.
//!
//! IPv6 clients are counted per /64: one subscriber usually holds a whole
//! /64, so counting single addresses would not bound them at all.
//!
//! A trusted proxy's connection carries many clients: it is counted in the
//! total only ([`ConnectionLimits::admit_proxy`]), and each request on it
//! against its client's address ([`ConnectionLimits::admit_client`]) for as
//! long as the request runs, or, once upgraded to a WebSocket, for as long
//! as the connection stays open.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This client address already holds `per_address` connections.
    PerAddress,
    /// The node holds `total` connections.
    Total,
}

/// The limits; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_address: Option<u32>,
    pub total: Option<u32>,
}

#[derive(Debug, Default)]
struct Counts {
    per_address: HashMap<IpAddr, u32>,
    total: u32,
}

#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    limits: Limits,
    counts: Arc<Mutex<Counts>>,
}

/// One admitted connection (or proxied client); dropping it frees its
/// place.
#[derive(Debug)]
pub struct Admitted {
    /// The address it counts against, if any.
    key: Option<IpAddr>,
    /// Whether it counts in the total.
    in_total: bool,
    counts: Arc<Mutex<Counts>>,
}

impl ConnectionLimits {
    pub fn new(limits: Limits) -> Self {
        ConnectionLimits {
            limits,
            counts: Arc::default(),
        }
    }

    /// A connection from `ip`: counted against its address and in the total.
    pub fn admit(&self, ip: IpAddr) -> Result<Admitted, Refusal> {
        self.take(Some(address_key(ip)), true)
    }

    /// A connection from a trusted proxy: counted in the total only.
    pub fn admit_proxy(&self) -> Result<Admitted, Refusal> {
        self.take(None, true)
    }

    /// A client behind a trusted proxy, whose connection is in the total
    /// already: counted against the client's address only.
    pub fn admit_client(&self, ip: IpAddr) -> Result<Admitted, Refusal> {
        self.take(Some(address_key(ip)), false)
    }

    fn take(&self, key: Option<IpAddr>, in_total: bool) -> Result<Admitted, Refusal> {
        let mut counts = lock(&self.counts);
        if in_total && self.limits.total.is_some_and(|max| counts.total >= max) {
            return Err(Refusal::Total);
        }
        if let Some(key) = key {
            let held = counts.per_address.get(&key).copied().unwrap_or(0);
            if self.limits.per_address.is_some_and(|max| held >= max) {
                return Err(Refusal::PerAddress);
            }
            counts.per_address.insert(key, held + 1);
        }
        if in_total {
            counts.total += 1;
        }
        Ok(Admitted {
            key,
            in_total,
            counts: self.counts.clone(),
        })
    }

    #[cfg(test)]
    fn held(&self) -> (usize, u32) {
        let counts = lock(&self.counts);
        (counts.per_address.len(), counts.total)
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        if self.in_total {
            counts.total = counts.total.saturating_sub(1);
        }
        let Some(key) = self.key else { return };
        if let Some(n) = counts.per_address.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                // Forget addresses that hold nothing, so the map is bounded by
                // the connections open, not by every address ever seen.
                counts.per_address.remove(&key);
            }
        }
    }
}

/// Counts stay consistent even if a holder panicked: every change is one
/// step, so a poisoned lock's data is still whole.
fn lock(counts: &Mutex<Counts>) -> std::sync::MutexGuard<'_, Counts> {
    counts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An IPv4 address as is (IPv4-mapped IPv6 too); an IPv6 address as its /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_over_its_limit_is_refused_while_others_are_admitted() {
        let limits = ConnectionLimits::new(Limits {
            per_address: Some(2),
            total: None,
        });
        let a1 = limits.admit(ip("10.0.0.1")).unwrap();
        let _a2 = limits.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(
            limits.admit(ip("10.0.0.1")).unwrap_err(),
            Refusal::PerAddress
        );
        let _b = limits.admit(ip("10.0.0.2")).unwrap();
        drop(a1);
        assert!(limits.admit(ip("10.0.0.1")).is_ok());
    }

    #[test]
    fn the_total_caps_every_address_together() {
        let limits = ConnectionLimits::new(Limits {
            per_address: Some(10),
            total: Some(2),
        });
        let _a = limits.admit(ip("10.0.0.1")).unwrap();
        let b = limits.admit(ip("10.0.0.2")).unwrap();
        assert_eq!(limits.admit(ip("10.0.0.3")).unwrap_err(), Refusal::Total);
        drop(b);
        assert!(limits.admit(ip("10.0.0.3")).is_ok());
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_a_limit() {
        let limits = ConnectionLimits::new(Limits {
            per_address: Some(1),
            total: None,
        });
        let _a = limits.admit(ip("2001:db8:1:2::1")).unwrap();
        assert_eq!(
            limits.admit(ip("2001:db8:1:2::ffff")).unwrap_err(),
            Refusal::PerAddress
        );
        assert!(limits.admit(ip("2001:db8:1:3::1")).is_ok());
        // An IPv4-mapped address counts as the IPv4 address.
        let _v4 = limits.admit(ip("192.0.2.1")).unwrap();
        assert!(limits.admit(ip("::ffff:192.0.2.1")).is_err());
    }

    #[test]
    fn a_proxy_counts_in_the_total_and_its_clients_each_against_their_own_address() {
        let limits = ConnectionLimits::new(Limits {
            per_address: Some(1),
            total: Some(3),
        });
        let proxy: Vec<_> = (0..2).map(|_| limits.admit_proxy().unwrap()).collect();
        assert_eq!(limits.held(), (0, 2), "the proxy holds no address's place");
        let a = limits.admit_client(ip("203.0.113.1")).unwrap();
        assert_eq!(
            limits.admit_client(ip("203.0.113.1")).unwrap_err(),
            Refusal::PerAddress
        );
        let _b = limits.admit_client(ip("203.0.113.2")).unwrap();
        assert_eq!(limits.held(), (2, 2), "clients are not connections");
        let _third = limits.admit_proxy().unwrap();
        assert_eq!(limits.admit_proxy().unwrap_err(), Refusal::Total);
        drop(a);
        assert!(limits.admit_client(ip("203.0.113.1")).is_ok());
        drop(proxy);
        assert_eq!(limits.held(), (1, 1));
    }

    #[test]
    fn closed_connections_leave_no_trace() {
        let limits = ConnectionLimits::new(Limits {
            per_address: None,
            total: None,
        });
        let held: Vec<_> = (0..100u8)
            .map(|i| limits.admit(IpAddr::from([10, 0, 0, i])).unwrap())
            .collect();
        assert_eq!(limits.held(), (100, 100));
        drop(held);
        assert_eq!(limits.held(), (0, 0));
    }
}
