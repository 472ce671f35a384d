-- moderato schema 1: comments with their indexes, the per-status counts,
-- the per-page change counters, duplicate and link records, and the key
-- check value. ARCHITECTURE.md ("Storage layout (PostgreSQL)") explains
-- each table; `schema.rs` applies this file once, in one transaction.

-- Values that belong to the database as a whole: `key_check` identifies
-- the master key the data was written with (never the key itself).
CREATE TABLE moderato_meta (
    key   text  PRIMARY KEY,
    value bytea NOT NULL
);

-- One row per comment. `body` is the comment as the core defines it
-- (`domain::Comment` as JSON, the email only sealed and as its keyed
-- hash) and is the truth; the columns beside it are copies of its fields
-- that the indexes need, written in the same statement.
CREATE TABLE comments (
    id          bytea   PRIMARY KEY CHECK (length(id) = 16),
    page        text    NOT NULL,
    status      text    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'spam')),
    email_hash  bytea   NOT NULL CHECK (length(email_hash) = 32),
    parent      bytea,
    created_at  bigint  NOT NULL,
    -- Keyed hash of (commenter, page, normalized text), or of the author's
    -- reply under its parent: unique among live comments, so two identical
    -- posts racing cannot both commit. NULL for an imported copy whose
    -- fingerprint another comment holds.
    fingerprint bytea   UNIQUE,
    body        jsonb   NOT NULL
);
CREATE INDEX comments_by_status ON comments (status, id);
CREATE INDEX comments_by_page ON comments (page, status, id);
CREATE INDEX comments_by_email ON comments (email_hash, status);

-- Comments per status, spread over shards so that concurrent writers do
-- not queue behind one row lock: the count is the sum of a status's rows.
CREATE TABLE status_counts (
    status text    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'spam')),
    shard  integer NOT NULL,
    n      bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (status, shard)
);
INSERT INTO status_counts (status, shard)
SELECT s, g FROM unnest(ARRAY['pending', 'approved', 'rejected', 'spam']) AS s,
                 generate_series(0, 15) AS g;

-- A counter per page, raised in every transaction that changes the page's
-- approved comments: each replica polls the pages it caches and drops a
-- cached page whose counter moved.
CREATE TABLE page_changes (
    page       text   PRIMARY KEY,
    generation bigint NOT NULL
);

-- Keyed hash of a normalized text -> when it was last stored (ms), for
-- the `duplicate` spam rule.
CREATE TABLE text_seen (
    hash      bytea  PRIMARY KEY,
    last_seen bigint NOT NULL
);

-- MAC of each used decision link: the primary key makes a link single-use
-- across every replica.
CREATE TABLE used_links (
    mac     bytea  PRIMARY KEY,
    used_at bigint NOT NULL
);
