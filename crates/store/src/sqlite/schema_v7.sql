-- Message search: an FTS5 index of every message's words, keyed by the
-- message id (unique across channels; `messages` itself has no rowid).
-- The channel is kept beside the words so a hit finds its message by
-- primary key and a search is narrowed to the channels the searcher may
-- read. Triggers keep it in step with every write of `messages`, in the
-- same transaction, so no path can forget it.
CREATE VIRTUAL TABLE message_words USING fts5(content, channel_id UNINDEXED);
INSERT INTO message_words (rowid, content, channel_id) SELECT id, content, channel_id FROM messages;
CREATE TRIGGER message_words_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_words (rowid, content, channel_id) VALUES (new.id, new.content, new.channel_id);
END;
CREATE TRIGGER message_words_update AFTER UPDATE OF content ON messages BEGIN
    UPDATE message_words SET content = new.content WHERE rowid = new.id;
END;
CREATE TRIGGER message_words_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_words WHERE rowid = old.id;
END;
