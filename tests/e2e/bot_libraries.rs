//! Real bot libraries, unmodified, against the real binary: discord.py
//! (from PyPI, in the virtual environment `scripts/test.sh` makes and
//! names in `HEARTH_TEST_DISCORD_PY`) and discord.js (from npm, in the
//! directory it names in `HEARTH_TEST_DISCORD_JS`).

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::gateway_client::{intents, login, EVENT_TIMEOUT};
use crate::harness::{str_field, World};

/// A bot's process, its output kept in files: when the test fails midway,
/// the bot is stopped and what it printed is shown with the failure.
struct Bot {
    child: std::process::Child,
    out: std::path::PathBuf,
    err: std::path::PathBuf,
}

impl Bot {
    fn spawn(command: &mut std::process::Command) -> Bot {
        let dir = std::env::temp_dir();
        let tag = format!(
            "hearth-bot-{}-{}",
            std::process::id(),
            hearth_model::snowflake::now_unix_ms()
        );
        let out = dir.join(format!("{tag}.out"));
        let err = dir.join(format!("{tag}.err"));
        let child = command
            .stdout(Stdio::from(
                std::fs::File::create(&out).expect("bot stdout file"),
            ))
            .stderr(Stdio::from(
                std::fs::File::create(&err).expect("bot stderr file"),
            ))
            .spawn()
            .expect("running the bot");
        Bot { child, out, err }
    }

    fn exited(&mut self) -> bool {
        self.child.try_wait().expect("polling the bot").is_some()
    }

    fn output(&self) -> (String, String) {
        (
            std::fs::read_to_string(&self.out).unwrap_or_default(),
            std::fs::read_to_string(&self.err).unwrap_or_default(),
        )
    }

    /// Waits (bounded) for the bot to exit; its status and output.
    async fn finish(mut self) -> (std::process::ExitStatus, String, String) {
        for _ in 0..300 {
            if self.exited() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.child.kill();
        let status = self.child.wait().expect("the bot's status");
        let (out, err) = self.output();
        (status, out, err)
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let (out, err) = self.output();
            eprintln!("--- the bot printed:\n{out}\n--- and on stderr:\n{err}");
        }
        let _ = std::fs::remove_file(&self.out);
        let _ = std::fs::remove_file(&self.err);
    }
}

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
        .authorize_bot(
            &w.owner,
            &w.guild_id,
            &app_id,
            // Threads too: READ_MESSAGE_HISTORY, CREATE_PUBLIC_THREADS,
            // SEND_MESSAGES_IN_THREADS.
            0x400 | 0x800 | 0x40 | 0x8000 | 1 << 16 | 1 << 35 | 1 << 38,
        )
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
    let child = Bot::spawn(
        command
            .env("HEARTH_URL", base)
            .env("HEARTH_BOT_TOKEN", bot.token.trim_start_matches("Bot "))
            .env("HEARTH_CHANNEL_ID", &w.general)
            .env("HEARTH_ROLE_ID", str_field(&role, "id")),
    );

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
    // A mention reaches it with its content and a file; it replies with
    // the file's bytes as a file of its own: the library read the
    // attachment's link and uploaded through multipart.
    let ping = crate::uploads::upload(
        &w.api,
        &w.owner,
        &format!("/channels/{}/messages", w.general),
        json!({"content": format!("<@{app_id}> ping")}),
        &[crate::uploads::part(
            "ping.txt",
            b"a file for the bot".to_vec(),
            "text/plain",
        )],
    )
    .await
    .expect(200);
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
    let echo = &pong.d["attachments"][0];
    assert_eq!(echo["filename"], "echo.txt", "{}", pong.d);
    assert_eq!(echo["description"], "what you sent");
    let bytes = w
        .api
        .http()
        .get(str_field(echo, "url"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), b"a file for the bot");
    // It starts a thread from the ping (the library's own call) and
    // writes in it.
    let ping_id = str_field(&ping, "id");
    let thread = watcher
        .expect_dispatch("THREAD_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(thread["id"], ping_id.as_str());
    assert_eq!(thread["name"], "ping thread");
    watcher
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["channel_id"] == ping_id.as_str() && d["content"] == "in the thread",
            EVENT_TIMEOUT,
        )
        .await;

    let (status, out, err) = child.finish().await;
    assert!(status.success(), "the bot failed:\n{out}\n{err}");
    assert!(out.contains("DONE"), "{out}\n{err}");
}

/// A modal's fields as a client submits them: the layout the modal had
/// (action rows, as discord.js sends them, or labels, as twilight does),
/// each text input with `value` entered.
fn filled(modal: &serde_json::Value, value: &str) -> serde_json::Value {
    let input = |c: &serde_json::Value| json!({"type": 4, "id": c["id"], "custom_id": c["custom_id"], "value": value});
    let fields: Vec<serde_json::Value> = modal["components"]
        .as_array()
        .expect("the modal's components")
        .iter()
        .map(|f| match f["type"].as_u64() {
            Some(18) => json!({"type": 18, "id": f["id"], "component": input(&f["component"])}),
            _ => json!({"type": 1, "id": f["id"], "components": [input(&f["components"][0])]}),
        })
        .collect();
    serde_json::Value::Array(fields)
}

/// What a member does to a bot's slash commands, through Hearth's client
/// endpoints, while a real bot library answers.
struct Invoker<'a> {
    w: &'a World,
    app_id: String,
    commands: serde_json::Value,
}

impl Invoker<'_> {
    async fn run(&self, name: &str, options: serde_json::Value) {
        let command = self.commands["application_commands"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no command {name}: {}", self.commands))
            .clone();
        self.w
            .api
            .post(
                "/interactions",
                self.w.member.auth(),
                Some(json!({
                    "type": 2, "application_id": self.app_id, "guild_id": self.w.guild_id,
                    "channel_id": self.w.general,
                    "data": {"id": command["id"], "name": name, "type": 1, "options": options}
                })),
            )
            .await
            .expect(204);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_js_bot_answers_commands_buttons_reactions_and_modals() {
    let modules = discord_js();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/e2e/bots/discord_js_interactions_bot.js"
    );
    bot_answers_interactions(
        std::process::Command::new("node")
            .arg(script)
            .env("NODE_PATH", modules),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_twilight_bot_answers_commands_buttons_reactions_and_modals() {
    let bot = std::env::var("HEARTH_TEST_TWILIGHT_BOT").unwrap_or_else(|_| {
        panic!(
            "HEARTH_TEST_TWILIGHT_BOT must name the twilight bot's binary \
             (scripts/test.sh builds tests/e2e/bots/twilight_bot and sets it)"
        )
    });
    bot_answers_interactions(&mut std::process::Command::new(bot)).await;
}

/// Runs a bot built on interactions (`command`, told where everything is
/// through its environment) and uses its commands, button and modal as a
/// member would; the bot exits 0 once it has answered the modal.
async fn bot_answers_interactions(command: &mut std::process::Command) {
    let w = World::new().await;
    let (app, bot) = w.api.create_bot(&w.owner, "jsbot").await;
    let app_id = str_field(&app, "id");
    w.api
        .authorize_bot(
            &w.owner,
            &w.guild_id,
            &app_id,
            0x400 | 0x800 | 0x40 | 0x10000,
        )
        .await
        .expect(200);
    let mut member = login(
        &w.api,
        &w.member,
        intents::GUILDS | intents::GUILD_MESSAGES | intents::GUILD_MESSAGE_REACTIONS,
    )
    .await;
    let base = w
        .api
        .base
        .trim_end_matches('/')
        .trim_end_matches("/api/v10");
    // A thread the bot finds in GUILD_CREATE: its library must read it.
    let before = w
        .api
        .post(
            &format!("/channels/{}/threads", w.general),
            w.member.auth(),
            Some(json!({"name": "before the bot", "type": 11})),
        )
        .await
        .expect(201);
    w.api
        .send(&w.member, &str_field(&before, "id"), "already here")
        .await;
    let mut child = Bot::spawn(
        command
            .env("HEARTH_URL", base)
            .env("HEARTH_HOST", base.trim_start_matches("http://"))
            .env("HEARTH_BOT_TOKEN", bot.token.trim_start_matches("Bot "))
            .env("HEARTH_GUILD_ID", &w.guild_id),
    );

    // The bot registers its commands; the member sees them offered.
    let index_path = format!("/guilds/{}/application-command-index", w.guild_id);
    let mut commands = json!({});
    for _ in 0..300 {
        commands = w.api.get(&index_path, w.member.auth()).await.expect(200);
        if commands["application_commands"].as_array().map(Vec::len) == Some(4) {
            break;
        }
        if child.exited() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        commands["application_commands"].as_array().map(Vec::len),
        Some(4),
        "the bot registered no commands: {commands}"
    );
    let by_bot = |d: &serde_json::Value| d["author"]["id"] == app_id.as_str();
    let invoker = Invoker {
        w: &w,
        app_id: app_id.clone(),
        commands,
    };

    // A slash command with options: a reply with a button, and the bot's
    // own reaction on it.
    invoker
        .run(
            "echo",
            json!([
                {"name": "text", "type": 3, "value": "hi"},
                {"name": "who", "type": 6, "value": w.owner.id}
            ]),
        )
        .await;
    let echo = member
        .expect_dispatch_where("MESSAGE_CREATE", by_bot, Duration::from_secs(20))
        .await
        .d;
    assert_eq!(echo["content"], "echo: hi to owner", "{echo}");
    assert_eq!(echo["components"][0]["components"][0]["custom_id"], "again");
    let echo_id = str_field(&echo, "id");
    let reacted = member
        .expect_dispatch("MESSAGE_REACTION_ADD", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(reacted["user_id"], app_id.as_str());
    assert_eq!(reacted["emoji"]["name"], "👍");

    // The member reacts; the bot notices.
    w.api
        .put(
            &format!(
                "/channels/{}/messages/{echo_id}/reactions/🎉/@me",
                w.general
            ),
            w.member.auth(),
            None,
        )
        .await
        .expect(204);
    let saw = format!("saw 🎉 from {}", w.member.id);
    member
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["content"] == saw.as_str(),
            EVENT_TIMEOUT,
        )
        .await;

    // The member clicks the button; the bot updates its message.
    w.api
        .post(
            "/interactions",
            w.member.auth(),
            Some(json!({
                "type": 3, "application_id": app_id, "guild_id": w.guild_id,
                "channel_id": w.general, "message_id": echo_id,
                "data": {"component_type": 2, "custom_id": "again"}
            })),
        )
        .await
        .expect(204);
    let updated = member
        .expect_dispatch_where(
            "MESSAGE_UPDATE",
            |d| d["id"] == echo_id.as_str(),
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(updated["content"], "clicked again");
    assert_eq!(updated["components"], json!([]));

    // Deferred, then edited, then a follow-up.
    invoker.run("slow", json!([])).await;
    member
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["content"] == "thought about it",
            EVENT_TIMEOUT,
        )
        .await;
    member
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["content"] == "and one more thing",
            EVENT_TIMEOUT,
        )
        .await;

    // Ephemeral: only the member gets it, flagged.
    invoker.run("secret", json!([])).await;
    let secret = member
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["content"] == "between us",
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(secret["flags"], 64);

    // Thread dispatches reach the bot, whose library must read them (a
    // twilight bot fails on any it cannot): made, written in, archived.
    let thread = w
        .api
        .post(
            &format!("/channels/{}/threads", w.general),
            w.member.auth(),
            Some(json!({"name": "while it runs", "type": 11})),
        )
        .await
        .expect(201);
    let tid = str_field(&thread, "id");
    w.api.send(&w.member, &tid, "in a thread").await;
    w.api
        .patch(
            &format!("/channels/{tid}"),
            w.member.auth(),
            Some(json!({"archived": true})),
        )
        .await
        .expect(200);

    // A modal: it opens for the member, who submits it; the bot thanks.
    invoker.run("form", json!([])).await;
    let modal = member
        .expect_dispatch("INTERACTION_MODAL_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(modal["custom_id"], "fb");
    w.api
        .post(
            "/interactions",
            w.member.auth(),
            Some(json!({
                "type": 5, "application_id": app_id, "channel_id": w.general,
                "data": {"id": modal["id"], "custom_id": "fb", "components": filled(&modal, "great")}
            })),
        )
        .await
        .expect(204);
    member
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["content"] == "thanks: great",
            EVENT_TIMEOUT,
        )
        .await;

    let (status, out, err) = child.finish().await;
    assert!(status.success(), "the bot failed:\n{out}\n{err}");
    for step in [
        "COMMANDS echo,form,secret,slow",
        "ECHOED",
        "REACTION",
        "CLICKED",
        "SLOW",
        "SECRET true",
        "MODAL",
        "DONE",
    ] {
        assert!(out.contains(step), "missing {step}:\n{out}\n{err}");
    }
}
