use std::sync::Arc;

use hearth_model::{Application, ApplicationCommand, Snowflake, Timestamp, User};
use hearth_store::{
    Acknowledge, Capacity, CommandLimits, FirstResponse, InteractionRecord, Store, StoreError,
};

use super::backend::{Backend, Kind};
use super::fixtures::{id, message, now, user, world};

const LIMITS: CommandLimits = CommandLimits {
    chat_input: 3,
    user: 1,
    message: 1,
};

async fn application(s: &dyn Store, owner: &User, name: &str) -> Snowflake {
    let app_id = id();
    let app = Application {
        id: app_id,
        name: name.into(),
        description: String::new(),
        icon: None,
        bot_public: true,
        bot_require_code_grant: false,
        flags: 0,
        owner: owner.clone(),
        bot: User {
            id: app_id,
            username: format!("{name}-bot"),
            discriminator: "0".into(),
            global_name: None,
            avatar: None,
            bot: true,
        },
    };
    s.create_application(&app).await.unwrap();
    app_id
}

fn command(app: Snowflake, guild: Option<Snowflake>, name: &str, kind: u8) -> ApplicationCommand {
    ApplicationCommand {
        id: id(),
        kind,
        application_id: app,
        guild_id: guild,
        name: name.into(),
        name_localizations: None,
        description: if kind == 1 { "d".into() } else { String::new() },
        description_localizations: None,
        options: Vec::new(),
        default_member_permissions: None,
        dm_permission: true,
        contexts: None,
        integration_types: vec![0],
        nsfw: false,
        version: id(),
    }
}

pub async fn commands_keep_ids_by_name_limits_and_scopes(b: Arc<Backend>) {
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let w = world(s, owner.clone()).await;
    let app = application(s, &owner, "helper").await;
    let other = application(s, &owner, "absent").await;
    let g = Some(w.guild.id);

    let (ping, created) = s
        .upsert_command(&command(app, g, "ping", 1), LIMITS)
        .await
        .unwrap();
    assert!(created);
    let mut again = command(app, g, "ping", 1);
    again.description = "changed".into();
    let (same, created) = s.upsert_command(&again, LIMITS).await.unwrap();
    assert!(!created);
    assert_eq!(same.id, ping.id, "an upsert by name keeps the id");
    assert_eq!(
        s.command(app, ping.id).await.unwrap().unwrap().description,
        "changed"
    );
    // The user command has its own limit; the global scope is apart.
    s.upsert_command(&command(app, g, "Inspect", 2), LIMITS)
        .await
        .unwrap();
    assert!(matches!(
        s.upsert_command(&command(app, g, "Other", 2), LIMITS).await,
        Err(StoreError::Full(Capacity::Commands))
    ));
    s.upsert_command(&command(app, None, "ping", 1), LIMITS)
        .await
        .unwrap();
    assert_eq!(s.commands(app, g).await.unwrap().len(), 2);
    assert_eq!(s.commands(app, None).await.unwrap().len(), 1);

    // A rename onto a taken name is a conflict.
    let (pong, _) = s
        .upsert_command(&command(app, g, "pong", 1), LIMITS)
        .await
        .unwrap();
    let mut clash = pong.clone();
    clash.name = "ping".into();
    assert!(matches!(
        s.replace_command(&clash).await,
        Err(StoreError::Conflict(_))
    ));

    // Overwrite: ping keeps its id, pong and Inspect go, echo comes.
    let stored = s
        .overwrite_commands(
            app,
            g,
            &[command(app, g, "ping", 1), command(app, g, "echo", 1)],
        )
        .await
        .unwrap();
    assert_eq!(
        stored.iter().find(|c| c.name == "ping").unwrap().id,
        ping.id
    );
    let mut names: Vec<String> = s
        .commands(app, g)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    names.sort();
    assert_eq!(names, ["echo", "ping"]);

    // The guild's index holds the commands of applications in the guild.
    s.upsert_command(&command(other, g, "hidden", 1), LIMITS)
        .await
        .unwrap();
    assert!(s.guild_command_index(w.guild.id).await.unwrap().is_empty());
    s.add_member(w.guild.id, app, &[], now()).await.unwrap();
    let mut index: Vec<String> = s
        .guild_command_index(w.guild.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    index.sort();
    assert_eq!(
        index,
        ["echo", "ping", "ping"],
        "the guild's and the global"
    );
    assert!(s.delete_command(app, ping.id).await.unwrap());
    assert!(!s.delete_command(app, ping.id).await.unwrap());
    // A guild's commands go with it.
    s.delete_guild(w.guild.id).await.unwrap();
    assert!(s.commands(app, g).await.unwrap().is_empty());
}

fn record(
    app: Snowflake,
    guild: Snowflake,
    channel: Snowflake,
    user: Snowflake,
    at: Timestamp,
) -> InteractionRecord {
    InteractionRecord {
        id: id(),
        token_hash: hearth_store::token_hash(&format!("t{}", id().0)),
        application_id: app,
        kind: 2,
        guild_id: guild,
        channel_id: channel,
        user_id: user,
        created_at: at,
        message_id: None,
        command_name: Some("ping".into()),
        command_type: Some(1),
        nonce: Some("n".into()),
        response: None,
        ephemeral: false,
        original_id: None,
    }
}

pub async fn an_interaction_is_answered_once_in_time_and_forgotten_later(b: Arc<Backend>) {
    let nodes: [Arc<dyn Store>; 2] = match b.kind {
        Kind::Postgres => [b.store.clone(), b.reopen().await.expect("a second store")],
        Kind::Sqlite => [b.store.clone(), b.store.clone()],
    };
    let s = &*b.store;
    let owner = user(s, "owner").await;
    let w = world(s, owner.clone()).await;
    let app = application(s, &owner, "helper").await;
    let t = now();
    let rec = record(app, w.guild.id, w.text.id, owner.id, t);
    s.create_interaction(&rec, Timestamp(t.0 - 900_000))
        .await
        .unwrap();
    assert_eq!(s.interaction(rec.id).await.unwrap().unwrap(), rec);
    assert_eq!(
        s.interaction_by_token(&rec.token_hash)
            .await
            .unwrap()
            .unwrap()
            .id,
        rec.id
    );

    // Eight racing first responses through two nodes: exactly one counts.
    let first = FirstResponse {
        callback_type: 9,
        ephemeral: false,
        original_id: None,
        deadline_created_after: Timestamp(t.0 - 3000),
    };
    let mut tries = Vec::new();
    for i in 0..8 {
        let (node, rid, hash) = (nodes[i % 2].clone(), rec.id, rec.token_hash);
        tries.push(tokio::spawn(async move {
            node.acknowledge(rid, &hash, first).await
        }));
    }
    let mut outcomes = Vec::new();
    for t in tries {
        outcomes.push(t.await.unwrap().unwrap());
    }
    assert_eq!(
        outcomes.iter().filter(|o| **o == Acknowledge::Done).count(),
        1
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Acknowledge::Already)
            .count(),
        7
    );
    // The modal it opened is submitted once, by its user.
    assert!(!s.close_modal(rec.id, app).await.unwrap());
    assert!(s.close_modal(rec.id, owner.id).await.unwrap());
    assert!(!s.close_modal(rec.id, owner.id).await.unwrap());

    // Too late, or the wrong token: unknown.
    let late = record(app, w.guild.id, w.text.id, owner.id, Timestamp(t.0 - 4000));
    s.create_interaction(&late, Timestamp(t.0 - 900_000))
        .await
        .unwrap();
    assert_eq!(
        s.acknowledge(late.id, &late.token_hash, first)
            .await
            .unwrap(),
        Acknowledge::Unknown
    );
    assert_eq!(
        s.acknowledge(rec.id, &late.token_hash, first)
            .await
            .unwrap(),
        Acknowledge::Unknown
    );

    // Ephemeral messages live with their interaction.
    let m = message(&w, &w.text, &owner, id(), "just for you");
    s.put_ephemeral(rec.id, &m).await.unwrap();
    assert_eq!(s.ephemeral(m.id).await.unwrap(), Some((rec.id, m.clone())));
    // A newer interaction forgets those created before the cut-off, and
    // their ephemeral messages with them.
    let newer = record(app, w.guild.id, w.text.id, owner.id, now());
    s.create_interaction(&newer, Timestamp(now().0 + 1))
        .await
        .unwrap();
    assert!(s.interaction(rec.id).await.unwrap().is_none());
    assert!(s.ephemeral(m.id).await.unwrap().is_none());
    assert!(s.interaction(newer.id).await.unwrap().is_some());
}
