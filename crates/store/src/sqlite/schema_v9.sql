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

-- Search by files (`has:file`, `has:image`, `has:video`, `has:sound`):
-- v7's triggers again, with a token for each, kept by edits of the
-- attachments too. Messages before v9 have no files, so nothing is
-- re-indexed.
DROP TRIGGER message_words_insert;
DROP TRIGGER message_words_update;
CREATE TRIGGER message_words_insert AFTER INSERT ON messages
    WHEN new.type IN (0, 19, 20, 23) BEGIN
    INSERT INTO message_words (rowid, content, scope, channel_id)
        VALUES (new.id, new.content, 'g' || COALESCE(new.guild_id, '') || ' c' || new.channel_id || ' a' || new.author_id
        || CASE WHEN new.content LIKE '%http://%' OR new.content LIKE '%https://%' THEN ' haslink' ELSE '' END
        || CASE WHEN new.embeds != '[]' THEN ' hasembed' ELSE '' END
        || CASE WHEN new.attachments != '[]' THEN ' hasfile' ELSE '' END
        || CASE WHEN new.attachments LIKE '%"content_type":"image/%' THEN ' hasimage' ELSE '' END
        || CASE WHEN new.attachments LIKE '%"content_type":"video/%' THEN ' hasvideo' ELSE '' END
        || CASE WHEN new.attachments LIKE '%"content_type":"audio/%' THEN ' hassound' ELSE '' END
        || CASE WHEN new.pinned THEN ' pinned' ELSE '' END
        || COALESCE((SELECT ' ' || group_concat('m' || json_extract(j.value, '$.id'), ' ')
                     FROM json_each(new.mentions) j), '')
        || COALESCE((SELECT ' ' || group_concat('r' || j.value, ' ')
                     FROM json_each(new.mention_roles) j), '')
        || CASE WHEN new.mention_everyone THEN ' everyone' ELSE '' END, new.channel_id);
END;
CREATE TRIGGER message_words_update AFTER UPDATE OF content, embeds, mentions, mention_roles, mention_everyone, pinned, attachments ON messages BEGIN
    UPDATE message_words SET content = new.content, scope = 'g' || COALESCE(new.guild_id, '') || ' c' || new.channel_id || ' a' || new.author_id
        || CASE WHEN new.content LIKE '%http://%' OR new.content LIKE '%https://%' THEN ' haslink' ELSE '' END
        || CASE WHEN new.embeds != '[]' THEN ' hasembed' ELSE '' END
        || CASE WHEN new.attachments != '[]' THEN ' hasfile' ELSE '' END
        || CASE WHEN new.attachments LIKE '%"content_type":"image/%' THEN ' hasimage' ELSE '' END
        || CASE WHEN new.attachments LIKE '%"content_type":"video/%' THEN ' hasvideo' ELSE '' END
        || CASE WHEN new.attachments LIKE '%"content_type":"audio/%' THEN ' hassound' ELSE '' END
        || CASE WHEN new.pinned THEN ' pinned' ELSE '' END
        || COALESCE((SELECT ' ' || group_concat('m' || json_extract(j.value, '$.id'), ' ')
                     FROM json_each(new.mentions) j), '')
        || COALESCE((SELECT ' ' || group_concat('r' || j.value, ' ')
                     FROM json_each(new.mention_roles) j), '')
        || CASE WHEN new.mention_everyone THEN ' everyone' ELSE '' END
        WHERE rowid = new.id;
END;
