//! The HTTP integration suite of `tally-http`: the real router, the real use cases and
//! a real SQLite store in a temporary directory, driven request by request with
//! `tower::ServiceExt::oneshot`, on a clock that only moves when a test moves it.

// A test suite: a failed expectation is the report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod actions;
mod attribution;
mod bad_input;
mod click_export;
mod click_floods;
mod compatible_reads;
mod conversions;
mod dashboard;
mod deep_links;
mod durability;
mod edge;
mod host_routes;
mod open_redirect;
mod ops;
mod programs_api;
mod rate_limits;
mod reports;
mod sessions;
mod statements;
mod tag;
mod test_actions;
mod unknown_links;
