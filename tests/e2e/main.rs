//! End-to-end tests: each test starts the real `hearth` binary on a fresh
//! data directory and drives it over HTTP on 127.0.0.1.

mod gateway_client;
mod harness;
mod voice_client;

mod account_controls;
mod accounts;
mod bot_libraries;
mod cluster;
mod cluster_voice;
mod coalescing;
mod concurrency;
mod durability;
mod gateway_close;
mod gateway_dispatch;
mod gateway_encoding;
mod gateway_kick_race;
mod gateway_message_content;
mod gateway_presence;
mod gateway_resume;
mod gateway_revocation;
mod gateway_session;
mod gateway_session_limits;
mod gateway_unidentified;
mod gateway_voice;
mod guilds;
mod health;
mod http_edge;
mod interactions;
mod library_surface;
mod limits;
mod loadtest_chat;
mod loadtest_soak;
mod loadtest_voice;
mod logs;
mod messages;
mod node_metrics;
mod permissions;
mod postgres;
mod reactions;
mod trusted_proxy;
mod voice;
mod voice_limits;
mod voice_media_addresses;
mod webhooks;
