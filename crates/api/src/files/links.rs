//! Signed, expiring links to attachments, as Discord's CDN gives them:
//! `/attachments/{id}/{filename}?ex=&is=&hm=`, where `ex` is when the link
//! stops working, `is` when it was issued (both hex seconds) and `hm` an
//! HMAC-SHA256 over the path and `ex` with the node's key.
//!
//! Links are issued per whole day and last one to two days: every copy of a
//! message sent the same day carries the same links, so browsers and
//! proxies cache the file once; a link given to someone who later loses
//! access stops working within two days, as Discord's do.

use hearth_model::attachments::AttachmentLinks;
use hearth_model::Snowflake;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const DAY: u64 = 24 * 60 * 60;

pub struct LinkSigner {
    mac: Hmac<Sha256>,
    /// `https://chat.example.org`, no trailing slash.
    base: String,
}

/// A link's signed part, from its query.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Signature {
    pub ex: String,
    pub hm: String,
}

impl LinkSigner {
    /// `secret`: the node's (in a cluster the shared one), so a link made
    /// on one node opens on every other.
    pub fn new(secret: &[u8], base: String) -> Self {
        // Its own key, so a link's MAC is useless anywhere else the secret
        // is used.
        let mut derive = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        derive.update(b"hearth attachment links v1");
        let key = derive.finalize().into_bytes();
        LinkSigner {
            mac: Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length"),
            base,
        }
    }

    fn mac(&self, id: Snowflake, filename: &str, ex: u64) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(format!("{id}/{filename}/{ex:x}").as_bytes());
        mac
    }

    fn signed_query(&self, id: Snowflake, filename: &str, now: u64) -> String {
        let issued = now - now % DAY;
        let ex = issued + 2 * DAY;
        let hm: String = self
            .mac(id, filename, ex)
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("ex={ex:x}&is={issued:x}&hm={hm}")
    }

    /// Whether `sig` opens `id`/`filename` at `now` (unix seconds).
    pub fn verify(&self, id: Snowflake, filename: &str, sig: &Signature, now: u64) -> bool {
        let Ok(ex) = u64::from_str_radix(&sig.ex, 16) else {
            return false;
        };
        if ex <= now || ex > now + 3 * DAY || sig.hm.len() != 64 {
            return false;
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            match u8::from_str_radix(sig.hm.get(2 * i..2 * i + 2).unwrap_or("zz"), 16) {
                Ok(v) => *b = v,
                Err(_) => return false,
            }
        }
        // Constant-time comparison.
        self.mac(id, filename, ex).verify_slice(&bytes).is_ok()
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl AttachmentLinks for LinkSigner {
    fn links(&self, id: Snowflake, filename: &str) -> (String, String) {
        let query = self.signed_query(id, filename, unix_now());
        (
            format!("{}/attachments/{id}/{filename}?{query}", self.base),
            format!("{}/media/attachments/{id}/{filename}?{query}", self.base),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signature(url: &str) -> Signature {
        let query = url.split_once('?').unwrap().1;
        let get = |k: &str| {
            query
                .split('&')
                .find_map(|p| p.strip_prefix(&format!("{k}=")))
                .unwrap()
                .to_owned()
        };
        Signature {
            ex: get("ex"),
            hm: get("hm"),
        }
    }

    #[test]
    fn a_link_opens_its_own_file_until_it_expires() {
        let signer = LinkSigner::new(b"secret", "https://chat.example.org".into());
        let now = 1_800_000_000;
        let url = format!("x?{}", signer.signed_query(Snowflake(42), "cat.png", now));
        let sig = signature(&url);
        assert!(signer.verify(Snowflake(42), "cat.png", &sig, now));
        assert!(signer.verify(Snowflake(42), "cat.png", &sig, now + DAY));
        assert!(!signer.verify(Snowflake(42), "cat.png", &sig, now + 2 * DAY));
        assert!(!signer.verify(Snowflake(43), "cat.png", &sig, now));
        assert!(!signer.verify(Snowflake(42), "dog.png", &sig, now));
        let other = LinkSigner::new(b"other", String::new());
        assert!(!other.verify(Snowflake(42), "cat.png", &sig, now));
    }

    #[test]
    fn a_forged_expiry_or_mac_is_refused() {
        let signer = LinkSigner::new(b"secret", String::new());
        let now = 1_800_000_000;
        let url = format!("x?{}", signer.signed_query(Snowflake(1), "a", now));
        let mut sig = signature(&url);
        let ex = u64::from_str_radix(&sig.ex, 16).unwrap();
        sig.ex = format!("{:x}", ex + DAY);
        assert!(!signer.verify(Snowflake(1), "a", &sig, now));
        let mut sig = signature(&url);
        sig.hm = "0".repeat(64);
        assert!(!signer.verify(Snowflake(1), "a", &sig, now));
        sig.hm = "é".repeat(32);
        assert!(!signer.verify(Snowflake(1), "a", &sig, now));
    }

    #[test]
    fn links_made_the_same_day_are_the_same() {
        let signer = LinkSigner::new(b"secret", String::new());
        let day = 1_800_000_000 - 1_800_000_000 % DAY;
        assert_eq!(
            signer.signed_query(Snowflake(1), "a", day + 10),
            signer.signed_query(Snowflake(1), "a", day + DAY - 10)
        );
    }
}
