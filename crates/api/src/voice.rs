//! What the REST side may do to voice states, which the gateway owns.
//! The node wires the gateway in (`AppState::set_voice`); without one,
//! nobody is ever in voice.

use hearth_model::Snowflake;

pub trait VoiceControl: Send + Sync {
    /// The voice channel the user is in, in that guild.
    fn channel_of(&self, guild: Snowflake, user: Snowflake) -> Option<Snowflake>;
    /// Moves the user to `channel` (a voice channel of the guild), or
    /// disconnects them (`None`). False if they were not in voice.
    fn move_member(&self, guild: Snowflake, user: Snowflake, channel: Option<Snowflake>) -> bool;
    /// Rings `recipients` of the DM's call again (every recipient not in
    /// it, when `None`).
    fn ring(
        &self,
        channel: Snowflake,
        recipients: Option<Vec<Snowflake>>,
    ) -> Result<(), RingRefused>;
    /// Stops ringing `recipients` for the DM's call.
    fn stop_ringing(&self, channel: Snowflake, recipients: &[Snowflake])
        -> Result<(), RingRefused>;
}

/// Why ringing could not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingRefused {
    /// The channel has no call (as the node answering knows).
    NoCall,
}

/// The regions voice calls can be placed in now (`GET /voice/regions`).
#[async_trait::async_trait]
pub trait VoiceRegions: Send + Sync {
    /// Region names, each once.
    async fn regions(&self) -> Vec<String>;
    /// The region of the node answering: "optimal" for its callers.
    fn home(&self) -> &str;
}
