use std::sync::Arc;

use hearth_store::StoreError;

use super::backend::Backend;
use super::fixtures::user;

pub async fn data_survives_reopening(b: Arc<Backend>) {
    let ada = user(&*b.store, "ada").await;
    let again = b.reopen().await.expect("reopening");
    assert_eq!(again.user(ada.id).await.unwrap(), Some(ada));
}

pub async fn a_database_newer_than_the_binary_is_refused(b: Arc<Backend>) {
    let known = b.schema_version(&b.target).await;
    assert!(known >= 1);
    b.set_schema_version(&b.target, known + 1).await;
    match b.reopen().await {
        Err(StoreError::SchemaTooNew { found, known: k }) => {
            assert_eq!(found, known + 1);
            assert_eq!(k, known);
        }
        Err(other) => panic!("wanted SchemaTooNew, got {other}"),
        Ok(_) => panic!("a newer schema was opened"),
    }
    // The version is left as it was: nothing was migrated down.
    assert_eq!(b.schema_version(&b.target).await, known + 1);
    let err = StoreError::SchemaTooNew { found: 9, known: 2 }.to_string();
    assert!(err.contains('9') && err.contains('2'), "{err}");
}

pub async fn an_older_schema_is_migrated_forward(b: Arc<Backend>) {
    let known = b.schema_version(&b.target).await;
    let fresh = b.spare().await;
    let store = b.open_at(&fresh).await.expect("opening an empty database");
    assert_eq!(b.schema_version(&fresh).await, known);
    user(&*store, "ada").await;
}

pub async fn nodes_starting_together_migrate_once(b: Arc<Backend>) {
    let known = b.schema_version(&b.target).await;
    let fresh = b.spare().await;
    let mut starts = Vec::new();
    for _ in 0..4 {
        let (b, fresh) = (b.clone(), fresh.clone());
        starts.push(tokio::spawn(
            async move { b.open_at(&fresh).await.map(|_| ()) },
        ));
    }
    for s in starts {
        s.await
            .expect("a start")
            .expect("every node opens the store");
    }
    assert_eq!(b.schema_version(&fresh).await, known);
    let store = b.open_at(&fresh).await.unwrap();
    user(&*store, "ada").await;
}
