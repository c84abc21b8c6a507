//! Resuming here a session whose node died without handing it over (see
//! `journal` for what that node wrote down as it went).
//!
//! When a resume asks for a session no node hands over, and the journal
//! names its holder, and that holder's heartbeat has lapsed, this node:
//! 1. takes the session's record from the dead node (compare-and-set, so
//!    of two nodes racing for it one wins);
//! 2. rebuilds the session: its sequence and resume buffer from the
//!    journaled dispatches (the client never saw a dispatch Redis did not
//!    have), its guilds, presence and voice states from its record;
//! 3. computes what the session had been given of each node's events:
//!    the dead node's watermarks, the sources of its journaled dispatches
//!    and what it came with;
//! 4. reads the session's topics' streams from a little before those
//!    watermarks, and puts their events in front of those the pending
//!    handover collected since it started watching;
//! 5. hands the session to itself through the same path as a live
//!    handover (`handover::handed_over`), which replays the events after
//!    the watermarks, each once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use hearth_bus::journal::RecoveryError;
use hearth_model::User;
use hearth_proto::events::{BufferedDispatch, EventId, NodeCommand, SessionSnapshot, Topic};

use crate::gateway::Gateway;
use crate::journal::Journal;

/// What one look at the journal found.
pub(crate) enum Attempt {
    /// The session is on its way here (through the fan-out).
    Sent,
    /// Its holder may still answer: wait.
    Wait,
    /// The journal has no record of it.
    Unrecorded,
    /// Nobody can carry it on: op 9.
    Impossible,
}

pub(crate) async fn attempt(
    gw: &Arc<Gateway>,
    journal: &Journal,
    session_id: &str,
    user: &User,
    ticket: u64,
) -> Attempt {
    let store = journal.store();
    let holder = match store.holder(session_id).await {
        Ok(Some(holder)) => holder,
        Ok(None) => return Attempt::Unrecorded,
        Err(_) => return Attempt::Wait,
    };
    if holder == gw.config.node_name {
        // Ours, and not here: it ended.
        return Attempt::Impossible;
    }
    match store.is_alive(&holder).await {
        Ok(false) => {}
        Ok(true) | Err(_) => return Attempt::Wait,
    }
    match recover(gw, journal, session_id, user, ticket).await {
        Ok(snapshot) => {
            gw.metrics.takeovers.inc();
            tracing::info!(session = %session_id, user = %user.id, dead = %holder, seq = snapshot.seq, "taking over a dead node's session");
            gw.bus.command(NodeCommand::HandedOver {
                user_id: user.id,
                ticket,
                session: Box::new(snapshot),
            });
            Attempt::Sent
        }
        Err(e) => {
            tracing::warn!(session = %session_id, user = %user.id, dead = %holder, error = %e, "cannot take over a dead node's session");
            Attempt::Impossible
        }
    }
}

async fn recover(
    gw: &Arc<Gateway>,
    journal: &Journal,
    session_id: &str,
    user: &User,
    ticket: u64,
) -> Result<SessionSnapshot, RecoveryError> {
    let store = journal.store();
    let found = store.recover(session_id).await?;
    if found.snapshot.user.id != user.id || found.snapshot.id != session_id {
        return Err(RecoveryError::Unknown);
    }
    if !store.claim(session_id, &found.node).await? {
        return Err(RecoveryError::Unknown);
    }
    let result = rebuild(gw, journal, found, ticket).await;
    if result.is_err() {
        // Claimed, and not carried on: nobody will resume it.
        journal.forget(session_id);
    }
    result
}

async fn rebuild(
    gw: &Arc<Gateway>,
    journal: &Journal,
    found: hearth_bus::journal::Recovered,
    ticket: u64,
) -> Result<SessionSnapshot, RecoveryError> {
    let mut snapshot = found.snapshot;
    if let (Some((first, _)), Some((last, _))) = (found.dispatches.first(), found.dispatches.last())
    {
        snapshot.seq = snapshot.seq.max(last.seq);
        snapshot.replay_from = first.seq - 1;
    } else {
        snapshot.replay_from = snapshot.seq;
    }
    // Per origin, the last event the session was given or that could not
    // concern it.
    let mut applied: HashMap<u64, u64> = HashMap::new();
    let sources = found.dispatches.iter().filter_map(|(e, _)| e.source);
    for id in snapshot
        .applied
        .iter()
        .chain(found.node_applied.iter())
        .copied()
        .chain(sources)
    {
        let last = applied.entry(id.origin).or_insert(0);
        *last = (*last).max(id.counter);
    }
    snapshot.applied = applied
        .into_iter()
        .map(|(origin, counter)| EventId { origin, counter })
        .collect();
    snapshot.buffer = found
        .dispatches
        .into_iter()
        .map(|(e, p)| BufferedDispatch {
            seq: e.seq,
            name: p.name,
            d: p.json,
        })
        .collect();

    let mut topics = vec![Topic::User(snapshot.user.id)];
    topics.extend(snapshot.guilds.iter().map(|g| Topic::Guild(*g)));
    let logs = journal
        .store()
        .read_logs(&topics, found.since_ms, found.node_applied_ms)
        .await?;
    let mut logged = Vec::new();
    let mut ids = HashSet::new();
    for (event, id) in logs.into_iter().flatten() {
        if ids.insert(id) {
            logged.push((event, id));
        }
    }
    if !gw.handovers.put_first(ticket, logged, &ids) {
        return Err(RecoveryError::Unknown);
    }
    Ok(snapshot)
}
