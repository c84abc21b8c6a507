//! Writes racing each other. Each case checks an outcome that holds in
//! every interleaving, so none depends on timing.

use std::sync::Arc;

use hearth_model::{ChannelType, Timestamp};
use hearth_store::edits::{MemberEdit, RolesEdit};
use hearth_store::{Capacity, Store, StoreError};

use super::backend::{Backend, Kind};
use super::fixtures::{channel, id, invite, now, role, user, webhook, world};

/// The stores the racing writes go through, used alternately: two nodes on
/// one PostgreSQL database; for SQLite, the node's one store (a second
/// process writing the same file is not a deployment SQLite is meant for:
/// its deferred transactions fail with SQLITE_BUSY instead of waiting).
async fn nodes(b: &Backend) -> [Arc<dyn Store>; 2] {
    match b.kind {
        Kind::Postgres => [b.store.clone(), b.reopen().await.expect("a second store")],
        Kind::Sqlite => [b.store.clone(), b.store.clone()],
    }
}

pub async fn concurrent_joins_through_an_invite_never_exceed_its_uses(b: Arc<Backend>) {
    let nodes = nodes(&b).await;
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    s.create_invite(&invite(&w, "three", 3, 0, now()), 1000)
        .await
        .unwrap();
    let mut users = Vec::new();
    for i in 0..12 {
        users.push(user(s, &format!("joiner{i}")).await);
    }
    let mut joins = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let (node, uid) = (nodes[i % 2].clone(), u.id);
        joins.push(tokio::spawn(async move {
            node.use_invite("three", uid, now()).await
        }));
    }
    let (mut joined, mut refused) = (0, 0);
    for j in joins {
        match j.await.unwrap() {
            Ok(used) => {
                assert!(used.joined);
                joined += 1;
            }
            Err(StoreError::Missing("invite")) => refused += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!((joined, refused), (3, 9));
    assert_eq!(s.member_count(w.guild.id).await.unwrap(), 4);
    assert!(s.invite("three").await.unwrap().is_none());
}

pub async fn concurrent_channel_creates_respect_the_limit(b: Arc<Backend>) {
    let nodes = nodes(&b).await;
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let max = 6; // the world's text channel counts
    let mut creates = Vec::new();
    for i in 0..12 {
        let node = nodes[i % 2].clone();
        let c = channel(w.guild.id, ChannelType::Text, &format!("c{i}"));
        creates.push(tokio::spawn(
            async move { node.create_channel(&c, max).await },
        ));
    }
    let mut made = 0;
    for c in creates {
        match c.await.unwrap() {
            Ok(()) => made += 1,
            Err(StoreError::Full(Capacity::Channels)) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(made, max - 1);
    assert_eq!(s.channels(w.guild.id).await.unwrap().len(), max);
}

pub async fn concurrent_webhook_creates_respect_the_limit(b: Arc<Backend>) {
    let nodes = nodes(&b).await;
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let mut creates = Vec::new();
    for i in 0..10 {
        let node = nodes[i % 2].clone();
        let h = webhook(&w, &w.text, &format!("token{i}"));
        creates.push(tokio::spawn(
            async move { node.create_webhook(&h, 3).await },
        ));
    }
    let mut made = 0;
    for c in creates {
        match c.await.unwrap() {
            Ok(()) => made += 1,
            Err(StoreError::Full(Capacity::Webhooks)) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(made, 3);
    assert_eq!(s.channel_webhooks(w.text.id).await.unwrap().len(), 3);
}

pub async fn concurrent_role_creates_keep_positions_dense(b: Arc<Backend>) {
    let nodes = nodes(&b).await;
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let g = w.guild.id;
    let mut creates = Vec::new();
    for i in 0..10 {
        let node = nodes[i % 2].clone();
        let r = role(g, id(), &format!("r{i}"), 1 + (i as i32 % 3));
        creates.push(tokio::spawn(
            async move { node.create_role(g, &r, 8).await },
        ));
    }
    let mut made = 0;
    for c in creates {
        match c.await.unwrap() {
            Ok(_) => made += 1,
            Err(StoreError::Full(Capacity::Roles)) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(made, 7, "@everyone counts towards the 8");
    let mut positions: Vec<i32> = s
        .guild(g)
        .await
        .unwrap()
        .unwrap()
        .roles
        .iter()
        .filter(|r| r.id != g)
        .map(|r| r.position)
        .collect();
    positions.sort();
    assert_eq!(positions, (1..=7).collect::<Vec<_>>());
}

pub async fn a_ban_racing_a_join_never_leaves_a_banned_member(b: Arc<Backend>) {
    let nodes = nodes(&b).await;
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let g = w.guild.id;
    for round in 0..20 {
        let u = user(s, &format!("racer{round}")).await;
        let (a, bn) = (nodes[0].clone(), nodes[1].clone());
        let join = tokio::spawn(async move { a.add_member(g, u.id, &[], Timestamp(0)).await });
        let ban = tokio::spawn(async move { bn.ban(g, u.id, None, None).await });
        match join.await.unwrap() {
            Ok(_) | Err(StoreError::Banned) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
        ban.await.unwrap().expect("the ban");
        assert!(
            s.member(g, u.id).await.unwrap().is_none(),
            "round {round}: a banned user is a member"
        );
    }
}

pub async fn concurrent_edits_of_one_member_all_survive(b: Arc<Backend>) {
    let nodes = nodes(&b).await;
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let g = w.guild.id;
    let mut roles = Vec::new();
    for i in 0..8 {
        roles.push(
            s.create_role(g, &role(g, id(), &format!("r{i}"), 1), 50)
                .await
                .unwrap()
                .role
                .id,
        );
    }
    let u = user(s, "member").await;
    s.add_member(g, u.id, &[], now()).await.unwrap();
    let mut edits = Vec::new();
    for (i, r) in roles.iter().enumerate() {
        let (node, r) = (nodes[i % 2].clone(), *r);
        edits.push(tokio::spawn(async move {
            let edit = MemberEdit {
                roles: Some(RolesEdit::Add(r)),
                ..Default::default()
            };
            node.edit_member(g, u.id, &edit).await
        }));
    }
    let node = nodes[1].clone();
    edits.push(tokio::spawn(async move {
        let edit = MemberEdit {
            nick: Some(Some("nick".into())),
            ..Default::default()
        };
        node.edit_member(g, u.id, &edit).await
    }));
    for e in edits {
        e.await.unwrap().expect("an edit");
    }
    let m = s.member(g, u.id).await.unwrap().unwrap();
    let mut got = m.roles.clone();
    got.sort();
    roles.sort();
    assert_eq!(got, roles, "every grant survives");
    assert_eq!(m.nick.as_deref(), Some("nick"));
}

pub async fn concurrent_new_emoji_respect_the_limit(b: Arc<Backend>) {
    use hearth_store::{NewEmoji, ReactionKey};
    let nodes = nodes(&b).await;
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let w = world(s, owner.clone()).await;
    let m = super::fixtures::message(&w, &w.text, &owner, id(), "hot");
    s.insert_message(&m).await.unwrap();
    let emoji: Vec<&'static str> =
        ["😀", "😁", "😂", "😃", "😄", "😅", "😆", "😇", "😈", "😉"].to_vec();
    let mut adds = Vec::new();
    for (i, e) in emoji.iter().enumerate() {
        let (node, uid, mid, ch) = (nodes[i % 2].clone(), owner.id, m.id, w.text.id);
        let e: &'static str = e;
        adds.push(tokio::spawn(async move {
            let key = ReactionKey {
                channel_id: ch,
                message_id: mid,
                emoji: e,
            };
            node.add_reaction(key, uid, now(), NewEmoji::Allowed { max: 4 })
                .await
        }));
    }
    let (mut added, mut refused) = (0, 0);
    for a in adds {
        match a.await.unwrap() {
            Ok(_) => added += 1,
            Err(StoreError::Full(Capacity::Reactions)) => refused += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!((added, refused), (4, 6));
    let counts = s
        .reaction_counts(w.text.id, &[m.id], owner.id)
        .await
        .unwrap();
    assert_eq!(counts.len(), 4);
}

pub async fn concurrent_pins_respect_the_limit(b: Arc<Backend>) {
    let nodes = nodes(&b).await;
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let w = world(s, owner.clone()).await;
    let mut pins = Vec::new();
    for i in 0..10 {
        let m = super::fixtures::message(&w, &w.text, &owner, id(), &format!("p{i}"));
        s.insert_message(&m).await.unwrap();
        let (node, ch) = (nodes[i % 2].clone(), w.text.id);
        pins.push(tokio::spawn(async move {
            node.pin_message(ch, m.id, now(), 4).await
        }));
    }
    let (mut pinned, mut refused) = (0, 0);
    for p in pins {
        match p.await.unwrap() {
            Ok(Some(_)) => pinned += 1,
            Err(StoreError::Full(Capacity::Pins)) => refused += 1,
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!((pinned, refused), (4, 6));
    assert_eq!(s.pins(w.text.id, None, 50).await.unwrap().len(), 4);
}

pub async fn concurrent_opens_of_one_dm_make_one_channel(b: Arc<Backend>) {
    let nodes = nodes(&b).await;
    let s = &*b.store;
    let a = user(s, "a").await;
    let c = user(s, "c").await;
    let mut opens = Vec::new();
    for i in 0..8 {
        let (node, a, c) = (nodes[i % 2].clone(), a.id, c.id);
        opens.push(tokio::spawn(async move {
            if i % 2 == 0 {
                node.open_dm(id(), a, c).await
            } else {
                node.open_dm(id(), c, a).await
            }
        }));
    }
    let mut ids = Vec::new();
    let mut made = 0;
    for o in opens {
        let (channel, new) = o.await.unwrap().expect("an open");
        ids.push(channel.id);
        made += usize::from(new);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one DM for the pair");
    assert_eq!(made, 1);
}
