//! One gateway connection (JSON encoding, no compression): Hello, sending
//! payloads, heartbeats on the server's interval, and decoding what arrives.
//!
//! Decoding reads only the fields the load test uses, so thousands of
//! sessions do not each build a `serde_json::Value` for every message: `op`,
//! `s`, `t` and a handful of `d`'s top-level fields ([`Data`]). Everything
//! else is skipped by the parser.

use std::fmt;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::Error;

/// How long connecting, the WebSocket handshake and Hello may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);

pub mod op {
    pub const DISPATCH: u8 = 0;
    pub const HEARTBEAT: u8 = 1;
    pub const IDENTIFY: u8 = 2;
    pub const VOICE_STATE_UPDATE: u8 = 4;
    pub const RESUME: u8 = 6;
    pub const RECONNECT: u8 = 7;
    pub const INVALID_SESSION: u8 = 9;
    pub const HELLO: u8 = 10;
    pub const HEARTBEAT_ACK: u8 = 11;
}

/// The top-level fields of `d` the load test reads.
#[derive(Debug, Default)]
pub struct Data {
    /// Hello.
    pub heartbeat_interval: Option<u64>,
    /// READY.
    pub session_id: Option<String>,
    /// READY: how many guilds it lists (each is followed by a GUILD_CREATE).
    pub guilds: Option<usize>,
    /// MESSAGE_CREATE.
    pub content: Option<String>,
    /// VOICE_SERVER_UPDATE.
    pub token: Option<String>,
    /// VOICE_SERVER_UPDATE: `host:port/path`, without a scheme.
    pub endpoint: Option<String>,
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Data, D::Error> {
        struct DataVisitor;
        impl<'de> Visitor<'de> for DataVisitor {
            type Value = Data;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
                let mut d = Data::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "heartbeat_interval" => d.heartbeat_interval = map.next_value()?,
                        "session_id" => d.session_id = map.next_value()?,
                        "content" => d.content = map.next_value()?,
                        "token" => d.token = map.next_value()?,
                        "endpoint" => d.endpoint = map.next_value()?,
                        "guilds" => {
                            d.guilds = map
                                .next_value::<Option<Vec<IgnoredAny>>>()?
                                .map(|g| g.len())
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(d)
            }
            // `d` is null, a boolean (op 9) or something else we do not read.
            fn visit_unit<E>(self) -> Result<Data, E> {
                Ok(Data::default())
            }
            fn visit_none<E>(self) -> Result<Data, E> {
                Ok(Data::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Data, E> {
                Ok(Data::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Data, E> {
                Ok(Data::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Data, E> {
                Ok(Data::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Data, E> {
                Ok(Data::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Data, E> {
                Ok(Data::default())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Data, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Data::default())
            }
        }
        de.deserialize_any(DataVisitor)
    }
}

/// A server payload.
#[derive(Debug, Deserialize)]
pub struct Payload {
    pub op: u8,
    #[serde(default)]
    pub s: Option<u64>,
    #[serde(default)]
    pub t: Option<String>,
    #[serde(default)]
    pub d: Data,
}

/// How a connection ended, seen from the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The server sent a close frame with this code (or none).
    Closed(Option<u16>),
    /// The TCP connection or the WebSocket broke.
    Dropped(String),
    /// A frame that is not a gateway payload.
    Undecodable(String),
}

impl Ended {
    /// A short label for the report.
    pub fn label(&self) -> String {
        match self {
            Ended::Closed(Some(c)) => format!("close {c}"),
            Ended::Closed(None) => "close without code".into(),
            Ended::Dropped(_) => "dropped".into(),
            Ended::Undecodable(_) => "undecodable frame".into(),
        }
    }

    /// Whether the session may still be resumed after this (close codes
    /// 4003, 4004 and 4010-4014 end it, as do 1000/1001 from the server).
    pub fn resumable(&self) -> bool {
        !matches!(
            self,
            Ended::Closed(Some(1000 | 1001 | 4003 | 4004 | 4010..=4014))
        )
    }
}

pub struct Connection {
    ws: WebSocketStream<TcpStream>,
    interval: Duration,
    next_heartbeat: Instant,
    pub heartbeats_sent: u64,
}

/// `ws://host:port/path` → `host:port`.
fn authority(url: &str) -> Result<&str, Error> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| Error::Gateway(format!("only ws:// gateway URLs are supported: {url}")))?;
    Ok(rest.split(['/', '?']).next().unwrap_or(rest))
}

impl Connection {
    /// Connects to `gateway_url` (as `GET /gateway` gives it) and reads
    /// Hello. The first heartbeat goes out after a random fraction of the
    /// interval, as Discord asks, so sessions opened together do not
    /// heartbeat together.
    pub async fn open(gateway_url: &str) -> Result<Connection, Error> {
        tokio::time::timeout(OPEN_TIMEOUT, Self::open_inner(gateway_url))
            .await
            .map_err(|_| Error::Gateway("no Hello within 30 s of connecting".into()))?
    }

    async fn open_inner(gateway_url: &str) -> Result<Connection, Error> {
        let tcp = TcpStream::connect(authority(gateway_url)?)
            .await
            .map_err(|e| Error::Gateway(format!("connecting to {gateway_url}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        // Small buffers: thousands of these live in one process.
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0)
            .max_message_size(Some(16 << 20))
            .max_frame_size(Some(16 << 20));
        let url = format!("{gateway_url}?v=10&encoding=json");
        let (ws, _) = tokio_tungstenite::client_async_with_config(url.as_str(), tcp, Some(config))
            .await
            .map_err(|e| Error::Gateway(format!("WebSocket handshake: {e}")))?;
        let mut conn = Connection {
            ws,
            interval: Duration::from_secs(3600),
            next_heartbeat: Instant::now() + Duration::from_secs(3600),
            heartbeats_sent: 0,
        };
        let hello = conn
            .read()
            .await
            .map_err(|e| Error::Gateway(format!("waiting for Hello: {e:?}")))?;
        let ms = match (hello.op, hello.d.heartbeat_interval) {
            (op::HELLO, Some(ms)) => ms.max(1),
            _ => {
                return Err(Error::Gateway(format!(
                    "expected Hello, got op {}",
                    hello.op
                )))
            }
        };
        conn.interval = Duration::from_millis(ms);
        conn.next_heartbeat = Instant::now() + conn.interval.mul_f64(rand::random::<f64>());
        Ok(conn)
    }

    pub async fn send(&mut self, payload: &Value) -> Result<(), Ended> {
        self.ws
            .send(Message::text(payload.to_string()))
            .await
            .map_err(|e| Ended::Dropped(e.to_string()))
    }

    pub async fn identify(&mut self, token: &str, intents: u64) -> Result<(), Ended> {
        self.send(&json!({"op": op::IDENTIFY, "d": {
            "token": token,
            "intents": intents,
            "properties": {"os": std::env::consts::OS, "browser": "hearth-loadtest", "device": "hearth-loadtest"},
        }}))
        .await
    }

    pub async fn resume(&mut self, token: &str, session_id: &str, seq: u64) -> Result<(), Ended> {
        self.send(&json!({"op": op::RESUME, "d": {
            "token": token, "session_id": session_id, "seq": seq,
        }}))
        .await
    }

    /// The next payload other than a heartbeat ACK. Heartbeats carrying
    /// `last_seq` go out meanwhile whenever they are due. Cancel-safe
    /// between frames.
    pub async fn next(&mut self, last_seq: Option<u64>) -> Result<Payload, Ended> {
        loop {
            let heartbeat_due = self.next_heartbeat;
            tokio::select! {
                p = self.read() => {
                    let p = p?;
                    if p.op != op::HEARTBEAT_ACK {
                        return Ok(p);
                    }
                }
                _ = tokio::time::sleep_until(heartbeat_due) => {
                    self.next_heartbeat = Instant::now() + self.interval;
                    self.send(&json!({"op": op::HEARTBEAT, "d": last_seq})).await?;
                    self.heartbeats_sent += 1;
                }
            }
        }
    }

    async fn read(&mut self) -> Result<Payload, Ended> {
        loop {
            let m = match self.ws.next().await {
                None => return Err(Ended::Dropped("stream ended".into())),
                Some(Err(e)) => return Err(Ended::Dropped(e.to_string())),
                Some(Ok(m)) => m,
            };
            let parsed = match &m {
                Message::Text(t) => serde_json::from_str::<Payload>(t.as_str()),
                Message::Binary(b) => serde_json::from_slice::<Payload>(b),
                Message::Close(f) => {
                    return Err(Ended::Closed(f.as_ref().map(|f| u16::from(f.code))))
                }
                _ => continue,
            };
            return parsed.map_err(|e| Ended::Undecodable(e.to_string()));
        }
    }

    /// Drops the TCP connection without a WebSocket close: a reset, as when
    /// a client's network goes away. The server keeps the session resumable.
    pub fn abort(self) {
        let _ = self.ws.get_ref().set_zero_linger();
        drop(self.ws);
    }

    /// Closes with 1000, which ends the session on the server, and waits
    /// briefly for the server's answering close.
    pub async fn close(mut self) {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "load test done".into(),
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            if self.ws.close(Some(frame)).await.is_ok() {
                while let Some(Ok(_)) = self.ws.next().await {}
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_fields_in_use_are_decoded() {
        let p: Payload = serde_json::from_str(
            r#"{"t":"MESSAGE_CREATE","s":7,"op":0,"d":{"id":"1","content":"lt:ab:12 x",
                "author":{"id":"2","content":"nested, not ours"},"mentions":[],"embeds":[{"a":[1,2]}]}}"#,
        )
        .unwrap();
        assert_eq!(
            (p.op, p.s, p.t.as_deref()),
            (0, Some(7), Some("MESSAGE_CREATE"))
        );
        assert_eq!(p.d.content.as_deref(), Some("lt:ab:12 x"));

        let ready: Payload = serde_json::from_str(
            r#"{"op":0,"s":1,"t":"READY","d":{"session_id":"abc","guilds":[{"id":"1","unavailable":true},{"id":"2"}]}}"#,
        )
        .unwrap();
        assert_eq!(ready.d.session_id.as_deref(), Some("abc"));
        assert_eq!(ready.d.guilds, Some(2));
    }

    #[test]
    fn payloads_whose_d_is_not_a_map_decode() {
        for text in [
            r#"{"op":9,"d":false,"s":null,"t":null}"#,
            r#"{"op":11,"d":null,"s":null,"t":null}"#,
            r#"{"op":11}"#,
        ] {
            let p: Payload = serde_json::from_str(text).unwrap();
            assert!(p.s.is_none() && p.t.is_none() && p.d.content.is_none());
        }
        let hello: Payload =
            serde_json::from_str(r#"{"op":10,"d":{"heartbeat_interval":41250}}"#).unwrap();
        assert_eq!(hello.d.heartbeat_interval, Some(41250));
    }

    #[test]
    fn the_authority_comes_from_the_gateway_url() {
        assert_eq!(
            authority("ws://127.0.0.1:8080/gateway").unwrap(),
            "127.0.0.1:8080"
        );
        assert_eq!(authority("ws://[::1]:80").unwrap(), "[::1]:80");
        assert!(authority("wss://example/gateway").is_err());
    }

    #[test]
    fn closes_that_end_the_session_are_not_resumed() {
        assert!(Ended::Dropped("reset".into()).resumable());
        assert!(Ended::Closed(Some(4000)).resumable());
        assert!(Ended::Closed(Some(4009)).resumable());
        assert!(!Ended::Closed(Some(4004)).resumable());
        assert!(!Ended::Closed(Some(1000)).resumable());
    }
}
