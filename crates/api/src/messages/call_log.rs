//! The call message of a DM call (Discord's type 3): written when the
//! call starts, by its caller, and completed when it ends with who took
//! part and when. The gateway owns calls and says when (through the node's
//! wiring); messages are written here, as every message is.

use std::time::Duration;

use hearth_model::{message_type, Message, MessageCall, Snowflake, Timestamp};
use hearth_proto::events::DirectEvent;

use crate::state::AppState;

/// How often the end of a call looks for its message, in case the call
/// was shorter than the message's insert.
const FIND_ATTEMPTS: usize = 10;
const FIND_PAUSE: Duration = Duration::from_millis(100);

/// A call started in `channel` by `caller`: returns the id its message
/// will have, and writes it (with MESSAGE_CREATE to the recipients) in the
/// background, so the gateway never waits on the store.
pub fn started(state: &AppState, channel: Snowflake, caller: Snowflake) -> Snowflake {
    let id = state.ids.next();
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = write_started(&state, channel, caller, id).await {
            tracing::warn!(%channel, error = %e, "the call message could not be written");
        }
    });
    id
}

async fn write_started(
    state: &AppState,
    channel: Snowflake,
    caller: Snowflake,
    id: Snowflake,
) -> Result<(), hearth_store::StoreError> {
    let (Some(dm), Some(author)) = (
        state.store.private_channel(channel).await?,
        state.store.user(caller).await?,
    ) else {
        return Ok(());
    };
    let mut message = crate::routes::messages::system_message(
        state,
        channel,
        None,
        author,
        message_type::CALL,
        None,
    );
    message.id = id;
    message.timestamp = Timestamp(id.timestamp_ms() as i64);
    message.call = Some(MessageCall {
        participants: vec![caller],
        ended_timestamp: None,
    });
    state.messages.create(&message).await?;
    state.direct(&dm.recipient_ids(), |_| {
        DirectEvent::MessageCreate(message.clone())
    });
    Ok(())
}

/// The call of `channel` whose message is `message` ended: the message
/// gets who took part and the end (MESSAGE_UPDATE to the recipients).
pub fn ended(
    state: &AppState,
    channel: Snowflake,
    message: Snowflake,
    participants: Vec<Snowflake>,
) {
    let state = state.clone();
    let ended_at = Timestamp::now();
    tokio::spawn(async move {
        if let Err(e) = write_ended(&state, channel, message, participants, ended_at).await {
            tracing::warn!(%channel, error = %e, "the call message could not be completed");
        }
    });
}

async fn write_ended(
    state: &AppState,
    channel: Snowflake,
    id: Snowflake,
    participants: Vec<Snowflake>,
    ended_at: Timestamp,
) -> Result<(), hearth_store::StoreError> {
    for _ in 0..FIND_ATTEMPTS {
        let Some(mut message) = state.messages.get(channel, id).await? else {
            tokio::time::sleep(FIND_PAUSE).await;
            continue;
        };
        let read = message.edited_timestamp;
        message.call = Some(MessageCall {
            participants: participants.clone(),
            ended_timestamp: Some(ended_at),
        });
        if state.messages.update(&message, read).await? {
            publish(state, channel, message).await?;
            return Ok(());
        }
    }
    Ok(())
}

async fn publish(
    state: &AppState,
    channel: Snowflake,
    message: Message,
) -> Result<(), hearth_store::StoreError> {
    if let Some(dm) = state.store.private_channel(channel).await? {
        state.direct(&dm.recipient_ids(), |_| {
            DirectEvent::MessageUpdate(message.clone())
        });
    }
    Ok(())
}
