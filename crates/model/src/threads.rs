//! Threads: channels of type 11 (public) and 12 (private) under a text
//! channel, with Discord's `thread_metadata` and thread member objects.

use serde::{Deserialize, Serialize};

use crate::{Snowflake, Timestamp};

/// The auto-archive durations Discord offers, in minutes of inactivity.
pub const AUTO_ARCHIVE_MINUTES: [u32; 4] = [60, 1440, 4320, 10080];

/// What a thread carries beside the fields of every channel. Flattened
/// into the channel object, as Discord writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadFields {
    /// Who created the thread.
    pub owner_id: Snowflake,
    pub thread_metadata: ThreadMetadata,
    /// Messages in the thread (deleted ones included, unlike Discord).
    pub message_count: u32,
    /// Members of the thread, written as Discord writes it: at most 50
    /// (libraries hold it in a byte; twilight's is an `i8`).
    #[serde(serialize_with = "at_most_fifty")]
    pub member_count: u32,
    /// Messages ever sent in the thread.
    pub total_message_sent: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadMetadata {
    pub archived: bool,
    /// Minutes without a message after which the thread archives itself.
    pub auto_archive_duration: u32,
    /// When `archived` last changed (or the thread was made): the start of
    /// the inactivity clock, with the last message.
    pub archive_timestamp: Timestamp,
    /// Only members with MANAGE_THREADS may unarchive a locked thread.
    pub locked: bool,
    /// Private threads: whether non-moderators may add others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitable: Option<bool>,
    pub create_timestamp: Timestamp,
}

/// Discord's approximate thread member count stops at 50.
pub const MEMBER_COUNT_CAP: u32 = 50;

pub fn at_most_fifty<S: serde::Serializer>(count: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u32((*count).min(MEMBER_COUNT_CAP))
}

/// A user's membership of a thread (Discord's thread member object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadMember {
    /// The thread.
    pub id: Snowflake,
    pub user_id: Snowflake,
    pub join_timestamp: Timestamp,
    /// Notification flags; always 0.
    pub flags: u32,
}

/// A member's permissions in a thread, from theirs in its parent: the
/// parent's, except that SEND_MESSAGES_IN_THREADS stands for SEND_MESSAGES,
/// and a private thread is seen only by its members and by those who may
/// MANAGE_THREADS.
pub fn thread_permissions(
    in_parent: crate::Permissions,
    private: bool,
    is_member: bool,
) -> crate::Permissions {
    use crate::Permissions;
    let mut perms = in_parent;
    perms.remove(Permissions::SEND_MESSAGES);
    if in_parent.contains(Permissions::SEND_MESSAGES_IN_THREADS) {
        perms.insert(Permissions::SEND_MESSAGES);
    }
    if private && !is_member && !in_parent.contains(Permissions::MANAGE_THREADS) {
        perms.remove(Permissions::VIEW_CHANNEL);
    }
    perms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Permissions;

    #[test]
    fn a_thread_takes_the_parents_permissions_with_its_own_send() {
        let base = Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES;
        let p = thread_permissions(base, false, false);
        assert!(p.contains(Permissions::VIEW_CHANNEL));
        assert!(!p.contains(Permissions::SEND_MESSAGES));
        let p = thread_permissions(base | Permissions::SEND_MESSAGES_IN_THREADS, false, false);
        assert!(p.contains(Permissions::SEND_MESSAGES));
    }

    #[test]
    fn the_member_count_is_written_as_discord_writes_it() {
        let fields = ThreadFields {
            owner_id: crate::Snowflake(1),
            thread_metadata: ThreadMetadata {
                archived: false,
                auto_archive_duration: 60,
                archive_timestamp: crate::Timestamp(0),
                locked: false,
                invitable: None,
                create_timestamp: crate::Timestamp(0),
            },
            message_count: 700,
            member_count: 200,
            total_message_sent: 700,
        };
        let written = serde_json::to_value(&fields).unwrap();
        // Libraries keep it in a byte (twilight: an i8).
        assert_eq!(written["member_count"], 50);
        assert_eq!(written["message_count"], 700);
    }

    #[test]
    fn a_private_thread_is_seen_by_members_and_moderators_only() {
        let base = Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES_IN_THREADS;
        assert!(!thread_permissions(base, true, false).contains(Permissions::VIEW_CHANNEL));
        assert!(thread_permissions(base, true, true).contains(Permissions::VIEW_CHANNEL));
        let moderator = base | Permissions::MANAGE_THREADS;
        assert!(thread_permissions(moderator, true, false).contains(Permissions::VIEW_CHANNEL));
    }
}
