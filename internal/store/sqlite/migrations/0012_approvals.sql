-- A step with an approval waits for a person's decision. The wait, with
-- its start and deadline, is stored when the step is reached, and the
-- decision once it is made, so that both survive a restart and any server
-- may take the decision. Approvals go with their step.

CREATE TABLE approvals (
	run_id     TEXT NOT NULL,
	step       TEXT NOT NULL,
	message    TEXT NOT NULL DEFAULT '',
	since      INTEGER NOT NULL,
	deadline   INTEGER NOT NULL DEFAULT 0,
	decided_at INTEGER NOT NULL DEFAULT 0,
	approved   INTEGER NOT NULL DEFAULT 0,
	decided_by TEXT NOT NULL DEFAULT '',
	reason     TEXT NOT NULL DEFAULT '',
	vals       TEXT,
	PRIMARY KEY (run_id, step),
	FOREIGN KEY (run_id, step) REFERENCES steps (run_id, name) ON DELETE CASCADE
);
