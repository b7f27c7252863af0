-- The pallet a box built on a terminal sits on: a pallet ships, counts and unpacks by its
-- boxes, and GIS MT's list keys units by their box only.
ALTER TABLE labels ADD COLUMN parent TEXT COLLATE "C";
CREATE INDEX labels_parent ON labels(parent) WHERE parent IS NOT NULL;
