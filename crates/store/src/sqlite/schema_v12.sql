-- The notification level a guild's members get unless they choose one:
-- 0 all messages, 1 only mentions (Discord's default_message_notifications).
ALTER TABLE guilds ADD COLUMN default_message_notifications INTEGER NOT NULL DEFAULT 0;
