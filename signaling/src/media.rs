//! The gateway's side of the media plane.
//!
//! Voice states live here; forwarding lives in the SFU. The SFU learns of
//! every change that affects what may flow — a join, move or leave, self or
//! server mute and deafen, SPEAK granted or revoked by a role or overwrite
//! change — through [`MediaPlane`], and tells the gateway when a media
//! participant is gone. Nothing here knows how the SFU is reached.

use std::sync::Arc;

use hearth_model::{Permissions, Snowflake, Timestamp};

use crate::gateway::Gateway;

/// What the media plane needs of a user's voice state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaState {
    pub channel: Snowflake,
    /// The main gateway session holding the voice connection.
    pub session_id: String,
    pub self_mute: bool,
    pub self_deaf: bool,
    /// Server mute and deafen.
    pub mute: bool,
    pub deaf: bool,
    /// SPEAK in the channel, now.
    pub can_speak: bool,
}

pub trait MediaPlane: Send + Sync {
    /// The user's voice state in the guild is now `state`; `None`: they left.
    fn voice_state(&self, guild: Snowflake, user: Snowflake, state: Option<MediaState>);
}

impl Gateway {
    pub fn set_media_plane(&self, media: Arc<dyn MediaPlane>) {
        let _ = self.media.set(media);
    }

    /// The user's voice state in `channel` as the media plane sees it.
    pub fn media_state(
        &self,
        guild: Snowflake,
        channel: Snowflake,
        user: Snowflake,
    ) -> Option<MediaState> {
        let state = self.voice.registry().get(guild, user).cloned()?;
        if state.channel_id != channel {
            return None;
        }
        let can_speak = self
            .hub(guild)
            .and_then(|hub| {
                hub.with_view(|view, _| {
                    view.channels.get(&channel).map(|c| {
                        view.channel_permissions(user, c, Timestamp::now(), &mut Vec::new())
                            .contains(Permissions::SPEAK)
                    })
                })
            })
            .flatten()
            .unwrap_or(false);
        Some(MediaState {
            channel,
            session_id: state.session_id,
            self_mute: state.self_mute,
            self_deaf: state.self_deaf,
            mute: state.member.mute,
            deaf: state.member.deaf,
            can_speak,
        })
    }

    /// Tells the media plane where the user's voice state stands now.
    pub(crate) fn media_changed(&self, guild: Snowflake, user: Snowflake) {
        let Some(media) = self.media.get() else {
            return;
        };
        let channel = self.voice.registry().get(guild, user).map(|s| s.channel_id);
        let state = channel.and_then(|c| self.media_state(guild, c, user));
        media.voice_state(guild, user, state);
    }

    /// Roles, overwrites or a member changed: SPEAK may have come or gone
    /// for anyone in the guild's voice channels.
    pub(crate) fn media_permissions_changed(&self, guild: Snowflake) {
        if self.media.get().is_none() {
            return;
        }
        let users: Vec<Snowflake> = self
            .voice
            .registry()
            .in_guild(guild)
            .iter()
            .map(|s| s.user_id)
            .collect();
        for user in users {
            self.media_changed(guild, user);
        }
    }

    /// The SFU's participant for this voice connection is gone (it left,
    /// failed, or its voice WebSocket did not come back): the voice state
    /// ends, unless the user has since moved or taken the call elsewhere.
    pub fn media_gone(
        &self,
        guild: Snowflake,
        user: Snowflake,
        channel: Snowflake,
        session_id: &str,
    ) {
        self.end_voice_if(guild, user, channel, session_id);
    }
}
