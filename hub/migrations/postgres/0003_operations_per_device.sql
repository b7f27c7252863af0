-- An operation is one device's: its key is (device, UUID), so another device's use of a UUID
-- is a conflict to refuse, not a duplicate to answer with the first device's result.
ALTER TABLE operations DROP CONSTRAINT operations_uuid_key;
ALTER TABLE operations ADD CONSTRAINT operations_device_uuid UNIQUE (device_id, uuid);
CREATE INDEX operations_uuid ON operations(uuid);
