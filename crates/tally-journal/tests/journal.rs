//! The click journal on a real directory: group commit, recovery, rotation, bounds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::Duration;

use tally_app::conformance::sample_click;
use tally_app::metrics::Metrics;
use tally_app::ports::{ClickLog, ClickLogError, ClickLogReader};
use tally_core::click::Click;
use tally_journal::{Journal, JournalError, JournalReader, JournalSettings};

fn clicks(range: std::ops::Range<u64>) -> Vec<Click> {
    range.map(|n| sample_click(n, jiff::Timestamp::from_second(1_767_225_600 + n as i64).unwrap())).collect()
}

/// A journal of one lane, so that sequence numbers are easy to follow.
fn open(settings: &JournalSettings) -> (Journal, JournalReader) {
    let settings = JournalSettings { lanes: 1, ..settings.clone() };
    let (journal, mut lanes) = tally_journal::open(settings, Arc::new(Metrics::new())).expect("open journal");
    (journal, lanes.remove(0))
}

async fn append_all(journal: &Arc<Journal>, clicks: Vec<Click>) {
    let appends: Vec<_> = clicks
        .into_iter()
        .map(|click| {
            let journal = journal.clone();
            tokio::spawn(async move { journal.append(click).await })
        })
        .collect();
    for append in appends {
        append.await.expect("task").expect("durable");
    }
}

fn read_all(reader: &mut JournalReader, after: u64) -> Vec<Click> {
    let mut read = Vec::new();
    let mut seq = after;
    while let Some(batch) = reader.read_after(seq, 7).expect("read") {
        assert_eq!(batch.first_seq, seq + 1, "batches follow each other");
        seq = batch.last_seq();
        read.extend(batch.clicks);
    }
    read
}

/// The segment files of the first lane.
fn segment_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(lane(dir))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".clicks"))
        .collect();
    names.sort();
    names
}

fn lane(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("lane-0")
}

#[tokio::test]
async fn clicks_spread_over_lanes_and_every_lane_reads_back_its_own() {
    let directory = tempfile::tempdir().unwrap();
    let settings = JournalSettings { lanes: 3, ..JournalSettings::new(directory.path()) };
    let (journal, mut lanes) = tally_journal::open(settings.clone(), Arc::new(Metrics::new())).unwrap();
    append_all(&Arc::new(journal), clicks(0..30)).await;
    let log_ids: std::collections::HashSet<String> = lanes.iter().map(|lane| lane.log_id().to_owned()).collect();
    assert_eq!(log_ids.len(), 3, "each lane is its own log");
    let per_lane: Vec<usize> = lanes.iter_mut().map(|lane| read_all(lane, 0).len()).collect();
    assert_eq!(per_lane, vec![10, 10, 10]);
    drop(lanes);

    // Opened again with fewer lanes, the journal keeps reading every lane it has.
    let fewer = JournalSettings { lanes: 1, ..settings };
    let (_journal, lanes) = tally_journal::open(fewer, Arc::new(Metrics::new())).unwrap();
    assert_eq!(lanes.iter().map(|lane| lane.durable_seq()).sum::<u64>(), 30);
}

#[tokio::test]
async fn concurrent_appends_are_durable_and_read_back_exactly_once() {
    let directory = tempfile::tempdir().unwrap();
    let (journal, mut reader) = open(&JournalSettings::new(directory.path()));
    let journal = Arc::new(journal);
    append_all(&journal, clicks(0..200)).await;
    assert_eq!(reader.durable_seq(), 200);
    let mut read = read_all(&mut reader, 0);
    let mut expected = clicks(0..200);
    let key = |click: &Click| click.click_id.clone();
    read.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(read, expected);
    assert!(read_all(&mut reader, 200).is_empty());
}

#[tokio::test]
async fn a_reopened_journal_continues_its_numbering_and_keeps_its_identity() {
    let directory = tempfile::tempdir().unwrap();
    let settings = JournalSettings::new(directory.path());
    let (journal, reader) = open(&settings);
    let log_id = reader.log_id().to_owned();
    append_all(&Arc::new(journal), clicks(0..5)).await;
    drop(reader);

    let (journal, mut reader) = open(&settings);
    assert_eq!(reader.log_id(), log_id);
    assert_eq!(reader.durable_seq(), 5);
    journal.append(clicks(5..6).remove(0)).await.unwrap();
    assert_eq!(read_all(&mut reader, 0).len(), 6);
}

#[tokio::test]
async fn a_torn_record_left_by_a_crash_is_cut_off_and_everything_before_it_kept() {
    let directory = tempfile::tempdir().unwrap();
    let settings = JournalSettings::new(directory.path());
    let (journal, reader) = open(&settings);
    append_all(&Arc::new(journal), clicks(0..3)).await;
    drop(reader);
    let segment = lane(directory.path()).join(&segment_files(directory.path())[0]);
    let bytes = std::fs::read(&segment).unwrap();
    let records_end = bytes.iter().rposition(|byte| *byte != 0).unwrap() + 1;
    let torn = b"TLY1\x40\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00garbage";
    let file = std::fs::OpenOptions::new().write(true).open(&segment).unwrap();
    file.write_all_at(torn, records_end as u64).unwrap();
    drop(file);

    let (journal, mut reader) = open(&settings);
    let after = std::fs::read(&segment).unwrap();
    assert_eq!(after[..records_end], bytes[..records_end], "the whole records are kept");
    assert!(after[records_end..].iter().all(|byte| *byte == 0), "the torn record is gone");
    assert_eq!(reader.durable_seq(), 3);
    journal.append(clicks(3..4).remove(0)).await.unwrap();
    assert_eq!(read_all(&mut reader, 0).len(), 4);
}

#[tokio::test]
async fn segments_rotate_and_loaded_ones_are_deleted_but_never_the_active_one() {
    let directory = tempfile::tempdir().unwrap();
    let settings = JournalSettings { segment_bytes: 2_000, max_batch: 2, ..JournalSettings::new(directory.path()) };
    let (journal, mut reader) = open(&settings);
    let journal = Arc::new(journal);
    for click in clicks(0..30) {
        journal.append(click).await.unwrap();
    }
    let before = segment_files(directory.path());
    assert!(before.len() > 3, "{before:?}");
    assert_eq!(read_all(&mut reader, 0).len(), 30, "reading crosses segments");
    assert_eq!(read_all(&mut reader, 17).len(), 13, "and starts anywhere");

    reader.release_through(30).unwrap();
    let after = segment_files(directory.path());
    assert_eq!(after, vec![before.last().unwrap().clone()]);
    journal.append(clicks(30..31).remove(0)).await.unwrap();
    assert_eq!(read_all(&mut reader, 30).len(), 1);
}

#[tokio::test]
async fn a_full_backlog_refuses_clicks_until_the_store_takes_some() {
    let directory = tempfile::tempdir().unwrap();
    let settings = JournalSettings { max_backlog: 3, ..JournalSettings::new(directory.path()) };
    let (journal, mut reader) = open(&settings);
    for click in clicks(0..3) {
        journal.append(click).await.unwrap();
    }
    let refused = journal.append(clicks(3..4).remove(0)).await;
    assert!(matches!(refused, Err(ClickLogError::Full(3))), "{refused:?}");
    reader.release_through(2).unwrap();
    journal.append(clicks(4..5).remove(0)).await.unwrap();
}

#[tokio::test]
async fn one_journal_belongs_to_one_process() {
    let directory = tempfile::tempdir().unwrap();
    let settings = JournalSettings::new(directory.path());
    let _first = open(&settings);
    let second = tally_journal::open(settings, Arc::new(Metrics::new()));
    assert!(matches!(second, Err(JournalError::Locked(_))));
}

#[tokio::test]
async fn a_reader_waits_for_the_next_durable_click() {
    let directory = tempfile::tempdir().unwrap();
    let (journal, reader) = open(&JournalSettings::new(directory.path()));
    assert!(!reader.wait_past(0, Duration::from_millis(20)));
    let waiter = std::thread::spawn(move || reader.wait_past(0, Duration::from_secs(5)));
    journal.append(clicks(0..1).remove(0)).await.unwrap();
    assert!(waiter.join().unwrap());
}

#[tokio::test]
async fn clicks_read_from_memory_and_from_disk_are_the_same_clicks_in_the_same_order() {
    let directory = tempfile::tempdir().unwrap();
    let (journal, mut reader) = open(&JournalSettings::new(directory.path()));
    let journal = Arc::new(journal);
    // One at a time, so the order of sequence numbers is the order of `clicks`.
    for click in clicks(0..40) {
        journal.append(click).await.unwrap();
    }
    // A read the store then refused: the same clicks are read again, from disk.
    let first = reader.read_after(0, 10).unwrap().unwrap();
    let again = reader.read_after(0, 10).unwrap().unwrap();
    assert_eq!(first.clicks, again.clicks);
    assert_eq!(first.clicks, clicks(0..10));
    // The rest come from memory again, after the disk's.
    assert_eq!(read_all(&mut reader, 10), clicks(10..40));

    // After a restart memory is empty: everything comes from disk, the same.
    drop(reader);
    drop(journal);
    let (_journal, mut reopened) = open(&JournalSettings::new(directory.path()));
    assert_eq!(read_all(&mut reopened, 0), clicks(0..40));
}
