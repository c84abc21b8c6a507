//! Any datagram at the SFU's media socket from a participant's address:
//! the worker's own STUN reading (username, MESSAGE-INTEGRITY), then the
//! participant's `Rtc` and the room (STUN, DTLS, SRTP/SRTCP demultiplexing).
//! The room persists across inputs, so sequences of datagrams are explored;
//! a participant the input made fail is replaced.

#![no_main]

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hearth_model::Snowflake;
use hearth_sfu::room::{
    accept_offer, server_rtc, Flags, Participant, ParticipantId, Room, RoomKey,
};
use hearth_sfu::stun::{stun_integrity_ok, stun_username};
use libfuzzer_sys::fuzz_target;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::{Candidate, Input, Rtc};

struct World {
    room: Room,
    now: Instant,
    pass: String,
    id: ParticipantId,
}

const SERVER: ([u8; 4], u16) = ([10, 0, 0, 1], 5000);
const CLIENT: ([u8; 4], u16) = ([10, 0, 1, 1], 4000);

fn join(room: &mut Room, id: ParticipantId, now: Instant) -> String {
    let server = SocketAddr::from(SERVER);
    let client = SocketAddr::from(CLIENT);
    let mut rtc = Rtc::builder().build(now);
    rtc.add_local_candidate(Candidate::host(client, "udp").expect("a host candidate"));
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    api.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
    let (offer, _) = api.apply().expect("an offer");
    let mut srv = server_rtc(server, now).expect("the server's Rtc");
    accept_offer(&mut srv, &offer.to_sdp_string()).expect("the offer is accepted");
    let pass = srv.direct_api().local_ice_credentials().pass;
    let (events, _) = tokio::sync::mpsc::unbounded_channel();
    let flags = Flags {
        can_speak: true,
        ..Flags::default()
    };
    room.join(Participant::new(
        id,
        Snowflake(100 + id.0),
        format!("s{}", id.0),
        srv,
        flags,
        events,
        now,
    ));
    pass
}

fn world() -> World {
    str0m::crypto::from_feature_flags().install_process_default();
    let now = Instant::now();
    let mut room = Room::new(RoomKey {
        guild: Snowflake(1),
        channel: Snowflake(2),
    });
    let id = ParticipantId(1);
    let pass = join(&mut room, id, now);
    World {
        room,
        now,
        pass,
        id,
    }
}

thread_local! {
    static WORLD: RefCell<Option<World>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    let _ = stun_username(data);
    WORLD.with(|cell| {
        let mut cell = cell.borrow_mut();
        let w = cell.get_or_insert_with(world);
        let _ = stun_integrity_ok(data, w.pass.as_bytes());
        w.now += Duration::from_millis(3);
        let Ok(contents) = data.try_into() else {
            return;
        };
        let input = Input::Receive(
            w.now,
            Receive {
                proto: Protocol::Udp,
                source: SocketAddr::from(CLIENT),
                destination: SocketAddr::from(SERVER),
                contents,
            },
        );
        let now = w.now;
        let mut sink = |_: Transmit| {};
        let outcome = w.room.input(w.id, input, now, &mut sink);
        let timeout = w.room.input(w.id, Input::Timeout(now), now, &mut sink);
        if !outcome.failed.is_empty() || !timeout.failed.is_empty() {
            w.room.leave(w.id);
            w.id = ParticipantId(w.id.0 + 1);
            w.pass = join(&mut w.room, w.id, now);
        }
    });
});
