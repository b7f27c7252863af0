//! 1C:Enterprise exchange: the files 1C's standard site exchange ("Обмен с сайтом") sends.
//!
//! `commerceml` reads the catalog (import.xml, offers.xml) into the hub's catalog lines; the
//! HTTP side of the exchange lives elsewhere and only hands this module the files' bytes.

pub mod commerceml;
