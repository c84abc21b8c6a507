use std::sync::Arc;

use hearth_model::{Embed, Message, MessageReference, Snowflake, Timestamp, User};
use hearth_store::{bucket_of, Page, BUCKET_MS};

use super::backend::Backend;
use super::fixtures::{id, id_at, ids, message, user, world, World};

/// Stores `n` messages `step_ms` apart from `start_ms`; returns them oldest first.
async fn seed(b: &Backend, w: &World, start_ms: u64, step_ms: u64, n: usize) -> Vec<Message> {
    let mut out = Vec::new();
    for i in 0..n {
        let m = message(
            w,
            &w.text,
            &w.owner,
            id_at(start_ms + i as u64 * step_ms),
            &format!("m{i}"),
        );
        b.store.insert_message(&m).await.unwrap();
        out.push(m);
    }
    out
}

/// The ids of `all[range]`, newest first: what a page returns.
fn newest_first(all: &[Message], range: std::ops::Range<usize>) -> Vec<Snowflake> {
    let mut v = ids(&all[range]);
    v.reverse();
    v
}

pub async fn pages_go_before_after_and_around_newest_first(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let all = seed(&b, &w, 1_700_000_000_000, 1000, 10).await;
    let page = |p, n| async move { ids(&s.messages(w.text.id, p, n).await.unwrap()) };
    assert_eq!(page(Page::Latest, 3).await, newest_first(&all, 7..10));
    assert_eq!(page(Page::Latest, 100).await, newest_first(&all, 0..10));
    assert_eq!(
        page(Page::Before(all[5].id), 3).await,
        newest_first(&all, 2..5)
    );
    assert_eq!(
        page(Page::Before(all[1].id), 3).await,
        newest_first(&all, 0..1)
    );
    assert_eq!(
        page(Page::After(all[5].id), 3).await,
        newest_first(&all, 6..9)
    );
    assert_eq!(
        page(Page::After(all[8].id), 3).await,
        newest_first(&all, 9..10)
    );
    // Around: half the limit newer, the rest the pivot itself and older.
    assert_eq!(
        page(Page::Around(all[5].id), 4).await,
        newest_first(&all, 4..8)
    );
    assert_eq!(
        page(Page::Around(all[5].id), 5).await,
        newest_first(&all, 3..8)
    );
    assert!(page(Page::Latest, 0).await.is_empty());

    let c = s.channel(w.text.id).await.unwrap().unwrap();
    assert_eq!(c.last_message_id, Some(all[9].id));
    let one = s.message(w.text.id, all[3].id).await.unwrap().unwrap();
    assert_eq!(one, all[3]);
    assert!(s.message(w.text.id, Snowflake(5)).await.unwrap().is_none());
}

pub async fn pages_cross_bucket_boundaries(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    // Three messages per bucket over four buckets: two just before a
    // boundary and one on it. Buckets count from the snowflake epoch.
    let epoch = Snowflake(0).timestamp_ms();
    let first = ((1_700_000_000_000 - epoch) / BUCKET_MS + 1) * BUCKET_MS + epoch;
    let mut all = Vec::new();
    for bucket in 0..4u64 {
        for at in [first - 2, first - 1, first] {
            let m = message(&w, &w.text, &w.owner, id_at(at + bucket * BUCKET_MS), "x");
            s.insert_message(&m).await.unwrap();
            all.push(m);
        }
    }
    all.sort_by_key(|m| m.id);
    let buckets: std::collections::BTreeSet<i64> = all.iter().map(|m| bucket_of(m.id)).collect();
    assert_eq!(
        buckets.len(),
        5,
        "the messages span several buckets: {buckets:?}"
    );

    let page = |p, n| async move { ids(&s.messages(w.text.id, p, n).await.unwrap()) };
    let n = all.len();
    assert_eq!(page(Page::Latest, 100).await, newest_first(&all, 0..n));
    assert_eq!(page(Page::Latest, 5).await, newest_first(&all, n - 5..n));
    for pivot in 1..n - 1 {
        assert_eq!(
            page(Page::Before(all[pivot].id), 4).await,
            newest_first(&all, pivot.saturating_sub(4)..pivot),
            "before #{pivot}"
        );
        assert_eq!(
            page(Page::After(all[pivot].id), 4).await,
            newest_first(&all, pivot + 1..(pivot + 5).min(n)),
            "after #{pivot}"
        );
        assert_eq!(
            page(Page::Around(all[pivot].id), 4).await,
            newest_first(&all, pivot - 1..(pivot + 3).min(n)),
            "around #{pivot}"
        );
    }
    // Every message is found in its own partition.
    for m in &all {
        assert_eq!(
            s.message(w.text.id, m.id).await.unwrap().map(|x| x.id),
            Some(m.id)
        );
    }
}

pub async fn messages_are_edited_and_deleted(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let all = seed(&b, &w, 1_700_000_000_000, 1000, 6).await;
    let mut edited = all[2].clone();
    edited.content = "edited".into();
    edited.edited_timestamp = Some(Timestamp(1_700_000_100_000));
    edited.embeds = vec![Embed {
        title: Some("t".into()),
        ..Default::default()
    }];
    assert!(s.update_message(&edited, None).await.unwrap());
    assert_eq!(
        s.message(w.text.id, edited.id).await.unwrap(),
        Some(edited.clone())
    );

    // A second edit made from the copy read before the first is refused,
    // and changes nothing: the editor re-reads and applies itself again.
    let mut late = all[2].clone();
    late.flags = 4;
    late.edited_timestamp = Some(Timestamp(1_700_000_200_000));
    assert!(!s
        .update_message(&late, all[2].edited_timestamp)
        .await
        .unwrap());
    assert_eq!(
        s.message(w.text.id, edited.id).await.unwrap(),
        Some(edited.clone())
    );
    let mut again = edited.clone();
    again.flags = 4;
    again.edited_timestamp = late.edited_timestamp;
    assert!(s
        .update_message(&again, edited.edited_timestamp)
        .await
        .unwrap());
    let read = s.message(w.text.id, edited.id).await.unwrap().unwrap();
    assert_eq!((read.content.as_str(), read.flags), ("edited", 4));
    // A message that is gone is not written.
    let mut ghost = edited.clone();
    ghost.id = Snowflake(77);
    assert!(!s.update_message(&ghost, None).await.unwrap());

    assert!(s.delete_message(w.text.id, all[0].id).await.unwrap());
    assert!(!s.delete_message(w.text.id, all[0].id).await.unwrap());
    let n = s
        .delete_messages(w.text.id, &[all[1].id, all[3].id, Snowflake(77)])
        .await
        .unwrap();
    assert_eq!(n, 2);
    let left = ids(&s.messages(w.text.id, Page::Latest, 50).await.unwrap());
    assert_eq!(left, vec![all[5].id, all[4].id, all[2].id]);
}

pub async fn replies_carry_their_original_and_webhook_authors_are_kept(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let original = message(&w, &w.text, &w.owner, id(), "question");
    s.insert_message(&original).await.unwrap();
    let mut reply = message(&w, &w.text, &w.owner, id(), "answer");
    reply.kind = 19;
    reply.nonce = Some(serde_json::json!("n-1"));
    reply.message_reference = Some(MessageReference {
        kind: 0,
        message_id: Some(original.id),
        channel_id: Some(w.text.id),
        guild_id: Some(w.guild.id),
        fail_if_not_exists: true,
    });
    s.insert_message(&reply).await.unwrap();
    let read = s.message(w.text.id, reply.id).await.unwrap().unwrap();
    assert_eq!(read.nonce, reply.nonce);
    assert_eq!(
        read.referenced_message,
        Some(Some(Box::new(original.clone())))
    );
    s.delete_message(w.text.id, original.id).await.unwrap();
    let read = s.message(w.text.id, reply.id).await.unwrap().unwrap();
    assert_eq!(read.referenced_message, Some(None), "the original is gone");

    let hook_author = User {
        id: id(),
        username: "Deploy bot".into(),
        discriminator: "0000".into(),
        global_name: None,
        avatar: Some("custom".into()),
        bot: true,
    };
    let mut by_hook = message(&w, &w.text, &hook_author, id(), "deployed");
    by_hook.webhook_id = Some(hook_author.id);
    s.insert_message(&by_hook).await.unwrap();
    let read = s.message(w.text.id, by_hook.id).await.unwrap().unwrap();
    assert_eq!(read.author, hook_author);
    assert_eq!(read.webhook_id, Some(hook_author.id));

    // A deleted author shows as Discord's deleted user.
    let gone = user(s, "leaver").await;
    let m = message(&w, &w.text, &gone, id(), "bye");
    s.insert_message(&m).await.unwrap();
    s.delete_user(gone.id).await.unwrap();
    let read = s.message(w.text.id, m.id).await.unwrap().unwrap();
    assert_eq!(read.author.username, "deleted_user");
    assert_eq!(read.author.id, gone.id);
}
