//! The locking job on SQLite at scale (issue 5's target: 1,000,000 due actions
//! approved in under 30 s, with flat memory):
//!
//!   cargo bench -p tally-sqlite --bench locking            (ACTIONS=1000000 by default)
//!
//! Imports `ACTIONS` pending actions whose locking instant has passed into a fresh
//! store in a temporary directory, then runs the job's loop (`approve_due` in batches
//! of 10,000, as `tally_app::locking` does) until nothing is due, and prints the time,
//! the rate, and the process's peak resident memory before and after the job. As a
//! baseline measured in the same run, it also times a bare `UPDATE … SET state` of the
//! same rows on a copy of the store, without the action updates.

// A benchmark: a failure is the report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use jiff::Timestamp;
use rust_decimal::Decimal;
use tally_app::ports::{ActionRecord, Store};
use tally_core::click::OwnerKind;
use tally_core::ids::{EventTypeId, PartnerId, ProgramId};
use tally_sqlite::{SqliteOptions, SqliteStore};

const BATCH: u32 = 10_000;

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn action(n: u64, locked: Timestamp) -> ActionRecord {
    ActionRecord {
        action_id: format!("A{n:012}"),
        program: ProgramId(1),
        event_type: EventTypeId(1),
        order_id: format!("O-{n}"),
        event_at: locked,
        created_at: locked,
        state: "PENDING".into(),
        owner: PartnerId(1 + n % 100),
        owner_kind: OwnerKind::Partner,
        rule: "LAST_CLICK".into(),
        ad: None,
        click_id: None,
        referring_at: None,
        referring_type: "CLICK".into(),
        currency: "USD".parse().unwrap(),
        sale_amount: Decimal::new(12_345, 2),
        payout: Decimal::new(987, 2),
        promo_code: None,
        customer_id: Some(format!("C-{n}")),
        customer_email_hmac: None,
        customer_status: Some("New".into()),
        shared_id: None,
        sub_ids: [None, None, None],
        submission_id: format!("S{n:012}"),
        test: false,
        detail: r#"{"items":[],"journey":[]}"#.into(),
        locking_at: Some(locked),
        statement_id: None,
        event_day: jiff::civil::date(2026, 1, 1),
        device: None,
    }
}

#[tokio::main]
async fn main() {
    let count: u64 = std::env::var("ACTIONS").ok().and_then(|text| text.parse().ok()).unwrap_or(1_000_000);
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("tally.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    let locked: Timestamp = "2026-10-01T00:00:00Z".parse().unwrap();
    let started = Instant::now();
    for first in (0..count).step_by(10_000) {
        let actions: Vec<_> = (first..(first + 10_000).min(count)).map(|n| action(n, locked)).collect();
        store.import_conversions(&[], &actions).await.unwrap();
    }
    eprintln!("imported {count} pending actions in {:.1} s", started.elapsed().as_secs_f64());
    drop(store);
    let baseline_path = directory.path().join("baseline.db");
    std::fs::copy(&path, &baseline_path).unwrap();

    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    let memory_before = peak_rss_mb();
    let now: Timestamp = "2026-11-24T00:00:00Z".parse().unwrap();
    let started = Instant::now();
    let mut approved = 0;
    loop {
        let batch = store.approve_due(now, BATCH).await.unwrap();
        approved += batch;
        if batch < u64::from(BATCH) {
            break;
        }
    }
    let job = started.elapsed().as_secs_f64();
    let memory_after = peak_rss_mb();
    assert_eq!(approved, count);
    assert_eq!(store.action_updates_after("", 1).await.unwrap().len(), 1);

    let connection = rusqlite::Connection::open(&baseline_path).unwrap();
    let started = Instant::now();
    connection
        .execute(
            "UPDATE action SET state = 'APPROVED' WHERE state = 'PENDING' AND locking_at <= ?1",
            [now.as_microsecond()],
        )
        .unwrap();
    let baseline = started.elapsed().as_secs_f64();

    println!(
        "locking job: {approved} actions approved in {job:.1} s ({:.0} per second), each with its action update; \
         peak RSS {memory_before:.0} MB before, {memory_after:.0} MB after; \
         baseline (one bare UPDATE of the same rows, no updates recorded): {baseline:.1} s, ratio {:.2}",
        approved as f64 / job,
        job / baseline
    );
}
