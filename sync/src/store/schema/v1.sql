-- Schema version 1 of the terminal's replica. Released: never edit this file; add a new
-- version instead (the frozen copy in sync/tests/fixtures/v1.sql proves it stays unchanged).

-- Key-value facts about this replica: schema_version, device_id, next_device_seq,
-- next_sscc_serial, cache_watermark, last_sync_at, statuses_refreshed_at.
CREATE TABLE meta (
    key TEXT PRIMARY KEY NOT NULL,
    value ANY
) STRICT, WITHOUT ROWID;

-- Owner INNs, interned: millions of cached codes share a few hundred owners.
CREATE TABLE owners (
    id INTEGER PRIMARY KEY,
    inn TEXT NOT NULL UNIQUE
) STRICT;

-- The status cache, one row per КИ. `ki` is Ki::key() (6-byte GTIN + serial).
-- `flags` packs product group, status, package type, statusEx and the blocked bit
-- (see store::codec). `parent` is an SSCC as INTEGER or a Ki key as BLOB. `expiry` is days
-- since 1970-01-01, `price` kopecks. Absent facts are NULL, which costs one header byte.
CREATE TABLE statuses (
    ki BLOB PRIMARY KEY NOT NULL,
    flags INTEGER NOT NULL,
    owner INTEGER,
    parent ANY,
    expiry INTEGER,
    price INTEGER
) STRICT, WITHOUT ROWID;

-- Block lists, as the point-of-sale local module replicates them.
CREATE TABLE blocked_codes (
    ki BLOB PRIMARY KEY NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE blocked_gtins (
    gtin INTEGER PRIMARY KEY
) STRICT;

CREATE TABLE blocked_series (
    gtin INTEGER NOT NULL,
    batch TEXT NOT NULL,
    PRIMARY KEY (gtin, batch)
) STRICT, WITHOUT ROWID;

-- The catalog: what a GTIN is called and how it is counted.
CREATE TABLE catalog (
    gtin INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    product_group INTEGER,
    unit TEXT
) STRICT;

-- Acceptance documents the hub assigned to this terminal, with what they should contain.
CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    number TEXT NOT NULL,
    sender_inn TEXT NOT NULL,
    date TEXT NOT NULL,
    product_group INTEGER,
    received_at INTEGER NOT NULL
) STRICT;

CREATE TABLE task_boxes (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    sscc INTEGER NOT NULL,
    PRIMARY KEY (task_id, sscc)
) STRICT, WITHOUT ROWID;

-- Expected unit codes; `sscc` names the box a unit is expected in, NULL for a loose unit.
CREATE TABLE task_units (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    ki BLOB NOT NULL,
    sscc INTEGER,
    PRIMARY KEY (task_id, ki)
) STRICT, WITHOUT ROWID;

-- Operations in progress. AUTOINCREMENT: ids are never reused after an operation is finished
-- and its rows are deleted, so a log line naming one stays unambiguous.
CREATE TABLE operations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    operator TEXT NOT NULL,
    header TEXT NOT NULL,
    started_at INTEGER NOT NULL
) STRICT;

-- The scans of open operations, one durable row per scan.
CREATE TABLE journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    operation_id INTEGER NOT NULL REFERENCES operations (id),
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    code TEXT NOT NULL,
    ki BLOB,
    verdict TEXT NOT NULL,
    detail TEXT NOT NULL,
    UNIQUE (operation_id, seq)
) STRICT;

-- Finished operations waiting for (or past) upload. `seq` is the per-device sequence number
-- from meta.next_device_seq.
CREATE TABLE queue (
    seq INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    operator TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    payload TEXT NOT NULL,
    uploaded_at INTEGER
) STRICT;

-- Boxes and pallets built on this terminal. An item sits in at most one of them.
CREATE TABLE aggregates (
    sscc INTEGER PRIMARY KEY,
    built_at INTEGER NOT NULL
) STRICT;

-- `item` is a Ki key (BLOB) or an SSCC (INTEGER) for a box on a pallet.
CREATE TABLE aggregate_items (
    item ANY PRIMARY KEY NOT NULL,
    sscc INTEGER NOT NULL REFERENCES aggregates (sscc) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX aggregate_items_by_sscc ON aggregate_items (sscc);
