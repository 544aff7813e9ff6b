//! The embedded default store: Tally's [`Store`](tally_app::ports::Store) on one SQLite
//! file, with nothing to install.
//!
//! One writer thread owns the only writing connection, so every write is one
//! transaction in arrival order, and a batch of clicks from the loader is a single
//! `INSERT` loop with its checkpoint. Reads use a small pool of separate connections,
//! which WAL mode lets run beside the writer.

mod connection;
mod conversions;
mod handle;
mod migrate;
mod records;
mod requests;
mod rollups;
mod rows;
mod statements;
mod store;

pub use connection::{SqliteOptions, Synchronous};
pub use handle::{OpenError, SqliteStore};
pub use migrate::MigrateError;
