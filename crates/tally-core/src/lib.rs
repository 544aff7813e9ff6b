//! Tally's pure domain core.
//!
//! Everything here is a value or a pure function: no I/O, no async, no clock and no
//! randomness. Callers pass `now` and fresh random bits in, and get decisions back,
//! which is what makes the same program give the same answers on every backend and
//! in every test.
#![deny(missing_docs)]
#![deny(clippy::float_arithmetic)]

pub mod attribution;
pub mod chart;
pub mod click;
pub mod conversion;
pub mod flood;
pub mod identity;
pub mod ids;
pub mod integration;
pub mod landing;
pub mod lifecycle;
pub mod link_query;
pub mod modification;
pub mod money;
pub mod payout;
pub mod program;
pub mod rate_limit;
pub mod session;
pub mod statement;
pub mod user_agent;
pub mod visit;

pub use jiff::Timestamp;
