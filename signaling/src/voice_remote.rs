//! Voice states other nodes hold, so every node of a cluster sees who is in
//! which voice channel: GUILD_CREATE lists them, a channel's `user_limit`
//! counts them.
//!
//! A node learns them from the VOICE_STATE_UPDATEs of the guilds it
//! watches (each names the node holding the state), and, when it starts
//! watching a guild, from the records in Redis (`bus::voice_directory`);
//! an event that came while the records were read wins over them. Every
//! few seconds it drops the states of nodes that are gone (their node-id
//! lease ended), telling its own sessions the users left, and removes the
//! records.
//!
//! One voice state per user per guild holds across nodes too: a state a
//! session on another node takes over ends the one here without a word
//! (the other node's event said it all).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use hearth_bus::voice_directory::{RecordedVoiceState, VoiceDirectory};
use hearth_bus::NodeNames;
use hearth_model::Snowflake;
use hearth_proto::events::Event;
use hearth_proto::gateway as wire;
use serde_json::{json, Value};

use crate::gateway::Gateway;

/// How often a node looks for voice states of nodes that are gone.
pub const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// The states other nodes hold, by guild and user.
#[derive(Debug, Default)]
pub struct RemoteStates {
    guilds: HashMap<Snowflake, HashMap<Snowflake, RecordedVoiceState>>,
    /// Guilds whose records are being read, with the users whose events
    /// came meanwhile.
    seeding: HashMap<Snowflake, HashSet<Snowflake>>,
}

impl RemoteStates {
    pub fn in_guild(&self, guild: Snowflake) -> impl Iterator<Item = &RecordedVoiceState> {
        self.guilds.get(&guild).into_iter().flat_map(|u| u.values())
    }

    /// Users in the channel, but `except`.
    pub fn in_channel(&self, guild: Snowflake, channel: Snowflake, except: Snowflake) -> usize {
        self.in_guild(guild)
            .filter(|r| r.state.channel_id == Some(channel) && r.state.user_id != except)
            .count()
    }

    /// What another node's VOICE_STATE_UPDATE says. A leave removes the
    /// state only if that node held it.
    pub fn apply(&mut self, guild: Snowflake, node: &str, state: &wire::VoiceState) {
        let user = state.user_id;
        if let Some(seen) = self.seeding.get_mut(&guild) {
            seen.insert(user);
        }
        match state.channel_id {
            Some(_) => {
                self.guilds.entry(guild).or_default().insert(
                    user,
                    RecordedVoiceState {
                        node: node.to_owned(),
                        state: state.clone(),
                    },
                );
            }
            None => {
                let Some(users) = self.guilds.get_mut(&guild) else {
                    return;
                };
                if users.get(&user).is_some_and(|r| r.node == node) {
                    users.remove(&user);
                }
                if users.is_empty() {
                    self.guilds.remove(&guild);
                }
            }
        }
    }

    /// The channel another node says the user is in.
    pub fn channel_of(&self, guild: Snowflake, user: Snowflake) -> Option<Snowflake> {
        self.guilds.get(&guild)?.get(&user)?.state.channel_id
    }

    /// A session here took the user's state over: no other node holds it.
    pub fn taken_over(&mut self, guild: Snowflake, user: Snowflake) {
        if let Some(seen) = self.seeding.get_mut(&guild) {
            seen.insert(user);
        }
        if let Some(users) = self.guilds.get_mut(&guild) {
            users.remove(&user);
            if users.is_empty() {
                self.guilds.remove(&guild);
            }
        }
    }

    pub fn forget_guild(&mut self, guild: Snowflake) {
        self.guilds.remove(&guild);
    }

    fn start_seeding(&mut self, guild: Snowflake) {
        self.seeding.entry(guild).or_default();
    }

    /// The records read for the guild, but those an event overtook, and
    /// this node's own.
    fn finish_seeding(&mut self, guild: Snowflake, me: &str, records: Vec<RecordedVoiceState>) {
        let seen = self.seeding.remove(&guild).unwrap_or_default();
        for r in records {
            if r.node != me && !seen.contains(&r.state.user_id) {
                self.guilds
                    .entry(guild)
                    .or_default()
                    .insert(r.state.user_id, r);
            }
        }
    }

    fn nodes(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .guilds
            .values()
            .flat_map(|u| u.values().map(|r| r.node.clone()))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    fn of_nodes(&self, nodes: &[String]) -> Vec<(Snowflake, RecordedVoiceState)> {
        self.guilds
            .iter()
            .flat_map(|(g, users)| {
                users
                    .values()
                    .filter(|r| nodes.contains(&r.node))
                    .map(move |r| (*g, r.clone()))
            })
            .collect()
    }
}

/// The cluster's voice records and who is alive, as the gateway uses them.
pub(crate) struct SharedVoice {
    pub directory: Arc<VoiceDirectory>,
    pub nodes: Arc<NodeNames>,
}

impl Gateway {
    /// In a cluster: records this node's voice states in Redis and reads
    /// the others' (see the module's documentation).
    pub fn share_voice_states(&self, directory: Arc<VoiceDirectory>, nodes: Arc<NodeNames>) {
        if self
            .shared_voice
            .set(SharedVoice { directory, nodes })
            .is_ok()
        {
            start_sweeping(self.me.clone());
        }
    }

    pub(crate) fn record_voice_state(&self, guild: Snowflake, state: &wire::VoiceState) {
        if let Some(shared) = self.shared_voice.get() {
            shared.directory.record(guild, state);
        }
    }

    /// Another node's VOICE_STATE_UPDATE.
    pub(crate) fn remote_voice_state(
        &self,
        guild: Snowflake,
        node: &str,
        state: &wire::VoiceState,
    ) {
        let _changing = self.voice.changing();
        let mut registry = self.voice.registry();
        if state.channel_id.is_some() {
            if let Some(mine) = registry.remove(guild, state.user_id) {
                tracing::debug!(%guild, user = %state.user_id, session = %mine.session_id, to = %node, "voice state taken over by a session on another node");
            }
        }
        registry.remote.apply(guild, node, state);
    }

    /// The guild's hub was made: read the states other nodes hold in it.
    pub(crate) async fn seed_voice_states(&self, guild: Snowflake) {
        let Some(shared) = self.shared_voice.get() else {
            return;
        };
        self.voice.registry().remote.start_seeding(guild);
        let records = match shared.directory.load(guild).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%guild, error = %e, "voice states of other nodes could not be read: this node lists only those it hears of from now on");
                Vec::new()
            }
        };
        self.voice
            .registry()
            .remote
            .finish_seeding(guild, &self.config.node_name, records);
    }

    /// GUILD_CREATE's `voice_states` entries of other nodes (without
    /// `guild_id`), but users who hold one here.
    pub(crate) fn remote_listed(&self, guild: Snowflake) -> Vec<(Snowflake, Value)> {
        let registry = self.voice.registry();
        registry
            .remote
            .in_guild(guild)
            .filter(|r| registry.get(guild, r.state.user_id).is_none())
            .map(|r| {
                let mut s = r.state.clone();
                s.guild_id = None;
                (r.state.user_id, json!(s))
            })
            .collect()
    }

    /// Drops the states of nodes that are gone and tells this node's
    /// sessions those users left.
    async fn sweep_gone_nodes(&self) {
        let Some(shared) = self.shared_voice.get() else {
            return;
        };
        let mut nodes = self.voice.registry().remote.nodes();
        nodes.extend(self.call_nodes());
        nodes.sort();
        nodes.dedup();
        if nodes.is_empty() {
            return;
        }
        let Ok(alive) = shared.nodes.alive(&nodes).await else {
            return;
        };
        let gone: Vec<String> = nodes
            .into_iter()
            .zip(alive)
            .filter(|(_, alive)| !alive)
            .map(|(n, _)| n)
            .collect();
        if gone.is_empty() {
            return;
        }
        self.calls_lose_nodes(&gone);
        let orphans = self.voice.registry().remote.of_nodes(&gone);
        tracing::info!(nodes = ?gone, states = orphans.len(), "voice states of nodes that are gone end");
        for (guild, r) in orphans {
            let left = wire::VoiceState {
                channel_id: None,
                ..r.state.clone()
            };
            // Each node tells its own sessions: nothing is published.
            hearth_bus::Receiver::deliver(
                self,
                Arc::new(Event::VoiceStateUpdate {
                    guild_id: guild,
                    state: left,
                    node: r.node.clone(),
                }),
                // Made here, for here: no node's order to keep.
                hearth_proto::events::EventId {
                    origin: 0,
                    counter: 0,
                },
            );
            shared
                .directory
                .forget(guild, r.state.user_id, &r.node)
                .await;
        }
    }
}

fn start_sweeping(gateway: Weak<Gateway>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(gw) = gateway.upgrade() else { return };
            gw.sweep_gone_nodes().await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Snowflake = Snowflake(1);
    const LOUNGE: Snowflake = Snowflake(10);

    fn state(user: u64, channel: Option<Snowflake>) -> wire::VoiceState {
        wire::VoiceState {
            guild_id: Some(G),
            channel_id: channel,
            user_id: Snowflake(user),
            member: None,
            session_id: format!("s{user}"),
            deaf: false,
            mute: false,
            self_deaf: false,
            self_mute: false,
            self_stream: false,
            self_video: false,
            suppress: false,
            request_to_speak_timestamp: None,
        }
    }

    fn record(node: &str, user: u64) -> RecordedVoiceState {
        RecordedVoiceState {
            node: node.into(),
            state: state(user, Some(LOUNGE)),
        }
    }

    #[test]
    fn a_leave_removes_only_the_state_its_node_holds() {
        let mut r = RemoteStates::default();
        r.apply(G, "a", &state(1, Some(LOUNGE)));
        // The user took the state to node b; a's late leave changes nothing.
        r.apply(G, "b", &state(1, Some(LOUNGE)));
        r.apply(G, "a", &state(1, None));
        assert_eq!(r.in_channel(G, LOUNGE, Snowflake(9)), 1);
        r.apply(G, "b", &state(1, None));
        assert_eq!(r.in_channel(G, LOUNGE, Snowflake(9)), 0);
        assert!(
            r.guilds.is_empty(),
            "nothing is kept for a guild with no one"
        );
    }

    #[test]
    fn events_during_seeding_win_over_the_records_read() {
        let mut r = RemoteStates::default();
        r.start_seeding(G);
        // User 1 left (an event) while the records, read before, still
        // had them; user 2's record stands; this node's own are skipped.
        r.apply(G, "a", &state(1, None));
        r.finish_seeding(
            G,
            "me",
            vec![record("a", 1), record("a", 2), record("me", 3)],
        );
        let users: Vec<u64> = r.in_guild(G).map(|s| s.state.user_id.0).collect();
        assert_eq!(users, vec![2]);
        // After seeding, events apply as usual.
        r.apply(G, "a", &state(4, Some(LOUNGE)));
        assert_eq!(r.in_channel(G, LOUNGE, Snowflake(2)), 1);
    }

    #[test]
    fn a_dead_nodes_states_are_found_and_a_takeover_here_removes_the_remote_one() {
        let mut r = RemoteStates::default();
        r.apply(G, "a", &state(1, Some(LOUNGE)));
        r.apply(G, "b", &state(2, Some(LOUNGE)));
        assert_eq!(r.nodes(), vec!["a".to_string(), "b".to_string()]);
        let of_a = r.of_nodes(&["a".to_string()]);
        assert_eq!(of_a.len(), 1);
        assert_eq!(of_a[0].1.state.user_id, Snowflake(1));
        r.taken_over(G, Snowflake(2));
        assert_eq!(r.nodes(), vec!["a".to_string()]);
    }
}
