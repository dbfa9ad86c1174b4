-- Re-runs name the run they re-run; cleanup counts its tries; schedules
-- record the ticks they fired, so a tick fires once.

ALTER TABLE runs ADD COLUMN retry_of TEXT NOT NULL DEFAULT '';

ALTER TABLE attempts ADD COLUMN cleanup_tries INTEGER NOT NULL DEFAULT 0;

CREATE TABLE schedule_ticks (
	pipeline     TEXT    NOT NULL,
	schedule_key TEXT    NOT NULL,
	tick         INTEGER NOT NULL,
	run_id       TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (pipeline, schedule_key, tick)
) WITHOUT ROWID;
