//! Threads: starting them (from a message or standalone), editing,
//! archiving and deleting them, their members, and the lists of active and
//! archived threads. A thread is a channel of type 11 or 12 under a text
//! channel; its messages, pins and reactions use the channel routes, with
//! the permissions `access` computes for threads.

use std::collections::{HashMap, HashSet};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use hearth_model::threads::AUTO_ARCHIVE_MINUTES;
use hearth_model::{
    Channel, ChannelType, Permissions, Snowflake, ThreadFields, ThreadMember, ThreadMetadata,
    Timestamp,
};
use hearth_proto::events::ThreadMembersChange;
use hearth_proto::rest::{PatchChannel, StartThread};
use hearth_proto::{ErrorCode, FormErrors};
use hearth_store::edits::ThreadEdit;
use hearth_store::ArchivedThreads;
use serde::{Deserialize, Serialize};

use crate::access::{self, GuildAccess, Place};
use crate::error::{ApiError, ApiResult};
use crate::extract::{snowflake, Body, Caller, Query};
use crate::state::AppState;

/// Unarchived threads one guild may hold (Discord: 1,000).
pub const MAX_ACTIVE_THREADS: usize = 1000;
/// Members one thread may have.
pub const MAX_THREAD_MEMBERS: usize = 1000;
/// When a thread's starter names no duration (three days).
const DEFAULT_AUTO_ARCHIVE: u32 = 4320;
/// The largest page of archived threads and of thread members.
const MAX_PAGE: usize = 100;
/// How often each node looks for threads idle past their duration.
const ARCHIVE_SWEEP: std::time::Duration = std::time::Duration::from_secs(30);

/// Archives threads idle past their auto-archive duration, every
/// [`ARCHIVE_SWEEP`], and tells who may see them (THREAD_UPDATE). Every
/// node sweeps; the store hands each thread to one sweep only.
pub async fn archive_idle(state: AppState) {
    let mut tick = tokio::time::interval(ARCHIVE_SWEEP);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.store.archive_idle_threads(Timestamp::now()).await {
            Ok(archived) => {
                for thread in &archived {
                    state.thread_updated(thread, None);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not archive idle threads"),
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/channels/{channel_id}/threads", post(start_standalone))
        .route(
            "/channels/{channel_id}/messages/{message_id}/threads",
            post(start_from_message),
        )
        .route("/guilds/{guild_id}/threads/active", get(active))
        .route(
            "/channels/{channel_id}/threads/archived/public",
            get(archived_public),
        )
        .route(
            "/channels/{channel_id}/threads/archived/private",
            get(archived_private),
        )
        .route(
            "/channels/{channel_id}/users/@me/threads/archived/private",
            get(archived_joined),
        )
        .route("/channels/{channel_id}/thread-members", get(members))
        .route(
            "/channels/{channel_id}/thread-members/{user_id}",
            put(add_member).delete(remove_member).get(member),
        )
}

/// A guild text channel the caller can see, to start a thread in.
async fn parent_of_new(
    state: &AppState,
    caller: &Caller,
    channel_id: &str,
) -> ApiResult<(Channel, GuildAccess, Permissions)> {
    let id = snowflake("channel_id", channel_id)?;
    match access::place(state, id, caller.user.id).await? {
        Place::Guild {
            channel,
            access,
            perms,
        } if channel.kind == ChannelType::Text => Ok((channel, access, perms)),
        _ => Err(ErrorCode::INVALID_CHANNEL_TYPE.into()),
    }
}

fn check_duration(minutes: Option<u32>, errors: &mut FormErrors) {
    if minutes.is_some_and(|m| !AUTO_ARCHIVE_MINUTES.contains(&m)) {
        errors.add(
            "auto_archive_duration",
            "BASE_TYPE_CHOICES",
            "Value must be one of {60, 1440, 4320, 10080}.",
        );
    }
}

fn check_slowmode(seconds: Option<u32>, errors: &mut FormErrors) {
    if seconds.is_some_and(|r| r > 21_600) {
        errors.add(
            "rate_limit_per_user",
            "NUMBER_TYPE_MAX",
            "int value should be less than or equal to 21600.",
        );
    }
}

/// The thread a start request describes, before it is written.
fn new_thread(
    id: Snowflake,
    parent: &Channel,
    owner: Snowflake,
    kind: ChannelType,
    body: &StartThread,
) -> ApiResult<Channel> {
    let mut errors = FormErrors::new();
    errors.check_name("name", &body.name, 1, 100);
    check_duration(body.auto_archive_duration, &mut errors);
    check_slowmode(body.rate_limit_per_user, &mut errors);
    errors.finish()?;
    let now = Timestamp::now();
    Ok(Channel {
        id,
        kind,
        guild_id: parent.guild_id,
        position: 0,
        permission_overwrites: Vec::new(),
        name: body.name.trim().to_owned(),
        parent_id: Some(parent.id),
        nsfw: parent.nsfw,
        flags: 0,
        topic: None,
        last_message_id: None,
        rate_limit_per_user: Some(body.rate_limit_per_user.unwrap_or(0)),
        bitrate: None,
        user_limit: None,
        rtc_region: None,
        thread: Some(ThreadFields {
            owner_id: owner,
            thread_metadata: ThreadMetadata {
                archived: false,
                auto_archive_duration: body.auto_archive_duration.unwrap_or(DEFAULT_AUTO_ARCHIVE),
                archive_timestamp: now,
                locked: false,
                invitable: (kind == ChannelType::PrivateThread)
                    .then(|| body.invitable.unwrap_or(true)),
                create_timestamp: now,
            },
            message_count: 0,
            member_count: 1,
            total_message_sent: 0,
        }),
    })
}

/// `POST /channels/{c}/threads`: a thread without a starter message;
/// private (12) unless the body asks for a public one (11).
async fn start_standalone(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    Body(body): Body<StartThread>,
) -> ApiResult<(StatusCode, Json<Channel>)> {
    let (parent, _, perms) = parent_of_new(&state, &caller, &channel_id).await?;
    let (kind, needed) = match body.kind.unwrap_or(12) {
        11 => (
            ChannelType::PublicThread,
            Permissions::CREATE_PUBLIC_THREADS,
        ),
        12 => (
            ChannelType::PrivateThread,
            Permissions::CREATE_PRIVATE_THREADS,
        ),
        _ => {
            return Err(FormErrors::single(
                "type",
                "BASE_TYPE_CHOICES",
                "Value must be one of {11, 12}.",
            )
            .into())
        }
    };
    access::require(perms, needed)?;
    let thread = new_thread(state.ids.next(), &parent, caller.user.id, kind, &body)?;
    state
        .store
        .create_thread(&thread, None, MAX_ACTIVE_THREADS)
        .await?;
    state.thread_created(&thread);
    Ok((StatusCode::CREATED, Json(thread)))
}

/// `POST /channels/{c}/messages/{m}/threads`: a public thread whose id is
/// the message's, which gains the HAS_THREAD flag.
async fn start_from_message(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, message_id)): Path<(String, String)>,
    Body(body): Body<StartThread>,
) -> ApiResult<(StatusCode, Json<Channel>)> {
    let message_id = snowflake("message_id", &message_id)?;
    let (parent, _, perms) = parent_of_new(&state, &caller, &channel_id).await?;
    access::require(
        perms,
        Permissions::CREATE_PUBLIC_THREADS | Permissions::READ_MESSAGE_HISTORY,
    )?;
    let thread = new_thread(
        message_id,
        &parent,
        caller.user.id,
        ChannelType::PublicThread,
        &body,
    )?;
    let starter = state
        .store
        .create_thread(&thread, Some(message_id), MAX_ACTIVE_THREADS)
        .await?;
    state.messages.changed(parent.id);
    state.thread_created(&thread);
    if let Some(message) = starter {
        state.message_updated(&message);
    }
    Ok((StatusCode::CREATED, Json(thread)))
}

fn metadata(thread: &Channel) -> Option<&ThreadMetadata> {
    thread.thread.as_ref().map(|t| &t.thread_metadata)
}

/// `PATCH /channels/{thread}`, reached through the channel route. The
/// owner may rename and archive their thread and change its duration;
/// anything else, and changing another's thread, needs MANAGE_THREADS.
/// Anyone who may send in it unarchives a thread that is not locked.
pub async fn patch(
    state: &AppState,
    caller: &Caller,
    thread: Channel,
    perms: Permissions,
    body: PatchChannel,
) -> ApiResult<Channel> {
    let Some(meta) = metadata(&thread).cloned() else {
        return Err(ErrorCode::INVALID_CHANNEL_TYPE.into());
    };
    let manages = perms.contains(Permissions::MANAGE_THREADS);
    let owns = thread.thread.as_ref().map(|t| t.owner_id) == Some(caller.user.id);
    let edit = ThreadEdit {
        name: body.name,
        archived: body.archived,
        auto_archive_duration: body.auto_archive_duration,
        locked: body.locked,
        invitable: body.invitable,
        rate_limit_per_user: body.rate_limit_per_user,
    };
    let unarchives = meta.archived && edit.archived == Some(false);
    let archives = !meta.archived && edit.archived == Some(true);
    let moderates =
        edit.locked.is_some() || edit.invitable.is_some() || edit.rate_limit_per_user.is_some();
    let owner_fields = edit.name.is_some() || edit.auto_archive_duration.is_some() || archives;
    if moderates && !manages {
        return Err(ErrorCode::MISSING_PERMISSIONS.into());
    }
    if owner_fields && !(owns || manages) {
        return Err(ErrorCode::MISSING_PERMISSIONS.into());
    }
    if unarchives {
        let locked = edit.locked.unwrap_or(meta.locked);
        let may = if locked {
            manages
        } else {
            perms.contains(Permissions::SEND_MESSAGES)
        };
        if !may {
            return Err(ErrorCode::MISSING_PERMISSIONS.into());
        }
    } else if meta.archived {
        // An archived thread changes only by being unarchived (archiving
        // it again alone changes nothing).
        let archive_again = ThreadEdit {
            archived: Some(true),
            ..ThreadEdit::default()
        };
        if edit != ThreadEdit::default() && edit != archive_again {
            return Err(ErrorCode::THREAD_ARCHIVED.into());
        }
    }
    let mut errors = FormErrors::new();
    if let Some(name) = &edit.name {
        errors.check_name("name", name, 1, 100);
    }
    check_duration(edit.auto_archive_duration, &mut errors);
    check_slowmode(edit.rate_limit_per_user, &mut errors);
    errors.finish()?;
    let edited = state
        .store
        .edit_thread(thread.id, &edit, Timestamp::now(), MAX_ACTIVE_THREADS)
        .await?;
    if edited.changed {
        let members = members_if_unarchived(state, &edited.now, unarchives).await?;
        state.thread_updated(&edited.now, members);
    }
    Ok(edited.now)
}

/// A private thread's members, when a change unarchives it: gateways keep
/// only unarchived threads and learn them again with the update.
async fn members_if_unarchived(
    state: &AppState,
    thread: &Channel,
    unarchived: bool,
) -> ApiResult<Option<Vec<Snowflake>>> {
    if !unarchived {
        return Ok(None);
    }
    private_members(state, thread).await
}

/// A private thread's members (`None` for a public thread).
async fn private_members(state: &AppState, thread: &Channel) -> ApiResult<Option<Vec<Snowflake>>> {
    if thread.kind != ChannelType::PrivateThread {
        return Ok(None);
    }
    let members = state
        .store
        .thread_members(thread.id, Snowflake(0), MAX_THREAD_MEMBERS)
        .await?;
    Ok(Some(members.into_iter().map(|m| m.user_id).collect()))
}

/// `DELETE /channels/{thread}`, reached through the channel route:
/// MANAGE_THREADS. Its messages go with it.
pub async fn remove(state: &AppState, thread: Channel, perms: Permissions) -> ApiResult<Channel> {
    access::require(perms, Permissions::MANAGE_THREADS)?;
    let members = private_members(state, &thread).await?;
    state.store.delete_channel(thread.id).await?;
    state.files_dropped();
    state.messages.changed(thread.id);
    state.thread_deleted(&thread, members);
    Ok(thread)
}

/// Before a message is posted in a thread: an archived one is unarchived
/// (if it is not locked, or the author may MANAGE_THREADS), as in Discord.
pub async fn before_post(state: &AppState, thread: &Channel, perms: Permissions) -> ApiResult<()> {
    let Some(meta) = metadata(thread) else {
        return Ok(());
    };
    if !meta.archived {
        return Ok(());
    }
    if meta.locked && !perms.contains(Permissions::MANAGE_THREADS) {
        return Err(ErrorCode::THREAD_ARCHIVED.into());
    }
    let edit = ThreadEdit {
        archived: Some(false),
        ..ThreadEdit::default()
    };
    let edited = state
        .store
        .edit_thread(thread.id, &edit, Timestamp::now(), MAX_ACTIVE_THREADS)
        .await?;
    if edited.changed {
        let members = members_if_unarchived(state, &edited.now, true).await?;
        state.thread_updated(&edited.now, members);
    }
    Ok(())
}

/// After a message is posted in a thread: its author is a member of it.
pub async fn after_post(state: &AppState, thread: &Channel, author: Snowflake) -> ApiResult<()> {
    join(state, thread, author).await.map(|_| ())
}

/// Adds the user to the thread and tells who may see it; false when they
/// were a member already.
async fn join(state: &AppState, thread: &Channel, user: Snowflake) -> ApiResult<bool> {
    let at = Timestamp::now();
    let Some(count) = state
        .store
        .join_thread(thread.id, user, at, MAX_THREAD_MEMBERS)
        .await?
    else {
        return Ok(false);
    };
    state.thread_members_changed(ThreadMembersChange {
        id: thread.id,
        guild_id: thread.guild_id,
        member_count: count,
        added: vec![ThreadMember {
            id: thread.id,
            user_id: user,
            join_timestamp: at,
            flags: 0,
        }],
        removed: Vec::new(),
    });
    Ok(true)
}

/// A thread the caller can see, with their permissions in it.
async fn thread_of(
    state: &AppState,
    caller: &Caller,
    channel_id: &str,
) -> ApiResult<(Channel, GuildAccess, Permissions)> {
    let id = snowflake("channel_id", channel_id)?;
    match access::place(state, id, caller.user.id).await? {
        Place::Guild {
            channel,
            access,
            perms,
        } if channel.kind.is_thread() => Ok((channel, access, perms)),
        _ => Err(ErrorCode::INVALID_CHANNEL_TYPE.into()),
    }
}

fn not_archived(thread: &Channel) -> ApiResult<()> {
    if metadata(thread).is_some_and(|m| m.archived) {
        return Err(ErrorCode::THREAD_ARCHIVED.into());
    }
    Ok(())
}

/// `PUT /channels/{t}/thread-members/@me` joins; with a user id, adds
/// that member (SEND_MESSAGES in the thread; in a private thread also
/// `invitable` or MANAGE_THREADS). The member must be able to see the
/// parent channel.
async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (thread, access, perms) = thread_of(&state, &caller, &channel_id).await?;
    not_archived(&thread)?;
    let user = if user_id == "@me" {
        caller.user.id
    } else {
        snowflake("user_id", &user_id)?
    };
    let private = thread.kind == ChannelType::PrivateThread;
    if user != caller.user.id {
        access::require(perms, Permissions::SEND_MESSAGES)?;
        let invitable = metadata(&thread).and_then(|m| m.invitable) != Some(false);
        if private && !invitable && !perms.contains(Permissions::MANAGE_THREADS) {
            return Err(ErrorCode::MISSING_PERMISSIONS.into());
        }
        let member = state
            .store
            .member(thread.guild_id, user)
            .await?
            .ok_or(ErrorCode::UNKNOWN_MEMBER)?;
        let parent = match thread.parent_id {
            Some(p) => state.store.channel(p).await?,
            None => None,
        }
        .ok_or(ErrorCode::UNKNOWN_CHANNEL)?;
        if !access
            .channel_permissions_of(&member, &parent)
            .contains(Permissions::VIEW_CHANNEL)
        {
            return Err(ErrorCode::MISSING_ACCESS.into());
        }
    }
    if join(&state, &thread, user).await? && private && user != caller.user.id {
        // They could not see it before: it appears for them.
        let now = state.store.channel(thread.id).await?.unwrap_or(thread);
        state.thread_shown(user, &now);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /channels/{t}/thread-members/@me` leaves; with a user id,
/// removes that member (MANAGE_THREADS, or the owner of a private thread).
async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (thread, _, perms) = thread_of(&state, &caller, &channel_id).await?;
    not_archived(&thread)?;
    let user = if user_id == "@me" {
        caller.user.id
    } else {
        snowflake("user_id", &user_id)?
    };
    if user != caller.user.id {
        let owns_private = thread.kind == ChannelType::PrivateThread
            && thread.thread.as_ref().map(|t| t.owner_id) == Some(caller.user.id);
        if !owns_private && !perms.contains(Permissions::MANAGE_THREADS) {
            return Err(ErrorCode::MISSING_PERMISSIONS.into());
        }
    }
    if let Some(count) = state.store.leave_thread(thread.id, user).await? {
        state.thread_members_changed(ThreadMembersChange {
            id: thread.id,
            guild_id: thread.guild_id,
            member_count: count,
            added: Vec::new(),
            removed: vec![user],
        });
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn member(
    State(state): State<AppState>,
    caller: Caller,
    Path((channel_id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<ThreadMember>> {
    let (thread, _, _) = thread_of(&state, &caller, &channel_id).await?;
    let user = if user_id == "@me" {
        caller.user.id
    } else {
        snowflake("user_id", &user_id)?
    };
    let found = state.store.thread_member(thread.id, user).await?;
    Ok(Json(found.ok_or(ErrorCode::UNKNOWN_MEMBER)?))
}

#[derive(Debug, Deserialize)]
struct MembersQuery {
    after: Option<String>,
    limit: Option<String>,
}

fn limit_of(raw: Option<&str>, default: usize) -> ApiResult<usize> {
    match raw {
        None => Ok(default),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(FormErrors::single(
                "limit",
                "NUMBER_TYPE_MAX",
                format!("Must be between 1 and {MAX_PAGE}."),
            )
            .into()),
        },
    }
}

/// `GET /channels/{t}/thread-members`: by user id, `after` and `limit`.
async fn members(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    Query(q): Query<MembersQuery>,
) -> ApiResult<Json<Vec<ThreadMember>>> {
    let (thread, _, _) = thread_of(&state, &caller, &channel_id).await?;
    let after = match q.after.as_deref() {
        Some(raw) => snowflake("after", raw)?,
        None => Snowflake(0),
    };
    let limit = limit_of(q.limit.as_deref(), MAX_PAGE)?;
    Ok(Json(
        state.store.thread_members(thread.id, after, limit).await?,
    ))
}

#[derive(Debug, Serialize)]
struct ThreadList {
    threads: Vec<Channel>,
    /// The caller's memberships of the listed threads.
    members: Vec<ThreadMember>,
    #[serde(skip_serializing_if = "Option::is_none")]
    has_more: Option<bool>,
}

/// `GET /guilds/{g}/threads/active`: the unarchived threads the caller
/// can see.
async fn active(
    State(state): State<AppState>,
    caller: Caller,
    Path(guild_id): Path<String>,
) -> ApiResult<Json<ThreadList>> {
    let guild_id = snowflake("guild_id", &guild_id)?;
    let access = access::guild(&state, guild_id, caller.user.id).await?;
    let parents: HashMap<Snowflake, Permissions> = state
        .store
        .channels(guild_id)
        .await?
        .iter()
        .map(|c| (c.id, access.channel_permissions(c)))
        .collect();
    let members = state
        .store
        .thread_memberships(guild_id, caller.user.id)
        .await?;
    let joined: HashSet<Snowflake> = members.iter().map(|m| m.id).collect();
    let threads: Vec<Channel> = state
        .store
        .active_threads(guild_id)
        .await?
        .into_iter()
        .filter(|t| {
            let in_parent = t
                .parent_id
                .and_then(|p| parents.get(&p).copied())
                .unwrap_or(Permissions::NONE);
            hearth_model::threads::thread_permissions(
                in_parent,
                t.kind == ChannelType::PrivateThread,
                joined.contains(&t.id),
            )
            .contains(Permissions::VIEW_CHANNEL)
        })
        .collect();
    let shown: HashSet<Snowflake> = threads.iter().map(|t| t.id).collect();
    Ok(Json(ThreadList {
        threads,
        members: members
            .into_iter()
            .filter(|m| shown.contains(&m.id))
            .collect(),
        has_more: None,
    }))
}

#[derive(Debug, Deserialize)]
struct ArchivedQuery {
    before: Option<String>,
    limit: Option<String>,
}

/// Which archived threads a list route shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Archive {
    Public,
    Private,
    JoinedPrivate,
}

async fn archived(
    state: AppState,
    caller: Caller,
    channel_id: String,
    q: ArchivedQuery,
    which: Archive,
) -> ApiResult<Json<ThreadList>> {
    let (parent, _, perms) = parent_of_new(&state, &caller, &channel_id).await?;
    access::require(perms, Permissions::READ_MESSAGE_HISTORY)?;
    if which == Archive::Private {
        access::require(perms, Permissions::MANAGE_THREADS)?;
    }
    let before = match q.before.as_deref() {
        None => None,
        // A timestamp, or (as Discord takes for the caller's own list) a
        // thread id: its creation time.
        Some(raw) => Some(
            Timestamp::parse(raw)
                .or_else(|| {
                    raw.parse::<Snowflake>()
                        .ok()
                        .map(|s| Timestamp(s.timestamp_ms() as i64))
                })
                .ok_or_else(|| {
                    ApiError::Form(FormErrors::single(
                        "before",
                        "DATE_TIME_TYPE_PARSE",
                        format!("Could not parse {raw}. Should be ISO8601."),
                    ))
                })?,
        ),
    };
    let limit = limit_of(q.limit.as_deref(), 50)?;
    let mut threads = state
        .store
        .archived_threads(
            parent.id,
            &ArchivedThreads {
                private: which != Archive::Public,
                joined_by: (which == Archive::JoinedPrivate).then_some(caller.user.id),
                before,
                limit: limit + 1,
            },
        )
        .await?;
    let has_more = threads.len() > limit;
    threads.truncate(limit);
    let mut members = Vec::new();
    for t in &threads {
        if let Some(m) = state.store.thread_member(t.id, caller.user.id).await? {
            members.push(m);
        }
    }
    Ok(Json(ThreadList {
        threads,
        members,
        has_more: Some(has_more),
    }))
}

async fn archived_public(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    Query(q): Query<ArchivedQuery>,
) -> ApiResult<Json<ThreadList>> {
    archived(state, caller, channel_id, q, Archive::Public).await
}

async fn archived_private(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    Query(q): Query<ArchivedQuery>,
) -> ApiResult<Json<ThreadList>> {
    archived(state, caller, channel_id, q, Archive::Private).await
}

async fn archived_joined(
    State(state): State<AppState>,
    caller: Caller,
    Path(channel_id): Path<String>,
    Query(q): Query<ArchivedQuery>,
) -> ApiResult<Json<ThreadList>> {
    archived(state, caller, channel_id, q, Archive::JoinedPrivate).await
}
