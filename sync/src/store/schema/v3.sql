-- Schema version 3: the hub's answer to every pushed operation.
--
-- An accepted (or already-applied) operation is marked uploaded in the queue in the same
-- transaction. A rejected one stays pending, so the operator sees it, and keeps here the
-- hub's reasons (JSON array of {code, en, ru, subject?}); the sync engine does not send it
-- again: the hub would only repeat its first answer. Released: never edit this file.
CREATE TABLE push_answers (
    seq INTEGER PRIMARY KEY REFERENCES queue (seq),
    result TEXT NOT NULL,
    original TEXT,
    reasons TEXT NOT NULL,
    answered_at INTEGER NOT NULL
) STRICT;
