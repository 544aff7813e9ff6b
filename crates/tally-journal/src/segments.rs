//! Segment files: naming, listing, and recovery at start-up.
//!
//! A segment is named after the sequence number of its first click
//! (`00000000000000000001.clicks`), so the numbering survives the deletion of loaded
//! segments. The last segment is the active one and is never deleted.
//!
//! Segments are extended with zeros ahead of the records (see [`PREALLOCATE`]): a sync
//! then only has data to flush, never the file's size, which halves its latency on
//! ext4. Reading stops at the first all-zero header.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::format::{HEADER_LEN, Header, decode_header, is_unwritten, payload_intact};
use crate::{JournalError, io_error};

const SUFFIX: &str = ".clicks";
/// How far ahead of the records a segment is filled with zeros.
pub(crate) const PREALLOCATE: u64 = 4 << 20;
const LOG_ID_FILE: &str = "LOG_ID";
const LANE_PREFIX: &str = "lane-";

pub(crate) fn lane_dir(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("{LANE_PREFIX}{index}"))
}

/// How many lanes a journal directory already has.
pub(crate) fn existing_lanes(dir: &Path) -> std::io::Result<usize> {
    let highest = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().to_str()?.strip_prefix(LANE_PREFIX)?.parse::<usize>().ok())
        .max();
    Ok(highest.map_or(0, |index| index + 1))
}

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

/// One record read back (its header and checked payload), or why reading stopped.
pub(crate) enum Next {
    Record(Header, Vec<u8>),
    End,
    Damaged,
}

/// Reads the next record from a segment positioned at a record boundary.
pub(crate) fn read_record(reader: &mut impl Read) -> std::io::Result<Next> {
    let mut header_bytes = [0u8; HEADER_LEN];
    match read_full(reader, &mut header_bytes)? {
        0 => return Ok(Next::End),
        HEADER_LEN if is_unwritten(&header_bytes) => return Ok(Next::End),
        HEADER_LEN => {}
        _ => return Ok(Next::Damaged),
    }
    let Some(header) = decode_header(&header_bytes) else { return Ok(Next::Damaged) };
    let mut payload = vec![0u8; header.payload_len as usize];
    if read_full(reader, &mut payload)? != payload.len() {
        return Ok(Next::Damaged);
    }
    Ok(if payload_intact(&header, &payload) { Next::Record(header, payload) } else { Next::Damaged })
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
    /// The active segment, open for writing, and the length of its records.
    pub(crate) active: (File, u64),
    pub(crate) next_seq: u64,
}

/// Reads or creates a lane's log id, checks its active segment and cuts off a torn
/// tail. The caller holds the journal's lock.
pub(crate) fn recover(dir: &Path) -> Result<Recovered, JournalError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
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
    let file = OpenOptions::new().read(true).write(true).open(&path).map_err(io_error(&path))?;
    let on_disk = file.metadata().map_err(io_error(&path))?.len();
    // Zero whatever follows the last whole record: a torn record a crash left there
    // was never acknowledged, and zeros are what a reader takes for the end.
    if on_disk > valid_len {
        let torn = zero_fill(&file, valid_len, on_disk).map_err(io_error(&path))?;
        if torn {
            tracing::warn!(path = %path.display(), "cut a torn record off the click journal");
        }
    }
    Ok(Recovered { log_id, active: (file, valid_len), next_seq })
}

/// Overwrites `from..to` with zeros and syncs; returns whether anything but zeros was
/// there.
fn zero_fill(file: &File, from: u64, to: u64) -> std::io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let mut buffer = vec![0u8; 64 << 10];
    let mut found = false;
    let mut offset = from;
    while offset < to {
        let length = (to - offset).min(buffer.len() as u64) as usize;
        file.read_exact_at(&mut buffer[..length], offset)?;
        if buffer[..length].iter().any(|byte| *byte != 0) {
            found = true;
            buffer[..length].fill(0);
            file.write_all_at(&buffer[..length], offset)?;
        }
        offset += length as u64;
    }
    if found {
        file.sync_data()?;
    }
    Ok(found)
}

/// Reads a segment's records, checking each one's checksum but decoding none (start-up
/// stays fast with a full segment); returns the length of its valid prefix and the
/// next sequence number after it.
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
