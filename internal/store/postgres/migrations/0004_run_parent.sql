-- A run a step of another run started (a sub-pipeline) names that run,
-- step and attempt.

ALTER TABLE runs ADD COLUMN parent_run text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN parent_step text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN parent_attempt integer NOT NULL DEFAULT 0;
