//! Calls whose SFU node is gone move to another one by themselves.
//!
//! In a cluster every node looks, each [`CHECK_EVERY`], for voice states of
//! its own sessions whose SFU node is no longer in the registry (it was
//! killed, lost Redis, or ended its drain). Each such room is placed anew
//! (the compare-and-set in the registry makes every node agree on the new
//! node), the states move to it, its SFU hears of them, and each session
//! gets a VOICE_SERVER_UPDATE: Discord's word for "your voice server
//! changed", on which clients connect to the new endpoint. The voice state
//! itself (its channel) does not change, so the guild hears nothing.

use std::collections::BTreeMap;
use std::sync::Weak;
use std::time::Duration;

use hearth_bus::sfu_registry::RoomRef;
use serde_json::json;

use crate::gateway::Gateway;
use crate::voice::VoiceState;

/// How often a node looks for calls on a vanished SFU node. A dead node's
/// entry lasts its registry lifetime (5 s); this adds at most a second.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

pub(crate) fn start(gateway: Weak<Gateway>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(gw) = gateway.upgrade() else { return };
            gw.move_orphaned_calls().await;
        }
    });
}

impl Gateway {
    async fn move_orphaned_calls(&self) {
        let Some(placement) = self.placement.get() else {
            return;
        };
        // Redis unreachable: nothing is known to be dead, nothing moves.
        let Ok(live) = placement.live().await else {
            return;
        };
        let orphaned: BTreeMap<(u64, u64), String> = {
            let registry = self.voice.registry();
            registry
                .all()
                .filter(|s| !live.contains(&s.server.node))
                .map(|s| ((s.guild_id.0, s.channel_id.0), s.server.node.clone()))
                .collect()
        };
        for ((guild, channel), gone) in orphaned {
            let room = RoomRef {
                guild: hearth_model::Snowflake(guild),
                channel: hearth_model::Snowflake(channel),
            };
            let rtc_region = self
                .hub(room.guild)
                .and_then(|hub| {
                    hub.with_view(|view, _| {
                        view.channels
                            .get(&room.channel)
                            .and_then(|c| c.rtc_region.clone().flatten())
                    })
                })
                .flatten();
            let server = match placement.place(room, rtc_region.as_deref(), None).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(guild = %room.guild, channel = %room.channel, node = %gone, error = %e, "a call's SFU node is gone and no other takes its room yet");
                    continue;
                }
            };
            let _changing = self.voice.changing();
            let moved: Vec<VoiceState> = self
                .voice
                .registry()
                .in_guild(room.guild)
                .into_iter()
                .filter(|s| s.channel_id == room.channel && s.server.node == gone)
                .cloned()
                .collect();
            tracing::info!(guild = %room.guild, channel = %room.channel, from = %gone, to = %server.node, users = moved.len(), "calls moved off a vanished SFU node");
            for state in moved {
                let next = VoiceState {
                    server: server.clone(),
                    ..state
                };
                self.voice.registry().set(next.clone());
                // The new node learns what may flow for the user.
                self.media_changed(next.guild_id, next.user_id);
                if let Some(session) = self.session(&next.session_id) {
                    let update = self.voice_server_update(&next);
                    self.send_to(&session, "VOICE_SERVER_UPDATE", json!(update));
                }
            }
        }
    }
}
