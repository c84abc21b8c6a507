use serde_json::{json, Value};

use super::*;

fn user(id: u64) -> User {
    serde_json::from_value(json!({
        "id": id.to_string(), "username": format!("u{id}"), "discriminator": "0",
        "global_name": null, "avatar": null,
    }))
    .unwrap()
}

fn member(id: u64) -> Member {
    serde_json::from_value(json!({
        "user": user(id), "nick": "nick", "avatar": null, "roles": ["7"],
        "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false,
        "flags": 0, "pending": false, "communication_disabled_until": null,
    }))
    .unwrap()
}

fn role(id: u64) -> Role {
    serde_json::from_value(json!({
        "id": id.to_string(), "name": "mods", "color": 0, "hoist": false, "icon": null,
        "unicode_emoji": null, "position": 1, "permissions": "8", "managed": false,
        "mentionable": false, "flags": 0,
    }))
    .unwrap()
}

fn channel(rtc_region: Option<Value>) -> Channel {
    let mut c = json!({
        "id": "20", "type": 2, "guild_id": "1", "position": 0,
        "permission_overwrites": [{"id": "7", "type": 0, "allow": "0", "deny": "1024"}],
        "name": "voice", "parent_id": null, "nsfw": false, "flags": 0,
    });
    if let Some(r) = rtc_region {
        c["rtc_region"] = r;
    }
    serde_json::from_value(c).unwrap()
}

fn thread() -> Channel {
    serde_json::from_value(json!({
        "id": "40", "type": 12, "guild_id": "1", "position": 0, "permission_overwrites": [],
        "name": "plans", "parent_id": "10", "nsfw": false, "flags": 0,
        "last_message_id": "41", "rate_limit_per_user": 0, "owner_id": "2",
        "thread_metadata": {
            "archived": false, "auto_archive_duration": 60, "locked": false, "invitable": true,
            "archive_timestamp": "2026-01-01T00:00:00.000000+00:00",
            "create_timestamp": "2026-01-01T00:00:00.000000+00:00",
        },
        "message_count": 1, "member_count": 2, "total_message_sent": 1,
    }))
    .unwrap()
}

#[test]
fn a_thread_is_written_as_discord_writes_it() {
    let t = thread();
    assert!(t.thread.is_some());
    let d: Value = serde_json::from_slice(
        &Event::ThreadCreate {
            thread: t,
            newly_created: true,
        }
        .d_json(),
    )
    .unwrap();
    assert_eq!(d["owner_id"], "2");
    assert_eq!(d["thread_metadata"]["invitable"], true);
    assert_eq!(d["member_count"], 2);
    assert_eq!(d["newly_created"], true);
    // A plain channel has none of it.
    let plain: Value =
        serde_json::from_slice(&Event::ChannelUpdate(channel(None)).d_json()).unwrap();
    assert!(plain.get("thread_metadata").is_none() && plain.get("owner_id").is_none());
}

fn guild() -> Guild {
    serde_json::from_value(json!({
        "id": "1", "name": "g", "icon": null, "description": null, "owner_id": "2",
        "afk_channel_id": null, "afk_timeout": 300, "system_channel_id": null,
        "verification_level": 0, "default_message_notifications": 0,
        "explicit_content_filter": 0, "mfa_level": 0, "nsfw_level": 0, "premium_tier": 0,
        "preferred_locale": "en-US", "features": [], "emojis": [], "stickers": [],
        "roles": [role(1)],
    }))
    .unwrap()
}

fn message(referenced: Option<Value>) -> Message {
    let mut m = json!({
        "id": "30", "channel_id": "10", "guild_id": "1", "author": user(2),
        "content": "hello", "timestamp": "2026-01-01T00:00:00.000000+00:00",
        "edited_timestamp": null, "tts": false, "mention_everyone": false,
        "mentions": [user(3)], "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": false, "type": 0, "flags": 0, "nonce": 12345,
    });
    if let Some(r) = referenced {
        m["referenced_message"] = r;
    }
    serde_json::from_value(m).unwrap()
}

fn every_variant() -> Vec<Event> {
    let voice_state = VoiceState {
        guild_id: Some(Snowflake(1)),
        channel_id: Some(Snowflake(20)),
        user_id: Snowflake(2),
        member: Some(member(2)),
        session_id: "s".into(),
        deaf: false,
        mute: true,
        self_deaf: false,
        self_mute: true,
        self_stream: false,
        self_video: false,
        suppress: false,
        request_to_speak_timestamp: None,
    };
    let g = Snowflake(1);
    vec![
        Event::GuildUpdate(guild()),
        Event::GuildDelete { guild_id: g },
        Event::ChannelCreate(channel(None)),
        Event::ChannelUpdate(channel(Some(Value::Null))),
        Event::ChannelDelete(channel(Some(json!("eu")))),
        Event::ThreadCreate {
            thread: thread(),
            newly_created: true,
        },
        Event::ThreadUpdate {
            thread: thread(),
            members: Some(vec![Snowflake(2), Snowflake(3)]),
        },
        Event::ThreadShown {
            user_id: Snowflake(3),
            thread: thread(),
        },
        Event::ThreadDelete {
            thread: thread(),
            members: Some(vec![Snowflake(2)]),
        },
        Event::ThreadMembersUpdate(ThreadMembersChange {
            id: Snowflake(40),
            guild_id: Snowflake(1),
            member_count: 2,
            added: vec![hearth_model::ThreadMember {
                id: Snowflake(40),
                user_id: Snowflake(3),
                join_timestamp: Timestamp(1_800_000_000_000),
                flags: 0,
            }],
            removed: Vec::new(),
        }),
        Event::GuildRoleCreate {
            guild_id: g,
            role: role(7),
        },
        Event::GuildRoleUpdate {
            guild_id: g,
            role: role(7),
        },
        Event::GuildRoleDelete {
            guild_id: g,
            role_id: Snowflake(7),
        },
        Event::GuildMemberAdd {
            guild_id: g,
            member: member(2),
        },
        Event::GuildMemberUpdate {
            guild_id: g,
            member: member(2),
        },
        Event::GuildMemberRemove {
            guild_id: g,
            user: user(2),
        },
        Event::GuildBanAdd {
            guild_id: g,
            user: user(2),
        },
        Event::GuildBanRemove {
            guild_id: g,
            user: user(2),
        },
        Event::MessageCreate {
            message: message(None),
            member: Some(member(2)),
        },
        Event::MessageCreate {
            message: message(Some(Value::Null)),
            member: None,
        },
        Event::MessageUpdate(message(Some(serde_json::to_value(message(None)).unwrap()))),
        Event::MessageDelete {
            id: Snowflake(30),
            channel_id: Snowflake(10),
            guild_id: g,
        },
        Event::MessageDeleteBulk {
            ids: vec![Snowflake(30), Snowflake(31)],
            channel_id: Snowflake(10),
            guild_id: g,
        },
        Event::TypingStart {
            channel_id: Snowflake(10),
            guild_id: g,
            timestamp: 1_700_000_000,
            member: member(2),
        },
        Event::UserUpdate(user(2)),
        Event::PresenceUpdate(Presence {
            user_id: Snowflake(2),
            guild_id: g,
            status: Status::Idle,
            activities: vec![json!({"name": "chess", "type": 0})],
        }),
        Event::VoiceStateUpdate {
            guild_id: g,
            state: voice_state,
            node: "node-7".into(),
        },
    ]
}

#[test]
fn every_event_crosses_between_nodes_unchanged() {
    for event in every_variant() {
        let back = Event::from_bus(&event.to_bus()).unwrap();
        assert_eq!(back, event, "{}", event.name());
        // What sessions get is the same on the node that received it.
        assert_eq!(back.d_json(), event.d_json(), "{}", event.name());
    }
}

#[test]
fn a_deleted_reply_target_stays_null_across_nodes() {
    let event = Event::MessageCreate {
        message: message(Some(Value::Null)),
        member: None,
    };
    let back = Event::from_bus(&event.to_bus()).unwrap();
    let d: Value = serde_json::from_slice(&back.d_json()).unwrap();
    assert_eq!(d.get("referenced_message"), Some(&Value::Null));
}

#[test]
fn garbage_from_the_bus_is_an_error_not_a_panic() {
    for bytes in [&b""[..], b"\x81\xa1x\x01", b"\xff\xff", b"\x92\x01\x02"] {
        assert!(Event::from_bus(bytes).is_err());
    }
}

fn d(event: &Event) -> Value {
    serde_json::from_slice(&event.d_json()).unwrap()
}

#[test]
fn message_create_carries_the_member_without_its_user() {
    let event = Event::MessageCreate {
        message: message(None),
        member: Some(member(2)),
    };
    let d = d(&event);
    assert_eq!(d["content"], "hello");
    assert_eq!(d["author"]["id"], "2");
    assert_eq!(d["member"]["nick"], "nick");
    assert!(d["member"].get("user").is_none());
    assert_eq!(
        event.audience(),
        Audience::Channel {
            guild_id: Snowflake(1),
            channel_id: Snowflake(10)
        }
    );
}

#[test]
fn member_events_carry_the_guild_id_beside_the_member() {
    let d = d(&Event::GuildMemberUpdate {
        guild_id: Snowflake(1),
        member: member(2),
    });
    assert_eq!(d["guild_id"], "1");
    assert_eq!(d["user"]["id"], "2");
    assert_eq!(d["roles"], json!(["7"]));
}

#[test]
fn presence_shows_the_desktop_client_unless_offline() {
    let presence = |status| {
        d(&Event::PresenceUpdate(Presence {
            user_id: Snowflake(2),
            guild_id: Snowflake(1),
            status,
            activities: vec![],
        }))
    };
    let online = presence(Status::Online);
    assert_eq!(online["user"], json!({"id": "2"}));
    assert_eq!(online["client_status"], json!({"desktop": "online"}));
    assert_eq!(presence(Status::Offline)["client_status"], json!({}));
}

#[test]
fn each_event_names_its_intent_and_audience() {
    use crate::gateway::intents::*;
    let g = Snowflake(1);
    let cases = [
        (
            Event::GuildRoleDelete {
                guild_id: g,
                role_id: Snowflake(7),
            },
            Some(GUILDS),
            Audience::Guild(g),
        ),
        (
            Event::GuildBanAdd {
                guild_id: g,
                user: user(2),
            },
            Some(GUILD_MODERATION),
            Audience::Guild(g),
        ),
        (
            Event::TypingStart {
                channel_id: Snowflake(10),
                guild_id: g,
                timestamp: 0,
                member: member(2),
            },
            Some(GUILD_MESSAGE_TYPING),
            Audience::Channel {
                guild_id: g,
                channel_id: Snowflake(10),
            },
        ),
        (
            Event::UserUpdate(user(2)),
            None,
            Audience::User(Snowflake(2)),
        ),
        (
            Event::ChannelDelete(channel(None)),
            Some(GUILDS),
            Audience::Channel {
                guild_id: g,
                channel_id: Snowflake(20),
            },
        ),
    ];
    for (event, intent, audience) in cases {
        assert_eq!(event.intent(), intent, "{}", event.name());
        assert_eq!(event.audience(), audience, "{}", event.name());
    }
}
