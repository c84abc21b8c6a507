//! Sessions do not outlive their token: a logout closes the sessions that
//! token opened with 4004 (and only those), and a bot token reset closes
//! every session of the bot. A closed or waiting session cannot be resumed.

use serde_json::Value;

use crate::gateway_client::{intents, login, op, Gateway, Options, EVENT_TIMEOUT};
use crate::harness::{str_field, User, World, PASSWORD};

const MSGS: u64 = intents::GUILDS | intents::GUILD_MESSAGES;

/// `user` logged in again: the same account with a second token.
async fn second_token(w: &World, user: &User) -> User {
    let body = w.api.login(&user.username, PASSWORD).await.expect(200);
    let token = str_field(&body, "token");
    User {
        authorization: token.clone(),
        token,
        ..user.clone()
    }
}

async fn resume_is_refused(info: &crate::gateway_client::SessionInfo, token: &str) {
    let mut info = info.clone();
    info.token = token.to_string();
    let mut gw = Gateway::connect(&info.resume_url, Options::default().label("resume")).await;
    gw.resume(&info).await;
    let f = gw.expect_op(op::INVALID_SESSION, EVENT_TIMEOUT).await;
    assert_eq!(f.d, Value::Bool(false), "the session is over");
}

#[tokio::test]
async fn logout_closes_the_sessions_of_that_token_with_4004_and_only_those() {
    let w = World::new().await;
    let other = second_token(&w, &w.member).await;
    let mut revoked = login(&w.api, &w.member, MSGS).await;
    let mut kept = login(&w.api, &other, MSGS).await;
    let info = revoked.session_info();
    w.api
        .post("/auth/logout", w.member.auth(), None)
        .await
        .expect(204);
    revoked.expect_close_code(4004).await;
    kept.assert_alive().await;
    // Not resumable, even with a token that is still valid.
    resume_is_refused(&info, &other.token).await;
}

#[tokio::test]
async fn logout_ends_a_dropped_session_of_that_token() {
    let w = World::new().await;
    let other = second_token(&w, &w.member).await;
    let gw = login(&w.api, &w.member, MSGS).await;
    let info = gw.session_info();
    gw.drop_tcp().await;
    w.api
        .post("/auth/logout", w.member.auth(), None)
        .await
        .expect(204);
    resume_is_refused(&info, &other.token).await;
}

#[tokio::test]
async fn a_bot_token_reset_closes_the_bots_sessions_with_4004() {
    let w = World::new().await;
    let (app, bot) = w.api.create_bot(&w.owner, "Resettable").await;
    let app_id = str_field(&app, "id");
    let mut gw = login(&w.api, &bot, MSGS).await;
    gw.assert_alive().await;
    let fresh = w
        .api
        .post(
            &format!("/applications/{app_id}/bot/reset"),
            w.owner.auth(),
            None,
        )
        .await
        .expect(200);
    gw.expect_close_code(4004).await;
    // The new token identifies as usual.
    let bot = User {
        authorization: format!("Bot {}", str_field(&fresh, "token")),
        token: str_field(&fresh, "token"),
        ..bot
    };
    login(&w.api, &bot, MSGS).await.assert_alive().await;
}
