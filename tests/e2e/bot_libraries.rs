//! Real bot libraries, unmodified, against the real binary: discord.py
//! (from PyPI, in the virtual environment `scripts/test.sh` makes and
//! names in `HEARTH_TEST_DISCORD_PY`) and discord.js (from npm, in the
//! directory it names in `HEARTH_TEST_DISCORD_JS`).

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::gateway_client::{intents, login, EVENT_TIMEOUT};
use crate::harness::{str_field, World};

fn discord_py() -> String {
    std::env::var("HEARTH_TEST_DISCORD_PY").unwrap_or_else(|_| {
        panic!(
            "HEARTH_TEST_DISCORD_PY must name a Python with discord.py installed \
             (scripts/test.sh makes one under target/discord-py and sets it)"
        )
    })
}

fn discord_js() -> String {
    std::env::var("HEARTH_TEST_DISCORD_JS").unwrap_or_else(|_| {
        panic!(
            "HEARTH_TEST_DISCORD_JS must name a node_modules directory with discord.js \
             (scripts/test.sh installs one under target/discord-js and sets it)"
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_py_bot_logs_in_greets_and_answers() {
    let python = discord_py();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/e2e/bots/discord_py_bot.py"
    );
    bot_greets_and_answers(std::process::Command::new(python).arg(script)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_js_bot_logs_in_greets_and_answers() {
    let modules = discord_js();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/e2e/bots/discord_js_bot.js"
    );
    bot_greets_and_answers(
        std::process::Command::new("node")
            .arg(script)
            .env("NODE_PATH", modules),
    )
    .await;
}

/// Runs a bot (`command`, told where everything is through its
/// environment): it says hello, answers a mention saying "ping" with a
/// reply, and exits 0.
async fn bot_greets_and_answers(command: &mut std::process::Command) {
    let w = World::new().await;
    let (app, bot) = w.api.create_bot(&w.owner, "pybot").await;
    let app_id = str_field(&app, "id");
    w.api
        .authorize_bot(&w.owner, &w.guild_id, &app_id, 0x400 | 0x800 | 0x40)
        .await
        .expect(200);
    let role = w
        .api
        .create_role(
            &w.owner,
            &w.guild_id,
            json!({"name": "teal", "colors": {"primary_color": 0x11_8899}}),
        )
        .await;
    let mut watcher = login(&w.api, &w.owner, intents::GUILDS | intents::GUILD_MESSAGES).await;

    let base = w
        .api
        .base
        .trim_end_matches('/')
        .trim_end_matches("/api/v10");
    let mut child = command
        .env("HEARTH_URL", base)
        .env("HEARTH_BOT_TOKEN", bot.token.trim_start_matches("Bot "))
        .env("HEARTH_CHANNEL_ID", &w.general)
        .env("HEARTH_ROLE_ID", str_field(&role, "id"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running the bot");

    // It logs in (REST, then the gateway with zlib-stream) and says hello.
    let hello = watcher
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["author"]["id"] == app_id.as_str(),
            Duration::from_secs(30),
        )
        .await;
    let greeting = hello.d["content"].as_str().unwrap_or_default();
    assert!(greeting.starts_with("hello from discord."), "{}", hello.d);
    // A mention reaches it with its content; it replies.
    let ping = w
        .api
        .send(&w.owner, &w.general, &format!("<@{app_id}> ping"))
        .await;
    let pong = watcher
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["author"]["id"] == app_id.as_str() && d["content"] == "pong",
            EVENT_TIMEOUT,
        )
        .await;
    assert_eq!(
        pong.d["message_reference"]["message_id"],
        str_field(&ping, "id").as_str()
    );

    for _ in 0..300 {
        if child.try_wait().expect("polling the bot").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if child.try_wait().expect("polling the bot").is_none() {
        let _ = child.kill();
    }
    let output = child.wait_with_output().expect("the bot's output");
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "the bot failed:\n{out}\n{err}");
    assert!(out.contains("DONE"), "{out}\n{err}");
}
