//! Tally's use cases, and the ports they need from the outside world.
//!
//! A use case loads what it needs, asks `tally-core` to decide, and makes one call to
//! the [`ports::Store`]. Adapters (SQLite, PostgreSQL, HTTP) depend on this crate, never
//! the other way round; the [`conformance`] suite is what every storage adapter must pass.
#![deny(missing_docs)]

pub mod accounts;
pub mod action_export;
pub mod actions;
pub mod catalog;
pub mod clicks;
pub mod conformance;
pub mod conversions;
pub mod copy;
pub mod csv_text;
pub mod integration;
pub mod listing;
pub mod loader;
pub mod locking;
pub mod metrics;
pub mod ports;
mod pricing;
pub mod programs;
pub mod reports;
pub mod rollup;
pub mod secrets;
pub mod sql;
pub mod statements;
pub mod test_requests;
pub mod throttle;
pub mod visits;
