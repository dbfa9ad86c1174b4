-- Each attempt records the executor, by its registry name, that ran it:
-- a pipeline's steps may run on different executors. Attempts from before
-- ran on their run's executor.

ALTER TABLE attempts ADD COLUMN executor TEXT NOT NULL DEFAULT '';

UPDATE attempts SET executor = coalesce((SELECT r.executor FROM runs r WHERE r.id = attempts.run_id), '');
