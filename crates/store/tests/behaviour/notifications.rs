use std::sync::Arc;

use hearth_model::{DmPrivacy, GuildSettingsPatch, NotifyLevel, UserGuildSettings};

use super::backend::Backend;
use super::fixtures::{id, now, user, world};

fn patch(json: &str) -> GuildSettingsPatch {
    serde_json::from_str(json).expect("a patch")
}

pub async fn notification_settings_change_only_what_is_named_even_at_once(b: Arc<Backend>) {
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let member = user(s, "member").await;
    let w = world(s, owner.clone()).await;
    s.add_member(w.guild.id, member.id, &[], now())
        .await
        .unwrap();
    let channels = [w.text.id];
    let defaults = UserGuildSettings::defaults(w.guild.id, NotifyLevel::OnlyMentions);
    assert!(s.guild_settings_of(member.id).await.unwrap().is_empty());

    let first = s
        .update_guild_settings(
            member.id,
            defaults.clone(),
            &patch(r#"{"muted": true}"#),
            &channels,
        )
        .await
        .unwrap();
    assert!(first.muted);
    assert_eq!(first.message_notifications, NotifyLevel::OnlyMentions);
    assert_eq!(first.version, 1);

    // Many changes at once, each to its own field or channel: all stay.
    let mut tasks = Vec::new();
    for body in [
        r#"{"message_notifications": 2}"#.to_owned(),
        r#"{"suppress_everyone": true}"#.to_owned(),
        format!(
            r#"{{"channel_overrides": {{"{}": {{"muted": true}}}}}}"#,
            w.text.id
        ),
        r#"{"hide_muted_channels": true}"#.to_owned(),
    ] {
        let (store, defaults) = (b.store.clone(), defaults.clone());
        let user_id = member.id;
        tasks.push(tokio::spawn(async move {
            store
                .update_guild_settings(user_id, defaults, &patch(&body), &channels)
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let all = s.guild_settings_of(member.id).await.unwrap();
    assert_eq!(all.len(), 1);
    let now_ = &all[0];
    assert!(now_.muted && now_.suppress_everyone && now_.hide_muted_channels);
    assert_eq!(now_.message_notifications, NotifyLevel::NoMessages);
    assert_eq!(now_.channel_overrides.len(), 1);
    assert!(now_.channel_overrides[0].muted);
    assert_eq!(now_.version, 5);
    assert!(s.guild_settings_of(owner.id).await.unwrap().is_empty());

    // Leaving the guild takes them along, and no change makes them again;
    // the guild's deletion takes everyone's.
    s.remove_member(w.guild.id, member.id).await.unwrap();
    assert!(s.guild_settings_of(member.id).await.unwrap().is_empty());
    assert!(matches!(
        s.update_guild_settings(
            member.id,
            defaults.clone(),
            &patch(r#"{"muted": true}"#),
            &channels
        )
        .await,
        Err(hearth_store::StoreError::Missing("member"))
    ));
    assert!(s.guild_settings_of(member.id).await.unwrap().is_empty());
    s.update_guild_settings(
        owner.id,
        defaults.clone(),
        &patch(r#"{"muted": true}"#),
        &channels,
    )
    .await
    .unwrap();
    s.delete_guild(w.guild.id).await.unwrap();
    assert!(s.guild_settings_of(owner.id).await.unwrap().is_empty());
}

pub async fn a_member_who_refuses_dms_from_a_guild_is_reached_only_through_another(
    b: Arc<Backend>,
) {
    let s = &*b.store;
    let ada = user(s, "ada").await;
    let bob = user(s, "bob").await;
    let first = world(s, ada.clone()).await;
    let second = world(s, ada.clone()).await;
    for w in [&first, &second] {
        s.add_member(w.guild.id, bob.id, &[], now()).await.unwrap();
    }
    assert!(s.share_a_guild(ada.id, bob.id).await.unwrap());
    assert_eq!(s.dm_privacy(bob.id).await.unwrap(), DmPrivacy::default());

    // One guild refused: the other still reaches him.
    let one = s
        .set_dm_privacy(bob.id, Some(&[first.guild.id]), None)
        .await
        .unwrap();
    assert_eq!(one.restricted_guilds, vec![first.guild.id]);
    assert!(s.share_a_guild(ada.id, bob.id).await.unwrap());
    // Both refused: nobody there may; he may still write to her.
    s.set_dm_privacy(bob.id, Some(&[first.guild.id, second.guild.id, id()]), None)
        .await
        .unwrap();
    assert!(!s.share_a_guild(ada.id, bob.id).await.unwrap());
    assert!(s.share_a_guild(bob.id, ada.id).await.unwrap());
    assert_eq!(
        s.dm_privacy(bob.id).await.unwrap().restricted_guilds.len(),
        2
    );

    // Guilds joined while "restricted by default" start refused.
    let third = world(s, ada.clone()).await;
    let cy = user(s, "cy").await;
    s.set_dm_privacy(cy.id, None, Some(true)).await.unwrap();
    s.add_member(third.guild.id, cy.id, &[], now())
        .await
        .unwrap();
    assert!(!s.share_a_guild(ada.id, cy.id).await.unwrap());
    let privacy = s.dm_privacy(cy.id).await.unwrap();
    assert!(privacy.default_guilds_restricted);
    assert_eq!(privacy.restricted_guilds, vec![third.guild.id]);
    s.set_dm_privacy(cy.id, Some(&[]), None).await.unwrap();
    assert!(s.share_a_guild(ada.id, cy.id).await.unwrap());
}
