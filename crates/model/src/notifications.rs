//! A user's notification settings for a guild and its channels (Discord's
//! user guild settings): what notifies them, and what is muted until when.
//! Clients decide what to show from them; the server keeps them so every
//! device of the user agrees.

use serde::{Deserialize, Serialize};

use crate::{Snowflake, Timestamp};

/// Who may open DMs with a user (Discord's user settings of those names):
/// not the members of `restricted_guilds`, nor of guilds joined later when
/// `default_guilds_restricted`. Someone sharing another guild still may.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmPrivacy {
    pub restricted_guilds: Vec<Snowflake>,
    pub default_guilds_restricted: bool,
}

/// Which messages notify (Discord's `message_notifications`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum NotifyLevel {
    #[default]
    AllMessages,
    OnlyMentions,
    NoMessages,
    /// A channel's: as its guild (or category) says.
    ParentDefault,
}

impl TryFrom<u8> for NotifyLevel {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        Ok(match v {
            0 => NotifyLevel::AllMessages,
            1 => NotifyLevel::OnlyMentions,
            2 => NotifyLevel::NoMessages,
            3 => NotifyLevel::ParentDefault,
            other => return Err(format!("{other} is not a notification level")),
        })
    }
}

impl From<NotifyLevel> for u8 {
    fn from(l: NotifyLevel) -> u8 {
        match l {
            NotifyLevel::AllMessages => 0,
            NotifyLevel::OnlyMentions => 1,
            NotifyLevel::NoMessages => 2,
            NotifyLevel::ParentDefault => 3,
        }
    }
}

/// Until when a mute lasts; without an end, until it is lifted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MuteConfig {
    pub end_time: Option<Timestamp>,
    /// The window the user picked, in seconds (-1: until lifted), as the
    /// client sent it; kept to show the same choice again.
    #[serde(default = "until_lifted")]
    pub selected_time_window: i64,
}

fn until_lifted() -> i64 {
    -1
}

/// One channel's settings within the guild's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelOverride {
    pub channel_id: Snowflake,
    pub message_notifications: NotifyLevel,
    pub muted: bool,
    pub mute_config: Option<MuteConfig>,
    pub collapsed: bool,
}

impl ChannelOverride {
    fn new(channel_id: Snowflake) -> Self {
        ChannelOverride {
            channel_id,
            message_notifications: NotifyLevel::ParentDefault,
            muted: false,
            mute_config: None,
            collapsed: false,
        }
    }
}

/// A user's settings for one guild (READY's `user_guild_settings` entries,
/// `USER_GUILD_SETTINGS_UPDATE`'s `d`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserGuildSettings {
    pub guild_id: Snowflake,
    pub message_notifications: NotifyLevel,
    pub muted: bool,
    pub mute_config: Option<MuteConfig>,
    pub suppress_everyone: bool,
    pub suppress_roles: bool,
    pub mobile_push: bool,
    pub hide_muted_channels: bool,
    pub channel_overrides: Vec<ChannelOverride>,
    /// Counts the changes, as Discord's does.
    pub version: u64,
}

impl UserGuildSettings {
    /// What a member has before changing anything: the guild's default.
    pub fn defaults(guild_id: Snowflake, guild_default: NotifyLevel) -> Self {
        UserGuildSettings {
            guild_id,
            message_notifications: guild_default,
            muted: false,
            mute_config: None,
            suppress_everyone: false,
            suppress_roles: false,
            mobile_push: true,
            hide_muted_channels: false,
            channel_overrides: Vec::new(),
            version: 0,
        }
    }

    /// Applies a change: only the fields it names, for the guild and for
    /// each channel it names. Overrides of channels not in `channels` (gone
    /// since) are dropped, so they never outnumber the guild's channels.
    pub fn apply(&mut self, patch: &GuildSettingsPatch, channels: &[Snowflake]) {
        if let Some(level) = patch.message_notifications {
            self.message_notifications = level;
        }
        if let Some(muted) = patch.muted {
            self.muted = muted;
        }
        if let Some(config) = &patch.mute_config {
            self.mute_config = config.clone();
        }
        if let Some(v) = patch.suppress_everyone {
            self.suppress_everyone = v;
        }
        if let Some(v) = patch.suppress_roles {
            self.suppress_roles = v;
        }
        if let Some(v) = patch.mobile_push {
            self.mobile_push = v;
        }
        if let Some(v) = patch.hide_muted_channels {
            self.hide_muted_channels = v;
        }
        for (channel_id, change) in &patch.channel_overrides {
            let at = match self
                .channel_overrides
                .iter()
                .position(|o| o.channel_id == *channel_id)
            {
                Some(i) => i,
                None => {
                    self.channel_overrides
                        .push(ChannelOverride::new(*channel_id));
                    self.channel_overrides.len() - 1
                }
            };
            let o = &mut self.channel_overrides[at];
            if let Some(level) = change.message_notifications {
                o.message_notifications = level;
            }
            if let Some(muted) = change.muted {
                o.muted = muted;
            }
            if let Some(config) = &change.mute_config {
                o.mute_config = config.clone();
            }
            if let Some(collapsed) = change.collapsed {
                o.collapsed = collapsed;
            }
        }
        self.channel_overrides
            .retain(|o| channels.contains(&o.channel_id));
        self.channel_overrides.sort_by_key(|o| o.channel_id);
        self.version += 1;
    }
}

/// A change to one channel's settings: `None` leaves a field as it is;
/// `Some(None)` of `mute_config` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ChannelOverridePatch {
    pub message_notifications: Option<NotifyLevel>,
    pub muted: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub mute_config: Option<Option<MuteConfig>>,
    pub collapsed: Option<bool>,
}

/// `PATCH /users/@me/guilds/{guild_id}/settings`'s body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GuildSettingsPatch {
    pub message_notifications: Option<NotifyLevel>,
    pub muted: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub mute_config: Option<Option<MuteConfig>>,
    pub suppress_everyone: Option<bool>,
    pub suppress_roles: Option<bool>,
    pub mobile_push: Option<bool>,
    pub hide_muted_channels: Option<bool>,
    /// By channel id, as Discord's clients send them.
    #[serde(default)]
    pub channel_overrides: std::collections::BTreeMap<Snowflake, ChannelOverridePatch>,
}

/// A field that is present (even as `null`) is `Some`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let (general, memes, gone) = (Snowflake(10), Snowflake(11), Snowflake(12));
        let mut s = UserGuildSettings::defaults(Snowflake(1), NotifyLevel::AllMessages);
        s.channel_overrides.push(ChannelOverride::new(gone));
        let patch: GuildSettingsPatch = serde_json::from_str(
            r#"{"message_notifications": 1, "channel_overrides": {"11": {"muted": true,
                "mute_config": {"end_time": null, "selected_time_window": -1}}}}"#,
        )
        .unwrap();
        s.apply(&patch, &[general, memes]);
        assert_eq!(s.message_notifications, NotifyLevel::OnlyMentions);
        assert!(!s.muted && s.mobile_push);
        assert_eq!(
            s.channel_overrides.len(),
            1,
            "the gone channel's is dropped"
        );
        let o = &s.channel_overrides[0];
        assert_eq!((o.channel_id, o.muted), (memes, true));
        assert_eq!(o.message_notifications, NotifyLevel::ParentDefault);
        assert_eq!(s.version, 1);

        // `mute_config: null` clears; leaving it out keeps it.
        let clear: GuildSettingsPatch =
            serde_json::from_str(r#"{"channel_overrides": {"11": {"mute_config": null}}}"#)
                .unwrap();
        s.apply(&clear, &[general, memes]);
        assert_eq!(s.channel_overrides[0].mute_config, None);
        assert!(s.channel_overrides[0].muted);
        assert!(
            serde_json::from_str::<GuildSettingsPatch>(r#"{"message_notifications": 7}"#).is_err()
        );
    }
}
