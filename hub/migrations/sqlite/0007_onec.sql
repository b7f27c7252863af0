-- 1C's site exchange ("Обмен с сайтом", CommerceML over HTTP at /1c/exchange): the nodes 1C
-- signs in as (`tally-hub onec add-node`), the sessions checkauth hands out as a cookie, the
-- files of a node's exchange until they are imported, and what each exchange did.
CREATE TABLE onec_nodes (
    name TEXT PRIMARY KEY,
    password_hash BLOB NOT NULL,
    warehouse TEXT NOT NULL,
    -- Addresses 1C may call from (comma-separated CIDRs); empty: any.
    allow TEXT NOT NULL DEFAULT '',
    -- "Do not overwrite products already created", as 1C's other sites offer.
    keep_existing INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE onec_sessions (
    cookie_hash BLOB PRIMARY KEY,
    node TEXT NOT NULL REFERENCES onec_nodes (name),
    created_at INTEGER NOT NULL
);
CREATE TABLE onec_files (
    node TEXT NOT NULL REFERENCES onec_nodes (name),
    filename TEXT NOT NULL,
    part INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (node, filename, part)
);
CREATE TABLE onec_log (
    id INTEGER PRIMARY KEY,
    node TEXT NOT NULL,
    at INTEGER NOT NULL,
    exchange TEXT NOT NULL,
    mode TEXT NOT NULL,
    filename TEXT,
    outcome TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX onec_log_node_at ON onec_log (node, at);
