//! The REST API: Discord v10 paths and shapes over Hearth's services.
//!
//! Handlers are thin: they parse, authorise through [`access`], call the
//! store or a service, and shape the reply. Rate limiting is a sans-IO state
//! machine ([`ratelimit`]) driven by a middleware; message reads go through
//! the coalescing [`messages::MessageService`].

pub mod access;
pub mod acks;
pub mod auth;
pub mod error;
pub mod events;
pub mod extract;
pub mod files;
pub mod interactions;
pub mod messages;
pub mod metrics;
pub mod ratelimit;
mod routes;
pub mod sessions;
mod state;
pub mod voice;

pub use error::ApiError;
pub use routes::accounts::check_username;
pub use routes::threads::archive_idle as archive_idle_threads;
pub use state::{ApiConfig, AppState, GuildLimits, Registration};

/// The REST surface: `/api/v10` and `/api/v9` (`metrics::router` serves
/// `/metrics`).
pub fn router(state: AppState) -> axum::Router {
    routes::router(state)
}
