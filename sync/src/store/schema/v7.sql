-- Schema version 7: what GIS MT says of box and pallet labels.
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
