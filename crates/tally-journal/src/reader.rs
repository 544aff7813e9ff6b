//! Reading the journal back, for the loader.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tally_app::ports::{ClickBatch, ClickLogReader, DurableProbe};

use crate::Shared;
use crate::format::decode_payload;
use crate::segments::{Next, list, read_record, segment_path};

/// Where the reader stands: an open segment, positioned at byte `offset`, before the
/// record holding `next_seq`.
struct Cursor {
    reader: BufReader<File>,
    offset: u64,
    next_seq: u64,
}

impl Cursor {
    fn open(path: &std::path::Path, first_seq: u64) -> std::io::Result<Cursor> {
        let file = File::open(path)
            .map_err(|error| std::io::Error::new(error.kind(), format!("{}: {error}", path.display())))?;
        Ok(Cursor { reader: BufReader::new(file), offset: 0, next_seq: first_seq })
    }
}

/// The reading side of the journal.
pub struct JournalReader {
    shared: Arc<Shared>,
    cursor: Option<Cursor>,
}

fn damaged(what: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what)
}

impl JournalReader {
    pub(crate) fn new(shared: Arc<Shared>) -> JournalReader {
        JournalReader { shared, cursor: None }
    }

    /// Opens the segment that holds `seq`, at its start.
    fn seek(&self, seq: u64) -> std::io::Result<Cursor> {
        let firsts = list(&self.shared.dir)?;
        let first = firsts
            .iter()
            .rev()
            .find(|first| **first <= seq)
            .copied()
            .ok_or_else(|| damaged(format!("click {seq} is in no segment of {}", self.shared.dir.display())))?;
        Cursor::open(&segment_path(&self.shared.dir, first), first)
    }
}

impl ClickLogReader for JournalReader {
    fn log_id(&self) -> &str {
        &self.shared.log_id
    }

    fn durable_seq(&self) -> u64 {
        self.shared.durable()
    }

    fn durable_probe(&self) -> DurableProbe {
        let shared = self.shared.clone();
        Arc::new(move || shared.durable())
    }

    fn wait_past(&self, seq: u64, timeout: Duration) -> bool {
        self.shared.wait_past(seq, timeout)
    }

    fn read_after(&mut self, seq: u64, max: usize) -> std::io::Result<Option<ClickBatch>> {
        let durable = self.shared.durable();
        let wanted = seq + 1;
        if durable < wanted {
            return Ok(None);
        }
        // Memory holds only durable clicks, in order: the writer's last batches.
        if let Some(clicks) = self.shared.fresh.take(wanted, max) {
            let log_id = self.shared.log_id.clone();
            return Ok(Some(ClickBatch { log_id, first_seq: wanted, clicks, days: Vec::new() }));
        }
        let mut cursor = match self.cursor.take() {
            Some(cursor) if cursor.next_seq == wanted => cursor,
            _ => self.seek(wanted)?,
        };
        let mut clicks = Vec::new();
        let mut reread = false;
        // Records past `durable` may be half written: never read them.
        while clicks.len() < max && cursor.next_seq <= durable {
            match read_record(&mut cursor.reader)? {
                Next::Record(header, payload) if header.first_seq == cursor.next_seq => {
                    let records = decode_payload(&header, &payload)
                        .ok_or_else(|| damaged(format!("click journal record {} does not decode", header.first_seq)))?;
                    let skip = wanted.saturating_sub(header.first_seq) as usize;
                    clicks.extend(records.into_iter().skip(skip));
                    cursor.next_seq = header.last_seq() + 1;
                    cursor.offset += header.record_len();
                    reread = false;
                }
                Next::End => {
                    let next = segment_path(&self.shared.dir, cursor.next_seq);
                    if next.exists() {
                        // The segment is complete; the next one starts with the next click.
                        cursor = Cursor::open(&next, cursor.next_seq)?;
                    } else if !reread {
                        // The active segment: the zeros read ahead may since have been
                        // written over with the durable record. Read it again.
                        cursor.reader.seek(SeekFrom::Start(cursor.offset))?;
                        reread = true;
                    } else {
                        return Err(damaged(format!("durable click {} is missing from the journal", cursor.next_seq)));
                    }
                }
                _ if !reread => {
                    // Bytes read ahead while the writer was still writing them.
                    cursor.reader.seek(SeekFrom::Start(cursor.offset))?;
                    reread = true;
                }
                _ => return Err(damaged(format!("click journal damaged before click {}", cursor.next_seq))),
            }
        }
        let batch = ClickBatch { log_id: self.shared.log_id.clone(), first_seq: wanted, clicks, days: Vec::new() };
        self.cursor = Some(cursor);
        Ok((!batch.clicks.is_empty()).then_some(batch))
    }

    fn release_through(&mut self, seq: u64) -> std::io::Result<()> {
        self.shared.loaded.fetch_max(seq, Ordering::AcqRel);
        let firsts = list(&self.shared.dir)?;
        // A segment can go once the next one starts at or before the first click not
        // yet loaded; the last segment is the active one and always stays.
        for pair in firsts.windows(2) {
            if pair[1] <= seq + 1 {
                std::fs::remove_file(segment_path(&self.shared.dir, pair[0]))?;
            }
        }
        Ok(())
    }
}
