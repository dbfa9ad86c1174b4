-- A deleted pipeline keeps its revisions, marked with the time of deletion,
-- for the runs that pinned them; it leaves the lists. A pipeline's schedules
-- can be paused, and stay paused until resumed.

ALTER TABLE pipelines ADD COLUMN deleted_at INTEGER NOT NULL DEFAULT 0;

CREATE TABLE schedule_pauses (
	pipeline  TEXT    NOT NULL PRIMARY KEY,
	paused_at INTEGER NOT NULL
) WITHOUT ROWID;
