-- Leases on moving runs, for several server processes on one database: a process
-- executes a run's turns only while it holds the run's lease (lease_owner, until
-- lease_until by the database's clock), renews it while it does, and a run whose lease
-- lapsed (its process died or hung) is claimed by another. A new run's lease starts
-- unowned and short: its creator claims it at once; if the creator dies first, another
-- process takes the run once the few seconds are up.

ALTER TABLE runs ADD COLUMN lease_owner TEXT;
ALTER TABLE runs ADD COLUMN lease_until TIMESTAMPTZ NOT NULL
    DEFAULT now() + interval '5 seconds';
-- The moving runs by lease end: what a claim looks for (statuses as in the store).
CREATE INDEX runs_leases ON runs (lease_until)
    WHERE status IN ('queued', 'in_progress', 'cancelling');
