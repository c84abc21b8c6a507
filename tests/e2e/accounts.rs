//! Registration, login, logout, the current user, and bot accounts.

use serde_json::json;

use crate::harness::{perm, str_field, Server, World, PASSWORD, UNKNOWN_ID};

#[tokio::test]
async fn register_returns_a_token_that_identifies_the_new_user() {
    let server = Server::start().await;
    let api = server.api();

    let body = api
        .post(
            "/auth/register",
            None,
            Some(json!({"username": "alice", "password": PASSWORD})),
        )
        .await
        .expect(201);
    let token = str_field(&body, "token");
    let user_id = str_field(&body, "user_id");
    assert!(!token.is_empty());
    user_id
        .parse::<u64>()
        .expect("user_id is a snowflake string");

    let me = api.get("/users/@me", Some(&token)).await.expect(200);
    assert_eq!(me["id"], user_id.as_str());
    assert_eq!(me["username"], "alice");
    assert_eq!(me["discriminator"], "0");
    assert!(me.get("global_name").is_some(), "global_name present: {me}");
    assert!(me.get("avatar").is_some(), "avatar present: {me}");
    assert_ne!(
        me.get("bot"),
        Some(&json!(true)),
        "a person is not a bot: {me}"
    );

    // The Bearer form is accepted too.
    let me2 = api
        .get("/users/@me", Some(&format!("Bearer {token}")))
        .await
        .expect(200);
    assert_eq!(me2["id"], user_id.as_str());
}

#[tokio::test]
async fn login_with_the_right_password_gives_a_working_token() {
    let server = Server::start().await;
    let api = server.api();
    let alice = api.register("alice").await;

    let body = api.login("alice", PASSWORD).await.expect(200);
    assert_eq!(body["user_id"], alice.id.as_str());
    let token = str_field(&body, "token");
    let me = api.get("/users/@me", Some(&token)).await.expect(200);
    assert_eq!(me["id"], alice.id.as_str());
}

#[tokio::test]
async fn login_with_a_wrong_password_is_rejected_on_the_login_field() {
    let server = Server::start().await;
    let api = server.api();
    api.register("alice").await;

    let r = api.login("alice", "not-the-password").await;
    r.expect_field_error(&["login"]);
    assert!(
        r.body.get("token").is_none(),
        "no token on failure: {}",
        r.body
    );
}

#[tokio::test]
async fn logout_revokes_the_token_but_not_other_sessions() {
    let server = Server::start().await;
    let api = server.api();
    let alice = api.register("alice").await;
    let second = str_field(&api.login("alice", PASSWORD).await.expect(200), "token");

    api.post("/auth/logout", alice.auth(), None)
        .await
        .expect(204);

    api.get("/users/@me", alice.auth())
        .await
        .expect_error(401, 0);
    // Logging out one session leaves the other one usable.
    api.get("/users/@me", Some(&second)).await.expect(200);
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401() {
    let server = Server::start().await;
    let api = server.api();
    api.register("alice").await;

    let r = api.get("/users/@me", None).await;
    r.expect_error(401, 0);
    assert_eq!(r.body["message"], "401: Unauthorized");

    api.get("/users/@me", Some("definitely-not-a-token"))
        .await
        .expect_error(401, 0);
    api.get("/users/@me", Some("Bot definitely-not-a-token"))
        .await
        .expect_error(401, 0);
    api.get("/users/@me/guilds", None)
        .await
        .expect_error(401, 0);
    api.post("/guilds", None, Some(json!({"name": "nope"})))
        .await
        .expect_error(401, 0);
}

#[tokio::test]
async fn duplicate_username_is_rejected() {
    let server = Server::start().await;
    let api = server.api();
    api.register("alice").await;

    let r = api
        .post(
            "/auth/register",
            None,
            Some(json!({"username": "alice", "password": "another-password"})),
        )
        .await;
    r.expect_field_error(&["username"]);
}

#[tokio::test]
async fn invalid_usernames_and_passwords_are_rejected() {
    let server = Server::start().await;
    let api = server.api();

    let long_name = "a".repeat(33);
    for bad in [
        "a",
        "Alice",
        "has space",
        "émile",
        "bad!name",
        long_name.as_str(),
    ] {
        api.post(
            "/auth/register",
            None,
            Some(json!({"username": bad, "password": PASSWORD})),
        )
        .await
        .expect_field_error(&["username"]);
    }
    let long_pw = "p".repeat(73);
    for bad in ["short7!", long_pw.as_str()] {
        api.post(
            "/auth/register",
            None,
            Some(json!({"username": "validname", "password": bad})),
        )
        .await
        .expect_field_error(&["password"]);
    }

    // The edges of the allowed ranges work.
    let max_name = "b".repeat(32);
    for good in ["ab", "a.b_c9", max_name.as_str()] {
        api.post(
            "/auth/register",
            None,
            Some(json!({"username": good, "password": PASSWORD})),
        )
        .await
        .expect(201);
    }
    api.post(
        "/auth/register",
        None,
        Some(json!({"username": "eightpw", "password": "12345678"})),
    )
    .await
    .expect(201);
    api.post(
        "/auth/register",
        None,
        Some(json!({"username": "longpw", "password": "x".repeat(72)})),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn patching_me_changes_global_name_and_username() {
    let server = Server::start().await;
    let api = server.api();
    let alice = api.register("alice").await;
    let bob = api.register("bob").await;

    let me = api
        .patch(
            "/users/@me",
            alice.auth(),
            Some(json!({"global_name": "Alice Liddell"})),
        )
        .await
        .expect(200);
    assert_eq!(me["global_name"], "Alice Liddell");
    assert_eq!(me["username"], "alice");

    let me = api
        .patch(
            "/users/@me",
            alice.auth(),
            Some(json!({"username": "wonder"})),
        )
        .await
        .expect(200);
    assert_eq!(me["username"], "wonder");

    // Others see the new names.
    let seen = api
        .get(&format!("/users/{}", alice.id), bob.auth())
        .await
        .expect(200);
    assert_eq!(seen["username"], "wonder");
    assert_eq!(seen["global_name"], "Alice Liddell");

    // The new username logs in.
    api.login("wonder", PASSWORD).await.expect(200);

    // Taking someone else's username is refused.
    api.patch("/users/@me", alice.auth(), Some(json!({"username": "bob"})))
        .await
        .expect_field_error(&["username"]);
}

#[tokio::test]
async fn users_can_be_looked_up_by_id() {
    let server = Server::start().await;
    let api = server.api();
    let alice = api.register("alice").await;
    let bob = api.register("bob").await;

    let u = api
        .get(&format!("/users/{}", bob.id), alice.auth())
        .await
        .expect(200);
    assert_eq!(u["id"], bob.id.as_str());
    assert_eq!(u["username"], "bob");
    assert_eq!(u["discriminator"], "0");

    api.get(&format!("/users/{UNKNOWN_ID}"), alice.auth())
        .await
        .expect_error(404, 10013);
}

#[tokio::test]
async fn creating_an_application_creates_a_bot_that_can_authenticate() {
    let server = Server::start().await;
    let api = server.api();
    let dev = api.register("developer").await;

    let app = api
        .post("/applications", dev.auth(), Some(json!({"name": "Helper"})))
        .await
        .expect(201);
    let app_id = str_field(&app, "id");
    assert_eq!(app["name"], "Helper");
    assert_eq!(app["owner"]["id"], dev.id.as_str());
    assert_eq!(
        app["bot"]["id"],
        app_id.as_str(),
        "bot user id == application id"
    );
    assert!(app.get("flags").is_some(), "flags present: {app}");

    let tok = api
        .post(&format!("/applications/{app_id}/bot"), dev.auth(), None)
        .await
        .expect(200);
    let token = str_field(&tok, "token");

    let me = api
        .get("/users/@me", Some(&format!("Bot {token}")))
        .await
        .expect(200);
    assert_eq!(me["id"], app_id.as_str());
    assert_eq!(me["bot"], true);

    // Others see it as a bot too.
    let seen = api
        .get(&format!("/users/{app_id}"), dev.auth())
        .await
        .expect(200);
    assert_eq!(seen["bot"], true);

    // What bot libraries read at start-up (discord.py's application_info
    // fails without `verify_key`), the same on every path and stable.
    let bot = Some(format!("Bot {token}"));
    let mut keys = Vec::new();
    for path in ["/oauth2/applications/@me", "/applications/@me"] {
        let info = api.get(path, bot.as_deref()).await.expect(200);
        assert_eq!(info["id"], app_id.as_str());
        assert_eq!(info["owner"]["id"], dev.id.as_str());
        for field in [
            "bot_public",
            "bot_require_code_grant",
            "description",
            "summary",
            "icon",
            "team",
            "flags",
        ] {
            assert!(info.get(field).is_some(), "{field} in {info}");
        }
        let key = str_field(&info, "verify_key");
        assert!(
            key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()),
            "{key}"
        );
        keys.push(key);
    }
    assert_eq!(keys[0], keys[1]);
}

#[tokio::test]
async fn oauth2_authorize_adds_the_bot_with_a_managed_role() {
    let w = World::new().await;
    let api = &w.api;
    let (app, bot) = api.create_bot(&w.owner, "Helper").await;
    let app_id = str_field(&app, "id");
    let perms = perm::VIEW_CHANNEL | perm::SEND_MESSAGES | perm::MANAGE_MESSAGES;

    let r = api
        .authorize_bot(&w.owner, &w.guild_id, &app_id, perms)
        .await
        .expect(200);
    assert!(r["location"].is_string(), "location returned: {r}");

    // The bot is a member carrying a managed role with exactly those permissions.
    let member = api.member(&w.owner, &w.guild_id, &bot.id).await.expect(200);
    assert_eq!(member["user"]["id"], bot.id.as_str());
    assert_eq!(member["user"]["bot"], true);
    let roles = api.get(&w.g("/roles"), w.owner.auth()).await.expect(200);
    let managed = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["managed"] == true && r["tags"]["bot_id"] == bot.id.as_str())
        .unwrap_or_else(|| panic!("no managed role for the bot in {roles}"))
        .clone();
    assert_eq!(managed["permissions"], perms.to_string().as_str());
    let managed_id = str_field(&managed, "id");
    assert!(
        member["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == managed_id.as_str()),
        "bot member has its managed role: {member}"
    );

    // The bot sees the guild and can talk in it.
    let guilds = api.get("/users/@me/guilds", bot.auth()).await.expect(200);
    assert!(
        guilds
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == w.guild_id.as_str()),
        "guild listed for the bot: {guilds}"
    );
    let msg = api.send(&bot, &w.general, "beep boop").await;
    assert_eq!(msg["author"]["id"], bot.id.as_str());
    assert_eq!(msg["author"]["bot"], true);
}

#[tokio::test]
async fn oauth2_authorize_requires_manage_guild() {
    let w = World::new().await;
    let api = &w.api;
    let (app, bot) = api.create_bot(&w.member, "Sneaky").await;
    let app_id = str_field(&app, "id");

    api.authorize_bot(&w.member, &w.guild_id, &app_id, perm::VIEW_CHANNEL)
        .await
        .expect_error(403, 50013);
    api.member(&w.owner, &w.guild_id, &bot.id)
        .await
        .expect_error(404, 10007);

    // Once the member is given MANAGE_GUILD it works.
    w.grant(&w.member.id, "managers", perm::MANAGE_GUILD).await;
    api.authorize_bot(&w.member, &w.guild_id, &app_id, perm::VIEW_CHANNEL)
        .await
        .expect(200);
    api.member(&w.owner, &w.guild_id, &bot.id).await.expect(200);
}

#[tokio::test]
async fn a_bot_cannot_grant_itself_privileged_intents() {
    let w = crate::harness::World::new().await;
    let (app, bot) = w.api.create_bot(&w.owner, "selfish").await;
    let app_id = crate::harness::str_field(&app, "id");
    let r = w
        .api
        .patch(
            &format!("/applications/{app_id}"),
            bot.auth(),
            Some(serde_json::json!({"flags": 1 << 18})),
        )
        .await;
    r.expect_error(403, 50001);
    let owner_sees = w
        .api
        .get(&format!("/applications/{app_id}"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(owner_sees["flags"], 0);
    w.api
        .patch(
            &format!("/applications/{app_id}"),
            w.owner.auth(),
            Some(serde_json::json!({"flags": 1 << 18})),
        )
        .await
        .expect(200);
}
