//! The media plane: a selective forwarding unit on str0m.
//!
//! - [`worker`]: W threads, each owning one UDP socket, its rooms and every
//!   str0m `Rtc` in them. The packet loop never awaits and shares no lock;
//!   the voice gateway talks to it through a channel of [`worker::Command`]s
//!   and hears back through per-participant event channels.
//! - [`room`]: who is in a voice channel, what each publishes, who receives
//!   what, and the forwarding decisions (mute, deaf, SPEAK).
//! - [`payload_type`]: which of a subscriber's negotiated payload types a
//!   forwarded stream goes out under (the whole codec spec, not its name).
//! - [`simulcast`]: per subscriber and track, which simulcast layer goes
//!   out, switched at keyframes, and the renumbering that keeps what leaves
//!   one continuous stream.
//! - [`speaking`] and [`keyframes`]: small state machines fed packets and
//!   `Instant`s, for voice activity and keyframe-request throttling.
//! - [`routes`]: which participant a datagram's source address is for,
//!   bounded per participant however many addresses it tries.
//! - [`voice_gateway`]: the voice WebSocket (Discord voice v8 opcodes where
//!   they exist, Hearth's own for renegotiation).
//!
//! A voice channel lives on exactly one worker, picked by its id.

pub mod config;
pub mod keyframes;
pub mod metrics;
pub mod offer;
pub mod payload_limit;
pub mod payload_type;
pub mod room;
pub mod routes;
pub mod sent_frames;
pub mod simulcast;
pub mod speaking;
pub mod stun;
pub mod udp;
pub mod voice_gateway;
pub mod worker;

mod sfu;

pub use config::SfuConfig;
pub use sfu::{Sfu, VoiceHooks, Work};
