-- The link to GIS MT: where each document stands on its way there and back, the codes to read
-- again at once, each participant's pass over its codes, the alerts sent, and which hub
-- instance runs the link (see the SQLite migration 0006 for the same tables).
--
-- Documents made before this version were exported by hand (`tally-hub export`) and are not
-- sent again: only documents made from now on get a submission row.
CREATE TABLE submissions (
    operation BIGINT NOT NULL,
    position BIGINT NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    gis_id TEXT COLLATE "C" UNIQUE,
    errors TEXT NOT NULL DEFAULT '[]',
    made_at BIGINT NOT NULL,
    sending_at BIGINT,
    state_at BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    tries BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (operation, position),
    FOREIGN KEY (operation, position) REFERENCES gis_documents (operation, position)
);
CREATE INDEX submissions_due ON submissions (next_at)
    WHERE state IN ('waiting', 'sending', 'in_progress');
CREATE INDEX submissions_made ON submissions (made_at);
CREATE TABLE refresh_queue (
    code TEXT COLLATE "C" PRIMARY KEY,
    queued_at BIGINT NOT NULL
);
CREATE TABLE refreshes (
    participant_inn TEXT COLLATE "C" PRIMARY KEY,
    cursor BYTEA NOT NULL DEFAULT '',
    pass_started_at BIGINT,
    refreshed_at BIGINT
);
CREATE INDEX statuses_owner ON statuses (owner_inn, ki_key);
CREATE TABLE alerts (
    key TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    raised_at BIGINT NOT NULL,
    sent_at BIGINT,
    cleared_at BIGINT
);
CREATE TABLE leases (
    name TEXT COLLATE "C" PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
