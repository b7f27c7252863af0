//! 1C:Enterprise exchange: the files 1C's standard site exchange ("Обмен с сайтом") sends.
//!
//! `commerceml` reads the catalog (import.xml, offers.xml) into the hub's catalog lines;
//! `site` applies an imported file to the store. The HTTP side of the exchange is
//! `server/onec.rs`, which hands these the files' bytes.

pub mod commerceml;
pub mod site;
