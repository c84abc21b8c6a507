-- Direct and group messages: channels outside guilds. A DM's two users are
-- kept ordered in (dm_low, dm_high), so a pair has one DM however often
-- it is opened. Messages of these channels live in `messages` with a null
-- guild_id, keyed like any others.
CREATE TABLE private_channels (
    id              INTEGER PRIMARY KEY,
    type            INTEGER NOT NULL,
    name            TEXT,
    icon            TEXT,
    owner_id        INTEGER,
    dm_low          INTEGER,
    dm_high         INTEGER,
    last_message_id INTEGER
);
CREATE UNIQUE INDEX private_channels_pair ON private_channels(dm_low, dm_high)
    WHERE dm_low IS NOT NULL;

-- Who is in each; `open` is whether it is in the user's list (closing a
-- DM hides it until its next message).
CREATE TABLE private_recipients (
    channel_id INTEGER NOT NULL REFERENCES private_channels(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    open       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (channel_id, user_id)
) WITHOUT ROWID;
CREATE INDEX private_recipients_user ON private_recipients(user_id, channel_id);
