//! The little of STUN the worker reads itself, before any `Rtc` sees a
//! datagram: the ICE username of a binding request (to find whose it is)
//! and whether its MESSAGE-INTEGRITY is right (so an address is only
//! routed once it proved it knows the password). Plain functions on
//! untrusted bytes: every index is checked.

/// Whether a STUN message's MESSAGE-INTEGRITY (RFC 5389 §15.4: HMAC-SHA1
/// keyed with the ICE password, over the message up to the attribute, with
/// the length field counting up to its end) is right.
pub fn stun_integrity_ok(data: &[u8], password: &[u8]) -> bool {
    use hmac::{Hmac, Mac};
    let mut at = 20;
    while at + 4 <= data.len() {
        let kind = u16::from_be_bytes([data[at], data[at + 1]]);
        let len = u16::from_be_bytes([data[at + 2], data[at + 3]]) as usize;
        if kind == 0x0008 {
            let Some(tag) = data.get(at + 4..at + 24).filter(|_| len == 20) else {
                return false;
            };
            let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(password) else {
                return false;
            };
            let length = ((at + 24 - 20) as u16).to_be_bytes();
            mac.update(&data[..2]);
            mac.update(&length);
            mac.update(&data[4..at]);
            return mac.verify_slice(tag).is_ok();
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    false
}

/// The local ufrag from a STUN binding request's USERNAME attribute
/// (`local:remote`), if the datagram is one.
pub fn stun_username(data: &[u8]) -> Option<&str> {
    // STUN: first two bits zero, magic cookie at bytes 4..8.
    if data.len() < 20 || data[0] & 0xc0 != 0 || data[4..8] != [0x21, 0x12, 0xa4, 0x42] {
        return None;
    }
    let mut at = 20;
    while at + 4 <= data.len() {
        let kind = u16::from_be_bytes([data[at], data[at + 1]]);
        let len = u16::from_be_bytes([data[at + 2], data[at + 3]]) as usize;
        let value = data.get(at + 4..at + 4 + len)?;
        if kind == 0x0006 {
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next();
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_local_ufrag_in_a_binding_request() {
        let mut m = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        m.extend_from_slice(&[7; 12]);
        let user = b"srvA:cliB";
        m.extend_from_slice(&[0x00, 0x06, 0x00, user.len() as u8]);
        m.extend_from_slice(user);
        m.extend_from_slice(&[0; 3]);
        assert_eq!(stun_username(&m), Some("srvA"));
        assert_eq!(stun_username(&[0x80; 40]), None, "RTP is not STUN");
        assert_eq!(stun_username(&m[..30]), None, "truncated");
    }

    /// A binding request signed as RFC 5389 says, by hand.
    fn signed_request(password: &[u8]) -> Vec<u8> {
        use hmac::{Hmac, Mac};
        let user = b"srvA:cliB";
        let mut m = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        m.extend_from_slice(&[7; 12]);
        m.extend_from_slice(&[0x00, 0x06, 0x00, user.len() as u8]);
        m.extend_from_slice(user);
        m.extend_from_slice(&[0; 3]);
        let length = ((m.len() - 20 + 24) as u16).to_be_bytes();
        m[2..4].copy_from_slice(&length);
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(password).unwrap();
        mac.update(&m);
        let tag = mac.finalize().into_bytes();
        m.extend_from_slice(&[0x00, 0x08, 0x00, 20]);
        m.extend_from_slice(&tag);
        m
    }

    #[test]
    fn only_a_request_signed_with_the_password_binds_an_address() {
        let m = signed_request(b"secret-pass");
        assert!(stun_integrity_ok(&m, b"secret-pass"));
        assert!(!stun_integrity_ok(&m, b"guessed"));
        let mut tampered = m.clone();
        tampered[24] ^= 1;
        assert!(!stun_integrity_ok(&tampered, b"secret-pass"));
        assert!(
            !stun_integrity_ok(&m[..m.len() - 24], b"secret-pass"),
            "no integrity attribute"
        );
    }
}
