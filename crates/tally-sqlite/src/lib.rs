//! The embedded default store: Tally's [`Store`](tally_app::ports::Store) on one SQLite
//! file, with nothing to install.
//!
//! One writer thread owns the only writing connection, so every write is one
//! transaction in arrival order and the click log's group commit is a single
//! `INSERT` loop per batch. Reads use a small pool of separate connections, which WAL
//! mode lets run beside the writer.

mod connection;
mod handle;
mod migrate;
mod records;
mod rows;
mod store;

pub use connection::{SqliteOptions, Synchronous};
pub use handle::{OpenError, SqliteStore};
pub use migrate::MigrateError;
