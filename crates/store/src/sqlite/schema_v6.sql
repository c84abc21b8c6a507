-- Read states: how far each user has read each channel (guild or
-- private), so unread marks and mention badges are the same on every
-- device. `version` counts the acks, as Discord's MESSAGE_ACK carries it.
-- Rows go with their channel (deleted with it by the store).
CREATE TABLE read_states (
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel_id      INTEGER NOT NULL,
    last_message_id INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    PRIMARY KEY (user_id, channel_id)
) WITHOUT ROWID;
CREATE INDEX read_states_channel ON read_states(channel_id);
