//! Reports on SQLite at scale (issue 6's targets, with 10,000,000 clicks and 1,000,000
//! actions: the first page of the action listing under 50 ms, the 90-day performance
//! report by day and partner under 200 ms, the CSV export at 200,000 rows/s or more
//! with flat memory):
//!
//!   cargo bench -p tally-sqlite --bench reports        (CLICKS=10000000 ACTIONS=1000000)
//!
//! Fills a fresh store in a temporary directory through the store's own import (so the
//! rollups are kept as in production), then times each question five times and prints
//! the median, beside a baseline measured in the same run: a bare `SELECT` of the same
//! rows with rusqlite, without Tally's mapping.

// A benchmark: a failure is the report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use tally_app::action_export::ActionExport;
use tally_app::listing::{self, Viewer};
use tally_app::ports::{ActionRecord, Store};
use tally_app::reports::{self, Reports};
use tally_core::click::{Click, DeviceType, OwnerKind, TouchSource};
use tally_core::ids::{AdId, ClickId, EventTypeId, PartnerId, ProgramId, VisitorId};
use tally_sqlite::{SqliteOptions, SqliteStore};

const DAYS: i64 = 120;
const PARTNERS: u64 = 50;

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|text| text.parse().ok()).unwrap_or(default)
}

fn click(n: u64, at: Timestamp) -> Click {
    let partner = n % PARTNERS;
    Click {
        click_id: ClickId::generate(at.as_millisecond() as u64, u128::from(n) * 7_919),
        at,
        program: ProgramId(1),
        owner: PartnerId(100 + partner),
        owner_kind: OwnerKind::Partner,
        ad: Some(AdId(1 + n % 3)),
        source: TouchSource::Link,
        visitor: VisitorId::generate(n, u128::from(n) * 31),
        ip_hash: None,
        country: None,
        user_agent: "Mozilla/5.0".into(),
        device: DeviceType::ALL[(n % 3) as usize],
        os: "iOS".into(),
        browser: "Safari".into(),
        referrer_url: None,
        referrer_domain: None,
        landing_page: "https://acme.test/".into(),
        sub_ids: [None, None, None],
        shared_id: Some(format!("campaign-{}", n % 3)),
        unique: !n.is_multiple_of(5),
        bot: false,
        flood: false,
        malformed: false,
        creditable: true,
    }
}

fn action(n: u64, at: Timestamp, day: Date) -> ActionRecord {
    ActionRecord {
        action_id: format!("A{n:012}"),
        program: ProgramId(1),
        event_type: EventTypeId(1),
        order_id: format!("O-{n}"),
        event_at: at,
        created_at: at,
        state: "PENDING".into(),
        owner: PartnerId(100 + n % PARTNERS),
        owner_kind: OwnerKind::Partner,
        rule: "LAST_CLICK".into(),
        ad: Some(AdId(1 + n % 3)),
        click_id: Some(format!("click-{n}")),
        referring_at: Some(at),
        referring_type: "CLICK".into(),
        currency: "USD".parse().unwrap(),
        sale_amount: Decimal::new(5_000 + (n % 10_000) as i64, 2),
        payout: Decimal::new(400 + (n % 800) as i64, 2),
        promo_code: None,
        customer_id: Some(format!("C-{n}")),
        customer_email_hmac: None,
        customer_status: Some("New".into()),
        shared_id: Some(format!("campaign-{}", n % 3)),
        sub_ids: [None, None, None],
        submission_id: format!("S{n:012}"),
        test: n.is_multiple_of(100),
        detail: format!(
            r#"{{"items":[{{"sku":"SKU-{}","category":"Tents","quantity":1,"saleAmount":"40.00"}},{{"sku":"MUG","category":"Kitchen","quantity":2,"saleAmount":"10.00"}}],"journey":[]}}"#,
            n % 500
        ),
        locking_at: None,
        statement_id: None,
        event_day: day,
        device: Some(DeviceType::ALL[(n % 3) as usize].as_str().to_owned()),
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

async fn time<F, Fut>(mut run: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        run().await;
        times.push(started.elapsed());
    }
    median(times)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

#[tokio::main]
async fn main() {
    let clicks = env("CLICKS", 10_000_000);
    let actions = env("ACTIONS", 1_000_000);
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("tally.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    let time_zone = TimeZone::get("America/New_York").unwrap();
    let end: Timestamp = "2026-11-24T12:00:00Z".parse().unwrap();
    let start = end - SignedDuration::from_hours(24 * DAYS);
    let at =
        |n: u64, count: u64| start + SignedDuration::from_micros((DAYS * 86_400_000_000 / count as i64) * n as i64);
    let day = |at: Timestamp| at.to_zoned(time_zone.clone()).date();

    let started = Instant::now();
    for first in (0..clicks).step_by(20_000) {
        let page: Vec<Click> = (first..(first + 20_000).min(clicks)).map(|n| click(n, at(n, clicks))).collect();
        let days = page.iter().map(|click| day(click.at)).collect();
        store.import_clicks(page, days).await.unwrap();
    }
    eprintln!("imported {clicks} clicks in {:.0} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    for first in (0..actions).step_by(10_000) {
        let page: Vec<ActionRecord> = (first..(first + 10_000).min(actions))
            .map(|n| {
                let when = at(n, actions);
                action(n, when, day(when))
            })
            .collect();
        store.import_conversions(&[], &page).await.unwrap();
    }
    eprintln!("imported {actions} actions in {:.0} s", started.elapsed().as_secs_f64());

    let listing = listing::read(&[], ProgramId(1), &time_zone, Viewer::Brand).unwrap();
    let first_page = time(|| async {
        let total = store.count_actions(&listing.query).await.unwrap();
        let rows = store.list_actions(&listing.query).await.unwrap();
        assert!(total > 0 && rows.len() == 50);
    })
    .await;

    let today = day(end);
    let from = today.checked_sub(jiff::Span::new().days(89)).unwrap().to_string();
    let pairs = vec![("from".to_owned(), from), ("by".to_owned(), "day,partner".to_owned())];
    let request = reports::read(&pairs, ProgramId(1), today, Viewer::Brand).unwrap();
    let store_arc: std::sync::Arc<dyn Store> =
        std::sync::Arc::new(SqliteStore::open(&path, SqliteOptions::default()).unwrap());
    let report_time = time(|| async {
        let report = Reports::new(store_arc.clone())
            .performance(request.clone(), "USD".parse().unwrap(), &time_zone)
            .await
            .unwrap();
        assert!(report.rows.len() >= 90 * PARTNERS as usize);
    })
    .await;

    let sku_pairs = vec![("from".to_owned(), pairs[0].1.clone()), ("by".to_owned(), "sku".to_owned())];
    let sku_request = reports::read(&sku_pairs, ProgramId(1), today, Viewer::Brand).unwrap();
    let started = Instant::now();
    let by_sku =
        Reports::new(store_arc.clone()).performance(sku_request, "USD".parse().unwrap(), &time_zone).await.unwrap();
    let sku_time = started.elapsed();

    let memory_before = peak_rss_mb();
    let started = Instant::now();
    let mut export = ActionExport::new(store_arc.clone(), listing.query.clone(), false);
    let (mut rows, mut bytes) = (0usize, 0usize);
    while let Some(chunk) = export.next_chunk().await.unwrap() {
        rows += chunk.lines().count();
        bytes += chunk.len();
    }
    let export_time = started.elapsed();
    let memory_after = peak_rss_mb();
    let exported = rows - 1;

    let connection = rusqlite::Connection::open(&path).unwrap();
    let started = Instant::now();
    let mut statement = connection
        .prepare("SELECT action_id, created_at, order_id, sale_amount_minor, payout_minor FROM action WHERE program_id = 1 AND is_test = FALSE ORDER BY created_at, action_id")
        .unwrap();
    let raw = statement.query_map([], |row| row.get::<_, String>(0)).unwrap().count();
    let raw_time = started.elapsed();
    let started = Instant::now();
    let count: i64 = connection.query_row("SELECT count(*) FROM action", [], |row| row.get(0)).unwrap();
    let count_time = started.elapsed();
    assert_eq!(raw, exported);
    assert!(count as u64 == actions);

    println!("with {clicks} clicks and {actions} actions in SQLite:");
    println!(
        "  action listing, first page of 50 with its total: {:.1} ms (baseline: a bare count(*) of the table, {:.1} ms)",
        ms(first_page),
        ms(count_time)
    );
    println!("  90-day performance report by day and partner: {:.1} ms ({} rows)", ms(report_time), 90 * PARTNERS);
    println!(
        "  90-day performance report by SKU (read from the actions' items): {:.0} ms ({} rows, once)",
        ms(sku_time),
        by_sku.rows.len()
    );
    println!(
        "  CSV export: {exported} rows ({:.0} MB) in {:.2} s = {:.0} rows/s; peak RSS {memory_before:.0} MB before, {memory_after:.0} MB after; \
         baseline (a bare SELECT of 5 columns in the same order): {:.0} rows/s, ratio {:.2}",
        bytes as f64 / 1e6,
        export_time.as_secs_f64(),
        exported as f64 / export_time.as_secs_f64(),
        raw as f64 / raw_time.as_secs_f64(),
        export_time.as_secs_f64() / raw_time.as_secs_f64()
    );
}
