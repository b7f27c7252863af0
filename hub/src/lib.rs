//! The hub the terminals sync with: mirrors statuses, takes their operations, makes documents.
//!
//! `store` holds every line of SQL; `push` re-judges pushed operations with the domain's rules;
//! `import` loads status exports, block lists, the catalog and tasks; `server` is the HTTP
//! protocol of `tally_wire`; `documents` turns accepted operations into GIS MT document
//! bodies for signing; `tls` terminates TLS in front of `server`.

pub mod documents;
pub mod enroll_qr;
pub mod import;
pub mod push;
pub mod server;
pub mod store;
pub mod tls;
