//! Opening connections with the same settings every time.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// When a commit counts as durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// fsync at every commit: survives power loss (the default).
    #[default]
    Full,
    /// fsync at checkpoints only: in WAL mode, survives any crash or kill of the
    /// process, but the last commits may be lost on power loss
    /// (<https://sqlite.org/pragma.html#pragma_synchronous>).
    Normal,
}

impl Synchronous {
    /// Parses `full` or `normal`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "full" => Some(Self::Full),
            "normal" => Some(Self::Normal),
            _ => None,
        }
    }
}

/// Store settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteOptions {
    /// Commit durability.
    pub synchronous: Synchronous,
}

/// Opens a connection with WAL, the chosen durability, a busy timeout (another
/// process, such as `tally program apply`, may hold the write lock briefly) and
/// foreign keys. Pragmas are per connection, so every connection goes through here.
pub(crate) fn open_connection(path: &Path, options: SqliteOptions, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(Duration::from_secs(10))?;
    if !read_only {
        connection.pragma_update(None, "journal_mode", "WAL")?;
        // The writer loads thousands of clicks per transaction into several indexes:
        // with SQLite's 2 MB default cache it spills dirty pages to the WAL before the
        // commit and re-reads them, so it gets 32 MB (a ceiling, not an allocation).
        connection.pragma_update(None, "cache_size", -32_768)?;
        // Checkpoint every ~40 MB of WAL rather than every 4 MB: the pages at the end
        // of the click indexes are rewritten by every load, and a rarer checkpoint
        // copies each of them into the database once instead of over and over.
        connection.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    }
    let synchronous = match options.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    connection.pragma_update(None, "synchronous", synchronous)?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}
