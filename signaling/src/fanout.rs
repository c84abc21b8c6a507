//! Delivering bus events to sessions.
//!
//! For a guild event: apply it to the hub's view, then, under the view's
//! read lock, queue it for every subscribed session whose intents ask for it
//! and whose user may see it (VIEW_CHANNEL for channel events). Pushing is a
//! lock and a `try_send` per session; encoding happens later, once per event
//! and encoding, in the connection tasks. Membership changes follow: a join
//! subscribes the user's sessions (and sends them GUILD_CREATE), a removal
//! unsubscribes them (with GUILD_DELETE) and ends their voice state; a
//! channel's deletion ends the voice states in it.

use std::collections::HashSet;
use std::sync::Arc;

use hearth_bus::Receiver;
use hearth_model::Snowflake;
use hearth_proto::events::{Audience, Event, EventId, NodeCommand};
use hearth_proto::gateway::intents;
use serde_json::json;

use crate::codec::Prepared;
use crate::gateway::Gateway;
use crate::identify;
use crate::session::Session;
use crate::thread_sync;

/// Whether the session's intents ask for the event; `needed` is
/// `intents::for_event` of it, looked up once per event.
fn wants(session: &Session, event: &Event, needed: Option<u64>) -> bool {
    let own = event.subject() == Some(session.user.id);
    match (event, needed) {
        // A user's own presence changes are theirs to know already.
        (Event::PresenceUpdate(_), _) if own => false,
        // Discord sends a member their own member updates regardless.
        (Event::GuildMemberUpdate { .. }, _) if own => true,
        // An interaction goes to the bot's shard for its guild only, so a
        // sharded bot answers it once.
        (Event::InteractionCreate(i), _) => session.shard_has(i.guild_id),
        // Others' joins and leaves need GUILD_MEMBERS; one's own do not.
        (Event::ThreadMembersUpdate(change), Some(bit)) => {
            session.intents & bit != 0
                && (change.concerns(session.user.id)
                    || session.intents & intents::GUILD_MEMBERS != 0)
        }
        (Event::Direct { event, .. }, needed) => {
            session.holds_dms()
                && !(session.user.bot && event.for_people_only())
                && needed.is_none_or(|bit| session.intents & bit != 0)
        }
        (_, Some(bit)) => session.intents & bit != 0,
        (_, None) => true,
    }
}

/// The form of the event this session gets: bots without MESSAGE_CONTENT
/// see message bodies emptied unless they wrote or are mentioned in them,
/// and the same for the replied-to message in `referenced_message`.
fn tailored(session: &Session, event: &Arc<Prepared>) -> Arc<Prepared> {
    if session.user.bot && session.intents & intents::MESSAGE_CONTENT == 0 {
        if let Some(which) = event.emptied_for(session.user.id) {
            return event.without_content(which);
        }
    }
    event.clone()
}

impl Receiver for Gateway {
    fn deliver(&self, event: Arc<Event>, id: EventId) {
        self.note_event(&event, id);
        let prepared = Prepared::of(&event);
        let limit = self.config.resume_limit();
        let needed = event.intent();
        self.metrics.events.inc();
        let mut pushed = 0u64;
        match event.audience() {
            Audience::User(user) => {
                for s in self.sessions_of_user(user) {
                    if wants(&s, &event, needed) {
                        s.push_from(tailored(&s, &prepared), limit, Some(id));
                        pushed += 1;
                    }
                }
                if let Event::Direct { recipient, event } = &*event {
                    self.direct_heard(*recipient, event);
                }
            }
            Audience::Guild(guild)
            | Audience::Channel {
                guild_id: guild, ..
            } => {
                let channel = match event.audience() {
                    Audience::Channel { channel_id, .. } => Some(channel_id),
                    _ => None,
                };
                // A deleted channel must still be checked for visibility to
                // decide who hears of its deletion: apply that one after.
                // So must a deleted thread, and a thread's member who left.
                let after = match &*event {
                    Event::ChannelDelete(_) | Event::ThreadDelete { .. } => true,
                    Event::ThreadMembersUpdate(c) => !c.removed.is_empty(),
                    // Its viewers hear that it was archived; then it is
                    // forgotten.
                    Event::ThreadUpdate { thread, .. } => thread
                        .thread
                        .as_ref()
                        .is_some_and(|t| t.thread_metadata.archived),
                    _ => false,
                };
                if let Some(hub) = self.hub(guild) {
                    // Who saw which channels with threads, if this may
                    // change it (see `thread_sync`).
                    let seen_before = if thread_sync::may_change_sight(&event) {
                        hub.with_view(|view, sessions| {
                            thread_sync::scope(view, &event)
                                .map(|scope| (thread_sync::seen(view, sessions, &scope), scope))
                        })
                        .flatten()
                    } else {
                        None
                    };
                    // A channel's edit may hide it from some who saw it:
                    // they hear of the edit too, so their clients drop it.
                    let saw_before: HashSet<Snowflake> = match (&*event, channel) {
                        (Event::ChannelUpdate(_), Some(c)) => hub
                            .with_view(|view, sessions| {
                                let mut v = view.visibility(c)?;
                                Some(
                                    sessions
                                        .iter()
                                        .map(|s| s.user.id)
                                        .filter(|u| v.allows(*u))
                                        .collect(),
                                )
                            })
                            .flatten()
                            .unwrap_or_default(),
                        _ => HashSet::new(),
                    };
                    if after {
                        hub.prepare(&event);
                    } else {
                        hub.apply(&event);
                    }
                    let also = event.channel_permission();
                    hub.with_view(|view, sessions| {
                        let mut visibility = match channel {
                            Some(c) => match view.visibility(c) {
                                Some(v) => Some(v),
                                // A channel the view does not know: nobody may see it.
                                None => return,
                            },
                            None => None,
                        };
                        for s in sessions {
                            if !wants(s, &event, needed) {
                                continue;
                            }
                            if let Some(v) = visibility.as_mut() {
                                if !v.allows_with(s.user.id, also)
                                    && !saw_before.contains(&s.user.id)
                                {
                                    continue;
                                }
                            }
                            s.push_from(tailored(s, &prepared), limit, Some(id));
                            pushed += 1;
                        }
                    });
                    if after {
                        hub.apply(&event);
                    }
                    if let Some((before, scope)) = seen_before {
                        let syncs = hub
                            .with_view(|view, sessions| {
                                thread_sync::gained(view, sessions, &scope, &before)
                            })
                            .unwrap_or_default();
                        for (session, d) in syncs {
                            session.push(Prepared::new("THREAD_LIST_SYNC", &d), limit);
                            pushed += 1;
                        }
                    }
                }
                self.membership_follows(&event, guild);
            }
        }
        // After the pushes: the journal reads the watermarks as "every
        // dispatch of these events is queued".
        self.applied.record(id);
        self.metrics.dispatches.inc_by(pushed);
    }

    fn command(&self, command: NodeCommand) {
        match command {
            NodeCommand::EndSessions {
                user_id,
                token_hash,
            } => self.revoke_sessions(user_id, token_hash.as_ref()),
            NodeCommand::MediaState {
                guild_id,
                user_id,
                state,
                holder,
            } => self.media_state_announced(guild_id, user_id, state, &holder),
            NodeCommand::HandOver {
                session_id,
                user_id,
                ticket,
            } => self.hand_over(&session_id, user_id, ticket),
            NodeCommand::HandedOver {
                ticket, session, ..
            } => self.handed_over(ticket, *session),
            NodeCommand::MoveVoice {
                guild_id,
                user_id,
                channel_id,
            } => {
                self.move_voice_here(guild_id, user_id, channel_id);
            }
            NodeCommand::MediaGone {
                guild_id,
                user_id,
                channel_id,
                session_id,
                node,
            } => self.media_gone(guild_id, user_id, channel_id, &session_id, &node),
        }
    }

    fn missed_events(&self) {
        self.forget_everything();
    }
}

impl Gateway {
    /// Queues the event for one session (a session just handed over), if
    /// it is for it as the fan-out would decide; true if it was.
    pub(crate) fn deliver_to(
        &self,
        session: &Arc<Session>,
        event: &Arc<Event>,
        id: EventId,
    ) -> bool {
        if !wants(session, event, event.intent()) {
            return false;
        }
        let allowed = match event.audience() {
            Audience::User(user) => user == session.user.id,
            Audience::Guild(guild) => session.guilds().contains(&guild),
            Audience::Channel {
                guild_id,
                channel_id,
            } => {
                session.guilds().contains(&guild_id)
                    && self
                        .hub(guild_id)
                        .and_then(|hub| {
                            hub.with_view(|view, _| {
                                view.visibility(channel_id).is_some_and(|mut v| {
                                    v.allows_with(session.user.id, event.channel_permission())
                                })
                            })
                        })
                        .unwrap_or(false)
            }
        };
        if allowed {
            let prepared = Prepared::of(event);
            session.push_from(
                tailored(session, &prepared),
                self.config.resume_limit(),
                Some(id),
            );
        }
        allowed
    }

    fn membership_follows(&self, event: &Event, guild: Snowflake) {
        match event {
            Event::GuildMemberAdd { member, .. } => {
                let user = member.user.id;
                let sessions = self.sessions_of_user(user);
                let Some(gw) = self.me.upgrade() else { return };
                if sessions.is_empty() {
                    return;
                }
                // The guild learns the newcomer is here, as Discord tells
                // it, unless they are invisible (which shows as offline).
                // In a cluster, as the cluster shows them (read off this
                // path), told by each node that has their sessions.
                let cluster = self.cluster_presence();
                if cluster.is_none() {
                    let seen = self.presences.seen(user);
                    if seen.status != hearth_proto::gateway::Status::Offline {
                        self.announce_presence(user, &seen, &[guild]);
                    }
                }
                // Loading the guild needs the store: off the publisher's path.
                tokio::spawn(async move {
                    if let Some(cluster) = cluster {
                        cluster.tell_guild(&gw, user, guild).await;
                    }
                    for s in sessions {
                        if let Err(e) = identify::join_guild(&gw, &s, guild).await {
                            tracing::warn!(error = %e, %guild, "could not send GUILD_CREATE after a join");
                        }
                    }
                });
            }
            Event::GuildMemberRemove { user, .. } => {
                let user = user.id;
                // First, so a join under way cannot subscribe after the
                // loop below looked for the member's sessions.
                self.joins.removed(guild, user);
                if let Some(hub) = self.hub(guild) {
                    for s in hub.sessions_of(user) {
                        hub.unsubscribe(&s);
                        if s.remove_guild(guild) && s.intents & intents::GUILDS != 0 {
                            self.send_to(&s, "GUILD_DELETE", json!({ "id": guild }));
                        }
                    }
                }
                // After the sessions left the guild, so no op 4 of theirs
                // can bring the state back.
                self.disconnect_voice(guild, user);
            }
            Event::GuildMemberUpdate { member, .. } => {
                self.voice_member_updated(guild, member.clone());
                self.media_permissions_changed(guild);
            }
            Event::GuildRoleUpdate { .. }
            | Event::GuildRoleDelete { .. }
            | Event::ChannelUpdate(_)
            | Event::GuildUpdate(_) => {
                self.media_permissions_changed(guild);
            }
            Event::ChannelDelete(channel) => {
                self.end_voice_in_channel(guild, channel.id);
            }
            Event::VoiceStateUpdate { state, node, .. } if *node != self.config.node_name => {
                self.remote_voice_state(guild, node, state);
            }
            Event::GuildDelete { .. } => {
                if let Some(hub) = self.drop_hub(guild) {
                    for s in hub.all_sessions() {
                        s.remove_guild(guild);
                    }
                }
                self.forget_voice_of_guild(guild);
            }
            _ => {}
        }
    }
}
