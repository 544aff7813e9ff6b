//! End-to-end tests of the `tally` binary, run as scripts and browsers run it: each test
//! starts the real executable in its own temporary directory, on its own SQLite file.

mod browser;
mod chromium;
mod clicks;
mod commands;
mod dashboard;
mod demo;
mod durability;
mod helpers;
mod nodes;
mod outage;
mod serve;
mod store_copy;
