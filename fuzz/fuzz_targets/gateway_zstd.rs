//! Server payloads through `compress=zstd-stream`, decoded by one client context.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hearth_fuzz::gateway::zstd_round_trip(data);
});
