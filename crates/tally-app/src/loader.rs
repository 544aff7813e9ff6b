//! Loads the click log into the store: in order, exactly once, and whatever the store
//! is doing. A store that is slow, refusing or restarting only makes the backlog grow;
//! the redirects, which wait on the log alone, are not affected.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::metrics::Metrics;
use crate::ports::{ClickLogReader, Store, StoreError};

/// The most clicks loaded in one transaction.
const LOAD_BATCH: usize = 5_000;
/// How long the loader lets clicks gather before loading fewer than a full batch. A
/// transaction costs about the same for ten clicks as for thousands (the pages it
/// touches are written whole), so gathering divides the store's work per click; reads
/// of clicks wait for the loader to catch up, so nobody sees the delay.
const LINGER: Duration = Duration::from_millis(50);
/// How long a stopping loader keeps trying to empty the backlog.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

/// A running loader.
pub struct ClickLoader {
    stop: Arc<AtomicBool>,
    loaded: Arc<AtomicU64>,
    /// Readers waiting to catch up: while there are any, the loader does not linger.
    waiting: Arc<AtomicUsize>,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl ClickLoader {
    /// Starts loading after the store's checkpoint for this log. The loader runs on its
    /// own thread, because reading the log blocks, and drives the store's futures on
    /// the current runtime.
    pub async fn start(
        mut reader: Box<dyn ClickLogReader>,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
    ) -> Result<ClickLoader, StoreError> {
        let checkpoint = store.click_checkpoint(reader.log_id()).await?.unwrap_or(0);
        let runtime = tokio::runtime::Handle::current();
        let stop = Arc::new(AtomicBool::new(false));
        let loaded = Arc::new(AtomicU64::new(checkpoint));
        // Files of clicks loaded before a crash may still be there.
        if let Err(error) = reader.release_through(checkpoint) {
            tracing::warn!(%error, "cannot remove loaded click log files");
        }
        let waiting = Arc::new(AtomicUsize::new(0));
        let worker = Worker {
            waiting: waiting.clone(),
            reader,
            store,
            metrics,
            runtime,
            stop: stop.clone(),
            loaded: loaded.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("click-loader".into())
            .spawn(move || worker.run())
            .map_err(|error| StoreError::Unavailable(format!("cannot start the click loader: {error}")))?;
        Ok(ClickLoader { stop, loaded, waiting, thread: std::sync::Mutex::new(Some(thread)) })
    }

    /// The sequence number of the last click in the store.
    pub fn loaded_seq(&self) -> u64 {
        self.loaded.load(Ordering::Acquire)
    }

    /// Waits until everything durable when called is in the store, or `timeout`
    /// passes; returns whether it is.
    pub async fn caught_up(&self, durable: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let mut caught_up = true;
        while self.loaded_seq() < durable {
            if Instant::now() > deadline {
                caught_up = false;
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        caught_up
    }

    /// Stops the loader after it has loaded everything durable, or after a deadline if
    /// the store will not take it (what is left is loaded at the next start). Blocks.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        let thread = self.thread.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

struct Worker {
    waiting: Arc<AtomicUsize>,
    reader: Box<dyn ClickLogReader>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    runtime: tokio::runtime::Handle,
    stop: Arc<AtomicBool>,
    loaded: Arc<AtomicU64>,
}

impl Worker {
    fn run(mut self) {
        let mut retry = FIRST_RETRY;
        let mut stopping_since = None;
        loop {
            let loaded = self.loaded.load(Ordering::Acquire);
            self.metrics.click_log_backlog.set(self.reader.durable_seq().saturating_sub(loaded) as i64);
            if self.stop.load(Ordering::Acquire) {
                let since = *stopping_since.get_or_insert_with(Instant::now);
                if self.reader.durable_seq() <= loaded || since.elapsed() > DRAIN_DEADLINE {
                    return;
                }
            }
            if !self.reader.wait_past(loaded, Duration::from_millis(200)) {
                continue;
            }
            let gathering = self.reader.durable_seq() - loaded < LOAD_BATCH as u64;
            if gathering && !self.stop.load(Ordering::Acquire) && self.waiting.load(Ordering::Acquire) == 0 {
                std::thread::sleep(LINGER);
            }
            match self.load_after(loaded) {
                Ok(()) => retry = FIRST_RETRY,
                Err(error) => {
                    self.metrics.click_load_failures.inc();
                    tracing::warn!(%error, backlog = self.reader.durable_seq() - loaded, "cannot load clicks into the store; retrying");
                    std::thread::sleep(retry);
                    retry = (retry * 2).min(LAST_RETRY);
                }
            }
        }
    }

    fn load_after(&mut self, loaded: u64) -> Result<(), String> {
        let Some(batch) = self.reader.read_after(loaded, LOAD_BATCH).map_err(|error| error.to_string())? else {
            return Ok(());
        };
        let (last, count) = (batch.last_seq(), batch.clicks.len() as u64);
        self.runtime.block_on(self.store.append_clicks(batch)).map_err(|error| error.to_string())?;
        self.loaded.store(last, Ordering::Release);
        self.metrics.clicks_loaded.inc_by(count);
        if let Err(error) = self.reader.release_through(last) {
            tracing::warn!(%error, "cannot remove loaded click log files");
        }
        Ok(())
    }
}
