//! Client frames of a `encoding=etf` gateway connection.
#![no_main]

use hearth_signaling::codec::Encoding;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hearth_fuzz::gateway::client_frame(Encoding::Etf, data);
});
