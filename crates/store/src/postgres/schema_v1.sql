-- The SQLite schema (versions 1 and 2) in PostgreSQL's types. Column names
-- are the same, so rows decode the same way (crate::rows). Ids are
-- snowflakes stored as BIGINT; role id lists and overwrites are JSON arrays
-- kept as TEXT, as on the wire.

CREATE TABLE users (
    id             BIGINT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    global_name    TEXT,
    avatar         TEXT,
    bot            BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash  TEXT,
    instance_admin BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE tokens (
    hash       BYTEA PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE applications (
    id          BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    owner_id    BIGINT NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    flags       BIGINT NOT NULL DEFAULT 0,
    bot_public  BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE guilds (
    id                BIGINT PRIMARY KEY,
    name              TEXT NOT NULL,
    icon              TEXT,
    description       TEXT,
    owner_id          BIGINT NOT NULL,
    afk_channel_id    BIGINT,
    afk_timeout       BIGINT NOT NULL DEFAULT 300,
    system_channel_id BIGINT
);

CREATE TABLE roles (
    id          BIGINT PRIMARY KEY,
    guild_id    BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    color       BIGINT NOT NULL DEFAULT 0,
    hoist       BOOLEAN NOT NULL DEFAULT FALSE,
    position    BIGINT NOT NULL DEFAULT 0,
    permissions BIGINT NOT NULL,
    managed     BOOLEAN NOT NULL DEFAULT FALSE,
    mentionable BOOLEAN NOT NULL DEFAULT FALSE,
    bot_id      BIGINT
);
CREATE INDEX roles_guild ON roles(guild_id);

CREATE TABLE channels (
    id                  BIGINT PRIMARY KEY,
    guild_id            BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    type                BIGINT NOT NULL,
    name                TEXT NOT NULL,
    position            BIGINT NOT NULL DEFAULT 0,
    parent_id           BIGINT,
    topic               TEXT,
    nsfw                BOOLEAN NOT NULL DEFAULT FALSE,
    rate_limit_per_user BIGINT,
    bitrate             BIGINT,
    user_limit          BIGINT,
    rtc_region          TEXT,
    overwrites          TEXT NOT NULL DEFAULT '[]',
    last_message_id     BIGINT
);
CREATE INDEX channels_guild ON channels(guild_id);

CREATE TABLE members (
    guild_id      BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    nick          TEXT,
    roles         TEXT NOT NULL DEFAULT '[]',
    joined_at     BIGINT NOT NULL,
    deaf          BOOLEAN NOT NULL DEFAULT FALSE,
    mute          BOOLEAN NOT NULL DEFAULT FALSE,
    timeout_until BIGINT,
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX members_user ON members(user_id);

CREATE TABLE bans (
    guild_id BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason   TEXT,
    PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE invites (
    code       TEXT PRIMARY KEY,
    guild_id   BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    inviter_id BIGINT,
    max_age    BIGINT NOT NULL,
    max_uses   BIGINT NOT NULL,
    uses       BIGINT NOT NULL DEFAULT 0,
    temporary  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE webhooks (
    id         BIGINT PRIMARY KEY,
    guild_id   BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    creator_id BIGINT,
    name       TEXT,
    avatar     TEXT,
    token      TEXT NOT NULL
);
CREATE INDEX webhooks_channel ON webhooks(channel_id);

-- Partition key (channel_id, bucket), clustering key id: Discord's layout.
-- No foreign keys here, as in a wide-column store: deleting a channel
-- deletes its partitions explicitly.
CREATE TABLE messages (
    channel_id       BIGINT NOT NULL,
    bucket           BIGINT NOT NULL,
    id               BIGINT NOT NULL,
    guild_id         BIGINT,
    author_id        BIGINT NOT NULL,
    webhook_id       BIGINT,
    -- For webhook messages: the author as shown (name and avatar overrides).
    author_json      TEXT,
    content          TEXT NOT NULL,
    edited_at        BIGINT,
    tts              BOOLEAN NOT NULL DEFAULT FALSE,
    mention_everyone BOOLEAN NOT NULL DEFAULT FALSE,
    mentions         TEXT NOT NULL DEFAULT '[]',
    mention_roles    TEXT NOT NULL DEFAULT '[]',
    embeds           TEXT NOT NULL DEFAULT '[]',
    nonce            TEXT,
    type             BIGINT NOT NULL DEFAULT 0,
    flags            BIGINT NOT NULL DEFAULT 0,
    pinned           BOOLEAN NOT NULL DEFAULT FALSE,
    reference        TEXT,
    PRIMARY KEY (channel_id, bucket, id)
);
-- Serves "delete this user's recent messages" when banning.
CREATE INDEX messages_author ON messages(guild_id, author_id, id);
