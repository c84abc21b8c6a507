use std::sync::Arc;

use hearth_model::{Channel, ChannelType, ThreadFields, ThreadMetadata, Timestamp};
use hearth_store::edits::ThreadEdit;
use hearth_store::{ArchivedThreads, Capacity, StoreError};

use super::backend::Backend;
use super::fixtures::{id, message, user, world, World};

/// A thread under the world's text channel, made at `at`, idle after an hour.
fn thread(w: &World, kind: ChannelType, name: &str, at: Timestamp) -> Channel {
    let mut c = super::fixtures::channel(w.guild.id, kind, name);
    c.parent_id = Some(w.text.id);
    c.topic = None;
    c.thread = Some(ThreadFields {
        owner_id: w.owner.id,
        thread_metadata: ThreadMetadata {
            archived: false,
            auto_archive_duration: 60,
            archive_timestamp: at,
            locked: false,
            invitable: (kind == ChannelType::PrivateThread).then_some(true),
            create_timestamp: at,
        },
        message_count: 0,
        member_count: 1,
        total_message_sent: 0,
    });
    c
}

fn archived(c: &Channel) -> bool {
    c.thread.as_ref().unwrap().thread_metadata.archived
}

pub async fn threads_start_from_messages_and_count_against_the_limit(b: Arc<Backend>) {
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let w = world(s, owner.clone()).await;
    let at = Timestamp(1_800_000_000_000);
    let starter = message(&w, &w.text, &owner, id(), "let's talk");
    s.insert_message(&starter).await.unwrap();

    let mut from_message = thread(&w, ChannelType::PublicThread, "talk", at);
    from_message.id = starter.id;
    let marked = s
        .create_thread(&from_message, Some(starter.id), 2)
        .await
        .unwrap()
        .expect("the starter comes back");
    assert_eq!(marked.flags & 32, 32, "HAS_THREAD");
    // One thread per message; a message of no channel starts none.
    let mut again = thread(&w, ChannelType::PublicThread, "again", at);
    again.id = starter.id;
    assert!(matches!(
        s.create_thread(&again, Some(starter.id), 2).await,
        Err(StoreError::Conflict("thread"))
    ));
    let mut stray = thread(&w, ChannelType::PublicThread, "stray", at);
    let nowhere = id();
    stray.id = nowhere;
    assert!(matches!(
        s.create_thread(&stray, Some(nowhere), 2).await,
        Err(StoreError::Missing("message"))
    ));

    // An edit from a copy read before the thread started keeps the flag.
    let mut stale = starter.clone();
    stale.content = "edited".to_owned();
    assert!(s
        .update_message(&stale, starter.edited_timestamp)
        .await
        .unwrap());
    let edited = s.message(w.text.id, starter.id).await.unwrap().unwrap();
    assert_eq!((edited.content.as_str(), edited.flags & 32), ("edited", 32));

    // Read back as written; not among the guild's channels.
    let read = s.channel(starter.id).await.unwrap().unwrap();
    assert_eq!(read, from_message);
    assert!(s
        .channels(w.guild.id)
        .await
        .unwrap()
        .iter()
        .all(|c| !c.kind.is_thread()));

    // The second active thread fits; a third does not.
    let private = thread(&w, ChannelType::PrivateThread, "quiet", at);
    assert_eq!(s.create_thread(&private, None, 2).await.unwrap(), None);
    let third = thread(&w, ChannelType::PublicThread, "third", at);
    assert!(matches!(
        s.create_thread(&third, None, 2).await,
        Err(StoreError::Full(Capacity::ActiveThreads))
    ));
    assert_eq!(s.active_threads(w.guild.id).await.unwrap().len(), 2);

    // Archived, a thread leaves room; unarchiving it past the limit fails.
    let archive = ThreadEdit {
        archived: Some(true),
        ..ThreadEdit::default()
    };
    let later = Timestamp(at.0 + 1000);
    let edited = s.edit_thread(private.id, &archive, later, 2).await.unwrap();
    assert!(edited.changed && archived(&edited.now));
    assert_eq!(
        edited
            .now
            .thread
            .as_ref()
            .unwrap()
            .thread_metadata
            .archive_timestamp,
        later
    );
    s.create_thread(&third, None, 2).await.unwrap();
    let unarchive = ThreadEdit {
        archived: Some(false),
        ..ThreadEdit::default()
    };
    assert!(matches!(
        s.edit_thread(private.id, &unarchive, later, 2).await,
        Err(StoreError::Full(Capacity::ActiveThreads))
    ));
    let listed = s
        .archived_threads(
            w.text.id,
            &ArchivedThreads {
                private: true,
                joined_by: None,
                before: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, private.id);
    // A thread is not a channel to edit as one.
    assert!(matches!(
        s.edit_thread(w.text.id, &archive, later, 2).await,
        Err(StoreError::Missing("channel"))
    ));
}

pub async fn thread_members_are_counted_and_listed(b: Arc<Backend>) {
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let other = user(s, "other").await;
    let w = world(s, owner.clone()).await;
    let at = Timestamp(1_800_000_000_000);
    let t = thread(&w, ChannelType::PrivateThread, "quiet", at);
    s.create_thread(&t, None, 10).await.unwrap();
    assert_eq!(s.join_thread(t.id, other.id, at, 3).await.unwrap(), Some(2));
    assert_eq!(s.join_thread(t.id, other.id, at, 3).await.unwrap(), None);
    let third = user(s, "third").await;
    let fourth = user(s, "fourth").await;
    assert_eq!(s.join_thread(t.id, third.id, at, 3).await.unwrap(), Some(3));
    assert!(matches!(
        s.join_thread(t.id, fourth.id, at, 3).await,
        Err(StoreError::Full(Capacity::ThreadMembers))
    ));
    assert!(s.thread_member(t.id, fourth.id).await.unwrap().is_none());
    assert!(matches!(
        s.join_thread(id(), fourth.id, at, 3).await,
        Err(StoreError::Missing("channel"))
    ));

    let all = s
        .thread_members(t.id, hearth_model::Snowflake(0), 10)
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let page = s.thread_members(t.id, all[0].user_id, 1).await.unwrap();
    assert_eq!(page[0].user_id, all[1].user_id);
    assert_eq!(s.private_thread_members(w.guild.id).await.unwrap().len(), 3);
    assert_eq!(
        s.thread_memberships(w.guild.id, other.id).await.unwrap()[0].id,
        t.id
    );

    let index = s.thread_index(w.guild.id, other.id).await.unwrap();
    assert_eq!(index.len(), 1);
    assert!(index[0].private && index[0].joined && index[0].parent_id == w.text.id);
    assert!(!s.thread_index(w.guild.id, fourth.id).await.unwrap()[0].joined);
    assert_eq!(s.leave_thread(t.id, other.id).await.unwrap(), Some(2));
    assert_eq!(s.leave_thread(t.id, other.id).await.unwrap(), None);
    let now = s.channel(t.id).await.unwrap().unwrap();
    assert_eq!(now.thread.unwrap().member_count, 2);
    // Leaving the guild is leaving its threads.
    s.remove_member(w.guild.id, third.id).await.unwrap();
    assert!(s.thread_member(t.id, third.id).await.unwrap().is_none());
    let now = s.channel(t.id).await.unwrap().unwrap();
    assert_eq!(now.thread.unwrap().member_count, 1);
}

pub async fn idle_threads_archive_once_and_go_with_their_parent(b: Arc<Backend>) {
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let w = world(s, owner.clone()).await;
    let at = Timestamp(1_800_000_000_000);
    let quiet = thread(&w, ChannelType::PublicThread, "quiet", at);
    let busy = thread(&w, ChannelType::PublicThread, "busy", at);
    s.create_thread(&quiet, None, 10).await.unwrap();
    s.create_thread(&busy, None, 10).await.unwrap();
    // A message half an hour in restarts the busy thread's clock.
    let half_hour = 30 * 60 * 1000;
    let msg_id = hearth_model::Snowflake::from_timestamp_ms((at.0 + half_hour) as u64);
    s.insert_message(&message(&w, &busy, &owner, msg_id, "still here"))
        .await
        .unwrap();

    let minute = 60 * 1000;
    assert!(s
        .archive_idle_threads(Timestamp(at.0 + 59 * minute))
        .await
        .unwrap()
        .is_empty());
    let first = s
        .archive_idle_threads(Timestamp(at.0 + 61 * minute))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].id, quiet.id);
    assert!(archived(&first[0]));
    // Archived once: a second sweep (another node's) finds nothing.
    assert!(s
        .archive_idle_threads(Timestamp(at.0 + 62 * minute))
        .await
        .unwrap()
        .is_empty());
    let second = s
        .archive_idle_threads(Timestamp(at.0 + 91 * minute))
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].id, busy.id);
    let counted = s.channel(busy.id).await.unwrap().unwrap();
    assert_eq!(counted.thread.as_ref().unwrap().message_count, 1);
    assert_eq!(counted.last_message_id, Some(msg_id));

    // The parent's deletion takes its threads and their messages.
    s.delete_channel(w.text.id).await.unwrap();
    assert!(s.channel(busy.id).await.unwrap().is_none());
    assert!(s.message(busy.id, msg_id).await.unwrap().is_none());
    assert!(s.active_threads(w.guild.id).await.unwrap().is_empty());
}
