//! A store with one user, one guild and some text channels in a temporary
//! directory, shared by the store benchmarks.
//!
//! The directory is made under `HEARTH_BENCH_DIR` if set, else under cargo's
//! `target/tmp`: `/tmp` is a RAM disk on many systems, where an fsync costs
//! nothing and `Durability::Full` would look free.

// Each bench target includes this file and uses a different part of it.
#![allow(dead_code)]
//!
//! The fixture goes through the same `GuildStore` and `AccountStore` calls as
//! the API does, so an insert also finds the channel row it advances
//! (`last_message_id`) and a list joins a real author row.

use hearth_model::{
    message_type, Channel, ChannelType, Guild, Message, Permissions, Role, Snowflake,
    SnowflakeGenerator, Timestamp, User,
};
use hearth_store::{AccountStore, Durability, GuildStore, MessageStore, NewUser, SqliteStore};
use tempfile::TempDir;

pub struct Fixture {
    pub store: SqliteStore,
    pub ids: SnowflakeGenerator,
    pub author: User,
    pub guild_id: Snowflake,
    pub channels: Vec<Snowflake>,
    /// Dropped last: removes the database files.
    _dir: TempDir,
}

impl Fixture {
    pub async fn new(durability: Durability, channel_count: usize) -> anyhow::Result<Fixture> {
        let dir = bench_dir()?;
        let store = SqliteStore::open(dir.path(), durability).await?;
        let ids = SnowflakeGenerator::new(1, 1);
        let author = store
            .create_user(NewUser {
                id: ids.next(),
                username: "bench".into(),
                global_name: Some("Bench".into()),
                password_hash: None,
                bot: false,
            })
            .await?;
        let guild_id = ids.next();
        let channels: Vec<Channel> = (0..channel_count)
            .map(|i| text_channel(ids.next(), guild_id, i))
            .collect();
        store
            .create_guild(&guild(guild_id, author.id), &channels, Timestamp::now())
            .await?;
        Ok(Fixture {
            store,
            ids,
            author,
            guild_id,
            channels: channels.iter().map(|c| c.id).collect(),
            _dir: dir,
        })
    }

    /// A plain text message of about 60 characters, the common case.
    pub fn message(&self, channel_id: Snowflake, n: u64) -> Message {
        Message {
            id: self.ids.next(),
            channel_id,
            guild_id: Some(self.guild_id),
            author: self.author.clone(),
            content: format!("message {n}: the quick brown fox jumps over the lazy dog"),
            timestamp: Timestamp::now(),
            edited_timestamp: None,
            tts: false,
            mention_everyone: false,
            mentions: Vec::new(),
            mention_roles: Vec::new(),
            attachments: Vec::new(),
            embeds: Vec::new(),
            pinned: false,
            kind: message_type::DEFAULT,
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

    /// Writes `per_channel` messages into every channel, so that pages of 50
    /// are full; returns the ids written, oldest first, per channel.
    pub async fn seed(&self, per_channel: u64) -> anyhow::Result<Vec<Vec<Snowflake>>> {
        let mut written = Vec::with_capacity(self.channels.len());
        for &channel in &self.channels {
            let mut ids = Vec::with_capacity(per_channel as usize);
            for n in 0..per_channel {
                let m = self.message(channel, n);
                self.store.insert_message(&m).await?;
                ids.push(m.id);
            }
            written.push(ids);
        }
        Ok(written)
    }
}

/// A fresh temporary directory on the disk the project lives on (see above).
pub fn bench_dir() -> std::io::Result<TempDir> {
    let parent = std::env::var_os("HEARTH_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_TARGET_TMPDIR").into());
    std::fs::create_dir_all(&parent)?;
    tempfile::Builder::new()
        .prefix("hearth-bench")
        .tempdir_in(parent)
}

fn text_channel(id: Snowflake, guild_id: Snowflake, position: usize) -> Channel {
    Channel {
        id,
        kind: ChannelType::Text,
        guild_id,
        position: position as i32,
        permission_overwrites: Vec::new(),
        name: format!("channel-{position}"),
        parent_id: None,
        nsfw: false,
        flags: 0,
        topic: Some(String::new()),
        last_message_id: None,
        rate_limit_per_user: Some(0),
        bitrate: None,
        user_limit: None,
        rtc_region: None,
        thread: None,
    }
}

pub fn guild(id: Snowflake, owner_id: Snowflake) -> Guild {
    Guild {
        id,
        name: "bench".into(),
        icon: None,
        description: None,
        owner_id,
        afk_channel_id: None,
        afk_timeout: 300,
        system_channel_id: None,
        verification_level: 0,
        default_message_notifications: 0,
        explicit_content_filter: 0,
        mfa_level: 0,
        nsfw_level: 0,
        premium_tier: 0,
        preferred_locale: "en-US".into(),
        features: Vec::new(),
        emojis: Vec::new(),
        stickers: Vec::new(),
        roles: vec![Role {
            id,
            name: "@everyone".into(),
            color: 0,
            hoist: false,
            icon: None,
            unicode_emoji: None,
            position: 0,
            permissions: Permissions::EVERYONE_DEFAULT,
            managed: false,
            mentionable: false,
            flags: 0,
            tags: None,
        }],
        approximate_member_count: None,
        unused: Default::default(),
    }
}
