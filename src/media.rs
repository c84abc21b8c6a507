//! Wiring the gateway (which owns voice states) to the SFU (which owns
//! media), both ways, and to the REST side (moderator moves). Neither crate knows the other; on a cluster the same
//! two traits would be carried over the bus instead.

use std::sync::{Arc, Weak};

use hearth_api::voice::VoiceControl;
use hearth_api::AppState;
use hearth_model::Snowflake;
use hearth_sfu::room::{Flags, RoomKey};
use hearth_sfu::{Sfu, VoiceHooks};
use hearth_signaling::media::{MediaPlane, MediaState};
use hearth_signaling::Gateway;

fn flags(s: &MediaState) -> Flags {
    Flags {
        self_mute: s.self_mute,
        self_deaf: s.self_deaf,
        mute: s.mute,
        deaf: s.deaf,
        can_speak: s.can_speak,
    }
}

/// The gateway's voice states, as the SFU asks for them.
struct FromGateway(Weak<Gateway>);

impl VoiceHooks for FromGateway {
    fn flags(&self, guild: Snowflake, channel: Snowflake, user: Snowflake) -> Option<Flags> {
        self.0
            .upgrade()?
            .media_state(guild, channel, user)
            .as_ref()
            .map(flags)
    }

    fn participant_gone(&self, room: RoomKey, user: Snowflake, session_id: &str) {
        if let Some(gw) = self.0.upgrade() {
            gw.media_gone(room.guild, user, room.channel, session_id);
        }
    }
}

/// Voice-state changes, told to the SFU.
struct ToSfu(Arc<Sfu>);

impl MediaPlane for ToSfu {
    fn voice_state(&self, guild: Snowflake, user: Snowflake, state: Option<MediaState>) {
        match &state {
            Some(s) => self
                .0
                .voice_state(guild, user, Some((s.channel, &s.session_id, flags(s)))),
            None => self.0.voice_state(guild, user, None),
        }
    }
}

/// Moderator moves from the REST side.
struct VoiceOfGateway(Weak<Gateway>);

impl VoiceControl for VoiceOfGateway {
    fn channel_of(&self, guild: Snowflake, user: Snowflake) -> Option<Snowflake> {
        self.0.upgrade()?.voice_channel_of(guild, user)
    }

    fn move_member(&self, guild: Snowflake, user: Snowflake, channel: Option<Snowflake>) -> bool {
        self.0
            .upgrade()
            .is_some_and(|gw| gw.move_voice(guild, user, channel))
    }
}

pub fn connect(gateway: &Arc<Gateway>, sfu: &Arc<Sfu>, api: &AppState) {
    sfu.set_hooks(Arc::new(FromGateway(Arc::downgrade(gateway))));
    gateway.set_media_plane(Arc::new(ToSfu(sfu.clone())));
    api.set_voice(Arc::new(VoiceOfGateway(Arc::downgrade(gateway))));
}
