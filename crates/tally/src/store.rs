//! Picks the storage adapter from the database URL.

use std::sync::Arc;

use anyhow::bail;
use tally_app::ports::Store;
use tally_sqlite::{SqliteOptions, SqliteStore};

use crate::config::{DatabaseUrl, Settings};

/// Whether a command may create a store that does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// `serve` and `account create` start a new store.
    Create,
    /// Every other command needs data that only an existing store can hold, so a
    /// mistyped path is an error rather than a new empty file.
    Refuse,
}

/// Opens and migrates the store named by the settings.
pub(crate) fn open(settings: &Settings, missing: Missing) -> anyhow::Result<Arc<dyn Store>> {
    match &settings.database {
        DatabaseUrl::Sqlite(path) => {
            if missing == Missing::Refuse && !path.exists() {
                bail!(
                    "there is no Tally database at {}; check --database, or start one with `tally serve`",
                    path.display()
                );
            }
            let options = SqliteOptions { synchronous: settings.synchronous };
            Ok(Arc::new(SqliteStore::open(path, options)?))
        }
        DatabaseUrl::Postgres(_) => {
            bail!("this build of tally has no PostgreSQL backend yet; use sqlite:PATH")
        }
    }
}
