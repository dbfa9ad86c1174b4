-- Servers sharing a store bound the attempts running across all of them,
-- which counts the running ones at every start.

CREATE INDEX attempts_running ON attempts (status) WHERE status = 'running';
