-- moderato schema 4: readers' mail address records (domain::subscription),
-- and the index the writer's delete asks ("does anything reply to it?").
-- `body` is the record as the core defines it: the address only sealed
-- and as its keyed hash, which is also the key.
CREATE TABLE subscribers (
    key  bytea PRIMARY KEY CHECK (length(key) = 32),
    body jsonb NOT NULL
);
CREATE INDEX comments_by_parent ON comments (page, parent);
