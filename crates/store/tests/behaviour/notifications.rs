use std::sync::Arc;

use hearth_model::{GuildSettingsPatch, NotifyLevel, UserGuildSettings};

use super::backend::Backend;
use super::fixtures::{now, user, world};

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

    // Leaving the guild takes them along; so does the guild's deletion.
    s.remove_member(w.guild.id, member.id).await.unwrap();
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
