//! Group commit of clicks: every request hands its click to one writer task and waits
//! for the commit of the batch that carried it. Many requests share one transaction,
//! none is answered before its click is durable, and a full queue makes requests wait
//! rather than dropping anything.

use std::sync::Arc;
use std::time::Instant;

use tally_core::click::Click;
use tokio::sync::{mpsc, oneshot};

use crate::metrics::{Metrics, SourceLabel};
use crate::ports::Store;

/// The click could not be stored; the request must not be answered as a success.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the click could not be stored: {0}")]
pub struct RecordError(String);

struct PendingClick {
    click: Click,
    committed: oneshot::Sender<Result<(), RecordError>>,
}

/// The click log's front door.
#[derive(Clone)]
pub struct ClickRecorder {
    queue: mpsc::Sender<PendingClick>,
}

/// Settings of the group commit.
#[derive(Debug, Clone, Copy)]
pub struct RecorderSettings {
    /// The most clicks in one transaction.
    pub max_batch: usize,
    /// The most clicks waiting for a transaction; beyond it, requests wait to enqueue.
    pub queue_capacity: usize,
}

impl Default for RecorderSettings {
    fn default() -> Self {
        RecorderSettings { max_batch: 512, queue_capacity: 16_384 }
    }
}

impl ClickRecorder {
    /// Starts the writer task. It ends, after committing everything queued, when every
    /// recorder handle has been dropped; await the returned handle to know it is done.
    pub fn start(
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        settings: RecorderSettings,
    ) -> (ClickRecorder, tokio::task::JoinHandle<()>) {
        let (queue, receiver) = mpsc::channel(settings.queue_capacity);
        let writer = tokio::spawn(write_batches(receiver, store, metrics, settings.max_batch));
        (ClickRecorder { queue }, writer)
    }

    /// Stores a click and returns once it is durable.
    pub async fn record(&self, click: Click) -> Result<(), RecordError> {
        let (committed, commit) = oneshot::channel();
        self.queue
            .send(PendingClick { click, committed })
            .await
            .map_err(|_| RecordError("the click writer has stopped".into()))?;
        commit.await.map_err(|_| RecordError("the click writer has stopped".into()))?
    }
}

async fn write_batches(
    mut receiver: mpsc::Receiver<PendingClick>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    max_batch: usize,
) {
    let mut pending = Vec::with_capacity(max_batch);
    // While one batch commits, the next fills up in the channel: that is the group commit.
    while receiver.recv_many(&mut pending, max_batch).await > 0 {
        let (clicks, waiters): (Vec<Click>, Vec<_>) =
            pending.drain(..).map(|item| (item.click, item.committed)).unzip();
        let count = clicks.len();
        let sources: Vec<&'static str> = clicks.iter().map(|click| click.source.as_str()).collect();
        let started = Instant::now();
        let result = store.append_clicks(clicks).await;
        metrics.click_commit_seconds.observe(started.elapsed().as_secs_f64());
        metrics.click_batch_size.observe(count as f64);
        let outcome = match result {
            Ok(()) => {
                for source in sources {
                    metrics.clicks_recorded.get_or_create(&SourceLabel { source }).inc();
                }
                Ok(())
            }
            Err(error) => {
                metrics.click_batch_failures.inc();
                tracing::error!(%error, clicks = count, "click batch failed to commit; its requests get 503");
                Err(RecordError(error.to_string()))
            }
        };
        for waiter in waiters {
            // A waiter that went away (client disconnected) needs no answer.
            let _ = waiter.send(outcome.clone());
        }
    }
}
