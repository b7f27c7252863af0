-- Schema version 5: the operators who may sign in, from the hub's `operators` feed.
--
-- The PIN is kept as the hub sent it: a salt and the SHA-256 of `salt:PIN`
-- (`wire::pin_digest`). A badge is the text its QR code carries.
-- Released: never edit this file.
CREATE TABLE operators (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    pin_salt TEXT NOT NULL,
    pin_sha256 TEXT NOT NULL,
    badge TEXT,
    supervisor INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE INDEX operators_by_badge ON operators (badge) WHERE badge IS NOT NULL;
