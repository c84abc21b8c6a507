-- Notification settings (see SQLite's v8).
CREATE TABLE user_guild_settings (
    user_id  BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    guild_id BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    settings TEXT NOT NULL,
    PRIMARY KEY (user_id, guild_id)
);
CREATE INDEX user_guild_settings_guild ON user_guild_settings(guild_id);

-- DM privacy (see SQLite's v8).
ALTER TABLE members ADD COLUMN dms_restricted BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN default_guilds_restricted BOOLEAN NOT NULL DEFAULT FALSE;
