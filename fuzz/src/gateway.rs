//! The main gateway's frame handling, as a connection runs it.

use std::time::{Duration, Instant};

use axum::extract::ws::Message;
use hearth_signaling::codec::{Codec, Compression, Encoding, Prepared};
use hearth_signaling::protocol::Protocol;
use hearth_signaling::request::Request;
use serde_json::Value;
use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};

/// A client frame: decoded (4002 if it is not a payload), checked against
/// the connection's phase and limits, and parsed into its opcode's request.
/// Whatever the bytes, nothing may panic.
pub fn client_frame(encoding: Encoding, data: &[u8]) {
    let message = match encoding {
        Encoding::Json => match std::str::from_utf8(data) {
            Ok(text) => Message::Text(text.into()),
            // Not a text frame the WebSocket layer would deliver.
            Err(_) => return,
        },
        Encoding::MsgPack | Encoding::Etf => Message::Binary(data.to_vec().into()),
    };
    let codec = Codec::new(encoding, Compression::None);
    let Ok(payload) = codec.decode(&message) else {
        return;
    };
    let now = Instant::now();
    let mut protocol = Protocol::new(now, Duration::from_secs(41), Duration::from_secs(20));
    if protocol.on_payload(payload.op, now).is_err() {
        return;
    }
    let _ = Request::parse(payload);
}

/// Server payloads made from `data` go out through a zstd-stream codec —
/// complete frames before the connection authenticates, one stream after —
/// and one client decoding context must get back exactly what an
/// uncompressed connection sends.
pub fn zstd_round_trip(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let encoding = if head & 1 == 0 {
        Encoding::Json
    } else {
        Encoding::MsgPack
    };
    // How many payloads go out before Identify.
    let before = usize::from(head >> 1) % 4;
    let mut zstd = Codec::new(encoding, Compression::ZstdStream);
    let mut plain = Codec::new(encoding, Compression::None);
    let mut decoder = Decoder::new().expect("a zstd decoder");
    for (i, chunk) in rest.split(|b| *b == 0xff).take(32).enumerate() {
        let d: Value = serde_json::from_slice(chunk)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(chunk).into_owned()));
        if i == before {
            zstd.authenticated().expect("the zstd stream");
        }
        let (sent, expected) = if i < before {
            (zstd.op(11, &d), plain.op(11, &d))
        } else {
            let event = Prepared::new("FUZZ", &d);
            (
                zstd.dispatch(i as u64, &event),
                plain.dispatch(i as u64, &event),
            )
        };
        let (Ok(sent), Ok(expected)) = (sent, expected) else {
            return;
        };
        let Message::Binary(sent) = sent else {
            panic!("zstd-stream payloads go in binary frames");
        };
        let expected: Vec<u8> = match expected {
            Message::Text(t) => t.as_bytes().to_vec(),
            Message::Binary(b) => b.to_vec(),
            other => panic!("unexpected frame {other:?}"),
        };
        assert_eq!(inflate(&mut decoder, &sent), expected, "payload {i}");
    }
}

/// Everything one frame decodes to, with the connection's one context.
fn inflate(decoder: &mut Decoder<'static>, frame: &[u8]) -> Vec<u8> {
    let mut input = InBuffer::around(frame);
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let written = {
            let mut output = OutBuffer::around(&mut chunk[..]);
            decoder
                .run(&mut input, &mut output)
                .expect("the server's zstd frames decode");
            output.pos()
        };
        out.extend_from_slice(&chunk[..written]);
        if input.pos() >= frame.len() && written < chunk.len() {
            return out;
        }
    }
}
