//! Voice tokens: what the gateway hands a client in VOICE_SERVER_UPDATE and
//! the SFU checks on the voice gateway's Identify.
//!
//! A token is `base64url(claims JSON) "." base64url(HMAC-SHA256)`, keyed by
//! a secret the gateway and the SFU nodes share. The SFU verifies it without
//! asking anyone: the claims say who may join which channel, from which
//! gateway session, on which node, until when.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hearth_model::Snowflake;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How long a token may be used to connect.
pub const TOKEN_LIFETIME_MS: u64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceClaims {
    pub user_id: Snowflake,
    pub guild_id: Snowflake,
    pub channel_id: Snowflake,
    /// The main gateway session that asked to join.
    pub session_id: String,
    /// The SFU node the room lives on.
    pub node: String,
    /// Unix milliseconds after which the token is refused.
    pub expires_at: u64,
}

/// What the media plane needs of a user's voice state: where they are,
/// and what may flow for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaState {
    pub channel: Snowflake,
    /// The main gateway session holding the voice connection.
    pub session_id: String,
    pub self_mute: bool,
    pub self_deaf: bool,
    /// Server mute and deafen.
    pub mute: bool,
    pub deaf: bool,
    /// SPEAK in the channel, now.
    pub can_speak: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length.
    HmacSha256::new_from_slice(secret).expect("HMAC takes any key length")
}

impl VoiceClaims {
    pub fn sign(&self, secret: &[u8]) -> String {
        // Claims are plain data; serialising them cannot fail.
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let mut m = mac(secret);
        m.update(body.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
        format!("{body}.{sig}")
    }

    /// Checks the signature (in constant time) and the expiry.
    pub fn verify(token: &str, secret: &[u8], now_ms: u64) -> Result<VoiceClaims, TokenError> {
        let (body, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| TokenError::Malformed)?;
        let mut m = mac(secret);
        m.update(body.as_bytes());
        m.verify_slice(&sig).map_err(|_| TokenError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenError::Malformed)?;
        let claims: VoiceClaims =
            serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if now_ms > claims.expires_at {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> VoiceClaims {
        VoiceClaims {
            user_id: Snowflake(1),
            guild_id: Snowflake(2),
            channel_id: Snowflake(3),
            session_id: "abc".into(),
            node: "local".into(),
            expires_at: 1_000,
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let t = claims().sign(b"secret");
        assert_eq!(VoiceClaims::verify(&t, b"secret", 999), Ok(claims()));
        assert_eq!(
            VoiceClaims::verify(&t, b"secret", 1_001),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn forged_and_foreign_tokens_are_refused() {
        let t = claims().sign(b"secret");
        assert_eq!(
            VoiceClaims::verify(&t, b"other", 0),
            Err(TokenError::BadSignature)
        );
        let mut other = claims();
        other.channel_id = Snowflake(99);
        let forged_body = other.sign(b"attacker");
        let (body, _) = forged_body.split_once('.').unwrap();
        let (_, sig) = t.split_once('.').unwrap();
        assert_eq!(
            VoiceClaims::verify(&format!("{body}.{sig}"), b"secret", 0),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            VoiceClaims::verify("nonsense", b"secret", 0),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            VoiceClaims::verify("a.!!!", b"secret", 0),
            Err(TokenError::Malformed)
        );
    }
}
