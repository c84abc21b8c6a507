//! Real bot libraries, unmodified, against the real binary: discord.py
//! (from PyPI, in the virtual environment `scripts/test.sh` makes and
//! names in `HEARTH_TEST_DISCORD_PY`).

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_py_bot_logs_in_greets_and_answers() {
    let python = discord_py();
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

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/e2e/bots/discord_py_bot.py"
    );
    let base = w
        .api
        .base
        .trim_end_matches('/')
        .trim_end_matches("/api/v10");
    let mut child = std::process::Command::new(python)
        .arg(script)
        .env("HEARTH_URL", base)
        .env("HEARTH_BOT_TOKEN", bot.token.trim_start_matches("Bot "))
        .env("HEARTH_CHANNEL_ID", &w.general)
        .env("HEARTH_ROLE_ID", str_field(&role, "id"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running discord.py");

    // It logs in (REST, then the gateway with zlib-stream) and says hello.
    let hello = watcher
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["author"]["id"] == app_id.as_str(),
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(hello.d["content"], "hello from discord.py");
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
        if child.try_wait().expect("polling discord.py").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if child.try_wait().expect("polling discord.py").is_none() {
        let _ = child.kill();
    }
    let output = child.wait_with_output().expect("discord.py's output");
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "discord.py failed:\n{out}\n{err}");
    assert!(out.contains("DONE"), "{out}\n{err}");
}
