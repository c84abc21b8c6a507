//! Voice states: who is in which voice channel, and op 4, how a session
//! joins, moves between and leaves voice channels.
//!
//! The main gateway admits; the media plane trusts it. An admitted op 4
//! records the user's voice state, publishes VOICE_STATE_UPDATE to the guild
//! and hands the session a VOICE_SERVER_UPDATE whose token is signed with the
//! secret the SFU shares ([`VoiceClaims`]), so the SFU admits the media
//! connection without asking anyone. A refused op 4 is silent, as in
//! Discord: no dispatch, no close, no change.
//!
//! A user has at most one voice state per guild, held by one session; a
//! join from another session of the user takes it over. States belong to
//! this node's sessions and end with them, with the member's removal, with
//! the channel's deletion, or when the SFU reports the media connection
//! gone ([`Gateway::disconnect_voice`]).
//!
//! Locking: every change runs under `VoiceStates::changing`, held across its
//! publication, so VOICE_STATE_UPDATEs leave in the order the changes were
//! made. The registry's own lock is held briefly; it may be taken under a
//! hub's lock (GUILD_CREATE lists the states while the session subscribes,
//! so no change slips between the list and the subscription), and is never
//! held while taking a hub's lock or publishing.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use hearth_model::{Channel, ChannelType, Member, Permissions, Snowflake, Timestamp};
use hearth_proto::events::{Event, NodeCommand};
use hearth_proto::gateway::{self as wire, VoiceServerUpdate, VoiceStateUpdate};
use hearth_proto::voice::{VoiceClaims, TOKEN_LIFETIME_MS};
use hearth_store::StoreError;
use serde_json::{json, Value};

use crate::gateway::Gateway;
use crate::media::VoiceServer;
use crate::session::Session;
use hearth_bus::sfu_registry::RoomRef;

/// One user's presence in a voice channel of a guild, or in the call of a
/// DM or group DM (see `calls`).
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceState {
    /// The guild; in a DM call the DM channel's id, which keys the call as
    /// a guild's id keys its voice states.
    pub guild_id: Snowflake,
    pub channel_id: Snowflake,
    pub user_id: Snowflake,
    /// The main gateway session that holds the voice connection.
    pub session_id: String,
    /// As of the join, kept current by GUILD_MEMBER_UPDATE; its `deaf` and
    /// `mute` are the guild's server deafen and mute. `None` in a DM call,
    /// which has no guild.
    pub member: Option<Member>,
    pub self_mute: bool,
    pub self_deaf: bool,
    pub self_video: bool,
    pub self_stream: bool,
    /// The SFU node the voice connection goes to.
    pub server: VoiceServer,
}

impl VoiceState {
    /// Whether the state is in a DM call rather than a guild.
    pub fn in_call(&self) -> bool {
        self.member.is_none()
    }

    fn wire(&self, channel_id: Option<Snowflake>) -> wire::VoiceState {
        wire::VoiceState {
            guild_id: self.member.as_ref().map(|_| self.guild_id),
            channel_id,
            user_id: self.user_id,
            member: self.member.clone(),
            session_id: self.session_id.clone(),
            deaf: self.member.as_ref().is_some_and(|m| m.deaf),
            mute: self.member.as_ref().is_some_and(|m| m.mute),
            self_deaf: self.self_deaf,
            self_mute: self.self_mute,
            self_stream: self.self_stream,
            self_video: self.self_video,
            suppress: false,
            request_to_speak_timestamp: None,
        }
    }

    /// VOICE_STATE_UPDATE's `d` while in the channel.
    pub fn joined(&self) -> wire::VoiceState {
        self.wire(Some(self.channel_id))
    }

    /// VOICE_STATE_UPDATE's `d` once gone: `channel_id` is null.
    pub fn left(&self) -> wire::VoiceState {
        self.wire(None)
    }

    /// An entry of GUILD_CREATE's `voice_states`: without `guild_id`.
    pub fn listed(&self) -> Value {
        let mut w = self.wire(Some(self.channel_id));
        w.guild_id = None;
        json!(w)
    }
}

/// The voice states of this node's sessions, by guild and user.
#[derive(Debug, Default)]
pub struct Registry {
    guilds: HashMap<Snowflake, HashMap<Snowflake, VoiceState>>,
    /// The guilds each user has a state in, so a session's end finds its
    /// states without visiting every guild.
    by_user: HashMap<Snowflake, Vec<Snowflake>>,
    /// States held by other nodes of the cluster.
    pub(crate) remote: crate::voice_remote::RemoteStates,
}

impl Registry {
    pub fn get(&self, guild: Snowflake, user: Snowflake) -> Option<&VoiceState> {
        self.guilds.get(&guild)?.get(&user)
    }

    /// Every state on this node.
    pub fn all(&self) -> impl Iterator<Item = &VoiceState> {
        self.guilds.values().flat_map(|users| users.values())
    }

    /// The guild's states, ordered by user id.
    pub fn in_guild(&self, guild: Snowflake) -> Vec<&VoiceState> {
        let mut all: Vec<&VoiceState> = self
            .guilds
            .get(&guild)
            .map(|users| users.values().collect())
            .unwrap_or_default();
        all.sort_by_key(|s| s.user_id);
        all
    }

    /// How many users other than `user` are in the channel: what a channel's
    /// `user_limit` is checked against when `user` joins or moves there.
    pub fn others_in_channel(
        &self,
        guild: Snowflake,
        channel: Snowflake,
        user: Snowflake,
    ) -> usize {
        let here = self.guilds.get(&guild).map_or(0, |users| {
            users
                .values()
                .filter(|s| s.channel_id == channel && s.user_id != user)
                .count()
        });
        here + self.remote.in_channel(guild, channel, user)
    }

    /// Records a join or a move; returns the state it replaces.
    pub fn set(&mut self, state: VoiceState) -> Option<VoiceState> {
        let (guild, user) = (state.guild_id, state.user_id);
        // Taken over from a session on another node: the state is here now.
        self.remote.taken_over(guild, user);
        let replaced = self.guilds.entry(guild).or_default().insert(user, state);
        if replaced.is_none() {
            self.by_user.entry(user).or_default().push(guild);
        }
        replaced
    }

    pub fn remove(&mut self, guild: Snowflake, user: Snowflake) -> Option<VoiceState> {
        let users = self.guilds.get_mut(&guild)?;
        let gone = users.remove(&user)?;
        if users.is_empty() {
            self.guilds.remove(&guild);
        }
        if let Some(guilds) = self.by_user.get_mut(&user) {
            guilds.retain(|g| *g != guild);
            if guilds.is_empty() {
                self.by_user.remove(&user);
            }
        }
        Some(gone)
    }

    /// Removes the states a session holds (another session of the same user
    /// may hold states in other guilds; those stay).
    pub fn remove_session(&mut self, user: Snowflake, session_id: &str) -> Vec<VoiceState> {
        let guilds: Vec<Snowflake> = self
            .by_user
            .get(&user)
            .map(|gs| {
                gs.iter()
                    .copied()
                    .filter(|g| {
                        self.get(*g, user)
                            .is_some_and(|s| s.session_id == session_id)
                    })
                    .collect()
            })
            .unwrap_or_default();
        guilds
            .into_iter()
            .filter_map(|g| self.remove(g, user))
            .collect()
    }

    /// Removes the user's states in DM calls, but the one in `except`.
    pub fn remove_calls_of(
        &mut self,
        user: Snowflake,
        except: Option<Snowflake>,
    ) -> Vec<VoiceState> {
        let calls: Vec<Snowflake> = self
            .by_user
            .get(&user)
            .map(|scopes| {
                scopes
                    .iter()
                    .copied()
                    .filter(|c| Some(*c) != except)
                    .filter(|c| self.get(*c, user).is_some_and(VoiceState::in_call))
                    .collect()
            })
            .unwrap_or_default();
        calls
            .into_iter()
            .filter_map(|c| self.remove(c, user))
            .collect()
    }

    pub fn remove_channel(&mut self, guild: Snowflake, channel: Snowflake) -> Vec<VoiceState> {
        let users: Vec<Snowflake> = self
            .in_guild(guild)
            .into_iter()
            .filter(|s| s.channel_id == channel)
            .map(|s| s.user_id)
            .collect();
        users
            .into_iter()
            .filter_map(|u| self.remove(guild, u))
            .collect()
    }

    pub fn remove_guild(&mut self, guild: Snowflake) -> Vec<VoiceState> {
        let users: Vec<Snowflake> = self.in_guild(guild).iter().map(|s| s.user_id).collect();
        users
            .into_iter()
            .filter_map(|u| self.remove(guild, u))
            .collect()
    }
}

/// Why an op 4 was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such channel in the guild.
    UnknownChannel,
    NotVoice,
    /// No CONNECT (which needs VIEW_CHANNEL, and which a time-out removes).
    NoConnect,
    /// The channel's `user_limit` is reached and the user lacks MOVE_MEMBERS.
    Full,
}

/// Whether a user with `perms` in `channel` may join it while `others`
/// other users are in it. Owners and administrators have every permission,
/// MOVE_MEMBERS among them, so the limit does not hold them back either.
pub fn admit(channel: &Channel, perms: Permissions, others: usize) -> Result<(), Refusal> {
    if channel.kind != ChannelType::Voice {
        return Err(Refusal::NotVoice);
    }
    if !perms.contains(Permissions::CONNECT) {
        return Err(Refusal::NoConnect);
    }
    let limit = channel.user_limit.unwrap_or(0) as usize;
    if limit > 0 && others >= limit && !perms.contains(Permissions::MOVE_MEMBERS) {
        return Err(Refusal::Full);
    }
    Ok(())
}

/// The node's voice states, owned by the [`Gateway`].
#[derive(Debug, Default)]
pub struct VoiceStates {
    /// Serialises changes, and is held while each is published.
    changing: Mutex<()>,
    registry: Mutex<Registry>,
}

impl VoiceStates {
    pub(crate) fn changing(&self) -> MutexGuard<'_, ()> {
        self.changing.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn registry(&self) -> MutexGuard<'_, Registry> {
        // Each critical section leaves the registry consistent.
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Op 4 from a live session.
pub async fn update_voice_state(
    gw: &Gateway,
    session: &Session,
    update: VoiceStateUpdate,
) -> Result<(), StoreError> {
    let Some(guild) = update.guild_id else {
        return crate::calls::update_call_state(gw, session, update).await;
    };
    if !session.guilds().contains(&guild) {
        tracing::debug!(session = %session.id, %guild, "op 4 for a guild the session is not in: ignored");
        return Ok(());
    }
    let Some(channel) = update.channel_id else {
        gw.disconnect_voice(guild, session.user.id);
        return Ok(());
    };
    // Read before any lock is taken: the state carries the member, and its
    // server mute and deafen.
    let Some(member) = gw.store.member(guild, session.user.id).await? else {
        return Ok(());
    };
    // Also before any lock: in a cluster this asks Redis.
    let region = session.region.as_deref();
    let Some(server) = gw.server_for(guild, session.user.id, channel, region).await else {
        return Ok(());
    };
    gw.join_voice(session, guild, member, channel, &update, server);
    Ok(())
}

/// Whether `name` can be a region's name: 1 to 64 letters, digits, `.`,
/// `_` or `-` (what a client claims is checked before it is used).
pub fn is_region_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn now_ms() -> u64 {
    u64::try_from(Timestamp::now().unix_ms()).unwrap_or(0)
}

impl Gateway {
    /// The secret voice tokens are signed with, for the SFU to verify them.
    pub fn voice_secret(&self) -> &[u8] {
        &self.config.voice_secret
    }

    /// The voice gateway's address as clients get it (no scheme).
    pub fn voice_endpoint(&self) -> &str {
        &self.config.voice_endpoint
    }

    /// The SFU node named in the voice tokens this gateway issues.
    pub fn node_name(&self) -> &str {
        &self.config.node_name
    }

    /// The SFU node for a join of (or a stay in) `channel`; `None` if the
    /// channel is no voice channel of the guild, or its room cannot be
    /// placed (the user's current connection there then keeps its node).
    async fn server_for(
        &self,
        guild: Snowflake,
        user: Snowflake,
        channel: Snowflake,
        user_region: Option<&str>,
    ) -> Option<VoiceServer> {
        let rtc_region = self.hub(guild)?.with_view(|view, _| {
            view.channels
                .get(&channel)
                .filter(|c| c.kind == ChannelType::Voice)
                .map(|c| c.rtc_region.clone().flatten())
        })??;
        let room = RoomRef { guild, channel };
        match self
            .voice_server(room, rtc_region.as_deref(), user_region)
            .await
        {
            Ok(server) => Some(server),
            Err(e) => {
                let current = self
                    .voice
                    .registry()
                    .get(guild, user)
                    .filter(|s| s.channel_id == channel)
                    .map(|s| s.server.clone());
                if current.is_none() {
                    tracing::warn!(%guild, %channel, error = %e, "op 4 refused: no SFU node for the room");
                }
                current
            }
        }
    }

    /// GUILD_CREATE's `voice_states`: the states held here and on other
    /// nodes, by user id.
    pub(crate) fn listed_voice_states(&self, guild: Snowflake) -> Vec<Value> {
        let mut all: Vec<(Snowflake, Value)> = self
            .voice
            .registry()
            .in_guild(guild)
            .iter()
            .map(|s| (s.user_id, s.listed()))
            .collect();
        all.extend(self.remote_listed(guild));
        all.sort_by_key(|(user, _)| *user);
        all.into_iter().map(|(_, v)| v).collect()
    }

    /// Takes the user out of the guild's voice channel, telling the guild.
    /// For op 4 with `channel_id: null` and for the SFU when a media
    /// participant is gone. Returns whether the user was in one.
    pub fn disconnect_voice(&self, guild: Snowflake, user: Snowflake) -> bool {
        let _changing = self.voice.changing();
        let gone = self.voice.registry().remove(guild, user);
        self.announce_left(gone.into_iter().collect())
    }

    /// The voice channel the user is in, in that guild (whichever node
    /// holds the state).
    pub fn voice_channel_of(&self, guild: Snowflake, user: Snowflake) -> Option<Snowflake> {
        let registry = self.voice.registry();
        registry
            .get(guild, user)
            .map(|s| s.channel_id)
            .or_else(|| registry.remote.channel_of(guild, user))
    }

    /// A moderator moves the user to another voice channel of the guild
    /// (`PATCH /guilds/{id}/members/{user}` with `channel_id`), or takes them
    /// out (`None`). The user's session gets a VOICE_SERVER_UPDATE for the new
    /// channel, as after its own op 4. False if the user was not in voice.
    /// In a cluster the node holding the state makes the move.
    pub fn move_voice(
        &self,
        guild: Snowflake,
        user: Snowflake,
        channel: Option<Snowflake>,
    ) -> bool {
        let elsewhere = {
            let registry = self.voice.registry();
            registry.get(guild, user).is_none() && registry.remote.channel_of(guild, user).is_some()
        };
        if elsewhere {
            self.bus.command(NodeCommand::MoveVoice {
                guild_id: guild,
                user_id: user,
                channel_id: channel,
            });
            return true;
        }
        self.move_voice_here(guild, user, channel)
    }

    /// [`Gateway::move_voice`] of a state this node holds (false if it
    /// holds none).
    pub(crate) fn move_voice_here(
        &self,
        guild: Snowflake,
        user: Snowflake,
        channel: Option<Snowflake>,
    ) -> bool {
        let Some(channel) = channel else {
            return self.disconnect_voice(guild, user);
        };
        let _changing = self.voice.changing();
        let Some(current) = self.voice.registry().get(guild, user).cloned() else {
            return false;
        };
        if current.channel_id == channel {
            return true;
        }
        if self.session(&current.session_id).is_none() {
            return false;
        }
        if self.placement.get().is_none() {
            self.apply_move(current, channel, self.local_voice_server());
            return true;
        }
        // In a cluster the new channel's room is placed through Redis first;
        // the move lands when it answers.
        drop(_changing);
        let Some(gw) = self.me.upgrade() else {
            return false;
        };
        let region = self
            .session(&current.session_id)
            .and_then(|s| s.region.clone());
        tokio::spawn(async move {
            let Some(server) = gw.server_for(guild, user, channel, region.as_deref()).await else {
                return;
            };
            let _changing = gw.voice.changing();
            // Only if nothing changed the state meanwhile.
            if gw.voice.registry().get(guild, user) == Some(&current) {
                gw.apply_move(current, channel, server);
            }
        });
        true
    }

    /// Moves `current` to `channel` on `server` (under `changing`).
    fn apply_move(&self, current: VoiceState, channel: Snowflake, server: VoiceServer) {
        let Some(session) = self.session(&current.session_id) else {
            return;
        };
        let next = VoiceState {
            channel_id: channel,
            server,
            ..current
        };
        self.voice.registry().set(next.clone());
        self.publish_voice_state(next.guild_id, next.joined());
        self.send_to(
            &session,
            "VOICE_SERVER_UPDATE",
            json!(self.voice_server_update(&next)),
        );
    }

    /// VOICE_SERVER_UPDATE's `d` for a state: a DM call names its channel
    /// and no guild, as Discord's do.
    pub(crate) fn voice_server_update(&self, state: &VoiceState) -> VoiceServerUpdate {
        VoiceServerUpdate {
            token: self.voice_token(state),
            guild_id: (!state.in_call()).then_some(state.guild_id),
            channel_id: state.in_call().then_some(state.channel_id),
            endpoint: state.server.endpoint.clone(),
        }
    }

    /// As [`Gateway::disconnect_voice`], but only if the user's state is
    /// still the one a media connection was admitted for: a participant
    /// that leaves after its user moved elsewhere (or took the connection to
    /// another session) must not end the newer state.
    pub fn disconnect_voice_of(&self, claims: &VoiceClaims) -> bool {
        self.end_voice_if(
            claims.guild_id,
            claims.user_id,
            claims.channel_id,
            &claims.session_id,
            Some(&claims.node),
        )
    }

    /// Ends the user's voice state only if it is still in `channel` on
    /// `session_id` (and on SFU node `node`, when given).
    pub(crate) fn end_voice_if(
        &self,
        guild: Snowflake,
        user: Snowflake,
        channel: Snowflake,
        session_id: &str,
        node: Option<&str>,
    ) -> bool {
        let _changing = self.voice.changing();
        let mut registry = self.voice.registry();
        let current = registry.get(guild, user);
        let same = current.is_some_and(|s| {
            s.session_id == session_id
                && s.channel_id == channel
                && node.is_none_or(|n| n == s.server.node)
        });
        if !same {
            return false;
        }
        let gone = registry.remove(guild, user);
        drop(registry);
        self.announce_left(gone.into_iter().collect())
    }

    /// A session ended: its voice states end too.
    pub(crate) fn end_voice_of_session(&self, session: &Session) {
        let _changing = self.voice.changing();
        let gone = self
            .voice
            .registry()
            .remove_session(session.user.id, &session.id);
        self.announce_left(gone);
    }

    /// A channel was deleted: everyone in it is out.
    pub(crate) fn end_voice_in_channel(&self, guild: Snowflake, channel: Snowflake) {
        let _changing = self.voice.changing();
        let gone = self.voice.registry().remove_channel(guild, channel);
        self.announce_left(gone);
    }

    /// The guild was deleted: its states go without a word (GUILD_DELETE
    /// says it all).
    pub(crate) fn forget_voice_of_guild(&self, guild: Snowflake) {
        let _changing = self.voice.changing();
        let gone = {
            let mut registry = self.voice.registry();
            registry.remote.forget_guild(guild);
            registry.remove_guild(guild)
        };
        for s in gone {
            self.media_changed(guild, s.user_id);
        }
    }

    /// A member changed: the state carries the new member, and a change of
    /// server mute or deafen is announced, as Discord does.
    pub(crate) fn voice_member_updated(&self, guild: Snowflake, member: Member) {
        let _changing = self.voice.changing();
        let mut registry = self.voice.registry();
        let Some(current) = registry.get(guild, member.user.id) else {
            return;
        };
        let Some(was) = current.member.as_ref() else {
            return;
        };
        if *was == member {
            return;
        }
        let announce = was.mute != member.mute || was.deaf != member.deaf;
        let next = VoiceState {
            member: Some(member),
            ..current.clone()
        };
        registry.set(next.clone());
        drop(registry);
        if announce {
            self.publish_voice_state(guild, next.joined());
        }
    }

    pub(crate) fn announce_left(&self, gone: Vec<VoiceState>) -> bool {
        let any = !gone.is_empty();
        for s in gone {
            tracing::debug!(guild = %s.guild_id, user = %s.user_id, channel = %s.channel_id, "left voice");
            self.publish_voice_state(s.guild_id, s.left());
        }
        any
    }

    /// A voice state that came with a session from another node: held
    /// here from now on, and announced (with this node as its holder).
    pub(crate) fn adopt_voice_state(&self, state: VoiceState) {
        let _changing = self.voice.changing();
        self.voice.registry().set(state.clone());
        self.publish_voice_state(state.guild_id, state.joined());
    }

    /// Announces a state to the guild (or the DM call's recipients), and to
    /// the media plane.
    pub(crate) fn publish_voice_state(&self, guild: Snowflake, state: wire::VoiceState) {
        let user = state.user_id;
        // The session's journal record carries its voice states.
        if let Some(session) = self.session(&state.session_id) {
            session.record_changed();
        }
        if state.guild_id.is_none() {
            self.publish_call_state(guild, state);
            self.media_changed(guild, user);
            return;
        }
        self.record_voice_state(guild, &state);
        self.bus.publish(Event::VoiceStateUpdate {
            guild_id: guild,
            state,
            node: self.config.node_name.clone(),
        });
        self.media_changed(guild, user);
    }

    pub(crate) fn voice_token(&self, state: &VoiceState) -> String {
        VoiceClaims {
            user_id: state.user_id,
            guild_id: state.guild_id,
            channel_id: state.channel_id,
            session_id: state.session_id.clone(),
            node: state.server.node.clone(),
            expires_at: now_ms() + TOKEN_LIFETIME_MS,
        }
        .sign(&self.config.voice_secret)
    }

    /// Op 4 naming a channel: a join, a move, a takeover from another of the
    /// user's sessions, a change of the self_* flags, or (the same request
    /// again) a request for a fresh token to reconnect with.
    fn join_voice(
        &self,
        session: &Session,
        guild: Snowflake,
        member: Member,
        channel_id: Snowflake,
        update: &VoiceStateUpdate,
        server: VoiceServer,
    ) {
        let user = session.user.id;
        let _changing = self.voice.changing();
        // The session may have ended or left the guild while the member was read.
        if session.is_ended() || !session.guilds().contains(&guild) {
            return;
        }
        let next = VoiceState {
            guild_id: guild,
            channel_id,
            user_id: user,
            session_id: session.id.clone(),
            member: Some(member),
            self_mute: update.self_mute,
            self_deaf: update.self_deaf,
            self_video: update.self_video,
            self_stream: update.self_stream,
            server,
        };
        let current = self.voice.registry().get(guild, user).cloned();
        // On another SFU node (the room was placed anew: its node is gone)
        // it is a new connection, which needs its VOICE_SERVER_UPDATE.
        let same_connection = current.as_ref().is_some_and(|c| {
            c.session_id == session.id && c.channel_id == channel_id && c.server == next.server
        });
        if same_connection && current.as_ref() != Some(&next) {
            // Muting oneself or turning the camera on: the guild hears of it,
            // the voice connection carries on with its token.
            self.voice.registry().set(next.clone());
            self.publish_voice_state(guild, next.joined());
            return;
        }
        let Some(hub) = self.hub(guild) else { return };
        let verdict = hub.with_view(|view, _| {
            let channel = view
                .channels
                .get(&channel_id)
                .ok_or(Refusal::UnknownChannel)?;
            let perms = view.channel_permissions(user, channel, Timestamp::now(), &mut Vec::new());
            let others = self
                .voice
                .registry()
                .others_in_channel(guild, channel_id, user);
            admit(channel, perms, others)
        });
        match verdict {
            Some(Ok(())) => {}
            Some(Err(refusal)) => {
                tracing::debug!(session = %session.id, %guild, channel = %channel_id, ?refusal, "op 4 refused");
                return;
            }
            None => return,
        }
        self.voice.registry().set(next.clone());
        self.publish_voice_state(guild, next.joined());
        self.send_to(
            session,
            "VOICE_SERVER_UPDATE",
            json!(self.voice_server_update(&next)),
        );
        tracing::debug!(session = %session.id, %guild, channel = %channel_id, "joined voice");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::User;

    const GUILD: Snowflake = Snowflake(100);
    const LOUNGE: Snowflake = Snowflake(200);
    const STAGE: Snowflake = Snowflake(201);

    fn member(user: u64) -> Member {
        Member {
            user: User {
                id: Snowflake(user),
                username: format!("u{user}"),
                discriminator: "0".into(),
                global_name: None,
                avatar: None,
                bot: false,
            },
            nick: None,
            avatar: None,
            roles: vec![],
            joined_at: Timestamp(0),
            deaf: false,
            mute: false,
            flags: 0,
            pending: false,
            communication_disabled_until: None,
        }
    }

    fn state(user: u64, channel: Snowflake, session: &str) -> VoiceState {
        VoiceState {
            guild_id: GUILD,
            channel_id: channel,
            user_id: Snowflake(user),
            session_id: session.into(),
            member: Some(member(user)),
            self_mute: false,
            self_deaf: false,
            self_video: false,
            self_stream: false,
            server: VoiceServer {
                node: "local".into(),
                endpoint: "127.0.0.1:8080/voice".into(),
            },
        }
    }

    fn channel(kind: ChannelType, user_limit: u32) -> Channel {
        Channel {
            id: LOUNGE,
            kind,
            guild_id: GUILD,
            position: 0,
            permission_overwrites: vec![],
            name: "lounge".into(),
            parent_id: None,
            nsfw: false,
            flags: 0,
            topic: None,
            last_message_id: None,
            rate_limit_per_user: None,
            bitrate: Some(64_000),
            user_limit: Some(user_limit),
            rtc_region: Some(None),
            thread: None,
        }
    }

    #[test]
    fn a_user_joins_moves_and_leaves_with_one_state_per_guild() {
        let mut r = Registry::default();
        assert_eq!(r.set(state(1, LOUNGE, "a")), None);
        assert_eq!(r.get(GUILD, Snowflake(1)).unwrap().channel_id, LOUNGE);

        let moved = r.set(state(1, STAGE, "a")).unwrap();
        assert_eq!(moved.channel_id, LOUNGE);
        assert_eq!(r.in_guild(GUILD).len(), 1);
        assert_eq!(r.get(GUILD, Snowflake(1)).unwrap().channel_id, STAGE);

        assert_eq!(r.remove(GUILD, Snowflake(1)).unwrap().channel_id, STAGE);
        assert!(r.in_guild(GUILD).is_empty());
        assert_eq!(r.remove(GUILD, Snowflake(1)), None);
    }

    #[test]
    fn another_session_of_the_user_takes_the_state_over() {
        let mut r = Registry::default();
        r.set(state(1, LOUNGE, "phone"));
        let replaced = r.set(state(1, LOUNGE, "desktop")).unwrap();
        assert_eq!(replaced.session_id, "phone");
        // The phone's session ending leaves the desktop's state alone.
        assert!(r.remove_session(Snowflake(1), "phone").is_empty());
        assert_eq!(r.get(GUILD, Snowflake(1)).unwrap().session_id, "desktop");
        let gone = r.remove_session(Snowflake(1), "desktop");
        assert_eq!(gone.len(), 1);
        assert!(r.in_guild(GUILD).is_empty());
    }

    #[test]
    fn a_session_end_removes_its_states_in_every_guild() {
        let mut r = Registry::default();
        let other_guild = Snowflake(101);
        r.set(state(1, LOUNGE, "a"));
        r.set(VoiceState {
            guild_id: other_guild,
            ..state(1, Snowflake(300), "a")
        });
        r.set(state(2, LOUNGE, "b"));
        let mut gone: Vec<Snowflake> = r
            .remove_session(Snowflake(1), "a")
            .iter()
            .map(|s| s.guild_id)
            .collect();
        gone.sort();
        assert_eq!(gone, vec![GUILD, other_guild]);
        assert_eq!(r.in_guild(GUILD).len(), 1);
        assert!(r.in_guild(other_guild).is_empty());
    }

    #[test]
    fn user_limit_counts_others_in_that_channel_only() {
        let mut r = Registry::default();
        r.set(state(1, LOUNGE, "a"));
        r.set(state(2, LOUNGE, "b"));
        r.set(state(3, STAGE, "c"));
        assert_eq!(r.others_in_channel(GUILD, LOUNGE, Snowflake(9)), 2);
        // Someone already inside does not count against themselves.
        assert_eq!(r.others_in_channel(GUILD, LOUNGE, Snowflake(1)), 1);
        assert_eq!(r.others_in_channel(GUILD, STAGE, Snowflake(1)), 1);
        assert_eq!(r.others_in_channel(Snowflake(999), LOUNGE, Snowflake(9)), 0);

        let voice = channel(ChannelType::Voice, 2);
        let everyone = Permissions::EVERYONE_DEFAULT;
        assert_eq!(admit(&voice, everyone, 1), Ok(()));
        assert_eq!(admit(&voice, everyone, 2), Err(Refusal::Full));
        assert_eq!(
            admit(&voice, everyone | Permissions::MOVE_MEMBERS, 2),
            Ok(())
        );
        assert_eq!(admit(&voice, Permissions::ALL, 50), Ok(()));
        // 0 means no limit.
        assert_eq!(admit(&channel(ChannelType::Voice, 0), everyone, 99), Ok(()));
    }

    #[test]
    fn only_voice_channels_with_connect_admit() {
        let everyone = Permissions::EVERYONE_DEFAULT;
        assert_eq!(
            admit(&channel(ChannelType::Text, 0), everyone, 0),
            Err(Refusal::NotVoice)
        );
        let without_connect = Permissions(everyone.0 & !Permissions::CONNECT.0);
        assert_eq!(
            admit(&channel(ChannelType::Voice, 0), without_connect, 0),
            Err(Refusal::NoConnect)
        );
    }

    #[test]
    fn a_users_calls_end_without_touching_their_guild_voice() {
        let mut r = Registry::default();
        let (dm, group) = (Snowflake(500), Snowflake(501));
        let call = |c: Snowflake| VoiceState {
            guild_id: c,
            channel_id: c,
            member: None,
            ..state(1, c, "a")
        };
        r.set(state(1, LOUNGE, "a"));
        r.set(call(dm));
        r.set(call(group));
        let gone = r.remove_calls_of(Snowflake(1), Some(group));
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].channel_id, dm);
        assert!(r.get(GUILD, Snowflake(1)).is_some(), "guild voice stays");
        assert!(r.get(group, Snowflake(1)).is_some(), "the kept call stays");
        let wire = json!(r.get(group, Snowflake(1)).unwrap().joined());
        assert!(wire.get("guild_id").is_none() && wire.get("member").is_none());
        assert_eq!(r.remove_calls_of(Snowflake(1), None).len(), 1);
        assert!(r.get(GUILD, Snowflake(1)).is_some());
    }

    #[test]
    fn deleting_a_channel_or_guild_empties_it() {
        let mut r = Registry::default();
        r.set(state(1, LOUNGE, "a"));
        r.set(state(2, LOUNGE, "b"));
        r.set(state(3, STAGE, "c"));
        let mut gone: Vec<Snowflake> = r
            .remove_channel(GUILD, LOUNGE)
            .iter()
            .map(|s| s.user_id)
            .collect();
        gone.sort();
        assert_eq!(gone, vec![Snowflake(1), Snowflake(2)]);
        assert_eq!(r.remove_guild(GUILD).len(), 1);
        assert!(r.in_guild(GUILD).is_empty());
        assert!(r.remove_session(Snowflake(3), "c").is_empty());
    }

    #[test]
    fn the_wire_forms_follow_discord() {
        let mut s = state(1, LOUNGE, "a");
        s.member.as_mut().unwrap().mute = true;
        s.self_deaf = true;
        let joined = json!(s.joined());
        assert_eq!(joined["guild_id"], "100");
        assert_eq!(joined["channel_id"], "200");
        assert_eq!(joined["user_id"], "1");
        assert_eq!(joined["member"]["user"]["id"], "1");
        assert_eq!(joined["session_id"], "a");
        assert_eq!(joined["mute"], true);
        assert_eq!(joined["deaf"], false);
        assert_eq!(joined["self_deaf"], true);
        assert_eq!(joined["self_stream"], false);
        assert_eq!(joined["suppress"], false);
        assert!(joined["request_to_speak_timestamp"].is_null());
        assert!(s.left().channel_id.is_none());
        let listed = s.listed();
        assert!(listed.get("guild_id").is_none());
        assert_eq!(listed["member"]["user"]["id"], "1");
    }
}
