-- Schema version 4: the records a feed snapshot has brought so far (hub protocol 2).
--
-- When the hub sends a feed whole (the terminal's cursor was older than removals the hub no
-- longer logs), every record stored from it is noted here, page by page, while the old copy
-- keeps answering lookups. The snapshot's last page deletes, in its own transaction, the
-- feed's rows that were not noted, and drops the notes. `key` is the record's key as its table
-- holds it: the Ki key (BLOB) for statuses and code blocks, the GTIN (INTEGER) for GTIN blocks
-- and the catalog, 'GTIN:batch' (TEXT) for series blocks, the id (TEXT) for tasks.
-- Released: never edit this file.
CREATE TABLE snapshot_keys (
    feed TEXT NOT NULL,
    key ANY NOT NULL,
    PRIMARY KEY (feed, key)
) STRICT, WITHOUT ROWID;
