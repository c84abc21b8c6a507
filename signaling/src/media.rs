//! The gateway's side of the media plane.
//!
//! Voice states live here; forwarding lives in the SFU. The SFU learns of
//! every change that affects what may flow — a join, move or leave, self or
//! server mute and deafen, SPEAK granted or revoked by a role or overwrite
//! change — through [`MediaPlane`], and tells the gateway when a media
//! participant is gone. Nothing here knows how the SFU is reached.

use std::sync::Arc;

pub use futures_util::future::BoxFuture;
use hearth_bus::sfu_registry::{PlacementError, RoomRef};
use hearth_model::{Permissions, Snowflake, Timestamp};

use crate::gateway::Gateway;

pub use hearth_proto::voice::MediaState;

pub trait MediaPlane: Send + Sync {
    /// The user's voice state in the guild is now `state`; `None`: they left.
    fn voice_state(&self, guild: Snowflake, user: Snowflake, state: Option<MediaState>);

    /// As `voice_state`, told by the node `holder` that holds the state.
    fn voice_state_of(
        &self,
        guild: Snowflake,
        user: Snowflake,
        state: Option<MediaState>,
        _holder: &str,
    ) {
        self.voice_state(guild, user, state);
    }
}

/// The SFU node a voice connection goes to: the name its tokens carry and
/// the endpoint VOICE_SERVER_UPDATE sends the client to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceServer {
    pub node: String,
    pub endpoint: String,
}

/// A placement under way.
pub type Placing<'a> = BoxFuture<'a, Result<VoiceServer, PlacementError>>;

/// Which SFU node hosts a voice channel's room, in a cluster. Alone, a
/// node hosts every room itself.
pub trait VoicePlacement: Send + Sync {
    /// The node hosting the room, placing it if it has none: in the
    /// channel's `rtc_region` when it names one, else near the user who
    /// opens it.
    fn place<'a>(
        &'a self,
        room: RoomRef,
        rtc_region: Option<&'a str>,
        user_region: Option<&'a str>,
    ) -> Placing<'a>;

    /// The SFU nodes alive now, by name.
    fn live(&self) -> BoxFuture<'_, Result<Vec<String>, PlacementError>>;
}

impl Gateway {
    pub fn set_media_plane(&self, media: Arc<dyn MediaPlane>) {
        let _ = self.media.set(media);
    }

    /// In a cluster: where rooms go, and the SFU of this node, which hears
    /// of voice states held by any node ([`NodeCommand::MediaState`]).
    ///
    /// [`NodeCommand::MediaState`]: hearth_proto::events::NodeCommand::MediaState
    pub fn set_cluster_media(
        &self,
        placement: Arc<dyn VoicePlacement>,
        host: Option<Arc<dyn MediaPlane>>,
    ) {
        let _ = self.placement.set(placement);
        if let Some(host) = host {
            let _ = self.media_host.set(host);
        }
        crate::voice_failover::start(self.me.clone());
    }

    /// Where the room is hosted: placed in a cluster, this node alone.
    pub(crate) async fn voice_server(
        &self,
        room: RoomRef,
        rtc_region: Option<&str>,
        user_region: Option<&str>,
    ) -> Result<VoiceServer, PlacementError> {
        match self.placement.get() {
            Some(p) => p.place(room, rtc_region, user_region).await,
            None => Ok(self.local_voice_server()),
        }
    }

    pub(crate) fn local_voice_server(&self) -> VoiceServer {
        VoiceServer {
            node: self.config.node_name.clone(),
            endpoint: self.config.voice_endpoint.clone(),
        }
    }

    /// A voice state held by some node changed: this node's SFU applies it
    /// (it hosts the room, or hosted the one the user left).
    pub(crate) fn media_state_announced(
        &self,
        guild: Snowflake,
        user: Snowflake,
        state: Option<MediaState>,
        holder: &str,
    ) {
        if let Some(host) = self.media_host.get() {
            host.voice_state_of(guild, user, state, holder);
        }
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
        // Everyone in a DM call may speak.
        let can_speak = state.in_call()
            || self
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
            mute: state.member.as_ref().is_some_and(|m| m.mute),
            deaf: state.member.as_ref().is_some_and(|m| m.deaf),
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

    /// The participant for this voice connection on SFU node `node` is
    /// gone (it left, failed, or its voice WebSocket did not come back): the
    /// voice state ends, unless the user has since moved, taken the call
    /// elsewhere, or been sent to another SFU node.
    pub fn media_gone(
        &self,
        guild: Snowflake,
        user: Snowflake,
        channel: Snowflake,
        session_id: &str,
        node: &str,
    ) {
        self.end_voice_if(guild, user, channel, session_id, Some(node));
    }
}
