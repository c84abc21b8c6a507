-- Files on messages (see SQLite's v9).
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
