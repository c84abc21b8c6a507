//! A client payload as a typed request: the opcode decides the type of `d`.
//! Pure, so the fuzz targets run exactly what a connection runs on a frame.

use hearth_proto::gateway::{
    op, ClientPayload, CloseCode, Identify, PresenceUpdate, RequestGuildMembers, Resume,
    VoiceStateUpdate,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

#[derive(Debug)]
pub enum Request {
    /// Op 1, with the sequence number it acknowledges, if any.
    Heartbeat(Option<u64>),
    Identify(Box<Identify>),
    Resume(Resume),
    PresenceUpdate(PresenceUpdate),
    RequestGuildMembers(RequestGuildMembers),
    VoiceStateUpdate(VoiceStateUpdate),
}

fn parse<T: DeserializeOwned>(d: Value) -> Result<T, CloseCode> {
    serde_json::from_value(d).map_err(|_| CloseCode::DecodeError)
}

impl Request {
    /// 4001 for an opcode a client may not send, 4002 for a `d` that does
    /// not fit its opcode.
    pub fn parse(payload: ClientPayload) -> Result<Request, CloseCode> {
        let ClientPayload { op: opcode, d } = payload;
        Ok(match opcode {
            op::HEARTBEAT => Request::Heartbeat(d.as_u64()),
            op::IDENTIFY => Request::Identify(Box::new(parse(d)?)),
            op::RESUME => Request::Resume(parse(d)?),
            op::PRESENCE_UPDATE => Request::PresenceUpdate(parse(d)?),
            op::REQUEST_GUILD_MEMBERS => Request::RequestGuildMembers(parse(d)?),
            op::VOICE_STATE_UPDATE => Request::VoiceStateUpdate(parse(d)?),
            _ => return Err(CloseCode::UnknownOpcode),
        })
    }
}
