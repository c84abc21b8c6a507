//! Writes racing writes: each request changes only what it names, and the
//! limits hold however many requests arrive at once. These are the
//! interleavings a hostile member used to undo moderation, lose grants,
//! expose a private channel or overshoot a guild's limits.

use futures_util::future::join_all;
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::harness::{iso_from_now, perm, str_field, World};

/// Rounds per race: each used to lose the moderator's write in about half
/// of its tries, so a handful of rounds fails reliably on the old code.
const ROUNDS: usize = 6;
/// Concurrent requests of the spammer per round.
const SPAM: usize = 24;

fn roles_of(member: &Value) -> Vec<String> {
    member["roles"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_member_spamming_their_nick_cannot_undo_a_role_removal_or_a_time_out() {
    let w = World::new().await;
    let api = &w.api;
    let role = w.grant(&w.member.id, "trusted", 0).await;
    let me = w.g("/members/@me");
    let them = w.g(&format!("/members/{}", w.member.id));
    for round in 0..ROUNDS {
        // Give the role back and lift the time-out before each round.
        api.add_role(&w.owner, &w.guild_id, &w.member.id, &role)
            .await;
        api.patch(
            &them,
            w.owner.auth(),
            Some(json!({"communication_disabled_until": null})),
        )
        .await
        .expect(200);

        let spam = (0..SPAM).map(|i| {
            api.patch(
                &me,
                w.member.auth(),
                Some(json!({"nick": format!("spam {round} {i}")})),
            )
        });
        let until = iso_from_now(3600);
        let moderation = async {
            let take = api
                .delete(
                    &w.g(&format!("/members/{}/roles/{role}", w.member.id)),
                    w.owner.auth(),
                )
                .await;
            let timeout = api
                .patch(
                    &them,
                    w.owner.auth(),
                    Some(json!({"communication_disabled_until": until})),
                )
                .await;
            (take, timeout)
        };
        let (spam, (take, timeout)) = tokio::join!(join_all(spam), moderation);
        take.expect(204);
        timeout.expect(200);
        for r in spam {
            r.expect(200);
        }
        let now = api
            .member(&w.owner, &w.guild_id, &w.member.id)
            .await
            .expect(200);
        assert!(
            !roles_of(&now).contains(&role),
            "round {round}: the removed role came back: {now}"
        );
        assert!(
            now["communication_disabled_until"].is_string(),
            "round {round}: the time-out was erased: {now}"
        );
        assert!(
            now["nick"].as_str().is_some_and(|n| n.starts_with("spam")),
            "round {round}: the nick edits were lost: {now}"
        );
    }
}

#[tokio::test]
async fn concurrent_role_grants_all_stick() {
    let w = World::new().await;
    let api = &w.api;
    let mut roles = Vec::new();
    for i in 0..20 {
        let r = api
            .create_role(&w.owner, &w.guild_id, json!({"name": format!("r{i}")}))
            .await;
        roles.push(str_field(&r, "id"));
    }
    let owner = w.owner.auth();
    let grants = roles.iter().map(|r| {
        let path = w.g(&format!("/members/{}/roles/{r}", w.member.id));
        async move { api.put(&path, owner, None).await }
    });
    for r in join_all(grants).await {
        r.expect(204);
    }
    let now = api
        .member(&w.owner, &w.guild_id, &w.member.id)
        .await
        .expect(200);
    let held = roles_of(&now);
    let lost: Vec<_> = roles.iter().filter(|r| !held.contains(r)).collect();
    assert!(lost.is_empty(), "grants lost: {lost:?} of {}", roles.len());
}

#[tokio::test]
async fn an_overwrite_written_during_a_channel_edit_keeps_the_channel_private() {
    let w = World::new().await;
    let api = &w.api;
    for round in 0..ROUNDS {
        let secret = api
            .text_channel(&w.owner, &w.guild_id, &format!("secret-{round}"))
            .await;
        let overwrite = format!("/channels/{secret}/permissions/{}", w.guild_id);
        let hide = api.put(
            &overwrite,
            w.owner.auth(),
            Some(json!({"type": 0, "allow": "0", "deny": perm::VIEW_CHANNEL.to_string()})),
        );
        let channel = format!("/channels/{secret}");
        let edits = join_all((0..8).map(|i| {
            api.patch(
                &channel,
                w.owner.auth(),
                Some(json!({"topic": format!("edit {i}")})),
            )
        }));
        let (hide, edits) = tokio::join!(hide, edits);
        hide.expect(204);
        for e in edits {
            e.expect(200);
        }
        api.get(&format!("/channels/{secret}"), w.member.auth())
            .await
            .expect_error(403, 50001);
        let visible = api.channels(&w.member, &w.guild_id).await;
        assert!(
            !visible.iter().any(|c| c["id"] == secret.as_str()),
            "round {round}: the private channel is listed for a member"
        );
    }
}

#[tokio::test]
async fn role_and_webhook_limits_hold_under_concurrent_creates() {
    let w = World::new().await;
    let api = &w.api;
    let roles_path = w.g("/roles");
    let creates = (0..270).map(|i| {
        api.post(
            &roles_path,
            w.owner.auth(),
            Some(json!({"name": format!("flood {i}")})),
        )
    });
    // 64 at a time: enough to race, and within the node's connections per
    // address.
    let answers: Vec<_> = futures_util::stream::iter(creates)
        .buffer_unordered(64)
        .collect()
        .await;
    let mut refused = 0;
    for r in answers {
        if r.status.as_u16() == 400 {
            r.expect_error(400, 30005);
            refused += 1;
        } else {
            r.expect(200);
        }
    }
    let roles = api.get(&w.g("/roles"), w.owner.auth()).await.expect(200);
    let roles = roles.as_array().cloned().unwrap_or_default();
    assert_eq!(roles.len(), 250, "@everyone and 249 more, no more");
    assert_eq!(refused, 270 - 249);
    // Positions stay dense: 0 for @everyone, then 1..=249.
    let mut positions: Vec<i64> = roles
        .iter()
        .filter_map(|r| r["position"].as_i64())
        .collect();
    positions.sort();
    assert_eq!(positions, (0..250).collect::<Vec<_>>());

    let hooks_path = format!("/channels/{}/webhooks", w.general);
    let hooks = (0..40).map(|i| {
        api.post(
            &hooks_path,
            w.owner.auth(),
            Some(json!({"name": format!("hook {i}")})),
        )
    });
    let made = join_all(hooks)
        .await
        .into_iter()
        .filter(|r| {
            if r.status.as_u16() == 400 {
                r.expect_error(400, 30007);
                false
            } else {
                true
            }
        })
        .count();
    assert_eq!(made, 15);
    let listed = api
        .get(&format!("/channels/{}/webhooks", w.general), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(listed.as_array().map(Vec::len), Some(15));
}

#[tokio::test]
async fn concurrent_deletes_of_a_role_answer_204_once_and_strip_it_from_members() {
    let w = World::new().await;
    let api = &w.api;
    let role = w.grant(&w.member.id, "doomed", 0).await;
    let role_path = w.g(&format!("/roles/{role}"));
    let deletes = (0..10).map(|_| api.delete(&role_path, w.owner.auth()));
    let statuses: Vec<u16> = join_all(deletes)
        .await
        .iter()
        .map(|r| r.status.as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 204 || *s == 404),
        "{statuses:?}"
    );
    let now = api
        .member(&w.owner, &w.guild_id, &w.member.id)
        .await
        .expect(200);
    assert!(!roles_of(&now).contains(&role));
}

#[tokio::test]
async fn a_role_manager_cannot_wrap_positions_to_climb_above_the_admin_role() {
    let w = World::new().await;
    let api = &w.api;
    // The owner's admin role on top, the manager's role below it.
    let admin = api
        .create_role(
            &w.owner,
            &w.guild_id,
            json!({"name": "admin", "permissions": perm::s(perm::ADMINISTRATOR)}),
        )
        .await;
    let admin_id = str_field(&admin, "id");
    api.patch(
        &w.g(&format!("/roles/{admin_id}")),
        w.owner.auth(),
        Some(json!({"position": 2})),
    )
    .await
    .expect(200);
    let manager = w.grant(&w.member.id, "manager", perm::MANAGE_ROLES).await;
    let _ = manager;

    // Above their own role: refused, whatever the number.
    for position in [i32::MAX as i64, 1_000_000, 3] {
        api.post(
            &w.g("/roles"),
            w.member.auth(),
            Some(json!({"name": "climber", "position": position})),
        )
        .await
        .expect_error(403, 50013);
    }
    // The owner may put a role at an absurd position: it lands on top, with
    // a position that stays small.
    let top = api
        .create_role(
            &w.owner,
            &w.guild_id,
            json!({"name": "top", "position": i32::MAX}),
        )
        .await;
    assert!(top["position"].as_i64().is_some_and(|p| p < 10), "{top}");
    // Many creates below it by the manager: nothing wraps.
    for i in 0..5 {
        api.post(
            &w.g("/roles"),
            w.member.auth(),
            Some(json!({"name": format!("low {i}"), "position": i32::MIN})),
        )
        .await
        .expect(200);
    }
    let roles = api.get(&w.g("/roles"), w.owner.auth()).await.expect(200);
    let pos = |id: &str| -> i64 {
        roles
            .as_array()
            .and_then(|a| a.iter().find(|r| r["id"] == id))
            .and_then(|r| r["position"].as_i64())
            .unwrap_or(i64::MIN)
    };
    assert!(pos(&admin_id) > pos(&manager), "admin fell below: {roles}");
    assert!(roles.as_array().is_some_and(|a| a
        .iter()
        .all(|r| r["position"].as_i64().is_some_and(|p| (0..20).contains(&p)))));
    // And the admin role stays out of the manager's reach.
    api.put(
        &w.g(&format!("/members/{}/roles/{admin_id}", w.member.id)),
        w.member.auth(),
        None,
    )
    .await
    .expect_error(403, 50013);
}

#[tokio::test]
async fn concurrent_edits_of_different_guild_and_application_fields_all_stick() {
    let w = World::new().await;
    let api = &w.api;
    let (app, _bot) = api.create_bot(&w.owner, "racer").await;
    let app_path = format!("/applications/{}", str_field(&app, "id"));
    let guild_path = w.g("");
    for round in 0..ROUNDS {
        let name = format!("Guild {round}");
        let description = format!("round {round}");
        let app_name = format!("racer {round}");
        let flags = (round as u64 + 1) << 12;
        let (a, b, c, d) = tokio::join!(
            api.patch(&guild_path, w.owner.auth(), Some(json!({ "name": name }))),
            api.patch(
                &guild_path,
                w.owner.auth(),
                Some(json!({ "description": description }))
            ),
            api.patch(&app_path, w.owner.auth(), Some(json!({ "name": app_name }))),
            api.patch(&app_path, w.owner.auth(), Some(json!({ "flags": flags }))),
        );
        for r in [a, b, c, d] {
            r.expect(200);
        }
        let guild = api.get(&guild_path, w.owner.auth()).await.expect(200);
        assert_eq!(guild["name"], name.as_str(), "round {round}: {guild}");
        assert_eq!(
            guild["description"],
            description.as_str(),
            "round {round}: {guild}"
        );
        let app = api.get(&app_path, w.owner.auth()).await.expect(200);
        assert_eq!(app["name"], app_name.as_str(), "round {round}: {app}");
        assert_eq!(app["flags"].as_u64(), Some(flags), "round {round}: {app}");
    }
}

#[tokio::test]
async fn concurrent_edits_of_one_message_keep_each_others_fields() {
    let w = World::new().await;
    let api = &w.api;
    let messages = format!("/channels/{}/messages", w.general);
    let posted = api
        .post(
            &messages,
            w.owner.auth(),
            Some(json!({ "content": "first draft https://example.com" })),
        )
        .await
        .expect(200);
    let path = format!("{messages}/{}", str_field(&posted, "id"));
    for round in 0..ROUNDS * 2 {
        // One session rewrites the text while another hides the embeds
        // (and, every other round, shows them again).
        let content = format!("draft {round} https://example.com");
        let flags = if round % 2 == 0 { 4 } else { 0 };
        let mut writes = Vec::new();
        for i in 0..SPAM / 4 {
            let body = if i % 2 == 0 {
                json!({ "content": content })
            } else {
                json!({ "flags": flags })
            };
            writes.push(api.patch(&path, w.owner.auth(), Some(body)));
        }
        for r in join_all(writes).await {
            r.expect(200);
        }
        let m = api.get(&path, w.owner.auth()).await.expect(200);
        assert_eq!(m["content"], content.as_str(), "round {round}: {m}");
        assert_eq!(
            m["flags"].as_u64().map(|f| f & 4),
            Some(flags),
            "round {round}: an edit of the flags undid the text, or the other way round: {m}"
        );
    }
}
