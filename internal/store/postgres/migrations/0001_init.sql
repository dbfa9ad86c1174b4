-- baton's schema on PostgreSQL, as the SQLite store holds it after its own
-- migrations 0001 to 0010; the two number their migrations apart.
--
-- Times are unix nanoseconds in UTC, 0 for unset: timestamptz keeps only
-- microseconds, and a schedule's ticks are told apart to the nanosecond.
-- Maps are JSON objects of strings kept as text (jsonb refuses \u0000,
-- which a value may hold); NULL means empty.
-- Names and IDs are text with the "C" collation, so that they sort by
-- bytes whatever the database's locale, as on SQLite. Text a step or an
-- executor controls (log lines, errors) is bytea: text refuses NUL bytes
-- and invalid UTF-8, and a write refused for them would leave a run
-- unrecorded.
-- Children go with their run (ON DELETE CASCADE), so pruning a run is one
-- delete that no late log line can get in the way of.

CREATE TABLE pipelines (
	name       text COLLATE "C" NOT NULL,
	revision   integer NOT NULL,
	spec       bytea   NOT NULL,
	created_at bigint  NOT NULL,
	-- A deleted pipeline keeps its revisions, for the runs that pinned
	-- them, marked with the time of deletion.
	deleted_at bigint  NOT NULL DEFAULT 0,
	PRIMARY KEY (name, revision)
);

CREATE TABLE runs (
	id                  text COLLATE "C" NOT NULL PRIMARY KEY,
	pipeline            text COLLATE "C" NOT NULL,
	revision            integer NOT NULL,
	status              text COLLATE "C" NOT NULL,
	params              text,
	vars                text,
	executor            text COLLATE "C" NOT NULL DEFAULT '',
	error               bytea   NOT NULL DEFAULT '',
	retry_of            text COLLATE "C" NOT NULL DEFAULT '',
	created_at          bigint  NOT NULL,
	started_at          bigint  NOT NULL DEFAULT 0,
	finished_at         bigint  NOT NULL DEFAULT 0,
	cancel_requested_at bigint  NOT NULL DEFAULT 0,
	-- What started the run, such as a queue message's id, so that an
	-- event delivered twice starts one run; '' is no key.
	trigger_key         text COLLATE "C" NOT NULL DEFAULT '',
	-- The server that drives an unfinished run holds its lease until
	-- lease_until; every claim raises lease_epoch, so a server that lost
	-- the run can write nothing more to it.
	lease_owner         text COLLATE "C" NOT NULL DEFAULT '',
	lease_epoch         bigint  NOT NULL DEFAULT 0,
	lease_until         bigint  NOT NULL DEFAULT 0
);

CREATE INDEX runs_created ON runs (created_at DESC, id DESC);
CREATE INDEX runs_pipeline ON runs (pipeline, created_at DESC, id DESC);
CREATE INDEX runs_status ON runs (status, created_at DESC, id DESC);
CREATE INDEX runs_finished ON runs (finished_at)
	WHERE status IN ('succeeded', 'failed', 'canceled');
CREATE UNIQUE INDEX runs_trigger_key ON runs (trigger_key) WHERE trigger_key <> '';
-- The runs a claim may take, oldest first.
CREATE INDEX runs_unfinished ON runs (created_at, id)
	WHERE status IN ('queued', 'running');
CREATE INDEX runs_lease_owner ON runs (lease_owner)
	WHERE status IN ('queued', 'running');
-- A pipeline's unfinished runs, which its gate counts at every admission
-- and a delete looks for, however long its history.
CREATE INDEX runs_pipeline_unfinished ON runs (pipeline, created_at, id)
	WHERE status IN ('queued', 'running');

CREATE TABLE steps (
	run_id      text COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	name        text COLLATE "C" NOT NULL,
	idx         integer NOT NULL,
	status      text COLLATE "C" NOT NULL,
	attempts    integer NOT NULL DEFAULT 0,
	exit_code   bigint,
	error       bytea   NOT NULL DEFAULT '',
	outputs     text,
	started_at  bigint  NOT NULL DEFAULT 0,
	finished_at bigint  NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, name)
);

CREATE TABLE attempts (
	run_id        text COLLATE "C" NOT NULL,
	step          text COLLATE "C" NOT NULL,
	attempt       integer NOT NULL,
	status        text COLLATE "C" NOT NULL,
	token_hash    bytea,
	handle        bytea,
	exit_code     bigint,
	error         bytea   NOT NULL DEFAULT '',
	outputs       text,
	removed       boolean NOT NULL DEFAULT false,
	cleanup_error bytea   NOT NULL DEFAULT '',
	cleanup_tries integer NOT NULL DEFAULT 0,
	image_digest  text COLLATE "C" NOT NULL DEFAULT '',
	executor      text COLLATE "C" NOT NULL DEFAULT '',
	started_at    bigint  NOT NULL,
	finished_at   bigint  NOT NULL DEFAULT 0,
	-- What the attempt started with, sealed by the engine; NULL once it
	-- ended.
	sealed        bytea,
	log_bytes     bigint  NOT NULL DEFAULT 0,
	log_dropped   bigint  NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, step, attempt),
	FOREIGN KEY (run_id, step) REFERENCES steps (run_id, name) ON DELETE CASCADE
);

-- Attempts running in the whole store, counted at every start that bounds
-- them.
CREATE INDEX attempts_running ON attempts (status) WHERE status = 'running';
-- Ended attempts whose container may be left: the reaper's list.
CREATE INDEX attempts_unremoved ON attempts (run_id, step, attempt)
	WHERE NOT removed AND status <> 'running' AND handle IS NOT NULL AND length(handle) > 0;

CREATE TABLE logs (
	seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	run_id  text COLLATE "C" NOT NULL,
	step    text COLLATE "C" NOT NULL,
	attempt integer NOT NULL,
	ts      bigint  NOT NULL,
	stream  text COLLATE "C" NOT NULL,
	text    bytea   NOT NULL,
	FOREIGN KEY (run_id, step, attempt) REFERENCES attempts (run_id, step, attempt) ON DELETE CASCADE
);

CREATE INDEX logs_step ON logs (run_id, step, seq);
CREATE INDEX logs_attempt ON logs (run_id, step, attempt);

CREATE TABLE schedule_ticks (
	pipeline     text COLLATE "C" NOT NULL,
	schedule_key text COLLATE "C" NOT NULL,
	tick         bigint NOT NULL,
	run_id       text COLLATE "C" NOT NULL DEFAULT '',
	created_at   bigint NOT NULL,
	PRIMARY KEY (pipeline, schedule_key, tick)
);

CREATE TABLE schedule_pauses (
	pipeline  text COLLATE "C" NOT NULL PRIMARY KEY,
	paused_at bigint NOT NULL
);

-- Secrets are kept sealed: value is ciphertext.
CREATE TABLE secrets (
	name       text COLLATE "C" NOT NULL PRIMARY KEY,
	value      bytea  NOT NULL,
	key_id     text COLLATE "C" NOT NULL DEFAULT '',
	created_at bigint NOT NULL,
	updated_at bigint NOT NULL
);

-- API tokens are kept by the hash of their value.
CREATE TABLE tokens (
	name       text COLLATE "C" NOT NULL PRIMARY KEY,
	role       text COLLATE "C" NOT NULL,
	hash       bytea  NOT NULL UNIQUE,
	created_at bigint NOT NULL,
	revoked_at bigint NOT NULL DEFAULT 0
);

CREATE TABLE audit (
	seq    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ts     bigint NOT NULL,
	actor  text COLLATE "C" NOT NULL DEFAULT '',
	action text COLLATE "C" NOT NULL,
	target text COLLATE "C" NOT NULL DEFAULT '',
	detail bytea  NOT NULL DEFAULT ''
);

-- The identity names this database, so that a data dir whose database
-- went missing or was emptied is noticed; one row, written at first open.
CREATE TABLE identity (
	id         text COLLATE "C" NOT NULL PRIMARY KEY,
	created_at bigint NOT NULL
);
