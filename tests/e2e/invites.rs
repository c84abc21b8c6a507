//! Invites listed and revoked: a guild's and a channel's lists for those
//! who manage them, DELETE /invites/{code}, INVITE_CREATE and INVITE_DELETE
//! only to those who may manage the channel, and the guild's limit.

use serde_json::json;

use crate::gateway_client::{intents, login, EVENT_TIMEOUT, QUIET};
use crate::harness::{perm, str_field, World};

fn codes(list: &serde_json::Value) -> Vec<String> {
    let mut codes: Vec<String> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| str_field(i, "code"))
        .collect();
    codes.sort();
    codes
}

#[tokio::test]
async fn invites_are_listed_announced_to_managers_and_revoked() {
    let w = World::new().await;
    let api = &w.api;
    let want = intents::GUILDS | intents::GUILD_INVITES;
    // A moderator with MANAGE_CHANNELS hears of invites; a member does not.
    let moderator = w.add_member("moderator").await;
    let role = api
        .post(
            &w.g("/roles"),
            w.owner.auth(),
            Some(json!({"name": "channels", "permissions": perm::s(perm::MANAGE_CHANNELS)})),
        )
        .await
        .expect(200);
    api.put(
        &w.g(&format!(
            "/members/{}/roles/{}",
            moderator.id,
            str_field(&role, "id")
        )),
        w.owner.auth(),
        None,
    )
    .await
    .expect(204);
    let mut manager = login(api, &moderator, want).await;
    let mut member = login(api, &w.member, want).await;
    // The invites the world was made with (members joined through them).
    let earlier = codes(&api.get(&w.g("/invites"), w.owner.auth()).await.expect(200));

    let made = api
        .create_invite(
            &w.owner,
            &w.general,
            json!({"max_age": 3600, "max_uses": 5}),
        )
        .await;
    let code = str_field(&made, "code");
    let created = manager
        .expect_dispatch("INVITE_CREATE", EVENT_TIMEOUT)
        .await;
    assert_eq!(created.d["code"], code.as_str());
    assert_eq!(created.d["channel_id"], w.general.as_str());
    assert_eq!(created.d["guild_id"], w.guild_id.as_str());
    assert_eq!(created.d["max_uses"], 5);
    assert_eq!(created.d["inviter"]["id"], w.owner.id.as_str());
    member.expect_no_dispatch("INVITE_CREATE", QUIET).await;

    // The lists: the guild's for MANAGE_GUILD, the channel's for
    // MANAGE_CHANNELS; a plain member gets neither.
    let other = api
        .create_invite(&w.owner, &w.general, json!({"max_age": 0}))
        .await;
    let with = |new: &[String]| {
        let mut all = earlier.clone();
        all.extend_from_slice(new);
        all.sort();
        all
    };
    let both = with(&[code.clone(), str_field(&other, "code")]);
    let listed = api.get(&w.g("/invites"), w.owner.auth()).await.expect(200);
    assert_eq!(codes(&listed), both);
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["inviter"]["id"] == w.owner.id.as_str()));
    let in_channel = format!("/channels/{}/invites", w.general);
    let listed = api.get(&in_channel, moderator.auth()).await.expect(200);
    assert_eq!(codes(&listed), both);
    api.get(&w.g("/invites"), moderator.auth())
        .await
        .expect_error(403, 50013);
    api.get(&in_channel, w.member.auth())
        .await
        .expect_error(403, 50013);

    // Revoking: not for a member; the moderator may, and it is gone for
    // joining as well as from the list.
    let path = format!("/invites/{code}");
    api.delete(&path, w.member.auth())
        .await
        .expect_error(403, 50013);
    let gone = api.delete(&path, moderator.auth()).await.expect(200);
    assert_eq!(gone["code"], code.as_str());
    let deleted = manager
        .expect_dispatch("INVITE_DELETE", EVENT_TIMEOUT)
        .await;
    assert_eq!(deleted.d["code"], code.as_str());
    assert_eq!(deleted.d["channel_id"], w.general.as_str());
    member.expect_no_dispatch("INVITE_DELETE", QUIET).await;
    api.delete(&path, moderator.auth())
        .await
        .expect_error(404, 10006);
    let newcomer = api.register("newcomer").await;
    api.join(&newcomer, &code).await.expect_error(404, 10006);
    let listed = api.get(&w.g("/invites"), w.owner.auth()).await.expect(200);
    assert_eq!(codes(&listed), with(&[str_field(&other, "code")]));
}
