//! Files on messages: multipart uploads as Discord's libraries send them,
//! the attachment objects, the signed links and what they serve, the
//! limits, and files going with their messages — on the node's own
//! directory and on a real S3-compatible server (moto).

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::gateway_client::{intents, login, EVENT_TIMEOUT, QUIET};
use crate::harness::{perm, str_field, Api, Resp, Server, User, World, PASSWORD};

const BOUNDARY: &str = "hearth-test-boundary-7MA4YWxkTrZu0gW";

/// A file part: its name as the client gives it, the bytes, the type the
/// client claims.
pub(crate) struct Part<'a> {
    filename: &'a str,
    bytes: Vec<u8>,
    claimed_type: &'a str,
}

pub(crate) fn part<'a>(filename: &'a str, bytes: Vec<u8>, claimed_type: &'a str) -> Part<'a> {
    Part {
        filename,
        bytes,
        claimed_type,
    }
}

/// A `multipart/form-data` body as discord.js builds one: `payload_json`
/// first, then `files[n]`.
pub(crate) fn form(payload: &Value, files: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    write!(
        body,
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n{payload}\r\n"
    )
    .unwrap();
    for (i, f) in files.iter().enumerate() {
        write!(
            body,
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files[{i}]\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            f.filename, f.claimed_type
        )
        .unwrap();
        body.extend_from_slice(&f.bytes);
        body.extend_from_slice(b"\r\n");
    }
    write!(body, "--{BOUNDARY}--\r\n").unwrap();
    body
}

/// The `Content-Type` of a body made by [`form`].
pub(crate) fn form_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

pub(crate) async fn upload(
    api: &Api,
    by: &User,
    path: &str,
    payload: Value,
    files: &[Part<'_>],
) -> Resp {
    upload_with(api, by, Method::POST, path, payload, files).await
}

async fn upload_with(
    api: &Api,
    by: &User,
    method: Method,
    path: &str,
    payload: Value,
    files: &[Part<'_>],
) -> Resp {
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    api.raw(
        method,
        path,
        by.auth(),
        Some(&content_type),
        form(&payload, files),
    )
    .await
}

/// A real PNG of one colour.
fn png(width: u32, height: u32) -> Vec<u8> {
    use flate2::write::ZlibEncoder;
    // Each row: filter byte 0, then RGB pixels.
    let row: Vec<u8> = std::iter::once(0)
        .chain((0..width).flat_map(|_| [200, 30, 30]))
        .collect();
    let raw = row.repeat(height as usize);
    let mut z = ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&raw).unwrap();
    let data = z.finish().unwrap();
    let chunk = |out: &mut Vec<u8>, kind: &[u8], body: &[u8]| {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(body);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &data);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// GETs an absolute link (no Authorization: links are their own proof).
async fn fetch(
    api: &Api,
    url: &str,
    range: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = api.http().get(url);
    if let Some(r) = range {
        req = req.header("range", r);
    }
    let resp = req.send().await.expect("fetching a file");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

/// Polls until the link stops serving (files are deleted just after their
/// message's delete is answered); bounded.
async fn until_gone(api: &Api, url: &str) {
    for _ in 0..100 {
        if fetch(api, url, None).await.0 == 404 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} still served after its message was deleted");
}

fn files_in(dir: &std::path::Path) -> usize {
    fn walk(dir: &std::path::Path, n: &mut usize) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, n);
            } else {
                *n += 1;
            }
        }
    }
    let mut n = 0;
    walk(dir, &mut n);
    n
}

#[tokio::test]
async fn an_uploaded_image_is_sniffed_measured_announced_and_served_by_its_signed_link() {
    let w = World::new().await;
    let api = &w.api;
    let mut owner_gw = login(
        api,
        &w.owner,
        intents::GUILDS | intents::GUILD_MESSAGES | intents::MESSAGE_CONTENT,
    )
    .await;
    let picture = png(320, 200);
    let html = b"<html><script>alert(document.cookie)</script></html>".to_vec();
    let posted = upload(
        api,
        &w.member,
        &format!("/channels/{}/messages", w.general),
        json!({"content": "look", "attachments": [
            {"id": 0, "description": "a red box"},
            {"id": 1, "filename": "notes.txt"}
        ]}),
        &[
            // The name and type lie; the bytes decide.
            part("../../etc/cat.gif", picture.clone(), "text/html"),
            part("page.png", html.clone(), "image/png"),
        ],
    )
    .await
    .expect(200);
    assert_eq!(posted["content"], "look");
    let files = posted["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    let image = &files[0];
    assert_eq!(
        image["filename"], "cat.gif",
        "a path sent as a name keeps its last part"
    );
    assert_eq!(image["content_type"], "image/png");
    assert_eq!(image["size"], picture.len());
    assert_eq!(image["width"], 320);
    assert_eq!(image["height"], 200);
    assert_eq!(image["description"], "a red box");
    let text = &files[1];
    assert_eq!(text["filename"], "notes.txt");
    assert_eq!(text["content_type"], "text/plain; charset=utf-8");
    assert!(text.get("width").is_none());

    // The other member's session sees the same files.
    let created = owner_gw
        .expect_dispatch_where("MESSAGE_CREATE", |d| d["id"] == posted["id"], EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(created["attachments"][0]["id"], image["id"]);
    assert_eq!(created["attachments"][0]["width"], 320);
    // And the history.
    let history = api
        .get(
            &format!("/channels/{}/messages?limit=1", w.general),
            w.owner.auth(),
        )
        .await
        .expect(200);
    assert_eq!(history[0]["attachments"][1]["id"], text["id"]);

    // The link serves the bytes, typed from them, as inline media.
    let url = str_field(image, "url");
    assert!(url.starts_with(w.server.base_url()), "{url}");
    assert!(url.contains("?ex=") && url.contains("&hm="), "{url}");
    let (status, headers, body) = fetch(api, &url, None).await;
    assert_eq!(status, 200);
    assert_eq!(body, picture);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("inline"));
    // A range, as a video player asks.
    let (status, headers, body) = fetch(api, &url, Some("bytes=8-15")).await;
    assert_eq!(status, 206);
    assert_eq!(body, picture[8..16]);
    assert_eq!(
        headers["content-range"].to_str().unwrap(),
        format!("bytes 8-15/{}", picture.len())
    );
    // A thumbnail that fits 64 x 64, proportions kept.
    let proxy = str_field(image, "proxy_url");
    let (status, headers, body) = fetch(api, &format!("{proxy}&width=64&height=64"), None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(&body[16..24], &[0, 0, 0, 64, 0, 0, 0, 40], "a 64 x 40 PNG");

    // HTML is served as plain text to download, never rendered.
    let (status, headers, body) = fetch(api, &str_field(text, "url"), None).await;
    assert_eq!(status, 200);
    assert_eq!(body, html);
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));

    // A forged signature, another file's signature, or none: nothing.
    let forged = url.replace("&hm=", "&hm=0");
    assert_eq!(fetch(api, &forged, None).await.0, 404);
    let (path, query) = url.split_once('?').unwrap();
    let other = str_field(text, "url");
    let other_query = other.split_once('?').unwrap().1;
    assert_eq!(
        fetch(api, &format!("{path}?{other_query}"), None).await.0,
        404
    );
    assert_eq!(fetch(api, path, None).await.0, 404);
    assert_eq!(fetch(api, &format!("{path}x?{query}"), None).await.0, 404);

    // Deleting the message deletes its files.
    let stored = w.server.data_dir().join("files");
    assert_eq!(files_in(&stored), 2);
    api.delete(
        &format!(
            "/channels/{}/messages/{}",
            w.general,
            str_field(&posted, "id")
        ),
        w.member.auth(),
    )
    .await
    .expect(204);
    until_gone(api, &url).await;
    until_gone(api, &str_field(text, "url")).await;
    assert_eq!(files_in(&stored), 0);
}

#[tokio::test]
async fn uploads_past_a_limit_are_refused_whole_and_leave_nothing_behind() {
    let server = Server::start_with(
        &[
            "--rate-limits",
            "off",
            "--max-upload-bytes",
            "100000",
            "--max-message-upload-bytes",
            "150000",
        ],
        &[],
    )
    .await;
    let w = World::on(server).await;
    let api = &w.api;
    let path = format!("/channels/{}/messages", w.general);

    // One file over the per-file limit: 413, Discord's 40005.
    upload(
        api,
        &w.member,
        &path,
        json!({"content": "big"}),
        &[part(
            "big.bin",
            vec![1; 100_001],
            "application/octet-stream",
        )],
    )
    .await
    .expect_error(413, 40005);
    // Each file under it, together over the message's.
    upload(
        api,
        &w.member,
        &path,
        json!({"content": "two"}),
        &[
            part("a.bin", vec![1; 90_000], "application/octet-stream"),
            part("b.bin", vec![2; 90_000], "application/octet-stream"),
        ],
    )
    .await
    .expect_error(413, 40005);
    // Eleven tiny files (a thousand would be refused at the same one).
    let many: Vec<Part> = (0..11)
        .map(|_| part("t.txt", b"hi".to_vec(), "text/plain"))
        .collect();
    let refused = upload(api, &w.member, &path, json!({"content": "many"}), &many).await;
    refused.expect_field_error(&["attachments"]);
    // A broken form.
    api.raw(
        Method::POST,
        &path,
        w.member.auth(),
        Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
        b"--nonsense".to_vec(),
    )
    .await
    .expect_error(400, 50035);
    // Alt text past 1,024 characters.
    upload(
        api,
        &w.member,
        &path,
        json!({"attachments": [{"id": 0, "description": "x".repeat(1025)}]}),
        &[part("a.png", png(2, 2), "image/png")],
    )
    .await
    .expect_field_error(&["attachments", "0", "description"]);
    // Without ATTACH_FILES in the channel: 50013, while text still posts.
    api.set_overwrite(&w.owner, &w.general, &w.guild_id, 0, 0, 1 << 15)
        .await;
    upload(
        api,
        &w.member,
        &path,
        json!({"content": "file"}),
        &[part("a.png", png(2, 2), "image/png")],
    )
    .await
    .expect_error(403, 50013);
    api.send(&w.member, &w.general, "text is fine").await;

    // None of it was written: no message with a file, no stored file, no
    // spooled upload left.
    let history = api
        .get(&format!("{path}?limit=100"), w.owner.auth())
        .await
        .expect(200);
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["attachments"] == json!([])));
    assert_eq!(files_in(&w.server.data_dir().join("files")), 0);
    assert_eq!(files_in(&w.server.data_dir().join("spool")), 0);

    // A file alone, with no text, is a message.
    api.set_overwrite(&w.owner, &w.general, &w.guild_id, 0, 0, 0)
        .await;
    let alone = upload(
        api,
        &w.member,
        &path,
        json!({}),
        &[part("a.png", png(2, 2), "image/png")],
    )
    .await
    .expect(200);
    assert_eq!(alone["content"], "");
    assert_eq!(alone["attachments"][0]["width"], 2);
    let _ = perm::SEND_MESSAGES;
}

#[tokio::test]
async fn an_edit_keeps_only_the_files_it_names_and_may_add_more() {
    let w = World::new().await;
    let api = &w.api;
    let path = format!("/channels/{}/messages", w.general);
    let posted = upload(
        api,
        &w.member,
        &path,
        json!({"content": "two files"}),
        &[
            part("one.txt", b"one".to_vec(), "text/plain"),
            part("two.txt", b"two".to_vec(), "text/plain"),
        ],
    )
    .await
    .expect(200);
    let one = &posted["attachments"][0];
    let two_url = str_field(&posted["attachments"][1], "url");
    let message = format!("{path}/{}", str_field(&posted, "id"));
    let edited = upload_with(
        api,
        &w.member,
        Method::PATCH,
        &message,
        json!({"attachments": [{"id": one["id"]}, {"id": 0}]}),
        &[part("three.txt", b"three".to_vec(), "text/plain")],
    )
    .await
    .expect(200);
    let names: Vec<&str> = edited["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["one.txt", "three.txt"]);
    until_gone(api, &two_url).await;
    let (status, _, body) = fetch(api, &str_field(&edited["attachments"][1], "url"), None).await;
    assert_eq!((status, body.as_slice()), (200, b"three".as_slice()));
    // Removing the text and every file would leave an empty message.
    api.patch(
        &message,
        w.member.auth(),
        Some(json!({"content": "", "attachments": []})),
    )
    .await
    .expect_error(400, 50006);
}

#[tokio::test]
async fn files_go_in_direct_messages_and_through_webhooks() {
    let w = World::new().await;
    let api = &w.api;
    let dm = api
        .post(
            "/users/@me/channels",
            w.owner.auth(),
            Some(json!({"recipient_id": w.member.id})),
        )
        .await
        .expect(200);
    let mut member_gw = login(
        api,
        &w.member,
        intents::DIRECT_MESSAGES | intents::MESSAGE_CONTENT,
    )
    .await;
    let sent = upload(
        api,
        &w.owner,
        &format!("/channels/{}/messages", str_field(&dm, "id")),
        json!({"content": "for you"}),
        &[part("p.png", png(10, 10), "image/png")],
    )
    .await
    .expect(200);
    let got = member_gw
        .expect_dispatch_where("MESSAGE_CREATE", |d| d["id"] == sent["id"], EVENT_TIMEOUT)
        .await
        .d;
    let (status, _, _) = fetch(api, &str_field(&got["attachments"][0], "url"), None).await;
    assert_eq!(status, 200);

    let hook = api
        .post(
            &format!("/channels/{}/webhooks", w.general),
            w.owner.auth(),
            Some(json!({"name": "hook"})),
        )
        .await
        .expect(200);
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let executed = api
        .raw(
            Method::POST,
            &format!(
                "/webhooks/{}/{}?wait=true",
                str_field(&hook, "id"),
                str_field(&hook, "token")
            ),
            None,
            Some(&content_type),
            form(
                &json!({"content": "from a hook"}),
                &[part("h.txt", b"hooked".to_vec(), "text/plain")],
            ),
        )
        .await
        .expect(200);
    let (status, _, body) = fetch(api, &str_field(&executed["attachments"][0], "url"), None).await;
    assert_eq!((status, body.as_slice()), (200, b"hooked".as_slice()));
}

/// A moto S3 server on a free port, killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn moto() -> Moto {
    let program = std::env::var("HEARTH_TEST_MOTO").unwrap_or_else(|_| {
        panic!("HEARTH_TEST_MOTO must name moto_server (scripts/test.sh installs it and sets it)")
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {program}: {e}"));
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let http = hearth_loadtest::http_client().no_proxy().build().unwrap();
    for _ in 0..150 {
        if http
            .get(format!("{}/moto-api/", moto.endpoint))
            .send()
            .await
            .is_ok()
        {
            return moto;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto did not answer on {}", moto.endpoint);
}

#[tokio::test]
async fn files_go_to_an_s3_compatible_store_and_leave_it_with_their_message() {
    let s3 = moto().await;
    let server = Server::start_with(
        &[
            "--rate-limits",
            "off",
            "--s3-endpoint",
            &s3.endpoint,
            "--s3-bucket",
            "hearth-files",
            "--s3-access-key",
            "test",
            "--s3-secret-key",
            "test",
            "--s3-prefix",
            "node/",
        ],
        &[],
    )
    .await;
    let w = World::on(server).await;
    let api = &w.api;
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let posted = upload(
        api,
        &w.member,
        &format!("/channels/{}/messages", w.general),
        json!({"content": "to the bucket"}),
        &[part("big.bin", bytes.clone(), "application/octet-stream")],
    )
    .await
    .expect(200);
    let file = &posted["attachments"][0];
    assert_eq!(file["size"], 3_000_000);
    assert_eq!(file["content_type"], "application/octet-stream");
    // Not on the node's disk: in the bucket.
    assert_eq!(files_in(&w.server.data_dir().join("files")), 0);
    let id: u64 = str_field(file, "id").parse().unwrap();
    let bucket = hearth_files::s3::S3Blobs::new(hearth_files::s3::S3Config {
        endpoint: s3.endpoint.clone(),
        bucket: "hearth-files".into(),
        region: "us-east-1".into(),
        access_key: "test".into(),
        secret_key: "test".into(),
        prefix: "node/".into(),
    })
    .unwrap();
    let key = hearth_files::BlobKey::attachment(id % 256, id);
    use hearth_files::BlobStore;
    let object = bucket
        .get(&key, None)
        .await
        .unwrap()
        .expect("the object is in the bucket");
    assert_eq!(object.total_len, 3_000_000);
    let url = str_field(file, "url");
    let (status, _, body) = fetch(api, &url, None).await;
    assert_eq!(status, 200);
    assert!(body == bytes, "the whole file comes back");
    let (status, _, body) = fetch(api, &url, Some("bytes=1000-1999")).await;
    assert_eq!(status, 206);
    assert_eq!(body, bytes[1000..2000]);

    api.delete(
        &format!(
            "/channels/{}/messages/{}",
            w.general,
            str_field(&posted, "id")
        ),
        w.member.auth(),
    )
    .await
    .expect(204);
    until_gone(api, &url).await;
    assert!(
        bucket.get(&key, None).await.unwrap().is_none(),
        "the object left the bucket"
    );
}

/// Posts a message with one small file; returns the file's link.
async fn post_file(w: &World, by: &User, channel: &str, text: &str) -> (String, String) {
    let posted = upload(
        &w.api,
        by,
        &format!("/channels/{channel}/messages"),
        json!({"content": text}),
        &[part("f.txt", text.as_bytes().to_vec(), "text/plain")],
    )
    .await
    .expect(200);
    (
        str_field(&posted, "id"),
        str_field(&posted["attachments"][0], "url"),
    )
}

/// Every write that drops a message drops its files: a bulk delete, a
/// ban's purge, a channel's deletion, and the guild's.
async fn files_leave_however_their_message_goes(w: World) {
    let api = &w.api;
    let spare = api.text_channel(&w.owner, &w.guild_id, "spare").await;
    let (a, a_url) = post_file(&w, &w.owner, &w.general, "bulk one").await;
    let (b, b_url) = post_file(&w, &w.owner, &w.general, "bulk two").await;
    let (_, purged_url) = post_file(&w, &w.member, &w.general, "purged").await;
    let (_, channel_url) = post_file(&w, &w.owner, &spare, "in spare").await;
    let (_, kept_url) = post_file(&w, &w.owner, &w.general, "kept").await;
    let (_, guild_url) = post_file(&w, &w.owner, &w.general, "with the guild").await;
    api.send(&w.owner, &w.general, "no file here").await;
    // Search finds them by what they carry.
    let w = &w;
    let search = |has: &'static str| async move {
        let path = w.g(&format!("/messages/search?has={has}"));
        w.api.get(&path, w.owner.auth()).await.expect(200)["total_results"].clone()
    };
    assert_eq!(search("file").await, 6);
    assert_eq!(search("image").await, 0);

    api.post(
        &format!("/channels/{}/messages/bulk-delete", w.general),
        w.owner.auth(),
        Some(json!({"messages": [a, b]})),
    )
    .await
    .expect(204);
    until_gone(api, &a_url).await;
    until_gone(api, &b_url).await;

    api.put(
        &w.g(&format!("/bans/{}", w.member.id)),
        w.owner.auth(),
        Some(json!({"delete_message_seconds": 3600})),
    )
    .await
    .expect(204);
    until_gone(api, &purged_url).await;

    api.delete(&format!("/channels/{spare}"), w.owner.auth())
        .await
        .expect(200);
    until_gone(api, &channel_url).await;
    // What nothing dropped stays.
    assert_eq!(fetch(api, &kept_url, None).await.0, 200);

    api.delete(&w.g(""), w.owner.auth()).await.expect(204);
    until_gone(api, &kept_url).await;
    until_gone(api, &guild_url).await;
}

#[tokio::test]
async fn files_leave_with_bulk_deletes_bans_channels_and_guilds() {
    files_leave_however_their_message_goes(World::new().await).await;
}

#[tokio::test]
async fn files_leave_with_their_messages_on_postgres_too() {
    let db = crate::postgres::TestDatabase::create().await;
    let server = Server::start_with(&["--rate-limits", "off", "--database", &db.url], &[]).await;
    files_leave_however_their_message_goes(World::on(server).await).await;
}

/// An avatar, as Discord has it: sent as a data URI, kept as a file, the
/// user carrying only its hash, shown at `/avatars/{user}/{hash}.png`; the
/// guilds the user is in see it (and a new name) at once.
#[tokio::test]
async fn an_avatar_is_stored_as_a_file_and_the_guild_sees_it_at_once() {
    use base64::Engine;
    let w = World::new().await;
    let api = &w.api;
    let mut owner = login(api, &w.owner, intents::GUILDS | intents::GUILD_MEMBERS).await;
    let picture = png(64, 64);
    let data = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&picture)
    );
    let me = api
        .patch("/users/@me", w.member.auth(), Some(json!({"avatar": data})))
        .await
        .expect(200);
    let hash = str_field(&me, "avatar");
    assert!(
        hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "a hash, not the picture: {hash}"
    );
    let update = owner
        .expect_dispatch_where(
            "GUILD_MEMBER_UPDATE",
            |d| d["user"]["id"] == w.member.id.as_str(),
            EVENT_TIMEOUT,
        )
        .await;
    assert_eq!(update.d["user"]["avatar"], hash.as_str());
    let url = format!("{}/avatars/{}/{hash}.png", w.server.base_url(), w.member.id);
    let (status, headers, body) = fetch(api, &url, None).await;
    assert_eq!(status, 200, "{url}");
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(body, picture);

    // Not a picture: refused, and nothing changes.
    for bad in [
        "https://elsewhere.example/me.png".to_owned(),
        format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(b"<html><script>alert(1)</script>")
        ),
        "data:image/png;base64,!!!".to_owned(),
    ] {
        api.patch("/users/@me", w.member.auth(), Some(json!({"avatar": bad})))
            .await
            .expect_field_error(&["avatar"]);
    }
    let still = api.get("/users/@me", w.member.auth()).await.expect(200);
    assert_eq!(still["avatar"], hash.as_str());

    // A new display name reaches the guild too; removing the avatar
    // removes the file.
    api.patch(
        "/users/@me",
        w.member.auth(),
        Some(json!({"global_name": "Member Prime", "avatar": null})),
    )
    .await
    .expect(200);
    let update = owner
        .expect_dispatch_where(
            "GUILD_MEMBER_UPDATE",
            |d| d["user"]["global_name"] == "Member Prime",
            EVENT_TIMEOUT,
        )
        .await;
    assert!(update.d["user"]["avatar"].is_null());
    let (status, _, _) = fetch(api, &url, None).await;
    assert_eq!(status, 404);
    // A password change alone is not the guild's business.
    api.patch(
        "/users/@me",
        w.member.auth(),
        Some(json!({"password": PASSWORD, "new_password": "another horse battery"})),
    )
    .await
    .expect(200);
    owner
        .expect_no_dispatch_where(
            "GUILD_MEMBER_UPDATE",
            |d| d["user"]["id"] == w.member.id.as_str(),
            QUIET,
        )
        .await;
    // No path escapes: only hashes name files.
    let (status, _, _) = fetch(
        api,
        &url.replace(&format!("{hash}.png"), "..%2F..%2Fsecret"),
        None,
    )
    .await;
    assert_eq!(status, 404);
}
