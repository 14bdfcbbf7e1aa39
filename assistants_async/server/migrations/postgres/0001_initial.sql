-- The PostgreSQL schema: the same rows and constraints as SQLite's 0001_initial.sql.
-- Every object is a row: its JSON in `obj` (TEXT, kept byte for byte as the API shows
-- it; JSONB would reorder its keys), plus the columns its indexes and constraints
-- need. Lists are ordered by (created_at, seq): seq breaks ties in the order of
-- creation, from one sequence shared by every table and every process.

CREATE SEQUENCE object_seq AS BIGINT;

CREATE TABLE assistants (
    id TEXT NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL DEFAULT nextval('object_seq'),
    tenant TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    obj TEXT NOT NULL
);
CREATE INDEX assistants_list ON assistants (tenant, created_at, seq);

CREATE TABLE threads (
    id TEXT NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL DEFAULT nextval('object_seq'),
    tenant TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    obj TEXT NOT NULL
);

CREATE TABLE messages (
    id TEXT NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL DEFAULT nextval('object_seq'),
    tenant TEXT NOT NULL,
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    run_id TEXT,
    created_at BIGINT NOT NULL,
    obj TEXT NOT NULL
);
CREATE INDEX messages_list ON messages (thread_id, created_at, seq);
-- The messages a run wrote (list messages with run_id=...).
CREATE INDEX messages_run_list ON messages (thread_id, run_id, created_at, seq)
    WHERE run_id IS NOT NULL;

CREATE TABLE runs (
    id TEXT NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL DEFAULT nextval('object_seq'),
    tenant TEXT NOT NULL,
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    obj TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX runs_list ON runs (thread_id, created_at, seq);
-- One active run per thread, held by the database itself (the store names this index
-- when it reads a refusal). The status list must stay exactly as in runs_active and
-- the store's queries.
CREATE UNIQUE INDEX runs_one_active ON runs (thread_id)
    WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');
-- The active runs alone, in order: what a restarted server resumes.
CREATE INDEX runs_active ON runs (created_at, seq)
    WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');

CREATE TABLE steps (
    id TEXT NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL DEFAULT nextval('object_seq'),
    tenant TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    obj TEXT NOT NULL
);
CREATE INDEX steps_list ON steps (run_id, created_at, seq);

-- Answers kept for idempotency keys.
CREATE TABLE replies (
    tenant TEXT NOT NULL,
    key TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BYTEA NOT NULL,
    content_type TEXT NOT NULL,
    request TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant, key)
);
