//! Segment files: naming, listing, and recovery at start-up.
//!
//! A segment is named after the sequence number of its first click
//! (`00000000000000000001.clicks`), so the numbering survives the deletion of loaded
//! segments. The last segment is the active one and is never deleted.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::format::{HEADER_LEN, Header, decode_header, decode_payload};
use crate::{JournalError, io_error};

const SUFFIX: &str = ".clicks";
const LOG_ID_FILE: &str = "LOG_ID";
const LOCK_FILE: &str = "LOCK";

pub(crate) fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}{SUFFIX}"))
}

/// The first sequence numbers of every segment, in order.
pub(crate) fn list(dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut firsts: Vec<u64> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().to_str()?.strip_suffix(SUFFIX)?.parse().ok())
        .collect();
    firsts.sort_unstable();
    Ok(firsts)
}

/// Makes a new file's directory entry durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// One record read back, or the reason reading stopped.
pub(crate) enum Next {
    Record(Header, Vec<tally_core::click::Click>),
    End,
    Damaged,
}

/// Reads the next record from a segment positioned at a record boundary.
pub(crate) fn read_record(reader: &mut impl Read) -> std::io::Result<Next> {
    let mut header_bytes = [0u8; HEADER_LEN];
    match read_full(reader, &mut header_bytes)? {
        0 => return Ok(Next::End),
        HEADER_LEN => {}
        _ => return Ok(Next::Damaged),
    }
    let Some(header) = decode_header(&header_bytes) else { return Ok(Next::Damaged) };
    let mut payload = vec![0u8; header.payload_len as usize];
    if read_full(reader, &mut payload)? != payload.len() {
        return Ok(Next::Damaged);
    }
    Ok(match decode_payload(&header, &payload) {
        Some(clicks) => Next::Record(header, clicks),
        None => Next::Damaged,
    })
}

/// Reads until the buffer is full or the file ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..])? {
            0 => break,
            read => filled += read,
        }
    }
    Ok(filled)
}

/// What recovery found.
pub(crate) struct Recovered {
    pub(crate) log_id: String,
    pub(crate) lock: File,
    /// The active segment, open for appending, and its length.
    pub(crate) active: (File, u64),
    pub(crate) next_seq: u64,
}

/// Locks the directory, reads or creates the log id, checks the active segment and
/// cuts off a torn tail.
pub(crate) fn recover(dir: &Path) -> Result<Recovered, JournalError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let lock_path = dir.join(LOCK_FILE);
    let lock =
        OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(io_error(&lock_path))?;
    if lock.try_lock().is_err() {
        return Err(JournalError::Locked(dir.to_owned()));
    }
    let log_id = log_id(dir)?;
    let firsts = list(dir).map_err(io_error(dir))?;
    let active_first = match firsts.last() {
        Some(first) => *first,
        None => {
            File::create_new(segment_path(dir, 1)).map_err(io_error(dir))?;
            sync_dir(dir).map_err(io_error(dir))?;
            1
        }
    };
    let path = segment_path(dir, active_first);
    let (valid_len, next_seq) = scan(&path, active_first)?;
    // Append mode: every write lands at the end, also after a failed write is cut off.
    let file = OpenOptions::new().append(true).open(&path).map_err(io_error(&path))?;
    let on_disk = file.metadata().map_err(io_error(&path))?.len();
    if on_disk > valid_len {
        tracing::warn!(path = %path.display(), cut = on_disk - valid_len, "cutting a torn record off the click journal");
        file.set_len(valid_len).map_err(io_error(&path))?;
        file.sync_all().map_err(io_error(&path))?;
    }
    Ok(Recovered { log_id, lock, active: (file, valid_len), next_seq })
}

/// Reads a segment's records; returns the length of its valid prefix and the next
/// sequence number after it.
fn scan(path: &Path, first_seq: u64) -> Result<(u64, u64), JournalError> {
    let file = File::open(path).map_err(io_error(path))?;
    let mut reader = BufReader::new(file);
    let (mut valid_len, mut next_seq) = (0u64, first_seq);
    loop {
        match read_record(&mut reader).map_err(io_error(path))? {
            Next::Record(header, _) if header.first_seq == next_seq => {
                valid_len += header.record_len();
                next_seq = header.last_seq() + 1;
            }
            _ => return Ok((valid_len, next_seq)),
        }
    }
}

fn log_id(dir: &Path) -> Result<String, JournalError> {
    let path = dir.join(LOG_ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_owned()),
        _ => {
            let id = format!("log-{}", tally_app::secrets::random_token(1));
            std::fs::write(&path, &id).map_err(io_error(&path))?;
            File::open(&path).and_then(|file| file.sync_all()).map_err(io_error(&path))?;
            sync_dir(dir).map_err(io_error(dir))?;
            Ok(id)
        }
    }
}
