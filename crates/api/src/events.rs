//! The dispatches REST changes cause, published on the bus for gateways.
//!
//! Each function names a Discord dispatch and shapes its `d`; the audience
//! says who may receive it (the gateway adds intents and, for channel
//! events, VIEW_CHANNEL).

use hearth_model::{Channel, Guild, Member, Message, Role, Snowflake, User};
use hearth_proto::events::{Audience, Event};
use serde::Serialize;
use serde_json::{json, Value};

use crate::state::AppState;

fn value(v: &impl Serialize) -> Value {
    // Model objects always serialise.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A member as dispatches carry it: the member object plus `guild_id`.
fn member_with_guild(guild: Snowflake, member: &Member) -> Value {
    let mut d = value(member);
    d["guild_id"] = json!(guild);
    d
}

/// The partial member Discord attaches to MESSAGE_CREATE and TYPING_START.
pub fn partial_member(member: &Member) -> Value {
    let mut d = value(member);
    if let Some(obj) = d.as_object_mut() {
        obj.remove("user");
    }
    d
}

impl AppState {
    fn publish(&self, audience: Audience, name: &str, data: Value) {
        self.bus.publish(Event::new(audience, name, data));
    }

    pub fn guild_updated(&self, guild: &Guild) {
        self.publish(Audience::Guild(guild.id), "GUILD_UPDATE", value(guild));
    }

    pub fn guild_deleted(&self, guild: Snowflake) {
        self.publish(
            Audience::Guild(guild),
            "GUILD_DELETE",
            json!({ "id": guild }),
        );
    }

    pub fn channel_event(&self, name: &str, channel: &Channel) {
        self.publish(
            Audience::Channel {
                guild_id: channel.guild_id,
                channel_id: channel.id,
            },
            name,
            value(channel),
        );
    }

    pub fn role_event(&self, name: &str, guild: Snowflake, role: &Role) {
        self.publish(
            Audience::Guild(guild),
            name,
            json!({ "guild_id": guild, "role": role }),
        );
    }

    /// Roles a create, edit or reorder moved to keep positions dense
    /// (`GuildStore::create_role`); clients learn their new positions.
    pub fn roles_moved(&self, guild: Snowflake, moved: &[Role]) {
        for role in moved {
            self.role_event("GUILD_ROLE_UPDATE", guild, role);
        }
    }

    pub fn role_deleted(&self, guild: Snowflake, role: Snowflake) {
        self.publish(
            Audience::Guild(guild),
            "GUILD_ROLE_DELETE",
            json!({ "guild_id": guild, "role_id": role }),
        );
    }

    pub fn member_added(&self, guild: Snowflake, member: &Member) {
        self.publish(
            Audience::Guild(guild),
            "GUILD_MEMBER_ADD",
            member_with_guild(guild, member),
        );
    }

    pub fn member_updated(&self, guild: Snowflake, member: &Member) {
        self.publish(
            Audience::Guild(guild),
            "GUILD_MEMBER_UPDATE",
            member_with_guild(guild, member),
        );
    }

    pub fn member_removed(&self, guild: Snowflake, user: &User) {
        self.publish(
            Audience::Guild(guild),
            "GUILD_MEMBER_REMOVE",
            json!({ "guild_id": guild, "user": user }),
        );
    }

    pub fn ban_event(&self, name: &str, guild: Snowflake, user: &User) {
        self.publish(
            Audience::Guild(guild),
            name,
            json!({ "guild_id": guild, "user": user }),
        );
    }

    fn message_audience(message: &Message) -> Audience {
        match message.guild_id {
            Some(guild_id) => Audience::Channel {
                guild_id,
                channel_id: message.channel_id,
            },
            None => Audience::User(message.author.id),
        }
    }

    pub fn message_created(&self, message: &Message, member: Option<&Member>) {
        let mut d = value(message);
        if let Some(m) = member {
            d["member"] = partial_member(m);
        }
        self.publish(Self::message_audience(message), "MESSAGE_CREATE", d);
    }

    pub fn message_updated(&self, message: &Message) {
        self.publish(
            Self::message_audience(message),
            "MESSAGE_UPDATE",
            value(message),
        );
    }

    pub fn message_deleted(&self, guild: Snowflake, channel: Snowflake, id: Snowflake) {
        self.publish(
            Audience::Channel {
                guild_id: guild,
                channel_id: channel,
            },
            "MESSAGE_DELETE",
            json!({ "id": id, "channel_id": channel, "guild_id": guild }),
        );
    }

    pub fn messages_deleted(&self, guild: Snowflake, channel: Snowflake, ids: &[Snowflake]) {
        self.publish(
            Audience::Channel {
                guild_id: guild,
                channel_id: channel,
            },
            "MESSAGE_DELETE_BULK",
            json!({ "ids": ids, "channel_id": channel, "guild_id": guild }),
        );
    }

    pub fn typing(&self, channel: &Channel, member: &Member, unix_secs: u64) {
        self.publish(
            Audience::Channel {
                guild_id: channel.guild_id,
                channel_id: channel.id,
            },
            "TYPING_START",
            json!({
                "channel_id": channel.id,
                "guild_id": channel.guild_id,
                "user_id": member.user.id,
                "timestamp": unix_secs,
                "member": member,
            }),
        );
    }

    pub fn user_updated(&self, user: &User) {
        self.publish(Audience::User(user.id), "USER_UPDATE", value(user));
    }
}
