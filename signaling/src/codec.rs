//! Turning payloads into WebSocket messages and back: JSON, MessagePack or
//! ETF (see [`crate::etf`]),
//! optionally through one zstd stream per connection (`zstd-stream`) or one
//! zlib stream (`zlib-stream`, which many bot libraries ask for by default).
//!
//! A dispatch's `d` is encoded once per event, not once per session: the
//! [`Prepared`] event caches each encoding, and a session's frame is its
//! `op`, `s` and `t` spliced around those bytes. JSON, MessagePack and ETF
//! maps are all plain concatenations, which is what makes the splice valid.

use std::io::Write;
use std::sync::{Arc, OnceLock};

use axum::extract::ws::Message;
use hearth_model::Snowflake;
use hearth_proto::events::Event;
use hearth_proto::gateway::ClientPayload;
use serde_json::Value;

use crate::etf;
use crate::protocol::MAX_PAYLOAD_BYTES;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    MsgPack,
    Etf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    ZstdStream,
    ZlibStream,
}

/// One dispatch, shared by every session it goes to.
///
/// `d` is kept encoded, not as a `serde_json::Value`: sessions hold their
/// dispatches until the client acknowledges them, and a value tree takes
/// several times the memory of its JSON (a GUILD_CREATE: ~70 KB against
/// ~9 KB). What per-session filtering needs is read out once, up front.
#[derive(Debug)]
pub struct Prepared {
    pub name: String,
    json: Box<[u8]>,
    msgpack: OnceLock<Box<[u8]>>,
    etf: OnceLock<Box<[u8]>>,
    /// The user the event is about (`d.user.id`), if any.
    pub subject: Option<Snowflake>,
    /// For message events: the author and the mentioned users, whom the
    /// MESSAGE_CONTENT rule exempts.
    involved: Vec<Snowflake>,
    /// The same for the replied-to message in `referenced_message`, which
    /// the rule covers on its own: `None` if there is none.
    referenced_involved: Option<Vec<Snowflake>>,
    /// A DM's or group DM's event: the MESSAGE_CONTENT rule does not apply
    /// there (as on Discord, an app reads the messages sent to it).
    private: bool,
    /// The MESSAGE_CONTENT-less forms, made on first need, indexed by
    /// [`Emptied`].
    without_content: [OnceLock<Arc<Prepared>>; 3],
    /// Its payload's number in this node's journal, once written there
    /// (see `journal`): one copy however many sessions get it.
    journal_id: OnceLock<u64>,
}

/// Which parts of a message event a session may not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emptied {
    /// The message itself and the message it replies to.
    Both = 0,
    /// The message only (the reader wrote or is mentioned in the replied-to one).
    Message = 1,
    /// The replied-to message only (the reader wrote or is mentioned in this one).
    Referenced = 2,
}

/// Who the MESSAGE_CONTENT rule exempts for one message: its author and
/// the users it mentions.
fn involved_in(message: &hearth_model::Message) -> Vec<Snowflake> {
    std::iter::once(message.author.id)
        .chain(message.mentions.iter().map(|u| u.id))
        .collect()
}

/// Empties what MESSAGE_CONTENT guards in one message object, as Discord:
/// content, embeds, attachments and components.
fn empty_content(message: &mut Value) {
    if let Some(obj) = message.as_object_mut() {
        for (field, empty) in [
            ("content", Value::String(String::new())),
            ("embeds", Value::Array(vec![])),
            ("attachments", Value::Array(vec![])),
            ("components", Value::Array(vec![])),
        ] {
            if obj.contains_key(field) {
                obj.insert(field.to_owned(), empty);
            }
        }
    }
}

impl Prepared {
    /// A dispatch of the bus: `d` written once, and what the per-session
    /// rules need read from the typed event.
    pub fn of(event: &Event) -> Arc<Self> {
        let (involved, referenced_involved) = match event.message() {
            Some(m) => (
                involved_in(m),
                m.referenced_message
                    .as_ref()
                    .and_then(|r| r.as_deref())
                    .map(involved_in),
            ),
            None => (Vec::new(), None),
        };
        Arc::new(Prepared {
            name: event.name().to_owned(),
            json: event.d_json().into_boxed_slice(),
            msgpack: OnceLock::new(),
            etf: OnceLock::new(),
            subject: event.subject(),
            involved,
            referenced_involved,
            private: matches!(event, Event::Direct { .. }),
            without_content: Default::default(),
            journal_id: OnceLock::new(),
        })
    }

    /// A dispatch for one session only (READY, GUILD_CREATE, a member
    /// chunk, VOICE_SERVER_UPDATE), or a form made from another: no
    /// per-session rule looks into it.
    pub fn new(name: impl Into<String>, data: &Value) -> Arc<Self> {
        Arc::new(Prepared {
            // Serialising a Value cannot fail.
            json: serde_json::to_vec(data)
                .unwrap_or_default()
                .into_boxed_slice(),
            msgpack: OnceLock::new(),
            etf: OnceLock::new(),
            subject: None,
            involved: Vec::new(),
            referenced_involved: None,
            private: false,
            without_content: Default::default(),
            journal_id: OnceLock::new(),
            name: name.into(),
        })
    }

    /// A dispatch as another node buffered it: its name and `d` as JSON
    /// (already in the form its session may read).
    pub fn from_json(name: impl Into<String>, json: Vec<u8>) -> Arc<Self> {
        Arc::new(Prepared {
            json: json.into_boxed_slice(),
            msgpack: OnceLock::new(),
            etf: OnceLock::new(),
            subject: None,
            involved: Vec::new(),
            referenced_involved: None,
            private: false,
            without_content: Default::default(),
            journal_id: OnceLock::new(),
            name: name.into(),
        })
    }

    /// Its payload's number in the node's journal, and whether `next` made
    /// it just now (the payload must then be written).
    pub(crate) fn journal_id(&self, next: impl FnOnce() -> u64) -> (u64, bool) {
        let mut fresh = false;
        let id = *self.journal_id.get_or_init(|| {
            fresh = true;
            next()
        });
        (id, fresh)
    }

    /// `d` as JSON.
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// What the event weighs in a resume buffer: its JSON, which every
    /// session holding it shares.
    pub fn size(&self) -> usize {
        self.json.len() + self.name.len()
    }

    /// `d`, decoded again (for the rare forms made from it).
    fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }

    fn d(&self, encoding: Encoding) -> &[u8] {
        match encoding {
            Encoding::Json => &self.json,
            Encoding::MsgPack => self.msgpack.get_or_init(|| {
                rmp_serde::to_vec_named(&self.value())
                    .unwrap_or_default()
                    .into_boxed_slice()
            }),
            Encoding::Etf => self.etf.get_or_init(|| {
                let mut out = Vec::with_capacity(self.json.len());
                etf::write(&self.value(), &mut out);
                out.into_boxed_slice()
            }),
        }
    }

    /// Whether this is a message event a bot without MESSAGE_CONTENT would
    /// see emptied.
    pub fn carries_content(&self) -> bool {
        !self.private && carries_content(&self.name)
    }

    /// What `user` may not read of this message event under the
    /// MESSAGE_CONTENT rule, if they lack the intent: the message unless
    /// they wrote or are mentioned in it, and the same, on its own, for
    /// the message it replies to. `None`: they may read all of it.
    pub fn emptied_for(&self, user: Snowflake) -> Option<Emptied> {
        if !self.carries_content() {
            return None;
        }
        let message = !self.involved.contains(&user);
        let referenced = self
            .referenced_involved
            .as_ref()
            .is_some_and(|r| !r.contains(&user));
        match (message, referenced) {
            (true, true) => Some(Emptied::Both),
            (true, false) => Some(Emptied::Message),
            (false, true) => Some(Emptied::Referenced),
            (false, false) => None,
        }
    }

    /// The same event with content, embeds, attachments and components
    /// emptied where `which` says.
    pub fn without_content(self: &Arc<Self>, which: Emptied) -> Arc<Prepared> {
        self.without_content[which as usize]
            .get_or_init(|| {
                let mut data = self.value();
                if matches!(which, Emptied::Both | Emptied::Message) {
                    empty_content(&mut data);
                }
                if matches!(which, Emptied::Both | Emptied::Referenced) {
                    if let Some(r) = data.get_mut("referenced_message") {
                        empty_content(r);
                    }
                }
                Prepared::new(self.name.clone(), &data)
            })
            .clone()
    }

    #[cfg(test)]
    pub(crate) fn d_value(&self) -> Value {
        self.value()
    }
}

fn carries_content(name: &str) -> bool {
    matches!(name, "MESSAGE_CREATE" | "MESSAGE_UPDATE")
}

/// Why a client payload was not understood (close 4002).
#[derive(Debug)]
pub struct DecodeError(pub String);

/// The per-connection encoder and decoder.
pub struct Codec {
    encoding: Encoding,
    zstd: Option<Zstd>,
    zlib: Option<Zlib>,
}

/// A `zlib-stream` connection's compression: one zlib stream for the
/// connection's life, each message ending in a sync flush (the
/// `00 00 ff ff` clients wait for before inflating).
///
/// As with zstd, a deflate context (its window and hash chains, a few
/// hundred KB) waits for authentication. Until then messages go in stored
/// (uncompressed) deflate blocks after the zlib header, which need no
/// state; then a raw deflate compressor carries the same stream on. Its
/// back-references reach only what it wrote itself, so the client's one
/// inflater reads the whole stream as one.
enum Zlib {
    Stored { header_sent: bool },
    Stream(Box<flate2::Compress>),
}

const ZLIB_LEVEL: u32 = 6;
/// The empty stored block a sync flush ends with.
const ZLIB_SYNC_MARKER: [u8; 5] = [0x00, 0x00, 0x00, 0xff, 0xff];

/// A `zstd-stream` connection's compression.
///
/// A streaming context with its window and match tables is most of a
/// connection's memory (about 800 KB at level 3), too much to hand to a
/// connection that has not proven who it is. Until it authenticates, each
/// payload is a complete zstd frame of its own, compressed by a context that
/// lives only for that call; then one stream runs for the rest of the
/// connection. A client's streaming decoder reads consecutive frames as one
/// stream, so it cannot tell the difference.
enum Zstd {
    Framed,
    Stream(Box<zstd::stream::write::Encoder<'static, Vec<u8>>>),
}

/// Smaller than zstd's default window: a gateway connection's messages are
/// small, and the window is memory held for the connection's whole life.
const ZSTD_WINDOW_LOG: u32 = 16;
const ZSTD_LEVEL: i32 = 3;
/// Level 3 sizes its two match tables for large inputs (2^17 and 2^16
/// entries of 4 bytes, 768 KB); with a 64 KiB window, tables of 2^15
/// entries find nearly the same matches for a quarter of the memory.
const ZSTD_TABLE_LOG: u32 = 15;

impl Codec {
    pub fn new(encoding: Encoding, compression: Compression) -> Self {
        let zstd = match compression {
            Compression::None => None,
            Compression::ZstdStream => Some(Zstd::Framed),
            Compression::ZlibStream => None,
        };
        let zlib =
            (compression == Compression::ZlibStream).then_some(Zlib::Stored { header_sent: false });
        Codec {
            encoding,
            zstd,
            zlib,
        }
    }

    /// The connection identified or resumed: from now on it is worth a
    /// compression stream.
    pub fn authenticated(&mut self) -> std::io::Result<()> {
        if let Some(z @ Zstd::Framed) = &mut self.zstd {
            let mut e = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
            e.window_log(ZSTD_WINDOW_LOG)?;
            e.set_parameter(zstd::stream::raw::CParameter::HashLog(ZSTD_TABLE_LOG))?;
            e.set_parameter(zstd::stream::raw::CParameter::ChainLog(ZSTD_TABLE_LOG))?;
            *z = Zstd::Stream(Box::new(e));
        }
        if let Some(z @ Zlib::Stored { .. }) = &mut self.zlib {
            *z = Zlib::Stream(Box::new(flate2::Compress::new(
                flate2::Compression::new(ZLIB_LEVEL),
                false,
            )));
        }
        Ok(())
    }

    pub fn dispatch(&mut self, seq: u64, event: &Prepared) -> std::io::Result<Message> {
        let d = event.d(self.encoding);
        let bytes = match self.encoding {
            Encoding::Json => {
                let mut out = Vec::with_capacity(d.len() + event.name.len() + 40);
                write!(
                    out,
                    "{{\"op\":0,\"s\":{seq},\"t\":\"{}\",\"d\":",
                    event.name
                )?;
                out.extend_from_slice(d);
                out.push(b'}');
                out
            }
            Encoding::MsgPack => {
                let mut out = Vec::with_capacity(d.len() + event.name.len() + 24);
                msgpack_head(&mut out, 0, Some(seq), Some(&event.name))?;
                out.extend_from_slice(d);
                out
            }
            Encoding::Etf => {
                let mut out = Vec::with_capacity(d.len() + event.name.len() + 32);
                etf_head(&mut out, 0, Some(seq), Some(&event.name));
                out.extend_from_slice(d);
                out
            }
        };
        self.frame(bytes)
    }

    /// A non-dispatch payload (Hello, Heartbeat ACK, Invalid Session, Reconnect).
    pub fn op(&mut self, opcode: u8, d: &Value) -> std::io::Result<Message> {
        let bytes = match self.encoding {
            Encoding::Json => serde_json::to_vec(
                &serde_json::json!({"op": opcode, "d": d, "s": null, "t": null}),
            )?,
            Encoding::MsgPack => {
                let mut out = Vec::new();
                msgpack_head(&mut out, opcode, None, None)?;
                out.extend_from_slice(&rmp_serde::to_vec_named(d).map_err(std::io::Error::other)?);
                out
            }
            Encoding::Etf => {
                let mut out = Vec::new();
                etf_head(&mut out, opcode, None, None);
                etf::write(d, &mut out);
                out
            }
        };
        self.frame(bytes)
    }

    fn frame(&mut self, bytes: Vec<u8>) -> std::io::Result<Message> {
        if let Some(zlib) = &mut self.zlib {
            return Ok(Message::Binary(zlib_message(zlib, &bytes)?.into()));
        }
        match &mut self.zstd {
            Some(Zstd::Stream(z)) => {
                z.write_all(&bytes)?;
                // A flush ends a block, so the client can decode this message
                // now; the stream (and its dictionary of earlier messages) goes on.
                z.flush()?;
                Ok(Message::Binary(std::mem::take(z.get_mut()).into()))
            }
            Some(Zstd::Framed) => Ok(Message::Binary(
                zstd::bulk::compress(&bytes, ZSTD_LEVEL)?.into(),
            )),
            None => Ok(match self.encoding {
                // JSON we wrote ourselves from valid UTF-8 pieces.
                Encoding::Json => Message::Text(
                    String::from_utf8(bytes)
                        .map_err(std::io::Error::other)?
                        .into(),
                ),
                Encoding::MsgPack | Encoding::Etf => Message::Binary(bytes.into()),
            }),
        }
    }

    /// Reads a client payload: text frames for JSON, binary for MessagePack
    /// and ETF.
    pub fn decode(&self, message: &Message) -> Result<ClientPayload, DecodeError> {
        let bytes: &[u8] = match (self.encoding, message) {
            (Encoding::Json, Message::Text(t)) => t.as_bytes(),
            (Encoding::MsgPack | Encoding::Etf, Message::Binary(b)) => b,
            (Encoding::Json, _) => return Err(DecodeError("expected a text frame".into())),
            (_, _) => return Err(DecodeError("expected a binary frame".into())),
        };
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(DecodeError(format!(
                "payload over {MAX_PAYLOAD_BYTES} bytes"
            )));
        }
        match self.encoding {
            Encoding::Json => serde_json::from_slice(bytes).map_err(|e| DecodeError(e.to_string())),
            Encoding::MsgPack => {
                rmp_serde::from_slice(bytes).map_err(|e| DecodeError(e.to_string()))
            }
            Encoding::Etf => {
                let value = etf::read(bytes).map_err(|e| DecodeError(e.to_string()))?;
                serde_json::from_value(value).map_err(|e| DecodeError(e.to_string()))
            }
        }
    }
}

/// One message of a `zlib-stream` connection.
fn zlib_message(zlib: &mut Zlib, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    match zlib {
        Zlib::Stored { header_sent } => {
            let mut out = Vec::with_capacity(bytes.len() + 16);
            if !*header_sent {
                // CMF (deflate, 32 KiB window) and FLG (fastest, no dictionary).
                out.extend_from_slice(&[0x78, 0x01]);
                *header_sent = true;
            }
            for chunk in bytes.chunks(usize::from(u16::MAX)) {
                let len = chunk.len() as u16;
                out.push(0x00);
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&(!len).to_le_bytes());
                out.extend_from_slice(chunk);
            }
            out.extend_from_slice(&ZLIB_SYNC_MARKER);
            Ok(out)
        }
        Zlib::Stream(c) => {
            let mut out = Vec::with_capacity(bytes.len() / 2 + 64);
            let start = c.total_in();
            loop {
                let consumed = (c.total_in() - start) as usize;
                out.reserve(4096.max(bytes.len() - consumed));
                c.compress_vec(&bytes[consumed..], &mut out, flate2::FlushCompress::Sync)
                    .map_err(std::io::Error::other)?;
                let consumed = (c.total_in() - start) as usize;
                // Done when all went in and the flush had room to finish.
                if consumed == bytes.len() && out.len() < out.capacity() {
                    break;
                }
            }
            Ok(out)
        }
    }
}

/// The ETF form of [`msgpack_head`]: version, a 4-entry map with atom
/// keys, `op`, `s`, `t`, and the key `d`; the caller appends d's term.
/// (The map tag's number is private to `etf`; 116 is MAP_EXT.)
fn etf_head(out: &mut Vec<u8>, op: u8, seq: Option<u64>, name: Option<&str>) {
    out.push(etf::VERSION);
    out.push(116); // MAP
    out.extend_from_slice(&4u32.to_be_bytes());
    etf::atom("op", out);
    etf::unsigned(u64::from(op), out);
    etf::atom("s", out);
    match seq {
        Some(s) => etf::unsigned(s, out),
        None => etf::atom("nil", out),
    }
    // Dispatch names are atoms, as Discord sends them (Elixir libraries
    // match on `:MESSAGE_CREATE`).
    etf::atom("t", out);
    etf::atom(name.unwrap_or("nil"), out);
    etf::atom("d", out);
}

/// Writes a 4-entry map header and `op`, `s`, `t`, and the key `d`; the
/// caller appends d's encoding.
fn msgpack_head(
    out: &mut Vec<u8>,
    opcode: u8,
    seq: Option<u64>,
    name: Option<&str>,
) -> std::io::Result<()> {
    let io = |e: rmp::encode::ValueWriteError| std::io::Error::other(e.to_string());
    rmp::encode::write_map_len(out, 4).map_err(io)?;
    rmp::encode::write_str(out, "op").map_err(io)?;
    rmp::encode::write_uint(out, u64::from(opcode)).map_err(io)?;
    rmp::encode::write_str(out, "s").map_err(io)?;
    match seq {
        Some(s) => drop(rmp::encode::write_uint(out, s).map_err(io)?),
        None => rmp::encode::write_nil(out)?,
    }
    rmp::encode::write_str(out, "t").map_err(io)?;
    match name {
        Some(n) => rmp::encode::write_str(out, n).map_err(io)?,
        None => rmp::encode::write_nil(out)?,
    }
    rmp::encode::write_str(out, "d").map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(id: &str) -> Value {
        json!({"id": id, "username": "u", "discriminator": "0", "global_name": null, "avatar": null})
    }

    /// A guild message: `fields` over a plain one.
    fn message(fields: Value) -> hearth_model::Message {
        let mut m = json!({
            "id": "5", "channel_id": "10", "guild_id": "1", "author": user("9"),
            "content": "hi", "timestamp": "2026-01-01T00:00:00.000000+00:00",
            "edited_timestamp": null, "tts": false, "mention_everyone": false,
            "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
            "pinned": false, "type": 0, "flags": 0,
        });
        for (k, v) in fields.as_object().unwrap() {
            m[k] = v.clone();
        }
        serde_json::from_value(m).unwrap()
    }

    fn created(message: hearth_model::Message) -> Arc<Prepared> {
        Prepared::of(&Event::MessageCreate {
            message,
            member: None,
        })
    }

    fn event() -> Arc<Prepared> {
        created(message(
            json!({"embeds": [{"title": "t"}], "mentions": [user("7")]}),
        ))
    }

    #[test]
    fn json_dispatch_is_a_complete_envelope() {
        let mut c = Codec::new(Encoding::Json, Compression::None);
        let Message::Text(t) = c.dispatch(3, &event()).unwrap() else {
            panic!("text")
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["op"], 0);
        assert_eq!(v["s"], 3);
        assert_eq!(v["t"], "MESSAGE_CREATE");
        assert_eq!(v["d"]["content"], "hi");
    }

    #[test]
    fn msgpack_dispatch_decodes_to_the_same_value() {
        let mut c = Codec::new(Encoding::MsgPack, Compression::None);
        let Message::Binary(b) = c.dispatch(3, &event()).unwrap() else {
            panic!("binary")
        };
        let v: Value = rmp_serde::from_slice(&b).unwrap();
        assert_eq!(v["s"], 3);
        assert_eq!(v["t"], "MESSAGE_CREATE");
        assert_eq!(v["d"]["author"]["id"], "9");
        let Message::Binary(b) = c.op(11, &Value::Null).unwrap() else {
            panic!("binary")
        };
        let v: Value = rmp_serde::from_slice(&b).unwrap();
        assert_eq!(v["op"], 11);
        assert!(v["s"].is_null());
    }

    fn inflate(decoder: &mut zstd::stream::raw::Decoder<'static>, frame: &Message) -> Value {
        use zstd::stream::raw::Operation;
        let Message::Binary(b) = frame else {
            panic!("binary")
        };
        let mut out = vec![0u8; 4096];
        let mut input = zstd::stream::raw::InBuffer::around(b);
        let mut output = zstd::stream::raw::OutBuffer::around(&mut out[..]);
        decoder.run(&mut input, &mut output).unwrap();
        assert_eq!(input.pos(), b.len(), "the whole message is consumed");
        let n = output.pos();
        serde_json::from_slice(&out[..n]).unwrap()
    }

    /// Inflates one `zlib-stream` message with the connection's inflater.
    fn inflate_zlib(inflater: &mut flate2::Decompress, m: &Message) -> Value {
        let Message::Binary(b) = m else {
            panic!("zlib-stream messages are binary")
        };
        assert!(
            b.ends_with(&[0x00, 0x00, 0xff, 0xff]),
            "ends in a sync flush"
        );
        let mut out = Vec::with_capacity(b.len() * 8 + 1024);
        let start = inflater.total_in();
        loop {
            let consumed = (inflater.total_in() - start) as usize;
            out.reserve(4096);
            inflater
                .decompress_vec(&b[consumed..], &mut out, flate2::FlushDecompress::Sync)
                .unwrap();
            if (inflater.total_in() - start) as usize == b.len() && out.len() < out.capacity() {
                break;
            }
        }
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn zlib_stream_messages_inflate_one_at_a_time_before_and_after_authentication() {
        let mut c = Codec::new(Encoding::Json, Compression::ZlibStream);
        let mut inflater = flate2::Decompress::new(true);
        // Stored blocks before Identify, including one over a block's 64 KiB.
        let hello = c.op(10, &json!({"heartbeat_interval": 41250})).unwrap();
        assert_eq!(
            inflate_zlib(&mut inflater, &hello)["d"]["heartbeat_interval"],
            41250
        );
        let big = "x".repeat(70_000);
        let m = c.op(9, &json!(big)).unwrap();
        assert_eq!(inflate_zlib(&mut inflater, &m)["d"], json!(big));
        // Compressed after, on the same stream.
        c.authenticated().unwrap();
        let mut sizes = Vec::new();
        for seq in 1..=3 {
            let m = c.dispatch(seq, &event()).unwrap();
            if let Message::Binary(b) = &m {
                sizes.push(b.len());
            }
            assert_eq!(inflate_zlib(&mut inflater, &m)["s"], seq);
        }
        assert!(
            sizes[2] < sizes[0],
            "later messages reuse the window: {sizes:?}"
        );
        let m = c.op(9, &json!(big)).unwrap();
        assert_eq!(inflate_zlib(&mut inflater, &m)["d"], json!(big));
    }

    #[test]
    fn zstd_stream_messages_decode_one_at_a_time_with_one_context() {
        let mut c = Codec::new(Encoding::Json, Compression::ZstdStream);
        c.authenticated().unwrap();
        let mut decoder = zstd::stream::raw::Decoder::new().unwrap();
        for seq in 1..=3 {
            let v = inflate(&mut decoder, &c.dispatch(seq, &event()).unwrap());
            assert_eq!(v["s"], seq);
        }
    }

    #[test]
    fn one_decoding_context_reads_the_frames_before_authentication_and_the_stream_after() {
        let mut c = Codec::new(Encoding::Json, Compression::ZstdStream);
        assert!(matches!(c.zstd, Some(Zstd::Framed)));
        let mut decoder = zstd::stream::raw::Decoder::new().unwrap();
        let hello = c.op(10, &json!({"heartbeat_interval": 41250})).unwrap();
        assert_eq!(inflate(&mut decoder, &hello)["op"], 10);
        let ack = c.op(11, &Value::Null).unwrap();
        assert_eq!(inflate(&mut decoder, &ack)["op"], 11);
        c.authenticated().unwrap();
        assert!(matches!(c.zstd, Some(Zstd::Stream(_))));
        for seq in 1..=3 {
            let v = inflate(&mut decoder, &c.dispatch(seq, &event()).unwrap());
            assert_eq!(v["s"], seq);
        }
        let ack = c.op(11, &Value::Null).unwrap();
        assert_eq!(inflate(&mut decoder, &ack)["op"], 11);
    }

    #[test]
    fn content_rule_exempts_author_and_mentioned() {
        let e = event();
        assert_eq!(e.emptied_for(Snowflake(9)), None);
        assert_eq!(e.emptied_for(Snowflake(7)), None);
        assert_eq!(e.emptied_for(Snowflake(8)), Some(Emptied::Message));
        let stripped = e.without_content(Emptied::Message);
        let d = stripped.d_value();
        assert_eq!(d["content"], "");
        assert_eq!(d["embeds"], json!([]));
        assert_eq!(d["id"], "5");
    }

    #[test]
    fn the_replied_to_message_is_judged_and_emptied_on_its_own() {
        let replied_to = message(json!({"content": "secret", "embeds": [{"title": "t"}],
            "attachments": [{"id": "1", "filename": "f.txt", "content_type": "text/plain; charset=utf-8",
                "size": 3}],
            "author": user("3")}));
        let replied_to = serde_json::to_value(replied_to).unwrap();
        let e = created(message(
            json!({"id": "6", "content": "reply", "mentions": [user("7")],
            "referenced_message": replied_to}),
        ));
        // 7 is mentioned in the reply but not in the replied-to message.
        assert_eq!(e.emptied_for(Snowflake(7)), Some(Emptied::Referenced));
        assert_eq!(e.emptied_for(Snowflake(3)), Some(Emptied::Message));
        assert_eq!(e.emptied_for(Snowflake(8)), Some(Emptied::Both));
        let d = e.without_content(Emptied::Referenced).d_value();
        assert_eq!(d["content"], "reply");
        let r = &d["referenced_message"];
        assert_eq!(
            (&r["content"], &r["embeds"], &r["attachments"]),
            (&json!(""), &json!([]), &json!([]))
        );
        assert_eq!(r["id"], "5");
        let d = e.without_content(Emptied::Both).d_value();
        assert_eq!(
            (&d["content"], &d["referenced_message"]["content"]),
            (&json!(""), &json!(""))
        );
        // A reply to a deleted message has `referenced_message: null`.
        let gone = created(message(
            json!({"id": "6", "content": "reply", "referenced_message": null}),
        ));
        assert_eq!(gone.emptied_for(Snowflake(9)), None);
    }

    #[test]
    fn decoding_refuses_wrong_frames_and_big_payloads() {
        let c = Codec::new(Encoding::Json, Compression::None);
        assert!(c.decode(&Message::Binary(vec![1, 2].into())).is_err());
        assert!(c.decode(&Message::Text("nope".into())).is_err());
        let big = format!("{{\"op\":1,\"d\":\"{}\"}}", "x".repeat(5000));
        assert!(c.decode(&Message::Text(big.into())).is_err());
        assert_eq!(
            c.decode(&Message::Text("{\"op\":1,\"d\":null}".into()))
                .unwrap()
                .op,
            1
        );
    }
}
