//! How webhook tokens are kept: only their SHA-256, like account tokens.

/// What the `token` column holds: the SHA-256 of the token, so a copy of
/// the database does not let anyone post as the webhook.
pub(crate) fn stored_token(token: &str) -> String {
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in crate::token_hash(token) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Digests of equal length compared whole: the time taken says nothing
/// about how much of the token was right.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
