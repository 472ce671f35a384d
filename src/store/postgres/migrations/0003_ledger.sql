-- moderato schema 3: the learning filter's ledger (domain::learn::ledger):
-- one row per learned decision, written in the transaction of the decision
-- that causes it. Hashed features only (`keys`: the top 32 bits of each
-- feature key, little-endian u32s), never text. No foreign key to
-- `comments`: deleting a comment keeps its entry; erasing a reader deletes
-- the reader's rows (`email_hash`).
CREATE TABLE learn_ledger (
    comment     bytea   PRIMARY KEY CHECK (length(comment) = 16),
    email_hash  bytea   NOT NULL CHECK (length(email_hash) = 32),
    label       text    NOT NULL CHECK (label IN ('spam', 'ham')),
    trained     boolean NOT NULL,
    decided_at  bigint  NOT NULL,
    probability real,
    keys        bytea   NOT NULL CHECK (length(keys) % 4 = 0)
);
CREATE UNIQUE INDEX learn_ledger_by_email ON learn_ledger (email_hash, comment);
