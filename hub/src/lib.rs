//! The hub the terminals sync with: mirrors statuses, takes their operations, makes documents.
//!
//! `gismt` is the link to GIS MT (True API); `onec` reads what 1C's site exchange sends.
//! `store` holds every line of SQL; `push` re-judges pushed operations with the domain's rules;
//! `import` loads status exports, block lists, the catalog and tasks; `server` is the HTTP
//! protocol of `tally_wire` (axum on tokio, TLS in its own accept loop); `documents` turns
//! accepted operations into GIS MT document bodies for signing; `tls` reads the certificate
//! and key `server` shakes hands with.

pub mod documents;
pub mod enroll_qr;
pub mod gismt;
pub mod import;
pub mod onec;
pub mod push;
pub mod server;
pub mod store;
pub mod tls;
