-- Every object is a row: its JSON in `obj`, plus the columns its indexes and
-- constraints need. Lists are ordered by (created_at, seq): seq breaks ties in the
-- order of creation. It is an ordinary column, not the rowid: SQLite seeks an index
-- on a row value such as (created_at, seq) > (?, ?) only when every column is a real
-- index column (with the rowid there, it scans every tie of that second). Its numbers
-- come from `sequence`, one counter for every table, bumped by a trigger after each
-- insert: never reused (not even after a delete or a VACUUM), and shared by every
-- process that opens the file, since they all write under SQLite's one write lock.

CREATE TABLE sequence (n INTEGER NOT NULL);
INSERT INTO sequence (n) VALUES (0);

CREATE TABLE assistants (
    id TEXT NOT NULL PRIMARY KEY,
    seq INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    obj TEXT NOT NULL
);
CREATE TRIGGER assistants_seq AFTER INSERT ON assistants BEGIN UPDATE sequence SET n = n + 1; END;
CREATE INDEX assistants_list ON assistants (tenant, created_at, seq);

CREATE TABLE threads (
    id TEXT NOT NULL PRIMARY KEY,
    seq INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    obj TEXT NOT NULL
);
CREATE TRIGGER threads_seq AFTER INSERT ON threads BEGIN UPDATE sequence SET n = n + 1; END;

CREATE TABLE messages (
    id TEXT NOT NULL PRIMARY KEY,
    seq INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    run_id TEXT,
    created_at INTEGER NOT NULL,
    obj TEXT NOT NULL
);
CREATE TRIGGER messages_seq AFTER INSERT ON messages BEGIN UPDATE sequence SET n = n + 1; END;
CREATE INDEX messages_list ON messages (thread_id, created_at, seq);
-- The messages a run wrote (list messages with run_id=...).
CREATE INDEX messages_run_list ON messages (thread_id, run_id, created_at, seq)
    WHERE run_id IS NOT NULL;

CREATE TABLE runs (
    id TEXT NOT NULL PRIMARY KEY,
    seq INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    obj TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE TRIGGER runs_seq AFTER INSERT ON runs BEGIN UPDATE sequence SET n = n + 1; END;
CREATE INDEX runs_list ON runs (thread_id, created_at, seq);
-- One active run per thread, held by the database itself. The status list must stay
-- exactly as written here and in runs_active (the store's queries repeat it).
CREATE UNIQUE INDEX runs_one_active ON runs (thread_id)
    WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');
-- The active runs alone, in order: what a restarted server resumes.
CREATE INDEX runs_active ON runs (created_at, seq)
    WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');

CREATE TABLE steps (
    id TEXT NOT NULL PRIMARY KEY,
    seq INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    obj TEXT NOT NULL
);
CREATE TRIGGER steps_seq AFTER INSERT ON steps BEGIN UPDATE sequence SET n = n + 1; END;
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
