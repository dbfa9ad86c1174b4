-- A run a step of another run started (a sub-pipeline) names that run,
-- step and attempt.

ALTER TABLE runs ADD COLUMN parent_run TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN parent_step TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN parent_attempt INTEGER NOT NULL DEFAULT 0;
