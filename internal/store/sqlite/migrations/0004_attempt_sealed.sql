-- Attempts keep what they started with (their callback token and the values
-- of their secrets), sealed by the engine, so a restarted server masks their
-- output and serves their secrets as the attempt first saw them. The store
-- never sees the values in clear.

ALTER TABLE attempts ADD COLUMN sealed BLOB;
