-- The first hub: devices, enrollment codes, operations, the status list and the change log.
CREATE TABLE devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    warehouse TEXT NOT NULL,
    participant_inn TEXT NOT NULL,
    enrolled_at INTEGER NOT NULL,
    last_contact INTEGER,
    app_version TEXT NOT NULL DEFAULT '',
    queue_depth INTEGER NOT NULL DEFAULT 0,
    cache_synced_at INTEGER
);
CREATE TABLE enrollment_codes (
    code_hash BLOB PRIMARY KEY,
    warehouse TEXT NOT NULL,
    participant_inn TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_by INTEGER REFERENCES devices(id)
);
CREATE TABLE operations (
    uuid TEXT PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES devices(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    operator TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    payload TEXT NOT NULL,
    result TEXT NOT NULL,
    reasons TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX operations_device_seq ON operations(device_id, seq);
CREATE TABLE statuses (
    ki_key BLOB PRIMARY KEY,
    status TEXT NOT NULL,
    status_ex TEXT NOT NULL,
    owner_inn TEXT,
    parent TEXT,
    blocked INTEGER NOT NULL,
    info TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE changes (
    feed TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL UNIQUE,
    item TEXT NOT NULL,
    -- The one warehouse a record is for (a task); NULL for every terminal.
    warehouse TEXT,
    PRIMARY KEY (feed, key)
) WITHOUT ROWID;
CREATE INDEX changes_feed_seq ON changes(feed, seq);
CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO meta (name, value) VALUES ('change_seq', 0);
