-- Schema version 2: the pending part of the queue gets its own index.
--
-- Uploaded rows stay in the queue as the terminal's record until they are pruned, so after a
-- few weeks most rows are history. `pending_queue()` and the queue depth in `stats()` run on
-- every screen refresh and every sync attempt; with this partial index they read only the
-- pending rows instead of the whole table. Released: never edit this file.
CREATE INDEX queue_pending ON queue (seq) WHERE uploaded_at IS NULL;
