-- Schema version 8: what GIS MT made of the documents of this terminal's own operations (hub
-- protocol 3, the `verdicts` feed).
--
-- The hub submits each pushed operation to GIS MT as one or more documents and tells the
-- warehouse's terminals, per document, the final state GIS MT gave it. A terminal keeps those
-- of the operations in its own queue only (`operation` is the queue row's `uuid`), so the
-- operator sees which of the operations they did were refused, and why, in the UI's language.
-- One row per document: `type` is its True API type (`LP_ACCEPT_GOODS`), `pg` its product
-- group's True API code (`lp`); a later verdict of the same document replaces the row.
-- `state` is the `DocumentState` code (`checked_ok`, `checked_not_ok`, `processing_error`),
-- `reasons` GIS MT's errors as the wire's JSON array of `OperationReason`, `at` when the hub
-- learned the state. In `snapshot_keys` a verdict's key is its operation, type and product
-- group joined by the unit separator (char 31).
-- Released: never edit this file.
CREATE TABLE verdicts (
    operation TEXT NOT NULL,
    type TEXT NOT NULL,
    pg TEXT NOT NULL,
    gis_id TEXT,
    state TEXT NOT NULL,
    reasons TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (operation, type, pg)
) STRICT, WITHOUT ROWID;
