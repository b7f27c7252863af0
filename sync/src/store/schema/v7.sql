-- Schema version 7: what GIS MT says of box and pallet labels, and units taken out of boxes
-- here.
--
-- A label (SSCC) has a status, an owner and a parent of its own, as a unit has; the hub's
-- status feed now carries them, so a box is judged at acceptance and disaggregation like a
-- unit. `sscc` is the SSCC's numeric value, `flags`, `owner` and `parent` as in `statuses`.
-- Released: never edit this file.
CREATE TABLE label_statuses (
    sscc INTEGER PRIMARY KEY,
    flags INTEGER NOT NULL,
    owner INTEGER,
    parent ANY
) STRICT;

-- A unit taken out of a box on this terminal (re-aggregation) is out of it from that moment,
-- but the status list keeps its `parent` until the next sync. Until then (a row's `at` later
-- than the last sync) the row stands over the cached parent.
CREATE TABLE local_unboxed (
    ki BLOB PRIMARY KEY,
    at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
