-- Message search: an FTS5 index of people's messages (not system
-- notices), keyed by the message id (unique across channels; `messages`
-- itself has no rowid). `content` holds the words; `scope` holds tokens
-- for everything else a search filters on: the guild (`g<id>`, `g` alone
-- in a DM), the channel (`c<id>`), the author (`a<id>`), each mentioned
-- user (`m<id>`) and role (`r<id>`), and `haslink`, `hasembed`, `pinned`,
-- `everyone`. So every filter is
-- matched in the index with the words, and hits come newest first by
-- rowid: a page reads only its own rows, a count never leaves the index.
-- `channel_id` (not indexed) leads a hit to its message by primary key.
-- Triggers keep it in step with every write of `messages`, in the same
-- transaction, so no path can forget it.
CREATE VIRTUAL TABLE message_words USING fts5(content, scope, channel_id UNINDEXED);
INSERT INTO message_words (rowid, content, scope, channel_id)
    SELECT m.id, m.content, 'g' || COALESCE(m.guild_id, '') || ' c' || m.channel_id || ' a' || m.author_id
        || CASE WHEN m.content LIKE '%http://%' OR m.content LIKE '%https://%' THEN ' haslink' ELSE '' END
        || CASE WHEN m.embeds != '[]' THEN ' hasembed' ELSE '' END
        || CASE WHEN m.pinned THEN ' pinned' ELSE '' END
        || COALESCE((SELECT ' ' || group_concat('m' || json_extract(j.value, '$.id'), ' ')
                     FROM json_each(m.mentions) j), '')
        || COALESCE((SELECT ' ' || group_concat('r' || j.value, ' ')
                     FROM json_each(m.mention_roles) j), '')
        || CASE WHEN m.mention_everyone THEN ' everyone' ELSE '' END, m.channel_id
    FROM messages m WHERE m.type IN (0, 19, 20, 23);
CREATE TRIGGER message_words_insert AFTER INSERT ON messages
    WHEN new.type IN (0, 19, 20, 23) BEGIN
    INSERT INTO message_words (rowid, content, scope, channel_id)
        VALUES (new.id, new.content, 'g' || COALESCE(new.guild_id, '') || ' c' || new.channel_id || ' a' || new.author_id
        || CASE WHEN new.content LIKE '%http://%' OR new.content LIKE '%https://%' THEN ' haslink' ELSE '' END
        || CASE WHEN new.embeds != '[]' THEN ' hasembed' ELSE '' END
        || CASE WHEN new.pinned THEN ' pinned' ELSE '' END
        || COALESCE((SELECT ' ' || group_concat('m' || json_extract(j.value, '$.id'), ' ')
                     FROM json_each(new.mentions) j), '')
        || COALESCE((SELECT ' ' || group_concat('r' || j.value, ' ')
                     FROM json_each(new.mention_roles) j), '')
        || CASE WHEN new.mention_everyone THEN ' everyone' ELSE '' END, new.channel_id);
END;
CREATE TRIGGER message_words_update AFTER UPDATE OF content, embeds, mentions, mention_roles, mention_everyone, pinned ON messages BEGIN
    UPDATE message_words SET content = new.content, scope = 'g' || COALESCE(new.guild_id, '') || ' c' || new.channel_id || ' a' || new.author_id
        || CASE WHEN new.content LIKE '%http://%' OR new.content LIKE '%https://%' THEN ' haslink' ELSE '' END
        || CASE WHEN new.embeds != '[]' THEN ' hasembed' ELSE '' END
        || CASE WHEN new.pinned THEN ' pinned' ELSE '' END
        || COALESCE((SELECT ' ' || group_concat('m' || json_extract(j.value, '$.id'), ' ')
                     FROM json_each(new.mentions) j), '')
        || COALESCE((SELECT ' ' || group_concat('r' || j.value, ' ')
                     FROM json_each(new.mention_roles) j), '')
        || CASE WHEN new.mention_everyone THEN ' everyone' ELSE '' END
        WHERE rowid = new.id;
END;
CREATE TRIGGER message_words_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_words WHERE rowid = old.id;
END;
