use std::sync::Arc;

use hearth_model::Timestamp;
use hearth_store::{Capacity, StoreError};

use super::backend::Backend;
use super::fixtures::{id, message, user, world};

pub async fn pins_are_listed_by_pin_time_and_go_with_their_message(b: Arc<Backend>) {
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let w = world(s, owner.clone()).await;
    let ch = w.text.id;
    let ms: Vec<_> = (0..3)
        .map(|i| message(&w, &w.text, &owner, id(), &format!("m{i}")))
        .collect();
    for m in &ms {
        s.insert_message(m).await.unwrap();
    }
    assert_eq!(s.last_pin_at(ch).await.unwrap(), None);

    // Pinned in one millisecond, the times still come out distinct and
    // in order.
    let at = Timestamp(1_800_000_000_000);
    let mut times = Vec::new();
    for m in [&ms[1], &ms[0], &ms[2]] {
        times.push(s.pin_message(ch, m.id, at, 3).await.unwrap().unwrap());
    }
    assert!(times.windows(2).all(|t| t[0] < t[1]), "{times:?}");
    assert_eq!(s.pin_message(ch, ms[0].id, at, 3).await.unwrap(), None);
    assert!(matches!(
        s.pin_message(ch, id(), at, 10).await,
        Err(StoreError::Missing("message"))
    ));

    let listed = s.pins(ch, None, 10).await.unwrap();
    let order: Vec<_> = listed.iter().map(|p| p.message.id).collect();
    assert_eq!(order, vec![ms[2].id, ms[0].id, ms[1].id]);
    assert!(listed.iter().all(|p| p.message.pinned));
    assert_eq!(listed[0].pinned_at, times[2]);
    let older = s.pins(ch, Some(times[2]), 1).await.unwrap();
    assert_eq!(older[0].message.id, ms[0].id);
    assert!(s.message(ch, ms[1].id).await.unwrap().unwrap().pinned);

    // Full: a fourth message cannot be pinned, and nothing changes.
    let extra = message(&w, &w.text, &owner, id(), "extra");
    s.insert_message(&extra).await.unwrap();
    assert!(matches!(
        s.pin_message(ch, extra.id, at, 3).await,
        Err(StoreError::Full(Capacity::Pins))
    ));
    assert!(!s.message(ch, extra.id).await.unwrap().unwrap().pinned);

    // Unpinning clears the flag; the newest remaining pin is the last.
    assert!(s.unpin_message(ch, ms[2].id).await.unwrap());
    assert!(!s.unpin_message(ch, ms[2].id).await.unwrap());
    assert!(!s.message(ch, ms[2].id).await.unwrap().unwrap().pinned);
    assert_eq!(s.last_pin_at(ch).await.unwrap(), Some(times[1]));

    // A deleted message takes its pin with it.
    s.delete_message(ch, ms[0].id).await.unwrap();
    let left: Vec<_> = s
        .pins(ch, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.message.id)
        .collect();
    assert_eq!(left, vec![ms[1].id]);
}
