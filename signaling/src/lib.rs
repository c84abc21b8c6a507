//! The gateway: Discord gateway v10 over WebSocket.
//!
//! How it fits together:
//! - [`protocol`] is the sans-IO core of one connection: which opcode is
//!   allowed when, heartbeat deadlines and the per-connection rate limit,
//!   driven by payloads and `Instant`s.
//! - [`connection`] is the thin async edge around it: one task per
//!   WebSocket, reading frames, writing dispatches, running timers.
//! - [`session`] outlives connections: its sequence numbers and resume
//!   buffer let a client that lost its connection resume without loss.
//! - [`hub`] keeps, per guild, the state that decides who may see what
//!   (roles, channels and their overwrites, the roles of connected members)
//!   and the sessions subscribed to it; [`fanout`] applies each bus event to
//!   it and queues the dispatch for every session that may see it.
//! - [`starts`] counts each account's Identifies (`session_start_limit`);
//!   the gateway also bounds an account's connected and resumable sessions.
//! - [`presence`] tracks who is online on this node; `cluster_presence`
//!   makes that the union over every node of a cluster.
//! - [`voice`] keeps who is in which voice channel and answers op 4 with
//!   VOICE_STATE_UPDATE and the VOICE_SERVER_UPDATE that sends the client,
//!   with a signed token, to the SFU.

pub mod calls;
mod cluster_presence;
pub mod codec;
pub mod config;
mod connected;
pub mod connection;
pub mod etf;
pub mod fanout;
mod handover;
pub mod hub;
pub mod identify;
pub mod joins;
pub mod journal;
pub mod media;
pub mod metrics;
pub mod presence;
pub mod protocol;
mod recovery;
pub mod request;
pub mod session;
pub mod starts;
mod thread_sync;
pub mod voice;
mod voice_failover;
pub mod voice_remote;

mod gateway;

pub use config::GatewayConfig;
pub use connection::router;
pub use gateway::Gateway;
pub use metrics::GatewayMetrics;
