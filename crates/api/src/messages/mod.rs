//! The message service: every read and write of messages goes through here.

pub mod call_log;
pub mod compose;
pub mod edit;
pub mod emoji;
pub mod nonces;
mod recent;
mod service;

pub use service::MessageService;

/// A plain message for the module's tests.
#[cfg(test)]
pub(crate) fn sample(channel: u64, id: u64) -> hearth_model::Message {
    use hearth_model::{Message, Snowflake, Timestamp, User};
    Message {
        id: Snowflake(id),
        channel_id: Snowflake(channel),
        guild_id: None,
        author: User {
            id: Snowflake(1),
            username: "a".into(),
            discriminator: "0".into(),
            global_name: None,
            avatar: None,
            bot: false,
        },
        content: format!("m{id}"),
        timestamp: Timestamp(0),
        edited_timestamp: None,
        tts: false,
        mention_everyone: false,
        mentions: vec![],
        mention_roles: vec![],
        attachments: vec![],
        embeds: vec![],
        pinned: false,
        kind: 0,
        flags: 0,
        nonce: None,
        webhook_id: None,
        message_reference: None,
        referenced_message: None,
        reactions: Vec::new(),
        components: Vec::new(),
        application_id: None,
        interaction_metadata: None,
        interaction: None,
        call: None,
    }
}
