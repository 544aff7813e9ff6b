//! Attribution of one conversion with a 20-touch journey (target: under 10 us), beside
//! the cost of merely copying and sorting those touches, measured in the same group.
//!
//! `cargo bench -p tally-core --bench attribution`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use tally_core::attribution::{Conversion, Touch, TouchKind, attribute};
use tally_core::click::{DeviceType, TouchSource};
use tally_core::ids::{EventTypeId, PartnerId};
use tally_core::program::{Program, ProgramDocument};

/// 30 partners in three credit groups, two media sources, a promo code per policy.
fn program() -> Program {
    let groups = ["PREFERRED", "STANDARD", "NON_PREFERRED"];
    let partners: Vec<_> = (1..=30)
        .map(|id| json!({"id": id, "name": format!("p{id}"), "credit_group": groups[id % 3], "status": "ACTIVE"}))
        .collect();
    let contracts: Vec<_> =
        (1..=30).map(|id| json!({"partner": id, "template_terms": 1, "start": "2025-01-01T00:00:00Z"})).collect();
    let document = json!({
        "program": {"id": 1, "name": "Bench", "currency": "USD", "time_zone": "UTC",
                    "default_landing_page": "https://acme.test/"},
        "event_types": [{"id": 1, "code": "sale", "name": "Sale", "category": "SALE"}],
        "partners": partners,
        "media_sources": [{"id": 901, "name": "Search"}, {"id": 902, "name": "Email", "credit_group": "NON_PREFERRED"}],
        "template_terms": [{"id": 1, "name": "Standard", "event_payouts": [{"event_type": 1,
            "referral_windows": [{"touch": "CLICK", "window": 30, "unit": "DAY"},
                                 {"touch": "IMPRESSION", "window": 24, "unit": "HOUR"}]}]}],
        "contracts": contracts,
        "promo_codes": [
            {"code": "SAVE10", "partner": 4, "credit_policy": "WINNER"},
            {"code": "VIP[0-9]{2}", "type": "REGEX", "partner": 7, "credit_policy": "INVOLVED"}
        ]
    });
    let document: ProgramDocument = serde_json::from_value(document).expect("bench document");
    Program::compile(document).expect("bench program compiles")
}

fn journey(now: Timestamp) -> Vec<Touch> {
    (0..20u64)
        .map(|n| Touch {
            at: now - SignedDuration::from_hours(i64::try_from(n * 7).unwrap_or(0)),
            owner: PartnerId(if n % 7 == 0 { 901 } else { 1 + (n * 11) % 30 }),
            kind: if n % 5 == 0 { TouchKind::Impression } else { TouchKind::Click },
            source: TouchSource::Link,
            creditable: true,
            device: DeviceType::Desktop,
        })
        .collect()
}

fn attribution(criterion: &mut Criterion) {
    let program = program();
    let now: Timestamp = "2026-11-24T12:00:00Z".parse().expect("time");
    let touches = journey(now);
    let plain = Conversion {
        at: now,
        event_type: EventTypeId(1),
        promo_code: None,
        forced_partner: None,
        unique_url_partner: None,
    };
    let with_code = Conversion { promo_code: Some("VIP42"), ..plain };
    let mut group = criterion.benchmark_group("attribution_20_touches");
    group.bench_function("baseline_copy_and_sort_touches", |bench| {
        bench.iter(|| {
            let mut copied = black_box(&touches).to_vec();
            copied.sort_by_key(|touch| (touch.at, touch.owner));
            copied
        })
    });
    group.bench_function("last_click_by_credit_group", |bench| {
        bench.iter(|| attribute(black_box(&program), black_box(&plain), black_box(&touches)))
    });
    group.bench_function("with_a_regex_promo_code", |bench| {
        bench.iter(|| attribute(black_box(&program), black_box(&with_code), black_box(&touches)))
    });
    group.finish();
}

criterion_group!(benches, attribution);
criterion_main!(benches);
