//! The writer thread: group commit of clicks into the active segment.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tally_app::metrics::Metrics;
use tally_app::ports::ClickLogError;
use tally_core::click::Click;
use tokio::sync::mpsc;

use crate::segments::{PREALLOCATE, segment_path, sync_dir};
use crate::{JournalSettings, Pending, Shared, format};

pub(crate) struct Writer {
    settings: JournalSettings,
    shared: Arc<Shared>,
    file: File,
    /// Where the next record goes: the end of the records written so far.
    file_len: u64,
    /// How far the file is filled with zeros.
    allocated: u64,
    next_seq: u64,
    metrics: Arc<Metrics>,
    /// Set when a failed write could not be undone: appending after a partial record
    /// would hide every later record from recovery, so the writer refuses instead.
    broken: bool,
    buffer: Vec<u8>,
}

impl Writer {
    pub(crate) fn new(
        settings: JournalSettings,
        shared: Arc<Shared>,
        (file, file_len): (File, u64),
        next_seq: u64,
        metrics: Arc<Metrics>,
    ) -> Writer {
        let allocated = file.metadata().map(|metadata| metadata.len()).unwrap_or(file_len);
        Writer { settings, shared, file, file_len, allocated, next_seq, metrics, broken: false, buffer: Vec::new() }
    }

    /// Runs until every [`crate::Journal`] handle is dropped.
    pub(crate) fn run(mut self, mut pending: mpsc::Receiver<Pending>) {
        let mut batch = Vec::with_capacity(self.settings.max_batch);
        while let Some(first) = pending.blocking_recv() {
            batch.push(first);
            drain(&mut pending, &mut batch, self.settings.max_batch);
            let (clicks, answers): (Vec<Click>, Vec<_>) =
                batch.drain(..).map(|item| (item.click, item.durable)).unzip();
            let result = self.write(clicks);
            for answer in answers {
                // A request that went away needs no answer; its click is stored anyway.
                let _ = answer.send(result.clone());
            }
        }
    }

    /// Makes the clicks durable, then hands them to the reader.
    fn write(&mut self, clicks: Vec<Click>) -> Result<(), ClickLogError> {
        if self.broken {
            return Err(ClickLogError::Io("an earlier write failed and could not be undone".into()));
        }
        let backlog = (self.next_seq - 1).saturating_sub(self.shared.loaded.load(Ordering::Acquire));
        if backlog + clicks.len() as u64 > self.settings.max_backlog {
            self.metrics.click_batch_failures.inc();
            tracing::error!(backlog, "click journal full: the store is not taking clicks; refusing new ones");
            return Err(ClickLogError::Full(backlog));
        }
        let started = Instant::now();
        self.buffer.clear();
        format::encode(self.next_seq, &clicks, &mut self.buffer)
            .map_err(|error| ClickLogError::Io(error.to_string()))?;
        if let Err(error) = self.append_and_sync() {
            self.metrics.click_batch_failures.inc();
            tracing::error!(%error, clicks = clicks.len(), "cannot write the click journal; answering 503");
            self.undo_partial_write();
            return Err(ClickLogError::Io(error.to_string()));
        }
        self.metrics.click_commit_seconds.observe(started.elapsed().as_secs_f64());
        self.metrics.click_batch_size.observe(clicks.len() as f64);
        self.file_len += self.buffer.len() as u64;
        let first_seq = self.next_seq;
        self.next_seq += clicks.len() as u64;
        // In memory before the durable mark moves, so the reader finds them there.
        self.shared.fresh.push(first_seq, clicks);
        self.shared.publish_durable(self.next_seq - 1);
        if self.file_len >= self.settings.segment_bytes
            && let Err(error) = self.start_segment()
        {
            // The records so far are durable; keep appending to the current segment.
            tracing::warn!(%error, "cannot start a new click journal segment");
        }
        Ok(())
    }

    fn append_and_sync(&mut self) -> std::io::Result<()> {
        let end = self.file_len + self.buffer.len() as u64;
        if end > self.allocated {
            self.preallocate(end)?;
        }
        self.file.write_all_at(&self.buffer, self.file_len)?;
        self.file.sync_data()
    }

    /// Extends the file with zeros past `end`, and syncs the new size once, so that the
    /// syncs of the records that follow only flush data.
    fn preallocate(&mut self, end: u64) -> std::io::Result<()> {
        let target = end + PREALLOCATE;
        let zeros = vec![0u8; (target - self.allocated) as usize];
        self.file.write_all_at(&zeros, self.allocated)?;
        self.file.sync_all()?;
        self.allocated = target;
        Ok(())
    }

    fn undo_partial_write(&mut self) {
        let zeros = vec![0u8; self.buffer.len()];
        let undone = self.file.write_all_at(&zeros, self.file_len).and_then(|()| self.file.sync_data());
        if let Err(error) = undone {
            tracing::error!(%error, "cannot undo a partial click journal write; refusing clicks until restart");
            self.broken = true;
        }
    }

    fn start_segment(&mut self) -> std::io::Result<()> {
        let path = segment_path(&self.shared.dir, self.next_seq);
        let file = OpenOptions::new().create_new(true).read(true).write(true).open(&path)?;
        sync_dir(&self.shared.dir)?;
        self.file = file;
        self.file_len = 0;
        self.allocated = 0;
        Ok(())
    }
}

/// Moves every waiting click into the batch, up to `max`.
fn drain(pending: &mut mpsc::Receiver<Pending>, batch: &mut Vec<Pending>, max: usize) {
    while batch.len() < max {
        match pending.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
}
