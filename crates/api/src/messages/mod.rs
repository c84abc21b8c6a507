//! The message service: every read and write of messages goes through here.

pub mod compose;
mod recent;
mod service;

pub use service::MessageService;
