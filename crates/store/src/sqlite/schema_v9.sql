-- Files on messages: the model's `Attachment`s as JSON, without their
-- links (signed when a message is sent). The bytes live in the node's
-- blob store under keys made from the attachment ids.
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
