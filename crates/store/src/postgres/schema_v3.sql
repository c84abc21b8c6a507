-- Pins (see SQLite's v4).
CREATE TABLE pins (
    channel_id  BIGINT NOT NULL,
    message_id  BIGINT NOT NULL,
    bucket      BIGINT NOT NULL,
    pinned_at   BIGINT NOT NULL,
    PRIMARY KEY (channel_id, message_id),
    FOREIGN KEY (channel_id, bucket, message_id)
        REFERENCES messages(channel_id, bucket, id) ON DELETE CASCADE
);
CREATE INDEX pins_by_time ON pins(channel_id, pinned_at);
