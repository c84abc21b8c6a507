//! What forwarding costs the server: real str0m peers on both sides (SRTP
//! included) in one room, routed through memory in simulated time. Counts
//! the wall time spent inside the room's calls — the server's whole share:
//! receiving and decrypting, deciding, encrypting and handing each copy
//! out, RTCP and timers — and divides it by the packets the listeners
//! received. Sockets are not included (the load tester measures the whole
//! server).
//!
//! Rooms where everyone has a microphone cost more per packet than rooms of
//! pure listeners: every subscriber then has an m-line per other member, and
//! str0m's per-`Rtc` upkeep visits all of them.
//!
//! `cargo bench -p hearth-sfu --bench forward [-- NAME-PART...]`

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use hearth_sfu::room::Flags;
use support::{frames_from, Net};

/// Simulated steps of 5 ms (10 s of call).
const STEPS: usize = 2000;
const ROUNDS: usize = 5;

struct Scenario {
    name: &'static str,
    members: usize,
    speakers: usize,
    /// Whether the silent members have a track of their own (a muted or
    /// quiet microphone) rather than only listening.
    everyone_has_a_mic: bool,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "1 speaker, 10 listeners",
        members: 11,
        speakers: 1,
        everyone_has_a_mic: false,
    },
    Scenario {
        name: "1 speaker, 50 listeners",
        members: 51,
        speakers: 1,
        everyone_has_a_mic: false,
    },
    Scenario {
        name: "room of 10, 2 speaking, all with mics",
        members: 10,
        speakers: 2,
        everyone_has_a_mic: true,
    },
    Scenario {
        name: "room of 51, 1 speaking, all with mics",
        members: 51,
        speakers: 1,
        everyone_has_a_mic: true,
    },
];

fn main() {
    // `cargo bench` passes `--bench`; any other argument picks scenarios
    // whose name contains it.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    println!("scenario                                forwarded/round  server µs per forwarded packet: median of {ROUNDS} (min, max)");
    for s in SCENARIOS
        .iter()
        .filter(|s| filter.is_empty() || filter.iter().any(|f| s.name.contains(f.as_str())))
    {
        let mut per_packet = Vec::new();
        let mut forwarded_per_round = 0;
        for _ in 0..ROUNDS {
            let (forwarded, time) = round(s);
            forwarded_per_round = forwarded;
            per_packet.push(time.as_secs_f64() * 1e6 / forwarded.max(1) as f64);
        }
        per_packet.sort_by(f64::total_cmp);
        println!(
            "{:<38}  {forwarded_per_round:>15}  {:.2} ({:.2}, {:.2})",
            s.name,
            per_packet[ROUNDS / 2],
            per_packet[0],
            per_packet[ROUNDS - 1]
        );
    }
}

/// One call: connect everyone, warm up, then measure the speakers talking.
fn round(s: &Scenario) -> (usize, Duration) {
    let speak = Flags {
        can_speak: true,
        ..Flags::default()
    };
    let mut net = Net::new();
    // Like the worker: the server side gets time only when it asked for it.
    net.timers_only = true;
    let mut speakers = Vec::new();
    for i in 0..s.members {
        let n = 1 + i as u8;
        if i < s.speakers {
            speakers.push(net.join(n, speak));
        } else if s.everyone_has_a_mic {
            net.join(n, speak);
        } else {
            net.join_listener(n, speak);
        }
    }
    for _ in 0..20 {
        if net.connected() {
            break;
        }
        net.run(100, None);
    }
    assert!(net.connected(), "every peer connects in memory");
    net.run_speakers(400, &speakers);
    let users: Vec<_> = speakers.iter().map(|&i| net.clients[i].user).collect();
    let received = |net: &Net| -> usize {
        net.clients
            .iter()
            .flat_map(|c| users.iter().map(move |u| frames_from(c, *u)))
            .sum()
    };
    let before = received(&net);
    net.server_time = Duration::ZERO;
    net.run_speakers(STEPS, &speakers);
    (received(&net) - before, net.server_time)
}
