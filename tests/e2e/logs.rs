//! What a node writes to stderr: with `--log-format json` every line is a
//! JSON object, and in either format every line names the node's id and
//! region and carries no colour codes when stderr is not a terminal.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Runs a node with `args` and `HEARTH_LOG=level`, registers an account on
/// it, stops it with SIGTERM and returns everything it wrote to stderr.
async fn stderr_of_a_node(args: &[&str], level: &str) -> String {
    let dir = tempfile::tempdir().expect("a temporary data directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("serve")
        .args([
            "--listen",
            "127.0.0.1:0",
            "--rate-limits",
            "off",
            "--data-dir",
        ])
        .arg(dir.path())
        .args(args)
        .env("HEARTH_LOG", level)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the hearth binary");
    let mut stderr = child.stderr.take().expect("piped stderr");
    // Drained all along so the pipe never fills.
    let collected = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = stderr.read_to_string(&mut all);
        all
    });
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("hearth listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("hearth did not start within 30 s");
        });
    let register = hearth_loadtest::http_client()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
        .post(format!("{base}/api/v10/auth/register"))
        .json(&json!({"username": "logged", "password": "correct-horse-battery"}))
        .send()
        .await
        .expect("registering");
    assert!(register.status().is_success(), "{}", register.status());
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("running kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("polling hearth").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hearth did not stop within 20 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    collected.join().expect("the stderr reader")
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_each_naming_the_node_and_region() {
    // Debug: lines from many tasks, threads and crates, some multi-line.
    let stderr = stderr_of_a_node(
        &[
            "--log-format",
            "json",
            "--node-id",
            "7",
            "--region",
            "eu-test",
        ],
        "debug",
    )
    .await;
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.len() >= 5,
        "a node started, served and stopped in fewer than 5 lines:\n{stderr}"
    );
    for line in &lines {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line:?}"));
        assert_eq!(v["node_id"], 7, "{line}");
        assert_eq!(v["region"], "eu-test", "{line}");
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
    }
    assert!(
        lines
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|v| v["message"] == "serving" && v["addr"].is_string()),
        "no \"serving\" line with its fields at the top level:\n{stderr}"
    );
}

#[tokio::test]
async fn text_logs_name_the_node_on_every_line_without_colour_into_a_pipe() {
    // Info: debug lines of the store hold SQL over several lines.
    let stderr = stderr_of_a_node(&["--node-id", "5", "--region", "us"], "info").await;
    assert!(!stderr.is_empty());
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in logs that go to a pipe:\n{stderr}"
    );
    for line in stderr.lines() {
        assert!(
            line.ends_with(" node_id=5 region=us"),
            "a line without the node: {line:?}"
        );
    }
}
