-- A run may carry the key of the event that started it, such as a queue
-- message's id, so that an event delivered twice starts one run. '' is no
-- key; a key is unique among the runs that have one.

ALTER TABLE runs ADD COLUMN trigger_key TEXT NOT NULL DEFAULT '';

CREATE UNIQUE INDEX runs_trigger_key ON runs (trigger_key) WHERE trigger_key <> '';
