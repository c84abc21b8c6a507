-- Threads: channels of type 11 (public) and 12 (private) whose parent is a
-- text channel. They live in `channels` so their messages, pins, reactions
-- and read states work as in any channel; these columns are theirs alone.
-- `last_active` (Unix ms) is when the inactivity clock started: the
-- thread's creation, its last unarchiving or its last message.
ALTER TABLE channels ADD COLUMN owner_id BIGINT;
ALTER TABLE channels ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE channels ADD COLUMN locked BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE channels ADD COLUMN invitable BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE channels ADD COLUMN auto_archive_duration BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN archive_timestamp BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN last_active BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN message_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN total_message_sent BIGINT NOT NULL DEFAULT 0;
CREATE INDEX channels_parent ON channels(parent_id);
CREATE INDEX channels_active_threads ON channels(guild_id, archived, type);

CREATE TABLE thread_members (
    thread_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (thread_id, user_id)
);
CREATE INDEX thread_members_user ON thread_members(user_id);
