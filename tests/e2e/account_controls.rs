//! Account controls: a user changes their password and logs out
//! everywhere; the operator's `hearth admin` commands on a data directory;
//! registration modes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::harness::{str_field, Api, Server, PASSWORD};

const NEW_PASSWORD: &str = "a-whole-new-password";

/// Runs `hearth admin --data-dir <dir> <args>` with `stdin`; returns
/// (success, stdout, stderr).
fn admin(dir: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let dir = dir.to_str().expect("a UTF-8 data directory");
    let all: Vec<&str> = ["--data-dir", dir].iter().chain(args).copied().collect();
    hearth_admin(&all, stdin)
}

/// Runs `hearth admin <args>` with `stdin`, none of its settings taken from
/// the environment; returns (success, stdout, stderr).
pub(crate) fn hearth_admin(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("admin")
        .args(args)
        .env_remove("HEARTH_DATA_DIR")
        .env_remove("HEARTH_CONFIG")
        .env_remove("HEARTH_DATABASE")
        .env_remove("HEARTH_REDIS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning hearth admin");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("writing stdin");
    let out = child.wait_with_output().expect("hearth admin's output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn admin_ok(dir: &Path, args: &[&str], stdin: &str) -> String {
    let (ok, out, err) = admin(dir, args, stdin);
    assert!(ok, "hearth admin {args:?} failed: {out}{err}");
    out
}

async fn token_works(api: &Api, token: &str) -> bool {
    let r = api.get("/users/@me", Some(token)).await;
    match r.status.as_u16() {
        200 => true,
        401 => false,
        other => panic!("GET /users/@me -> {other} {}", r.text),
    }
}

async fn login_token(api: &Api, username: &str, password: &str) -> String {
    str_field(&api.login(username, password).await.expect(200), "token")
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_every_other_session() {
    let server = Server::start().await;
    let api = server.api();
    let alice = api.register("alice").await;
    let other = login_token(&api, "alice", PASSWORD).await;

    let wrong = api
        .patch(
            "/users/@me",
            alice.auth(),
            Some(json!({"password": "not-the-password", "new_password": NEW_PASSWORD})),
        )
        .await;
    let errors = wrong.expect_field_error(&["password"]);
    assert_eq!(errors["_errors"][0]["code"], "PASSWORD_DOES_NOT_MATCH");
    let missing = api
        .patch(
            "/users/@me",
            alice.auth(),
            Some(json!({"new_password": NEW_PASSWORD})),
        )
        .await;
    missing.expect_field_error(&["password"]);
    let short = api
        .patch(
            "/users/@me",
            alice.auth(),
            Some(json!({"password": PASSWORD, "new_password": "short"})),
        )
        .await;
    short.expect_field_error(&["new_password"]);
    assert!(token_works(&api, &alice.token).await, "nothing changed yet");
    assert!(token_works(&api, &other).await);

    let changed = api
        .patch(
            "/users/@me",
            alice.auth(),
            Some(json!({"password": PASSWORD, "new_password": NEW_PASSWORD})),
        )
        .await
        .expect(200);
    assert_eq!(changed["id"], alice.id.as_str());
    let fresh = str_field(&changed, "token");
    assert!(
        !token_works(&api, &alice.token).await,
        "the old token is revoked"
    );
    assert!(!token_works(&api, &other).await, "every other session too");
    assert!(token_works(&api, &fresh).await, "the new token works");
    api.login("alice", PASSWORD)
        .await
        .expect_field_error(&["login"]);
    login_token(&api, "alice", NEW_PASSWORD).await;
}

#[tokio::test]
async fn logging_out_everywhere_revokes_every_token_of_the_user() {
    let server = Server::start().await;
    let api = server.api();
    let alice = api.register("alice").await;
    let second = login_token(&api, "alice", PASSWORD).await;
    let bob = api.register("bob").await;

    api.post(
        "/auth/logout",
        Some(&second),
        Some(json!({"everywhere": true})),
    )
    .await
    .expect(204);
    assert!(!token_works(&api, &alice.token).await);
    assert!(!token_works(&api, &second).await);
    assert!(
        token_works(&api, &bob.token).await,
        "other users are untouched"
    );
}

#[tokio::test]
async fn admin_commands_manage_accounts_while_the_node_runs() {
    let server = Server::start().await;
    let api = server.api();
    let dir = server.data_dir().to_path_buf();

    let id = admin_ok(&dir, &["create-user", "carol"], &format!("{PASSWORD}\n"));
    let first = login_token(&api, "carol", PASSWORD).await;
    let me = api.get("/users/@me", Some(&first)).await.expect(200);
    assert_eq!(me["id"], id.trim());
    let (ok, _, err) = admin(&dir, &["create-user", "carol"], &format!("{PASSWORD}\n"));
    assert!(!ok && err.contains("taken"), "{err}");
    let (ok, _, _) = admin(
        &dir,
        &["create-user", "Not Valid"],
        &format!("{PASSWORD}\n"),
    );
    assert!(!ok, "usernames are checked as on registration");
    let (ok, _, _) = admin(&dir, &["create-user", "dave"], "short\n");
    assert!(!ok, "passwords are checked as on registration");

    // Two sessions listed; revoking one ends only that one.
    let second = login_token(&api, "carol", PASSWORD).await;
    let listed = admin_ok(&dir, &["sessions", "list", "carol"], "");
    let ids: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(ids.len(), 2, "{listed}");
    // Which line is which token is not known to the test: revoke one and
    // see exactly one token stop working.
    admin_ok(&dir, &["sessions", "revoke", "carol", ids[0]], "");
    let alive = [
        token_works(&api, &first).await,
        token_works(&api, &second).await,
    ];
    assert_eq!(
        alive.iter().filter(|a| **a).count(),
        1,
        "one of two revoked: {alive:?}"
    );
    let (ok, _, _) = admin(&dir, &["sessions", "revoke", "carol", ids[0]], "");
    assert!(!ok, "a revoked session is gone");

    // A reset password: every session ends, the new password logs in.
    let out = admin_ok(
        &dir,
        &["reset-password", "carol"],
        &format!("{NEW_PASSWORD}\n"),
    );
    assert!(out.contains("1 session(s) revoked"), "{out}");
    assert!(!token_works(&api, &first).await && !token_works(&api, &second).await);
    api.login("carol", PASSWORD)
        .await
        .expect_field_error(&["login"]);
    let third = login_token(&api, "carol", NEW_PASSWORD).await;
    admin_ok(&dir, &["sessions", "revoke", "carol", "--all"], "");
    assert!(!token_works(&api, &third).await);

    admin_ok(&dir, &["set-admin", "carol"], "");
    admin_ok(&dir, &["set-admin", "carol", "--revoke"], "");
    let (ok, _, err) = admin(&dir, &["set-admin", "nobody"], "");
    assert!(!ok && err.contains("nobody"), "{err}");
}

#[tokio::test]
async fn an_admin_backup_taken_while_the_node_runs_restores_every_acknowledged_write() {
    let mut server = Server::start().await;
    let api = server.api();
    let alice = api.register("alice").await;
    let guild = api.create_guild(&alice, "Backed up").await;
    let guild_id = str_field(&guild, "id");
    let general = api.channel_id(&alice, &guild_id, "general", 0).await;
    let sent = api.seed(&alice, &general, "m", 20).await;

    let backup_dir = tempfile::tempdir().expect("a temp dir");
    let backup = backup_dir.path().join("hearth-backup.db");
    admin_ok(
        server.data_dir(),
        &["backup", backup.to_str().expect("UTF-8 path")],
        "",
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup)
            .expect("the backup exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the backup is private");
    }
    let (ok, _, _) = admin(
        server.data_dir(),
        &["backup", backup.to_str().expect("UTF-8 path")],
        "",
    );
    assert!(!ok, "a backup never overwrites");

    // Written after the backup: not in it.
    api.send(&alice, &general, "after the backup").await;

    // Restore: the node's database is replaced by the backup.
    server.kill9();
    for name in ["hearth.db", "hearth.db-wal", "hearth.db-shm"] {
        let _ = std::fs::remove_file(server.data_dir().join(name));
    }
    std::fs::copy(&backup, server.data_dir().join("hearth.db")).expect("restoring");
    server.restart().await;
    let api = server.api();
    let alice_again = login_token(&api, "alice", PASSWORD).await;
    let ids = api
        .get(
            &format!("/channels/{general}/messages?limit=100"),
            Some(&alice_again),
        )
        .await
        .expect(200);
    let mut got = crate::harness::ids_of(&ids);
    got.reverse();
    assert_eq!(
        got, sent,
        "exactly the messages acknowledged before the backup"
    );
}

#[tokio::test]
async fn closed_registration_refuses_everyone_and_the_operator_creates_accounts() {
    let server =
        Server::start_with(&["--rate-limits", "off", "--registration", "closed"], &[]).await;
    let api = server.api();
    api.post(
        "/auth/register",
        None,
        Some(json!({"username": "eve", "password": PASSWORD})),
    )
    .await
    .expect_error(403, 0);
    admin_ok(
        server.data_dir(),
        &["create-user", "eve"],
        &format!("{PASSWORD}\n"),
    );
    login_token(&api, "eve", PASSWORD).await;
}

#[tokio::test]
async fn invite_only_registration_needs_a_valid_invite_and_joins_its_guild() {
    let server = Server::start_with(
        &["--rate-limits", "off", "--registration", "invite-only"],
        &[],
    )
    .await;
    let api = server.api();
    admin_ok(
        server.data_dir(),
        &["create-user", "owner"],
        &format!("{PASSWORD}\n"),
    );
    let owner_token = login_token(&api, "owner", PASSWORD).await;
    let guild = api
        .post("/guilds", Some(&owner_token), Some(json!({"name": "Club"})))
        .await
        .expect(201);
    let guild_id = str_field(&guild, "id");
    let channels = api
        .get(&format!("/guilds/{guild_id}/channels"), Some(&owner_token))
        .await
        .expect(200);
    let general = channels
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == 0))
        .map(|c| str_field(c, "id"))
        .expect("a text channel");
    let invite = api
        .post(
            &format!("/channels/{general}/invites"),
            Some(&owner_token),
            Some(json!({})),
        )
        .await
        .expect(200);
    let code = str_field(&invite, "code");

    api.post(
        "/auth/register",
        None,
        Some(json!({"username": "frank", "password": PASSWORD})),
    )
    .await
    .expect_error(403, 0);
    api.post(
        "/auth/register",
        None,
        Some(json!({"username": "frank", "password": PASSWORD, "invite": "no-such-invite"})),
    )
    .await
    .expect_error(404, 10006);
    // The refused attempts made no account: the name is still free.
    let joined = api
        .post(
            "/auth/register",
            None,
            Some(json!({"username": "frank", "password": PASSWORD, "invite": code})),
        )
        .await
        .expect(201);
    let token = str_field(&joined, "token");
    let guilds = api.get("/users/@me/guilds", Some(&token)).await.expect(200);
    assert_eq!(
        crate::harness::ids_of(&guilds),
        vec![guild_id],
        "the invite's guild is joined"
    );
}
