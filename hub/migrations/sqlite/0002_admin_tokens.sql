-- Administrators' tokens (the fleet view) and revoked devices.
CREATE TABLE admin_tokens (
    token_hash BLOB PRIMARY KEY,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE devices ADD COLUMN revoked_at INTEGER;
