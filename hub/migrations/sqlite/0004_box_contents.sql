-- A box's contents are found by parent: without an index a disaggregation read the whole list.
CREATE INDEX statuses_parent ON statuses(parent) WHERE parent IS NOT NULL;
