//! The shared Store conformance suite, run against SQLite in a temporary directory.

use std::sync::Arc;

use tally_app::conformance::TestStore;
use tally_sqlite::{SqliteOptions, SqliteStore};

async fn fresh_store() -> Option<TestStore> {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store =
        SqliteStore::open(&directory.path().join("tally.db"), SqliteOptions::default()).expect("open sqlite store");
    Some(TestStore { store: Arc::new(store), guard: Box::new(directory) })
}

tally_app::store_conformance_tests!(fresh_store);
