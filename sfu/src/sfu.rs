//! The SFU as the rest of the node sees it: its workers, the calls in
//! progress, and the hooks back into the gateway.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use hearth_model::Snowflake;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::config::SfuConfig;
use crate::metrics::WorkerMetrics;
use crate::room::{Flags, ParticipantId, PeerEvent, RoomKey};
use crate::worker::{self, Command, WorkerHandle};

/// What the SFU needs from the gateway, which owns voice states.
pub trait VoiceHooks: Send + Sync {
    /// What may flow for the user in the channel (their voice state's mute
    /// and deaf flags, and SPEAK); `None` if they have no voice state there.
    fn flags(&self, guild: Snowflake, channel: Snowflake, user: Snowflake) -> Option<Flags>;
    /// The participant's media is gone (left, failed, or its grace ended).
    fn participant_gone(&self, room: RoomKey, user: Snowflake, session_id: &str);
}

/// A participant's call, keyed by their main gateway session.
pub struct Call {
    pub id: ParticipantId,
    pub room: RoomKey,
    pub user: Snowflake,
    /// Held here while no voice WebSocket is attached (between a close and
    /// a resume), so nothing the room said in the meantime is lost.
    pub(crate) events: Option<UnboundedReceiver<PeerEvent>>,
    /// Which attachment currently owns the call.
    pub(crate) attachment: u64,
    pub(crate) detached_at: Option<Instant>,
    /// The op 40 the detached connection had sent without an answer, and
    /// its `seq`.
    pub(crate) unanswered_offer: Option<(u64, serde_json::Value)>,
    /// The room's frames the detached connection sent and the client had
    /// not acknowledged.
    pub(crate) sent: Option<crate::sent_frames::SentFrames>,
}

pub struct Sfu {
    pub config: SfuConfig,
    workers: Vec<WorkerHandle>,
    next_id: AtomicU64,
    hooks: RwLock<Option<Arc<dyn VoiceHooks>>>,
    calls: Mutex<HashMap<String, Call>>,
    /// The workers' counters, read for the node's load.
    metrics: Vec<WorkerMetrics>,
}

/// Counters of the SFU's work so far; two readings make a rate.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Work {
    /// RTP packets sent to subscribers.
    pub packets_out: u64,
    /// Seconds the workers spent working, all together.
    pub busy_seconds: f64,
    pub workers: usize,
}

impl Sfu {
    /// Binds the workers' sockets, registers their metrics, starts them.
    pub fn start(
        config: SfuConfig,
        registry: &mut prometheus_client::registry::Registry,
    ) -> std::io::Result<Arc<Sfu>> {
        // Idempotent: the first provider installed stays.
        str0m::crypto::from_feature_flags().install_process_default();
        if !crate::config::is_concrete(config.rtc_advertise) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "the advertised media address {} is not one clients can send to",
                    config.rtc_advertise
                ),
            ));
        }
        let n = config.workers.max(1);
        let mut workers = Vec::with_capacity(n);
        let all_metrics = WorkerMetrics::register(registry, n);
        for (i, metrics) in all_metrics.iter().cloned().enumerate() {
            let port = if config.rtc_port == 0 {
                0
            } else {
                config.rtc_port.saturating_add(i as u16)
            };
            workers.push(worker::spawn(
                i,
                SocketAddr::new(config.rtc_bind, port),
                config.rtc_advertise,
                metrics,
                config.routes,
            )?);
        }
        tracing::info!(workers = n, addrs = ?workers.iter().map(|w| w.addr).collect::<Vec<_>>(), "sfu started");
        Ok(Arc::new(Sfu {
            config,
            workers,
            next_id: AtomicU64::new(1),
            hooks: RwLock::new(None),
            calls: Mutex::new(HashMap::new()),
            metrics: all_metrics,
        }))
    }

    pub fn set_hooks(&self, hooks: Arc<dyn VoiceHooks>) {
        *self.hooks.write().unwrap_or_else(|p| p.into_inner()) = Some(hooks);
    }

    pub(crate) fn hooks(&self) -> Option<Arc<dyn VoiceHooks>> {
        self.hooks.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The worker a voice channel lives on.
    pub(crate) fn worker(&self, room: RoomKey) -> &WorkerHandle {
        &self.workers[(room.channel.0 % self.workers.len() as u64) as usize]
    }

    pub fn worker_addrs(&self) -> Vec<SocketAddr> {
        self.workers.iter().map(|w| w.addr).collect()
    }

    /// Whether every worker thread still runs (for readiness); if not,
    /// which ones stopped.
    pub fn check_workers(&self) -> Result<(), String> {
        let stopped: Vec<usize> = (0..self.workers.len())
            .filter(|&i| !self.workers[i].is_running())
            .collect();
        match stopped.is_empty() {
            true => Ok(()),
            false => Err(format!("SFU workers stopped: {stopped:?}")),
        }
    }

    pub(crate) fn next_participant(&self) -> ParticipantId {
        ParticipantId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn calls(&self) -> MutexGuard<'_, HashMap<String, Call>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends a call: the participant leaves its room and the gateway hears
    /// of it. Only that participant's call: the session may have a newer one.
    pub(crate) fn end_call(&self, session_id: &str, participant: ParticipantId) {
        let call = {
            let mut calls = self.calls();
            match calls.get(session_id) {
                Some(c) if c.id == participant => calls.remove(session_id),
                _ => None,
            }
        };
        let Some(call) = call else { return };
        self.worker(call.room).send(Command::Leave {
            room: call.room,
            id: call.id,
        });
        if let Some(h) = self.hooks() {
            h.participant_gone(call.room, call.user, session_id);
        }
    }

    /// The gateway's word on a user's voice state in a guild: `Some((channel,
    /// session, flags))` while they are in a channel, `None` once they left.
    /// Calls that no longer match (a move, a takeover by another session, a
    /// leave) end; the matching one gets the flags (mute, deaf, SPEAK).
    pub fn voice_state(
        &self,
        guild: Snowflake,
        user: Snowflake,
        state: Option<(Snowflake, &str, Flags)>,
    ) {
        let mut ended = Vec::new();
        {
            let mut calls = self.calls();
            let stale: Vec<String> = calls
                .iter()
                .filter(|(s, c)| {
                    c.room.guild == guild
                        && c.user == user
                        && !state
                            .is_some_and(|(ch, sess, _)| ch == c.room.channel && sess == s.as_str())
                })
                .map(|(s, _)| s.clone())
                .collect();
            for s in stale {
                if let Some(call) = calls.remove(&s) {
                    ended.push(call);
                }
            }
            if let Some((_, session, flags)) = state {
                if let Some(call) = calls.get(session) {
                    self.worker(call.room).send(Command::SetFlags {
                        room: call.room,
                        id: call.id,
                        flags,
                    });
                }
            }
        }
        for call in ended {
            self.worker(call.room).send(Command::Leave {
                room: call.room,
                id: call.id,
            });
        }
    }

    /// Ends any call of the user in the guild (a second Select Protocol
    /// replaces the first).
    pub(crate) fn disconnect(&self, guild: Snowflake, user: Snowflake) {
        self.voice_state(guild, user, None);
    }

    pub fn participants(&self) -> usize {
        self.calls().len()
    }

    /// The work done so far (see [`Work`]).
    pub fn work(&self) -> Work {
        Work {
            packets_out: self
                .metrics
                .iter()
                .map(|m| m.packets_out.0.iter().map(|c| c.get()).sum::<u64>())
                .sum(),
            busy_seconds: self.metrics.iter().map(|m| m.busy_seconds.get()).sum(),
            workers: self.metrics.len(),
        }
    }

    /// The rooms with a call in them.
    pub fn rooms(&self) -> Vec<RoomKey> {
        let mut rooms: Vec<RoomKey> = self.calls().values().map(|c| c.room).collect();
        rooms.sort_by_key(|r| (r.guild, r.channel));
        rooms.dedup();
        rooms
    }
}
