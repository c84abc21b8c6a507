//! How an event travels between nodes: on which Redis channels, and in
//! what bytes.
//!
//! A message is `version (1 byte) | kind (1 byte: 0 an event, 1 a
//! command) | origin node (u64 BE) | also_on_guild (u64 BE, 0: none) |
//! sent at (Unix ms, u64 BE) | counter (u64 BE: the event's place in its
//! node's order, 0 for a command) | the event or command as MessagePack`.
//! The origin lets a node skip its own messages, which it delivered
//! locally; the time measures the bus's lag; origin and counter name the
//! event (`EventId`).

use hearth_model::Snowflake;
use hearth_proto::events::{Event, EventId, NodeCommand, Topic};

const VERSION: u8 = 3;
const HEADER: usize = 1 + 1 + 8 + 8 + 8 + 8;
const EVENT: u8 = 0;
const COMMAND: u8 = 1;

/// The Redis channel of a topic.
pub fn channel(prefix: &str, topic: Topic) -> String {
    match topic {
        Topic::Guild(g) => format!("{prefix}g:{g}"),
        Topic::User(u) => format!("{prefix}u:{u}"),
        Topic::Voice => format!("{prefix}voice"),
    }
}

/// Where an event is published, each with the guild whose channel also
/// carries it (a node that watches that guild skips the copy).
///
/// A new member's sessions on another node are in no hub of the guild
/// yet, so that node does not watch the guild: GUILD_MEMBER_ADD also goes to
/// the member's own topic, which it watches, so it can subscribe them.
pub fn destinations(event: &Event) -> Vec<(Topic, Option<Snowflake>)> {
    let topic = event.audience().topic();
    let mut all = vec![(topic, None)];
    if let Event::GuildMemberAdd { guild_id, member } = event {
        all.push((Topic::User(member.user.id), Some(*guild_id)));
    }
    all
}

/// What a message carries.
// Made once per message read and moved straight into the receiver.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq)]
pub enum Carried {
    Event(Event),
    Command(NodeCommand),
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn encode(id: EventId, also_on_guild: Option<Snowflake>, event: &[u8]) -> Vec<u8> {
    encode_kind(EVENT, id, also_on_guild, event)
}

pub fn encode_command(origin: u64, command: &NodeCommand) -> Vec<u8> {
    let id = EventId { origin, counter: 0 };
    encode_kind(COMMAND, id, None, &command.to_bus())
}

fn encode_kind(kind: u8, id: EventId, also_on_guild: Option<Snowflake>, event: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + event.len());
    out.push(VERSION);
    out.push(kind);
    out.extend_from_slice(&id.origin.to_be_bytes());
    out.extend_from_slice(&also_on_guild.map_or(0, |g| g.0).to_be_bytes());
    out.extend_from_slice(&now_ms().to_be_bytes());
    out.extend_from_slice(&id.counter.to_be_bytes());
    out.extend_from_slice(event);
    out
}

/// A message read off a channel.
#[derive(Debug)]
pub struct Received {
    pub id: EventId,
    pub also_on_guild: Option<Snowflake>,
    /// When the origin sent it, by its clock (Unix ms).
    pub sent_ms: u64,
    pub carried: Carried,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("bus message of {0} bytes is shorter than its header")]
    Short(usize),
    #[error("bus message version {0} is not {VERSION}: nodes of different versions share the bus")]
    Version(u8),
    #[error("bus message of unknown kind {0}")]
    Kind(u8),
    #[error(transparent)]
    Event(#[from] hearth_proto::events::BusDecodeError),
}

pub fn decode(bytes: &[u8]) -> Result<Received, DecodeError> {
    if bytes.len() < HEADER {
        return Err(DecodeError::Short(bytes.len()));
    }
    if bytes[0] != VERSION {
        return Err(DecodeError::Version(bytes[0]));
    }
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[i..i + 8]);
        u64::from_be_bytes(b)
    };
    let body = &bytes[HEADER..];
    let carried = match bytes[1] {
        EVENT => Carried::Event(Event::from_bus(body)?),
        COMMAND => Carried::Command(NodeCommand::from_bus(body)?),
        other => return Err(DecodeError::Kind(other)),
    };
    let also = u64_at(10);
    Ok(Received {
        id: EventId {
            origin: u64_at(2),
            counter: u64_at(26),
        },
        sent_ms: u64_at(18),
        also_on_guild: (also != 0).then_some(Snowflake(also)),
        carried,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_it_cannot_read() {
        let event = Event::GuildDelete {
            guild_id: Snowflake(42),
        };
        let before = now_ms();
        let id = EventId {
            origin: 7,
            counter: 12,
        };
        let bytes = encode(id, Some(Snowflake(9)), &event.to_bus());
        let back = decode(&bytes).unwrap();
        assert_eq!((back.id, back.also_on_guild), (id, Some(Snowflake(9))));
        assert!(back.sent_ms >= before && back.sent_ms <= now_ms());
        assert_eq!(back.carried, Carried::Event(event));
        let command = NodeCommand::EndSessions {
            user_id: Snowflake(5),
            token_hash: Some([7; 32]),
        };
        let back = decode(&encode_command(3, &command)).unwrap();
        assert_eq!(
            (back.id.origin, back.carried),
            (3, Carried::Command(command))
        );
        assert!(matches!(decode(&bytes[..5]), Err(DecodeError::Short(5))));
        let mut other = bytes.clone();
        other[0] = 2;
        assert!(matches!(decode(&other), Err(DecodeError::Version(2))));
        let garbage = encode(id, None, b"\xc1\xc1");
        assert!(matches!(decode(&garbage), Err(DecodeError::Event(_))));
    }
}
