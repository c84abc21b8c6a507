//! Where datagrams were dropped, from the kernel's per-socket counters
//! (`/proc/net/udp`, the last column): the SFU's media sockets (bound to the
//! addresses Ready named) and the clients' sockets (connected to them).
//! A receive buffer that overflows because its reader was not scheduled
//! shows up here and nowhere else; this is how the report tells server-side
//! from client-side loss. Linux only; elsewhere nothing is reported.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::Serialize;

/// Cumulative drops at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounts {
    /// Sockets bound to a server media address.
    pub server: u64,
    /// Sockets connected to one (our peers).
    pub clients: u64,
}

impl DropCounts {
    /// `None` when `/proc/net/udp` cannot be read.
    pub fn read(media: &HashSet<SocketAddr>) -> Option<DropCounts> {
        let mut text = std::fs::read_to_string("/proc/net/udp").ok()?;
        if let Ok(v6) = std::fs::read_to_string("/proc/net/udp6") {
            text.push_str(&v6);
        }
        Some(count(&text, media))
    }
}

/// Drops over the steady phase.
#[derive(Clone, Debug, Default, Serialize)]
pub struct UdpDrops {
    pub server_sockets: u64,
    pub client_sockets: u64,
}

impl UdpDrops {
    pub fn between(a: DropCounts, b: DropCounts) -> UdpDrops {
        UdpDrops {
            server_sockets: b.server.saturating_sub(a.server),
            client_sockets: b.clients.saturating_sub(a.clients),
        }
    }
}

fn count(text: &str, media: &HashSet<SocketAddr>) -> DropCounts {
    let mut c = DropCounts::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 13 || !f[0].ends_with(':') {
            continue;
        }
        let (Some(local), Some(remote), Ok(drops)) = (
            parse_addr(f[1]),
            parse_addr(f[2]),
            f[f.len() - 1].parse::<u64>(),
        ) else {
            continue;
        };
        if media.contains(&local) {
            c.server += drops;
        } else if media.contains(&remote) {
            c.clients += drops;
        }
    }
    c
}

/// `0100007F:1F90` → 127.0.0.1:8080 (the address in the kernel's byte
/// order, 32-bit words little-endian on x86; the port big-endian).
fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(ip, 16).ok()?.to_le_bytes(),
        )),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                let word = u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16).ok()?;
                chunk.copy_from_slice(&word.to_le_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 0100007F:9C40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1000 2 0000000000000000 17
  101: 0100007F:D431 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 1001 2 0000000000000000 3
  102: 0100007F:D432 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 1002 2 0000000000000000 4
  103: 0100007F:D433 0100007F:1234 01 00000000:00000000 00:00000000 00000000     0        0 1003 2 0000000000000000 99
";

    #[test]
    fn drops_are_split_between_the_sfu_socket_and_its_clients() {
        let media: HashSet<SocketAddr> = ["127.0.0.1:40000".parse().unwrap()].into();
        assert_eq!(
            count(UDP, &media),
            DropCounts {
                server: 17,
                clients: 7
            }
        );
    }

    #[test]
    fn kernel_addresses_parse() {
        assert_eq!(
            parse_addr("0100007F:1F90"),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            parse_addr("00000000000000000000000001000000:0050"),
            Some("[::1]:80".parse().unwrap())
        );
        assert_eq!(parse_addr("zz:1"), None);
    }
}
