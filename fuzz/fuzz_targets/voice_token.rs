//! Voice tokens, the one secret-bearing part of a voice Identify: any string
//! a client sends must be refused without a panic unless it was signed with
//! the node's secret, and a token signed over fuzzer-made claims must verify
//! to exactly those claims (the body is the fuzzer's; the signature is ours,
//! so a forged body can only pass by breaking HMAC-SHA256).
#![no_main]

use hearth_model::Snowflake;
use hearth_proto::voice::{TokenError, VoiceClaims};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzzing secret, not the node's";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Hostile bytes as a token: refused, and never as if signed.
    if let Ok(claims) = VoiceClaims::verify(&text, SECRET, 0) {
        assert_eq!(claims.sign(SECRET), text, "an unsigned token verified");
    }
    // Hostile claims, properly signed: they come back as they went in.
    if data.len() >= 16 {
        let n = |i: usize| u64::from_le_bytes(data[i..i + 8].try_into().unwrap_or([0; 8]));
        let claims = VoiceClaims {
            user_id: Snowflake(n(0)),
            guild_id: Snowflake(n(8)),
            channel_id: Snowflake(n(0) ^ n(8)),
            session_id: String::from_utf8_lossy(&data[16..]).into_owned(),
            node: "node".into(),
            expires_at: n(8),
        };
        let token = claims.sign(SECRET);
        match VoiceClaims::verify(&token, SECRET, 0) {
            Ok(back) => assert_eq!(back, claims),
            Err(e) => panic!("a signed token was refused: {e:?}"),
        }
        assert_eq!(
            VoiceClaims::verify(&token, b"another secret", 0),
            Err(TokenError::BadSignature)
        );
    }
});
