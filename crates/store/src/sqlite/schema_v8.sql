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
