//! `tally`: one binary for the tracking edge, the APIs and the store commands.
//!
//! `main` only parses the command line and hands over; each command lives in its own
//! module. Configuration is layered once (file, then `TALLY_` environment, then flags)
//! into typed settings before anything is built from it.

mod cli;
mod commands;
mod config;
mod demo;
mod serve;
mod store;
mod telemetry;

use std::process::ExitCode;

/// Every click allocates a few dozen small strings; mimalloc serves them with less
/// contention and fragmentation than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
