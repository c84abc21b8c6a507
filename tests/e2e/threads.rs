//! Threads: started from a message or on their own, public and private,
//! their messages and members, archiving, locking and deletion, through the
//! real server, with what each user's gateway hears.

use serde_json::{json, Value};

use crate::gateway_client::{intents, login, EVENT_TIMEOUT, QUIET};
use crate::harness::{perm, str_field, World};

const HAS_THREAD: u64 = 1 << 5;
const MANAGE_THREADS: u64 = 1 << 34;

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| str_field(t, "id"))
        .collect()
}

#[tokio::test]
async fn a_thread_from_a_message_is_announced_and_holds_its_own_messages() {
    let w = World::new().await;
    let api = &w.api;
    let mut watcher = login(api, &w.member, intents::GUILDS | intents::GUILD_MESSAGES).await;
    let starter = str_field(
        &api.send(&w.owner, &w.general, "plans for friday?").await,
        "id",
    );
    let path = format!("/channels/{}/messages/{starter}/threads", w.general);

    let thread = api
        .post(&path, w.owner.auth(), Some(json!({"name": "Friday"})))
        .await
        .expect(201);
    assert_eq!(
        thread["id"],
        starter.as_str(),
        "a message's thread takes its id"
    );
    assert_eq!(thread["type"], 11);
    assert_eq!(thread["parent_id"], w.general.as_str());
    assert_eq!(thread["owner_id"], w.owner.id.as_str());
    assert_eq!(thread["member_count"], 1);
    assert_eq!(thread["thread_metadata"]["archived"], false);
    assert_eq!(thread["thread_metadata"]["auto_archive_duration"], 4320);
    let created = watcher
        .expect_dispatch("THREAD_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(created["id"], starter.as_str());
    assert_eq!(created["newly_created"], true);
    let marked = watcher
        .expect_dispatch_where(
            "MESSAGE_UPDATE",
            |d| d["id"] == starter.as_str(),
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(marked["flags"].as_u64().unwrap() & HAS_THREAD, HAS_THREAD);

    // One thread per message.
    api.post(&path, w.owner.auth(), Some(json!({"name": "Again"})))
        .await
        .expect_error(400, 160004);

    // A reply in the thread goes to the thread; its author joins it.
    let reply = api.send(&w.member, &starter, "I'm in").await;
    assert_eq!(reply["channel_id"], starter.as_str());
    let heard = watcher
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["content"] == "I'm in",
            EVENT_TIMEOUT,
        )
        .await
        .d;
    assert_eq!(heard["channel_id"], starter.as_str());
    assert_eq!(heard["guild_id"], w.guild_id.as_str());
    // Their own join, heard without GUILD_MEMBERS.
    let joined = watcher
        .expect_dispatch("THREAD_MEMBERS_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(joined["id"], starter.as_str());
    assert_eq!(joined["member_count"], 2);
    assert_eq!(joined["added_members"][0]["user_id"], w.member.id.as_str());

    // The thread's history holds the reply, the channel's does not.
    let in_thread = api.message_ids(&w.owner, &starter, "").await;
    assert_eq!(in_thread, vec![str_field(&reply, "id")]);
    let in_channel = api.message_ids(&w.owner, &w.general, "").await;
    assert!(!in_channel.contains(&str_field(&reply, "id")));
    let now = api
        .get(&format!("/channels/{starter}"), w.member.auth())
        .await
        .expect(200);
    assert_eq!(now["message_count"], 1);
    assert_eq!(now["member_count"], 2);
    assert_eq!(now["last_message_id"], reply["id"]);

    // Listed as active with the caller's membership; not a guild channel.
    let active = api
        .get(&w.g("/threads/active"), w.member.auth())
        .await
        .expect(200);
    assert_eq!(ids(&active["threads"]), vec![starter.clone()]);
    assert_eq!(active["members"][0]["user_id"], w.member.id.as_str());
    let channels = api
        .get(&w.g("/channels"), w.member.auth())
        .await
        .expect(200);
    assert!(!ids(&channels).contains(&starter));
    let members = api
        .get(
            &format!("/channels/{starter}/thread-members"),
            w.member.auth(),
        )
        .await
        .expect(200);
    assert_eq!(members.as_array().unwrap().len(), 2);

    // A new session finds it in GUILD_CREATE.
    let fresh = login(api, &w.member, intents::GUILDS).await;
    let listed = &fresh.guild_creates[0]["threads"];
    assert_eq!(ids(listed), vec![starter.clone()]);
}

#[tokio::test]
async fn a_private_thread_shows_only_to_its_members_and_moderators() {
    let w = World::new().await;
    let api = &w.api;
    let outsider = w.add_member("outsider").await;
    let mut theirs = login(api, &outsider, intents::GUILDS | intents::GUILD_MESSAGES).await;
    let mut owners = login(api, &w.owner, intents::GUILDS | intents::GUILD_MESSAGES).await;

    let thread = api
        .post(
            &format!("/channels/{}/threads", w.general),
            w.member.auth(),
            Some(json!({"name": "secret", "type": 12})),
        )
        .await
        .expect(201);
    let tid = str_field(&thread, "id");
    assert_eq!(thread["type"], 12);
    assert_eq!(thread["thread_metadata"]["invitable"], true);
    api.send(&w.member, &tid, "just us").await;

    // The guild's owner may manage threads, so sees it; the outsider not.
    owners.expect_dispatch("THREAD_CREATE", EVENT_TIMEOUT).await;
    owners
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["channel_id"] == tid.as_str(),
            EVENT_TIMEOUT,
        )
        .await;
    theirs.expect_no_dispatch("THREAD_CREATE", QUIET).await;
    theirs
        .expect_no_dispatch_where("MESSAGE_CREATE", |d| d["channel_id"] == tid.as_str(), QUIET)
        .await;
    api.get(&format!("/channels/{tid}"), outsider.auth())
        .await
        .expect_error(403, 50001);
    api.get(&format!("/channels/{tid}/messages"), outsider.auth())
        .await
        .expect_error(403, 50001);
    api.post(
        &format!("/channels/{tid}/messages"),
        outsider.auth(),
        Some(json!({"content": "let me in"})),
    )
    .await
    .expect_error(403, 50001);
    let active = api
        .get(&w.g("/threads/active"), outsider.auth())
        .await
        .expect(200);
    assert!(ids(&active["threads"]).is_empty());
    // Joining one's way in is seeing it first: refused.
    api.put(
        &format!("/channels/{tid}/thread-members/@me"),
        outsider.auth(),
        None,
    )
    .await
    .expect_error(403, 50001);

    // Added by a member, the outsider is shown the thread and its messages.
    api.put(
        &format!("/channels/{tid}/thread-members/{}", outsider.id),
        w.member.auth(),
        None,
    )
    .await
    .expect(204);
    let shown = theirs
        .expect_dispatch("THREAD_CREATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(shown["id"], tid.as_str());
    assert!(shown.get("newly_created").is_none());
    let added = theirs
        .expect_dispatch("THREAD_MEMBERS_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(added["member_count"], 2);
    // And their own membership, as Discord tells it (discord.js keeps it).
    let own = theirs
        .expect_dispatch("THREAD_MEMBER_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(own["id"], tid.as_str());
    assert_eq!(own["user_id"], outsider.id.as_str());
    assert_eq!(own["guild_id"], w.guild_id.as_str());
    assert!(own["join_timestamp"].is_string(), "{own}");
    api.send(&w.member, &tid, "welcome").await;
    theirs
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["content"] == "welcome",
            EVENT_TIMEOUT,
        )
        .await;
    api.get(&format!("/channels/{tid}/messages"), outsider.auth())
        .await
        .expect(200);

    // Removed by the thread's owner: told so, then nothing more.
    api.delete(
        &format!("/channels/{tid}/thread-members/{}", outsider.id),
        w.member.auth(),
    )
    .await
    .expect(204);
    let removed = theirs
        .expect_dispatch("THREAD_MEMBERS_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(removed["removed_member_ids"][0], outsider.id.as_str());
    api.send(&w.member, &tid, "bye").await;
    theirs
        .expect_no_dispatch_where("MESSAGE_CREATE", |d| d["content"] == "bye", QUIET)
        .await;
    api.get(&format!("/channels/{tid}"), outsider.auth())
        .await
        .expect_error(403, 50001);

    // Not invitable: only a moderator adds people.
    api.patch(
        &format!("/channels/{tid}"),
        w.member.auth(),
        Some(json!({"invitable": false})),
    )
    .await
    .expect_error(403, 50013);
    api.patch(
        &format!("/channels/{tid}"),
        w.owner.auth(),
        Some(json!({"invitable": false})),
    )
    .await
    .expect(200);
    api.put(
        &format!("/channels/{tid}/thread-members/{}", outsider.id),
        w.member.auth(),
        None,
    )
    .await
    .expect_error(403, 50013);
}

#[tokio::test]
async fn archiving_locking_and_deleting_follow_discords_rules() {
    let w = World::new().await;
    let api = &w.api;
    let third = w.add_member("third").await;
    let mut watcher = login(api, &third, intents::GUILDS).await;
    let thread = api
        .post(
            &format!("/channels/{}/threads", w.general),
            w.member.auth(),
            Some(json!({"name": "ideas", "type": 11, "auto_archive_duration": 60})),
        )
        .await
        .expect(201);
    let tid = str_field(&thread, "id");
    let at = format!("/channels/{tid}");
    watcher
        .expect_dispatch("THREAD_CREATE", EVENT_TIMEOUT)
        .await;

    // Its owner archives it: it moves from the active to the archived list.
    let archived = api
        .patch(&at, w.member.auth(), Some(json!({"archived": true})))
        .await
        .expect(200);
    assert_eq!(archived["thread_metadata"]["archived"], true);
    let update = watcher
        .expect_dispatch("THREAD_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(update["thread_metadata"]["archived"], true);
    let active = api
        .get(&w.g("/threads/active"), third.auth())
        .await
        .expect(200);
    assert!(ids(&active["threads"]).is_empty());
    let list = api
        .get(
            &format!("/channels/{}/threads/archived/public", w.general),
            third.auth(),
        )
        .await
        .expect(200);
    assert_eq!(ids(&list["threads"]), vec![tid.clone()]);
    assert_eq!(list["has_more"], false);

    // Archived, it changes only by being unarchived; a post unarchives it.
    api.patch(&at, w.member.auth(), Some(json!({"name": "renamed"})))
        .await
        .expect_error(400, 50083);
    let revival = str_field(&api.send(&third, &tid, "reviving this").await, "id");
    let revived = watcher
        .expect_dispatch("THREAD_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(revived["thread_metadata"]["archived"], false);

    // Someone else's thread: no renaming, locking or archiving without
    // MANAGE_THREADS.
    api.patch(&at, third.auth(), Some(json!({"name": "mine now"})))
        .await
        .expect_error(403, 50013);
    api.patch(&at, w.member.auth(), Some(json!({"locked": true})))
        .await
        .expect_error(403, 50013);

    // Locked and archived by a moderator: nobody else posts or reopens.
    let moderator = w.add_member("moderator").await;
    w.grant(
        &moderator.id,
        "mods",
        perm::VIEW_CHANNEL | perm::SEND_MESSAGES | MANAGE_THREADS,
    )
    .await;
    api.patch(
        &at,
        moderator.auth(),
        Some(json!({"locked": true, "archived": true})),
    )
    .await
    .expect(200);
    api.post(
        &format!("{at}/messages"),
        third.auth(),
        Some(json!({"content": "hello?"})),
    )
    .await
    .expect_error(400, 50083);
    api.patch(&at, w.member.auth(), Some(json!({"archived": false})))
        .await
        .expect_error(403, 50013);
    api.put(&format!("{at}/thread-members/@me"), third.auth(), None)
        .await
        .expect_error(400, 50083);
    // Nor react, pin or edit there; reading still works.
    api.put(
        &format!("{at}/messages/{revival}/reactions/%F0%9F%91%8D/@me"),
        third.auth(),
        None,
    )
    .await
    .expect_error(400, 50083);
    api.put(&format!("{at}/pins/{revival}"), w.owner.auth(), None)
        .await
        .expect_error(400, 50083);
    api.patch(
        &format!("{at}/messages/{revival}"),
        third.auth(),
        Some(json!({"content": "edited"})),
    )
    .await
    .expect_error(400, 50083);
    api.get(&format!("{at}/messages"), third.auth())
        .await
        .expect(200);

    // Only a moderator deletes it; its messages go with it.
    api.delete(&at, w.member.auth())
        .await
        .expect_error(403, 50013);
    api.delete(&at, moderator.auth()).await.expect(200);
    let gone = watcher
        .expect_dispatch("THREAD_DELETE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(gone["id"], tid.as_str());
    assert_eq!(gone["parent_id"], w.general.as_str());
    assert_eq!(gone["type"], 11);
    api.get(&at, third.auth()).await.expect_error(404, 10003);
    api.get(&format!("{at}/messages"), third.auth())
        .await
        .expect_error(404, 10003);
}

#[tokio::test]
async fn bad_thread_requests_are_refused_and_change_nothing() {
    let w = World::new().await;
    let api = &w.api;
    let start = format!("/channels/{}/threads", w.general);
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (
            json!({"name": "ok", "auto_archive_duration": 7}),
            "auto_archive_duration",
        ),
        (json!({"name": "ok", "type": 0}), "type"),
        (
            json!({"name": "ok", "rate_limit_per_user": 99999}),
            "rate_limit_per_user",
        ),
        (json!({}), "name"),
    ] {
        api.post(&start, w.member.auth(), Some(body))
            .await
            .expect_field_error(&[field]);
    }
    // Not in a voice channel; not from a message of another channel; not
    // as a guild channel.
    let voice = api.channel_id(&w.owner, &w.guild_id, "General", 2).await;
    api.post(
        &format!("/channels/{voice}/threads"),
        w.owner.auth(),
        Some(json!({"name": "nope"})),
    )
    .await
    .expect_error(400, 50024);
    let elsewhere = api.text_channel(&w.owner, &w.guild_id, "elsewhere").await;
    let other_message = str_field(&api.send(&w.owner, &elsewhere, "over here").await, "id");
    api.post(
        &format!("/channels/{}/messages/{other_message}/threads", w.general),
        w.owner.auth(),
        Some(json!({"name": "nope"})),
    )
    .await
    .expect_error(404, 10008);
    api.post(
        &w.g("/channels"),
        w.owner.auth(),
        Some(json!({"name": "sneaky", "type": 11})),
    )
    .await
    .expect_field_error(&["type"]);
    // Without CREATE_PUBLIC_THREADS in the channel: refused.
    let everyone = w.guild_id.clone();
    api.set_overwrite(&w.owner, &w.general, &everyone, 0, 0, 1 << 35)
        .await;
    api.post(
        &start,
        w.member.auth(),
        Some(json!({"name": "public", "type": 11})),
    )
    .await
    .expect_error(403, 50013);

    // Nothing was made.
    let active = api
        .get(&w.g("/threads/active"), w.owner.auth())
        .await
        .expect(200);
    assert!(ids(&active["threads"]).is_empty());
    let channels = api.get(&w.g("/channels"), w.owner.auth()).await.expect(200);
    assert!(
        channels.as_array().unwrap().iter().all(|c| c["type"] != 11),
        "{channels}"
    );
}

#[tokio::test]
async fn deleting_the_parent_takes_its_threads() {
    let w = World::new().await;
    let api = &w.api;
    let room = api.text_channel(&w.owner, &w.guild_id, "room").await;
    let thread = api
        .post(
            &format!("/channels/{room}/threads"),
            w.member.auth(),
            Some(json!({"name": "side", "type": 11})),
        )
        .await
        .expect(201);
    let tid = str_field(&thread, "id");
    api.send(&w.member, &tid, "in the side thread").await;
    let mut watcher = login(api, &w.member, intents::GUILDS).await;
    assert_eq!(ids(&watcher.guild_creates[0]["threads"]), vec![tid.clone()]);
    api.delete(&format!("/channels/{room}"), w.owner.auth())
        .await
        .expect(200);
    watcher
        .expect_dispatch("CHANNEL_DELETE", EVENT_TIMEOUT)
        .await;
    api.get(&format!("/channels/{tid}"), w.member.auth())
        .await
        .expect_error(404, 10003);
    let active = api
        .get(&w.g("/threads/active"), w.member.auth())
        .await
        .expect(200);
    assert!(ids(&active["threads"]).is_empty());
}

#[tokio::test]
async fn search_finds_thread_messages_only_for_those_who_see_the_thread() {
    let w = World::new().await;
    let api = &w.api;
    let outsider = w.add_member("outsider").await;
    let start = format!("/channels/{}/threads", w.general);
    let public = api
        .post(
            &start,
            w.member.auth(),
            Some(json!({"name": "open", "type": 11})),
        )
        .await
        .expect(201);
    let private = api
        .post(
            &start,
            w.member.auth(),
            Some(json!({"name": "closed", "type": 12})),
        )
        .await
        .expect(201);
    let (public, private) = (str_field(&public, "id"), str_field(&private, "id"));
    api.send(&w.member, &public, "marmalade in the open").await;
    api.send(&w.member, &private, "marmalade behind doors")
        .await;
    let search = |who: &crate::harness::User, extra: &str| {
        let path = w.g(&format!("/messages/search?content=marmalade{extra}"));
        let auth = who.auth().map(str::to_owned);
        async move { api.get(&path, auth.as_deref()).await.expect(200) }
    };
    let mine = search(&w.member, "").await;
    assert_eq!(mine["total_results"], 2, "{mine}");
    let theirs = search(&outsider, "").await;
    assert_eq!(theirs["total_results"], 1, "{theirs}");
    assert_eq!(theirs["messages"][0][0]["channel_id"], public.as_str());
    let narrowed = search(&outsider, &format!("&channel_id={public}")).await;
    assert_eq!(narrowed["total_results"], 1);
    api.get(
        &w.g(&format!(
            "/messages/search?content=marmalade&channel_id={private}"
        )),
        outsider.auth(),
    )
    .await
    .expect_error(403, 50001);
}

#[tokio::test]
async fn an_unarchived_private_thread_reaches_its_members_again_and_nobody_else() {
    let w = World::new().await;
    let api = &w.api;
    let friend = w.add_member("friend").await;
    let outsider = w.add_member("outsider").await;
    let thread = api
        .post(
            &format!("/channels/{}/threads", w.general),
            w.member.auth(),
            Some(json!({"name": "closed", "type": 12})),
        )
        .await
        .expect(201);
    let tid = str_field(&thread, "id");
    api.put(
        &format!("/channels/{tid}/thread-members/{}", friend.id),
        w.member.auth(),
        None,
    )
    .await
    .expect(204);
    let mut friends = login(api, &friend, intents::GUILDS | intents::GUILD_MESSAGES).await;
    let mut outsiders = login(api, &outsider, intents::GUILDS | intents::GUILD_MESSAGES).await;

    // Archived: the gateway forgets it, after telling those who see it.
    api.patch(
        &format!("/channels/{tid}"),
        w.member.auth(),
        Some(json!({"archived": true})),
    )
    .await
    .expect(200);
    let archived = friends
        .expect_dispatch("THREAD_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(archived["thread_metadata"]["archived"], true);

    // A post unarchives it: its members hear of it again, nobody else.
    api.send(&w.member, &tid, "back again").await;
    let back = friends
        .expect_dispatch("THREAD_UPDATE", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(back["thread_metadata"]["archived"], false);
    friends
        .expect_dispatch_where(
            "MESSAGE_CREATE",
            |d| d["content"] == "back again",
            EVENT_TIMEOUT,
        )
        .await;
    outsiders.expect_no_dispatch("THREAD_UPDATE", QUIET).await;
    outsiders
        .expect_no_dispatch_where("MESSAGE_CREATE", |d| d["content"] == "back again", QUIET)
        .await;
}

#[tokio::test]
async fn gaining_access_to_a_channel_syncs_its_active_threads() {
    let w = World::new().await;
    let api = &w.api;
    let secret = api.text_channel(&w.owner, &w.guild_id, "secret").await;
    let everyone = w.guild_id.clone();
    api.set_overwrite(&w.owner, &secret, &everyone, 0, 0, perm::VIEW_CHANNEL)
        .await;
    let thread = api
        .post(
            &format!("/channels/{secret}/threads"),
            w.owner.auth(),
            Some(json!({"name": "behind the door", "type": 11})),
        )
        .await
        .expect(201);
    let tid = str_field(&thread, "id");
    let mut watcher = login(api, &w.member, intents::GUILDS).await;
    assert!(ids(&watcher.guild_creates[0]["threads"]).is_empty());

    // Let in by an overwrite of their own: the channel's threads follow.
    api.set_overwrite(&w.owner, &secret, &w.member.id, 1, perm::VIEW_CHANNEL, 0)
        .await;
    let sync = watcher
        .expect_dispatch("THREAD_LIST_SYNC", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(sync["guild_id"], w.guild_id.as_str());
    assert_eq!(sync["channel_ids"], json!([secret]));
    assert_eq!(ids(&sync["threads"]), vec![tid.clone()]);
    assert_eq!(sync["members"], json!([]));
    // Seeing it already, nothing more comes of another change.
    w.grant(&w.member.id, "helpers", perm::VIEW_CHANNEL).await;
    watcher.expect_no_dispatch("THREAD_LIST_SYNC", QUIET).await;

    // Let in by a role: the same.
    let mods = api.text_channel(&w.owner, &w.guild_id, "mods").await;
    api.set_overwrite(&w.owner, &mods, &everyone, 0, 0, perm::VIEW_CHANNEL)
        .await;
    let role = api
        .create_role(&w.owner, &w.guild_id, json!({"name": "mods"}))
        .await;
    let role = str_field(&role, "id");
    api.set_overwrite(&w.owner, &mods, &role, 0, perm::VIEW_CHANNEL, 0)
        .await;
    let mod_thread = api
        .post(
            &format!("/channels/{mods}/threads"),
            w.owner.auth(),
            Some(json!({"name": "mod talk", "type": 11})),
        )
        .await
        .expect(201);
    watcher.expect_no_dispatch("THREAD_CREATE", QUIET).await;
    api.add_role(&w.owner, &w.guild_id, &w.member.id, &role)
        .await;
    let sync = watcher
        .expect_dispatch("THREAD_LIST_SYNC", EVENT_TIMEOUT)
        .await
        .d;
    assert_eq!(sync["channel_ids"], json!([mods]));
    assert_eq!(ids(&sync["threads"]), vec![str_field(&mod_thread, "id")]);
}
