//! Hearth's domain: snowflake ids, the permission bitfield and its
//! computation, timestamps, and the objects users see (users, guilds,
//! channels, roles, members, messages, invites, webhooks).
//!
//! The objects serialise with Discord API v10 field names because that is
//! what every client of ours speaks; keeping one type for the domain and the
//! wire avoids a layer of copies that would differ only in name. Nothing here
//! does IO or knows about tokio, HTTP or SQL.

pub mod attachments;
pub mod commands;
pub mod components;
pub mod notifications;
pub mod objects;
pub mod permissions;
pub mod private;
pub mod snowflake;
pub mod threads;
pub mod timestamp;

pub use attachments::Attachment;
pub use commands::{ApplicationCommand, ChoiceValue, CommandChoice, CommandOption};
pub use components::{Component, SelectDefault, SelectOption};
pub use notifications::{
    ChannelOverride, ChannelOverridePatch, DmPrivacy, GuildSettingsPatch, MuteConfig, NotifyLevel,
    UserGuildSettings,
};
pub use objects::*;
pub use permissions::Permissions;
pub use private::{PrivateChannel, PrivateChannelType, Relationship};
pub use snowflake::{Snowflake, SnowflakeGenerator};
pub use threads::{ThreadFields, ThreadMember, ThreadMetadata};
pub use timestamp::Timestamp;
