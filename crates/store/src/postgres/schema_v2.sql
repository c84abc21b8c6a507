-- Reactions: one row per user per emoji per message (see SQLite's v3).
CREATE TABLE reactions (
    channel_id  BIGINT NOT NULL,
    bucket      BIGINT NOT NULL,
    message_id  BIGINT NOT NULL,
    emoji       TEXT NOT NULL,
    user_id     BIGINT NOT NULL,
    reacted_at  BIGINT NOT NULL,
    PRIMARY KEY (channel_id, bucket, message_id, emoji, user_id),
    FOREIGN KEY (channel_id, bucket, message_id)
        REFERENCES messages(channel_id, bucket, id) ON DELETE CASCADE
);

-- What interactions left on messages (see SQLite's v3).
ALTER TABLE messages ADD COLUMN components TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN application_id BIGINT;
ALTER TABLE messages ADD COLUMN interaction TEXT;

CREATE TABLE application_commands (
    id             BIGINT PRIMARY KEY,
    application_id BIGINT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    guild_id       BIGINT REFERENCES guilds(id) ON DELETE CASCADE,
    type           BIGINT NOT NULL,
    name           TEXT NOT NULL,
    definition     TEXT NOT NULL
);
CREATE UNIQUE INDEX application_commands_name
    ON application_commands(application_id, COALESCE(guild_id, 0), type, name);
CREATE INDEX application_commands_guild ON application_commands(guild_id);

CREATE TABLE interactions (
    id             BIGINT PRIMARY KEY,
    token_hash     BYTEA NOT NULL UNIQUE,
    application_id BIGINT NOT NULL,
    type           BIGINT NOT NULL,
    guild_id       BIGINT NOT NULL,
    channel_id     BIGINT NOT NULL,
    user_id        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    message_id     BIGINT,
    command_name   TEXT,
    command_type   BIGINT,
    nonce          TEXT,
    response       BIGINT,
    ephemeral      BOOLEAN NOT NULL DEFAULT FALSE,
    modal_open     BOOLEAN NOT NULL DEFAULT FALSE,
    original_id    BIGINT
);
CREATE INDEX interactions_created ON interactions(created_at);

CREATE TABLE ephemeral_messages (
    id             BIGINT PRIMARY KEY,
    interaction_id BIGINT NOT NULL REFERENCES interactions(id) ON DELETE CASCADE,
    body           TEXT NOT NULL
);
CREATE INDEX ephemeral_messages_interaction ON ephemeral_messages(interaction_id);
