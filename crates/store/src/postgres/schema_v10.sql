-- Users one blocks (Discord's relationships of type 2): neither side may
-- open a DM with, write to or call the other. `since` is Unix ms.
CREATE TABLE blocks (
    user_id    BIGINT NOT NULL,
    blocked_id BIGINT NOT NULL,
    since      BIGINT NOT NULL,
    PRIMARY KEY (user_id, blocked_id)
);

-- A call message's call (type 3): participants and end, as JSON.
ALTER TABLE messages ADD COLUMN call TEXT;
