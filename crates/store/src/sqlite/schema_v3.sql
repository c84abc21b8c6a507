-- Reactions: one row per user per emoji per message. The emoji is its
-- unicode text, or `name:id` for a custom emoji. Keyed like messages, so a
-- message's reactions sit beside it and go with it.
CREATE TABLE reactions (
    channel_id  INTEGER NOT NULL,
    bucket      INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    emoji       TEXT NOT NULL,
    user_id     INTEGER NOT NULL,
    -- Orders a message's emoji by their first reaction, as Discord does.
    reacted_at  INTEGER NOT NULL,
    PRIMARY KEY (channel_id, bucket, message_id, emoji, user_id),
    FOREIGN KEY (channel_id, bucket, message_id)
        REFERENCES messages(channel_id, bucket, id) ON DELETE CASCADE
) WITHOUT ROWID;

-- What interactions left on messages: their components, and for responses
-- to an interaction, the application and the interaction (JSON).
ALTER TABLE messages ADD COLUMN components TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN application_id INTEGER;
ALTER TABLE messages ADD COLUMN interaction TEXT;

-- Application commands, global (guild_id NULL) or of one guild; the
-- definition is the command as JSON.
CREATE TABLE application_commands (
    id             INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    guild_id       INTEGER REFERENCES guilds(id) ON DELETE CASCADE,
    type           INTEGER NOT NULL,
    name           TEXT NOT NULL,
    definition     TEXT NOT NULL
);
CREATE UNIQUE INDEX application_commands_name
    ON application_commands(application_id, COALESCE(guild_id, 0), type, name);
CREATE INDEX application_commands_guild ON application_commands(guild_id);

-- Interactions for the 15 minutes their token lives; the token is kept
-- only as a hash.
CREATE TABLE interactions (
    id             INTEGER PRIMARY KEY,
    token_hash     BLOB NOT NULL UNIQUE,
    application_id INTEGER NOT NULL,
    type           INTEGER NOT NULL,
    guild_id       INTEGER NOT NULL,
    channel_id     INTEGER NOT NULL,
    user_id        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    -- The message a component interaction came from.
    message_id     INTEGER,
    -- A command interaction's command: its name and type.
    command_name   TEXT,
    command_type   INTEGER,
    -- The invoking client's nonce, echoed in what it is told.
    nonce          TEXT,
    -- The callback type of the first response; NULL until then.
    response       INTEGER,
    ephemeral      INTEGER NOT NULL DEFAULT 0,
    -- A modal this interaction opened, until it is submitted.
    modal_open     INTEGER NOT NULL DEFAULT 0,
    -- The original response message, once there is one.
    original_id    INTEGER
);
CREATE INDEX interactions_created ON interactions(created_at);

-- Ephemeral messages: seen only by the interaction's user, never in the
-- channel's history; they live as long as their interaction.
CREATE TABLE ephemeral_messages (
    id             INTEGER PRIMARY KEY,
    interaction_id INTEGER NOT NULL REFERENCES interactions(id) ON DELETE CASCADE,
    body           TEXT NOT NULL
);
CREATE INDEX ephemeral_messages_interaction ON ephemeral_messages(interaction_id);
