-- A cancel is recorded before it is answered, so a restarted server goes on
-- canceling. Attempts count the log bytes they stored and those their log
-- cap dropped. Runs are pruned by the time they finished. The identity names
-- this database, so that a data dir whose database went missing is noticed.

ALTER TABLE runs ADD COLUMN cancel_requested_at INTEGER NOT NULL DEFAULT 0;

ALTER TABLE attempts ADD COLUMN log_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN log_dropped INTEGER NOT NULL DEFAULT 0;

CREATE INDEX runs_finished ON runs (finished_at)
	WHERE status IN ('succeeded', 'failed', 'canceled');

CREATE TABLE identity (
	id         TEXT    NOT NULL PRIMARY KEY,
	created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Runs an earlier baton left half-recorded (ended, with steps or attempts
-- that had not) are made whole, as ending a run now does.
UPDATE attempts SET status = 'canceled',
	finished_at = (SELECT finished_at FROM runs WHERE runs.id = attempts.run_id)
	WHERE status = 'running' AND run_id IN
		(SELECT id FROM runs WHERE status IN ('succeeded', 'failed', 'canceled'));
UPDATE steps SET status = 'canceled', error = 'the run ended before the step did',
	finished_at = (SELECT finished_at FROM runs WHERE runs.id = steps.run_id)
	WHERE status NOT IN ('succeeded', 'failed', 'skipped', 'canceled') AND run_id IN
		(SELECT id FROM runs WHERE status IN ('succeeded', 'failed', 'canceled'));
