use std::sync::Arc;

use hearth_model::{PrivateChannel, PrivateChannelType};
use hearth_store::{Capacity, StoreError};

use super::backend::Backend;
use super::fixtures::{id, message, user, world};

pub async fn a_pair_has_one_dm_that_closes_and_reopens(b: Arc<Backend>) {
    let s = &*b.store;
    let a = user(s, "a").await;
    let c = user(s, "c").await;
    let w = world(s, a.clone()).await;
    let (dm, made) = s.open_dm(id(), a.id, c.id).await.unwrap();
    assert!(made);
    assert_eq!(dm.kind, PrivateChannelType::Dm);
    let (again, made) = s.open_dm(id(), c.id, a.id).await.unwrap();
    assert!(!made);
    assert_eq!(again.id, dm.id);
    assert_eq!(again.recipients.len(), 2);
    // Open for the opener only until a message comes.
    assert_eq!(s.private_channels_of(a.id).await.unwrap().len(), 1);
    s.close_dm(dm.id, a.id).await.unwrap();
    assert!(s.private_channels_of(a.id).await.unwrap().is_empty());
    let mut m = message(&w, &w.text, &a, id(), "hi");
    m.channel_id = dm.id;
    m.guild_id = None;
    s.insert_message(&m).await.unwrap();
    for u in [a.id, c.id] {
        let list = s.private_channels_of(u).await.unwrap();
        assert_eq!(list.len(), 1, "reopened for everyone");
        assert_eq!(list[0].last_message_id, Some(m.id));
    }
    assert!(s.share_a_guild(a.id, a.id).await.unwrap());
    assert!(!s.share_a_guild(a.id, c.id).await.unwrap());
}

pub async fn a_group_dm_keeps_its_limit_owner_and_goes_with_its_last_member(b: Arc<Backend>) {
    let s = &*b.store;
    let mut people = Vec::new();
    for i in 0..4 {
        people.push(user(s, &format!("p{i}")).await);
    }
    let group = PrivateChannel {
        id: id(),
        kind: PrivateChannelType::GroupDm,
        last_message_id: None,
        recipients: people[..2].to_vec(),
        name: Some("g".into()),
        icon: None,
        owner_id: Some(people[0].id),
        flags: 0,
    };
    s.create_group_dm(&group).await.unwrap();
    assert!(s.add_recipient(group.id, people[2].id, 3).await.unwrap());
    assert!(!s.add_recipient(group.id, people[2].id, 3).await.unwrap());
    assert!(matches!(
        s.add_recipient(group.id, people[3].id, 3).await,
        Err(StoreError::Full(Capacity::Recipients))
    ));
    s.rename_group_dm(group.id, Some("renamed")).await.unwrap();
    for p in &people[..2] {
        s.ack(p.id, group.id, id()).await.unwrap();
    }
    let after = s
        .remove_recipient(group.id, people[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.name.as_deref(), Some("renamed"));
    assert_eq!(after.recipients.len(), 2);
    assert!(after.owner_id.is_some_and(|o| o != people[0].id));
    // Who leaves keeps no read state of it; who stays keeps theirs.
    assert!(s.read_states(people[0].id, 100).await.unwrap().is_empty());
    assert_eq!(s.read_states(people[1].id, 100).await.unwrap().len(), 1);
    assert!(matches!(
        s.remove_recipient(group.id, people[0].id).await,
        Err(StoreError::Missing(_))
    ));
    s.remove_recipient(group.id, people[1].id).await.unwrap();
    let gone = s.remove_recipient(group.id, people[2].id).await.unwrap();
    assert!(gone.is_none());
    assert!(s.private_channel(group.id).await.unwrap().is_none());
}

pub async fn a_block_works_both_ways_is_limited_and_lifts(b: Arc<Backend>) {
    let s = &*b.store;
    let a = user(s, "a").await;
    let c = user(s, "c").await;
    let d = user(s, "d").await;
    let since = hearth_model::Timestamp(1_700_000_000_000);
    assert!(!s.blocked_between(a.id, c.id).await.unwrap());
    assert!(s.block(a.id, c.id, since, 2).await.unwrap());
    assert!(!s.block(a.id, c.id, since, 2).await.unwrap(), "once");
    // Either side asks: the block holds both ways.
    assert!(s.blocked_between(a.id, c.id).await.unwrap());
    assert!(s.blocked_between(c.id, a.id).await.unwrap());
    assert!(!s.blocked_between(c.id, d.id).await.unwrap());
    assert!(s.block(a.id, d.id, since, 2).await.unwrap());
    let e = user(s, "e").await;
    assert!(matches!(
        s.block(a.id, e.id, since, 2).await,
        Err(StoreError::Full(Capacity::Blocks))
    ));
    let listed = s.blocked_by(a.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|(_, t)| *t == since));
    assert!(
        s.blocked_by(c.id).await.unwrap().is_empty(),
        "c blocks nobody"
    );
    assert!(s.unblock(a.id, c.id).await.unwrap());
    assert!(!s.unblock(a.id, c.id).await.unwrap());
    assert!(!s.blocked_between(c.id, a.id).await.unwrap());
}
