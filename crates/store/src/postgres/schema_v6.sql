-- Message search (see SQLite's v7): PostgreSQL's own full-text search over
-- an expression index, so there is nothing to keep in step. Punctuation
-- becomes space before parsing and the `simple` configuration folds case
-- without stemming, so words split as SQLite's unicode61 splits them (a
-- link's path is words, not one token). Queries repeat this expression
-- exactly, or the index is not used.
CREATE INDEX messages_words ON messages
    USING GIN (to_tsvector('simple', regexp_replace(content, '[[:punct:]]+', ' ', 'g')));
