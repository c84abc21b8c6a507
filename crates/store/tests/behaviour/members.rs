use std::sync::Arc;

use hearth_model::{Invite, Snowflake, Timestamp};
use hearth_store::edits::{MemberEdit, RolesEdit};
use hearth_store::{Capacity, StoreError};

use super::backend::Backend;
use super::fixtures::{id, id_at, invite, message, now, role, user, world};

pub async fn members_join_once_and_are_listed_in_pages(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let g = w.guild.id;
    let mut joined = vec![w.owner.id];
    for i in 0..5 {
        let u = user(s, &format!("member{i}")).await;
        assert!(s.add_member(g, u.id, &[], Timestamp(i)).await.unwrap());
        assert!(
            !s.add_member(g, u.id, &[], Timestamp(i)).await.unwrap(),
            "already a member"
        );
        joined.push(u.id);
    }
    joined.sort();
    assert_eq!(s.member_count(g).await.unwrap(), 6);
    let first: Vec<Snowflake> = s
        .members(g, Snowflake(0), 4)
        .await
        .unwrap()
        .iter()
        .map(|m| m.user.id)
        .collect();
    assert_eq!(first, joined[..4]);
    let rest: Vec<Snowflake> = s
        .members(g, first[3], 4)
        .await
        .unwrap()
        .iter()
        .map(|m| m.user.id)
        .collect();
    assert_eq!(rest, joined[4..]);

    assert!(s.remove_member(g, joined[1]).await.unwrap());
    assert!(!s.remove_member(g, joined[1]).await.unwrap());
    assert!(s.member(g, joined[1]).await.unwrap().is_none());
    assert_eq!(s.member_count(g).await.unwrap(), 5);
}

pub async fn member_search_is_by_prefix_case_insensitive_and_literal(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let g = w.guild.id;
    for name in ["Alice", "alfred", "bob", "al_x", "al%y"] {
        let u = user(s, name).await;
        s.add_member(g, u.id, &[], now()).await.unwrap();
    }
    let bob = s.credentials("bob").await.unwrap().unwrap().user;
    s.edit_member(
        g,
        bob.id,
        &MemberEdit {
            nick: Some(Some("Alpha Bob".into())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let names = |found: Vec<hearth_model::Member>| {
        let mut n: Vec<String> = found.into_iter().map(|m| m.user.username).collect();
        n.sort();
        n
    };
    assert_eq!(
        names(s.search_members(g, "AL", 10).await.unwrap()),
        vec!["Alice", "al%y", "al_x", "alfred", "bob"]
    );
    assert_eq!(
        names(s.search_members(g, "al_", 10).await.unwrap()),
        vec!["al_x"]
    );
    assert_eq!(
        names(s.search_members(g, "al%", 10).await.unwrap()),
        vec!["al%y"]
    );
    assert_eq!(s.search_members(g, "a", 2).await.unwrap().len(), 2);
}

pub async fn member_edits_change_named_fields_and_drop_unknown_roles(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let g = w.guild.id;
    let r = s
        .create_role(g, &role(g, id(), "r", 1), 10)
        .await
        .unwrap()
        .role;
    let u = user(s, "member").await;
    s.add_member(g, u.id, &[], now()).await.unwrap();
    let edited = s
        .edit_member(
            g,
            u.id,
            &MemberEdit {
                nick: Some(Some("nick".into())),
                roles: Some(RolesEdit::Set(vec![r.id, Snowflake(12345)])),
                communication_disabled_until: Some(Some(Timestamp(5000))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(edited.changed);
    assert_eq!(
        edited.now.roles,
        vec![r.id],
        "a role not of the guild is dropped"
    );
    let muted = s
        .edit_member(
            g,
            u.id,
            &MemberEdit {
                mute: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let stored = s.member(g, u.id).await.unwrap().unwrap();
    assert_eq!(stored, muted.now);
    assert_eq!(stored.nick.as_deref(), Some("nick"), "unnamed fields stay");
    assert_eq!(stored.roles, vec![r.id]);
    assert_eq!(stored.communication_disabled_until, Some(Timestamp(5000)));
    assert!(stored.mute);
    let same = s
        .edit_member(
            g,
            u.id,
            &MemberEdit {
                roles: Some(RolesEdit::Add(r.id)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!same.changed);
    let gone = s.edit_member(g, Snowflake(3), &MemberEdit::default()).await;
    assert!(
        matches!(gone, Err(StoreError::Missing("member"))),
        "{gone:?}"
    );
}

pub async fn a_ban_removes_the_member_and_their_recent_messages(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let g = w.guild.id;
    let troll = user(s, "troll").await;
    s.add_member(g, troll.id, &[], now()).await.unwrap();
    let t0 = 1_700_000_000_000u64;
    let old = message(&w, &w.text, &troll, id_at(t0), "old");
    let recent = message(&w, &w.text, &troll, id_at(t0 + 60_000), "recent");
    let other = message(&w, &w.text, &w.owner, id_at(t0 + 61_000), "owner's");
    for m in [&old, &recent, &other] {
        s.insert_message(m).await.unwrap();
    }
    let deleted = s
        .ban(g, troll.id, Some("spam"), Some(id_at(t0 + 30_000)))
        .await
        .unwrap();
    assert_eq!(deleted, vec![(w.text.id, recent.id)]);
    assert!(s.member(g, troll.id).await.unwrap().is_none());
    assert!(s.message(w.text.id, old.id).await.unwrap().is_some());
    assert!(s.message(w.text.id, other.id).await.unwrap().is_some());
    let ban = s.ban_of(g, troll.id).await.unwrap().expect("the ban");
    assert_eq!(ban.reason.as_deref(), Some("spam"));
    assert_eq!(ban.user.id, troll.id);
    assert_eq!(s.bans(g).await.unwrap().len(), 1);
    // Banning again replaces the reason.
    s.ban(g, troll.id, Some("again"), None).await.unwrap();
    assert_eq!(
        s.ban_of(g, troll.id)
            .await
            .unwrap()
            .unwrap()
            .reason
            .as_deref(),
        Some("again")
    );

    let join = s.add_member(g, troll.id, &[], now()).await;
    assert!(matches!(join, Err(StoreError::Banned)), "{join:?}");
    assert!(s.unban(g, troll.id).await.unwrap());
    assert!(!s.unban(g, troll.id).await.unwrap());
    assert!(s.add_member(g, troll.id, &[], now()).await.unwrap());
}

pub async fn invites_count_their_uses_and_expire(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let g = w.guild.id;
    let created = Timestamp(1_000_000);
    s.create_invite(&invite(&w, "twice", 2, 0, created), 1000)
        .await
        .unwrap();
    let dup = s
        .create_invite(&invite(&w, "twice", 2, 0, created), 1000)
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let stored = s.invite("twice").await.unwrap().expect("the invite");
    assert_eq!(stored.inviter.map(|u| u.id), Some(w.owner.id));
    assert_eq!(stored.guild.name, w.guild.name);

    let a = user(s, "a").await;
    let used = s
        .use_invite("twice", a.id, Timestamp(1_000_001))
        .await
        .unwrap();
    assert!(used.joined);
    assert_eq!(used.invite.uses, 1);
    let again = s
        .use_invite("twice", a.id, Timestamp(1_000_002))
        .await
        .unwrap();
    assert!(!again.joined, "a member does not use it up");
    assert_eq!(s.invite("twice").await.unwrap().unwrap().uses, 1);
    let bb = user(s, "b").await;
    assert!(
        s.use_invite("twice", bb.id, Timestamp(1_000_003))
            .await
            .unwrap()
            .joined
    );
    assert!(s.invite("twice").await.unwrap().is_none(), "used up: gone");
    let c = user(s, "c").await;
    let gone = s.use_invite("twice", c.id, Timestamp(1_000_004)).await;
    assert!(
        matches!(gone, Err(StoreError::Missing("invite"))),
        "{gone:?}"
    );

    // One that expires after 60 s.
    s.create_invite(&invite(&w, "brief", 0, 60, created), 1000)
        .await
        .unwrap();
    let late = s
        .use_invite("brief", c.id, Timestamp(created.0 + 61_000))
        .await;
    assert!(
        matches!(late, Err(StoreError::Missing("invite"))),
        "{late:?}"
    );
    s.ban(g, c.id, None, None).await.unwrap();
    let banned = s
        .use_invite("brief", c.id, Timestamp(created.0 + 1_000))
        .await;
    assert!(matches!(banned, Err(StoreError::Banned)), "{banned:?}");
    assert_eq!(s.member_count(g).await.unwrap(), 3);
}

pub async fn invites_are_listed_held_to_a_limit_and_deleted(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let g = w.guild.id;
    let created = Timestamp(2_000_000);
    s.create_invite(&invite(&w, "lasting", 0, 0, created), 3)
        .await
        .unwrap();
    s.create_invite(&invite(&w, "brief", 0, 60, Timestamp(created.0 + 1)), 3)
        .await
        .unwrap();
    let codes = |list: Vec<Invite>| list.into_iter().map(|i| i.code).collect::<Vec<_>>();
    let listed = s.guild_invites(g, Timestamp(created.0 + 2)).await.unwrap();
    assert_eq!(listed[0].inviter.as_ref().map(|u| u.id), Some(w.owner.id));
    assert_eq!(codes(listed), ["lasting", "brief"]);
    let later = Timestamp(created.0 + 61_001);
    assert_eq!(codes(s.guild_invites(g, later).await.unwrap()), ["lasting"]);

    // The expired one no longer counts against the limit; a live one does.
    s.create_invite(&invite(&w, "third", 0, 0, later), 2)
        .await
        .unwrap();
    let full = s.create_invite(&invite(&w, "fourth", 0, 0, later), 2).await;
    assert!(
        matches!(full, Err(StoreError::Full(Capacity::Invites))),
        "{full:?}"
    );
    assert!(s.invite("fourth").await.unwrap().is_none());

    let gone = s.delete_invite("lasting").await.unwrap().expect("deleted");
    assert_eq!(gone.channel.id, w.text.id);
    assert!(s.delete_invite("lasting").await.unwrap().is_none());
    assert_eq!(codes(s.guild_invites(g, later).await.unwrap()), ["third"]);
    // Other guilds' invites are theirs.
    let other = world(s, user(s, "other").await).await;
    assert!(s
        .guild_invites(other.guild.id, later)
        .await
        .unwrap()
        .is_empty());
}
