-- A fan-out step (for_each:) has an instance per item: a step row of its
-- own, named after it, that says whose instance it is and for which item.

ALTER TABLE steps ADD COLUMN parent text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE steps ADD COLUMN item bytea NOT NULL DEFAULT '';
ALTER TABLE steps ADD COLUMN item_index integer NOT NULL DEFAULT -1;
