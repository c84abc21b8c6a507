//! Guilds, channels, roles, invites and membership.

use serde_json::{json, Value};

use crate::harness::{perm, perms_of, snowflake, str_field, Server, World, UNKNOWN_ID};

fn listed(list: &Value, id: &str) -> bool {
    list.as_array()
        .unwrap_or_else(|| panic!("expected array, got {list}"))
        .iter()
        .any(|x| x["id"] == id)
}

#[tokio::test]
async fn a_new_guild_has_everyone_role_and_default_channels() {
    let server = Server::start().await;
    let api = server.api();
    let owner = api.register("owner").await;

    let guild = api.create_guild(&owner, "Cozy Cabin").await;
    let gid = str_field(&guild, "id");
    assert_eq!(guild["name"], "Cozy Cabin");
    assert_eq!(guild["owner_id"], owner.id.as_str());
    let everyone = guild["roles"]
        .as_array()
        .expect("roles array")
        .iter()
        .find(|r| r["id"] == gid.as_str())
        .unwrap_or_else(|| panic!("no role with the guild's id in {guild}"))
        .clone();
    assert_eq!(everyone["name"], "@everyone");
    let everyone_perms = perms_of(&everyone["permissions"]);
    for bit in [
        perm::VIEW_CHANNEL,
        perm::SEND_MESSAGES,
        perm::READ_MESSAGE_HISTORY,
        perm::CREATE_INSTANT_INVITE,
        perm::CONNECT,
        perm::SPEAK,
    ] {
        assert_ne!(everyone_perms & bit, 0, "@everyone lacks bit {bit}");
    }
    for bit in [
        perm::ADMINISTRATOR,
        perm::MANAGE_GUILD,
        perm::MANAGE_CHANNELS,
        perm::MANAGE_ROLES,
        perm::MANAGE_MESSAGES,
        perm::KICK_MEMBERS,
        perm::BAN_MEMBERS,
        perm::MODERATE_MEMBERS,
    ] {
        assert_eq!(everyone_perms & bit, 0, "@everyone must not have bit {bit}");
    }

    let chans = api.channels(&owner, &gid).await;
    assert!(
        chans
            .iter()
            .any(|c| c["name"] == "general" && c["type"] == 0),
        "text channel general: {chans:?}"
    );
    assert!(
        chans
            .iter()
            .any(|c| c["name"] == "General" && c["type"] == 2),
        "voice channel General: {chans:?}"
    );
    for c in &chans {
        assert_eq!(c["guild_id"], gid.as_str());
    }

    let fetched = api
        .get(&format!("/guilds/{gid}"), owner.auth())
        .await
        .expect(200);
    assert_eq!(fetched["id"], gid.as_str());
    assert_eq!(fetched["name"], "Cozy Cabin");

    let mine = api.get("/users/@me/guilds", owner.auth()).await.expect(200);
    let entry = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == gid.as_str())
        .unwrap_or_else(|| panic!("guild missing from /users/@me/guilds: {mine}"))
        .clone();
    assert_eq!(entry["name"], "Cozy Cabin");
    assert_eq!(entry["owner"], true);
    assert_ne!(perms_of(&entry["permissions"]) & perm::MANAGE_GUILD, 0);
}

#[tokio::test]
async fn two_users_and_a_bot_share_a_guild() {
    let server = Server::start().await;
    let api = server.api();
    let owner = api.register("owner").await;
    let friend = api.register("friend").await;
    let outsider = api.register("outsider").await;
    let guild = api.create_guild(&owner, "Party").await;
    let gid = str_field(&guild, "id");
    let general = api.channel_id(&owner, &gid, "general", 0).await;

    // The invite is visible without logging in.
    let invite = api.create_invite(&owner, &general, json!({})).await;
    let code = str_field(&invite, "code");
    assert_eq!(invite["guild"]["id"], gid.as_str());
    assert_eq!(invite["channel"]["id"], general.as_str());
    assert_eq!(invite["inviter"]["id"], owner.id.as_str());
    let public = api.get(&format!("/invites/{code}"), None).await.expect(200);
    assert_eq!(public["code"], code.as_str());
    assert_eq!(public["guild"]["name"], "Party");

    // A non-member cannot see the guild.
    api.get(&format!("/guilds/{gid}"), friend.auth())
        .await
        .expect_error(403, 50001);

    let joined = api.join(&friend, &code).await.expect(200);
    assert_eq!(joined["guild"]["id"], gid.as_str());

    let (app, bot) = api.create_bot(&owner, "Butler").await;
    api.authorize_bot(
        &owner,
        &gid,
        &str_field(&app, "id"),
        perm::VIEW_CHANNEL | perm::SEND_MESSAGES,
    )
    .await
    .expect(200);

    // Everyone in the guild sees it; the outsider does not.
    for who in [&owner, &friend, &bot] {
        let g = api
            .get(&format!("/guilds/{gid}"), who.auth())
            .await
            .expect(200);
        assert_eq!(g["id"], gid.as_str());
        let mine = api.get("/users/@me/guilds", who.auth()).await.expect(200);
        assert!(
            listed(&mine, &gid),
            "{} lists the guild: {mine}",
            who.username
        );
    }
    api.get(&format!("/guilds/{gid}"), outsider.auth())
        .await
        .expect_error(403, 50001);
    let theirs = api
        .get("/users/@me/guilds", outsider.auth())
        .await
        .expect(200);
    assert!(!listed(&theirs, &gid));

    let members = api
        .get(&format!("/guilds/{gid}/members?limit=10"), owner.auth())
        .await
        .expect(200);
    let mut got: Vec<String> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| str_field(&m["user"], "id"))
        .collect();
    let mut want = vec![owner.id.clone(), friend.id.clone(), bot.id.clone()];
    want.sort_by_key(|id| snowflake(id));
    assert_eq!(got, want, "members sorted by user id ascending");
    got.dedup();
    assert_eq!(got.len(), 3);

    // And they can all talk to each other.
    let m = api.send(&friend, &general, "hi from friend").await;
    let seen = api
        .get(
            &format!("/channels/{general}/messages/{}", str_field(&m, "id")),
            bot.auth(),
        )
        .await
        .expect(200);
    assert_eq!(seen["content"], "hi from friend");
}

#[tokio::test]
async fn guild_settings_change_and_only_the_owner_deletes() {
    let w = World::new().await;
    let api = &w.api;

    let g = api
        .patch(
            &w.g(""),
            w.owner.auth(),
            Some(json!({"name": "Renamed", "description": "A nice place"})),
        )
        .await
        .expect(200);
    assert_eq!(g["name"], "Renamed");
    assert_eq!(g["description"], "A nice place");
    let g = api.get(&w.g(""), w.member.auth()).await.expect(200);
    assert_eq!(g["name"], "Renamed");

    api.patch(&w.g(""), w.member.auth(), Some(json!({"name": "Mine now"})))
        .await
        .expect_error(403, 50013);
    api.delete(&w.g(""), w.member.auth())
        .await
        .expect_error(403, 50013);
    // MANAGE_GUILD lets the member edit, but still not delete.
    w.grant(&w.member.id, "managers", perm::MANAGE_GUILD).await;
    api.patch(
        &w.g(""),
        w.member.auth(),
        Some(json!({"name": "Co-managed"})),
    )
    .await
    .expect(200);
    api.delete(&w.g(""), w.member.auth())
        .await
        .expect_error(403, 50013);

    api.delete(&w.g(""), w.owner.auth()).await.expect(204);
    api.get(&w.g(""), w.owner.auth())
        .await
        .expect_error(404, 10004);
    let mine = api
        .get("/users/@me/guilds", w.member.auth())
        .await
        .expect(200);
    assert!(!listed(&mine, &w.guild_id), "deleted guild gone: {mine}");
    api.get(&format!("/channels/{}", w.general), w.owner.auth())
        .await
        .expect_error(404, 10003);
}

#[tokio::test]
async fn channels_of_each_type_can_be_created_edited_and_deleted() {
    let w = World::new().await;
    let api = &w.api;

    let category = api
        .create_channel(
            &w.owner,
            &w.guild_id,
            json!({"name": "Projects", "type": 4}),
        )
        .await;
    let cat_id = str_field(&category, "id");
    assert_eq!(category["type"], 4);
    assert_eq!(category["guild_id"], w.guild_id.as_str());

    let text = api
        .create_channel(
            &w.owner,
            &w.guild_id,
            json!({"name": "plans", "type": 0, "topic": "what we build next", "parent_id": cat_id}),
        )
        .await;
    let text_id = str_field(&text, "id");
    assert_eq!(text["type"], 0);
    assert_eq!(text["name"], "plans");
    assert_eq!(text["topic"], "what we build next");
    assert_eq!(text["parent_id"], cat_id.as_str());
    assert!(text["position"].is_number(), "position: {text}");
    assert!(
        text["permission_overwrites"].is_array(),
        "overwrites: {text}"
    );

    let voice = api
        .create_channel(
            &w.owner,
            &w.guild_id,
            json!({"name": "Standup", "type": 2, "bitrate": 96000, "user_limit": 5}),
        )
        .await;
    let voice_id = str_field(&voice, "id");
    assert_eq!(voice["type"], 2);
    assert_eq!(voice["bitrate"], 96000);
    assert_eq!(voice["user_limit"], 5);
    assert!(
        voice.get("rtc_region").is_some(),
        "rtc_region present: {voice}"
    );

    // Members see all of them.
    let chans = api.channels(&w.member, &w.guild_id).await;
    for id in [&cat_id, &text_id, &voice_id] {
        assert!(chans.iter().any(|c| c["id"] == id.as_str()), "{id} listed");
    }
    let got = api
        .get(&format!("/channels/{text_id}"), w.member.auth())
        .await
        .expect(200);
    assert_eq!(got["topic"], "what we build next");

    let edited = api
        .patch(
            &format!("/channels/{text_id}"),
            w.owner.auth(),
            Some(json!({"name": "roadmap", "topic": "updated"})),
        )
        .await
        .expect(200);
    assert_eq!(edited["name"], "roadmap");
    assert_eq!(edited["topic"], "updated");
    let edited_voice = api
        .patch(
            &format!("/channels/{voice_id}"),
            w.owner.auth(),
            Some(json!({"user_limit": 10})),
        )
        .await
        .expect(200);
    assert_eq!(edited_voice["user_limit"], 10);

    // Ordinary members can't manage channels.
    api.post(
        &w.g("/channels"),
        w.member.auth(),
        Some(json!({"name": "mine", "type": 0})),
    )
    .await
    .expect_error(403, 50013);
    api.patch(
        &format!("/channels/{text_id}"),
        w.member.auth(),
        Some(json!({"name": "hijacked"})),
    )
    .await
    .expect_error(403, 50013);
    api.delete(&format!("/channels/{text_id}"), w.member.auth())
        .await
        .expect_error(403, 50013);

    let deleted = api
        .delete(&format!("/channels/{text_id}"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(deleted["id"], text_id.as_str());
    api.get(&format!("/channels/{text_id}"), w.owner.auth())
        .await
        .expect_error(404, 10003);
    let chans = api.channels(&w.owner, &w.guild_id).await;
    assert!(!chans.iter().any(|c| c["id"] == text_id.as_str()));
}

#[tokio::test]
async fn roles_can_be_created_edited_and_deleted() {
    let w = World::new().await;
    let api = &w.api;

    let role = api
        .create_role(
            &w.owner,
            &w.guild_id,
            json!({
                "name": "Gardeners",
                "permissions": perm::s(perm::MANAGE_MESSAGES),
                "color": 0x2e8b57,
                "hoist": true,
                "mentionable": true
            }),
        )
        .await;
    let rid = str_field(&role, "id");
    assert_eq!(role["name"], "Gardeners");
    assert_eq!(role["color"], 0x2e8b57);
    assert_eq!(role["hoist"], true);
    assert_eq!(role["mentionable"], true);
    assert_eq!(role["managed"], false);
    assert_eq!(role["permissions"], perm::s(perm::MANAGE_MESSAGES).as_str());
    assert!(role["position"].is_number());

    let roles = api.get(&w.g("/roles"), w.member.auth()).await.expect(200);
    assert!(listed(&roles, &rid));

    let edited = api
        .patch(
            &w.g(&format!("/roles/{rid}")),
            w.owner.auth(),
            Some(json!({"name": "Landscapers", "color": 0x123456, "hoist": false})),
        )
        .await
        .expect(200);
    assert_eq!(edited["name"], "Landscapers");
    assert_eq!(edited["color"], 0x123456);
    assert_eq!(edited["hoist"], false);

    // Members need MANAGE_ROLES.
    api.post(&w.g("/roles"), w.member.auth(), Some(json!({"name": "x"})))
        .await
        .expect_error(403, 50013);
    api.patch(
        &w.g(&format!("/roles/{rid}")),
        w.member.auth(),
        Some(json!({"name": "y"})),
    )
    .await
    .expect_error(403, 50013);
    api.delete(&w.g(&format!("/roles/{rid}")), w.member.auth())
        .await
        .expect_error(403, 50013);

    // A role given to a member shows up on the member.
    api.add_role(&w.owner, &w.guild_id, &w.member.id, &rid)
        .await;
    let m = api
        .member(&w.owner, &w.guild_id, &w.member.id)
        .await
        .expect(200);
    assert!(m["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == rid.as_str()));
    api.delete(
        &w.g(&format!("/members/{}/roles/{rid}", w.member.id)),
        w.owner.auth(),
    )
    .await
    .expect(204);
    let m = api
        .member(&w.owner, &w.guild_id, &w.member.id)
        .await
        .expect(200);
    assert!(!m["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == rid.as_str()));

    api.delete(&w.g(&format!("/roles/{rid}")), w.owner.auth())
        .await
        .expect(204);
    let roles = api.get(&w.g("/roles"), w.owner.auth()).await.expect(200);
    assert!(!listed(&roles, &rid));
    api.patch(
        &w.g(&format!("/roles/{rid}")),
        w.owner.auth(),
        Some(json!({"name": "ghost"})),
    )
    .await
    .expect_error(404, 10011);
}

#[tokio::test]
async fn role_hierarchy_stops_managing_higher_roles_and_granting_missing_permissions() {
    let w = World::new().await;
    let api = &w.api;

    let mut created = Vec::new();
    for name in ["alpha", "beta", "gamma"] {
        let r = api
            .create_role(
                &w.owner,
                &w.guild_id,
                json!({"name": name, "permissions": "0"}),
            )
            .await;
        created.push(str_field(&r, "id"));
    }
    // Read back the positions the server assigned and order the roles.
    let roles = api.get(&w.g("/roles"), w.owner.auth()).await.expect(200);
    let mut ranked: Vec<(i64, String)> = roles
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| created.iter().any(|c| r["id"] == c.as_str()))
        .map(|r| {
            (
                r["position"].as_i64().expect("position"),
                str_field(r, "id"),
            )
        })
        .collect();
    ranked.sort();
    assert_eq!(ranked.len(), 3);
    assert!(
        ranked[0].0 < ranked[1].0 && ranked[1].0 < ranked[2].0,
        "roles have distinct positions: {ranked:?}"
    );
    let low = ranked[0].1.clone();
    let mid = ranked[1].1.clone();
    let high = ranked[2].1.clone();

    // The member's highest role is `mid`, which can manage roles.
    api.patch(
        &w.g(&format!("/roles/{mid}")),
        w.owner.auth(),
        Some(json!({"permissions": perm::s(perm::MANAGE_ROLES)})),
    )
    .await
    .expect(200);
    api.add_role(&w.owner, &w.guild_id, &w.member.id, &mid)
        .await;
    let m = w.member.auth();

    // Above or equal to their highest role: refused.
    api.patch(
        &w.g(&format!("/roles/{high}")),
        m,
        Some(json!({"name": "pwned"})),
    )
    .await
    .expect_error(403, 50013);
    api.delete(&w.g(&format!("/roles/{high}")), m)
        .await
        .expect_error(403, 50013);
    api.put(
        &w.g(&format!("/members/{}/roles/{high}", w.member.id)),
        m,
        None,
    )
    .await
    .expect_error(403, 50013);
    api.patch(
        &w.g(&format!("/roles/{mid}")),
        m,
        Some(json!({"permissions": perm::s(perm::MANAGE_ROLES | perm::BAN_MEMBERS)})),
    )
    .await
    .expect_error(403, 50013);

    // Below it: allowed, as long as no missing permission is granted.
    let renamed = api
        .patch(
            &w.g(&format!("/roles/{low}")),
            m,
            Some(json!({"name": "lowly"})),
        )
        .await
        .expect(200);
    assert_eq!(renamed["name"], "lowly");
    api.put(
        &w.g(&format!("/members/{}/roles/{low}", w.member.id)),
        m,
        None,
    )
    .await
    .expect(204);
    api.patch(
        &w.g(&format!("/roles/{low}")),
        m,
        Some(json!({"permissions": perm::s(perm::SEND_MESSAGES)})),
    )
    .await
    .expect(200);
    api.patch(
        &w.g(&format!("/roles/{low}")),
        m,
        Some(json!({"permissions": perm::s(perm::BAN_MEMBERS)})),
    )
    .await
    .expect_error(403, 50013);
    api.post(
        &w.g("/roles"),
        m,
        Some(json!({"name": "root", "permissions": perm::s(perm::ADMINISTRATOR)})),
    )
    .await
    .expect_error(403, 50013);

    // Nothing above changed.
    let roles = api.get(&w.g("/roles"), w.owner.auth()).await.expect(200);
    let high_now = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == high.as_str())
        .expect("high role still exists")
        .clone();
    assert_ne!(high_now["name"], "pwned");
    let mem = api
        .member(&w.owner, &w.guild_id, &w.member.id)
        .await
        .expect(200);
    assert!(!mem["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == high.as_str()));
}

#[tokio::test]
async fn member_list_paginates_by_user_id() {
    let w = World::new().await;
    let api = &w.api;
    let mut all = vec![w.owner.id.clone(), w.member.id.clone()];
    for name in ["carol", "dave", "erin"] {
        all.push(w.add_member(name).await.id);
    }
    all.sort_by_key(|id| snowflake(id));

    let member_ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("member list is an array: {v}"))
            .iter()
            .map(|m| str_field(&m["user"], "id"))
            .collect()
    };

    // Default limit is 1.
    let first = api.get(&w.g("/members"), w.owner.auth()).await.expect(200);
    assert_eq!(member_ids(&first), vec![all[0].clone()]);
    let m0 = &first[0];
    assert!(
        m0["roles"].is_array() && m0["joined_at"].is_string(),
        "{m0}"
    );

    let page = api
        .get(&w.g("/members?limit=2"), w.owner.auth())
        .await
        .expect(200);
    assert_eq!(member_ids(&page), all[0..2].to_vec());
    let page = api
        .get(
            &w.g(&format!("/members?limit=2&after={}", all[1])),
            w.owner.auth(),
        )
        .await
        .expect(200);
    assert_eq!(member_ids(&page), all[2..4].to_vec());
    let page = api
        .get(
            &w.g(&format!("/members?limit=1000&after={}", all[4])),
            w.owner.auth(),
        )
        .await
        .expect(200);
    assert!(member_ids(&page).is_empty());

    // Walking the whole list two at a time yields everyone once, in order.
    let mut walked: Vec<String> = Vec::new();
    let mut after = "0".to_string();
    for _ in 0..10 {
        let page = api
            .get(
                &w.g(&format!("/members?limit=2&after={after}")),
                w.member.auth(),
            )
            .await
            .expect(200);
        let ids = member_ids(&page);
        if ids.is_empty() {
            break;
        }
        after = ids.last().unwrap().clone();
        walked.extend(ids);
    }
    assert_eq!(walked, all);

    for bad in ["0", "1001"] {
        api.get(&w.g(&format!("/members?limit={bad}")), w.owner.auth())
            .await
            .expect_error(400, 50035);
    }

    let one = api
        .member(&w.member, &w.guild_id, &all[2])
        .await
        .expect(200);
    assert_eq!(one["user"]["id"], all[2].as_str());
    api.member(&w.owner, &w.guild_id, UNKNOWN_ID)
        .await
        .expect_error(404, 10007);
}

#[tokio::test]
async fn single_use_invite_is_consumed() {
    let w = World::new().await;
    let api = &w.api;
    let carol = api.register("carol").await;
    let dave = api.register("dave").await;

    let inv = api
        .create_invite(
            &w.owner,
            &w.general,
            json!({"max_uses": 1, "max_age": 3600}),
        )
        .await;
    let code = str_field(&inv, "code");
    assert_eq!(inv["max_uses"], 1);
    assert_eq!(inv["max_age"], 3600);
    assert_eq!(inv["uses"], 0);
    assert!(inv["expires_at"].is_string(), "expiring invite: {inv}");

    api.join(&carol, &code).await.expect(200);
    api.member(&w.owner, &w.guild_id, &carol.id)
        .await
        .expect(200);

    api.get(&format!("/invites/{code}"), None)
        .await
        .expect_error(404, 10006);
    api.join(&dave, &code).await.expect_error(404, 10006);
    api.member(&w.owner, &w.guild_id, &dave.id)
        .await
        .expect_error(404, 10007);

    api.get("/invites/doesnotexist", None)
        .await
        .expect_error(404, 10006);
    api.join(&dave, "doesnotexist")
        .await
        .expect_error(404, 10006);
}

#[tokio::test]
async fn kicked_member_loses_access_and_needs_a_new_invite() {
    let w = World::new().await;
    let api = &w.api;
    let carol = w.add_member("carol").await;

    // Ordinary members cannot kick.
    api.delete(&w.g(&format!("/members/{}", carol.id)), w.member.auth())
        .await
        .expect_error(403, 50013);

    api.delete(&w.g(&format!("/members/{}", w.member.id)), w.owner.auth())
        .await
        .expect(204);
    api.member(&w.owner, &w.guild_id, &w.member.id)
        .await
        .expect_error(404, 10007);
    api.get(&w.g(""), w.member.auth())
        .await
        .expect_error(403, 50001);
    let mine = api
        .get("/users/@me/guilds", w.member.auth())
        .await
        .expect(200);
    assert!(!listed(&mine, &w.guild_id));

    // A kick is not a ban: a fresh invite lets them back in.
    api.invite_and_join(&w.owner, &w.general, &w.member).await;
    api.member(&w.owner, &w.guild_id, &w.member.id)
        .await
        .expect(200);

    // KICK_MEMBERS lets a member kick, but never the owner.
    w.grant(&carol.id, "bouncers", perm::KICK_MEMBERS).await;
    api.delete(&w.g(&format!("/members/{}", w.owner.id)), carol.auth())
        .await
        .expect_error(403, 50013);
    api.delete(&w.g(&format!("/members/{}", w.member.id)), carol.auth())
        .await
        .expect(204);
    api.member(&w.owner, &w.guild_id, &w.member.id)
        .await
        .expect_error(404, 10007);
}

#[tokio::test]
async fn leaving_a_guild_removes_the_membership() {
    let w = World::new().await;
    let api = &w.api;

    api.delete(
        &format!("/users/@me/guilds/{}", w.guild_id),
        w.member.auth(),
    )
    .await
    .expect(204);
    let mine = api
        .get("/users/@me/guilds", w.member.auth())
        .await
        .expect(200);
    assert!(!listed(&mine, &w.guild_id));
    api.member(&w.owner, &w.guild_id, &w.member.id)
        .await
        .expect_error(404, 10007);
    api.get(
        &format!("/channels/{}/messages", w.general),
        w.member.auth(),
    )
    .await
    .expect_error(403, 50001);
}

#[tokio::test]
async fn nicknames_need_manage_nicknames_and_the_owner_cannot_be_targeted() {
    let w = World::new().await;
    let api = &w.api;
    let carol = w.add_member("carol").await;

    let m = api
        .patch(
            &w.g(&format!("/members/{}", w.member.id)),
            w.owner.auth(),
            Some(json!({"nick": "Captain"})),
        )
        .await
        .expect(200);
    assert_eq!(m["nick"], "Captain");
    let m = api
        .member(&carol, &w.guild_id, &w.member.id)
        .await
        .expect(200);
    assert_eq!(m["nick"], "Captain");

    api.patch(
        &w.g(&format!("/members/{}", w.member.id)),
        carol.auth(),
        Some(json!({"nick": "Silly"})),
    )
    .await
    .expect_error(403, 50013);

    w.grant(&carol.id, "nicknamers", perm::MANAGE_NICKNAMES)
        .await;
    api.patch(
        &w.g(&format!("/members/{}", w.owner.id)),
        carol.auth(),
        Some(json!({"nick": "Owner Silly"})),
    )
    .await
    .expect_error(403, 50013);
    let owner = api
        .member(&w.owner, &w.guild_id, &w.owner.id)
        .await
        .expect(200);
    assert_ne!(owner["nick"], "Owner Silly");

    let m = api
        .patch(
            &w.g(&format!("/members/{}", w.member.id)),
            carol.auth(),
            Some(json!({"nick": null})),
        )
        .await
        .expect(200);
    assert!(m["nick"].is_null(), "nick cleared: {m}");
}

#[tokio::test]
async fn roles_carry_colors_as_todays_api_does_and_accept_them() {
    let w = World::new().await;
    let role = w
        .api
        .create_role(
            &w.owner,
            &w.guild_id,
            json!({"name": "teal", "colors": {"primary_color": 0x11_8899}}),
        )
        .await;
    assert_eq!(role["color"], 0x11_8899, "{role}");
    assert_eq!(
        role["colors"],
        json!({"primary_color": 0x11_8899, "secondary_color": null, "tertiary_color": null})
    );
    // The older `color` moves `colors` too; every role lists them.
    let path = format!("/guilds/{}/roles/{}", w.guild_id, str_field(&role, "id"));
    let edited = w
        .api
        .patch(&path, w.owner.auth(), Some(json!({"color": 0xff_0000})))
        .await
        .expect(200);
    assert_eq!(edited["colors"]["primary_color"], 0xff_0000);
    let roles = w
        .api
        .get(&format!("/guilds/{}/roles", w.guild_id), w.owner.auth())
        .await
        .expect(200);
    for r in roles.as_array().unwrap() {
        assert_eq!(r["colors"]["primary_color"], r["color"], "{r}");
    }
    // Out of range, as `color` is.
    w.api
        .patch(
            &path,
            w.owner.auth(),
            Some(json!({"colors": {"primary_color": 0x1_000000}})),
        )
        .await
        .expect_field_error(&["color"]);
}
