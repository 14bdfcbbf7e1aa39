-- Every object is a row: its JSON in `obj`, plus the columns its indexes and
-- constraints need. `seq` is the rowid itself (INTEGER PRIMARY KEY), so VACUUM cannot
-- renumber it, and AUTOINCREMENT never hands out a number twice: a later insert always
-- sorts after an earlier one with the same created_at. `id` is the key the API uses
-- (UNIQUE: foreign keys point at it).

CREATE TABLE assistants (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    obj TEXT NOT NULL
);
CREATE INDEX assistants_list ON assistants (tenant, created_at, seq);

CREATE TABLE threads (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    obj TEXT NOT NULL
);

CREATE TABLE messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    run_id TEXT,
    created_at INTEGER NOT NULL,
    obj TEXT NOT NULL
);
CREATE INDEX messages_list ON messages (thread_id, created_at, seq);
-- The messages a run wrote (list messages with run_id=...).
CREATE INDEX messages_run_list ON messages (thread_id, run_id, created_at, seq)
    WHERE run_id IS NOT NULL;

CREATE TABLE runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    obj TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX runs_list ON runs (thread_id, created_at, seq);
-- One active run per thread, held by the database itself. The status list must stay
-- exactly as written here and in runs_active (the store's queries repeat it).
CREATE UNIQUE INDEX runs_one_active ON runs (thread_id)
    WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');
-- The active runs alone, in order: what a restarted server resumes.
CREATE INDEX runs_active ON runs (created_at, seq)
    WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');

CREATE TABLE steps (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    obj TEXT NOT NULL
);
CREATE INDEX steps_list ON steps (run_id, created_at, seq);

-- Answers kept for idempotency keys.
CREATE TABLE replies (
    tenant TEXT NOT NULL,
    key TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    content_type TEXT NOT NULL,
    request TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (tenant, key)
);
