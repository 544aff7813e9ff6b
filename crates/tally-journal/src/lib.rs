//! The click journal: where a click becomes durable before its redirect is answered.
//!
//! An append-only log of segment files in one directory on local disk. One writer
//! thread takes every click waiting, writes them as one record and syncs it
//! (`fdatasync`), and only then releases their requests: a group commit, with the next
//! batch gathering while the current one syncs. The loader
//! ([`tally_app::loader::ClickLoader`]) takes the records into the store, in order and
//! exactly once (straight from the writer's memory while it keeps up, else read back
//! from disk), and loaded segments are deleted. The redirect therefore
//! waits on one small sequential write, never on the database.
//!
//! A record is acknowledged only after its sync, so at start-up a torn tail (a record
//! a crash interrupted) was never acknowledged and is cut off.

mod format;
mod fresh;
mod reader;
mod segments;
mod writer;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tally_app::metrics::Metrics;
use tally_app::ports::{ClickLog, ClickLogError};
use tally_core::click::Click;
use tokio::sync::{mpsc, oneshot};

pub use reader::JournalReader;

/// How the journal is laid out and bounded.
#[derive(Debug, Clone)]
pub struct JournalSettings {
    /// The directory that holds it.
    pub dir: PathBuf,
    /// Independent lanes (subdirectories, each with its own writer), synced in
    /// parallel: a disk serves concurrent syncs of different files about as fast as
    /// one, so lanes multiply the commits per second. A journal found with more lanes
    /// keeps them all.
    pub lanes: usize,
    /// The most clicks in one record (one sync).
    pub max_batch: usize,
    /// A new segment file is started once the current one is this large.
    pub segment_bytes: u64,
    /// The most clicks kept that are not yet in the store, divided evenly among the
    /// lanes; beyond it new clicks are refused (answered 503) rather than filling the
    /// disk.
    pub max_backlog: u64,
}

impl JournalSettings {
    /// Default bounds for a directory.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        JournalSettings { dir: dir.into(), lanes: 1, max_batch: 512, segment_bytes: 64 << 20, max_backlog: 10_000_000 }
    }
}

/// Why the journal could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// File-system trouble, with the path.
    #[error("click journal {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another process holds the journal.
    #[error("click journal {0} is in use by another tally process")]
    Locked(PathBuf),
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io { path: path.to_owned(), source }
}

/// State of one lane, shared by its writer and its reader.
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) log_id: String,
    /// Last durable sequence number, with a condition variable for readers waiting.
    pub(crate) durable: Mutex<u64>,
    pub(crate) durable_changed: Condvar,
    /// Last sequence number known to be in the store.
    pub(crate) loaded: std::sync::atomic::AtomicU64,
    /// Durable clicks handed to the reader in memory.
    pub(crate) fresh: fresh::Fresh,
    /// Held while any part of the journal is in use: one process per journal.
    pub(crate) _lock: Arc<File>,
}

impl Shared {
    pub(crate) fn durable(&self) -> u64 {
        *self.durable.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn publish_durable(&self, seq: u64) {
        *self.durable.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = seq;
        self.durable_changed.notify_all();
    }

    pub(crate) fn wait_past(&self, seq: u64, timeout: Duration) -> bool {
        let guard = self.durable.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (guard, _) = self
            .durable_changed
            .wait_timeout_while(guard, timeout, |durable| *durable <= seq)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard > seq
    }
}

struct Pending {
    click: Click,
    durable: oneshot::Sender<Result<(), ClickLogError>>,
}

/// One lane's writer.
struct Lane {
    queue: Option<mpsc::Sender<Pending>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// The writing side: the [`ClickLog`] the edge appends to.
pub struct Journal {
    lanes: Vec<Lane>,
    next_lane: std::sync::atomic::AtomicUsize,
}

impl Drop for Journal {
    /// Closes the queues and waits for the writers to finish. They are idle by then:
    /// nobody can append.
    fn drop(&mut self) {
        for lane in &mut self.lanes {
            lane.queue.take();
        }
        for lane in &mut self.lanes {
            if let Some(writer) = lane.writer.take() {
                let _ = writer.join();
            }
        }
    }
}

/// Requests that may wait for one lane's writer at once; beyond it, requests wait to
/// enqueue.
const QUEUE_CAPACITY: usize = 16_384;
const LOCK_FILE: &str = "LOCK";

/// Opens (creating if needed) the journal in `settings.dir`, recovers each lane, and
/// starts their writer threads. Returns the writing side and one reader per lane.
pub fn open(settings: JournalSettings, metrics: Arc<Metrics>) -> Result<(Journal, Vec<JournalReader>), JournalError> {
    std::fs::create_dir_all(&settings.dir).map_err(io_error(&settings.dir))?;
    let lock_path = settings.dir.join(LOCK_FILE);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_error(&lock_path))?;
    if lock.try_lock().is_err() {
        return Err(JournalError::Locked(settings.dir.clone()));
    }
    let lock = Arc::new(lock);
    let lane_count =
        settings.lanes.max(segments::existing_lanes(&settings.dir).map_err(io_error(&settings.dir))?).max(1);
    let lane_settings =
        JournalSettings { max_backlog: settings.max_backlog.div_ceil(lane_count as u64), ..settings.clone() };
    let mut lanes = Vec::new();
    let mut readers = Vec::new();
    for index in 0..lane_count {
        let dir = segments::lane_dir(&settings.dir, index);
        let recovered = segments::recover(&dir)?;
        let shared = Arc::new(Shared {
            dir: dir.clone(),
            log_id: recovered.log_id,
            durable: Mutex::new(recovered.next_seq - 1),
            durable_changed: Condvar::new(),
            loaded: std::sync::atomic::AtomicU64::new(0),
            fresh: fresh::Fresh::new(fresh::MAX_FRESH_CLICKS / lane_count),
            _lock: lock.clone(),
        });
        let (queue, pending) = mpsc::channel(QUEUE_CAPACITY);
        let writer = writer::Writer::new(
            lane_settings.clone(),
            shared.clone(),
            recovered.active,
            recovered.next_seq,
            metrics.clone(),
        );
        let writer = std::thread::Builder::new()
            .name(format!("click-journal-{index}"))
            .spawn(move || writer.run(pending))
            .map_err(io_error(&dir))?;
        lanes.push(Lane { queue: Some(queue), writer: Some(writer) });
        readers.push(JournalReader::new(shared));
    }
    Ok((Journal { lanes, next_lane: std::sync::atomic::AtomicUsize::new(0) }, readers))
}

#[async_trait]
impl ClickLog for Journal {
    async fn append(&self, click: Click) -> Result<(), ClickLogError> {
        let lane = self.next_lane.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.lanes.len();
        let queue = self.lanes[lane].queue.as_ref().ok_or(ClickLogError::Stopped)?;
        let (durable, made_durable) = oneshot::channel();
        queue.send(Pending { click, durable }).await.map_err(|_| ClickLogError::Stopped)?;
        made_durable.await.map_err(|_| ClickLogError::Stopped)?
    }
}
