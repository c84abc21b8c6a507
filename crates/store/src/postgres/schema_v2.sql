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
