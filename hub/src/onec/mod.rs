//! 1C:Enterprise exchange: the files 1C's standard site exchange ("Обмен с сайтом") sends.
//!
//! `commerceml` reads the catalog (import.xml, offers.xml) into the hub's catalog lines;
//! `documents` reads the sale exchange's documents (deliveries, orders) into the hub's work;
//! `results` writes what the warehouse did back as CommerceML, `upd` a shipment's codes for its
//! outgoing UPD; `site` applies an imported
//! file to the store. The HTTP side of the exchange is
//! `server/onec.rs`, which hands these the files' bytes.

pub mod commerceml;
pub mod documents;
pub mod results;
pub mod site;
pub mod upd;
