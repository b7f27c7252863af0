-- The GIS MT documents an accepted operation made (made at intake, from the list as it stood
-- then), an acceptance's discrepancies, and the notices answered with it.
CREATE TABLE gis_documents (
    operation INTEGER NOT NULL,
    position INTEGER NOT NULL,
    doc_type TEXT NOT NULL,
    pg TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (operation, position)
) WITHOUT ROWID;
CREATE TABLE discrepancies (
    operation INTEGER PRIMARY KEY,
    body TEXT NOT NULL
);
-- Box and pallet labels built by the terminals: a label is one device's.
CREATE TABLE labels (
    sscc TEXT PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES devices(id)
) WITHOUT ROWID;
ALTER TABLE operations ADD COLUMN notices TEXT NOT NULL DEFAULT '[]';
