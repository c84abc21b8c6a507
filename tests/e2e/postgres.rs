//! A node whose store is PostgreSQL (`--database`): what it acknowledged is
//! still there after a restart, and a database it cannot reach stops it
//! with an error that names the URL without its password.
//!
//! Needs the admin URL of a PostgreSQL server in `HEARTH_TEST_POSTGRES`
//! (scripts/test.sh starts one and sets it); each test makes its own
//! database and drops it afterwards.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::harness::{str_field, Server, World, PASSWORD};

/// A fresh database on the test server, dropped when this goes out of
/// scope (also when the test fails).
pub(crate) struct TestDatabase {
    name: String,
    /// The database's URL, for `--database`.
    pub(crate) url: String,
}

pub(crate) fn admin_url() -> String {
    match std::env::var("HEARTH_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "HEARTH_TEST_POSTGRES is not set: this test needs a PostgreSQL server to create a \
             database on, e.g. HEARTH_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres \
             (scripts/test.sh starts one and sets it)"
        ),
    }
}

impl TestDatabase {
    pub(crate) async fn create() -> TestDatabase {
        let admin = admin_url();
        let name = format!(
            "hearth_e2e_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("connecting to HEARTH_TEST_POSTGRES");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .expect("creating the test database");
        conn.close().await.ok();
        // The admin URL with its database replaced.
        let (base, query) = match admin.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (admin.as_str(), String::new()),
        };
        let after_scheme = base.find("://").map_or(0, |i| i + 3);
        let host_end = base[after_scheme..]
            .find('/')
            .map_or(base.len(), |i| after_scheme + i);
        let url = format!("{}/{name}{query}", &base[..host_end]);
        TestDatabase { name, url }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Best effort, on a thread of its own: Drop cannot await, and the
        // test's runtime may be shutting down.
        let (admin, name) = (admin_url(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

#[tokio::test]
async fn messages_on_postgres_survive_a_restart() {
    let db = TestDatabase::create().await;
    let server = Server::start_with(&["--rate-limits", "off", "--database", &db.url], &[]).await;
    let mut w = World::on(server).await;
    let sent = w
        .api
        .send(&w.member, &w.general, "kept in PostgreSQL")
        .await;
    let id = str_field(&sent, "id");
    assert!(
        !w.server.data_dir().join("hearth.db").exists(),
        "a node on PostgreSQL keeps no SQLite database"
    );

    w.server.restart().await;
    let api = w.server.api();
    let token = str_field(&api.login("member", PASSWORD).await.expect(200), "token");
    let auth = Some(token.as_str());
    let m = api
        .get(&format!("/channels/{}/messages/{id}", w.general), auth)
        .await
        .expect(200);
    assert_eq!(m["content"], "kept in PostgreSQL");
    assert_eq!(m["author"]["id"], w.member.id.as_str());
    let guild = api
        .get(&format!("/guilds/{}", w.guild_id), auth)
        .await
        .expect(200);
    assert_eq!(guild["name"], "Hearth Test Guild");
    let page = api
        .get(&format!("/channels/{}/messages?limit=10", w.general), auth)
        .await
        .expect(200);
    assert_eq!(page.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn two_nodes_on_one_database_share_accounts_guilds_and_messages() {
    let db = TestDatabase::create().await;
    let node = |id: &'static str| {
        let url = db.url.clone();
        async move {
            Server::start_with(
                &["--rate-limits", "off", "--node-id", id, "--database", &url],
                &[],
            )
            .await
        }
    };
    // Started together: both check the schema, one migrates it.
    let (a, b) = tokio::join!(node("1"), node("2"));
    let (on_a, on_b) = (a.api(), b.api());
    let ada = on_a.register("ada").await;
    // A token issued by one node is good on the other.
    let guild = on_b.create_guild(&ada, "Shared").await;
    let guild_id = str_field(&guild, "id");
    let general = on_a.channel_id(&ada, &guild_id, "general", 0).await;
    let sent = on_b.send(&ada, &general, "posted through node 2").await;
    let id = str_field(&sent, "id");
    let m = on_a
        .get(&format!("/channels/{general}/messages/{id}"), ada.auth())
        .await
        .expect(200);
    assert_eq!(m["content"], "posted through node 2");
    on_b.login("ada", PASSWORD).await.expect(200);
}

/// Runs `hearth serve --database <url>`, which must stop by itself (within
/// 30 s, else the test fails saying it kept running `why`); its output.
fn serve_until_it_stops(url: &str, why: &str) -> std::process::Output {
    let data_dir = std::env::temp_dir().join(format!(
        "hearth-e2e-pg-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .args(["--database", url])
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning hearth");
    let started = Instant::now();
    while child.try_wait().expect("polling hearth").is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("hearth kept running {why}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("hearth's output");
    let _ = std::fs::remove_dir_all(&data_dir);
    output
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[tokio::test]
async fn an_unreachable_database_stops_the_node_with_the_url_but_not_its_password() {
    // Port 1 on loopback: nothing listens there, so the connection is refused.
    let url = "postgres://hearth:do-not-print@127.0.0.1:1/hearth";
    let output = serve_until_it_stops(url, "without its database");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "hearth exited successfully: {stderr}"
    );
    assert!(
        stderr.contains("postgres://hearth:***@127.0.0.1:1/hearth"),
        "the error names the URL: {stderr}"
    );
    assert!(stderr.contains("refused"), "the error says why: {stderr}");
    assert!(
        !stderr.contains("do-not-print"),
        "the password leaked: {stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("listening"),
        "it never served"
    );
}

#[tokio::test]
async fn a_node_keeps_no_more_postgres_connections_than_its_pool() {
    let db = TestDatabase::create().await;
    let server = Server::start_with(
        &[
            "--rate-limits",
            "off",
            "--database",
            &db.url,
            "--database-pool",
            "2",
        ],
        &[],
    )
    .await;
    let w = World::on(server).await;
    // Many requests at once: they share two connections.
    let reads = (0..40).map(|_| {
        let (api, owner, general) = (w.api.clone(), w.owner.clone(), w.general.clone());
        async move {
            api.get(&format!("/channels/{general}/messages"), owner.auth())
                .await
                .expect(200);
        }
    });
    futures_util::future::join_all(reads).await;
    let mut admin = sqlx::PgConnection::connect(&admin_url())
        .await
        .expect("connecting to HEARTH_TEST_POSTGRES");
    let (held,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
            .bind(&db.name)
            .fetch_one(&mut admin)
            .await
            .expect("counting connections");
    admin.close().await.ok();
    assert!(
        (1..=2).contains(&held),
        "the node holds {held} connections to its database"
    );
}

/// `hearth admin <args>`: (success, stdout, stdout and stderr).
fn hearth_admin(args: &[&str], stdin: &str) -> (bool, String, String) {
    let (ok, out, err) = crate::account_controls::hearth_admin(args, stdin);
    let all = format!("{out}{err}");
    (ok, out, all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hearth_admin_works_on_a_clusters_database_and_closes_sessions_on_every_node() {
    let db = TestDatabase::create().await;
    let redis = crate::cluster::redis_url();
    let prefix = crate::cluster::unique_prefix();
    let args = [
        "--rate-limits",
        "off",
        "--database",
        &db.url,
        "--redis",
        &redis,
        "--redis-prefix",
        &prefix,
    ];
    let a = Server::start_with(&args, &[]).await;
    let b = Server::start_beside(&a, &args, &[]).await;
    let cluster = [
        "--database",
        db.url.as_str(),
        "--redis",
        &redis,
        "--redis-prefix",
        &prefix,
    ];
    let with = |more: &[&'static str]| -> Vec<&str> {
        cluster
            .iter()
            .copied()
            .chain(more.iter().copied())
            .collect()
    };

    let (ok, out, all) = hearth_admin(&with(&["create-user", "carol"]), &format!("{PASSWORD}\n"));
    assert!(ok, "{all}");
    let token = str_field(&a.api().login("carol", PASSWORD).await.expect(200), "token");
    let carol = crate::harness::User {
        id: out.trim().to_owned(),
        authorization: token.clone(),
        token,
        username: "carol".into(),
    };
    let me = b.api().get("/users/@me", carol.auth()).await.expect(200);
    assert_eq!(me["id"], carol.id.as_str());
    // Her gateway sessions on both nodes.
    let mut on_a = crate::gateway_client::login(&a.api(), &carol, 0).await;
    let mut on_b = crate::gateway_client::login(&b.api(), &carol, 0).await;

    let (ok, out, all) = hearth_admin(&with(&["sessions", "list", "carol"]), "");
    assert!(ok && out.lines().count() == 1, "{all}");
    let (ok, _, all) = hearth_admin(&with(&["sessions", "revoke", "carol", "--all"]), "");
    assert!(ok, "{all}");
    // Closed on every node, as a logout through the API would.
    for gw in [&mut on_a, &mut on_b] {
        let closed = gw.expect_closed(Duration::from_secs(10)).await;
        assert_eq!(closed.code, Some(4004), "{closed}");
    }
    let r = a.api().get("/users/@me", carol.auth()).await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.text);

    // A backup of PostgreSQL is pg_dump's.
    let (ok, _, all) = hearth_admin(&with(&["backup", "/nonexistent/backup.db"]), "");
    assert!(!ok && all.contains("pg_dump"), "{all}");
}

#[tokio::test]
async fn a_single_nodes_data_moves_into_postgres_and_the_node_goes_on_there() {
    let db = TestDatabase::create().await;
    // A node on its embedded store: accounts, a guild with an invite, a
    // bot, messages.
    let server = Server::start_with(&["--rate-limits", "off"], &[]).await;
    let mut w = World::on(server).await;
    let (_, bot) = w.api.create_bot(&w.owner, "mover").await;
    let mut sent = Vec::new();
    for i in 0..3 {
        let m = w
            .api
            .send(&w.member, &w.general, &format!("before the move {i}"))
            .await;
        sent.push(str_field(&m, "id"));
    }
    let dir = w.server.data_dir().to_path_buf();
    assert!(w.server.terminate().success());

    let (ok, out, all) = hearth_admin(
        &[
            "--data-dir",
            dir.to_str().unwrap(),
            "copy-to-postgres",
            &db.url,
        ],
        "",
    );
    assert!(ok, "{all}");
    assert!(out.contains("messages: 3 row(s)"), "{out}");
    assert!(out.contains("users: 3 row(s)"), "{out}");

    // The node, now on PostgreSQL, has it all.
    let on_pg = Server::start_with(&["--rate-limits", "off", "--database", &db.url], &[]).await;
    let api = on_pg.api();
    let token = str_field(&api.login("member", PASSWORD).await.expect(200), "token");
    let auth = Some(token.as_str());
    let page = api
        .get(&format!("/channels/{}/messages?limit=10", w.general), auth)
        .await
        .expect(200);
    let mut ids: Vec<String> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| str_field(m, "id"))
        .collect();
    ids.sort();
    assert_eq!(ids, sent);
    let guild = api
        .get(&format!("/guilds/{}", w.guild_id), auth)
        .await
        .expect(200);
    assert_eq!(guild["name"], "Hearth Test Guild");
    // Old tokens still work (a bot's too), and writing goes on.
    api.get("/users/@me", w.owner.auth()).await.expect(200);
    api.get("/gateway/bot", bot.auth()).await.expect(200);
    let m = api.send(&w.member, &w.general, "after the move").await;
    assert!(str_field(&m, "id") > sent[2]);

    // Into a database that has rows: refused, nothing written.
    let (ok, _, all) = hearth_admin(
        &[
            "--data-dir",
            dir.to_str().unwrap(),
            "copy-to-postgres",
            &db.url,
        ],
        "",
    );
    assert!(!ok && all.contains("not empty"), "{all}");
}

/// The database's URL with `sslmode` set.
fn with_sslmode(url: &str, mode: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}sslmode={mode}")
}

#[tokio::test]
async fn a_node_reaches_postgres_over_tls_when_its_url_asks_and_checks_the_certificate() {
    let db = TestDatabase::create().await;
    let mut admin = sqlx::PgConnection::connect(&admin_url())
        .await
        .expect("connecting to HEARTH_TEST_POSTGRES");
    let (ssl,): (String,) = sqlx::query_as("SHOW ssl")
        .fetch_one(&mut admin)
        .await
        .expect("SHOW ssl");
    assert_eq!(
        ssl, "on",
        "this test needs the PostgreSQL of HEARTH_TEST_POSTGRES to accept TLS (ssl = on; Debian's \
         clusters do, with the snakeoil certificate)"
    );

    // sslmode=require: encrypted (the server's certificate is not checked).
    let url = with_sslmode(&db.url, "require");
    let server = Server::start_with(&["--rate-limits", "off", "--database", &url], &[]).await;
    let w = World::on(server).await;
    w.api.send(&w.member, &w.general, "over TLS").await;
    let (connections, encrypted): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a \
         JOIN pg_stat_ssl s ON s.pid = a.pid WHERE a.datname = $1",
    )
    .bind(&db.name)
    .fetch_one(&mut admin)
    .await
    .expect("reading pg_stat_ssl");
    admin.close().await.ok();
    assert!(connections >= 1, "the node holds connections");
    assert_eq!(
        encrypted, connections,
        "every connection of the node is TLS"
    );

    // sslmode=verify-full checks the certificate against the roots: a
    // self-signed one is refused, and the node says so and stops.
    let url = with_sslmode(&db.url, "verify-full");
    let output = serve_until_it_stops(&url, "on a certificate it could not verify");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "hearth started: {stderr}");
    assert!(
        stderr.to_lowercase().contains("certificate"),
        "the error says the certificate was refused: {stderr}"
    );
}
