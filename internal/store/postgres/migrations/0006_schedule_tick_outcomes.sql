-- A schedule's tick records what came of it: fired (and its run), skipped
-- (paused, or by the overlap policy) or failed to start (and why), and
-- whether catch-up fired it. Only the claim that recorded a tick sets its
-- outcome, once; ticks recorded before stay unknown. Ticks are pruned by
-- when they were recorded.

ALTER TABLE schedule_ticks ADD COLUMN claim text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE schedule_ticks ADD COLUMN catch_up boolean NOT NULL DEFAULT false;
ALTER TABLE schedule_ticks ADD COLUMN outcome text COLLATE "C" NOT NULL DEFAULT 'unknown';
ALTER TABLE schedule_ticks ADD COLUMN error text NOT NULL DEFAULT '';
ALTER TABLE schedule_ticks ADD COLUMN decided_at bigint NOT NULL DEFAULT 0;

CREATE INDEX schedule_ticks_created ON schedule_ticks (created_at);
