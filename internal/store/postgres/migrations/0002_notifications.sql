-- The outbox of run notifications: rows are written in the transaction
-- that ends a run and deleted with it.

CREATE TABLE notifications (
	id           text COLLATE "C" NOT NULL PRIMARY KEY,
	run_id       text COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	pipeline     text COLLATE "C" NOT NULL,
	idx          integer NOT NULL,
	url          text    NOT NULL,
	secret       text COLLATE "C" NOT NULL DEFAULT '',
	body         bytea   NOT NULL,
	status       text COLLATE "C" NOT NULL DEFAULT 'pending',
	tries        integer NOT NULL DEFAULT 0,
	next_at      bigint  NOT NULL,
	last_code    integer NOT NULL DEFAULT 0,
	last_error   bytea   NOT NULL DEFAULT '',
	created_at   bigint  NOT NULL,
	delivered_at bigint  NOT NULL DEFAULT 0,
	lease_owner  text COLLATE "C" NOT NULL DEFAULT '',
	lease_until  bigint  NOT NULL DEFAULT 0
);
CREATE INDEX notifications_run ON notifications (run_id, idx);
CREATE INDEX notifications_due ON notifications (next_at) WHERE status = 'pending';
