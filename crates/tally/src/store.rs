//! Picks the storage adapter from the database URL.

use std::sync::Arc;

use anyhow::bail;
use tally_app::catalog::CatalogHandle;
use tally_app::loader::ClickLoader;
use tally_app::metrics::Metrics;
use tally_app::ports::{ClickLogReader, Clock, Store, SystemClock};
use tally_app::secrets::{Keyed, random_token};
use tally_journal::{JournalError, JournalReader, JournalSettings};
use tally_postgres::PostgresStore;
use tally_sqlite::{SqliteOptions, SqliteStore};

use crate::config::{DatabaseUrl, Settings};

/// Whether a command may create a store that does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// `serve` and `account create` start a new store.
    Create,
    /// Every other command needs data that only an existing store can hold, so a
    /// mistyped path is an error rather than a new empty file. (A PostgreSQL database
    /// is never created by tally, so this only matters for SQLite.)
    Refuse,
}

/// Opens and migrates the store named by the settings.
pub(crate) async fn open(settings: &Settings, missing: Missing) -> anyhow::Result<Arc<dyn Store>> {
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
        DatabaseUrl::Postgres(url) => Ok(Arc::new(PostgresStore::connect(url).await?)),
    }
}

/// The journal's lanes as the loader takes them.
/// The store's HMAC key, made on first use and shared by every node and command: it
/// signs cookies and hashes addresses, emails and login names.
pub(crate) async fn keyed(store: &Arc<dyn Store>) -> anyhow::Result<Keyed> {
    let key = store.setting_or_insert("hmac_key", &random_token(2), SystemClock.now()).await?;
    Ok(Keyed::new(&key))
}

pub(crate) fn boxed(lanes: Vec<JournalReader>) -> Vec<Box<dyn ClickLogReader>> {
    lanes.into_iter().map(|lane| Box::new(lane) as Box<dyn ClickLogReader>).collect()
}

/// The click journal's settings.
pub(crate) fn journal_settings(settings: &Settings) -> JournalSettings {
    JournalSettings {
        lanes: settings.lanes,
        max_batch: settings.max_batch,
        max_backlog: settings.max_backlog,
        ..JournalSettings::new(&settings.click_log_dir)
    }
}

/// Loads clicks that a stopped (or killed) server left in its journal, so that a
/// command reading clicks sees every answered one. A running server holds the journal
/// and loads it itself; then there is nothing to do here.
pub(crate) async fn load_pending_clicks(settings: &Settings, store: Arc<dyn Store>) -> anyhow::Result<()> {
    if !settings.click_log_dir.exists() {
        return Ok(());
    }
    let metrics = Arc::new(Metrics::new());
    let (journal, lanes) = match tally_journal::open(journal_settings(settings), metrics.clone()) {
        Ok(opened) => opened,
        Err(JournalError::Locked(_)) => return Ok(()),
        Err(error) => return Err(error.into()),
    };
    drop(journal);
    let catalog = Arc::new(CatalogHandle::load(store.clone()).await?);
    let loader = ClickLoader::start(boxed(lanes), store, catalog, metrics).await?;
    let loaded = loader.caught_up(LOAD_PENDING_TIMEOUT).await;
    tokio::task::spawn_blocking(move || loader.stop()).await?;
    if !loaded {
        bail!("the store did not take the clicks waiting in {}", settings.click_log_dir.display());
    }
    Ok(())
}

const LOAD_PENDING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
