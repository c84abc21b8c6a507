-- Ids are snowflakes stored as INTEGER; role id lists are JSON arrays of
-- decimal strings, as on the wire.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    global_name   TEXT,
    avatar        TEXT,
    bot           INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT
);

CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE applications (
    id          INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    owner_id    INTEGER NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    flags       INTEGER NOT NULL DEFAULT 0,
    bot_public  INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE guilds (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    icon              TEXT,
    description       TEXT,
    owner_id          INTEGER NOT NULL,
    afk_channel_id    INTEGER,
    afk_timeout       INTEGER NOT NULL DEFAULT 300,
    system_channel_id INTEGER
);

CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    color       INTEGER NOT NULL DEFAULT 0,
    hoist       INTEGER NOT NULL DEFAULT 0,
    position    INTEGER NOT NULL DEFAULT 0,
    permissions INTEGER NOT NULL,
    managed     INTEGER NOT NULL DEFAULT 0,
    mentionable INTEGER NOT NULL DEFAULT 0,
    bot_id      INTEGER
);
CREATE INDEX roles_guild ON roles(guild_id);

CREATE TABLE channels (
    id                  INTEGER PRIMARY KEY,
    guild_id            INTEGER NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    type                INTEGER NOT NULL,
    name                TEXT NOT NULL,
    position            INTEGER NOT NULL DEFAULT 0,
    parent_id           INTEGER,
    topic               TEXT,
    nsfw                INTEGER NOT NULL DEFAULT 0,
    rate_limit_per_user INTEGER,
    bitrate             INTEGER,
    user_limit          INTEGER,
    rtc_region          TEXT,
    overwrites          TEXT NOT NULL DEFAULT '[]',
    last_message_id     INTEGER
);
CREATE INDEX channels_guild ON channels(guild_id);

CREATE TABLE members (
    guild_id  INTEGER NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    nick      TEXT,
    roles     TEXT NOT NULL DEFAULT '[]',
    joined_at INTEGER NOT NULL,
    deaf      INTEGER NOT NULL DEFAULT 0,
    mute      INTEGER NOT NULL DEFAULT 0,
    timeout_until INTEGER,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_user ON members(user_id);

CREATE TABLE bans (
    guild_id INTEGER NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason   TEXT,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;

CREATE TABLE invites (
    code       TEXT PRIMARY KEY,
    guild_id   INTEGER NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    inviter_id INTEGER,
    max_age    INTEGER NOT NULL,
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    temporary  INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    creator_id INTEGER,
    name       TEXT,
    avatar     TEXT,
    token      TEXT NOT NULL
);
CREATE INDEX webhooks_channel ON webhooks(channel_id);

-- Partition key (channel_id, bucket), clustering key id: Discord's layout.
-- No foreign keys here, as in a wide-column store: deleting a channel
-- deletes its partitions explicitly.
CREATE TABLE messages (
    channel_id       INTEGER NOT NULL,
    bucket           INTEGER NOT NULL,
    id               INTEGER NOT NULL,
    guild_id         INTEGER,
    author_id        INTEGER NOT NULL,
    webhook_id       INTEGER,
    -- For webhook messages: the author as shown (name and avatar overrides).
    author_json      TEXT,
    content          TEXT NOT NULL,
    edited_at        INTEGER,
    tts              INTEGER NOT NULL DEFAULT 0,
    mention_everyone INTEGER NOT NULL DEFAULT 0,
    mentions         TEXT NOT NULL DEFAULT '[]',
    mention_roles    TEXT NOT NULL DEFAULT '[]',
    embeds           TEXT NOT NULL DEFAULT '[]',
    nonce            TEXT,
    type             INTEGER NOT NULL DEFAULT 0,
    flags            INTEGER NOT NULL DEFAULT 0,
    pinned           INTEGER NOT NULL DEFAULT 0,
    reference        TEXT,
    PRIMARY KEY (channel_id, bucket, id)
) WITHOUT ROWID;
-- Serves "delete this user's recent messages" when banning.
CREATE INDEX messages_author ON messages(guild_id, author_id, id);
