//! End-to-end tests: each test starts the real `hearth` binary on a fresh
//! data directory and drives it over HTTP on 127.0.0.1.

mod harness;

mod accounts;
mod coalescing;
mod durability;
mod guilds;
mod limits;
mod messages;
mod permissions;
mod webhooks;
