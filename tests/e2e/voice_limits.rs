//! The voice plane's limits against a hostile participant, end to end:
//!
//! - valid STUN from thousands of source ports leaves a bounded route table
//!   and the other calls on the worker flowing;
//! - rejoins reuse the m-lines they left in the others' sessions;
//! - an offer with more tracks than allowed: 4020; a payload over the size
//!   limit: 4020; more than 120 payloads a minute: 4021;
//! - a refused SDP's close reason is words, not a heap address.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;

use crate::gateway_client::EVENT_TIMEOUT;
use crate::harness::{str_field, Api, Server, User};
use crate::voice_client::{vclose, vop, JoinOptions, VoiceClient};

const TONE_HZ: f64 = 440.0;

/// One SFU worker, so every call shares the socket and loop under attack.
async fn one_worker_server() -> Server {
    Server::start_with(
        &[
            "--rate-limits",
            "off",
            // The deprecated alias of --rtc-bind and --rtc-advertise: it
            // must keep working for the nodes configured with it.
            "--rtc-ip",
            "127.0.0.1",
            "--rtc-port",
            "0",
            "--sfu-workers",
            "1",
        ],
        &[],
    )
    .await
}

struct World {
    _server: Server,
    api: Api,
    guild_id: String,
    /// The default voice channel, `General`.
    x: String,
    /// A second voice channel.
    y: String,
    users: Vec<User>,
}

impl World {
    async fn new(names: &[&str]) -> World {
        let server = one_worker_server().await;
        let api = server.api();
        let owner = api.register("owner").await;
        let guild = api.create_guild(&owner, "Voice Limits Guild").await;
        let guild_id = str_field(&guild, "id");
        let x = api.channel_id(&owner, &guild_id, "General", 2).await;
        let lounge = api
            .create_channel(&owner, &guild_id, json!({"name": "Lounge", "type": 2}))
            .await;
        let y = str_field(&lounge, "id");
        let text = api.channel_id(&owner, &guild_id, "general", 0).await;
        let mut users = Vec::new();
        for name in names {
            let u = api.register(name).await;
            api.invite_and_join(&owner, &text, &u).await;
            users.push(u);
        }
        World {
            _server: server,
            api,
            guild_id,
            x,
            y,
            users,
        }
    }

    async fn client(&self, i: usize) -> VoiceClient {
        VoiceClient::login(&self.api, &self.users[i], &self.guild_id).await
    }
}

/// The value of a series with exactly these labels in /metrics.
async fn metric(api: &Api, series: &str) -> f64 {
    let text = api.metrics_text().await;
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} not in /metrics:\n{text}"))
}

fn sdp_attr<'a>(sdp: &'a str, name: &str) -> &'a str {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in\n{sdp}"))
}

/// A STUN binding request as an ICE agent sends it (RFC 8445 §7.1.2):
/// USERNAME `server:client`, PRIORITY, ICE-CONTROLLING, signed with the
/// server's password (MESSAGE-INTEGRITY, RFC 5389 §15.4).
fn binding_request(server_ufrag: &str, client_ufrag: &str, password: &str, n: u32) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    fn attr(m: &mut Vec<u8>, kind: u16, value: &[u8]) {
        m.extend_from_slice(&kind.to_be_bytes());
        m.extend_from_slice(&(value.len() as u16).to_be_bytes());
        m.extend_from_slice(value);
        while m.len() % 4 != 0 {
            m.push(0);
        }
    }
    let mut m = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    m.extend_from_slice(&n.to_be_bytes());
    m.extend_from_slice(&[0x5a; 8]);
    attr(
        &mut m,
        0x0006,
        format!("{server_ufrag}:{client_ufrag}").as_bytes(),
    );
    attr(&mut m, 0x0024, &0x6e7f_00ffu32.to_be_bytes());
    attr(&mut m, 0x802a, &u64::from(n).to_be_bytes());
    let length = ((m.len() - 20 + 24) as u16).to_be_bytes();
    m[2..4].copy_from_slice(&length);
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(password.as_bytes()).expect("any key length");
    mac.update(&m);
    let tag = mac.finalize().into_bytes();
    attr(&mut m, 0x0008, &tag);
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_stun_from_thousands_of_ports_keeps_routes_bounded_and_the_other_call_flowing() {
    let w = World::new(&["alice", "bob", "mallory"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    let mut m = w.client(2).await;
    a.join(&w.x).await;
    b.join(&w.x).await;
    let a_id = a.id().to_string();
    a.publish_tone(TONE_HZ);
    b.wait_audio_from(&a_id, 25).await;

    // Mallory joins another channel on the same worker and, knowing her own
    // ICE credentials, signs binding requests from port after port.
    m.request_voice(&w.y, false).await;
    m.open_voice().await;
    let offer = m.make_offer(JoinOptions::default()).await;
    m.select_protocol(&offer).await;
    m.wait_connected().await;
    let target: SocketAddr = m.media_addr();
    assert_eq!(target, a.media_addr(), "one worker, one media socket");
    assert!(target.ip().is_loopback());
    let answer = m.remote_answer_sdp();
    let server_ufrag = sdp_attr(&answer, "a=ice-ufrag:").to_string();
    let password = sdp_attr(&answer, "a=ice-pwd:").to_string();
    let client_ufrag = sdp_attr(&offer, "a=ice-ufrag:").to_string();

    let ports = 2_000u32;
    let mut sent = 0;
    for n in 0..ports {
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("binding a loopback UDP socket");
        let request = binding_request(&server_ufrag, &client_ufrag, &password, n);
        if sock.send_to(&request, target).await.is_ok() {
            sent += 1;
        }
        if n % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert!(sent > 1_900, "the requests were sent ({sent})");
    // Every request has been handled once more audio got through after it.
    b.wait_more_audio_from(&a_id, 50).await;

    let routes = metric(&w.api, r#"hearth_sfu_routes{worker="0"}"#).await;
    assert!(
        routes <= 8.0 + 2.0,
        "{routes} routes after {ports} ports: at most 8 for Mallory and one each for Alice and Bob"
    );
    let refused = metric(&w.api, r#"hearth_sfu_routes_refused_total{worker="0"}"#).await;
    assert!(
        refused > 0.0,
        "Mallory's requests were valid, and past her budget refused"
    );
    assert!(a.is_connected() && b.is_connected() && m.is_connected());
    b.wait_more_audio_from(&a_id, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejoins_reuse_their_m_lines_in_the_others_session_and_are_heard() {
    let w = World::new(&["alice", "bob"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    a.join(&w.x).await;
    b.join(&w.x).await;
    let b_id = b.id().to_string();
    for round in 0..6 {
        b.hang_up().await;
        b.close_voice(1000).await;
        // The call is over (and its voice state cleared) before the next.
        a.gw.expect_dispatch_where(
            "VOICE_STATE_UPDATE",
            |d| d["user_id"] == b_id.as_str() && d["channel_id"].is_null(),
            EVENT_TIMEOUT,
        )
        .await;
        b.join(&w.x).await;
        b.publish_tone(TONE_HZ);
        a.wait_more_audio_from(&b_id, 25).await;
        // Alice's own audio m-line and one for Bob's.
        assert!(
            a.offered_m_lines() <= 3,
            "round {round}: {} m-lines in Alice's session",
            a.offered_m_lines()
        );
    }
    let found = a.decoded_dominant_frequency(&b_id);
    assert!(
        (found - TONE_HZ).abs() <= 3.0,
        "Alice hears Bob's tone on the recycled m-line ({found:.1} Hz)"
    );
}

/// An offer with `n` audio m-lines: the client's first one, repeated
/// under new mids (and in the BUNDLE group).
fn offer_with_audio_lines(offer: &str, n: usize) -> String {
    let start = offer.find("m=audio").expect("an audio m-line");
    let rest = &offer[start..];
    let end = rest[2..].find("\r\nm=").map_or(rest.len(), |i| i + 4);
    let (head, section) = (&offer[..start], &rest[..end]);
    let mid = sdp_attr(section, "a=mid:").to_string();
    let mut mids = Vec::new();
    let mut out = String::new();
    for i in 0..n {
        let new_mid = format!("{mid}x{i}");
        // The copies send no stream of their own (one SSRC, one m-line).
        let s: String = section
            .lines()
            .filter(|l| i == 0 || !(l.starts_with("a=ssrc") || l.starts_with("a=msid")))
            .map(|l| {
                if l == format!("a=mid:{mid}") {
                    format!("a=mid:{new_mid}\r\n")
                } else {
                    format!("{l}\r\n")
                }
            })
            .collect();
        out.push_str(&s);
        mids.push(new_mid);
    }
    let head = head
        .lines()
        .map(|l| {
            if l.starts_with("a=group:BUNDLE") {
                format!("a=group:BUNDLE {}\r\n", mids.join(" "))
            } else {
                format!("{l}\r\n")
            }
        })
        .collect::<String>();
    head + &out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_with_more_tracks_than_allowed_is_refused_with_4020() {
    let w = World::new(&["alice"]).await;
    let mut a = w.client(0).await;
    a.request_voice(&w.x, false).await;
    a.open_voice().await;
    let offer = a.make_offer(JoinOptions::default()).await;
    let big = offer_with_audio_lines(&offer, 9);
    assert_eq!(big.matches("\r\nm=").count(), 9, "{big}");
    a.ws().select_protocol(&big);
    let closed = a.ws().expect_closed(EVENT_TIMEOUT).await;
    assert_eq!(closed.code, Some(vclose::BAD_REQUEST), "{closed}");
    assert!(closed.reason.contains("at most 8"), "{closed}");
    a.ws = None;
    // The limit itself is fine, and so is an ordinary offer afterwards.
    a.open_voice().await;
    let offer = a.make_offer(JoinOptions::default()).await;
    a.select_protocol(&offer).await;
    a.wait_connected().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_sdp_says_why_in_words_without_an_address() {
    let w = World::new(&["alice"]).await;
    let mut a = w.client(0).await;
    a.request_voice(&w.x, false).await;
    a.open_voice().await;
    a.ws().select_protocol("this is not an SDP offer");
    let closed = a.ws().expect_closed(EVENT_TIMEOUT).await;
    assert_eq!(closed.code, Some(vclose::DECODE_ERROR), "{closed}");
    assert!(closed.reason.starts_with("invalid SDP offer"), "{closed}");
    assert!(
        !closed.reason.contains("0x") && !closed.reason.contains("PointerOffset"),
        "the reason shows a memory address: {closed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_120_voice_payloads_a_minute_close_with_4021() {
    let w = World::new(&["alice"]).await;
    let mut a = w.client(0).await;
    a.join(&w.x).await;
    // The join took a few payloads; heartbeats make up the rest and more.
    for _ in 0..125 {
        a.ws().heartbeat();
    }
    let closed = a.ws().expect_closed(EVENT_TIMEOUT).await;
    assert_eq!(closed.code, Some(vclose::RATE_LIMITED), "{closed}");
    assert!(!closed.reason.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_payload_over_the_size_limit_closes_with_4020() {
    let w = World::new(&["alice"]).await;
    let mut a = w.client(0).await;
    a.request_voice(&w.x, false).await;
    a.open_voice().await;
    let padding = "x".repeat(70 * 1024);
    a.ws()
        .send(vop::SPEAKING, json!({ "speaking": 1, "padding": padding }));
    let closed = a.ws().expect_closed(EVENT_TIMEOUT).await;
    assert_eq!(closed.code, Some(vclose::BAD_REQUEST), "{closed}");
    assert!(closed.reason.contains("65536"), "{closed}");
}

/// Not a pass/fail test: what a STUN flood from many ports does to another
/// call on the same worker. Prints the longest gap in Alice's audio at Bob
/// (a 20 ms stream), the audio Bob got during the flood, and the worker's
/// forwarding delay per receive batch. `HEARTH_FLOOD_PORTS` (default
/// 20,000) source ports, each sending one signed binding request.
///
/// cargo nextest run -p hearth --test e2e --run-ignored only --no-capture -E 'test(/stun_flood/)'
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand"]
async fn measure_a_stun_flood_against_another_call() {
    let ports: u32 = std::env::var("HEARTH_FLOOD_PORTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let w = World::new(&["alice", "bob", "mallory"]).await;
    let mut a = w.client(0).await;
    let mut b = w.client(1).await;
    let mut m = w.client(2).await;
    a.join(&w.x).await;
    b.join(&w.x).await;
    let a_id = a.id().to_string();
    a.publish_tone(TONE_HZ);
    b.wait_audio_from(&a_id, 50).await;
    m.request_voice(&w.y, false).await;
    m.open_voice().await;
    let offer = m.make_offer(JoinOptions::default()).await;
    m.select_protocol(&offer).await;
    m.wait_connected().await;
    let target = m.media_addr();
    assert!(target.ip().is_loopback());
    let answer = m.remote_answer_sdp();
    let server_ufrag = sdp_attr(&answer, "a=ice-ufrag:").to_string();
    let password = sdp_attr(&answer, "a=ice-pwd:").to_string();
    let client_ufrag = sdp_attr(&offer, "a=ice-ufrag:").to_string();

    let delay_before = forward_delay_buckets(&w.api).await;
    let flood = tokio::spawn(async move {
        for n in 0..ports {
            let Ok(sock) = tokio::net::UdpSocket::bind("127.0.0.1:0").await else {
                continue;
            };
            let request = binding_request(&server_ufrag, &client_ufrag, &password, n);
            let _ = sock.send_to(&request, target).await;
            if n % 100 == 99 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let started = tokio::time::Instant::now();
    let got_before = b.received_audio_from(&a_id);
    let mut last = (got_before, started);
    let mut longest = Duration::ZERO;
    // Bounded: the flood, then 3 s for the worker to catch up.
    let mut flood_done: Option<tokio::time::Instant> = None;
    while flood_done.is_none_or(|t| t.elapsed() < Duration::from_secs(3))
        && started.elapsed() < Duration::from_secs(300)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let now = tokio::time::Instant::now();
        let got = b.received_audio_from(&a_id);
        if got != last.0 {
            longest = longest.max(now - last.1);
            last = (got, now);
        }
        if flood_done.is_none() && flood.is_finished() {
            flood_done = Some(now);
        }
    }
    longest = longest.max(last.1.elapsed());
    let elapsed = started.elapsed();
    let got = b.received_audio_from(&a_id) - got_before;
    let delay_after = forward_delay_buckets(&w.api).await;
    let delta: Vec<(String, f64)> = delay_after
        .iter()
        .zip(&delay_before)
        .map(|((le, n), (_, m))| (le.clone(), n - m))
        .collect();
    let total = delta.last().map_or(0.0, |(_, n)| *n);
    let quantile = |q: f64| {
        delta
            .iter()
            .find(|(_, n)| *n >= q * total)
            .map_or("?".to_string(), |(le, _)| le.clone())
    };
    println!(
        "flood of {ports} ports: {:.1} s; Bob got {got} of Alice's packets ({:.0}/s, 50/s sent); \
         longest gap {} ms; worker batches {total}: p50 <= {} s, p99 <= {} s, p99.9 <= {} s",
        elapsed.as_secs_f64(),
        got as f64 / elapsed.as_secs_f64(),
        longest.as_millis(),
        quantile(0.5),
        quantile(0.99),
        quantile(0.999),
    );
}

/// The worker's cumulative forwarding-delay buckets, `(le, count)`.
async fn forward_delay_buckets(api: &Api) -> Vec<(String, f64)> {
    let text = api.metrics_text().await;
    text.lines()
        .filter(|l| l.starts_with("hearth_sfu_forward_delay_seconds_bucket{"))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?.to_string();
            let n = l.split_whitespace().last()?.parse().ok()?;
            Some((le, n))
        })
        .collect()
}
