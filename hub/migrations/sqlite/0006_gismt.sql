-- The link to GIS MT: where each document stands on its way there and back, the codes to read
-- again at once, each participant's pass over its codes, the alerts sent, and which hub
-- process runs the link.
--
-- Documents made before this version were exported by hand (`tally-hub export`) and are not
-- sent again: only documents made from now on get a submission row.
CREATE TABLE submissions (
    operation INTEGER NOT NULL,
    position INTEGER NOT NULL,
    state TEXT NOT NULL,
    gis_id TEXT UNIQUE,
    errors TEXT NOT NULL DEFAULT '[]',
    made_at INTEGER NOT NULL,
    sending_at INTEGER,
    state_at INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (operation, position),
    FOREIGN KEY (operation, position) REFERENCES gis_documents (operation, position)
);
CREATE INDEX submissions_due ON submissions (next_at)
    WHERE state IN ('waiting', 'sending', 'in_progress');
CREATE INDEX submissions_made ON submissions (made_at);
CREATE TABLE refresh_queue (
    code TEXT PRIMARY KEY,
    queued_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE refreshes (
    participant_inn TEXT PRIMARY KEY,
    cursor BLOB NOT NULL DEFAULT x'',
    pass_started_at INTEGER,
    refreshed_at INTEGER
) WITHOUT ROWID;
CREATE INDEX statuses_owner ON statuses (owner_inn, ki_key);
CREATE TABLE alerts (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    raised_at INTEGER NOT NULL,
    sent_at INTEGER,
    cleared_at INTEGER
) WITHOUT ROWID;
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
