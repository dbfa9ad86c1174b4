-- The outbox of run notifications: rows are written in the transaction
-- that ends a run and deleted with it.

CREATE TABLE notifications (
	id           TEXT    NOT NULL PRIMARY KEY,
	run_id       TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	pipeline     TEXT    NOT NULL,
	idx          INTEGER NOT NULL,
	url          TEXT    NOT NULL,
	secret       TEXT    NOT NULL DEFAULT '',
	body         BLOB    NOT NULL,
	status       TEXT    NOT NULL DEFAULT 'pending',
	tries        INTEGER NOT NULL DEFAULT 0,
	next_at      INTEGER NOT NULL,
	last_code    INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	delivered_at INTEGER NOT NULL DEFAULT 0,
	lease_owner  TEXT    NOT NULL DEFAULT '',
	lease_until  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notifications_run ON notifications (run_id, idx);
CREATE INDEX notifications_due ON notifications (next_at) WHERE status = 'pending';
