//! A client's SDP offer (voice op 1), as the SFU's worker takes it: the
//! m-line count, str0m's parser and its answer. A refusal's words go into
//! a close frame, so they must never carry an address.

#![no_main]

use std::time::Instant;

use hearth_sfu::offer::{accept, OfferError};
use hearth_sfu::room::server_rtc;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sdp) = std::str::from_utf8(data) else {
        return;
    };
    str0m::crypto::from_feature_flags().install_process_default();
    let Ok(mut rtc) = server_rtc("10.0.0.1:5000".parse().unwrap(), Instant::now()) else {
        return;
    };
    match accept(&mut rtc, sdp, 8) {
        Ok(answer) => {
            // What the server says back must itself be SDP it can read.
            let text = answer.to_sdp_string();
            assert!(str0m::change::SdpAnswer::from_sdp_string(&text).is_ok());
        }
        Err(e @ (OfferError::Invalid(_) | OfferError::Unacceptable(_))) => {
            let reason = e.to_string();
            assert!(!reason.contains("PointerOffset"), "{reason}");
            assert!(!reason.chars().any(char::is_control), "{reason:?}");
        }
        Err(_) => {}
    }
});
