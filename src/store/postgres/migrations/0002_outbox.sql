-- moderato schema 2: the notification outbox (domain::outbox). A job is
-- written in the transaction of the change that caused it; a worker of any
-- replica claims due, unleased jobs with FOR UPDATE SKIP LOCKED (so two
-- replicas never take the same one), sends, and deletes or reschedules it.
-- A replica that dies holding a lease leaves the job to the others once
-- the lease ends. `job` names the comment and its status, never an address.
CREATE TABLE outbox (
    id           bytea   PRIMARY KEY CHECK (length(id) = 16),
    job          jsonb   NOT NULL,
    due_at       bigint  NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    leased_until bigint  NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (due_at, id);
