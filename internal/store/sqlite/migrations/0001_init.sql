-- Times are unix nanoseconds in UTC; 0 means unset.
-- Maps are JSON objects of strings; NULL means empty.

CREATE TABLE pipelines (
	name       TEXT    NOT NULL,
	revision   INTEGER NOT NULL,
	spec       BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (name, revision)
) WITHOUT ROWID;

CREATE TABLE runs (
	id          TEXT    NOT NULL PRIMARY KEY,
	pipeline    TEXT    NOT NULL,
	revision    INTEGER NOT NULL,
	status      TEXT    NOT NULL,
	params      TEXT,
	vars        TEXT,
	executor    TEXT    NOT NULL DEFAULT '',
	error       TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	started_at  INTEGER NOT NULL DEFAULT 0,
	finished_at INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX runs_created ON runs (created_at DESC, id DESC);
CREATE INDEX runs_pipeline ON runs (pipeline, created_at DESC, id DESC);
CREATE INDEX runs_status ON runs (status, created_at DESC, id DESC);

CREATE TABLE steps (
	run_id      TEXT    NOT NULL REFERENCES runs (id),
	name        TEXT    NOT NULL,
	idx         INTEGER NOT NULL,
	status      TEXT    NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	exit_code   INTEGER,
	error       TEXT    NOT NULL DEFAULT '',
	outputs     TEXT,
	started_at  INTEGER NOT NULL DEFAULT 0,
	finished_at INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, name)
) WITHOUT ROWID;

CREATE TABLE attempts (
	run_id        TEXT    NOT NULL,
	step          TEXT    NOT NULL,
	attempt       INTEGER NOT NULL,
	status        TEXT    NOT NULL,
	token_hash    BLOB,
	handle        BLOB,
	exit_code     INTEGER,
	error         TEXT    NOT NULL DEFAULT '',
	outputs       TEXT,
	removed       INTEGER NOT NULL DEFAULT 0,
	cleanup_error TEXT    NOT NULL DEFAULT '',
	started_at    INTEGER NOT NULL,
	finished_at   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, step, attempt),
	FOREIGN KEY (run_id, step) REFERENCES steps (run_id, name)
) WITHOUT ROWID;

CREATE TABLE logs (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	run_id  TEXT    NOT NULL,
	step    TEXT    NOT NULL,
	attempt INTEGER NOT NULL,
	ts      INTEGER NOT NULL,
	stream  TEXT    NOT NULL,
	text    TEXT    NOT NULL,
	FOREIGN KEY (run_id, step, attempt) REFERENCES attempts (run_id, step, attempt)
);

CREATE INDEX logs_step ON logs (run_id, step, seq);
