//! Objects the cases store: users, a guild with its @everyone role and a
//! text channel, messages at chosen times.

use std::sync::atomic::{AtomicU64, Ordering};

use hearth_model::{
    Channel, ChannelType, Guild, Invite, Message, PartialChannel, PartialGuild, Permissions, Role,
    Snowflake, SnowflakeGenerator, Timestamp, User, Webhook,
};
use hearth_store::{NewUser, Store};

/// Ids for everything but messages whose time matters.
pub fn id() -> Snowflake {
    static IDS: std::sync::OnceLock<SnowflakeGenerator> = std::sync::OnceLock::new();
    IDS.get_or_init(|| SnowflakeGenerator::new(1, 1)).next()
}

/// A message id at `unix_ms`, unique within the process.
pub fn id_at(unix_ms: u64) -> Snowflake {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let at = Snowflake::from_timestamp_ms(unix_ms);
    Snowflake(at.0 | (SEQ.fetch_add(1, Ordering::Relaxed) & 0xfff))
}

pub fn now() -> Timestamp {
    Timestamp::now()
}

pub async fn user(store: &dyn Store, name: &str) -> User {
    store
        .create_user(NewUser {
            id: id(),
            username: name.to_owned(),
            global_name: Some(format!("{name} shown")),
            password_hash: Some("argon2-hash".to_owned()),
            bot: false,
        })
        .await
        .expect("creating a user")
}

pub fn role(guild_id: Snowflake, id: Snowflake, name: &str, position: i32) -> Role {
    Role {
        id,
        name: name.to_owned(),
        color: 0x336699,
        hoist: false,
        icon: None,
        unicode_emoji: None,
        position,
        permissions: Permissions(if id == guild_id { 0x400 } else { 0 }),
        managed: false,
        mentionable: false,
        flags: 0,
        tags: None,
    }
}

pub fn channel(guild_id: Snowflake, kind: ChannelType, name: &str) -> Channel {
    let text = kind == ChannelType::Text;
    let voice = kind == ChannelType::Voice;
    Channel {
        id: id(),
        kind,
        guild_id,
        position: 0,
        permission_overwrites: Vec::new(),
        name: name.to_owned(),
        parent_id: None,
        nsfw: false,
        flags: 0,
        topic: text.then(String::new),
        last_message_id: None,
        rate_limit_per_user: (kind != ChannelType::Category).then_some(0),
        bitrate: voice.then_some(64000),
        user_limit: voice.then_some(0),
        rtc_region: voice.then_some(None),
        thread: None,
    }
}

/// A guild owned by `owner`, with @everyone and one text channel.
pub struct World {
    pub guild: Guild,
    pub text: Channel,
    pub owner: User,
}

pub async fn world(store: &dyn Store, owner: User) -> World {
    let guild_id = id();
    let text = channel(guild_id, ChannelType::Text, "general");
    let guild = Guild {
        id: guild_id,
        name: "hearth".to_owned(),
        icon: None,
        description: None,
        owner_id: owner.id,
        afk_channel_id: None,
        afk_timeout: 300,
        system_channel_id: Some(text.id),
        verification_level: 0,
        default_message_notifications: 0,
        explicit_content_filter: 0,
        mfa_level: 0,
        nsfw_level: 0,
        premium_tier: 0,
        preferred_locale: "en-US".to_owned(),
        features: Vec::new(),
        emojis: Vec::new(),
        stickers: Vec::new(),
        roles: vec![role(guild_id, guild_id, "@everyone", 0)],
        approximate_member_count: None,
        unused: Default::default(),
    };
    store
        .create_guild(&guild, std::slice::from_ref(&text), now())
        .await
        .expect("creating a guild");
    World { guild, text, owner }
}

pub fn message(
    world: &World,
    channel: &Channel,
    author: &User,
    id: Snowflake,
    content: &str,
) -> Message {
    Message {
        id,
        channel_id: channel.id,
        guild_id: Some(world.guild.id),
        author: author.clone(),
        content: content.to_owned(),
        timestamp: Timestamp(id.timestamp_ms() as i64),
        edited_timestamp: None,
        tts: false,
        mention_everyone: false,
        mentions: Vec::new(),
        mention_roles: Vec::new(),
        attachments: Vec::new(),
        embeds: Vec::new(),
        pinned: false,
        kind: 0,
        flags: 0,
        nonce: None,
        webhook_id: None,
        message_reference: None,
        referenced_message: None,
        reactions: Vec::new(),
        components: Vec::new(),
        application_id: None,
        interaction_metadata: None,
        interaction: None,
        call: None,
    }
}

pub fn invite(
    world: &World,
    code: &str,
    max_uses: u32,
    max_age: u32,
    created: Timestamp,
) -> Invite {
    Invite {
        kind: 0,
        code: code.to_owned(),
        guild: PartialGuild {
            id: world.guild.id,
            name: world.guild.name.clone(),
            icon: None,
        },
        channel: PartialChannel {
            id: world.text.id,
            name: world.text.name.clone(),
            kind: ChannelType::Text,
        },
        inviter: Some(world.owner.clone()),
        max_age,
        max_uses,
        uses: 0,
        temporary: false,
        created_at: created,
        expires_at: None,
    }
}

pub fn webhook(world: &World, channel: &Channel, token: &str) -> Webhook {
    Webhook {
        id: id(),
        kind: 1,
        guild_id: world.guild.id,
        channel_id: channel.id,
        name: Some("hook".to_owned()),
        avatar: None,
        token: Some(token.to_owned()),
        user: Some(world.owner.clone()),
        application_id: None,
    }
}

/// The ids of messages, in the order given.
pub fn ids(messages: &[Message]) -> Vec<Snowflake> {
    messages.iter().map(|m| m.id).collect()
}
