//! Versioned schema migrations, applied at connect under an advisory lock.

use deadpool_postgres::Object;
use jiff::Timestamp;
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

/// Key of the transaction-scoped advisory lock that serialises migrations, so nodes
/// starting together do not both migrate ("tally" in ASCII).
const MIGRATION_LOCK: i64 = 0x74_61_6c_6c_79;

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The database was written by a newer Tally.
    #[error(transparent)]
    TooNew(#[from] SchemaTooNew),
    /// PostgreSQL failed.
    #[error("migration failed: {}", crate::connect::describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
}

/// The latest schema version this build knows.
fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Applies the missing migrations in one transaction. The advisory lock is taken
/// first, so a node that waited for another one sees its migrations as applied.
pub(crate) async fn migrate(client: &mut Object) -> Result<(), MigrateError> {
    let transaction = client.transaction().await?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    // Keeps "relation already exists, skipping" notices out of every start's log.
    transaction.batch_execute("SET LOCAL client_min_messages = warning").await?;
    transaction
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migration (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
    let current: i64 =
        transaction.query_one("SELECT coalesce(max(version), 0) FROM schema_migration", &[]).await?.try_get(0)?;
    if current > latest_version() {
        return Err(SchemaTooNew { found: current, supported: latest_version() }.into());
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        transaction.batch_execute(sql).await?;
        transaction
            .execute(
                "INSERT INTO schema_migration (version, applied_at) VALUES ($1, $2)",
                &[&version, &Timestamp::now().as_microsecond()],
            )
            .await?;
        tracing::info!(version, "applied postgres migration");
    }
    transaction.commit().await?;
    Ok(())
}
