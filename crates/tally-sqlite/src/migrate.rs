//! Versioned schema migrations, checked at every start.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension};
use tally_app::ports::SchemaTooNew;

/// The migrations, in order. Version N is `MIGRATIONS[N - 1]`; never edit one that
/// has shipped, add the next.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_conversions.sql"),
    include_str!("../migrations/0003_statements.sql"),
    include_str!("../migrations/0004_reports.sql"),
    include_str!("../migrations/0005_sessions.sql"),
    include_str!("../migrations/0006_test_action_requests.sql"),
    include_str!("../migrations/0007_click_floods.sql"),
    include_str!("../migrations/0008_login_failures.sql"),
];

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The database was written by a newer Tally.
    #[error(transparent)]
    TooNew(#[from] SchemaTooNew),
    /// SQLite failed.
    #[error("migration failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The latest schema version this build knows.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Applies missing migrations, each in its own transaction.
pub(crate) fn migrate(connection: &mut Connection) -> Result<(), MigrateError> {
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let current: i64 = connection
        .query_row("SELECT max(version) FROM schema_migration", [], |row| row.get::<_, Option<i64>>(0))
        .optional()?
        .flatten()
        .unwrap_or(0);
    if current > latest_version() {
        return Err(SchemaTooNew { found: current, supported: latest_version() }.into());
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let transaction = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let already: bool =
            transaction.query_row("SELECT count(*) FROM schema_migration WHERE version = ?1", [version], |row| {
                row.get::<_, i64>(0)
            })? > 0;
        if !already {
            transaction.execute_batch(sql)?;
            transaction.execute(
                "INSERT INTO schema_migration (version, applied_at) VALUES (?1, ?2)",
                (version, Timestamp::now().as_microsecond()),
            )?;
            tracing::info!(version, "applied sqlite migration");
        }
        transaction.commit()?;
    }
    Ok(())
}
