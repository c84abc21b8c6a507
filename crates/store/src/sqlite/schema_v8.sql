-- Notification settings: a user's for one guild and its channels (the
-- model's `UserGuildSettings`, as JSON: read and written whole, by the
-- store's update in one transaction). Rows go with the user, the guild,
-- and the membership (deleted by the store when the member leaves).
CREATE TABLE user_guild_settings (
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    guild_id INTEGER NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    settings TEXT NOT NULL,
    PRIMARY KEY (user_id, guild_id)
) WITHOUT ROWID;
CREATE INDEX user_guild_settings_guild ON user_guild_settings(guild_id);

-- Who may open a DM with a member: a member who refuses DMs from a guild's
-- members is `dms_restricted` there (Discord's `restricted_guilds`), and a
-- user's `default_guilds_restricted` says how they join new guilds.
ALTER TABLE members ADD COLUMN dms_restricted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN default_guilds_restricted INTEGER NOT NULL DEFAULT 0;
