-- What a run says while it moves on a process's timer, for a stream that another
-- process answers: that process reads the rows of the run past the last it sent, when
-- told (NOTIFY on the run's channel) or on its own once a second. A phase is the run's
-- version when the process began moving it: a stream relays the phases from the
-- version it saw, never an earlier phase's events. UNLOGGED: the rows matter only
-- while a stream reads them (a database that crashed dropped every stream anyway);
-- the server deletes them once older than a run's time to live.
CREATE UNLOGGED TABLE run_events (
    seq BIGSERIAL PRIMARY KEY,
    run_id TEXT NOT NULL,
    phase BIGINT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX run_events_run ON run_events (run_id, seq);
CREATE INDEX run_events_at ON run_events (at);
