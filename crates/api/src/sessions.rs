//! What the REST side needs of gateway sessions, which the gateway owns:
//! an account's Identify budget (`GET /gateway/bot`, wired in by the node
//! through `AppState::set_sessions`; without one no budget is spent), and
//! closing the sessions of revoked tokens, on whichever node they are (a
//! command on the bus).

use hearth_model::Snowflake;
use hearth_proto::events::NodeCommand;
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

#[async_trait::async_trait]
pub trait GatewaySessions: Send + Sync {
    async fn session_start_limit(&self, user: Snowflake) -> SessionStartLimit;
}

impl AppState {
    /// Call after a token revocation is committed: the gateways of every
    /// node close the sessions that token opened (4004) and end them.
    /// Tokens are checked only at Identify and Resume, so without this a
    /// session outlives its token.
    pub fn sessions_revoked(&self, user: Snowflake, revoked: Revoked) {
        self.bus.command(NodeCommand::EndSessions {
            user_id: user,
            token_hash: match revoked {
                Revoked::Token(hash) => Some(hash),
                Revoked::AllTokens => None,
            },
        });
    }
}
