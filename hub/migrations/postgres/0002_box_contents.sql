-- A box's contents are found by parent (and locked with it): without an index a
-- disaggregation read the whole list. The same index as the SQLite hub's version 4.
CREATE INDEX statuses_parent ON statuses(parent) WHERE parent IS NOT NULL;
