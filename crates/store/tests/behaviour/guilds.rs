use std::sync::Arc;

use hearth_model::{ChannelType, Overwrite, Permissions, Snowflake};
use hearth_store::edits::{
    ChannelEdit, GuildEdit, MemberEdit, OverwritesEdit, RoleEdit, RolesEdit,
};
use hearth_store::{Capacity, Page, StoreError};

use super::backend::Backend;
use super::fixtures::{channel, id, message, role, user, world};

pub async fn a_guild_is_created_with_its_roles_channels_and_owner(b: Arc<Backend>) {
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let w = world(s, owner.clone()).await;
    let stored = s.guild(w.guild.id).await.unwrap().expect("the guild");
    assert_eq!(stored, w.guild);
    assert_eq!(s.channels(w.guild.id).await.unwrap(), vec![w.text.clone()]);
    assert_eq!(s.channel(w.text.id).await.unwrap(), Some(w.text.clone()));
    assert_eq!(s.member_count(w.guild.id).await.unwrap(), 1);
    assert_eq!(s.guilds_of_user(owner.id).await.unwrap(), vec![w.guild.id]);
    assert!(s.member(w.guild.id, owner.id).await.unwrap().is_some());
    assert!(s.guild(Snowflake(99)).await.unwrap().is_none());
}

pub async fn guild_edits_change_named_fields_and_check_channels(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let voice = channel(w.guild.id, ChannelType::Voice, "talk");
    s.create_channel(&voice, 10).await.unwrap();
    let edited = s
        .edit_guild(
            w.guild.id,
            &GuildEdit {
                name: Some("renamed".into()),
                afk_channel_id: Some(Some(voice.id)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(edited.changed);
    let now = s.guild(w.guild.id).await.unwrap().unwrap();
    assert_eq!(now.name, "renamed");
    assert_eq!(now.afk_channel_id, Some(voice.id));
    assert_eq!(
        now.system_channel_id,
        Some(w.text.id),
        "unnamed fields stay"
    );
    // The members' default notification level, alone.
    s.edit_guild(
        w.guild.id,
        &GuildEdit {
            default_message_notifications: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let now = s.guild(w.guild.id).await.unwrap().unwrap();
    assert_eq!(now.default_message_notifications, 1);
    assert_eq!(now.name, "renamed");

    // A system channel must be a text channel of the guild.
    let wrong = s
        .edit_guild(
            w.guild.id,
            &GuildEdit {
                system_channel_id: Some(Some(voice.id)),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(wrong, Err(StoreError::Missing("channel"))),
        "{wrong:?}"
    );
    let gone = s.edit_guild(Snowflake(9), &GuildEdit::default()).await;
    assert!(
        matches!(gone, Err(StoreError::Missing("guild"))),
        "{gone:?}"
    );
}

pub async fn channels_are_limited_and_parents_must_be_categories(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let category = channel(w.guild.id, ChannelType::Category, "stuff");
    s.create_channel(&category, 3).await.unwrap();
    let mut child = channel(w.guild.id, ChannelType::Text, "child");
    child.parent_id = Some(category.id);
    s.create_channel(&child, 3).await.unwrap();
    let full = s
        .create_channel(&channel(w.guild.id, ChannelType::Text, "one-too-many"), 3)
        .await;
    assert!(
        matches!(full, Err(StoreError::Full(Capacity::Channels))),
        "{full:?}"
    );

    let mut orphan = channel(w.guild.id, ChannelType::Text, "orphan");
    orphan.parent_id = Some(w.text.id);
    let bad = s.create_channel(&orphan, 10).await;
    assert!(matches!(bad, Err(StoreError::Missing("parent"))), "{bad:?}");
    let listed = s.channels(w.guild.id).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(
        s.channel(child.id).await.unwrap().unwrap().parent_id,
        Some(category.id)
    );
}

fn role_overwrite(id: Snowflake, allow: u64) -> Overwrite {
    Overwrite {
        id,
        kind: 0,
        allow: Permissions(allow),
        deny: Permissions(0),
    }
}

pub async fn channel_edits_check_overwrites_against_roles_and_limits(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let put = |o: Overwrite| ChannelEdit {
        overwrites: Some(OverwritesEdit::Put(o)),
        ..Default::default()
    };
    let everyone = role_overwrite(w.guild.id, 0x800);
    let edited = s
        .edit_channel(w.text.id, &put(everyone.clone()), 1)
        .await
        .unwrap();
    assert!(edited.changed);
    assert_eq!(edited.now.permission_overwrites, vec![everyone.clone()]);

    let unknown = s
        .edit_channel(w.text.id, &put(role_overwrite(Snowflake(77), 1)), 10)
        .await;
    assert!(
        matches!(unknown, Err(StoreError::Missing("role"))),
        "{unknown:?}"
    );

    let r = s
        .create_role(w.guild.id, &role(w.guild.id, id(), "mods", 1), 10)
        .await
        .unwrap();
    let over = s
        .edit_channel(w.text.id, &put(role_overwrite(r.role.id, 1)), 1)
        .await;
    assert!(
        matches!(over, Err(StoreError::Full(Capacity::Overwrites))),
        "{over:?}"
    );

    let renamed = s
        .edit_channel(
            w.text.id,
            &ChannelEdit {
                name: Some("renamed".into()),
                topic: Some(Some("about".into())),
                ..Default::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        renamed.now.permission_overwrites,
        vec![everyone],
        "a rename keeps overwrites"
    );
    assert_eq!(s.channel(w.text.id).await.unwrap(), Some(renamed.now));
    let gone = s
        .edit_channel(Snowflake(5), &ChannelEdit::default(), 10)
        .await;
    assert!(
        matches!(gone, Err(StoreError::Missing("channel"))),
        "{gone:?}"
    );
}

pub async fn deleting_a_channel_takes_its_messages_and_frees_its_children(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let category = channel(w.guild.id, ChannelType::Category, "cat");
    s.create_channel(&category, 10).await.unwrap();
    let mut child = channel(w.guild.id, ChannelType::Text, "child");
    child.parent_id = Some(category.id);
    s.create_channel(&child, 10).await.unwrap();
    let m = message(&w, &w.text, &w.owner, id(), "hello");
    s.insert_message(&m).await.unwrap();

    s.delete_channel(category.id).await.unwrap();
    assert_eq!(s.channel(child.id).await.unwrap().unwrap().parent_id, None);
    s.delete_channel(w.text.id).await.unwrap();
    assert!(s.channel(w.text.id).await.unwrap().is_none());
    assert!(s.message(w.text.id, m.id).await.unwrap().is_none());
    assert!(s
        .messages(w.text.id, Page::Latest, 50)
        .await
        .unwrap()
        .is_empty());
    let g = s.guild(w.guild.id).await.unwrap().unwrap();
    assert_eq!(
        g.system_channel_id, None,
        "the guild forgets its system channel"
    );
}

/// Positions of the guild's roles other than @everyone, in rank order.
async fn positions(s: &dyn hearth_store::Store, guild: Snowflake) -> Vec<(Snowflake, i32)> {
    let mut roles: Vec<_> = s
        .guild(guild)
        .await
        .unwrap()
        .unwrap()
        .roles
        .into_iter()
        .filter(|r| r.id != guild)
        .map(|r| (r.id, r.position))
        .collect();
    roles.sort_by_key(|&(_, p)| p);
    roles
}

pub async fn role_positions_stay_dense_through_creates_moves_and_edits(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let g = w.guild.id;
    let a = s
        .create_role(g, &role(g, id(), "a", 1), 4)
        .await
        .unwrap()
        .role;
    let bb = s.create_role(g, &role(g, id(), "b", 1), 4).await.unwrap();
    assert_eq!(bb.role.position, 1, "entered at the asked position");
    assert_eq!(
        bb.moved.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![a.id]
    );
    let c = s
        .create_role(g, &role(g, id(), "c", 1000), 4)
        .await
        .unwrap()
        .role;
    assert_eq!(c.position, 3, "a huge position is clamped to the top");
    assert_eq!(
        positions(s, g).await,
        vec![(bb.role.id, 1), (a.id, 2), (c.id, 3)]
    );
    let full = s.create_role(g, &role(g, id(), "d", 1), 4).await;
    assert!(
        matches!(full, Err(StoreError::Full(Capacity::Roles))),
        "{full:?}"
    );

    let moved = s.move_roles(g, &[(c.id, 1)]).await.unwrap();
    assert_eq!(moved.len(), 3);
    assert_eq!(
        positions(s, g).await,
        vec![(c.id, 1), (bb.role.id, 2), (a.id, 3)]
    );

    let edited = s
        .edit_role(
            g,
            a.id,
            &RoleEdit {
                name: Some("alpha".into()),
                position: Some(-5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.role.name, "alpha");
    assert_eq!(edited.role.position, 1);
    assert_eq!(
        positions(s, g).await,
        vec![(a.id, 1), (c.id, 2), (bb.role.id, 3)]
    );
    let gone = s.edit_role(g, Snowflake(4), &RoleEdit::default()).await;
    assert!(matches!(gone, Err(StoreError::Missing("role"))), "{gone:?}");
}

pub async fn deleting_a_role_takes_it_from_members_and_overwrites(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let g = w.guild.id;
    let keep = s
        .create_role(g, &role(g, id(), "keep", 1), 10)
        .await
        .unwrap()
        .role;
    let doomed = s
        .create_role(g, &role(g, id(), "doomed", 1), 10)
        .await
        .unwrap()
        .role;
    s.edit_member(
        g,
        w.owner.id,
        &MemberEdit {
            roles: Some(RolesEdit::Set(vec![keep.id, doomed.id])),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    s.edit_channel(
        w.text.id,
        &ChannelEdit {
            overwrites: Some(OverwritesEdit::Set(vec![
                role_overwrite(doomed.id, 1),
                role_overwrite(keep.id, 2),
            ])),
            ..Default::default()
        },
        10,
    )
    .await
    .unwrap();

    assert!(s.delete_role(g, doomed.id).await.unwrap());
    assert!(
        !s.delete_role(g, doomed.id).await.unwrap(),
        "only the first delete counts"
    );
    let member = s.member(g, w.owner.id).await.unwrap().unwrap();
    assert_eq!(member.roles, vec![keep.id]);
    let c = s.channel(w.text.id).await.unwrap().unwrap();
    assert_eq!(c.permission_overwrites, vec![role_overwrite(keep.id, 2)]);
    assert_eq!(positions(s, g).await.len(), 1);
}

pub async fn deleting_a_guild_removes_everything_in_it(b: Arc<Backend>) {
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let w = world(s, owner.clone()).await;
    let m = message(&w, &w.text, &owner, id(), "hi");
    s.insert_message(&m).await.unwrap();
    s.delete_guild(w.guild.id).await.unwrap();
    assert!(s.guild(w.guild.id).await.unwrap().is_none());
    assert!(s.channels(w.guild.id).await.unwrap().is_empty());
    assert!(s.guilds_of_user(owner.id).await.unwrap().is_empty());
    assert!(s.message(w.text.id, m.id).await.unwrap().is_none());
    assert_eq!(s.member_count(w.guild.id).await.unwrap(), 0);
}
