//! Calls in DMs and group DMs, end to end: op 4 with no guild and the DM's
//! id, CALL_CREATE ringing the others, audio through the SFU between two
//! webrtc-rs clients, CALL_UPDATE as ringing changes (joining, declining,
//! ringing again, a recipient removed), CALL_DELETE with the last leave or
//! the last session's end, CALL_CREATE after READY for a call in
//! progress, and who may not join or ring.

use serde_json::{json, Value};

use crate::gateway_client::{login, Gateway, EVENT_TIMEOUT, QUIET};
use crate::harness::{str_field, Api, Server, User};
use crate::voice_client::{VoiceClient, VOICE_INTENTS};

const TONE_HZ: f64 = 440.0;

async fn call_server(more: &[&str]) -> Server {
    let mut args = vec![
        "--rate-limits",
        "off",
        "--rtc-bind",
        "127.0.0.1",
        "--rtc-port",
        "0",
    ];
    args.extend_from_slice(more);
    Server::start_with(&args, &[]).await
}

/// People who share a guild, so they may open DMs with each other.
struct CallWorld {
    _server: Server,
    api: Api,
    owner: User,
    guild_id: String,
    users: Vec<User>,
}

impl CallWorld {
    async fn new(names: &[&str]) -> CallWorld {
        CallWorld::with(names, &[]).await
    }

    async fn with(names: &[&str], args: &[&str]) -> CallWorld {
        let server = call_server(args).await;
        let api = server.api();
        let owner = api.register("owner").await;
        let guild = api.create_guild(&owner, "Call Test Guild").await;
        let guild_id = str_field(&guild, "id");
        let text = api.channel_id(&owner, &guild_id, "general", 0).await;
        let mut users = Vec::new();
        for name in names {
            let u = api.register(name).await;
            api.invite_and_join(&owner, &text, &u).await;
            users.push(u);
        }
        CallWorld {
            _server: server,
            api,
            owner,
            guild_id,
            users,
        }
    }

    /// A DM (one other) or group DM (several) opened by `by`.
    async fn open(&self, by: usize, with: &[usize]) -> String {
        let body = if with.len() == 1 {
            json!({ "recipient_id": self.users[with[0]].id })
        } else {
            json!({ "recipients": with.iter().map(|i| self.users[*i].id.clone()).collect::<Vec<_>>() })
        };
        let c = self
            .api
            .post("/users/@me/channels", self.users[by].auth(), Some(body))
            .await
            .expect(200);
        str_field(&c, "id")
    }

    async fn caller(&self, i: usize, channel: &str) -> VoiceClient {
        VoiceClient::login_for_call(&self.api, &self.users[i], channel).await
    }

    async fn post(&self, by: usize, path: &str, body: Value) -> crate::harness::Resp {
        self.api.post(path, self.users[by].auth(), Some(body)).await
    }
}

fn ids(v: &Value) -> Vec<String> {
    let mut all: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("a list of ids: {v}"))
        .iter()
        .map(|x| x.as_str().expect("an id").to_string())
        .collect();
    all.sort();
    all
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The next CALL_UPDATE of the channel; returns who is rung.
async fn call_update(gw: &mut Gateway, channel: &str) -> Vec<String> {
    let d = gw
        .expect_dispatch_where("CALL_UPDATE", |d| d["channel_id"] == channel, EVENT_TIMEOUT)
        .await
        .d;
    ids(&d["ringing"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_call_rings_the_other_carries_audio_and_ends_with_its_last_participant() {
    let w = CallWorld::new(&["alice", "bob"]).await;
    let dm = w.open(0, &[1]).await;
    let mut a = w.caller(0, &dm).await;
    let mut b = w.caller(1, &dm).await;
    let (a_id, b_id) = (w.users[0].id.clone(), w.users[1].id.clone());

    a.join(&dm).await;
    // Both sides hear of the call: Bob is rung, Alice is in it.
    let mut message_id = String::new();
    for gw in [&mut a.gw, &mut b.gw] {
        let create = gw
            .expect_dispatch_where(
                "CALL_CREATE",
                |d| d["channel_id"] == dm.as_str(),
                EVENT_TIMEOUT,
            )
            .await
            .d;
        message_id = str_field(&create, "message_id");
        assert_eq!(ids(&create["ringing"]), vec![b_id.clone()], "{create}");
        let states = create["voice_states"].as_array().expect("voice_states");
        assert_eq!(states.len(), 1, "{create}");
        assert_eq!(states[0]["user_id"], a_id.as_str());
        assert_eq!(states[0]["channel_id"], dm.as_str());
    }
    let vsu =
        b.gw.expect_dispatch_where(
            "VOICE_STATE_UPDATE",
            |d| d["user_id"] == a_id.as_str() && d["channel_id"] == dm.as_str(),
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert!(
        vsu.get("guild_id").is_none(),
        "no guild in a DM call: {vsu}"
    );

    // The call's message is in the DM while the call goes on.
    let ongoing = call_message(&w, 1, &dm, &message_id, false).await;
    assert_eq!(ids(&ongoing["call"]["participants"]), vec![a_id.clone()]);

    // The same op 4 again gets a fresh token, as for guild voice, and
    // starts nothing new.
    let first_token = a.grant().token.clone();
    let again = a.request_voice(&dm, false).await;
    assert_ne!(again.token, first_token);
    b.gw.expect_no_dispatch("CALL_CREATE", QUIET).await;

    // Bob picks up: he is no longer rung.
    b.join(&dm).await;
    assert!(call_update(&mut a.gw, &dm).await.is_empty());

    a.publish_tone(TONE_HZ);
    b.wait_audio_from(&a_id, 100).await;
    let pitch = b.decoded_dominant_frequency(&a_id);
    assert!(
        (pitch - TONE_HZ).abs() <= 3.0,
        "Bob hears Alice's tone at {pitch:.1} Hz"
    );

    // Bob hangs up: the call goes on with Alice.
    b.leave().await;
    a.gw.expect_dispatch_where(
        "VOICE_STATE_UPDATE",
        |d| d["user_id"] == b_id.as_str() && d["channel_id"].is_null(),
        EVENT_TIMEOUT,
    )
    .await;
    a.gw.expect_no_dispatch("CALL_DELETE", QUIET).await;

    // Alice hangs up last: the call is over, for both.
    a.leave().await;
    for gw in [&mut a.gw, &mut b.gw] {
        gw.expect_dispatch_where(
            "CALL_DELETE",
            |d| d["channel_id"] == dm.as_str(),
            EVENT_TIMEOUT,
        )
        .await;
    }

    // The DM's history keeps the call: its message (type 3) names who
    // took part and when it ended; nobody edits it.
    let message = call_message(&w, 1, &dm, &message_id, true).await;
    assert_eq!(
        ids(&message["call"]["participants"]),
        sorted(vec![a_id.clone(), b_id.clone()]),
        "{message}"
    );
    assert_eq!(message["author"]["id"], a_id.as_str());
    w.api
        .patch(
            &format!("/channels/{dm}/messages/{message_id}"),
            w.users[0].auth(),
            Some(json!({ "content": "no call happened" })),
        )
        .await
        .expect_error(400, 50021);
}

/// The call message `id` of the channel as `reader` reads it, once it is
/// there (and, if `ended`, once the call's end is written), bounded.
async fn call_message(w: &CallWorld, reader: usize, channel: &str, id: &str, ended: bool) -> Value {
    let path = format!("/channels/{channel}/messages?limit=10");
    for _ in 0..50 {
        let page = w.api.get(&path, w.users[reader].auth()).await.expect(200);
        let found = page
            .as_array()
            .and_then(|all| all.iter().find(|m| m["id"] == id).cloned());
        if let Some(m) = found {
            assert_eq!(m["type"], 3, "{m}");
            if !ended || !m["call"]["ended_timestamp"].is_null() {
                return m;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no call message {id} (ended: {ended}) in {channel}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ringing_follows_declines_rings_and_removals_and_a_call_shows_to_returning_sessions() {
    let w = CallWorld::new(&["alice", "bob", "carol", "dave"]).await;
    let group = w.open(0, &[1, 2]).await;
    let (b_id, c_id) = (w.users[1].id.clone(), w.users[2].id.clone());
    let mut a = login(&w.api, &w.users[0], VOICE_INTENTS).await;
    let mut b = login(&w.api, &w.users[1], VOICE_INTENTS).await;

    // Nothing to ring before anyone joins: a call starts with op 4.
    w.post(0, &format!("/channels/{group}/call/ring"), json!({}))
        .await
        .expect(404);

    a.send_op(
        4,
        json!({ "guild_id": null, "channel_id": group, "self_mute": false, "self_deaf": false }),
    )
    .await;
    let server = a
        .expect_dispatch_where(
            "VOICE_SERVER_UPDATE",
            |d| d["channel_id"] == group.as_str(),
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert!(server["guild_id"].is_null(), "{server}");
    assert!(
        server["token"].is_string() && server["endpoint"].is_string(),
        "{server}"
    );
    let create = b
        .expect_dispatch_where(
            "CALL_CREATE",
            |d| d["channel_id"] == group.as_str(),
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(
        ids(&create["ringing"]),
        sorted(vec![b_id.clone(), c_id.clone()])
    );

    // Bob declines (no body: himself).
    w.post(
        1,
        &format!("/channels/{group}/call/stop-ringing"),
        json!({}),
    )
    .await
    .expect(204);
    assert_eq!(call_update(&mut b, &group).await, vec![c_id.clone()]);
    // Alice rings him again.
    w.post(
        0,
        &format!("/channels/{group}/call/ring"),
        json!({ "recipients": [b_id] }),
    )
    .await
    .expect(204);
    assert_eq!(
        call_update(&mut b, &group).await,
        sorted(vec![b_id.clone(), c_id.clone()])
    );
    // Only recipients may be named, and only recipients may ring.
    let dave = w.users[3].id.clone();
    w.post(
        0,
        &format!("/channels/{group}/call/ring"),
        json!({ "recipients": [dave] }),
    )
    .await
    .expect_error(400, 50035);
    w.post(3, &format!("/channels/{group}/call/ring"), json!({}))
        .await
        .expect_error(403, 50001);

    // Dave, not a recipient, cannot join the call.
    let mut d = w.caller(3, &group).await;
    d.send_voice_state(Some(&group), false, false).await;
    d.gw.expect_no_dispatch("VOICE_SERVER_UPDATE", QUIET).await;
    b.expect_no_dispatch_where(
        "VOICE_STATE_UPDATE",
        |s| s["user_id"] == dave.as_str(),
        QUIET,
    )
    .await;

    // Carol is removed from the group: she is rung no more.
    w.api
        .delete(
            &format!("/channels/{group}/recipients/{c_id}"),
            w.users[0].auth(),
        )
        .await
        .expect(204);
    assert_eq!(call_update(&mut b, &group).await, vec![b_id.clone()]);

    // A session of Bob's that starts now hears of the call in progress.
    let mut b2 = login(&w.api, &w.users[1], VOICE_INTENTS).await;
    let shown = b2
        .expect_dispatch_where(
            "CALL_CREATE",
            |d| d["channel_id"] == group.as_str(),
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(ids(&shown["ringing"]), vec![b_id.clone()]);
    assert_eq!(shown["voice_states"].as_array().map(Vec::len), Some(1));

    // Alice's session ends: she is out, and the call with her.
    a.close(1000).await;
    for gw in [&mut b, &mut b2] {
        gw.expect_dispatch_where(
            "CALL_DELETE",
            |d| d["channel_id"] == group.as_str(),
            EVENT_TIMEOUT,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_is_in_one_call_at_a_time_and_bots_are_never_rung() {
    let w = CallWorld::new(&["alice", "bob", "carol"]).await;
    let with_bob = w.open(0, &[1]).await;
    let with_carol = w.open(0, &[2]).await;
    let mut a = w.caller(0, &with_bob).await;
    let mut b = login(&w.api, &w.users[1], VOICE_INTENTS).await;
    let a_id = w.users[0].id.clone();

    a.request_voice(&with_bob, false).await;
    b.expect_dispatch_where(
        "CALL_CREATE",
        |d| d["channel_id"] == with_bob.as_str(),
        EVENT_TIMEOUT,
    )
    .await;
    // Alice calls Carol instead: her first call ends.
    a.guild_id = with_carol.clone();
    a.request_voice(&with_carol, false).await;
    b.expect_dispatch_where(
        "VOICE_STATE_UPDATE",
        |d| d["user_id"] == a_id.as_str() && d["channel_id"].is_null(),
        EVENT_TIMEOUT,
    )
    .await;
    b.expect_dispatch_where(
        "CALL_DELETE",
        |d| d["channel_id"] == with_bob.as_str(),
        EVENT_TIMEOUT,
    )
    .await;

    // A bot in a DM hears nothing of calls and cannot start one.
    let (app, bot) = w.api.create_bot(&w.owner, "callbot").await;
    w.api
        .authorize_bot(&w.owner, &w.guild_id, &str_field(&app, "id"), 0)
        .await
        .expect(200);
    let bot_dm = w
        .api
        .post(
            "/users/@me/channels",
            bot.auth(),
            Some(json!({ "recipient_id": a_id })),
        )
        .await
        .expect(200);
    let bot_dm = str_field(&bot_dm, "id");
    let mut bot_gw = login(
        &w.api,
        &bot,
        VOICE_INTENTS | crate::gateway_client::intents::DIRECT_MESSAGES,
    )
    .await;
    a.guild_id = bot_dm.clone();
    a.request_voice(&bot_dm, false).await;
    let ringing =
        a.gw.expect_dispatch_where(
            "CALL_CREATE",
            |d| d["channel_id"] == bot_dm.as_str(),
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert!(
        ids(&ringing["ringing"]).is_empty(),
        "a bot is not rung: {ringing}"
    );
    bot_gw.expect_no_dispatch("CALL_CREATE", QUIET).await;
    bot_gw
        .send_op(
            4,
            json!({ "guild_id": null, "channel_id": bot_dm, "self_mute": false, "self_deaf": false }),
        )
        .await;
    bot_gw
        .expect_no_dispatch("VOICE_SERVER_UPDATE", QUIET)
        .await;
    w.api
        .post(
            &format!("/channels/{bot_dm}/call/ring"),
            bot.auth(),
            Some(json!({})),
        )
        .await
        .expect_error(403, 20001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ringing_stops_on_its_own_after_the_ring_time() {
    let w = CallWorld::with(&["alice", "bob"], &["--call-ring-secs", "1"]).await;
    let dm = w.open(0, &[1]).await;
    let b_id = w.users[1].id.clone();
    let mut a = w.caller(0, &dm).await;
    let mut b = login(&w.api, &w.users[1], VOICE_INTENTS).await;
    a.request_voice(&dm, false).await;
    let create = b
        .expect_dispatch_where(
            "CALL_CREATE",
            |d| d["channel_id"] == dm.as_str(),
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(ids(&create["ringing"]), vec![b_id.clone()]);
    // Nobody answers: the ring ends by itself, and the call goes on.
    assert!(call_update(&mut b, &dm).await.is_empty());
    // Rung again (twice: one timer, moved on), it ends again, once.
    for _ in 0..2 {
        w.post(0, &format!("/channels/{dm}/call/ring"), json!({}))
            .await
            .expect(204);
        assert_eq!(call_update(&mut b, &dm).await, vec![b_id.clone()]);
    }
    assert!(call_update(&mut b, &dm).await.is_empty());
    b.expect_no_dispatch("CALL_UPDATE", QUIET).await;
    b.expect_no_dispatch("CALL_DELETE", QUIET).await;
}
