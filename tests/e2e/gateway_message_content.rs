//! MESSAGE_CONTENT and replies: a bot without the intent reads the
//! replied-to message in `referenced_message` only where it could read that
//! message itself (it wrote it or is mentioned in it), whatever it may read
//! of the reply.

use serde_json::{json, Value};

use crate::gateway_client::{intents, login, Gateway, EVENT_TIMEOUT};
use crate::harness::{perm, str_field, User, World};

const MSGS: u64 = intents::GUILDS | intents::GUILD_MESSAGES;

async fn expect_message(gw: &mut Gateway, id: &str) -> Value {
    gw.expect_dispatch_where("MESSAGE_CREATE", |d| d["id"] == id, EVENT_TIMEOUT)
        .await
        .d
}

async fn reply(w: &World, by: &User, to: &str, content: &str) -> String {
    let m = w
        .api
        .post(
            &format!("/channels/{}/messages", w.general),
            by.auth(),
            Some(json!({"content": content, "message_reference": {"message_id": to}})),
        )
        .await
        .expect(200);
    str_field(&m, "id")
}

fn assert_emptied(message: &Value, what: &str) {
    assert_eq!(message["content"], "", "{what}: {message}");
    assert_eq!(message["embeds"], json!([]), "{what}: {message}");
    assert_eq!(message["attachments"], json!([]), "{what}: {message}");
    if let Some(c) = message.get("components") {
        assert_eq!(c, &json!([]), "{what}: {message}");
    }
}

#[tokio::test]
async fn a_bot_without_message_content_does_not_read_the_replied_to_message() {
    let w = World::new().await;
    let api = &w.api;
    let (app, bot) = api.create_bot(&w.owner, "Snoopy").await;
    api.authorize_bot(
        &w.owner,
        &w.guild_id,
        &str_field(&app, "id"),
        perm::VIEW_CHANNEL | perm::SEND_MESSAGES | perm::READ_MESSAGE_HISTORY,
    )
    .await
    .expect(200);
    let mut b = login(api, &bot, MSGS).await;
    let mut o = login(api, &w.owner, MSGS).await;

    let secret = api
        .post(
            &format!("/channels/{}/messages", w.general),
            w.owner.auth(),
            Some(json!({"content": "the secret plan", "embeds": [{"title": "hidden"}]})),
        )
        .await
        .expect(200);
    let secret = str_field(&secret, "id");

    // A reply that mentions the bot: the reply is the bot's to read, the
    // replied-to message is not.
    let id = reply(&w, &w.member, &secret, &format!("<@{}> thoughts?", bot.id)).await;
    let d = expect_message(&mut b, &id).await;
    assert_eq!(d["content"], format!("<@{}> thoughts?", bot.id));
    let r = &d["referenced_message"];
    assert_eq!(r["id"], secret.as_str(), "the reference itself stays: {d}");
    assert_eq!(r["author"]["id"], w.owner.id.as_str());
    assert_emptied(r, "replied-to message, mentioned reply");

    // A reply that does not: both are emptied.
    let id = reply(&w, &w.member, &secret, "agreed").await;
    let d = expect_message(&mut b, &id).await;
    assert_emptied(&d, "reply");
    assert_emptied(&d["referenced_message"], "replied-to message");

    // Users read everything.
    let d = expect_message(&mut o, &id).await;
    assert_eq!(d["content"], "agreed");
    assert_eq!(d["referenced_message"]["content"], "the secret plan");
    assert_eq!(
        d["referenced_message"]["embeds"].as_array().map(Vec::len),
        Some(1)
    );

    // The bot's own message, replied to: it reads what it wrote.
    let own = api.send(&bot, &w.general, "bot speaking").await;
    let own = str_field(&own, "id");
    let id = reply(&w, &w.member, &own, "replying to the bot").await;
    let d = expect_message(&mut b, &id).await;
    assert_eq!(d["referenced_message"]["content"], "bot speaking", "{d}");
}
