//! The SFU's two media addresses: the one its UDP sockets bind to
//! (`--rtc-bind`) and the one clients are told to send to
//! (`--rtc-advertise`), as behind a 1:1 NAT, in a container or on a cloud
//! VM whose public address is on no interface.
//!
//! - bound to every interface and advertised at loopback, a call connects
//!   and its audio arrives;
//! - advertised at an address on no interface of this machine, the node
//!   still starts and hands that address out;
//! - an advertised address nobody can send to stops the node at start,
//!   with an error that says which setting to fix.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::gateway_client::EVENT_TIMEOUT;
use crate::harness::{str_field, Api, Server, User};
use crate::voice_client::{vop, Shared, VoiceClient, VoiceWs};

/// A guild whose owner and `names` are all members: its owner, id, voice
/// channel and members.
pub(crate) async fn guild_with(api: &Api, names: &[&str]) -> (User, String, String, Vec<User>) {
    let owner = api.register("owner").await;
    let guild = api.create_guild(&owner, "Media Addresses").await;
    let guild_id = str_field(&guild, "id");
    let voice = api.channel_id(&owner, &guild_id, "General", 2).await;
    let text = api.channel_id(&owner, &guild_id, "general", 0).await;
    let mut users = Vec::new();
    for name in names {
        let u = api.register(name).await;
        api.invite_and_join(&owner, &text, &u).await;
        users.push(u);
    }
    (owner, guild_id, voice, users)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_bound_to_every_interface_flows_to_the_advertised_address() {
    let server = Server::start_with(
        &[
            "--rate-limits",
            "off",
            "--rtc-bind",
            "0.0.0.0",
            "--rtc-advertise",
            "127.0.0.1",
        ],
        &[],
    )
    .await;
    let api = server.api();
    let (_, guild_id, voice, users) = guild_with(&api, &["alice", "bob"]).await;
    let mut a = VoiceClient::login(&api, &users[0], &guild_id).await;
    let mut b = VoiceClient::login(&api, &users[1], &guild_id).await;
    // `join` checks that Ready names 127.0.0.1 and waits for ICE and DTLS.
    a.join(&voice).await;
    b.join(&voice).await;
    let answer = a.remote_answer_sdp();
    let candidates: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("a=candidate"))
        .collect();
    assert!(
        !candidates.is_empty() && candidates.iter().all(|c| c.contains(" 127.0.0.1 ")),
        "every host candidate names the advertised address: {candidates:?}"
    );
    assert!(
        !answer.contains("0.0.0.0 "),
        "the bind address leaks into the answer:\n{answer}"
    );

    let a_id = a.id().to_string();
    a.publish_tone(440.0);
    b.wait_audio_from(&a_id, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_address_on_no_interface_is_handed_to_clients() {
    // 203.0.113.0/24 is for documentation: on no interface of any machine.
    let server = Server::start_with(
        &[
            "--rate-limits",
            "off",
            "--rtc-bind",
            "127.0.0.1",
            "--rtc-advertise",
            "203.0.113.7",
        ],
        &[],
    )
    .await;
    let api = server.api();
    let (_, guild_id, voice, users) = guild_with(&api, &["alice"]).await;
    let mut a = VoiceClient::login(&api, &users[0], &guild_id).await;
    let grant = a.request_voice(&voice, false).await;
    let mut ws = VoiceWs::connect(&grant.endpoint, Shared::new("alice"), "alice/voice").await;
    ws.identify(
        &grant.guild_id,
        &grant.user_id,
        &grant.session_id,
        &grant.token,
    );
    let ready = ws.expect_op(vop::READY, EVENT_TIMEOUT).await;
    assert_eq!(
        ready.d["ip"], "203.0.113.7",
        "Ready names the advertised address: {}",
        ready.raw
    );
    assert!(
        ready.d["port"].as_u64().is_some_and(|p| p > 0),
        "Ready names the bound port: {}",
        ready.raw
    );
}

/// Runs `hearth serve` with `args` on a fresh data directory, expecting it
/// to exit at once; returns (success, stderr).
fn serve_expecting_exit(args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().expect("a temporary data directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the hearth binary");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("polling hearth") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hearth {args:?} kept running; it should have refused to start");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .expect("reading hearth's stderr");
    (status.success(), stderr)
}

#[test]
fn an_unspecified_advertised_address_stops_the_node_with_a_clear_error() {
    let (ok, stderr) = serve_expecting_exit(&["--rtc-bind", "0.0.0.0"]);
    assert!(!ok, "hearth started with media advertised at 0.0.0.0");
    assert!(
        stderr.contains("set rtc_advertise"),
        "the error names the setting to fix: {stderr}"
    );
    let (ok, stderr) =
        serve_expecting_exit(&["--rtc-bind", "0.0.0.0", "--rtc-advertise", "0.0.0.0"]);
    assert!(!ok, "hearth started with media advertised at 0.0.0.0");
    assert!(
        stderr.contains("rtc_advertise must be an address clients can send media to"),
        "{stderr}"
    );
}
