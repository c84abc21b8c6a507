use std::sync::Arc;

use hearth_model::{Application, Snowflake, Timestamp, User};
use hearth_store::edits::ApplicationEdit;
use hearth_store::{token_hash, NewUser, StoreError};

use super::backend::Backend;
use super::fixtures::{id, user};

pub async fn users_are_found_by_id_name_and_token(b: Arc<Backend>) {
    let s = &*b.store;
    let ada = user(s, "ada").await;
    assert_eq!(s.user(ada.id).await.unwrap(), Some(ada.clone()));
    let creds = s.credentials("ada").await.unwrap().expect("credentials");
    assert_eq!(creds.user, ada);
    assert_eq!(creds.password_hash.as_deref(), Some("argon2-hash"));
    assert!(s.credentials("nobody").await.unwrap().is_none());
    assert!(s.user(Snowflake(42)).await.unwrap().is_none());

    let hash = token_hash("token-1");
    s.insert_token(&hash, ada.id, Timestamp(1000))
        .await
        .unwrap();
    assert_eq!(s.token_user(&hash).await.unwrap(), Some(ada.clone()));
    s.delete_token(&hash).await.unwrap();
    assert_eq!(s.token_user(&hash).await.unwrap(), None);

    let renamed = User {
        username: "ada2".into(),
        avatar: Some("abc".into()),
        global_name: None,
        ..ada.clone()
    };
    s.update_user(&renamed).await.unwrap();
    assert_eq!(s.user(ada.id).await.unwrap(), Some(renamed));
}

pub async fn usernames_are_unique(b: Arc<Backend>) {
    let s = &*b.store;
    let ada = user(s, "ada").await;
    let again = s
        .create_user(NewUser {
            id: id(),
            username: "ada".into(),
            global_name: None,
            password_hash: None,
            bot: false,
        })
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict("username"))),
        "{again:?}"
    );
    let bob = user(s, "bob").await;
    let taken = s
        .update_user(&User {
            username: ada.username.clone(),
            ..bob
        })
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict("username"))),
        "{taken:?}"
    );
}

pub async fn tokens_are_replaced_and_revoked_together(b: Arc<Backend>) {
    let s = &*b.store;
    let ada = user(s, "ada").await;
    for (i, t) in ["a", "b", "c"].iter().enumerate() {
        s.insert_token(&token_hash(t), ada.id, Timestamp(i as i64))
            .await
            .unwrap();
    }
    let listed = s.tokens_of(ada.id).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].hash, token_hash("a").to_vec(), "oldest first");

    let kept = token_hash("b");
    assert_eq!(s.revoke_tokens(ada.id, Some(&kept)).await.unwrap(), 2);
    assert_eq!(s.tokens_of(ada.id).await.unwrap().len(), 1);
    assert_eq!(
        s.token_user(&kept).await.unwrap().map(|u| u.id),
        Some(ada.id)
    );

    s.replace_tokens(ada.id, &token_hash("d"), Timestamp(9))
        .await
        .unwrap();
    assert_eq!(s.token_user(&kept).await.unwrap(), None);
    assert!(s.token_user(&token_hash("d")).await.unwrap().is_some());

    let revoked = s
        .set_password(ada.id, "new-hash", Some((&token_hash("e"), Timestamp(10))))
        .await
        .unwrap();
    assert_eq!(revoked, 1);
    let tokens = s.tokens_of(ada.id).await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].hash, token_hash("e").to_vec());
    assert_eq!(tokens[0].created_at, Timestamp(10));
    let creds = s.credentials("ada").await.unwrap().unwrap();
    assert_eq!(creds.password_hash.as_deref(), Some("new-hash"));

    assert_eq!(s.revoke_tokens(ada.id, None).await.unwrap(), 1);
    let missing = s.set_password(Snowflake(7), "x", None).await;
    assert!(
        matches!(missing, Err(StoreError::Missing("user"))),
        "{missing:?}"
    );
}

pub async fn applications_come_with_their_bot_and_edits_name_fields(b: Arc<Backend>) {
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let app_id = id();
    let app = Application {
        id: app_id,
        name: "robot".into(),
        description: "beeps".into(),
        icon: None,
        bot_public: true,
        bot_require_code_grant: false,
        flags: 0,
        owner: owner.clone(),
        bot: User {
            id: app_id,
            username: "robot-bot".into(),
            discriminator: "0".into(),
            global_name: None,
            avatar: None,
            bot: true,
        },
    };
    s.create_application(&app).await.unwrap();
    assert_eq!(s.application(app_id).await.unwrap(), Some(app.clone()));
    assert!(s.user(app_id).await.unwrap().unwrap().bot);

    let edited = s
        .edit_application(
            app_id,
            &ApplicationEdit {
                description: Some("whirrs".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(edited.changed);
    assert_eq!(edited.now.description, "whirrs");
    assert_eq!(edited.now.name, "robot", "an unnamed field stays");
    let same = s
        .edit_application(
            app_id,
            &ApplicationEdit {
                name: Some("robot".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!same.changed);
    let gone = s
        .edit_application(Snowflake(5), &ApplicationEdit::default())
        .await;
    assert!(
        matches!(gone, Err(StoreError::Missing("application"))),
        "{gone:?}"
    );
}

pub async fn instance_admins_are_marked_and_users_deleted(b: Arc<Backend>) {
    let s = &*b.store;
    let ada = user(s, "ada").await;
    assert!(!s.is_instance_admin(ada.id).await.unwrap());
    s.set_instance_admin(ada.id, true).await.unwrap();
    assert!(s.is_instance_admin(ada.id).await.unwrap());
    let missing = s.set_instance_admin(Snowflake(3), true).await;
    assert!(
        matches!(missing, Err(StoreError::Missing("user"))),
        "{missing:?}"
    );
    s.insert_token(&token_hash("t"), ada.id, Timestamp(0))
        .await
        .unwrap();
    s.delete_user(ada.id).await.unwrap();
    assert_eq!(s.user(ada.id).await.unwrap(), None);
    assert_eq!(s.token_user(&token_hash("t")).await.unwrap(), None);
}
