//! Starting and resuming sessions, joining guilds (READY and GUILD_CREATE),
//! and the requests a live session makes (presence, guild members).

use std::collections::HashMap;
use std::sync::Arc;

use hearth_model::application_flags as flags;
use hearth_model::{Member, Permissions, Snowflake, Timestamp};
use hearth_proto::events::Topic;
use hearth_proto::gateway::{
    intents, CloseCode, Identify, PresenceUpdate, RequestGuildMembers, Resume,
};
use hearth_store::StoreError;
use rand::RngCore;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::codec::Prepared;
use crate::gateway::Gateway;
use crate::hub::GuildView;
use crate::presence::Seen;
use crate::session::{Outgoing, Replay, ResumeRefusal, Session};
use crate::starts::StartRefusal;

/// Members per GUILD_MEMBERS_CHUNK, as Discord chunks them.
const CHUNK: usize = 1000;

/// Where the client is, for placing the voice rooms it opens: the region
/// the operator's proxy named in a header, else the one Identify's
/// `properties.region` claims (a name as regions are named, else none).
fn client_region(params: &crate::connection::Params, properties: &Value) -> Option<String> {
    params.region.clone().or_else(|| {
        properties
            .get("region")
            .and_then(Value::as_str)
            .filter(|r| crate::voice::is_region_name(r))
            .map(str::to_owned)
    })
}

fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A raw token from Identify or Resume; libraries sometimes keep the prefix.
fn strip_prefix(token: &str) -> &str {
    token
        .strip_prefix("Bot ")
        .or_else(|| token.strip_prefix("Bearer "))
        .unwrap_or(token)
        .trim()
}

fn store_failure(e: StoreError) -> CloseCode {
    tracing::error!(error = %e, "store failed during identify");
    CloseCode::UnknownError
}

/// Whether the token still belongs to `user`, read after the session was
/// registered (see `Gateway::revoke_sessions`).
async fn still_valid(
    gw: &Gateway,
    token_hash: &[u8; 32],
    user: Snowflake,
) -> Result<(), CloseCode> {
    match gw.store.token_user(token_hash).await {
        Ok(Some(u)) if u.id == user => Ok(()),
        Ok(_) => Err(CloseCode::AuthenticationFailed),
        Err(e) => Err(store_failure(e)),
    }
}

/// Which privileged intents an application's flags unlock.
fn allowed_privileged(app_flags: u64) -> u64 {
    let mut allowed = 0;
    if app_flags & (flags::GATEWAY_PRESENCE | flags::GATEWAY_PRESENCE_LIMITED) != 0 {
        allowed |= intents::GUILD_PRESENCES;
    }
    if app_flags & (flags::GATEWAY_GUILD_MEMBERS | flags::GATEWAY_GUILD_MEMBERS_LIMITED) != 0 {
        allowed |= intents::GUILD_MEMBERS;
    }
    if app_flags & (flags::GATEWAY_MESSAGE_CONTENT | flags::GATEWAY_MESSAGE_CONTENT_LIMITED) != 0 {
        allowed |= intents::MESSAGE_CONTENT;
    }
    allowed
}

/// Why an Identify did not start a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Close(CloseCode),
    /// Op 9 (`d: false`); the connection stays open to identify again.
    TryLater,
}

impl From<CloseCode> for Refused {
    fn from(code: CloseCode) -> Self {
        Refused::Close(code)
    }
}

pub struct Identified {
    pub session: Arc<Session>,
    pub outbox: mpsc::Receiver<Outgoing>,
}

/// Unread messages per channel that READY's mention counts look at.
const READ_STATE_SCAN: u32 = 100;

pub async fn identify(
    gw: &Arc<Gateway>,
    conn_id: u64,
    ident: Identify,
    params: &crate::connection::Params,
) -> Result<Identified, Refused> {
    let gateway_url = params.gateway_url.as_str();
    if ident.intents & !intents::ALL != 0 {
        return Err(CloseCode::InvalidIntents.into());
    }
    let token_hash = hearth_store::token_hash(strip_prefix(&ident.token));
    let user = gw
        .store
        .token_user(&token_hash)
        .await
        .map_err(store_failure)?
        .ok_or(CloseCode::AuthenticationFailed)?;
    let mut application = None;
    if user.bot {
        let app = gw
            .store
            .application(user.id)
            .await
            .map_err(store_failure)?
            .ok_or(CloseCode::AuthenticationFailed)?;
        let asked = ident.intents & intents::PRIVILEGED;
        if asked & !allowed_privileged(app.flags) != 0 {
            return Err(CloseCode::DisallowedIntents.into());
        }
        application = Some(json!({ "id": app.id, "flags": app.flags }));
    }
    if let Some([id, count]) = ident.shard {
        if count == 0 || id >= count {
            return Err(CloseCode::InvalidShard.into());
        }
    }
    // Counted once the account and its request are known good.
    match gw.start_session(user.id).await {
        Ok(()) => {}
        Err(StartRefusal::Exhausted) => return Err(CloseCode::RateLimited.into()),
        Err(StartRefusal::TooFast) => return Err(Refused::TryLater),
    }
    let large_threshold = ident.large_threshold.unwrap_or(50).clamp(50, 250);
    let session = Arc::new(
        Session::new(
            new_session_id(),
            user.clone(),
            ident.intents,
            ident.shard,
            large_threshold,
            token_hash,
        )
        .counting_slow_consumers_in(gw.metrics.slow_consumers.clone())
        .in_region(client_region(params, &ident.properties))
        .journaled_in(gw.journal.get().cloned()),
    );
    // Events may reach it from registration on; READY still comes first.
    session.hold_until_ready();
    let outbox = session.attach(conn_id, gw.config.outbox);
    // Events for the user from other nodes (a guild joined there) flow
    // before the session can miss them; `end_session` unwatches.
    gw.bus.watch(Topic::User(user.id)).await;
    if !gw.register(&session) {
        gw.bus.unwatch(Topic::User(user.id));
        return Err(CloseCode::RateLimited.into());
    }
    session.record_changed();
    // In a cluster the limit counts the user's sessions on every node.
    if !gw.admit_connected(&session).await {
        gw.end_session(&session);
        return Err(CloseCode::RateLimited.into());
    }
    // A revocation of the token committed since it was checked may have
    // looked for the user's sessions before this one was registered.
    if let Err(code) = still_valid(gw, &token_hash, user.id).await {
        gw.end_session(&session);
        return Err(code.into());
    }

    let guilds: Vec<Snowflake> = gw
        .store
        .guilds_of_user(user.id)
        .await
        .map_err(store_failure)?
        .into_iter()
        .filter(|g| session.shard_has(*g))
        .collect();
    let private_channels: Vec<hearth_model::PrivateChannel> = if session.holds_dms() {
        gw.store
            .private_channels_of(user.id)
            .await
            .map_err(store_failure)?
            .iter()
            .map(|c| c.seen_by(user.id))
            .collect()
    } else {
        Vec::new()
    };
    // Read states are a person's (bots do not ack), with mention counts
    // over at most the newest hundred unread messages of each channel.
    let read_state = if user.bot {
        None
    } else {
        let states = gw
            .store
            .read_states(user.id, READ_STATE_SCAN)
            .await
            .map_err(store_failure)?;
        Some(json!({
            "version": states.iter().map(|s| s.version).sum::<u64>(),
            "partial": false,
            "entries": states.iter().map(|s| json!({
                "id": s.channel_id,
                "last_message_id": s.last_message_id,
                "mention_count": s.mention_count,
            })).collect::<Vec<_>>(),
        }))
    };
    // Notification settings likewise, for the guilds the user changed any,
    // and who may DM them.
    let (guild_settings, dm_privacy) = if user.bot {
        (None, None)
    } else {
        let privacy = gw.store.dm_privacy(user.id).await.map_err(store_failure)?;
        let entries = gw
            .store
            .guild_settings_of(user.id)
            .await
            .map_err(store_failure)?;
        (
            Some(json!({
                "version": entries.iter().map(|s| s.version).sum::<u64>(),
                "partial": false,
                "entries": entries,
            })),
            Some(privacy),
        )
    };
    // Whom the user blocks (a person's; bots cannot block).
    let mut relationships = Vec::new();
    if !user.bot {
        let blocked = gw.store.blocked_by(user.id).await.map_err(store_failure)?;
        for (id, since) in blocked {
            if let Some(u) = gw.store.user(id).await.map_err(store_failure)? {
                relationships.push(hearth_model::Relationship::block(u, since));
            }
        }
    }
    let mut ready = json!({
        "v": 10,
        "user": hearth_model::CurrentUser::of(&user),
        "guilds": guilds.iter().map(|g| json!({ "id": g, "unavailable": true })).collect::<Vec<_>>(),
        "session_id": session.id,
        "resume_gateway_url": gw.config.resume_url.as_deref().unwrap_or(gateway_url),
        "private_channels": private_channels,
        "relationships": relationships,
        "presences": [],
        "user_settings": {},
    });
    if let Some(read_state) = read_state {
        ready["read_state"] = read_state;
    }
    if let Some(settings) = guild_settings {
        ready["user_guild_settings"] = settings;
    }
    if let Some(privacy) = dm_privacy {
        ready["user_settings"] = json!(privacy);
    }
    if let Some(shard) = ident.shard {
        ready["shard"] = json!(shard);
    }
    if let Some(app) = application {
        ready["application"] = app;
    }
    session.ready(Prepared::new("READY", &ready), gw.config.resume_limit());
    // Calls in progress in the user's DMs ring on (or show) as they come
    // back, as on Discord.
    if !user.bot {
        let channels: Vec<Snowflake> = private_channels.iter().map(|c| c.id).collect();
        for d in gw.calls_for(&channels) {
            gw.send_to(&session, "CALL_CREATE", d);
        }
    }
    // Online before the guilds arrive, so GUILD_CREATE lists this user as present.
    let seen = gw.presences.set(user.id, &session.id, ident.presence);
    for g in &guilds {
        if let Err(e) = join_guild(gw, &session, *g).await {
            // Nothing of a half-identified session may linger (or keep the
            // user online).
            gw.end_session(&session);
            return Err(store_failure(e).into());
        }
    }
    gw.presence_changed(user.id, seen, &session.guilds());
    tracing::debug!(session = %session.id, user = %user.id, guilds = guilds.len(), "identified");
    Ok(Identified { session, outbox })
}

/// Subscribes the session to a guild it is a member of and queues its
/// GUILD_CREATE. Does nothing for non-members or guilds outside its shard.
pub async fn join_guild(
    gw: &Arc<Gateway>,
    session: &Arc<Session>,
    guild: Snowflake,
) -> Result<(), StoreError> {
    if !session.shard_has(guild) || session.is_ended() {
        return Ok(());
    }
    // Before the store says who is a member: see `joins`.
    let ticket = gw.joins.begin(guild, session.user.id);
    let Some(member) = gw.store.member(guild, session.user.id).await? else {
        return Ok(());
    };
    let Some(hub) = gw.load_hub(guild).await? else {
        return Ok(());
    };
    let member_count = gw.store.member_count(guild).await?;
    let members = gw
        .store
        .members(guild, Snowflake(0), session.large_threshold)
        .await?;
    let shown = if session.intents & intents::GUILD_PRESENCES != 0 {
        let mut users: Vec<Snowflake> = members.iter().map(|m| m.user.id).collect();
        users.push(member.user.id);
        gw.cluster_presences(&users).await
    } else {
        HashMap::new()
    };
    let limit = gw.config.resume_limit();
    hub.subscribe(
        session,
        &member,
        || ticket.still_member(),
        |view| {
            // Without GUILDS the session is subscribed but told nothing of the
            // guild's shape, as Discord does.
            if session.add_guild(guild) && session.intents & intents::GUILDS != 0 {
                let d = guild_create(gw, view, session, &member, &members, member_count, &shown);
                session.push(Prepared::new("GUILD_CREATE", &d), limit);
            }
        },
    );
    Ok(())
}

fn guild_create(
    gw: &Gateway,
    view: &GuildView,
    session: &Session,
    me: &Member,
    members: &[Member],
    member_count: u64,
    shown: &HashMap<Snowflake, Seen>,
) -> Value {
    let now = Timestamp::now();
    let mut scratch = Vec::new();
    let mut channels: Vec<_> = view
        .channels
        .values()
        .filter(|c| {
            view.channel_permissions(session.user.id, c, now, &mut scratch)
                .contains(Permissions::VIEW_CHANNEL)
        })
        .collect();
    channels.sort_by_key(|c| (c.position, c.id));
    let mut listed: Vec<&Member> = members.iter().collect();
    if !listed.iter().any(|m| m.user.id == me.user.id) {
        listed.push(me);
    }
    let with_presences = session.intents & intents::GUILD_PRESENCES != 0;
    let presences: Vec<Value> = listed
        .iter()
        .filter(|_| with_presences)
        .filter_map(|m| {
            let seen = gw.seen(m.user.id, shown);
            (seen.status != hearth_proto::gateway::Status::Offline)
                .then(|| seen.in_guild(m.user.id, view.guild.id).to_wire())
        })
        .collect();
    let mut d = serde_json::to_value(&view.guild).unwrap_or_else(|_| json!({}));
    d["joined_at"] = json!(me.joined_at);
    d["large"] = json!(member_count > u64::from(session.large_threshold));
    d["member_count"] = json!(member_count);
    d["members"] = json!(listed);
    d["channels"] = json!(channels);
    d["presences"] = json!(presences);
    d["voice_states"] = json!(gw.listed_voice_states(view.guild.id));
    d["threads"] = json!(visible_threads(view, session.user.id));
    d["stage_instances"] = json!([]);
    d["guild_scheduled_events"] = json!([]);
    d["unavailable"] = json!(false);
    d
}

/// GUILD_CREATE's `threads`: the unarchived threads the user may see.
fn visible_threads(view: &GuildView, user: Snowflake) -> Vec<&hearth_model::Channel> {
    let mut threads: Vec<&hearth_model::Channel> = view
        .threads
        .values()
        .map(|t| &t.thread)
        .filter(|t| {
            t.thread
                .as_ref()
                .is_some_and(|f| !f.thread_metadata.archived)
        })
        .filter(|t| view.visibility(t.id).is_some_and(|mut v| v.allows(user)))
        .collect();
    threads.sort_by_key(|t| t.id);
    threads
}

pub enum ResumeOutcome {
    Resumed {
        session: Arc<Session>,
        replay: Replay,
        outbox: mpsc::Receiver<Outgoing>,
    },
    /// op 9 with `d: false`.
    Invalid,
    Close(CloseCode),
}

pub async fn resume(gw: &Arc<Gateway>, conn_id: u64, r: Resume) -> ResumeOutcome {
    let local = gw.session(&r.session_id);
    // Another node may hold it (in a cluster): worth asking only with a
    // good token.
    if local.is_none() && gw.bus.health() == hearth_bus::BusHealth::Local {
        gw.metrics.resumes_refused.inc();
        return ResumeOutcome::Invalid;
    }
    let token_hash = hearth_store::token_hash(strip_prefix(&r.token));
    let user = match gw.store.token_user(&token_hash).await {
        Ok(Some(u)) => u,
        Ok(None) => return ResumeOutcome::Close(CloseCode::AuthenticationFailed),
        Err(e) => return ResumeOutcome::Close(store_failure(e)),
    };
    let moved = local.is_none();
    let session = match local {
        Some(s) => s,
        None => match crate::handover::fetch(gw, &r.session_id, &user).await {
            Some(s) => s,
            None => {
                gw.metrics.resumes_refused.inc();
                return ResumeOutcome::Invalid;
            }
        },
    };
    if user.id != session.user.id {
        return ResumeOutcome::Close(CloseCode::AuthenticationFailed);
    }
    match session.resume(conn_id, r.seq, gw.config.outbox, token_hash) {
        Ok((replay, outbox)) => {
            // As for Identify: a revocation racing this resume.
            if let Err(code) = still_valid(gw, &token_hash, user.id).await {
                session.set_close_code(code);
                gw.end_session(&session);
                return ResumeOutcome::Close(code);
            }
            gw.send_to(&session, "RESUMED", json!({}));
            // Its token may have changed.
            session.record_changed();
            gw.reconnected(&session);
            if moved {
                // A guild joined while the session was between nodes (its
                // GUILD_CREATE was for the old node to send): sent now.
                let (gw, session) = (gw.clone(), session.clone());
                tokio::spawn(async move {
                    let Ok(guilds) = gw.store.guilds_of_user(session.user.id).await else {
                        return;
                    };
                    let known = session.guilds();
                    for g in guilds.into_iter().filter(|g| !known.contains(g)) {
                        if let Err(e) = join_guild(&gw, &session, g).await {
                            tracing::warn!(error = %e, guild = %g, "could not send GUILD_CREATE after a move");
                        }
                    }
                });
            }
            gw.metrics.resumes.inc();
            ResumeOutcome::Resumed {
                session,
                replay,
                outbox,
            }
        }
        Err(ResumeRefusal::SeqAhead) => ResumeOutcome::Close(CloseCode::InvalidSeq),
        Err(ResumeRefusal::Gone) => {
            gw.end_session(&session);
            ResumeOutcome::Invalid
        }
    }
}

/// Op 3: a session changes its status or activities.
pub fn update_presence(gw: &Gateway, session: &Session, update: PresenceUpdate) {
    let seen = gw.presences.set(session.user.id, &session.id, Some(update));
    session.record_changed();
    let guilds = if seen.is_some() {
        gw.guilds_of_user(session.user.id)
    } else {
        Vec::new()
    };
    gw.presence_changed(session.user.id, seen, &guilds);
}

/// Op 8: members of a guild by username prefix or by id, in chunks.
pub async fn request_members(
    gw: &Gateway,
    session: &Session,
    req: RequestGuildMembers,
) -> Result<(), StoreError> {
    if !session.guilds().contains(&req.guild_id) {
        // Not a guild of this session: nothing to say, as Discord.
        return Ok(());
    }
    let mut not_found = Vec::new();
    // Discord's rules: the whole list needs GUILD_MEMBERS, presences need
    // GUILD_PRESENCES (without it the flag is ignored).
    let whole_list = req.user_ids.is_none() && req.query.as_deref().unwrap_or("").is_empty();
    if whole_list && session.intents & intents::GUILD_MEMBERS == 0 {
        let mut d =
            json!({ "guild_id": req.guild_id, "members": [], "chunk_index": 0, "chunk_count": 1 });
        if let Some(n) = &req.nonce {
            d["nonce"] = json!(n);
        }
        gw.send_to(session, "GUILD_MEMBERS_CHUNK", d);
        return Ok(());
    }
    let with_presences = req.presences && session.intents & intents::GUILD_PRESENCES != 0;
    let members: Vec<Member> = match req.user_ids {
        Some(ids) => {
            let mut found = Vec::new();
            for id in ids.into_vec().into_iter().take(100) {
                match gw.store.member(req.guild_id, id).await? {
                    Some(m) => found.push(m),
                    None => not_found.push(id),
                }
            }
            found
        }
        None => {
            let limit = match req.limit.unwrap_or(0) {
                0 => u32::MAX,
                n => n,
            };
            let query = req.query.unwrap_or_default();
            if query.is_empty() {
                let mut all = Vec::new();
                let mut after = Snowflake(0);
                while (all.len() as u32) < limit {
                    let page = gw
                        .store
                        .members(req.guild_id, after, 1000.min(limit - all.len() as u32))
                        .await?;
                    let Some(last) = page.last() else { break };
                    after = last.user.id;
                    let done = page.len() < 1000;
                    all.extend(page);
                    if done {
                        break;
                    }
                }
                all
            } else {
                gw.store
                    .search_members(req.guild_id, &query, limit.min(100))
                    .await?
            }
        }
    };
    let chunks: Vec<&[Member]> = if members.is_empty() {
        vec![&[]]
    } else {
        members.chunks(CHUNK).collect()
    };
    let count = chunks.len();
    for (i, chunk) in chunks.into_iter().enumerate() {
        let mut d = json!({
            "guild_id": req.guild_id,
            "members": chunk,
            "chunk_index": i,
            "chunk_count": count,
        });
        if i == 0 && !not_found.is_empty() {
            d["not_found"] = json!(not_found);
        }
        if with_presences {
            let users: Vec<Snowflake> = chunk.iter().map(|m| m.user.id).collect();
            let shown = gw.cluster_presences(&users).await;
            let presences: Vec<Value> = chunk
                .iter()
                .filter_map(|m| {
                    let seen = gw.seen(m.user.id, &shown);
                    (seen.status != hearth_proto::gateway::Status::Offline)
                        .then(|| seen.in_guild(m.user.id, req.guild_id).to_wire())
                })
                .collect();
            d["presences"] = json!(presences);
        }
        if let Some(n) = &req.nonce {
            d["nonce"] = json!(n);
        }
        gw.send_to(session, "GUILD_MEMBERS_CHUNK", d);
    }
    Ok(())
}
