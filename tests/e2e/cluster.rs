//! Several API/gateway nodes of one cluster: events cross nodes through a
//! real Redis, and a node survives losing it.
//!
//! The nodes share one store (the embedded one, in one data directory),
//! each with its own node id, and each test uses its own Redis key prefix
//! or its own Redis server.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::gateway_client::{
    intents, login, login_opts, op, Gateway, Options, EVENT_TIMEOUT, QUIET,
};
use crate::harness::{str_field, Server, User, World};

const MSGS: u64 = intents::GUILDS | intents::GUILD_MESSAGES;

/// The Redis the suite runs against (`scripts/test.sh` sets it).
pub(crate) fn redis_url() -> String {
    std::env::var("HEARTH_TEST_REDIS").expect(
        "HEARTH_TEST_REDIS must name a Redis server (scripts/test.sh starts one and sets it)",
    )
}

pub(crate) fn unique_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("hearth-test-{}-{nanos}:", std::process::id())
}

/// Two nodes of one cluster on `redis`; the world (owner, member, guild)
/// is made through the first.
async fn two_nodes(redis: &str) -> (World, Server) {
    two_nodes_limited(redis, "off").await
}

async fn two_nodes_limited(redis: &str, rate_limits: &'static str) -> (World, Server) {
    two_nodes_with(redis, &["--rate-limits", rate_limits]).await
}

/// Two nodes as `two_nodes`, each with `extra` arguments.
async fn two_nodes_with(redis: &str, extra: &[&str]) -> (World, Server) {
    let prefix = unique_prefix();
    // No --node-id: each node leases a free one.
    let args = || {
        ["--redis", redis, "--redis-prefix", &prefix]
            .into_iter()
            .chain(extra.iter().copied())
            .map(str::to_owned)
            .collect::<Vec<String>>()
    };
    let a_args = args();
    let a = Server::start_with(&a_args.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    let b_args = args();
    let b = Server::start_beside(
        &a,
        &b_args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
    )
    .await;
    (World::on(a).await, b)
}

/// The node id in a snowflake (its worker and process bits).
fn node_of(id: &str) -> u64 {
    (id.parse::<u64>().unwrap() >> 12) & 0x3ff
}

async fn expect_message(gw: &mut Gateway, id: &str) -> Value {
    gw.expect_dispatch_where("MESSAGE_CREATE", |d| d["id"] == id, EVENT_TIMEOUT)
        .await
        .d
}

/// MESSAGE_CREATE ids arriving within a while, in order.
async fn messages_within(gw: &mut Gateway, within: Duration) -> Vec<String> {
    gw.collect(within)
        .await
        .into_iter()
        .filter(|f| f.t.as_deref() == Some("MESSAGE_CREATE"))
        .map(|f| str_field(&f.d, "id"))
        .collect()
}

#[tokio::test]
async fn messages_posted_on_one_node_reach_sessions_on_the_other_once_and_in_order() {
    let redis = redis_url();
    let (w, b) = two_nodes(&redis).await;
    let on_b = b.api();
    let mut member_on_b = login(&on_b, &w.member, MSGS).await;
    let mut owner_on_a = login(&w.api, &w.owner, MSGS).await;

    let mut sent = Vec::new();
    for i in 0..20 {
        let m = w
            .api
            .send(&w.owner, &w.general, &format!("from a #{i}"))
            .await;
        sent.push(str_field(&m, "id"));
    }
    let got = messages_within(&mut member_on_b, Duration::from_secs(3)).await;
    assert_eq!(
        got, sent,
        "the session on node b gets every message of node a once, in order"
    );
    assert!(on_b.metric("hearth_bus_received_total").await >= 20.0);
    assert!(
        on_b.metric("hearth_bus_lag_seconds_count").await >= 20.0,
        "each event's trip through Redis is timed"
    );
    assert!(w.api.metric("hearth_bus_published_total").await >= 20.0);

    // And back: posted through node b, seen on node a.
    let reply = on_b.send(&w.member, &w.general, "from b").await;
    assert_ne!(
        node_of(&sent[0]),
        node_of(&str_field(&reply, "id")),
        "the two nodes leased different node ids"
    );
    expect_message(&mut owner_on_a, &str_field(&reply, "id")).await;
    let own = messages_within(&mut owner_on_a, Duration::from_secs(1)).await;
    assert!(
        !own.contains(&str_field(&reply, "id")),
        "node a delivered node b's message twice"
    );
}

#[tokio::test]
async fn a_member_joining_through_one_node_gets_the_guild_on_their_session_on_the_other() {
    let redis = redis_url();
    let (w, b) = two_nodes(&redis).await;
    let on_b = b.api();
    let newcomer: User = on_b.register("newcomer").await;
    let mut newcomer_on_b = login(&on_b, &newcomer, MSGS).await;

    // The invite is made and used through node a.
    w.api.invite_and_join(&w.owner, &w.general, &newcomer).await;
    newcomer_on_b
        .expect_dispatch_where("GUILD_CREATE", |d| d["id"] == w.guild_id, EVENT_TIMEOUT)
        .await;
    let m = w.api.send(&w.owner, &w.general, "welcome").await;
    expect_message(&mut newcomer_on_b, &str_field(&m, "id")).await;
}

const WATCH: u64 = intents::GUILDS | intents::GUILD_PRESENCES;

fn status(status: &str) -> Value {
    serde_json::json!({"since": null, "activities": [], "status": status, "afk": false})
}

async fn expect_status(observer: &mut Gateway, user: &User, status: &str) {
    observer
        .expect_dispatch_where(
            "PRESENCE_UPDATE",
            |d| d["user"]["id"] == user.id.as_str() && d["status"] == status,
            EVENT_TIMEOUT,
        )
        .await;
}

#[tokio::test]
async fn presence_is_the_union_of_a_users_sessions_on_both_nodes() {
    let redis = redis_url();
    let (w, b) = two_nodes(&redis).await;
    let on_b = b.api();
    let mut observer = login(&on_b, &w.owner, WATCH).await;

    let mut member_on_a = login_opts(&w.api, &w.member, MSGS, Options::default().label("a")).await;
    expect_status(&mut observer, &w.member, "online").await;
    let mut member_on_b = login_opts(&on_b, &w.member, MSGS, Options::default().label("b")).await;

    // A status set on either node is what the observer sees.
    member_on_a
        .send_op(op::PRESENCE_UPDATE, status("dnd"))
        .await;
    expect_status(&mut observer, &w.member, "dnd").await;
    member_on_b
        .send_op(op::PRESENCE_UPDATE, status("idle"))
        .await;
    expect_status(&mut observer, &w.member, "idle").await;

    // Node b's session ends: the user is still on node a, with the status
    // set there.
    member_on_b.close(1000).await;
    expect_status(&mut observer, &w.member, "dnd").await;
    observer
        .expect_no_dispatch_where(
            "PRESENCE_UPDATE",
            |d| d["user"]["id"] == w.member.id.as_str() && d["status"] == "offline",
            QUIET,
        )
        .await;

    // A session opened on node b now, which has none of the user's, is
    // told of them as node a has them.
    let late = login_opts(&on_b, &w.owner, WATCH, Options::default().label("late")).await;
    let gc = late.guild_create(&w.guild_id);
    let listed: Vec<&Value> = gc["presences"]
        .as_array()
        .unwrap_or_else(|| panic!("presences: {gc}"))
        .iter()
        .filter(|p| p["user"]["id"] == w.member.id.as_str())
        .collect();
    assert_eq!(listed.len(), 1, "{gc}");
    assert_eq!(listed[0]["status"], "dnd", "{gc}");

    // Node a's ends too: offline.
    member_on_a.assert_alive().await;
    member_on_a.close(1000).await;
    expect_status(&mut observer, &w.member, "offline").await;
}

#[tokio::test]
async fn a_channel_read_through_one_node_shows_what_was_posted_through_the_other() {
    let redis = redis_url();
    let (w, b) = two_nodes(&redis).await;
    let on_b = b.api();
    let path = format!("/channels/{}/messages?limit=50", w.general);
    // Read through node b first, so node b holds the channel's newest page.
    let before = on_b.get(&path, w.member.auth()).await.expect(200);
    assert!(before.as_array().unwrap().is_empty(), "{before}");
    let m = w.api.send(&w.owner, &w.general, "posted on a").await;
    let id = str_field(&m, "id");
    // The event crosses nodes within moments; node b must then read the
    // channel afresh rather than serve its stale page.
    let mut seen = false;
    for _ in 0..50 {
        let list = on_b.get(&path, w.member.auth()).await.expect(200);
        if list.as_array().unwrap().iter().any(|m| m["id"] == id) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        seen,
        "node b kept serving a channel page without node a's message"
    );
}

#[tokio::test]
async fn logging_out_everywhere_through_one_node_ends_the_sessions_on_the_other() {
    let redis = redis_url();
    let (w, b) = two_nodes(&redis).await;
    let mut member_on_b = login(&b.api(), &w.member, MSGS).await;
    w.api
        .post(
            "/auth/logout",
            w.member.auth(),
            Some(serde_json::json!({ "everywhere": true })),
        )
        .await
        .expect(204);
    member_on_b.expect_close_code(4004).await;
}

#[tokio::test]
async fn a_rate_limit_is_one_budget_however_requests_spread_over_nodes() {
    let redis = redis_url();
    let (w, b) = two_nodes_limited(&redis, "on").await;
    let on_b = b.api();
    let path = format!("/channels/{}/messages", w.general);
    // Posting is 5 per 5 seconds per channel: three through each node make
    // six, and one of them must be refused.
    let mut statuses = Vec::new();
    for i in 0..6 {
        let api = if i % 2 == 0 { &w.api } else { &on_b };
        let r = api
            .post(
                &path,
                w.member.auth(),
                Some(serde_json::json!({ "content": format!("post {i}") })),
            )
            .await;
        statuses.push(r.status.as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "five posts in the window, whichever node took them: {statuses:?}"
    );
    assert_eq!(statuses[5], 429, "{statuses:?}");
}

#[test]
fn a_node_whose_redis_is_unreachable_says_so_and_exits() {
    let dir = std::env::temp_dir().join(format!("hearth-e2e-noredis-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .args(["--redis", "redis://ops:hunter2@127.0.0.1:1/0"])
        .stdin(Stdio::null())
        .output()
        .expect("running hearth");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "hearth started without its Redis");
    assert!(
        stderr.contains("redis://ops:***@127.0.0.1:1/0"),
        "the error names the URL: {stderr}"
    );
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");
}

#[tokio::test]
async fn a_node_id_held_by_a_running_node_is_refused() {
    let redis = redis_url();
    let prefix = unique_prefix();
    let args = [
        "--redis",
        &redis,
        "--redis-prefix",
        &prefix,
        "--node-id",
        "5",
    ];
    let _first = Server::start_with(&args, &[]).await;
    let dir = std::env::temp_dir().join(format!("hearth-e2e-nodeid-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running hearth");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a second node started with id 5");
    assert!(
        stderr.contains("node id 5 is held by another running node"),
        "{stderr}"
    );
}

/// A Redis server of the test's own, which it can stop and start again on
/// the same port.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn start() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = OwnRedis { port, child: None };
        r.up();
        r
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn up(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test.sh installs it)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not listen on {}", self.port);
    }

    fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.down();
    }
}

#[tokio::test]
async fn a_node_that_lost_redis_keeps_its_sessions_and_restarts_them_when_it_is_back() {
    let mut redis = OwnRedis::start();
    let (w, b) = two_nodes(&redis.url()).await;
    let on_b = b.api();
    let mut member_on_b = login(&on_b, &w.member, MSGS).await;
    let mut owner_on_a = login(&w.api, &w.owner, MSGS).await;

    redis.down();
    // Node b says it is not ready (its events no longer cross nodes).
    let mut readiness = None;
    for _ in 0..100 {
        let r = on_b.raw_abs(Method::GET, "/readyz", None).await;
        if r.status.as_u16() == 503 {
            readiness = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let readiness = readiness.expect("node b stayed ready without its Redis");
    assert_eq!(
        readiness.body["failing"],
        serde_json::json!(["bus"]),
        "{}",
        readiness.text
    );
    // Node a still serves its own sessions.
    let during = w
        .api
        .send(&w.owner, &w.general, "while redis is down")
        .await;
    expect_message(&mut owner_on_a, &str_field(&during, "id")).await;

    redis.up();
    // Node b may have missed that message: its session is told to start
    // afresh (4009) rather than carry on with a gap.
    let closed = member_on_b.expect_closed(Duration::from_secs(30)).await;
    assert_eq!(closed.code, Some(4009), "node b's session: {closed}");

    let ready = on_b.raw_abs(Method::GET, "/readyz", None).await;
    assert_eq!(ready.status.as_u16(), 200, "{}", ready.text);
    assert!(on_b.metric("hearth_bus_reconnects_total").await >= 1.0);
    let mut again = login(&on_b, &w.member, MSGS).await;
    let after = w.api.send(&w.owner, &w.general, "redis is back").await;
    expect_message(&mut again, &str_field(&after, "id")).await;
}

#[tokio::test]
async fn without_redis_a_node_announces_presence_from_its_own_sessions() {
    let mut redis = OwnRedis::start();
    let (w, b) = two_nodes(&redis.url()).await;
    let on_b = b.api();
    let mut observer = login(&on_b, &w.owner, WATCH).await;

    redis.down();
    let member = login(&on_b, &w.member, MSGS).await;
    expect_status(&mut observer, &w.member, "online").await;
    member.close(1000).await;
    expect_status(&mut observer, &w.member, "offline").await;
}

#[tokio::test]
async fn a_newcomer_on_both_nodes_is_announced_to_the_guild_as_the_cluster_shows_them() {
    let redis = redis_url();
    let (w, b) = two_nodes(&redis).await;
    let on_b = b.api();
    let mut observer = login(&w.api, &w.owner, WATCH).await;
    let newcomer: User = on_b.register("newcomer").await;
    let _newcomer_on_a = login_opts(&w.api, &newcomer, MSGS, Options::default().label("a")).await;
    let mut newcomer_on_b = login_opts(&on_b, &newcomer, MSGS, Options::default().label("b")).await;
    newcomer_on_b
        .send_op(op::PRESENCE_UPDATE, status("idle"))
        .await;
    // The op is handled once a later heartbeat is acknowledged; it is
    // recorded in the cluster long before the join below is committed.
    newcomer_on_b.assert_alive().await;

    // Both nodes have the newcomer's sessions; node a's own view is
    // online, but the cluster shows the idle set through node b.
    w.api.invite_and_join(&w.owner, &w.general, &newcomer).await;
    expect_status(&mut observer, &newcomer, "idle").await;
    observer
        .expect_no_dispatch_where(
            "PRESENCE_UPDATE",
            |d| d["user"]["id"] == newcomer.id.as_str() && d["status"] != "idle",
            QUIET,
        )
        .await;
}

#[tokio::test]
async fn the_cluster_script_runs_nodes_that_share_one_database_and_stops_them() {
    use std::io::{BufRead, BufReader};
    let mut script = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/cluster.sh"))
        .args([
            "--nodes",
            "2",
            "--sfu-nodes",
            "1",
            "--regions",
            "eu,us",
            "--base-port",
            "0",
            "--bin",
            env!("CARGO_BIN_EXE_hearth"),
        ])
        .args(["--postgres", &crate::postgres::admin_url()])
        .args(["--", "--rate-limits", "off"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running scripts/cluster.sh");
    let stdout = script.stdout.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Two API nodes, then the SFU node.
    let mut urls = Vec::new();
    while urls.len() < 3 {
        let line = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("the script printed its nodes within a minute")
            .expect("the script ended before printing its nodes");
        if let Some(url) = line
            .split(" at ")
            .nth(1)
            .filter(|_| line.starts_with("node "))
        {
            urls.push(url.to_owned());
        }
    }
    let nodes: Vec<crate::harness::Api> = urls[..2]
        .iter()
        .map(|u| crate::harness::Api::at(u))
        .collect();
    for n in &nodes {
        let ready = n.raw_abs(Method::GET, "/readyz", None).await;
        assert_eq!(ready.status.as_u16(), 200, "{}", ready.text);
    }
    // One database: an account made through one node logs in through the other.
    let ada = nodes[0].register("ada").await;
    let guild = nodes[0].create_guild(&ada, "Both").await;
    let seen = nodes[1]
        .get(&format!("/guilds/{}", str_field(&guild, "id")), ada.auth())
        .await;
    assert_eq!(seen.expect(200)["name"], "Both");
    // Two API nodes (in eu and us) and an SFU node (eu, the list's third
    // place): voice goes to the SFU node's region.
    let regions = nodes[1].get("/voice/regions", ada.auth()).await.expect(200);
    assert_eq!(regions.as_array().map(Vec::len), Some(1), "{regions}");
    assert_eq!(regions[0]["id"], "eu", "{regions}");
    assert_eq!(regions[0]["optimal"], false, "node 1 is in us: {regions}");

    let status = std::process::Command::new("kill")
        .args(["-TERM", &script.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = tokio::task::spawn_blocking(move || script.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exited.success(), "the script stops cleanly: {exited}");
    assert!(
        hearth_loadtest::http_client()
            .build()
            .unwrap()
            .get(format!("{}/healthz", urls[0]))
            .send()
            .await
            .is_err(),
        "node 0 still answers after the script stopped"
    );
}

#[tokio::test]
async fn identify_budgets_and_slow_mode_are_one_budget_across_nodes() {
    let redis = redis_url();
    let (w, b) = two_nodes_with(
        &redis,
        &[
            "--rate-limits",
            "on",
            "--session-start-limit",
            "3",
            "--identify-max-concurrency",
            "16",
        ],
    )
    .await;
    let on_b = b.api();
    // A bot's budget as `GET /gateway/bot` reports it counts its
    // Identifies on every node.
    let (_, bot) = w.api.create_bot(&w.owner, "counted").await;
    for api in [&w.api, &on_b] {
        login(api, &bot, MSGS).await.close(1000).await;
    }
    for api in [&w.api, &on_b] {
        let limit =
            api.get("/gateway/bot", bot.auth()).await.expect(200)["session_start_limit"].clone();
        assert_eq!(limit["remaining"], 1, "{limit}");
        let reset = limit["reset_after"].as_u64().unwrap();
        assert!(reset > 86_000_000 && reset <= 86_400_000, "{limit}");
    }
    // Two Identifies through one node and one through the other use up a
    // budget of three: the fourth, on either, closes with 4008.
    for api in [&w.api, &on_b, &w.api] {
        login(api, &w.member, MSGS).await.close(1000).await;
    }
    let url = crate::gateway_client::gateway_url(&on_b).await;
    let mut over = Gateway::connect(&url, Options::default().label("over budget")).await;
    over.identify(&w.member.token, MSGS).await;
    over.expect_close_code(4008).await;

    // Slow mode: a post through one node starts the interval on both.
    let slow = w
        .api
        .create_channel(
            &w.owner,
            &w.guild_id,
            serde_json::json!({"name": "slow", "type": 0, "rate_limit_per_user": 60}),
        )
        .await;
    let path = format!("/channels/{}/messages", str_field(&slow, "id"));
    let post = |api: &crate::harness::Api, n: u32| {
        let (api, path) = (api.clone(), path.clone());
        let auth = w.member.auth().map(str::to_owned);
        async move {
            api.post(
                &path,
                auth.as_deref(),
                Some(serde_json::json!({ "content": format!("slow {n}") })),
            )
            .await
        }
    };
    post(&w.api, 1).await.expect(200);
    let refused = post(&on_b, 2).await;
    let body = refused.expect_error(429, 20016);
    let left = body["retry_after"].as_f64().expect("retry_after");
    assert!(left > 50.0 && left <= 60.0, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_dropped_on_one_node_resumes_on_the_other_with_exactly_what_it_missed() {
    let redis = redis_url();
    let (w, b) = two_nodes(&redis).await;
    let on_b = b.api();
    let gw = login(&w.api, &w.member, MSGS).await;
    let info = gw.session_info();
    gw.drop_tcp().await;

    // Missed while away, posted through both nodes.
    let mut posted = Vec::new();
    for i in 0..6 {
        let api = if i % 2 == 0 { &w.api } else { &on_b };
        let m = api.send(&w.owner, &w.general, &format!("away {i}")).await;
        posted.push(str_field(&m, "id"));
    }
    // And more while the session moves: nothing may fall between the two
    // nodes, nor come twice.
    let (a_api, b_api, owner, general) = (
        w.api.clone(),
        on_b.clone(),
        w.owner.clone(),
        w.general.clone(),
    );
    let during = tokio::spawn(async move {
        let mut ids = Vec::new();
        for i in 0..40 {
            let api = if i % 2 == 0 { &a_api } else { &b_api };
            let m = api.send(&owner, &general, &format!("moving {i}")).await;
            ids.push(str_field(&m, "id"));
        }
        ids
    });

    // The client lands on the other node (a load balancer's choice).
    let url = crate::gateway_client::gateway_url(&on_b).await;
    let mut resumed = Gateway::connect(&url, Options::default().label("resumed on b")).await;
    resumed.resume(&info).await;
    posted.extend(during.await.unwrap());

    let mut got = Vec::new();
    let mut seqs = Vec::new();
    let mut saw_resumed = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while got.len() < posted.len() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(
            !left.is_zero(),
            "got {} of {} messages: {got:?}",
            got.len(),
            posted.len()
        );
        let ev = resumed.next_dispatch(left).await;
        seqs.push(ev.s);
        match ev.t.as_str() {
            "MESSAGE_CREATE" => got.push(str_field(&ev.d, "id")),
            "RESUMED" => saw_resumed = true,
            _ => {}
        }
    }
    assert!(saw_resumed, "the resume was answered with RESUMED");
    let mut sorted_got = got.clone();
    sorted_got.sort();
    sorted_got.dedup();
    assert_eq!(sorted_got.len(), got.len(), "no message twice: {got:?}");
    let mut sorted_posted = posted.clone();
    sorted_posted.sort();
    assert_eq!(
        sorted_got, sorted_posted,
        "every message posted since the drop"
    );
    let expected: Vec<u64> = (info.seq + 1..=info.seq + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "sequence numbers go on from the old node's");
    resumed.expect_no_dispatch("MESSAGE_CREATE", QUIET).await;

    // The session lives on `b` now: `a` let it go, and it hears new posts.
    let m = w.api.send(&w.owner, &w.general, "after").await;
    expect_message(&mut resumed, &str_field(&m, "id")).await;
    assert_eq!(w.api.metric("hearth_gateway_sessions").await, 0.0);

    // And back to `a`, timed: from Resume sent to RESUMED read.
    let info = crate::gateway_client::SessionInfo {
        seq: resumed.last_seq.expect("dispatches seen"),
        ..info
    };
    resumed.drop_tcp().await;
    let url = crate::gateway_client::gateway_url(&w.api).await;
    let mut back = Gateway::connect(&url, Options::default().label("back on a")).await;
    let asked = tokio::time::Instant::now();
    back.resume(&info).await;
    back.expect_dispatch("RESUMED", EVENT_TIMEOUT).await;
    eprintln!(
        "[cluster] resume on the other node: RESUMED {} ms after Resume",
        asked.elapsed().as_millis()
    );
    assert_eq!(on_b.metric("hearth_gateway_sessions").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_node_is_killed_resumes_on_the_other_with_nothing_lost() {
    let redis = redis_url();
    let (mut w, b) = two_nodes(&redis).await;
    let on_b = b.api();
    let mut gw = login(&w.api, &w.member, MSGS).await;

    // Read by the client before the node dies: through both nodes.
    for i in 0..4 {
        let api = if i % 2 == 0 { &w.api } else { &on_b };
        let m = api.send(&w.owner, &w.general, &format!("read {i}")).await;
        expect_message(&mut gw, &str_field(&m, "id")).await;
    }
    // Given to the session and never read by the client: the node dies
    // with them in its buffer.
    let mut missed = Vec::new();
    for i in 0..6 {
        let api = if i % 2 == 0 { &w.api } else { &on_b };
        let m = api.send(&w.owner, &w.general, &format!("unread {i}")).await;
        missed.push(str_field(&m, "id"));
    }
    let info = gw.session_info();
    // Let the last posts reach node a's fan-out (a REST call returns once
    // its event is published, before every node delivered it).
    tokio::time::sleep(Duration::from_millis(1000)).await;
    w.server.kill9();
    drop(gw);

    // Posted while the session has no node.
    for i in 0..5 {
        let m = on_b
            .send(&w.owner, &w.general, &format!("orphaned {i}"))
            .await;
        missed.push(str_field(&m, "id"));
    }
    // And while it is taken over.
    let (api, owner, general) = (on_b.clone(), w.owner.clone(), w.general.clone());
    let during = tokio::spawn(async move {
        let mut ids = Vec::new();
        for i in 0..20 {
            let m = api
                .send(&owner, &general, &format!("taking over {i}"))
                .await;
            ids.push(str_field(&m, "id"));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ids
    });

    let url = crate::gateway_client::gateway_url(&on_b).await;
    let mut resumed = Gateway::connect(&url, Options::default().label("resumed on b")).await;
    let asked = tokio::time::Instant::now();
    resumed.resume(&info).await;
    let first = resumed.next_dispatch(Duration::from_secs(15)).await;
    let resumed_after = asked.elapsed();
    missed.extend(during.await.unwrap());
    let mut got = Vec::new();
    let mut seqs = vec![first.s];
    let mut saw_resumed = first.t == "RESUMED";
    if first.t == "MESSAGE_CREATE" {
        got.push(str_field(&first.d, "id"));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while got.len() < missed.len() && tokio::time::Instant::now() < deadline {
        for f in resumed.collect(Duration::from_millis(500)).await {
            let Some(t) = f.t.as_deref() else { continue };
            seqs.push(f.s.expect("a dispatch has a sequence number"));
            match t {
                "MESSAGE_CREATE" => got.push(str_field(&f.d, "id")),
                "RESUMED" => saw_resumed = true,
                _ => {}
            }
        }
    }
    let lacking: Vec<usize> = (0..missed.len())
        .filter(|i| !got.contains(&missed[*i]))
        .collect();
    assert!(
        lacking.is_empty(),
        "got {} of {} messages; lacking {lacking:?}; resumed after {}, seqs {seqs:?}",
        got.len(),
        missed.len(),
        info.seq
    );
    assert!(saw_resumed, "the resume was answered with RESUMED");
    eprintln!(
        "[cluster] resume after the node's kill -9: first dispatch {} ms after Resume",
        resumed_after.as_millis()
    );
    let mut sorted_got = got.clone();
    sorted_got.sort();
    sorted_got.dedup();
    assert_eq!(sorted_got.len(), got.len(), "no message twice: {got:?}");
    let mut sorted_missed = missed.clone();
    sorted_missed.sort();
    assert_eq!(
        sorted_got, sorted_missed,
        "every message the client had not read"
    );
    let expected: Vec<u64> = (info.seq + 1..=info.seq + seqs.len() as u64).collect();
    assert_eq!(
        seqs, expected,
        "sequence numbers go on from the dead node's"
    );
    resumed.expect_no_dispatch("MESSAGE_CREATE", QUIET).await;
    let m = on_b.send(&w.owner, &w.general, "after").await;
    expect_message(&mut resumed, &str_field(&m, "id")).await;
    assert_eq!(on_b.metric("hearth_gateway_takeovers_total").await, 1.0);
    assert!(on_b.metric("hearth_gateway_journal_dispatches_total").await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connected_sessions_per_account_are_one_limit_across_nodes() {
    let redis = redis_url();
    let (w, b) = two_nodes_with(
        &redis,
        &[
            "--rate-limits",
            "on",
            "--max-sessions-per-user",
            "2",
            "--identify-max-concurrency",
            "16",
        ],
    )
    .await;
    let on_b = b.api();
    // One session on each node: the third, on either, is refused (4008).
    let first = login(&w.api, &w.member, MSGS).await;
    let mut second = login(&on_b, &w.member, MSGS).await;
    for api in [&w.api, &on_b] {
        let url = crate::gateway_client::gateway_url(api).await;
        let mut third = Gateway::connect(&url, Options::default().label("third")).await;
        third.identify(&w.member.token, MSGS).await;
        third.expect_close_code(4008).await;
    }
    // A session whose connection went no longer counts, on either node.
    first.close(1000).await;
    let mut again = None;
    for _ in 0..50 {
        let url = crate::gateway_client::gateway_url(&on_b).await;
        let mut gw = Gateway::connect(&url, Options::default().label("again")).await;
        gw.identify(&w.member.token, MSGS).await;
        // READY, or a close while node a's release is on its way.
        let frames = gw.collect(Duration::from_millis(500)).await;
        if frames.iter().any(|f| f.t.as_deref() == Some("READY")) {
            again = Some(gw);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        again.is_some(),
        "a place freed on node a is taken on node b"
    );
    second.assert_alive().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_with_sigterm_lets_its_sessions_resume_on_the_other_at_once() {
    let redis = redis_url();
    let (mut w, b) = two_nodes(&redis).await;
    let on_b = b.api();
    let mut gw = login(&w.api, &w.member, MSGS).await;
    let m = on_b.send(&w.owner, &w.general, "before").await;
    expect_message(&mut gw, &str_field(&m, "id")).await;

    // A rolling restart: node a is told to stop; its client is told to
    // reconnect (op 7) and resumes on node b.
    w.server.signal_term();
    gw.expect_op(op::RECONNECT, EVENT_TIMEOUT).await;
    let info = gw.session_info();
    drop(gw);
    let mut missed = Vec::new();
    for i in 0..3 {
        let m = on_b
            .send(&w.owner, &w.general, &format!("while moving {i}"))
            .await;
        missed.push(str_field(&m, "id"));
    }
    assert!(w.server.wait_exit(Duration::from_secs(10)).success());
    let url = crate::gateway_client::gateway_url(&on_b).await;
    let mut resumed = Gateway::connect(&url, Options::default().label("resumed on b")).await;
    let asked = tokio::time::Instant::now();
    resumed.resume(&info).await;
    resumed.expect_dispatch("RESUMED", EVENT_TIMEOUT).await;
    let took = asked.elapsed();
    // Not held back by the heartbeat's 3 s lifetime: the node said it left
    // (a time, printed; not a pass/fail threshold).
    eprintln!(
        "[cluster] resume after the node's SIGTERM: RESUMED {} ms after Resume",
        took.as_millis()
    );
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while got.len() < missed.len() && tokio::time::Instant::now() < deadline {
        got.extend(messages_within(&mut resumed, Duration::from_millis(300)).await);
    }
    got.sort();
    missed.sort();
    assert_eq!(
        got, missed,
        "every message posted while the session moved, once"
    );
}

#[tokio::test]
async fn a_private_thread_made_on_one_node_shows_on_the_other_to_its_members_only() {
    let redis = redis_url();
    let (w, b) = two_nodes(&redis).await;
    let on_b = b.api();
    let outsider = w.add_member("outsider").await;
    let mut member_on_b = login(&on_b, &w.member, MSGS).await;
    let mut outsider_on_b = login(&on_b, &outsider, MSGS).await;

    // Made by the owner through node a, with the member added.
    let thread = w
        .api
        .post(
            &format!("/channels/{}/threads", w.general),
            w.owner.auth(),
            Some(serde_json::json!({"name": "plans", "type": 12})),
        )
        .await
        .expect(201);
    let tid = str_field(&thread, "id");
    w.api
        .put(
            &format!("/channels/{tid}/thread-members/{}", w.member.id),
            w.owner.auth(),
            None,
        )
        .await
        .expect(204);
    let shown = member_on_b
        .expect_dispatch("THREAD_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(shown["id"], tid.as_str());
    let posted = w.api.send(&w.owner, &tid, "across nodes").await;
    expect_message(&mut member_on_b, &str_field(&posted, "id")).await;
    outsider_on_b
        .expect_no_dispatch("THREAD_CREATE", QUIET)
        .await;
    outsider_on_b
        .expect_no_dispatch_where("MESSAGE_CREATE", |d| d["channel_id"] == tid.as_str(), QUIET)
        .await;
    // Read through node b: the same rules.
    on_b.get(&format!("/channels/{tid}/messages"), outsider.auth())
        .await
        .expect_error(403, 50001);
    on_b.get(&format!("/channels/{tid}/messages"), w.member.auth())
        .await
        .expect(200);
}
