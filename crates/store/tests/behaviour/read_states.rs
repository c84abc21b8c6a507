use std::sync::Arc;

use super::backend::Backend;
use super::fixtures::{id, message, now, role, user, world};

pub async fn read_states_count_mentions_after_the_read_message(b: Arc<Backend>) {
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let reader = user(s, "reader").await;
    let w = world(s, owner.clone()).await;
    let crew = role(w.guild.id, id(), "crew", 1);
    s.create_role(w.guild.id, &crew, 250).await.unwrap();
    s.add_member(w.guild.id, reader.id, &[crew.id], now())
        .await
        .unwrap();
    let ch = w.text.id;
    let first = message(&w, &w.text, &owner, id(), "first");
    s.insert_message(&first).await.unwrap();
    assert_eq!(s.ack(reader.id, ch, first.id).await.unwrap(), 1);

    let mut by_name = message(&w, &w.text, &owner, id(), "hey");
    by_name.mentions = vec![reader.clone()];
    let mut by_role = message(&w, &w.text, &owner, id(), "crew");
    by_role.mention_roles = vec![crew.id];
    let mut everyone = message(&w, &w.text, &owner, id(), "all");
    everyone.mention_everyone = true;
    let plain = message(&w, &w.text, &owner, id(), "plain");
    let mut own = message(&w, &w.text, &reader, id(), "me");
    own.mentions = vec![reader.clone()];
    for m in [&by_name, &by_role, &everyone, &plain, &own] {
        s.insert_message(m).await.unwrap();
    }
    let states = s.read_states(reader.id, 100).await.unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].channel_id, ch);
    assert_eq!(states[0].last_message_id, first.id);
    assert_eq!(states[0].mention_count, 3);
    // The scan is bounded: only the newest two are looked at.
    assert_eq!(
        s.read_states(reader.id, 2).await.unwrap()[0].mention_count,
        0
    );

    // Acks never go backwards; versions count them.
    assert_eq!(s.ack(reader.id, ch, own.id).await.unwrap(), 2);
    assert_eq!(s.ack(reader.id, ch, first.id).await.unwrap(), 3);
    let states = s.read_states(reader.id, 100).await.unwrap();
    assert_eq!(states[0].last_message_id, own.id);
    assert_eq!(states[0].mention_count, 0);
    assert!(s.read_states(owner.id, 100).await.unwrap().is_empty());

    // A member who leaves, or is banned, takes their read states of the
    // guild along; others keep theirs.
    let leaver = user(s, "leaver").await;
    for banned in [false, true] {
        s.add_member(w.guild.id, leaver.id, &[], now())
            .await
            .unwrap();
        s.ack(leaver.id, ch, own.id).await.unwrap();
        assert_eq!(s.read_states(leaver.id, 100).await.unwrap().len(), 1);
        if banned {
            s.ban(w.guild.id, leaver.id, None, None).await.unwrap();
        } else {
            assert!(s.remove_member(w.guild.id, leaver.id).await.unwrap());
        }
        assert!(s.read_states(leaver.id, 100).await.unwrap().is_empty());
    }
    assert_eq!(s.read_states(reader.id, 100).await.unwrap().len(), 1);

    // A deleted channel takes its read states with it.
    s.delete_channel(ch).await.unwrap();
    assert!(s.read_states(reader.id, 100).await.unwrap().is_empty());
}

pub async fn acks_written_together_keep_their_order_and_the_furthest(b: Arc<Backend>) {
    use hearth_store::Ack;
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let reader = user(s, "reader").await;
    let w = world(s, owner.clone()).await;
    let (a, c) = (id(), id());
    let ack = |user, channel, message_id| Ack {
        user,
        channel,
        message_id,
    };
    // Out of order, twice the same state, another user: each counts.
    let versions = s
        .ack_many(&[
            ack(reader.id, w.text.id, c),
            ack(owner.id, w.text.id, a),
            ack(reader.id, w.text.id, a),
        ])
        .await
        .unwrap();
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[1], 1, "the owner's first ack");
    let mut reader_versions = [versions[0], versions[2]];
    reader_versions.sort();
    assert_eq!(reader_versions, [1, 2]);
    // Never backwards: the furthest message stays.
    let states = s.read_states(reader.id, 100).await.unwrap();
    let state = states.iter().find(|r| r.channel_id == w.text.id).unwrap();
    assert_eq!(state.last_message_id, a.max(c));
    assert!(s.ack_many(&[]).await.unwrap().is_empty());
}
