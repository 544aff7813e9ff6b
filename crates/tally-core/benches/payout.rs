//! Payout of one ITEM-level order of 5 items under terms with 50 payout groups of 2-3
//! rules each, where only the last group or the default applies, so every group is
//! tried for every item (target: under 5 us). The baseline in the same group does the
//! same Decimal work per item (multiply, round, sum) with no rules at all.
//!
//! The `volume_terms` cases add two restrictions that never hold, three tiers, two
//! limits and two bonuses, with a standing under which, for the one action, the top
//! tier replaces the default, the payout limit cuts the commission and a bonus is
//! earned: every adjustment does its work.
//!
//! `cargo bench -p tally-core --bench payout -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::json;
use tally_core::money::Currency;
use tally_core::payout::{PayoutItem, PayoutOrder, PayoutTerms, Period, PeriodTotals, Standing, compute};
use tally_core::program::EventPayoutDoc;

const GROUPS: u32 = 50;

/// 49 groups whose first rule holds (the country) and whose later rules fail, then a
/// last group that holds only for a new customer.
fn terms() -> PayoutTerms {
    PayoutTerms::compile(&terms_doc())
}

/// [`terms`] with restrictions, tiers, limits and bonuses.
fn volume_terms() -> PayoutTerms {
    let mut doc = serde_json::to_value(terms_doc()).expect("bench terms");
    doc["restrictions"] = json!([
        {"rules": [{"variable": "PROMO_CODE", "operator": "CONTAINS", "values": "STAFF"}]},
        {"rules": [{"variable": "ITEM_CATEGORY", "operator": "IS", "values": "gift cards, vouchers"}]}
    ]);
    doc["tiers"] = json!([
        {"metric": "ACTIONS", "threshold": "10", "period": "MONTH", "payout": {"rate": "8"}},
        {"metric": "ACTIONS", "threshold": "50", "period": "MONTH", "payout": {"rate": "9"}},
        {"metric": "REVENUE", "threshold": "100000", "period": "QUARTER", "payout": {"rate": "10"}}
    ]);
    doc["limits"] = json!([{"period": "DAY", "max_actions": 1000}, {"period": "MONTH", "max_payout": "5000.00"}]);
    doc["bonuses"] = json!([
        {"metric": "ACTIONS", "threshold": "100", "period": "MONTH", "amount": "50.00"},
        {"metric": "REVENUE", "threshold": "20000", "period": "MONTH", "amount": "100.00"}
    ]);
    PayoutTerms::compile(&serde_json::from_value(doc).expect("bench volume terms"))
}

/// 99 actions this month worth 4990.00, so this action reaches the 50-action tier,
/// crosses the 100-action bonus and is cut to the 10.00 the limit leaves.
fn standing() -> Standing {
    let month = PeriodTotals {
        actions: 99,
        sale_amount: Decimal::new(1_500_000, 2),
        payout: Decimal::new(499_000, 2),
        bonuses_paid: 0,
    };
    let day = PeriodTotals {
        actions: 12,
        sale_amount: Decimal::new(180_000, 2),
        payout: Decimal::new(13_500, 2),
        bonuses_paid: 0,
    };
    let quarter = PeriodTotals {
        actions: 250,
        sale_amount: Decimal::new(4_000_000, 2),
        payout: Decimal::new(3_000_000, 2),
        bonuses_paid: 0,
    };
    Standing::new().with(Period::Day, day).with(Period::Month, month).with(Period::Quarter, quarter)
}

fn terms_doc() -> EventPayoutDoc {
    let mut groups: Vec<_> = (1..GROUPS)
        .map(|rank| {
            let mut rules = vec![
                json!({"variable": "CUSTOMER_COUNTRY", "operator": "IS", "values": "US, CA"}),
                json!({"variable": "ITEM_CATEGORY", "operator": "IS", "values": format!("category-{rank},sale-{rank}")}),
            ];
            if rank % 2 == 0 {
                rules.push(json!({"variable": "PROMO_CODE", "operator": "CONTAINS", "values": format!("SPRING{rank}")}));
            }
            json!({"rank": rank, "rules": rules, "payout": {"rate": format!("{}.5", rank % 20)}})
        })
        .collect();
    groups.push(json!({"rank": GROUPS, "payout": {"amount": "1.25"}, "rules": [
        {"variable": "CUSTOMER_STATUS", "operator": "IS", "values": "New"},
        {"variable": "ITEM_CATEGORY", "operator": "CONTAINS", "values": "apparel"}
    ]}));
    let doc =
        json!({"event_type": 1, "payout_level": "ITEM", "default_payout": {"rate": "7.5"}, "payout_groups": groups});
    serde_json::from_value(doc).expect("bench terms")
}

fn items() -> Vec<PayoutItem<'static>> {
    let skus = ["SKU-1001", "SKU-1002", "SKU-1003", "SKU-1004", "SKU-1005"];
    let categories = ["Apparel/Shirts", "Apparel/Shoes", "Womens Apparel", "apparel", "Kids Apparel"];
    (0..5)
        .map(|index| PayoutItem {
            sku: Some(skus[index]),
            category: Some(categories[index]),
            quantity: u32::try_from(index + 1).unwrap_or(1),
            sale_amount: Decimal::new(1999 + 1000 * i64::try_from(index).unwrap_or(0), 2),
        })
        .collect()
}

/// Per item: rate × amount, rounded half-up to cents, summed; what compute does minus the rules.
fn baseline(items: &[PayoutItem<'_>], fraction: Decimal) -> Decimal {
    items
        .iter()
        .map(|item| (item.sale_amount * fraction).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
        .sum()
}

fn payout(criterion: &mut Criterion) {
    let terms = terms();
    let items = items();
    let usd: Currency = "USD".parse().expect("currency");
    let existing = PayoutOrder {
        currency: usd,
        customer_status: Some("Existing"),
        customer_country: Some("us"),
        promo_code: Some("SUMMER24"),
        shared_id: None,
        items: &items,
        sale_amount: items.iter().map(|item| item.sale_amount).sum(),
    };
    let new = PayoutOrder { customer_status: Some("new"), ..existing };
    assert!(compute(&terms, &existing, &Standing::new()).lines.iter().all(|line| line.group_rank.is_none()));
    assert!(compute(&terms, &new, &Standing::new()).lines.iter().all(|line| line.group_rank == Some(GROUPS)));
    let fraction = Decimal::new(75, 3);
    let mut group = criterion.benchmark_group("payout_item_level_5_items_50_groups");
    group.bench_function("baseline_rate_round_and_sum", |bench| {
        bench.iter(|| baseline(black_box(&items), black_box(fraction)))
    });
    group.bench_function("default_payout_applies", |bench| {
        bench.iter(|| compute(black_box(&terms), black_box(&existing), &Standing::new()))
    });
    group.bench_function("last_group_applies", |bench| {
        bench.iter(|| compute(black_box(&terms), black_box(&new), &Standing::new()))
    });
    let volume_terms = volume_terms();
    let standing = standing();
    let adjusted = compute(&volume_terms, &existing, &standing);
    let codes: Vec<_> = adjusted.notes.iter().map(|note| note.code()).collect();
    assert_eq!(codes, ["TIER", "LIMIT_PAYOUT", "BONUS"], "{adjusted:?}");
    group.bench_function("volume_terms_default_payout_applies", |bench| {
        bench.iter(|| compute(black_box(&volume_terms), black_box(&existing), black_box(&standing)))
    });
    group.bench_function("volume_terms_last_group_applies", |bench| {
        bench.iter(|| compute(black_box(&volume_terms), black_box(&new), black_box(&standing)))
    });
    group.finish();
}

criterion_group!(benches, payout);
criterion_main!(benches);
