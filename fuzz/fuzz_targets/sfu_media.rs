//! Media a connected publisher sends, with payloads the fuzzer chooses: the
//! room's forwarding path past SRTP (speaking from the audio level,
//! simulcast layer choice, keyframe detection and VP8 picture-id rewriting
//! on the payload's bytes, renumbering) to a subscriber. The call (two str0m
//! peers in memory, as in the SFU's forwarding tests) is set up once and
//! carries on across inputs.
//!
//! Input: byte 0 picks the track (audio, or one of three simulcast layers)
//! and whether the frame is marked a keyframe; the rest is the payload.

#![no_main]

#[path = "../../sfu/tests/support/mod.rs"]
mod support;

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use str0m::format::Codec;
use str0m::media::{Frequency, MediaTime};
use support::{talking, Net};

struct Call {
    net: Net,
    publisher: usize,
    subscriber: usize,
    frame: u64,
}

fn call() -> Call {
    let mut net = Net::new();
    let publisher = net.join_simulcast(1, talking(), &["q", "h", "f"]);
    let subscriber = net.join(2, talking());
    net.run(400, None);
    assert!(net.connected(), "the call connects in memory");
    Call {
        net,
        publisher,
        subscriber,
        frame: 0,
    }
}

thread_local! {
    static CALL: RefCell<Option<Call>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, payload)) = data.split_first() else {
        return;
    };
    CALL.with(|cell| {
        let mut cell = cell.borrow_mut();
        let call = cell.get_or_insert_with(call);
        call.frame += 1;
        let now = call.net.now;
        let frame = call.frame;
        let c = &mut call.net.clients[call.publisher];
        match pick % 4 {
            0 => {
                let Some(mid) = c.mid else { return };
                let Some(writer) = c.rtc.writer(mid) else {
                    return;
                };
                let Some(pt) = writer
                    .payload_params()
                    .find(|p| p.spec().codec == Codec::Opus)
                    .map(|p| p.pt())
                else {
                    return;
                };
                let _ = writer
                    .audio_level(-(i8::try_from(pick & 0x7f).unwrap_or(0)), true)
                    .write(
                        pt,
                        now,
                        MediaTime::new(frame * 960, Frequency::FORTY_EIGHT_KHZ),
                        payload.to_vec(),
                    );
            }
            layer => {
                let Some((mid, rids)) = c.video.clone() else {
                    return;
                };
                let Some(rid) = rids.get(usize::from(layer) - 1).copied() else {
                    return;
                };
                let Some(writer) = c.rtc.writer(mid) else {
                    return;
                };
                let Some(pt) = writer
                    .payload_params()
                    .find(|p| p.spec().codec == Codec::Vp8)
                    .map(|p| p.pt())
                else {
                    return;
                };
                let _ = writer.rid(rid).write(
                    pt,
                    now,
                    MediaTime::new(frame * 3000, Frequency::NINETY_KHZ),
                    payload.to_vec(),
                );
            }
        }
        call.net.step();
        call.net.step();
        call.net.clients[call.subscriber].received.clear();
    });
});
