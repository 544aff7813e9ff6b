//! Picks the storage adapter from the database URL.

use std::sync::Arc;

use anyhow::bail;
use tally_app::ports::Store;
use tally_sqlite::{SqliteOptions, SqliteStore};

use crate::config::{DatabaseUrl, Settings};

/// Opens and migrates the store named by the settings.
pub(crate) fn open(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    match &settings.database {
        DatabaseUrl::Sqlite(path) => {
            let options = SqliteOptions { synchronous: settings.synchronous };
            Ok(Arc::new(SqliteStore::open(path, options)?))
        }
        DatabaseUrl::Postgres(_) => {
            bail!("this build of tally has no PostgreSQL backend yet; use sqlite:PATH")
        }
    }
}
