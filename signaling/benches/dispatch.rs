//! What one dispatch costs the gateway: encoding an event's `d` once, and the
//! per-session envelope (JSON, MessagePack, zstd-stream) around it.

use criterion::{criterion_group, criterion_main, Criterion};
use hearth_signaling::codec::{Codec, Compression, Encoding, Prepared};
use serde_json::json;

fn message_event() -> serde_json::Value {
    json!({
        "id": "1573951286716399616", "channel_id": "1573951286502490113", "guild_id": "1573951286502490112",
        "author": {"id": "1573951286422798336", "username": "ada", "discriminator": "0", "global_name": "Ada", "avatar": null},
        "content": "the build is green again, thanks everyone for the quick fixes today",
        "timestamp": "2026-11-22T06:40:29.354000+00:00", "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": false, "type": 0, "flags": 0,
        "member": {"roles": ["1573951286502490199"], "nick": null, "avatar": null, "joined_at": "2026-11-22T06:40:29.354000+00:00",
                   "deaf": false, "mute": false, "flags": 0, "pending": false, "communication_disabled_until": null}
    })
}

fn bench(c: &mut Criterion) {
    let data = message_event();
    c.bench_function("dispatch/encode d once (json)", |b| {
        b.iter(|| {
            let p = Prepared::new("MESSAGE_CREATE", &data);
            let mut codec = Codec::new(Encoding::Json, Compression::None);
            codec.dispatch(1, &p).expect("encode")
        })
    });
    for (name, enc, comp) in [
        ("json", Encoding::Json, Compression::None),
        ("msgpack", Encoding::MsgPack, Compression::None),
        ("json+zstd-stream", Encoding::Json, Compression::ZstdStream),
    ] {
        let p = Prepared::new("MESSAGE_CREATE", &data);
        let mut codec = Codec::new(enc, comp);
        // An identified connection's codec: the zstd stream, not per-message frames.
        codec.authenticated().expect("zstd stream");
        codec.dispatch(0, &p).expect("warm the cached d");
        let mut seq = 0;
        c.bench_function(&format!("dispatch/per-session frame ({name})"), |b| {
            b.iter(|| {
                seq += 1;
                codec.dispatch(seq, &p).expect("encode")
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
