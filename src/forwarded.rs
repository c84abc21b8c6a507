//! The client's address behind a reverse proxy.
//!
//! Behind a proxy every connection comes from the proxy's address, so rate
//! limits and per-address connection limits would lump all clients into
//! one. A proxy appends the address that connected to it to
//! `X-Forwarded-For`; but a client can send that header too, with anything
//! in it. So the header is read only on connections from an address the
//! operator trusts (`--trusted-proxy`), and from the right: each entry was
//! written by the hop after it, and the right-most entry that is not itself
//! a trusted proxy is the first address no trusted party vouches beyond —
//! the client. Whatever lies to its left is the client's own say.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

impl std::fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, range) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            range.fmt(f)?;
        }
        Ok(())
    }
}

/// How many `X-Forwarded-For` entries are looked at, from the right: more
/// than any chain of proxies, and a bound on the work a header can cause.
const MAX_HOPS: usize = 16;

/// An address range in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`), or a
/// single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr(IpNet);

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(net) = s.parse::<IpNet>() {
            return Ok(Cidr(net.trunc()));
        }
        s.parse::<IpAddr>()
            .map(|ip| Cidr(IpNet::from(ip.to_canonical())))
            .map_err(|_| {
                format!("{s:?} is not an address range like 10.0.0.0/8 or an address like 10.0.0.1")
            })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The ranges whose connections may say who their client is.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    pub fn new(ranges: Vec<Cidr>) -> Self {
        TrustedProxies(ranges)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|c| c.0.contains(&ip))
    }

    /// The client of a request that arrived from `peer`: `peer` itself
    /// unless it is trusted; else the right-most `X-Forwarded-For` entry
    /// that is not trusted. If an entry cannot be read (or the entries run
    /// out, or MAX_HOPS), the last address a trusted hop vouched for.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        // Several header lines are one list, in order.
        let mut hops = 0;
        for value in headers.get_all("x-forwarded-for").iter().rev() {
            let Ok(value) = value.to_str() else {
                return client;
            };
            for entry in value.rsplit(',') {
                hops += 1;
                if hops > MAX_HOPS {
                    return client;
                }
                let Some(ip) = parse_hop(entry.trim()) else {
                    return client;
                };
                client = ip;
                if !self.contains(ip) {
                    return ip;
                }
            }
        }
        client
    }
}

/// An entry as proxies write them: an address, or one with a port.
fn parse_hop(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(ranges: &[&str]) -> TrustedProxies {
        TrustedProxies::new(ranges.iter().map(|r| r.parse().unwrap()).collect())
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_and_single_addresses_parse_and_nonsense_does_not() {
        let t = trusted(&["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]);
        assert!(t.contains(ip("10.200.3.4")));
        assert!(t.contains(ip("192.0.2.7")));
        assert!(!t.contains(ip("192.0.2.8")));
        assert!(t.contains(ip("2001:db8:1::5")));
        assert!(
            t.contains(ip("::ffff:10.0.0.1")),
            "IPv4-mapped counts as IPv4"
        );
        for bad in ["", "10.0.0.0/33", "ten", "10.0.0.0/8/8", "*"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let t = trusted(&["10.0.0.0/8"]);
        let h = headers(&["203.0.113.9"]);
        assert_eq!(t.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), &h),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        let t = trusted(&["10.0.0.0/8"]);
        // The client claimed 1.2.3.4; the outer proxy (10.0.0.2) saw
        // 203.0.113.9 and the inner one saw the outer one.
        let h = headers(&["1.2.3.4, 203.0.113.9, 10.0.0.2"]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        // The same list over several header lines.
        let h = headers(&["1.2.3.4", "203.0.113.9", "10.0.0.2"]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        // Ports and brackets as some proxies write them.
        let h = headers(&["[2001:db8:9::1]:4711"]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("2001:db8:9::1"));
        let h = headers(&["203.0.113.9:4711"]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn what_cannot_be_read_stops_at_the_last_vouched_for_address() {
        let t = trusted(&["10.0.0.0/8"]);
        // No header: the proxy itself (a health check, say).
        assert_eq!(t.client(ip("10.0.0.1"), &HeaderMap::new()), ip("10.0.0.1"));
        // Garbage right of a good entry: not read past.
        let h = headers(&["203.0.113.9, nonsense"]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        let h = headers(&["203.0.113.9, 10.0.0.3, unknown"]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        // Only trusted entries: the left-most of them.
        let h = headers(&["10.0.0.5, 10.0.0.3"]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("10.0.0.5"));
        // A long chain is read only so far.
        let chain = vec!["10.0.0.9"; 100].join(", ");
        let h = headers(&[&format!("203.0.113.9, {chain}")]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("10.0.0.9"));
    }
}
