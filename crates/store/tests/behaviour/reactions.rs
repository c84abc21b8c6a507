use std::sync::Arc;

use hearth_store::{NewEmoji, Reacted, ReactionCount, ReactionKey, StoreError};

use super::backend::Backend;
use super::fixtures::{id, message, now, user, world};

const ANY: NewEmoji = NewEmoji::Allowed { max: 20 };

pub async fn reactions_are_counted_listed_and_go_with_their_message(b: Arc<Backend>) {
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let other = user(s, "other").await;
    let w = world(s, owner.clone()).await;
    let first = message(&w, &w.text, &owner, id(), "one");
    let second = message(&w, &w.text, &owner, id(), "two");
    s.insert_message(&first).await.unwrap();
    s.insert_message(&second).await.unwrap();
    let key = |m: &hearth_model::Message, emoji: &'static str| ReactionKey {
        channel_id: w.text.id,
        message_id: m.id,
        emoji,
    };

    assert_eq!(
        s.add_reaction(key(&first, "👍"), owner.id, now(), ANY)
            .await
            .unwrap(),
        Reacted::Added
    );
    assert_eq!(
        s.add_reaction(key(&first, "👍"), owner.id, now(), ANY)
            .await
            .unwrap(),
        Reacted::AlreadyThere
    );
    s.add_reaction(key(&first, "🔥"), other.id, now(), ANY)
        .await
        .unwrap();
    assert_eq!(
        s.add_reaction(key(&first, "💧"), other.id, now(), NewEmoji::Forbidden)
            .await
            .unwrap(),
        Reacted::NewEmojiForbidden
    );
    assert_eq!(
        s.add_reaction(key(&first, "👍"), other.id, now(), NewEmoji::Forbidden)
            .await
            .unwrap(),
        Reacted::Added
    );
    s.add_reaction(key(&second, "🔥"), other.id, now(), ANY)
        .await
        .unwrap();

    let counts = s
        .reaction_counts(w.text.id, &[first.id, second.id], owner.id)
        .await
        .unwrap();
    let c = |m: &hearth_model::Message, e: &str, n, me| ReactionCount {
        message_id: m.id,
        emoji: e.into(),
        count: n,
        me,
    };
    let mut expected = vec![
        c(&first, "👍", 2, true),
        c(&first, "🔥", 1, false),
        c(&second, "🔥", 1, false),
    ];
    expected.sort_by_key(|r| r.message_id);
    assert_eq!(counts, expected);
    let mut who: Vec<_> = vec![owner.id, other.id];
    who.sort();
    let listed = s
        .reactors(key(&first, "👍"), hearth_model::Snowflake(0), 10)
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|u| u.id).collect::<Vec<_>>(), who);
    let rest = s.reactors(key(&first, "👍"), who[0], 10).await.unwrap();
    assert_eq!(rest.iter().map(|u| u.id).collect::<Vec<_>>(), vec![who[1]]);

    assert!(s
        .remove_reaction(key(&first, "👍"), owner.id)
        .await
        .unwrap());
    assert!(!s
        .remove_reaction(key(&first, "👍"), owner.id)
        .await
        .unwrap());
    assert_eq!(
        s.remove_emoji_reactions(key(&first, "🔥")).await.unwrap(),
        1
    );
    assert_eq!(
        s.remove_all_reactions(w.text.id, first.id).await.unwrap(),
        1
    );
    assert!(s
        .reaction_counts(w.text.id, &[first.id], owner.id)
        .await
        .unwrap()
        .is_empty());

    // A deleted message takes its reactions; a gone one takes none.
    assert!(s.delete_message(w.text.id, second.id).await.unwrap());
    assert!(s
        .reaction_counts(w.text.id, &[second.id], owner.id)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        s.add_reaction(key(&second, "🔥"), other.id, now(), ANY)
            .await,
        Err(StoreError::Missing("message"))
    ));
}
