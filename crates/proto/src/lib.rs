//! What crosses Hearth's wires: REST request bodies and queries, gateway
//! payloads, bus events, the error codes and the error body. Response
//! objects are the `hearth-model` objects, which already carry Discord's
//! field names. No IO here.

pub mod body;
pub mod error;
pub mod events;
pub mod gateway;
pub mod interactions;
pub mod rest;
pub mod voice;

pub use error::{ErrorBody, ErrorCode, FormErrors};
