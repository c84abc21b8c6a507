//! `hearth-loadtest`: simulated clients for a running Hearth node, and the
//! accounting that says whether the node kept its promises under load.
//!
//! Three scenarios:
//!
//! - [`chat`]: users in guilds, many gateway sessions, messages posted over
//!   REST at a fixed rate. Every `MESSAGE_CREATE` a session receives is
//!   checked off against what was posted to its guild, so the report can say
//!   exactly how many deliveries were lost or duplicated, and how long each
//!   took from the REST call to the dispatch. With churn, sessions lose their
//!   TCP connection mid-run and resume, and the same accounting covers what
//!   the resume replays. Given several nodes of a cluster, it spreads the
//!   sessions and the posts over them ([`spread`]) and tells deliveries
//!   that crossed nodes from those that did not.
//! - [`idle`]: authenticated sessions that only heartbeat, connected in
//!   steps, with the server's resident memory read from `/proc` after each
//!   step: the memory a session costs the node.
//! - [`voice`]: participants in voice channels, each a real client (gateway
//!   session, op 4, voice WebSocket, a str0m WebRTC peer completing ICE,
//!   DTLS and SRTP) publishing real Opus (and synthetic VP8) or listening;
//!   loss, jitter and end-to-end latency per received track, join times,
//!   and the server's cost per forwarded packet from its `/metrics`. The
//!   peers live on a few media threads, not on the async runtime.
//!
//! - [`soak`]: chat with churn, voice calls and [`hostile`] clients
//!   (idle connections, unidentified gateway connections, a session flood,
//!   malformed requests) together for a long run, with the node's memory
//!   sampled: nothing lost or duplicated, every call flowing, memory flat.
//!
//! Chat and idle run on one tokio runtime with one task per gateway
//! connection. Every queue and every burst is bounded: connection set-up by
//! a semaphore, posts in flight by another, and per-session bookkeeping is a
//! bitset sized by the number of messages the run can post.
//!
//! The module split follows the data: [`latency`] and [`deliveries`] are
//! plain accounting with no IO (and the unit tests), [`gateway`] is one
//! WebSocket connection, [`session`] is a client session across its
//! connections, [`setup`] builds users and guilds over [`rest`], and the two
//! scenario modules drive them.

pub mod chat;

/// A reqwest client builder. reqwest speaks TLS through rustls without a
/// built-in crypto provider (so the tree builds only aws-lc-rs, not ring
/// too); the provider is installed here, once per process, before any
/// client is built.
pub fn http_client() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder()
}

pub mod deliveries;
mod error;
pub mod gateway;
pub mod hostile;
pub mod idle;
pub mod latency;
pub mod rest;
pub mod session;
pub mod setup;
pub mod soak;
pub mod spread;
pub mod system;
pub mod voice;

pub use error::Error;

/// Intents the simulated clients ask for unless told otherwise:
/// GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT.
pub const DEFAULT_INTENTS: u64 = 1 | (1 << 9) | (1 << 15);
