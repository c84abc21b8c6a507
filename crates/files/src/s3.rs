//! Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph RGW,
//! Garage, R2, ...), for a cluster whose nodes share their files.
//!
//! Why it is built the way it is:
//!
//! - Plain HTTP through `reqwest` and our own SigV4 signing ([`sigv4`]),
//!   not an SDK: we need four requests, and the SDK's dependency tree is
//!   larger than the rest of Hearth's.
//! - Path-style addressing (`{endpoint}/{bucket}/{key}`): every
//!   S3-compatible server supports it, it needs no wildcard DNS or
//!   certificate for `bucket.host`, and AWS still serves it.
//! - One PUT per file, streamed from the spool file with its length known
//!   in advance and an unsigned payload: nothing is read twice or held in
//!   memory. Uploads are at most about 100 MB (the spool's limit, set by
//!   the caller), far below the 5 GB a single PUT may carry, so multipart
//!   upload (and the clean-up of abandoned parts it brings) is not needed.
//! - Errors carry the HTTP status and S3's error `<Code>` only: enough to
//!   tell a wrong key from a missing bucket in a log line, and never the
//!   request, its signature or the secret.
//!
//! [`sigv4`]: crate::sigv4

use std::fmt;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    HOST, RANGE,
};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode, Url};
use time::OffsetDateTime;

use crate::sigv4::{self, Signer, EMPTY_SHA256, UNSIGNED_PAYLOAD};
use crate::{Blob, BlobError, BlobKey, BlobStore, ByteRange};

/// Establishing a connection; a store that does not answer in this time is
/// down, and the caller should hear so rather than wait.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole upload of up to ~100 MB, for a slow link between a node and a
/// distant store.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// A request without a large body (delete, the bucket check), end to end;
/// and, for a download, the wait for the headers and for each read after
/// them. A download as a whole is not bounded: it goes at the pace of the
/// client receiving it, which may be slow but is not stalled.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of an error response is read for its `<Code>`; S3's error
/// documents are a few hundred bytes, and a broken proxy's page may not be.
const ERROR_BODY_LIMIT: usize = 8 * 1024;
/// Buffer size when streaming a spool file up: fewer, larger writes.
const UPLOAD_CHUNK: usize = 64 * 1024;

/// Where the blobs go. Usually read from `hearth`'s configuration.
#[derive(Clone)]
pub struct S3Config {
    /// Scheme, host and optional port, no path: `http://127.0.0.1:9000`,
    /// `https://s3.eu-west-1.amazonaws.com`.
    pub endpoint: String,
    pub bucket: String,
    /// The region the requests are signed for (`us-east-1` for most
    /// S3-compatible servers that do not care).
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    /// Prepended to every key inside the bucket (say `hearth/`), so one
    /// bucket can hold other things; may be empty.
    pub prefix: String,
}

/// Never prints the secret, so a configuration may be logged.
impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Installs aws-lc-rs as the process's rustls crypto provider, unless one
/// is installed already (which is as good).
///
/// reqwest is built with rustls but without choosing a provider, to reuse
/// the aws-lc-rs that the rest of Hearth already builds rather than bring
/// in ring; then every `reqwest::Client` built in the process, ours or not,
/// panics ("No provider set") unless one is installed first. Cargo unifies
/// features, so that holds for any binary or test that links this crate:
/// call this at its start. [`S3Blobs::new`] calls it.
pub fn install_tls_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

pub struct S3Blobs {
    config: S3Config,
    /// `scheme://host[:port]`, what every request URL starts with.
    origin: String,
    /// The `Host` header: sent explicitly, because it is signed and must be
    /// exactly what we signed.
    host: String,
    /// For uploads: bounded per request ([`UPLOAD_TIMEOUT`]) rather than
    /// per read, since reqwest's read timeout runs from the start of the
    /// request and would cut a long upload short.
    uploads: Client,
    /// For everything else, with a read timeout that a stalled download
    /// trips but a slow one does not.
    requests: Client,
}

impl S3Blobs {
    pub fn new(config: S3Config) -> Result<S3Blobs, BlobError> {
        let (origin, host) = parse_endpoint(&config.endpoint)?;
        check_config(&config)?;
        install_tls_provider();
        let builder = || {
            Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                // A redirect would be to another host, for which the
                // signature is wrong; S3's answer to a wrong region or
                // endpoint is an error to report, not to follow.
                .redirect(reqwest::redirect::Policy::none())
        };
        let uploads = builder().build().map_err(|e| client_error(&e))?;
        let requests = builder()
            .read_timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| client_error(&e))?;
        Ok(S3Blobs {
            config,
            origin,
            host,
            uploads,
            requests,
        })
    }

    /// Makes sure the bucket exists, creating it if it does not: for tests
    /// and for a node configured to set up its own store. Succeeds when it
    /// exists already, even when created concurrently by another node.
    pub async fn ensure_bucket(&self) -> Result<(), BlobError> {
        let path = format!("/{}", self.config.bucket);
        let response = self
            .signed(&self.requests, Method::HEAD, &path, &[], EMPTY_SHA256)?
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| request_error("HEAD bucket", &e))?;
        match response.status() {
            s if s.is_success() => return Ok(()),
            StatusCode::NOT_FOUND => {}
            // A HEAD response has no body, hence no `<Code>` to give.
            _ => return Err(remote_error("HEAD bucket", response).await),
        }
        // us-east-1 is the default location and must not be named; any
        // other region must be, or AWS refuses the request.
        let body = if self.config.region == "us-east-1" {
            String::new()
        } else {
            format!(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <LocationConstraint>{}</LocationConstraint>\
                 </CreateBucketConfiguration>",
                self.config.region
            )
        };
        let payload_hash = sigv4::sha256_hex(body.as_bytes());
        let response = self
            .signed(&self.requests, Method::PUT, &path, &[], &payload_hash)?
            .header(CONTENT_LENGTH, body.len())
            .body(body)
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| request_error("create bucket", &e))?;
        if response.status().is_success() {
            return Ok(());
        }
        let status = response.status();
        let code = error_code(&read_bounded(response).await);
        if status == StatusCode::CONFLICT && code.as_deref() == Some("BucketAlreadyOwnedByYou") {
            return Ok(());
        }
        Err(remote("create bucket", status, code))
    }

    /// The request path of an object: bucket, then prefix and key, encoded
    /// the way S3 signs them.
    fn object_path(&self, key: &BlobKey) -> String {
        let object = format!("{}{}", self.config.prefix, key.as_str());
        format!(
            "/{}/{}",
            self.config.bucket,
            sigv4::uri_encode(&object, true)
        )
    }

    /// A request with its signed headers and `Authorization` set: `path` is
    /// already encoded, and `extra` names the headers to sign besides
    /// `host` and the two `x-amz-` ones. The caller adds the body, any
    /// unsigned header and the timeout.
    fn signed(
        &self,
        client: &Client,
        method: Method,
        path: &str,
        extra: &[(HeaderName, &str)],
        payload_hash: &str,
    ) -> Result<RequestBuilder, BlobError> {
        let url = Url::parse(&format!("{}{path}", self.origin))
            .map_err(|e| BlobError::Remote(format!("bad object URL: {e}")))?;
        // The URL parser normalises some paths (`.` and `..` segments,
        // which the configuration refuses); had it changed ours, the
        // signature would not match what is sent.
        if url.path() != path {
            return Err(BlobError::Remote(format!(
                "object path {path:?} does not survive URL parsing"
            )));
        }
        let now = OffsetDateTime::now_utc();
        let date = sigv4::amz_date(now);
        let mut to_sign: Vec<(&str, &str)> = vec![
            (HOST.as_str(), &self.host),
            ("x-amz-content-sha256", payload_hash),
            ("x-amz-date", &date),
        ];
        to_sign.extend(extra.iter().map(|(name, value)| (name.as_str(), *value)));
        let authorization = Signer {
            access_key: &self.config.access_key,
            secret_key: &self.config.secret_key,
            region: &self.config.region,
            service: "s3",
        }
        .authorization(
            &sigv4::Request {
                method: method.as_str(),
                path,
                query: url.query().unwrap_or(""),
                headers: &to_sign,
                payload_hash,
            },
            now,
        );
        let mut headers = HeaderMap::new();
        for (name, value) in to_sign {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| BlobError::Remote(format!("bad header name {name:?}")))?;
            headers.insert(name, header_value(value)?);
        }
        headers.insert(AUTHORIZATION, header_value(&authorization)?);
        Ok(client.request(method, url).headers(headers))
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put_file(
        &self,
        key: &BlobKey,
        source: &Path,
        len: u64,
        content_type: &str,
    ) -> Result<(), BlobError> {
        let file = tokio::fs::File::open(source).await?;
        // The length is sent before the body: a spool file that is not the
        // length its caller says would fail half-way, after the upload.
        let actual = file.metadata().await?.len();
        if actual != len {
            return Err(BlobError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the file to store is {actual} bytes, not {len}"),
            )));
        }
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
            file,
            UPLOAD_CHUNK,
        ));
        let path = self.object_path(key);
        // The payload is not hashed (that would read the file twice): the
        // signature still covers the key, type and date, and TLS the bytes.
        // An explicit Content-Length keeps the body from being sent
        // chunked, which S3 refuses on a plain PUT.
        let response = self
            .signed(
                &self.uploads,
                Method::PUT,
                &path,
                &[(CONTENT_TYPE, content_type)],
                UNSIGNED_PAYLOAD,
            )?
            .header(CONTENT_LENGTH, len)
            .body(body)
            .timeout(UPLOAD_TIMEOUT)
            .send()
            .await
            .map_err(|e| request_error(&format!("PUT {key}"), &e))?;
        if !response.status().is_success() {
            return Err(remote_error(&format!("PUT {key}"), response).await);
        }
        Ok(())
    }

    async fn get(
        &self,
        key: &BlobKey,
        range: Option<ByteRange>,
    ) -> Result<Option<Blob>, BlobError> {
        // S3 ignores a malformed range and sends the whole object; refuse
        // it here, as the local store does.
        if range.is_some_and(|r| r.first > r.last) {
            return Err(BlobError::BadRange);
        }
        let range_header = range.map(|r| format!("bytes={}-{}", r.first, r.last));
        let extra: Vec<(HeaderName, &str)> = range_header
            .iter()
            .map(|value| (RANGE, value.as_str()))
            .collect();
        let path = self.object_path(key);
        let op = format!("GET {key}");
        // Bounded until the headers by the client's read timeout; the body
        // is then bounded per read, not as a whole (see REQUEST_TIMEOUT).
        let response = self
            .signed(&self.requests, Method::GET, &path, &extra, EMPTY_SHA256)?
            .send()
            .await
            .map_err(|e| request_error(&op, &e))?;
        let status = response.status();
        let total_len = match (status, range) {
            (StatusCode::OK, None) => content_length(&response, &op)?,
            (StatusCode::PARTIAL_CONTENT, Some(asked)) => {
                let (served, total) = content_range(&response, &op)?;
                // S3 serves a range that runs past the end as far as the
                // end; the local store refuses it, and so do we, so that
                // callers see one behaviour whatever the store.
                if served != asked {
                    return Err(BlobError::BadRange);
                }
                total
            }
            (StatusCode::OK, Some(_)) => {
                return Err(BlobError::Remote(format!(
                    "{op}: the store ignored the Range header"
                )))
            }
            (StatusCode::NOT_FOUND, _) => {
                // NoSuchKey is an absent blob; NoSuchBucket is a broken
                // configuration, which must not look like one. Some
                // servers give no body at all: absent too.
                let code = error_code(&read_bounded(response).await);
                return match code.as_deref() {
                    None | Some("NoSuchKey") => Ok(None),
                    _ => Err(remote(&op, status, code)),
                };
            }
            (StatusCode::RANGE_NOT_SATISFIABLE, _) => return Err(BlobError::BadRange),
            _ => return Err(remote_error(&op, response).await),
        };
        let body = response
            .bytes_stream()
            .map(|chunk| chunk.map_err(io_error))
            .boxed();
        Ok(Some(Blob { total_len, body }))
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        let path = self.object_path(key);
        let op = format!("DELETE {key}");
        let response = self
            .signed(&self.requests, Method::DELETE, &path, &[], EMPTY_SHA256)?
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| request_error(&op, &e))?;
        let status = response.status();
        if status.is_success() {
            // 204 whether or not there was an object: deletes are
            // idempotent in S3 as in our trait.
            return Ok(());
        }
        let code = error_code(&read_bounded(response).await);
        // Some S3-compatible servers answer a missing key with 404.
        if status == StatusCode::NOT_FOUND && code.as_deref() == Some("NoSuchKey") {
            return Ok(());
        }
        Err(remote(&op, status, code))
    }

    fn describe(&self) -> String {
        if self.config.prefix.is_empty() {
            format!("s3 {}/{}", self.origin, self.config.bucket)
        } else {
            format!(
                "s3 {}/{}/{}",
                self.origin, self.config.bucket, self.config.prefix
            )
        }
    }
}

/// The request origin and `Host` header of an endpoint, which must be a
/// bare `http(s)://host[:port]`: anything else there would have to be
/// signed too, and is more likely a mistake than a need.
fn parse_endpoint(endpoint: &str) -> Result<(String, String), BlobError> {
    let url =
        Url::parse(endpoint).map_err(|e| config_error(format!("S3 endpoint {endpoint:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(config_error(format!(
            "S3 endpoint {endpoint:?}: the scheme must be http or https"
        )));
    }
    let Some(host) = url.host_str() else {
        return Err(config_error(format!(
            "S3 endpoint {endpoint:?} has no host"
        )));
    };
    if url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(config_error(format!(
            "S3 endpoint {endpoint:?}: give only scheme, host and port \
             (the bucket and prefix are separate settings)"
        )));
    }
    // As HTTP clients write it: the port only when it is not the scheme's
    // default (`Url::port` is None then).
    let host = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    Ok((format!("{}://{host}", url.scheme()), host))
}

fn check_config(config: &S3Config) -> Result<(), BlobError> {
    // The bucket goes into the path as it is, so it must need no encoding
    // (S3's own rules are stricter; older buckets and other servers may
    // allow upper case and '_').
    let bucket_ok = !config.bucket.is_empty()
        && config.bucket != "."
        && config.bucket != ".."
        && config
            .bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if !bucket_ok {
        return Err(config_error(format!(
            "S3 bucket {:?}: use letters, digits, '.', '-' and '_' only",
            config.bucket
        )));
    }
    let region_ok = !config.region.is_empty()
        && config
            .region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !region_ok {
        return Err(config_error(format!("S3 region {:?}", config.region)));
    }
    if config.access_key.is_empty() || config.secret_key.is_empty() {
        return Err(config_error(
            "S3 access key and secret key must both be set".into(),
        ));
    }
    // `.` and `..` segments would be folded away by URL parsing (and by
    // S3's own), so the object would not be where it was signed for; a
    // leading '/' makes an empty first segment, surely a mistake.
    let prefix = &config.prefix;
    if prefix.starts_with('/') || prefix.split('/').any(|s| s == "." || s == "..") {
        return Err(config_error(format!(
            "S3 prefix {prefix:?}: no leading '/', no '.' or '..' segments"
        )));
    }
    Ok(())
}

/// A configuration mistake. `BlobError` has no variant of its own for it;
/// `Remote` is where a store's failures go, and its message says which.
fn config_error(message: String) -> BlobError {
    BlobError::Remote(format!("invalid configuration: {message}"))
}

fn client_error(e: &reqwest::Error) -> BlobError {
    BlobError::Remote(format!("cannot build the HTTP client: {}", error_chain(e)))
}

fn header_value(value: &str) -> Result<HeaderValue, BlobError> {
    HeaderValue::from_str(value)
        .map_err(|_| BlobError::Remote(format!("not a valid header value: {value:?}")))
}

/// A request that got no response: the store is unreachable, timed out,
/// or the connection broke.
fn request_error(op: &str, e: &reqwest::Error) -> BlobError {
    BlobError::Remote(format!("{op}: {}", error_chain(e)))
}

/// reqwest's own message is only the outer layer ("error sending
/// request"); the cause (refused, timed out, certificate) is below it.
fn error_chain(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn io_error(e: reqwest::Error) -> std::io::Error {
    let kind = if e.is_timeout() {
        std::io::ErrorKind::TimedOut
    } else {
        std::io::ErrorKind::Other
    };
    std::io::Error::new(kind, error_chain(&e))
}

/// The error for a response that is not a success, read from its body.
async fn remote_error(op: &str, response: Response) -> BlobError {
    let status = response.status();
    let code = error_code(&read_bounded(response).await);
    remote(op, status, code)
}

fn remote(op: &str, status: StatusCode, code: Option<String>) -> BlobError {
    match code {
        Some(code) => BlobError::Remote(format!("{op}: HTTP {status}: {code}")),
        None => BlobError::Remote(format!("{op}: HTTP {status}")),
    }
}

/// At most [`ERROR_BODY_LIMIT`] bytes of a body; a body that breaks off is
/// what it was up to then, since it only serves an error message.
async fn read_bounded(mut response: Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(ERROR_BODY_LIMIT);
    body
}

/// S3's error code, from `<Error><Code>NoSuchKey</Code>...`: a plain scan,
/// which is all a one-element lookup needs. Only a plausible code is kept,
/// so whatever else a server or proxy sends never reaches a log.
fn error_code(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let start = text.find("<Code>")? + "<Code>".len();
    let end = start + text[start..].find("</Code>")?;
    let code = &text[start..end];
    let plausible = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    plausible.then(|| code.to_owned())
}

fn content_length(response: &Response, op: &str) -> Result<u64, BlobError> {
    response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| BlobError::Remote(format!("{op}: no valid Content-Length")))
}

/// The range served and the whole length, from `Content-Range: bytes
/// FIRST-LAST/TOTAL`.
fn content_range(response: &Response, op: &str) -> Result<(ByteRange, u64), BlobError> {
    response
        .headers()
        .get(CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_content_range)
        .ok_or_else(|| BlobError::Remote(format!("{op}: no valid Content-Range")))
}

fn parse_content_range(value: &str) -> Option<(ByteRange, u64)> {
    let (range, total) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let range = ByteRange {
        first: first.trim().parse().ok()?,
        last: last.trim().parse().ok()?,
    };
    let total: u64 = total.trim().parse().ok()?;
    (range.first <= range.last && range.last < total).then_some((range, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> S3Config {
        S3Config {
            endpoint: "http://127.0.0.1:9000".into(),
            bucket: "hearth".into(),
            region: "us-east-1".into(),
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            prefix: String::new(),
        }
    }

    #[test]
    fn endpoints_give_an_origin_and_the_host_header_as_clients_send_it() {
        let parse = |e: &str| parse_endpoint(e).ok();
        assert_eq!(
            parse("http://127.0.0.1:9000"),
            Some(("http://127.0.0.1:9000".into(), "127.0.0.1:9000".into()))
        );
        assert_eq!(
            parse("https://s3.eu-west-1.amazonaws.com/"),
            Some((
                "https://s3.eu-west-1.amazonaws.com".into(),
                "s3.eu-west-1.amazonaws.com".into()
            ))
        );
        // The default port is not written, as hyper leaves it out of Host.
        assert_eq!(
            parse("https://minio.example:443"),
            Some(("https://minio.example".into(), "minio.example".into()))
        );
        assert_eq!(
            parse("http://[::1]:9000"),
            Some(("http://[::1]:9000".into(), "[::1]:9000".into()))
        );
        assert_eq!(parse("http://host/bucket"), None);
        assert_eq!(parse("ftp://host"), None);
        assert_eq!(parse("http://user:pw@host"), None);
        assert_eq!(parse("host:9000"), None);
    }

    #[test]
    fn keys_are_encoded_under_the_bucket_and_prefix() {
        let mut c = config();
        c.prefix = "hearth files/".into();
        let blobs = S3Blobs::new(c).expect("a valid configuration");
        assert_eq!(
            blobs.object_path(&BlobKey::attachment(7, 9)),
            "/hearth/hearth%20files/7/9"
        );
        assert_eq!(
            blobs.describe(),
            "s3 http://127.0.0.1:9000/hearth/hearth files/"
        );
        let blobs = S3Blobs::new(config()).expect("a valid configuration");
        assert_eq!(blobs.object_path(&BlobKey::attachment(7, 9)), "/hearth/7/9");
        assert_eq!(blobs.describe(), "s3 http://127.0.0.1:9000/hearth");
    }

    #[test]
    fn bad_configurations_are_refused_up_front() {
        for change in [
            (|c: &mut S3Config| c.bucket = "a/b".into()) as fn(&mut S3Config),
            |c| c.bucket = String::new(),
            |c| c.region = "us east".into(),
            |c| c.secret_key = String::new(),
            |c| c.prefix = "/files/".into(),
            |c| c.prefix = "a/../b/".into(),
            |c| c.endpoint = "http://127.0.0.1:9000/bucket".into(),
        ] {
            let mut c = config();
            change(&mut c);
            assert!(
                matches!(S3Blobs::new(c.clone()), Err(BlobError::Remote(_))),
                "{c:?} was accepted"
            );
        }
    }

    #[test]
    fn the_secret_is_never_printed() {
        let c = config();
        assert!(!format!("{c:?}").contains(&c.secret_key));
        let blobs = S3Blobs::new(c.clone()).expect("a valid configuration");
        assert!(!blobs.describe().contains(&c.secret_key));
    }

    #[test]
    fn error_codes_are_read_from_s3_error_documents_only_when_plausible() {
        let doc = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
            <Message>The specified key does not exist.</Message></Error>";
        assert_eq!(error_code(doc).as_deref(), Some("NoSuchKey"));
        assert_eq!(error_code(b"<html>502 Bad Gateway</html>"), None);
        assert_eq!(error_code(b"<Code><script>x</script></Code>"), None);
        assert_eq!(error_code(b"<Code>Unterminated"), None);
        assert_eq!(error_code(b""), None);
    }

    #[test]
    fn content_ranges_are_parsed_strictly() {
        assert_eq!(
            parse_content_range("bytes 0-9/100"),
            Some((ByteRange { first: 0, last: 9 }, 100))
        );
        assert_eq!(parse_content_range("bytes 0-9/*"), None);
        assert_eq!(parse_content_range("bytes */100"), None);
        assert_eq!(parse_content_range("bytes 9-0/100"), None);
        assert_eq!(parse_content_range("bytes 0-100/100"), None);
        assert_eq!(parse_content_range("items 0-9/100"), None);
    }
}
