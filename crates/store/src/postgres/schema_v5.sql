-- Read states (see SQLite's v6).
CREATE TABLE read_states (
    user_id         BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel_id      BIGINT NOT NULL,
    last_message_id BIGINT NOT NULL,
    version         BIGINT NOT NULL,
    PRIMARY KEY (user_id, channel_id)
);
CREATE INDEX read_states_channel ON read_states(channel_id);
