use std::sync::Arc;

use hearth_model::{ChannelType, Snowflake};
use hearth_store::{Capacity, StoreError};

use super::backend::Backend;
use super::fixtures::{channel, user, webhook, world};

pub async fn webhooks_are_found_by_their_token_and_limited_per_channel(b: Arc<Backend>) {
    let s = &*b.store;
    let w = world(s, user(s, "owner").await).await;
    let hook = webhook(&w, &w.text, "secret-token");
    s.create_webhook(&hook, 2).await.unwrap();
    let stored = s.webhook(hook.id).await.unwrap().expect("the webhook");
    assert_eq!(stored.token, None, "the token is never returned");
    assert_eq!(stored.user.map(|u| u.id), Some(w.owner.id));
    assert_eq!(stored.name.as_deref(), Some("hook"));
    assert!(s
        .webhook_with_token(hook.id, "secret-token")
        .await
        .unwrap()
        .is_some());
    assert!(s
        .webhook_with_token(hook.id, "secret-tokeN")
        .await
        .unwrap()
        .is_none());
    assert!(s
        .webhook_with_token(Snowflake(8), "secret-token")
        .await
        .unwrap()
        .is_none());

    s.create_webhook(&webhook(&w, &w.text, "t2"), 2)
        .await
        .unwrap();
    let full = s.create_webhook(&webhook(&w, &w.text, "t3"), 2).await;
    assert!(
        matches!(full, Err(StoreError::Full(Capacity::Webhooks))),
        "{full:?}"
    );
    // The limit is per channel.
    let other = channel(w.guild.id, ChannelType::Text, "other");
    s.create_channel(&other, 10).await.unwrap();
    s.create_webhook(&webhook(&w, &other, "t4"), 2)
        .await
        .unwrap();
    assert_eq!(s.channel_webhooks(w.text.id).await.unwrap().len(), 2);

    assert!(s.delete_webhook(hook.id).await.unwrap());
    assert!(!s.delete_webhook(hook.id).await.unwrap());
    assert!(s.webhook(hook.id).await.unwrap().is_none());
    // Deleting the channel takes its webhooks.
    s.delete_channel(other.id).await.unwrap();
    assert!(s.channel_webhooks(other.id).await.unwrap().is_empty());
}
