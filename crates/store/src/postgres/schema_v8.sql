-- Files on messages (see SQLite's v9).
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';

-- Files whose message is gone or no longer holds them (see SQLite's v9).
CREATE TABLE dropped_files (attachment_id BIGINT PRIMARY KEY);
CREATE FUNCTION message_files_dropped() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dropped_files (attachment_id)
        SELECT (f->>'id')::BIGINT FROM jsonb_array_elements(OLD.attachments::jsonb) f
        WHERE TG_OP = 'DELETE'
           OR NOT (f->>'id') IN (SELECT n->>'id' FROM jsonb_array_elements(NEW.attachments::jsonb) n)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER message_files_deleted AFTER DELETE ON messages
    FOR EACH ROW WHEN (OLD.attachments <> '[]') EXECUTE FUNCTION message_files_dropped();
CREATE TRIGGER message_files_updated AFTER UPDATE OF attachments ON messages
    FOR EACH ROW WHEN (OLD.attachments <> '[]') EXECUTE FUNCTION message_files_dropped();
