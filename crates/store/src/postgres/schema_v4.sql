-- Direct and group messages (see SQLite's v5).
CREATE TABLE private_channels (
    id              BIGINT PRIMARY KEY,
    type            BIGINT NOT NULL,
    name            TEXT,
    icon            TEXT,
    owner_id        BIGINT,
    dm_low          BIGINT,
    dm_high         BIGINT,
    last_message_id BIGINT
);
CREATE UNIQUE INDEX private_channels_pair ON private_channels(dm_low, dm_high)
    WHERE dm_low IS NOT NULL;

CREATE TABLE private_recipients (
    channel_id BIGINT NOT NULL REFERENCES private_channels(id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    open       BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX private_recipients_user ON private_recipients(user_id, channel_id);
