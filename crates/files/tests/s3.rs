//! `S3Blobs` against a real S3-compatible server: moto in server mode, from
//! PyPI (scripts/test.sh installs it and names it in `HEARTH_TEST_MOTO`).
//! MinIO is not installable here and `s3s-fs` would be a long build; moto
//! is a quick pip install and speaks the S3 REST protocol, errors included.
//!
//! Moto does not check signatures unless asked: each test server is set up
//! with an IAM user first, then switched (`/moto-api/reset-auth`) to
//! authenticate every request, so our SigV4 signing is verified by botocore's
//! own code there, and a wrong secret is shown to be refused. The published
//! AWS vectors are checked in `src/sigv4.rs` as well.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hearth_files::s3::{S3Blobs, S3Config};
use hearth_files::{Blob, BlobError, BlobKey, BlobStore, ByteRange};

/// Moto answers within a few seconds of starting; give it 15.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A moto server on a free port, killed when dropped (a failing test
/// included).
struct Moto {
    child: Child,
    port: u16,
    /// Where its log goes: shown when it does not come up.
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    async fn start() -> Moto {
        // Our own reqwest clients below are built before any `S3Blobs`.
        hearth_files::s3::install_tls_provider();
        let program = std::env::var("HEARTH_TEST_MOTO").unwrap_or_else(|_| {
            panic!(
                "HEARTH_TEST_MOTO is not set: it names moto_server, which the S3 tests \
                 run against; scripts/test.sh installs moto and sets it"
            )
        });
        let port = free_port();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = dir.path().join("moto.log");
        let log_file = std::fs::File::create(&log).expect("moto's log file");
        let stderr = log_file.try_clone().expect("moto's log file");
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} (from HEARTH_TEST_MOTO): {e}"));
        let mut moto = Moto {
            child,
            port,
            log,
            _dir: dir,
        };
        moto.wait_until_ready().await;
        moto
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            // Any HTTP answer will do: the server is up.
            let probe = client
                .get(format!("{}/moto-api/", self.endpoint()))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if probe.is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "moto_server exited ({status}) before answering:\n{}",
                    self.log_text()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "moto_server did not answer on port {} within {START_TIMEOUT:?}:\n{}",
                    self.port,
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// Makes an IAM user allowed everything on S3, returns its key pair,
    /// then has moto check the signature (and permissions) of every request
    /// from now on. The IAM calls themselves go before that switch, so they
    /// need no real signature: only a credential scope naming `iam`, from
    /// which moto's server tells which service is addressed.
    async fn with_signature_checks(&self) -> (String, String) {
        let client = reqwest::Client::new();
        let iam = |params: &[(&str, &str)]| {
            let mut form: Vec<(&str, &str)> = vec![("Version", "2010-05-08")];
            form.extend_from_slice(params);
            client
                .post(format!("{}/", self.endpoint()))
                .header(
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=setup/20240101/us-east-1/iam/aws4_request, \
                     SignedHeaders=host, Signature=none",
                )
                .form(&form)
                .send()
        };
        let check = |what: &str, response: reqwest::Response| {
            assert!(
                response.status().is_success(),
                "IAM {what} on moto: {}",
                response.status()
            );
            response
        };
        let r = iam(&[("Action", "CreateUser"), ("UserName", "hearth")])
            .await
            .expect("IAM CreateUser");
        check("CreateUser", r);
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let r = iam(&[
            ("Action", "PutUserPolicy"),
            ("UserName", "hearth"),
            ("PolicyName", "s3"),
            ("PolicyDocument", policy),
        ])
        .await
        .expect("IAM PutUserPolicy");
        check("PutUserPolicy", r);
        let r = iam(&[("Action", "CreateAccessKey"), ("UserName", "hearth")])
            .await
            .expect("IAM CreateAccessKey");
        let xml = check("CreateAccessKey", r)
            .text()
            .await
            .expect("IAM answer");
        let access_key = between(&xml, "<AccessKeyId>", "</AccessKeyId>");
        let secret_key = between(&xml, "<SecretAccessKey>", "</SecretAccessKey>");
        let r = client
            .post(format!("{}/moto-api/reset-auth", self.endpoint()))
            .body("0")
            .send()
            .await
            .expect("moto reset-auth");
        assert!(r.status().is_success(), "moto reset-auth: {}", r.status());
        (access_key, secret_key)
    }

    fn blobs(&self, bucket: &str, keys: &(String, String), prefix: &str) -> S3Blobs {
        self.blobs_in(bucket, "us-east-1", keys, prefix)
    }

    fn blobs_in(
        &self,
        bucket: &str,
        region: &str,
        (access_key, secret_key): &(String, String),
        prefix: &str,
    ) -> S3Blobs {
        S3Blobs::new(S3Config {
            endpoint: self.endpoint(),
            bucket: bucket.into(),
            region: region.into(),
            access_key: access_key.clone(),
            secret_key: secret_key.clone(),
            prefix: prefix.into(),
        })
        .expect("a valid S3 configuration")
    }
}

fn free_port() -> u16 {
    // Bound and released at once: another process could take it before
    // moto does, which only makes this test fail, loudly.
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn between(text: &str, open: &str, close: &str) -> String {
    let start = text
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in {text}"))
        + open.len();
    let end = start + text[start..].find(close).expect("closing tag");
    text[start..end].to_owned()
}

/// Writes `data` to a new file in `dir`, as a finished spool file would be.
fn write_file(dir: &tempfile::TempDir, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, data).expect("writing a test file");
    path
}

/// Bytes that differ from one offset to the next, so a range read from the
/// wrong place shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 16) as u8)
        .collect()
}

async fn read_all(blob: Blob) -> Vec<u8> {
    let mut out = Vec::new();
    let mut body = blob.body;
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.expect("a body chunk"));
    }
    out
}

async fn put(blobs: &S3Blobs, key: &BlobKey, source: &Path, len: usize) {
    blobs
        .put_file(key, source, len as u64, "application/octet-stream")
        .await
        .unwrap_or_else(|e| panic!("put {key} on {}: {e}", blobs.describe()));
}

#[tokio::test]
async fn blobs_go_to_s3_and_come_back_whole_and_by_range() {
    let moto = Moto::start().await;
    let keys = moto.with_signature_checks().await;
    // A prefix that needs encoding, so the signed path is not trivial.
    let blobs = moto.blobs("hearth-files", &keys, "node files/");
    assert_eq!(
        blobs.describe(),
        format!("s3 {}/hearth-files/node files/", moto.endpoint())
    );
    blobs.ensure_bucket().await.expect("creating the bucket");
    blobs
        .ensure_bucket()
        .await
        .expect("the bucket exists already");

    let dir = tempfile::tempdir().expect("a temporary directory");
    const LEN: usize = 3 * 1024 * 1024;
    let data = pattern(LEN);
    let source = write_file(&dir, "upload", &data);
    let key = BlobKey::attachment(41, 42);
    put(&blobs, &key, &source, LEN).await;
    assert!(source.exists(), "the source is the caller's to remove");

    let whole = blobs.get(&key, None).await.expect("get").expect("the blob");
    assert_eq!(whole.total_len, LEN as u64);
    let read = read_all(whole).await;
    assert!(
        read == data,
        "the blob read back differs ({} bytes)",
        read.len()
    );

    let range = ByteRange {
        first: 1_000_000,
        last: 1_065_535,
    };
    let part = blobs
        .get(&key, Some(range))
        .await
        .expect("get a range")
        .expect("the blob");
    assert_eq!(
        part.total_len, LEN as u64,
        "the whole length, not the range's"
    );
    assert_eq!(read_all(part).await, &data[1_000_000..=1_065_535]);
    let last_byte = ByteRange {
        first: LEN as u64 - 1,
        last: LEN as u64 - 1,
    };
    let tail = blobs
        .get(&key, Some(last_byte))
        .await
        .expect("get the last byte")
        .expect("the blob");
    assert_eq!(read_all(tail).await, &data[LEN - 1..]);

    // Past the end: wholly (S3 says 416) and partly (S3 serves up to the
    // end; refused all the same, as the local store does).
    for bad in [
        ByteRange {
            first: LEN as u64,
            last: LEN as u64 + 10,
        },
        ByteRange {
            first: LEN as u64 - 10,
            last: LEN as u64,
        },
        ByteRange { first: 10, last: 9 },
    ] {
        assert!(
            matches!(blobs.get(&key, Some(bad)).await, Err(BlobError::BadRange)),
            "{bad:?} was not refused"
        );
    }

    let missing = BlobKey::attachment(41, 43);
    assert!(blobs.get(&missing, None).await.expect("get").is_none());
    assert!(blobs
        .get(&missing, Some(ByteRange { first: 0, last: 9 }))
        .await
        .expect("get a range of nothing")
        .is_none());

    // An empty file is a blob too.
    let empty = write_file(&dir, "empty", b"");
    let empty_key = BlobKey::attachment(41, 44);
    put(&blobs, &empty_key, &empty, 0).await;
    let blob = blobs
        .get(&empty_key, None)
        .await
        .expect("get an empty blob")
        .expect("the blob");
    assert_eq!(blob.total_len, 0);
    assert!(read_all(blob).await.is_empty());

    // A caller wrong about the length is refused before anything is sent.
    assert!(matches!(
        blobs
            .put_file(&empty_key, &source, 5, "application/octet-stream")
            .await,
        Err(BlobError::Io(_))
    ));

    blobs.delete(&key).await.expect("delete");
    assert!(blobs.get(&key, None).await.expect("get").is_none());
    blobs.delete(&key).await.expect("deleting what is gone");
    blobs
        .delete(&missing)
        .await
        .expect("deleting what never was");
}

#[tokio::test]
async fn moto_checks_our_signatures_and_a_wrong_store_is_an_error_not_a_miss() {
    let moto = Moto::start().await;
    let keys = moto.with_signature_checks().await;
    let blobs = moto.blobs("signed", &keys, "");
    blobs.ensure_bucket().await.expect("creating the bucket");
    let key = BlobKey::attachment(1, 2);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let source = write_file(&dir, "upload", b"hello");
    put(&blobs, &key, &source, 5).await;

    // The right key id with the wrong secret: the signature is refused,
    // which shows that moto does check what we sign.
    let forged = moto.blobs("signed", &(keys.0.clone(), "not-the-secret".into()), "");
    let err = match forged.get(&key, None).await {
        Err(BlobError::Remote(message)) => message,
        other => panic!(
            "a wrong secret was not refused: {:?}",
            other.map(|b| b.is_some())
        ),
    };
    assert!(
        err.contains("403") && err.contains("SignatureDoesNotMatch"),
        "{err}"
    );
    assert!(!err.contains("not-the-secret"), "the secret leaked: {err}");
    let err = forged
        .put_file(&key, &source, 5, "text/plain")
        .await
        .expect_err("a forged upload");
    assert!(err.to_string().contains("SignatureDoesNotMatch"), "{err}");
    // An unknown key id.
    let stranger = moto.blobs("signed", &("AKIAUNKNOWN0000000000".into(), "x".into()), "");
    let err = stranger.delete(&key).await.expect_err("an unknown key id");
    assert!(err.to_string().contains("InvalidAccessKeyId"), "{err}");
    // The object is untouched by all that.
    let blob = blobs.get(&key, None).await.expect("get").expect("the blob");
    assert_eq!(read_all(blob).await, b"hello");

    // A missing bucket is a broken configuration, not a missing blob.
    let nowhere = moto.blobs("no-such-bucket", &keys, "");
    let err = match nowhere.get(&key, None).await {
        Err(e) => e.to_string(),
        Ok(found) => panic!("a missing bucket read as {:?}", found.is_some()),
    };
    assert!(err.contains("NoSuchBucket"), "{err}");

    // Outside us-east-1 the bucket is created with its location.
    let europe = moto.blobs_in("in-europe", "eu-west-1", &keys, "");
    europe
        .ensure_bucket()
        .await
        .expect("creating a bucket in eu-west-1");
    put(&europe, &key, &source, 5).await;
    let blob = europe
        .get(&key, None)
        .await
        .expect("get")
        .expect("the blob");
    assert_eq!(read_all(blob).await, b"hello");

    // Nothing listens there: an error naming the request, soon.
    let closed = S3Blobs::new(S3Config {
        endpoint: format!("http://127.0.0.1:{}", free_port()),
        bucket: "b".into(),
        region: "us-east-1".into(),
        access_key: keys.0.clone(),
        secret_key: keys.1.clone(),
        prefix: String::new(),
    })
    .expect("a valid configuration");
    let err = closed.get(&key, None).await.err().expect("no server");
    assert!(err.to_string().contains("GET 1/2"), "{err}");
}
