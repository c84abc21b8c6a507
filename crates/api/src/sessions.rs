//! What the REST side needs of gateway sessions, which the gateway owns:
//! an account's Identify budget (`GET /gateway/bot`) and closing the
//! sessions of revoked tokens. The node wires the gateway in
//! (`AppState::set_sessions`); without one, no budget is spent and there
//! is nothing to close.

use hearth_model::Snowflake;
pub use hearth_proto::gateway::SessionStartLimit;

use crate::state::AppState;

/// Which of an account's tokens stopped being valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// One token, by its hash (`hearth_store::token_hash`): a logout.
    Token([u8; 32]),
    /// Every token of the account: a bot token reset, a password change,
    /// "log out everywhere".
    AllTokens,
}

pub trait GatewaySessions: Send + Sync {
    fn session_start_limit(&self, user: Snowflake) -> SessionStartLimit;
    /// Closes the account's sessions opened or resumed with a revoked
    /// token with 4004, and ends them (they cannot be resumed).
    fn revoke(&self, user: Snowflake, revoked: Revoked);
}

impl AppState {
    /// Call after a token revocation is committed: the gateway closes the
    /// sessions that token opened (4004). Tokens are checked only at
    /// Identify and Resume, so without this a session outlives its token.
    pub fn sessions_revoked(&self, user: Snowflake, revoked: Revoked) {
        if let Some(sessions) = self.sessions() {
            sessions.revoke(user, revoked);
        }
    }
}
