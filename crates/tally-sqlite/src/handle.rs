//! [`SqliteStore`]'s plumbing: one writer thread that owns the writing connection,
//! and a small pool of read connections used off the async threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use rusqlite::{Connection, ErrorCode};
use tally_app::ports::{StoreError, StoreResult};
use tokio::sync::oneshot;

use crate::connection::{SqliteOptions, open_connection};
use crate::migrate::{MigrateError, migrate};

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file could not be opened or is not a SQLite database.
    #[error("cannot open sqlite database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The writer thread could not be started.
    #[error("cannot start the sqlite writer: {0}")]
    Thread(std::io::Error),
    /// The schema could not be brought up to date.
    #[error("sqlite database {path}: {source}")]
    Migrate {
        /// The file.
        path: PathBuf,
        /// Why.
        source: MigrateError,
    },
}

type WriteJob = Box<dyn FnOnce(&mut Connection) + Send>;

/// Tally's store on one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    writer: mpsc::Sender<WriteJob>,
    readers: Arc<ReaderPool>,
}

struct ReaderPool {
    path: PathBuf,
    options: SqliteOptions,
    idle: Mutex<Vec<Connection>>,
    /// Reads in flight, at most [`MAX_READERS`]: more would not run faster on a few
    /// cores, and every extra connection would be opened and dropped again, losing
    /// its parsed schema and cached statements.
    permits: tokio::sync::Semaphore,
}

/// Read connections: at most this many reads run at once, and each keeps its connection.
const MAX_READERS: usize = 8;

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database, and starts its writer.
    pub fn open(path: &Path, options: SqliteOptions) -> Result<SqliteStore, OpenError> {
        let open_error = |source| OpenError::Open { path: path.to_owned(), source };
        let mut connection = open_connection(path, options, false).map_err(open_error)?;
        migrate(&mut connection).map_err(|source| match source {
            MigrateError::Sqlite(source) => open_error(source),
            source => OpenError::Migrate { path: path.to_owned(), source },
        })?;
        let (writer, jobs) = mpsc::channel::<WriteJob>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                // Runs until every store handle is dropped; each job answers its caller.
                for job in jobs {
                    job(&mut connection);
                }
            })
            .map_err(OpenError::Thread)?;
        let readers = Arc::new(ReaderPool {
            path: path.to_owned(),
            options,
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(MAX_READERS),
        });
        Ok(SqliteStore { writer, readers })
    }

    /// Runs a closure on the writer connection, in order with every other write.
    pub(crate) async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: WriteJob = Box::new(move |connection| {
            let _ = answer.send(work(connection));
        });
        self.writer.send(job).map_err(|_| StoreError::Unavailable("the sqlite writer has stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Unavailable("the sqlite writer has stopped".into()))?
            .map_err(store_error)
    }

    /// Runs a closure on a pooled read connection, off the async threads.
    pub(crate) async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let _permit = (self.readers.permits.acquire().await)
            .map_err(|_| StoreError::Unavailable("the sqlite readers have stopped".into()))?;
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let connection = readers.take()?;
            let result = work(&connection);
            readers.give_back(connection);
            result
        })
        .await
        .map_err(|error| StoreError::Unavailable(format!("read task failed: {error}")))?
        .map_err(store_error)
    }
}

impl ReaderPool {
    fn take(&self) -> rusqlite::Result<Connection> {
        let idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        match idle {
            Some(connection) => Ok(connection),
            None => open_connection(&self.path, self.options, true),
        }
    }

    fn give_back(&self, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < MAX_READERS {
            idle.push(connection);
        }
    }
}

fn store_error(error: rusqlite::Error) -> StoreError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, _) if failure.code == ErrorCode::ConstraintViolation => {
            StoreError::Conflict(error.to_string())
        }
        rusqlite::Error::FromSqlConversionFailure(..) | rusqlite::Error::InvalidColumnType(..) => {
            StoreError::Corrupt(error.to_string())
        }
        _ => StoreError::Unavailable(error.to_string()),
    }
}
