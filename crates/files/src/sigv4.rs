//! AWS Signature Version 4, as S3 and every S3-compatible store check it.
//!
//! Our own code rather than an SDK: we make four kinds of request (put,
//! get, delete, and the bucket check), and an SDK would bring hundreds of
//! crates and its own HTTP stack for them. Signing is a few HMACs over a
//! canonical text, and the published AWS example vectors pin it down (see
//! the tests), so what we give up is small and checked.
//!
//! The caller builds the request first and hands over exactly what it will
//! send: the path and query as they go on the wire, and the headers to
//! sign. Nothing here re-encodes what the caller built, so what is signed
//! and what is sent cannot drift apart.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, UtcOffset};

/// The payload hash for a body that is not hashed: an upload streamed from
/// disk, which we would otherwise have to read twice. TLS protects it in
/// transit; S3 accepts it for header-signed requests.
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// SHA-256 of the empty string: the payload hash of GET, HEAD and DELETE.
pub(crate) const EMPTY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// One request, as it is about to be sent.
pub(crate) struct Request<'a> {
    /// `GET`, `PUT`, ...
    pub method: &'a str,
    /// The URI path, already percent-encoded the S3 way ([`uri_encode`]
    /// with the slashes kept). S3 signs it as it is, without normalising.
    pub path: &'a str,
    /// The canonical query string: `name=value` pairs, each part encoded
    /// with [`uri_encode`], sorted, joined with `&`; empty when there is
    /// none.
    pub query: &'a str,
    /// The headers to sign, names in any case: at least `host`,
    /// `x-amz-date` and `x-amz-content-sha256`. Every one of them must be
    /// sent with the same value.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body, [`UNSIGNED_PAYLOAD`] or [`EMPTY_SHA256`];
    /// the same as the `x-amz-content-sha256` header.
    pub payload_hash: &'a str,
}

/// The key pair and scope a request is signed for.
pub(crate) struct Signer<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

impl Signer<'_> {
    /// The `Authorization` header value for `request` made at `at`, which
    /// must be the instant the request's `x-amz-date` header names
    /// ([`amz_date`]).
    pub(crate) fn authorization(&self, request: &Request<'_>, at: OffsetDateTime) -> String {
        let timestamp = amz_date(at);
        let date = &timestamp[..8];
        let (canonical_headers, signed_headers) = canonical_headers(request.headers);
        let canonical_request = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            request.method,
            request.path,
            request.query,
            canonical_headers,
            signed_headers,
            request.payload_hash,
        );
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let string_to_sign = format!(
            "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
            hex(&Sha256::digest(canonical_request.as_bytes()))
        );
        // The signing key is derived from the secret, never sent; it is
        // bound to the day, region and service of the scope.
        let k_date = hmac(
            format!("AWS4{}", self.secret_key).as_bytes(),
            date.as_bytes(),
        );
        let k_region = hmac(&k_date, self.region.as_bytes());
        let k_service = hmac(&k_region, self.service.as_bytes());
        let k_signing = hmac(&k_service, b"aws4_request");
        let signature = hex(&hmac(&k_signing, string_to_sign.as_bytes()));
        format!(
            "{ALGORITHM} Credential={}/{scope},SignedHeaders={signed_headers},Signature={signature}",
            self.access_key
        )
    }
}

/// `20130524T000000Z`: the `x-amz-date` form of `at`, in UTC.
pub(crate) fn amz_date(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Percent-encodes `s` as S3 wants in a path or a query: every byte but
/// the unreserved `A-Z a-z 0-9 - . _ ~` becomes `%XX` (upper-case hex),
/// and `/` is kept when `keep_slash` (in a path, never in a query value).
pub(crate) fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b))
            }
            b'/' if keep_slash => out.push('/'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
    out
}

/// Hex SHA-256 of `data`: the payload hash of a small body signed whole.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// The canonical header block (each `name:value\n`, names lower-case and
/// sorted, values trimmed with inner runs of spaces made one) and the
/// `SignedHeaders` list. A name given twice has its values joined with a
/// comma, in the order given, as HTTP would combine them.
fn canonical_headers(headers: &[(&str, &str)]) -> (String, String) {
    let mut entries: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let name = name.trim().to_ascii_lowercase();
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        match entries.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => entries.push((name, value)),
        }
    }
    // Stable, so the joined values above keep their order.
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut block = String::new();
    for (name, value) in &entries {
        block.push_str(name);
        block.push(':');
        block.push_str(value);
        block.push('\n');
    }
    let signed = entries
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (block, signed)
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    //! The example requests of the AWS S3 documentation ("Signature
    //! Calculations for the Authorization Header: Transferring Payload in a
    //! Single Chunk"), with its example key pair and date.

    use super::*;

    const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const HOST: &str = "examplebucket.s3.amazonaws.com";

    fn example_signer() -> Signer<'static> {
        Signer {
            access_key: ACCESS_KEY,
            secret_key: SECRET_KEY,
            region: "us-east-1",
            service: "s3",
        }
    }

    fn at() -> OffsetDateTime {
        time::macros::datetime!(2013-05-24 00:00:00 UTC)
    }

    #[test]
    fn the_get_object_example_with_a_range() {
        let auth = example_signer().authorization(
            &Request {
                method: "GET",
                path: "/test.txt",
                query: "",
                headers: &[
                    ("Host", HOST),
                    ("Range", "bytes=0-9"),
                    ("x-amz-content-sha256", EMPTY_SHA256),
                    ("x-amz-date", "20130524T000000Z"),
                ],
                payload_hash: EMPTY_SHA256,
            },
            at(),
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 \
             Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn the_put_object_example_with_an_encoded_key_and_a_signed_body() {
        let body_hash = sha256_hex(b"Welcome to Amazon S3.");
        assert_eq!(
            body_hash,
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        );
        let path = format!("/{}", uri_encode("test$file.text", true));
        assert_eq!(path, "/test%24file.text");
        let auth = example_signer().authorization(
            &Request {
                method: "PUT",
                path: &path,
                query: "",
                // Out of order and mixed case on purpose: signing sorts
                // and lower-cases them.
                headers: &[
                    ("X-Amz-Storage-Class", "REDUCED_REDUNDANCY"),
                    ("Host", HOST),
                    ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                    ("x-amz-date", "20130524T000000Z"),
                    ("x-amz-content-sha256", &body_hash),
                ],
                payload_hash: &body_hash,
            },
            at(),
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 \
             Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,\
             Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        );
    }

    #[test]
    fn the_list_objects_example_with_a_query() {
        let auth = example_signer().authorization(
            &Request {
                method: "GET",
                path: "/",
                query: "max-keys=2&prefix=J",
                headers: &[
                    ("host", HOST),
                    ("x-amz-content-sha256", EMPTY_SHA256),
                    ("x-amz-date", "20130524T000000Z"),
                ],
                payload_hash: EMPTY_SHA256,
            },
            at(),
        );
        assert!(auth.ends_with(
            "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        ));
    }

    #[test]
    fn the_date_is_the_compact_utc_form_whatever_the_offset() {
        assert_eq!(amz_date(at()), "20130524T000000Z");
        let paris = time::macros::datetime!(2013-05-24 02:00:00 +02:00);
        assert_eq!(amz_date(paris), "20130524T000000Z");
    }

    #[test]
    fn encoding_keeps_only_unreserved_bytes_and_optionally_slashes() {
        assert_eq!(uri_encode("A-z_0.9~", false), "A-z_0.9~");
        assert_eq!(uri_encode("a b+c=&?#%", false), "a%20b%2Bc%3D%26%3F%23%25");
        assert_eq!(uri_encode("files/7/9", true), "files/7/9");
        assert_eq!(uri_encode("files/7/9", false), "files%2F7%2F9");
        assert_eq!(uri_encode("é", true), "%C3%A9");
    }

    #[test]
    fn header_values_are_trimmed_and_their_inner_spaces_collapsed() {
        let (block, signed) =
            canonical_headers(&[("X-B", "  two   words  "), ("x-a", "1"), ("X-A", "2")]);
        assert_eq!(block, "x-a:1,2\nx-b:two words\n");
        assert_eq!(signed, "x-a;x-b");
    }
}
