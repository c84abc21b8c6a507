-- Files on messages: the model's `Attachment`s as JSON, without their
-- links (signed when a message is sent). The bytes live in the node's
-- blob store under keys made from the attachment ids.
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';

-- Files whose message is gone, or no longer holds them. The blob store is
-- not part of the database's transactions, so whatever drops a file (a
-- delete, a bulk delete, a ban's purge, a channel's or guild's deletion,
-- an edit) records its id here in the same transaction, by these
-- triggers; the nodes' reapers delete the blob, then the row.
CREATE TABLE dropped_files (attachment_id INTEGER PRIMARY KEY);
CREATE TRIGGER message_files_deleted AFTER DELETE ON messages
    WHEN old.attachments != '[]' BEGIN
    INSERT OR IGNORE INTO dropped_files (attachment_id)
        SELECT CAST(json_extract(f.value, '$.id') AS INTEGER) FROM json_each(old.attachments) f;
END;
CREATE TRIGGER message_files_dropped AFTER UPDATE OF attachments ON messages
    WHEN old.attachments != '[]' BEGIN
    INSERT OR IGNORE INTO dropped_files (attachment_id)
        SELECT CAST(json_extract(o.value, '$.id') AS INTEGER) FROM json_each(old.attachments) o
        WHERE json_extract(o.value, '$.id') NOT IN
            (SELECT json_extract(n.value, '$.id') FROM json_each(new.attachments) n);
END;
