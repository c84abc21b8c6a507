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
