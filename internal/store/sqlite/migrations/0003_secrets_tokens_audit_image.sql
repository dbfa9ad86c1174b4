-- Secrets are kept sealed: value is ciphertext, stored as a BLOB so every
-- byte survives. API tokens are kept by the hash of their value. The audit
-- log records changes made through the API, in the order they were made.
-- Attempts record the image they ran, by digest.

CREATE TABLE secrets (
	name       TEXT    NOT NULL PRIMARY KEY,
	value      BLOB    NOT NULL,
	key_id     TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE tokens (
	name       TEXT    NOT NULL PRIMARY KEY,
	role       TEXT    NOT NULL,
	hash       BLOB    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE audit (
	seq    INTEGER PRIMARY KEY AUTOINCREMENT,
	ts     INTEGER NOT NULL,
	actor  TEXT    NOT NULL DEFAULT '',
	action TEXT    NOT NULL,
	target TEXT    NOT NULL DEFAULT '',
	detail TEXT    NOT NULL DEFAULT ''
);

ALTER TABLE attempts ADD COLUMN image_digest TEXT NOT NULL DEFAULT '';
