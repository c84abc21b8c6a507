-- Pins: one row per pinned message, keyed by channel so a channel's pins
-- are counted and listed without touching its history; the row goes with
-- its message. `messages.pinned` mirrors it for reads of the message.
CREATE TABLE pins (
    channel_id  INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    bucket      INTEGER NOT NULL,
    pinned_at   INTEGER NOT NULL,
    PRIMARY KEY (channel_id, message_id),
    FOREIGN KEY (channel_id, bucket, message_id)
        REFERENCES messages(channel_id, bucket, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX pins_by_time ON pins(channel_id, pinned_at);
