-- Each unfinished run is driven by one server, which holds its lease: the
-- owner, until when, and an epoch that every claim raises so a server that
-- lost the run can write nothing more to it. Runs from before are held by
-- nobody, and the next server to start claims them.

ALTER TABLE runs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;

CREATE INDEX runs_unfinished_by_lease ON runs (lease_until, created_at)
	WHERE status IN ('queued', 'running');
