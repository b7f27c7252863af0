-- An operation is one device's: its key is (device, UUID), so another device's use of a UUID
-- is a conflict to refuse, not a duplicate to answer with the first device's result. SQLite
-- cannot drop a primary key, so the table is rebuilt with its row numbers kept (documents and
-- discrepancies refer to them), now named `id` as on PostgreSQL.
CREATE TABLE operations_by_device (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL,
    device_id INTEGER NOT NULL REFERENCES devices(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    operator TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    payload TEXT NOT NULL,
    result TEXT NOT NULL,
    reasons TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    notices TEXT NOT NULL DEFAULT '[]',
    UNIQUE (device_id, uuid)
);
INSERT INTO operations_by_device (id, uuid, device_id, seq, kind, operator, started_at,
                                  finished_at, payload, result, reasons, received_at, notices)
    SELECT rowid, uuid, device_id, seq, kind, operator, started_at, finished_at, payload,
           result, reasons, received_at, notices
    FROM operations;
DROP TABLE operations;
ALTER TABLE operations_by_device RENAME TO operations;
CREATE INDEX operations_device_seq ON operations(device_id, seq);
CREATE INDEX operations_uuid ON operations(uuid);
