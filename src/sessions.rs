//! Wiring the gateway's sessions to the REST side: the Identify budget
//! `GET /gateway/bot` reports. (Revoked tokens reach the gateways of every
//! node through the bus.)

use std::sync::{Arc, Weak};

use hearth_api::sessions::{GatewaySessions, SessionStartLimit};
use hearth_api::AppState;
use hearth_model::Snowflake;
use hearth_signaling::Gateway;

struct SessionsOfGateway(Weak<Gateway>);

#[async_trait::async_trait]
impl GatewaySessions for SessionsOfGateway {
    async fn session_start_limit(&self, user: Snowflake) -> SessionStartLimit {
        match self.0.upgrade() {
            Some(gw) => gw.session_start_limit(user).await,
            None => SessionStartLimit {
                total: 0,
                remaining: 0,
                reset_after: 0,
                max_concurrency: 1,
            },
        }
    }
}

pub fn connect(gateway: &Arc<Gateway>, api: &AppState) {
    api.set_sessions(Arc::new(SessionsOfGateway(Arc::downgrade(gateway))));
}
