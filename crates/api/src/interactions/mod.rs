//! Application commands and interactions: checking what applications define
//! and what users send, before anything is stored or delivered.

pub mod components;
pub mod definitions;
pub mod options;
pub mod respond;
