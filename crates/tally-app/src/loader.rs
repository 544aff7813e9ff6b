//! Loads the click log into the store: in order, exactly once, and whatever the store
//! is doing. A store that is slow, refusing or restarting only makes the backlog grow;
//! the redirects, which wait on the log alone, are not affected.
//!
//! A log may have several lanes (independent files synced in parallel); each lane has
//! its own reader, its own loading thread and its own checkpoint in the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::catalog::CatalogHandle;
use crate::metrics::Metrics;
use crate::ports::{ClickLogReader, DurableProbe, Store, StoreError};

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

/// One lane as the loader's owner sees it.
struct Lane {
    loaded: Arc<AtomicU64>,
    durable: DurableProbe,
    thread: Option<JoinHandle<()>>,
}

/// What the lanes' threads share.
struct Shared {
    stop: AtomicBool,
    /// Readers waiting to catch up: while there are any, the loader does not linger.
    waiting: AtomicUsize,
    metrics: Arc<Metrics>,
}

/// A running loader.
pub struct ClickLoader {
    shared: Arc<Shared>,
    lanes: std::sync::Mutex<Vec<Lane>>,
}

impl ClickLoader {
    /// Starts loading each lane after the store's checkpoint for it. Each lane loads on
    /// its own thread, because reading the log blocks, and drives the store's futures
    /// on the current runtime.
    pub async fn start(
        readers: Vec<Box<dyn ClickLogReader>>,
        store: Arc<dyn Store>,
        catalog: Arc<CatalogHandle>,
        metrics: Arc<Metrics>,
    ) -> Result<ClickLoader, StoreError> {
        let shared =
            Arc::new(Shared { stop: AtomicBool::new(false), waiting: AtomicUsize::new(0), metrics: metrics.clone() });
        let mut lanes = Vec::new();
        for (index, mut reader) in readers.into_iter().enumerate() {
            let checkpoint = store.click_checkpoint(reader.log_id()).await?.unwrap_or(0);
            // Files of clicks loaded before a crash may still be there.
            if let Err(error) = reader.release_through(checkpoint) {
                tracing::warn!(%error, "cannot remove loaded click log files");
            }
            let loaded = Arc::new(AtomicU64::new(checkpoint));
            let durable = reader.durable_probe();
            let worker = Worker {
                reader,
                store: store.clone(),
                catalog: catalog.clone(),
                runtime: tokio::runtime::Handle::current(),
                shared: shared.clone(),
                loaded: loaded.clone(),
            };
            let thread = std::thread::Builder::new()
                .name(format!("click-loader-{index}"))
                .spawn(move || worker.run())
                .map_err(|error| StoreError::Unavailable(format!("cannot start the click loader: {error}")))?;
            lanes.push(Lane { loaded, durable, thread: Some(thread) });
        }
        let probes: Vec<(Arc<AtomicU64>, DurableProbe)> =
            lanes.iter().map(|lane| (lane.loaded.clone(), lane.durable.clone())).collect();
        metrics.measure_backlog_with(Box::new(move || {
            probes.iter().map(|(loaded, durable)| durable().saturating_sub(loaded.load(Ordering::Acquire))).sum()
        }));
        Ok(ClickLoader { shared, lanes: std::sync::Mutex::new(lanes) })
    }

    /// Waits until every click durable when called is in the store, or `timeout`
    /// passes; returns whether it is.
    pub async fn caught_up(&self, timeout: Duration) -> bool {
        let targets: Vec<(Arc<AtomicU64>, u64)> =
            self.lanes().iter().map(|lane| (lane.loaded.clone(), (lane.durable)())).collect();
        let deadline = Instant::now() + timeout;
        self.shared.waiting.fetch_add(1, Ordering::AcqRel);
        let mut caught_up = true;
        while targets.iter().any(|(loaded, durable)| loaded.load(Ordering::Acquire) < *durable) {
            if Instant::now() > deadline {
                caught_up = false;
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.shared.waiting.fetch_sub(1, Ordering::AcqRel);
        caught_up
    }

    /// Stops the loader after it has loaded everything durable, or after a deadline if
    /// the store will not take it (what is left is loaded at the next start). Blocks.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        let threads: Vec<JoinHandle<()>> = self.lanes().iter_mut().filter_map(|lane| lane.thread.take()).collect();
        for thread in threads {
            let _ = thread.join();
        }
    }

    fn lanes(&self) -> std::sync::MutexGuard<'_, Vec<Lane>> {
        self.lanes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct Worker {
    reader: Box<dyn ClickLogReader>,
    store: Arc<dyn Store>,
    /// For each click's local day, which the click rollup counts it on.
    catalog: Arc<CatalogHandle>,
    runtime: tokio::runtime::Handle,
    shared: Arc<Shared>,
    loaded: Arc<AtomicU64>,
}

impl Worker {
    fn run(mut self) {
        let mut retry = FIRST_RETRY;
        let mut stopping_since = None;
        loop {
            let loaded = self.loaded.load(Ordering::Acquire);
            let backlog = self.reader.durable_seq().saturating_sub(loaded);
            if self.shared.stop.load(Ordering::Acquire) {
                let since = *stopping_since.get_or_insert_with(Instant::now);
                if backlog == 0 || since.elapsed() > DRAIN_DEADLINE {
                    return;
                }
            }
            if !self.reader.wait_past(loaded, Duration::from_millis(200)) {
                continue;
            }
            let hurried = self.shared.stop.load(Ordering::Acquire) || self.shared.waiting.load(Ordering::Acquire) > 0;
            if backlog < LOAD_BATCH as u64 && !hurried {
                std::thread::sleep(LINGER);
            }
            match self.load_after(loaded) {
                Ok(()) => retry = FIRST_RETRY,
                Err(error) => {
                    self.shared.metrics.click_load_failures.inc();
                    tracing::warn!(%error, backlog, "cannot load clicks into the store; retrying");
                    std::thread::sleep(retry);
                    retry = (retry * 2).min(LAST_RETRY);
                }
            }
        }
    }

    fn load_after(&mut self, loaded: u64) -> Result<(), String> {
        let Some(mut batch) = self.reader.read_after(loaded, LOAD_BATCH).map_err(|error| error.to_string())? else {
            return Ok(());
        };
        // Reports count a click on its program's local day.
        let catalog = self.catalog.get();
        batch.days = batch.clicks.iter().map(|click| catalog.local_day(click.program, click.at)).collect();
        let (last, count) = (batch.last_seq(), batch.clicks.len() as u64);
        self.runtime.block_on(self.store.append_clicks(batch)).map_err(|error| error.to_string())?;
        self.loaded.store(last, Ordering::Release);
        self.shared.metrics.clicks_loaded.inc_by(count);
        if let Err(error) = self.reader.release_through(last) {
            tracing::warn!(%error, "cannot remove loaded click log files");
        }
        Ok(())
    }
}
