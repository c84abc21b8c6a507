//! Tokens and passwords.
//!
//! Tokens look like Discord's: the base64 of the user id, a dot, and 24
//! random bytes in base64url. Only their hash is stored
//! (`hearth_store::token_hash`). Passwords are hashed with Argon2id.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hearth_model::Snowflake;
use rand::rngs::OsRng;
use rand::RngCore;

/// A token as presented in an Authorization header.
pub struct Presented<'a> {
    pub token: &'a str,
    pub bot: bool,
}

impl<'a> Presented<'a> {
    /// Accepts `Bot <token>`, `Bearer <token>` and a bare token.
    pub fn parse(header: &'a str) -> Option<Self> {
        let (token, bot) = if let Some(t) = header.strip_prefix("Bot ") {
            (t, true)
        } else if let Some(t) = header.strip_prefix("Bearer ") {
            (t, false)
        } else {
            (header, false)
        };
        let token = token.trim();
        (!token.is_empty()).then_some(Presented { token, bot })
    }
}

pub fn new_token(user_id: Snowflake) -> String {
    let mut secret = [0u8; 24];
    OsRng.fill_bytes(&mut secret);
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(user_id.to_string()),
        URL_SAFE_NO_PAD.encode(secret)
    )
}

pub fn hash_token(token: &str) -> [u8; 32] {
    hearth_store::token_hash(token)
}

/// A random URL-safe string of `bytes` random bytes (invite codes, webhook tokens).
pub fn random_code(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Argon2id takes 19 MiB per hash by design. Unbounded, a burst of
/// registrations or log-ins would run one per blocking thread at once, and
/// the allocator would keep every thread's peak: two at a time bounds the
/// memory, and trimming after each hands it back.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only asks glibc to return free heap to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let _turn = HASHING.acquire().await.map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || {
        let out = work();
        release_memory();
        out
    })
    .await
    .map_err(|e| e.to_string())
}

/// Hashes on a blocking thread: Argon2 is deliberately slow.
pub async fn hash_password(password: String) -> Result<String, String> {
    hashing(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await?
}

pub async fn verify_password(password: String, hash: String) -> bool {
    hashing(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_forms() {
        let p = Presented::parse("Bot abc").unwrap();
        assert!(p.bot && p.token == "abc");
        let p = Presented::parse("Bearer abc").unwrap();
        assert!(!p.bot && p.token == "abc");
        let p = Presented::parse("abc").unwrap();
        assert!(!p.bot && p.token == "abc");
        assert!(Presented::parse("Bot ").is_none());
        assert!(Presented::parse("").is_none());
    }

    #[test]
    fn tokens_carry_the_user_id_and_differ() {
        let a = new_token(Snowflake(42));
        let b = new_token(Snowflake(42));
        assert_ne!(a, b);
        let id_part = a.split('.').next().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(id_part).unwrap(), b"42");
    }
}
