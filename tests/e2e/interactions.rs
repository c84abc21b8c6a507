//! Application commands and interactions through the real binary: a bot
//! (a raw gateway session) defines commands, a member uses them, the bot
//! answers through the callback and its webhook.

use std::time::Duration;

use serde_json::{json, Value};

use crate::gateway_client::{intents, login, Gateway, EVENT_TIMEOUT, QUIET};
use crate::harness::{iso_from_now, perm, str_field, User, World, UNKNOWN_ID};

const MEMBER_INTENTS: u64 = intents::GUILDS | intents::GUILD_MESSAGES;

struct Setup {
    w: World,
    bot: User,
    app_id: String,
    bot_gw: Gateway,
}

async fn setup() -> Setup {
    let w = World::new().await;
    let (app, bot) = w.api.create_bot(&w.owner, "helper").await;
    let app_id = str_field(&app, "id");
    w.api
        .authorize_bot(
            &w.owner,
            &w.guild_id,
            &app_id,
            perm::VIEW_CHANNEL | perm::SEND_MESSAGES,
        )
        .await
        .expect(200);
    let bot_gw = login(&w.api, &bot, intents::GUILDS).await;
    Setup {
        w,
        bot,
        app_id,
        bot_gw,
    }
}

impl Setup {
    fn commands(&self) -> String {
        format!(
            "/applications/{}/guilds/{}/commands",
            self.app_id, self.w.guild_id
        )
    }

    async fn define(&self, body: Value) -> Value {
        self.w
            .api
            .post(&self.commands(), self.bot.auth(), Some(body))
            .await
            .expect(201)
    }

    async fn invoke(&self, by: &User, body: Value) -> crate::harness::Resp {
        self.w
            .api
            .post("/interactions", by.auth(), Some(body))
            .await
    }

    /// The member runs a slash command; the bot's INTERACTION_CREATE.
    async fn run(&mut self, by: &User, command: &Value, options: Value) -> Value {
        let body = json!({
            "type": 2, "application_id": self.app_id, "guild_id": self.w.guild_id,
            "channel_id": self.w.general, "nonce": "n1",
            "data": {"id": command["id"], "name": command["name"], "type": 1, "options": options}
        });
        self.invoke(by, body).await.expect(204);
        self.bot_gw
            .expect_dispatch("INTERACTION_CREATE", EVENT_TIMEOUT)
            .await
            .d
    }

    async fn callback(&self, interaction: &Value, body: Value) -> crate::harness::Resp {
        let path = format!(
            "/interactions/{}/{}/callback",
            str_field(interaction, "id"),
            str_field(interaction, "token")
        );
        self.w.api.post(&path, None, Some(body)).await
    }

    fn hook(&self, interaction: &Value, rest: &str) -> String {
        format!(
            "/webhooks/{}/{}{rest}",
            self.app_id,
            str_field(interaction, "token")
        )
    }
}

#[tokio::test]
async fn answers_and_follow_ups_may_carry_files() {
    use crate::uploads::{form, form_type, part};
    let mut s = setup().await;
    let api = s.w.api.clone();
    let mut member_gw = login(&api, &s.w.member, MEMBER_INTENTS).await;
    let echo = s.define(echo_command()).await;
    let i = s
        .run(
            &s.w.member.clone(),
            &echo,
            json!([{"name": "text", "type": 3, "value": "hi"}]),
        )
        .await;
    let callback = format!(
        "/interactions/{}/{}/callback",
        str_field(&i, "id"),
        str_field(&i, "token")
    );
    // An ephemeral answer cannot carry files here (refused before the
    // response is claimed, so a good one can follow).
    api.raw(
        reqwest::Method::POST,
        &callback,
        None,
        Some(&form_type()),
        form(
            &json!({"type": 4, "data": {"content": "secret", "flags": 64}}),
            &[part("s.txt", b"secret".to_vec(), "text/plain")],
        ),
    )
    .await
    .expect(501);
    api.raw(
        reqwest::Method::POST,
        &callback,
        None,
        Some(&form_type()),
        form(
            &json!({"type": 4, "data": {"attachments": [{"id": 0, "description": "the answer"}]}}),
            &[part("answer.txt", b"forty-two".to_vec(), "text/plain")],
        ),
    )
    .await
    .expect(204);
    let answer = member_gw
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["attachments"][0]["filename"] == "answer.txt",
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(answer["content"], "");
    assert_eq!(answer["attachments"][0]["description"], "the answer");
    let follow_up = api
        .raw(
            reqwest::Method::POST,
            &s.hook(&i, ""),
            None,
            Some(&form_type()),
            form(
                &json!({"content": "and more"}),
                &[part("more.txt", b"more".to_vec(), "text/plain")],
            ),
        )
        .await
        .expect(200);
    assert_eq!(follow_up["attachments"][0]["filename"], "more.txt");
    let bytes = api
        .http()
        .get(str_field(&follow_up["attachments"][0], "url"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), b"more");
}

#[tokio::test]
async fn edits_of_answers_may_carry_files() {
    use crate::uploads::{form, form_type, part};
    let mut s = setup().await;
    let api = s.w.api.clone();
    let mut member_gw = login(&api, &s.w.member, MEMBER_INTENTS).await;
    let echo = s.define(echo_command()).await;
    let i = s
        .run(
            &s.w.member.clone(),
            &echo,
            json!([{"name": "text", "type": 3, "value": "hi"}]),
        )
        .await;
    let callback = format!(
        "/interactions/{}/{}/callback",
        str_field(&i, "id"),
        str_field(&i, "token")
    );
    api.post(&callback, None, Some(json!({"type": 5})))
        .await
        .expect(204);
    // The deferred original arrives with its first edit: files alone, as
    // a library's `editReply({files})` sends them.
    let original = s.hook(&i, "/messages/@original");
    let first = api
        .raw(
            reqwest::Method::PATCH,
            &original,
            None,
            Some(&form_type()),
            form(
                &json!({}),
                &[part("chart.txt", b"v1".to_vec(), "text/plain")],
            ),
        )
        .await
        .expect(200);
    assert_eq!(first["attachments"][0]["filename"], "chart.txt");
    member_gw
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["attachments"][0]["filename"] == "chart.txt",
            EVENT_TIMEOUT,
        )
        .await;
    // A later edit replaces the file: the old one is not kept, a new one
    // is added, and the words change.
    let second = api
        .raw(
            reqwest::Method::PATCH,
            &original,
            None,
            Some(&form_type()),
            form(
                &json!({"content": "updated", "attachments": []}),
                &[part("chart-2.txt", b"v2".to_vec(), "text/plain")],
            ),
        )
        .await
        .expect(200);
    let files: Vec<_> = second["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].clone())
        .collect();
    assert_eq!(files, vec![json!("chart-2.txt")]);
    let update = member_gw
        .expect_dispatch_where(
            "MESSAGE_UPDATE",
            |d| d["content"] == "updated",
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(update["attachments"][0]["filename"], "chart-2.txt");
    // The dropped file goes: the reaper deletes it at once, and its link
    // then finds nothing (bounded wait: 50 tries, 100 ms apart).
    let old_link = str_field(&first["attachments"][0], "url");
    let mut status = 0;
    for _ in 0..50 {
        status = api
            .http()
            .get(&old_link)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 404, "the replaced file is still served");
    // An edit with a JSON body keeps the file.
    let third = api
        .patch(&original, None, Some(json!({"content": "final"})))
        .await
        .expect(200);
    assert_eq!(third["attachments"][0]["filename"], "chart-2.txt");
    // An 11th file is refused, and changes nothing.
    let many: Vec<_> = (0..10)
        .map(|n| part("n.txt", vec![b'x'; n + 1], "text/plain"))
        .collect();
    api.raw(
        reqwest::Method::PATCH,
        &original,
        None,
        Some(&form_type()),
        form(&json!({}), &many),
    )
    .await
    .expect_field_error(&["attachments"]);
}

fn echo_command() -> Value {
    json!({
        "name": "echo", "description": "Says it back",
        "options": [
            {"type": 3, "name": "text", "description": "What to say", "required": true, "max_length": 50},
            {"type": 6, "name": "who", "description": "Whom to greet"},
            {"type": 4, "name": "times", "description": "How often", "min_value": 1, "max_value": 3}
        ]
    })
}

#[tokio::test]
async fn commands_are_defined_listed_edited_replaced_and_deleted() {
    let s = setup().await;
    let api = &s.w.api;
    let echo = s.define(echo_command()).await;
    assert_eq!(echo["application_id"], s.app_id.as_str());
    assert_eq!(echo["guild_id"], s.w.guild_id.as_str());
    assert_eq!(echo["type"], 1);
    assert_eq!(echo["options"][0]["max_length"], 50);

    // The same name again replaces it, keeping its id (200, not 201).
    let again = api
        .post(
            &s.commands(),
            s.bot.auth(),
            Some(json!({"name": "echo", "description": "Repeats"})),
        )
        .await
        .expect(200);
    assert_eq!(again["id"], echo["id"]);
    assert_eq!(again["description"], "Repeats");
    let listed = api.get(&s.commands(), s.bot.auth()).await.expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let one = format!("{}/{}", s.commands(), str_field(&echo, "id"));
    let edited = api
        .patch(
            &one,
            s.bot.auth(),
            Some(json!({"description": "Edited", "default_member_permissions": "8192"})),
        )
        .await
        .expect(200);
    assert_eq!(edited["name"], "echo");
    assert_eq!(edited["description"], "Edited");
    assert_eq!(edited["default_member_permissions"], "8192");
    assert_ne!(edited["version"], echo["version"]);

    // Bulk overwrite: echo stays (same id), ping is new, nothing else.
    let replaced = api
        .put(
            &s.commands(),
            s.bot.auth(),
            Some(json!([
                {"name": "echo", "description": "Back again"},
                {"name": "ping", "description": "Pong"},
                {"name": "Inspect", "type": 2}
            ])),
        )
        .await
        .expect(200);
    let names: Vec<&str> = replaced
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["echo", "ping", "Inspect"]);
    assert_eq!(replaced[0]["id"], echo["id"]);

    // Global commands are their own scope.
    let global = format!("/applications/{}/commands", s.app_id);
    api.post(
        &global,
        s.bot.auth(),
        Some(json!({"name": "help", "description": "Help"})),
    )
    .await
    .expect(201);
    assert_eq!(
        api.get(&global, s.bot.auth())
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Members see what they may use: default_member_permissions hides.
    api.patch(
        &format!("{}/{}", s.commands(), str_field(&replaced[1], "id")),
        s.bot.auth(),
        Some(json!({"default_member_permissions": "8"})),
    )
    .await
    .expect(200);
    let index = api
        .get(
            &format!("/guilds/{}/application-command-index", s.w.guild_id),
            s.w.member.auth(),
        )
        .await
        .expect(200);
    let visible: Vec<&str> = index["application_commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        visible.contains(&"echo") && visible.contains(&"help") && !visible.contains(&"ping"),
        "{visible:?}"
    );
    assert_eq!(index["applications"][0]["id"], s.app_id.as_str());

    // Only the application (or its owner) manages its commands.
    api.get(&s.commands(), s.w.member.auth())
        .await
        .expect_error(403, 50001);
    api.delete(&one, s.bot.auth()).await.expect(204);
    api.get(&one, s.bot.auth()).await.expect_error(404, 10063);
}

#[tokio::test]
async fn bad_command_definitions_are_refused_whole() {
    let s = setup().await;
    let api = &s.w.api;
    let path = s.commands();
    let bad = |body: Value| api.post(&path, s.bot.auth(), Some(body));
    bad(json!({"name": "Has Caps", "description": "x"}))
        .await
        .expect_field_error(&["name"]);
    bad(json!({"name": "ok", "description": ""}))
        .await
        .expect_field_error(&["description"]);
    bad(json!({"name": "ok", "description": "x", "options": [
        {"type": 3, "name": "b", "description": "b"},
        {"type": 3, "name": "a", "description": "a", "required": true}
    ]}))
    .await
    .expect_field_error(&["options", "1"]);
    bad(json!({"name": "ok", "description": "x", "options": [
        {"type": 1, "name": "sub", "description": "s", "options": [{"type": 1, "name": "deeper", "description": "d"}]}
    ]})).await.expect_field_error(&["options", "0", "options"]);
    let many: Vec<Value> = (0..26)
        .map(|i| json!({"type": 3, "name": format!("o{i}"), "description": "d"}))
        .collect();
    bad(json!({"name": "ok", "description": "x", "options": many}))
        .await
        .expect_field_error(&["options"]);
    bad(json!({"name": "ok", "description": "x", "options": [
        {"type": 4, "name": "n", "description": "n", "choices": [{"name": "one", "value": "1"}]}
    ]}))
    .await
    .expect_field_error(&["options", "0", "choices", "0", "value"]);
    bad(json!({"name": "menu", "type": 3, "description": "not allowed"}))
        .await
        .expect_field_error(&["description"]);
    // Nothing of it was stored.
    assert_eq!(
        api.get(&s.commands(), s.bot.auth()).await.expect(200),
        json!([])
    );

    // Duplicates in a bulk overwrite, and more than the limit.
    api.put(
        &s.commands(),
        s.bot.auth(),
        Some(json!([
            {"name": "same", "description": "a"}, {"name": "same", "description": "b"}
        ])),
    )
    .await
    .expect_field_error(&["1", "name"]);
    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({"name": format!("c{i}"), "description": "d"}))
        .collect();
    api.put(&s.commands(), s.bot.auth(), Some(Value::Array(too_many)))
        .await
        .expect_error(400, 30032);
    let hundred: Vec<Value> = (0..100)
        .map(|i| json!({"name": format!("c{i}"), "description": "d"}))
        .collect();
    api.put(&s.commands(), s.bot.auth(), Some(Value::Array(hundred)))
        .await
        .expect(200);
    bad(json!({"name": "one-more", "description": "d"}))
        .await
        .expect_error(400, 30032);
}

#[tokio::test]
async fn a_slash_command_reaches_the_bot_and_its_answers_reach_the_channel() {
    let mut s = setup().await;
    let api = s.w.api.clone();
    let mut member_gw = login(&api, &s.w.member, MEMBER_INTENTS).await;
    let echo = s.define(echo_command()).await;

    let i = s
        .run(
            &s.w.member.clone(),
            &echo,
            json!([
                {"name": "text", "type": 3, "value": "hello"},
                {"name": "who", "type": 6, "value": s.w.owner.id}
            ]),
        )
        .await;
    assert_eq!(i["type"], 2);
    assert_eq!(i["application_id"], s.app_id.as_str());
    assert_eq!(i["guild_id"], s.w.guild_id.as_str());
    assert_eq!(i["channel_id"], s.w.general.as_str());
    assert_eq!(i["channel"]["id"], s.w.general.as_str());
    assert_eq!(i["member"]["user"]["id"], s.w.member.id.as_str());
    assert!(i["member"]["permissions"].is_string());
    assert!(i["app_permissions"].is_string());
    assert_eq!(i["version"], 1);
    assert_eq!(i["entitlements"], json!([]));
    assert_eq!(i["data"]["name"], "echo");
    assert_eq!(i["data"]["options"][0]["value"], "hello");
    assert_eq!(
        i["data"]["resolved"]["users"][&s.w.owner.id]["id"],
        s.w.owner.id.as_str()
    );
    assert!(i["data"]["resolved"]["members"][&s.w.owner.id]["roles"].is_array());
    assert!(str_field(&i, "token").len() >= 64);

    // The answer, with a button.
    s.callback(&i, json!({"type": 4, "data": {"content": "hello", "components": [
        {"type": 1, "components": [{"type": 2, "style": 1, "label": "Again", "custom_id": "again"}]}
    ]}}))
    .await
    .expect(204);
    let reply = member_gw
        .expect_dispatch_where("MESSAGE_CREATE", |d| d["content"] == "hello", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(reply["author"]["id"], s.app_id.as_str());
    assert_eq!(reply["type"], 20);
    assert_eq!(reply["application_id"], s.app_id.as_str());
    assert_eq!(reply["interaction_metadata"]["id"], i["id"]);
    assert_eq!(
        reply["interaction_metadata"]["user"]["id"],
        s.w.member.id.as_str()
    );
    assert_eq!(reply["interaction"]["name"], "echo");
    assert_eq!(
        reply["components"][0]["components"][0]["custom_id"],
        "again"
    );
    let success = member_gw
        .expect_dispatch("INTERACTION_SUCCESS", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(success, json!({"id": i["id"], "nonce": "n1"}));

    // Answering twice is refused; the original and follow-ups go on.
    s.callback(&i, json!({"type": 4, "data": {"content": "twice"}}))
        .await
        .expect_error(400, 40060);
    let original = api
        .get(&s.hook(&i, "/messages/@original"), None)
        .await
        .expect(200);
    assert_eq!(original["id"], reply["id"]);
    let edited = api
        .patch(
            &s.hook(&i, "/messages/@original"),
            None,
            Some(json!({"content": "hello, edited"})),
        )
        .await
        .expect(200);
    assert_eq!(edited["content"], "hello, edited");
    member_gw
        .expect_dispatch_where(
            "MESSAGE_UPDATE",
            |d| d["content"] == "hello, edited",
            EVENT_TIMEOUT,
        )
        .await;
    let follow = api
        .post(
            &s.hook(&i, "?wait=true"),
            None,
            Some(json!({"content": "and another thing"})),
        )
        .await
        .expect(200);
    assert_eq!(follow["webhook_id"], s.app_id.as_str());
    let follow_id = str_field(&follow, "id");
    api.delete(&s.hook(&i, &format!("/messages/{follow_id}")), None)
        .await
        .expect(204);
    member_gw
        .expect_dispatch_where(
            "MESSAGE_DELETE",
            |d| d["id"] == follow_id.as_str(),
            EVENT_TIMEOUT,
        )
        .await;
    // A wrong token is no webhook.
    api.post(
        &format!("/webhooks/{}/not-a-token", s.app_id),
        None,
        Some(json!({"content": "x"})),
    )
    .await
    .expect_error(404, 10015);

    // The member clicks the button: the bot gets the component interaction
    // and updates the message in place.
    let reply_id = str_field(&reply, "id");
    s.invoke(
        &s.w.member,
        json!({
            "type": 3, "application_id": s.app_id, "guild_id": s.w.guild_id,
            "channel_id": s.w.general, "message_id": reply_id,
            "data": {"component_type": 2, "custom_id": "again"}
        }),
    )
    .await
    .expect(204);
    let click = s
        .bot_gw
        .expect_dispatch("INTERACTION_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(click["type"], 3);
    assert_eq!(click["data"]["custom_id"], "again");
    assert_eq!(click["data"]["component_type"], 2);
    assert_eq!(click["message"]["id"], reply_id.as_str());
    s.callback(
        &click,
        json!({"type": 7, "data": {"content": "clicked", "components": []}}),
    )
    .await
    .expect(204);
    let updated = member_gw
        .expect_dispatch_where(
            "MESSAGE_UPDATE",
            |d| d["content"] == "clicked",
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(updated["id"], reply_id.as_str());
    assert_eq!(updated["components"], json!([]));

    // A component that is not on the message is refused.
    s.invoke(&s.w.member, json!({
        "type": 3, "application_id": s.app_id, "channel_id": s.w.general, "message_id": reply_id,
        "data": {"component_type": 2, "custom_id": "again"}
    }))
    .await
    .expect_field_error(&["data", "custom_id"]);
}

#[tokio::test]
async fn ephemeral_answers_reach_only_the_user_who_asked() {
    let mut s = setup().await;
    let api = s.w.api.clone();
    let mut asker = login(&api, &s.w.member, MEMBER_INTENTS).await;
    let mut other = login(&api, &s.w.owner, MEMBER_INTENTS).await;
    let secret = s
        .define(json!({"name": "secret", "description": "Only you"}))
        .await;

    // Deferred and ephemeral: the edit of @original makes the message.
    let i = s.run(&s.w.member.clone(), &secret, json!([])).await;
    let resp = s
        .callback_with_response(&i, json!({"type": 5, "data": {"flags": 64}}))
        .await;
    assert_eq!(resp["interaction"]["response_message_loading"], true);
    assert_eq!(resp["interaction"]["response_message_ephemeral"], true);
    let msg = api
        .patch(
            &s.hook(&i, "/messages/@original"),
            None,
            Some(json!({"content": "just for you"})),
        )
        .await
        .expect(200);
    assert_eq!(msg["flags"], 64);
    let seen = asker
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["content"] == "just for you",
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(seen["flags"], 64);
    other
        .expect_no_dispatch_where("MESSAGE_CREATE", |d| d["content"] == "just for you", QUIET)
        .await;
    let history = api
        .get(
            &format!("/channels/{}/messages", s.w.general),
            s.w.member.auth(),
        )
        .await
        .expect(200);
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["content"] != "just for you"));
    // It is the interaction's @original from now on.
    let original = api
        .get(&s.hook(&i, "/messages/@original"), None)
        .await
        .expect(200);
    assert_eq!(original["id"], msg["id"]);

    // An ephemeral follow-up too.
    api.post(
        &s.hook(&i, ""),
        None,
        Some(json!({"content": "psst", "flags": 64})),
    )
    .await
    .expect(200);
    asker
        .expect_dispatch_where("MESSAGE_CREATE", |d| d["content"] == "psst", EVENT_TIMEOUT)
        .await;
    other
        .expect_no_dispatch_where("MESSAGE_CREATE", |d| d["content"] == "psst", QUIET)
        .await;
}

impl Setup {
    async fn callback_with_response(&self, interaction: &Value, body: Value) -> Value {
        let path = format!(
            "/interactions/{}/{}/callback?with_response=true",
            str_field(interaction, "id"),
            str_field(interaction, "token")
        );
        self.w.api.post(&path, None, Some(body)).await.expect(200)
    }
}

#[tokio::test]
async fn a_modal_opens_for_the_user_and_its_answers_reach_the_bot() {
    let mut s = setup().await;
    let api = s.w.api.clone();
    let mut member_gw = login(&api, &s.w.member, MEMBER_INTENTS).await;
    let form = s
        .define(json!({"name": "feedback", "description": "Tell us"}))
        .await;
    let i = s.run(&s.w.member.clone(), &form, json!([])).await;
    s.callback(&i, json!({"type": 9, "data": {"custom_id": "fb", "title": "Feedback", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "body", "style": 2, "label": "Your thoughts", "max_length": 500}]}
    ]}}))
    .await
    .expect(204);
    let modal = member_gw
        .expect_dispatch("INTERACTION_MODAL_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(modal["custom_id"], "fb");
    assert_eq!(modal["title"], "Feedback");
    assert_eq!(modal["components"][0]["components"][0]["custom_id"], "body");

    s.invoke(
        &s.w.member,
        json!({
            "type": 5, "application_id": s.app_id, "channel_id": s.w.general,
            "data": {"id": modal["id"], "custom_id": "fb", "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": "body", "value": "Great work"}]}
            ]}
        }),
    )
    .await
    .expect(204);
    let submit = s
        .bot_gw
        .expect_dispatch("INTERACTION_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(submit["type"], 5);
    assert_eq!(submit["data"]["custom_id"], "fb");
    assert_eq!(
        submit["data"]["components"][0]["components"][0]["value"],
        "Great work"
    );
    s.callback(
        &submit,
        json!({"type": 4, "data": {"content": "Thanks!", "flags": 64}}),
    )
    .await
    .expect(204);
    member_gw
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["content"] == "Thanks!",
            EVENT_TIMEOUT,
        )
        .await;

    // Another user cannot submit the member's modal.
    s.invoke(
        &s.w.owner,
        json!({
            "type": 5, "application_id": s.app_id, "channel_id": s.w.general,
            "data": {"id": modal["id"], "custom_id": "fb", "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": "body", "value": "x"}]}
            ]}
        }),
    )
    .await
    .expect_error(404, 10062);
}

#[tokio::test]
async fn bad_invocations_and_late_answers_are_refused() {
    let mut s = setup().await;
    let api = s.w.api.clone();
    let echo = s.define(echo_command()).await;
    let base = |data: Value| {
        json!({
            "type": 2, "application_id": s.app_id, "guild_id": s.w.guild_id,
            "channel_id": s.w.general, "data": data
        })
    };
    // Unknown command, missing required option, wrong types, out of range.
    s.invoke(
        &s.w.member,
        base(json!({"id": UNKNOWN_ID, "name": "echo", "type": 1})),
    )
    .await
    .expect_error(404, 10063);
    s.invoke(
        &s.w.member,
        base(json!({"id": echo["id"], "name": "echo", "type": 1, "options": []})),
    )
    .await
    .expect_field_error(&["data", "options"]);
    s.invoke(
        &s.w.member,
        base(
            json!({"id": echo["id"], "name": "echo", "type": 1, "options": [
                {"name": "text", "type": 3, "value": 5}
            ]}),
        ),
    )
    .await
    .expect_field_error(&["data", "options", "0", "value"]);
    s.invoke(
        &s.w.member,
        base(
            json!({"id": echo["id"], "name": "echo", "type": 1, "options": [
                {"name": "text", "type": 3, "value": "x"}, {"name": "times", "type": 4, "value": 9}
            ]}),
        ),
    )
    .await
    .expect_field_error(&["data", "options", "1", "value"]);
    s.invoke(&s.w.member, base(json!({"id": echo["id"], "name": "echo", "type": 1, "options": [
        {"name": "text", "type": 3, "value": "x"}, {"name": "who", "type": 6, "value": UNKNOWN_ID}
    ]}))).await.expect_field_error(&["data"]);
    // A timed-out member uses no commands until the timeout is lifted.
    let member_path = s.w.g(&format!("/members/{}", s.w.member.id));
    let timeout = |until: Value| json!({"communication_disabled_until": until});
    api.patch(
        &member_path,
        s.w.owner.auth(),
        Some(timeout(json!(iso_from_now(3600)))),
    )
    .await
    .expect(200);
    s.invoke(
        &s.w.member,
        base(
            json!({"id": echo["id"], "name": "echo", "type": 1, "options": [
                {"name": "text", "type": 3, "value": "x"}
            ]}),
        ),
    )
    .await
    .expect_error(403, 50013);
    api.patch(&member_path, s.w.owner.auth(), Some(timeout(Value::Null)))
        .await
        .expect(200);
    // Bots do not invoke.
    s.invoke(
        &s.bot,
        base(json!({"id": echo["id"], "name": "echo", "type": 1})),
    )
    .await
    .expect_error(403, 20001);
    s.bot_gw
        .expect_no_dispatch("INTERACTION_CREATE", QUIET)
        .await;

    // An answer with broken components is refused and can be corrected.
    let i = s
        .run(
            &s.w.member.clone(),
            &echo,
            json!([{"name": "text", "type": 3, "value": "hi"}]),
        )
        .await;
    let six_rows: Vec<Value> = (0..6)
        .map(|n| {
            json!({"type": 1, "components": [
                {"type": 2, "style": 1, "label": "b", "custom_id": format!("b{n}")}
            ]})
        })
        .collect();
    s.callback(
        &i,
        json!({"type": 4, "data": {"content": "x", "components": six_rows}}),
    )
    .await
    .expect_field_error(&["data", "components"]);
    s.callback(
        &i,
        json!({"type": 4, "data": {"content": "x", "components": [
            {"type": 1, "components": [{"type": 1, "components": []}]}
        ]}}),
    )
    .await
    .expect_field_error(&["data", "components", "0", "components", "0"]);
    s.callback(&i, json!({"type": 8, "data": {"choices": []}}))
        .await
        .expect_field_error(&["type"]);
    // A wrong token is an unknown interaction.
    let path = format!("/interactions/{}/wrong/callback", str_field(&i, "id"));
    api.post(
        &path,
        None,
        Some(json!({"type": 4, "data": {"content": "x"}})),
    )
    .await
    .expect_error(404, 10062);
    // No follow-up before the first answer.
    api.post(&s.hook(&i, ""), None, Some(json!({"content": "early"})))
        .await
        .expect_error(404, 10015);

    // Unanswered for three seconds: too late, and the user is told.
    let mut member_gw = login(&api, &s.w.member, MEMBER_INTENTS).await;
    let late = s
        .run(
            &s.w.member.clone(),
            &echo,
            json!([{"name": "text", "type": 3, "value": "late"}]),
        )
        .await;
    let late_id = late["id"].clone();
    member_gw
        .expect_dispatch_where(
            "INTERACTION_FAILURE",
            |d| d["id"] == late_id,
            Duration::from_secs(8),
        )
        .await;
    s.callback(&late, json!({"type": 4, "data": {"content": "sorry"}}))
        .await
        .expect_error(404, 10062);
}

#[tokio::test]
async fn options_and_updates_are_held_to_their_definitions() {
    let mut s = setup().await;
    let api = s.w.api.clone();
    let voice = api
        .channel_id(&s.w.owner, &s.w.guild_id, "General", 2)
        .await;
    let pick = s
        .define(json!({"name": "pick", "description": "A voice channel", "options": [
            {"type": 7, "name": "where", "description": "Where", "required": true, "channel_types": [2]}
        ]}))
        .await;
    let body = |channel: &str| {
        json!({
            "type": 2, "application_id": s.app_id, "guild_id": s.w.guild_id, "channel_id": s.w.general,
            "data": {"id": pick["id"], "name": "pick", "type": 1, "options": [{"name": "where", "type": 7, "value": channel}]}
        })
    };
    // A text channel is not among the option's channel types.
    s.invoke(&s.w.member, body(&s.w.general))
        .await
        .expect_field_error(&["data"]);
    s.invoke(&s.w.member, body(&voice)).await.expect(204);
    let i = s
        .bot_gw
        .expect_dispatch("INTERACTION_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(i["data"]["resolved"]["channels"][&voice]["type"], 2);

    // A reply with a button; an update that would leave the message
    // empty is refused before the response counts, so it can be redone.
    s.callback(&i, json!({"type": 4, "data": {"components": [
        {"type": 1, "components": [{"type": 2, "style": 2, "label": "Done", "custom_id": "done"}]}
    ]}}))
    .await
    .expect(204);
    let original = api
        .get(&s.hook(&i, "/messages/@original"), None)
        .await
        .expect(200);
    assert_eq!(
        original["components"][0]["id"], 1,
        "components are numbered"
    );
    assert_eq!(original["components"][0]["components"][0]["id"], 2);
    s.invoke(
        &s.w.member,
        json!({
            "type": 3, "application_id": s.app_id, "channel_id": s.w.general,
            "message_id": original["id"], "data": {"component_type": 2, "custom_id": "done"}
        }),
    )
    .await
    .expect(204);
    let click = s
        .bot_gw
        .expect_dispatch("INTERACTION_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    s.callback(&click, json!({"type": 7, "data": {"components": []}}))
        .await
        .expect_error(400, 50006);
    s.callback(
        &click,
        json!({"type": 7, "data": {"content": "done", "components": []}}),
    )
    .await
    .expect(204);
    let after = api
        .get(&s.hook(&i, "/messages/@original"), None)
        .await
        .expect(200);
    assert_eq!(after["content"], "done");
    assert_eq!(after["components"], json!([]));
}

#[tokio::test]
async fn autocomplete_suggestions_and_context_menu_commands() {
    let mut s = setup().await;
    let api = s.w.api.clone();
    let mut member_gw = login(&api, &s.w.member, MEMBER_INTENTS).await;
    let search = s
        .define(json!({"name": "search", "description": "Finds", "options": [
            {"type": 3, "name": "query", "description": "What", "required": true, "autocomplete": true}
        ]}))
        .await;
    // The user is typing the option: the bot suggests, the user's client
    // hears the suggestions.
    s.invoke(&s.w.member, json!({
        "type": 4, "application_id": s.app_id, "guild_id": s.w.guild_id, "channel_id": s.w.general,
        "nonce": "typing-1",
        "data": {"id": search["id"], "name": "search", "type": 1, "options": [
            {"name": "query", "type": 3, "value": "he", "focused": true}
        ]}
    }))
    .await
    .expect(204);
    let typing = s
        .bot_gw
        .expect_dispatch("INTERACTION_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(typing["type"], 4);
    assert_eq!(typing["data"]["options"][0]["focused"], true);
    // Only suggestions answer an autocomplete.
    s.callback(&typing, json!({"type": 4, "data": {"content": "no"}}))
        .await
        .expect_field_error(&["type"]);
    s.callback(
        &typing,
        json!({"type": 8, "data": {"choices": [
            {"name": "hello", "value": "hello"}, {"name": "help", "value": "help"}
        ]}}),
    )
    .await
    .expect(204);
    let offered = member_gw
        .expect_dispatch("APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(offered["nonce"], "typing-1");
    assert_eq!(offered["choices"][1]["name"], "help");
    // A focused option is only for autocomplete.
    s.invoke(
        &s.w.member,
        json!({
            "type": 2, "application_id": s.app_id, "channel_id": s.w.general,
            "data": {"id": search["id"], "name": "search", "type": 1, "options": [
                {"name": "query", "type": 3, "value": "he", "focused": true}
            ]}
        }),
    )
    .await
    .expect_field_error(&["data", "options"]);

    // A user command, used on the owner: the reply is type 23.
    let whois = s.define(json!({"name": "Who is this", "type": 2})).await;
    s.invoke(
        &s.w.member,
        json!({
            "type": 2, "application_id": s.app_id, "channel_id": s.w.general,
            "data": {"id": whois["id"], "name": "Who is this", "type": 2, "target_id": s.w.owner.id}
        }),
    )
    .await
    .expect(204);
    let used = s
        .bot_gw
        .expect_dispatch("INTERACTION_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(used["data"]["type"], 2);
    assert_eq!(used["data"]["target_id"], s.w.owner.id.as_str());
    assert_eq!(
        used["data"]["resolved"]["users"][&s.w.owner.id]["username"],
        "owner"
    );
    s.callback(
        &used,
        json!({"type": 4, "data": {"content": "that is the owner"}}),
    )
    .await
    .expect(204);
    let reply = member_gw
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["content"] == "that is the owner",
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(reply["type"], 23);
}
