-- Schema version 6: what this terminal's own finished operations did to codes, until the hub
-- has seen them.
--
-- A unit accepted here is ours from that moment, a unit written off here is out of
-- circulation, but the status list says so only after the next sync. Until then (a row's `at`
-- later than the last sync) these rows stand over the cached status, so the same terminal can
-- pack what it just accepted and cannot accept or pack what it just wrote off. `status` is the
-- CisStatus number, `owner` the INN (NULL: unchanged).
-- Released: never edit this file.
CREATE TABLE local_statuses (
    ki BLOB PRIMARY KEY,
    status INTEGER NOT NULL,
    owner TEXT,
    at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
