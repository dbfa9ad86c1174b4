-- A step with an approval waits for a person's decision (SQLite's 0012).
-- The wait, with its start and deadline, is stored when the step is
-- reached, and the decision once it is made, so that both survive a
-- restart and any server may take the decision; the server driving the
-- run acts on it. Approvals go with their step.

CREATE TABLE approvals (
	run_id     text COLLATE "C" NOT NULL,
	step       text COLLATE "C" NOT NULL,
	message    text    NOT NULL DEFAULT '',
	since      bigint  NOT NULL,
	deadline   bigint  NOT NULL DEFAULT 0,
	decided_at bigint  NOT NULL DEFAULT 0,
	approved   boolean NOT NULL DEFAULT false,
	decided_by text    NOT NULL DEFAULT '',
	reason     text    NOT NULL DEFAULT '',
	vals       text,
	PRIMARY KEY (run_id, step),
	FOREIGN KEY (run_id, step) REFERENCES steps (run_id, name) ON DELETE CASCADE
);
