//! REST request bodies: hostile bytes decoded as each body type the API
//! takes (the first byte picks which), then the checks that run on names.
//! Nothing may panic: every refusal is a `BodyError` that the edge turns
//! into 50109 or 50035, and its field errors render as Discord's JSON.
#![no_main]

use hearth_proto::body::{decode, BodyError};
use hearth_proto::rest::*;
use hearth_proto::FormErrors;
use libfuzzer_sys::fuzz_target;

fn check<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    match decode::<T>(bytes) {
        Ok(v) => Some(v),
        // A form error must still render as Discord's nested error JSON.
        Err(BodyError::Form(errors)) => {
            let _ = errors.into_value();
            None
        }
        Err(BodyError::InvalidJson) => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let mut errors = FormErrors::new();
    match which % 16 {
        0 => {
            if let Some(b) = check::<CreateMessage>(bytes) {
                if let Some(c) = &b.content {
                    errors.check_len("content", c, 0, 2000);
                }
            }
        }
        1 => {
            check::<EditMessage>(bytes);
        }
        2 => {
            if let Some(b) = check::<CreateGuild>(bytes) {
                errors.check_name("name", b.name.trim(), 2, 100);
            }
        }
        3 => {
            check::<PatchGuild>(bytes);
        }
        4 => {
            if let Some(b) = check::<CreateChannel>(bytes) {
                errors.check_name("name", &b.name, 1, 100);
            }
        }
        5 => {
            check::<PatchChannel>(bytes);
        }
        6 => {
            if let Some(b) = check::<RoleBody>(bytes) {
                if let Some(n) = &b.name {
                    errors.check_name("name", n, 1, 100);
                }
            }
        }
        7 => {
            if let Some(b) = check::<PatchMember>(bytes) {
                if let Some(Some(n)) = &b.nick {
                    errors.check_name("nick", n, 1, 32);
                }
            }
        }
        8 => {
            check::<PutOverwrite>(bytes);
        }
        9 => {
            check::<CreateBan>(bytes);
        }
        10 => {
            check::<ExecuteWebhook>(bytes);
        }
        11 => {
            check::<Register>(bytes);
        }
        12 => {
            check::<PatchUser>(bytes);
        }
        13 => {
            check::<BulkDelete>(bytes);
        }
        14 => {
            check::<CreateInvite>(bytes);
        }
        _ => {
            check::<Vec<serde_json::Value>>(bytes);
        }
    }
    let _ = errors.into_value();
});
