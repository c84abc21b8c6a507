//! The web client's files as a browser gets them from a real node: gzipped
//! when it asks for that, and not sent again while it holds the current
//! copy (an ETag answered with 304), yet revalidated on every load so a new
//! binary never runs an old client.

use std::io::Read;

use reqwest::header;

use crate::harness::Server;

#[tokio::test]
async fn the_client_is_sent_compressed_once_and_revalidated_after() {
    let server = Server::start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/js/main.js", server.base_url());

    let plain = http.get(&url).send().await.expect("GET main.js");
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    let plain_tag = plain.headers()[header::ETAG].clone();
    let source = plain.bytes().await.expect("body");
    assert!(std::str::from_utf8(&source).is_ok_and(|s| s.contains("import")));

    let packed = http
        .get(&url)
        .header(header::ACCEPT_ENCODING, "gzip, deflate, br")
        .send()
        .await
        .expect("GET main.js gzipped");
    assert_eq!(packed.status(), 200);
    assert_eq!(packed.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(packed.headers()[header::VARY], "accept-encoding");
    assert_eq!(packed.headers()[header::CACHE_CONTROL], "no-cache");
    let packed_tag = packed.headers()[header::ETAG].clone();
    assert_ne!(packed_tag, plain_tag, "each representation has its own tag");
    let body = packed.bytes().await.expect("body");
    assert!(
        body.len() * 2 < source.len(),
        "{} of {}",
        body.len(),
        source.len()
    );
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut unpacked)
        .expect("valid gzip");
    assert_eq!(unpacked, source, "the same file either way");

    // A reload with the copy in the cache: nothing but headers comes back.
    for tag in [&packed_tag, &plain_tag] {
        let again = http
            .get(&url)
            .header(header::ACCEPT_ENCODING, "gzip")
            .header(header::IF_NONE_MATCH, tag)
            .send()
            .await
            .expect("conditional GET");
        assert_eq!(again.status(), 304);
        assert_eq!(again.headers()[header::ETAG], packed_tag);
        assert!(again
            .headers()
            .contains_key(header::CONTENT_SECURITY_POLICY));
        assert!(again.bytes().await.expect("body").is_empty());
    }
    // A stale copy gets the file.
    let stale = http
        .get(&url)
        .header(header::IF_NONE_MATCH, "\"0000\"")
        .send()
        .await
        .expect("conditional GET");
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.bytes().await.expect("body"), source);

    // The page itself, at `/` and at an invite link, is the same file.
    let page = http
        .get(format!("{}/", server.base_url()))
        .send()
        .await
        .expect("GET /");
    let invite = http
        .get(format!("{}/invite/abc", server.base_url()))
        .send()
        .await
        .expect("GET /invite");
    assert_eq!(page.headers()[header::ETAG], invite.headers()[header::ETAG]);
    assert!(page.headers()[header::CONTENT_TYPE]
        .to_str()
        .is_ok_and(|t| t.starts_with("text/html")));
}
