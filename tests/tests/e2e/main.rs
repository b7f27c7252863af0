//! End-to-end tests across Tally's crates: one binary, one module per flow.

mod customer_return;
mod gismt;
mod kills;
mod layering;
mod onec;
mod packaging;
mod processes;
mod shift;
mod shipment;
mod warehouse_day;
