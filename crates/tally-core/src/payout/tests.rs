//! Unit tests, one per rule of SPEC §7's payout groups, and property tests of [`compute`].

use rust_decimal::Decimal;
use serde_json::json;

use super::*;
use crate::program::EventPayoutDoc;

mod periods;
mod properties;
mod volume;

fn terms(level: &str, default_payout: serde_json::Value, payout_groups: serde_json::Value) -> PayoutTerms {
    let mut doc = json!({"event_type": 1, "payout_level": level, "payout_groups": payout_groups});
    if !default_payout.is_null() {
        doc["default_payout"] = default_payout;
    }
    let doc: EventPayoutDoc = serde_json::from_value(doc).expect("test terms");
    PayoutTerms::compile(&doc)
}

fn rule(variable: &str, operator: &str, values: &str) -> serde_json::Value {
    json!({"variable": variable, "operator": operator, "values": values})
}

fn group(rank: u32, rules: serde_json::Value, payout: serde_json::Value) -> serde_json::Value {
    json!({"rank": rank, "rules": rules, "payout": payout})
}

fn rate(percent: &str) -> serde_json::Value {
    json!({"rate": percent})
}

fn amount(amount: &str) -> serde_json::Value {
    json!({"amount": amount})
}

fn dec(text: &str) -> Decimal {
    text.parse().expect("decimal")
}

fn currency(code: &str) -> Currency {
    code.parse().expect("currency")
}

fn item(sku: &'static str, category: &'static str, quantity: u32, sale_amount: &str) -> PayoutItem<'static> {
    PayoutItem { sku: Some(sku), category: Some(category), quantity, sale_amount: dec(sale_amount) }
}

/// A USD order of `items` with no customer details, its sale amount their sum.
fn order<'a>(items: &'a [PayoutItem<'a>]) -> PayoutOrder<'a> {
    PayoutOrder {
        currency: currency("USD"),
        customer_status: None,
        customer_country: None,
        promo_code: None,
        shared_id: None,
        items,
        sale_amount: items.iter().map(|item| item.sale_amount).sum(),
    }
}

fn line(item: Option<usize>, group_rank: Option<u32>, basis: &str, amount: &str) -> PayoutLine {
    PayoutLine { item, group_rank, basis: dec(basis), amount: dec(amount), ..PayoutLine::default() }
}

/// The rank of the group that paid the order's only line, `None` for the default.
fn paying_rank(terms: &PayoutTerms, order: &PayoutOrder<'_>) -> Option<u32> {
    let payout = compute(terms, order, &Standing::new());
    assert_eq!(payout.lines.len(), 1, "{payout:?}");
    payout.lines[0].group_rank
}

#[test]
fn order_level_pays_one_line_on_the_order_sale_amount() {
    let terms = terms("ORDER", rate("10"), json!([group(1, json!([rule("ITEM_SKU", "IS", "B")]), rate("20"))]));
    let items = [item("A", "books", 1, "30.00"), item("B", "toys", 2, "70.00")];
    let payout = compute(&terms, &order(&items), &Standing::new());
    assert_eq!(payout.lines, [line(None, Some(1), "100.00", "20.00")]);
    assert_eq!(payout.total, Money { amount: dec("20.00"), currency: currency("USD") });
}

#[test]
fn item_level_pays_each_item_by_the_group_it_matches() {
    let terms = terms("ITEM", rate("10"), json!([group(1, json!([rule("ITEM_SKU", "IS", "B")]), rate("20"))]));
    let items = [item("A", "books", 1, "30.00"), item("B", "toys", 2, "70.00")];
    let payout = compute(&terms, &order(&items), &Standing::new());
    assert_eq!(payout.lines, [line(Some(0), None, "30.00", "3.00"), line(Some(1), Some(1), "70.00", "14.00")]);
    assert_eq!(payout.total.amount, dec("17.00"));
}

#[test]
fn the_lowest_ranked_group_that_holds_wins_and_only_it_applies() {
    let always = || json!([rule("PROMO_CODE", "IS_NOT", "NEVER")]);
    let groups = json!([
        group(30, always(), rate("3")),
        group(10, json!([rule("PROMO_CODE", "IS", "X")]), rate("1")),
        group(20, always(), rate("2"))
    ]);
    let terms = terms("ORDER", rate("5"), groups);
    let items = [item("A", "books", 1, "100")];
    let payout = compute(&terms, &order(&items), &Standing::new());
    assert_eq!(payout.lines, [line(None, Some(20), "100", "2.00")]);
}

#[test]
fn all_rules_of_a_group_must_hold() {
    let rules = json!([rule("CUSTOMER_STATUS", "IS", "New"), rule("CUSTOMER_COUNTRY", "IS", "US")]);
    let terms = terms("ORDER", rate("5"), json!([group(1, rules, rate("15"))]));
    let items = [item("A", "books", 1, "100")];
    let new_in_france = PayoutOrder { customer_status: Some("New"), customer_country: Some("FR"), ..order(&items) };
    let new_in_us = PayoutOrder { customer_country: Some("US"), ..new_in_france };
    assert_eq!(paying_rank(&terms, &new_in_france), None);
    assert_eq!(paying_rank(&terms, &new_in_us), Some(1));
}

#[test]
fn a_comma_in_values_means_or_and_each_value_is_trimmed() {
    let terms =
        terms("ORDER", rate("5"), json!([group(1, json!([rule("CUSTOMER_COUNTRY", "IS", " US , CA,,")]), rate("9"))]));
    let items = [item("A", "books", 1, "100")];
    let from = |country| PayoutOrder { customer_country: Some(country), ..order(&items) };
    assert_eq!(paying_rank(&terms, &from("CA")), Some(1));
    assert_eq!(paying_rank(&terms, &from("US")), Some(1));
    assert_eq!(paying_rank(&terms, &from("MX")), None);
    assert_eq!(paying_rank(&terms, &from(" ca ")), Some(1), "the order's value is trimmed too");
}

#[test]
fn on_an_absent_value_is_not_holds_and_is_and_contains_fail() {
    let groups = json!([
        group(1, json!([rule("PROMO_CODE", "IS", "SAVE10")]), rate("1")),
        group(2, json!([rule("PROMO_CODE", "CONTAINS", "SAVE")]), rate("2")),
        group(3, json!([rule("PROMO_CODE", "IS_NOT", "SAVE10")]), rate("3"))
    ]);
    let terms = terms("ORDER", rate("5"), groups);
    let items = [item("A", "books", 1, "100")];
    assert_eq!(paying_rank(&terms, &order(&items)), Some(3));
    let blank = PayoutOrder { promo_code: Some("  "), ..order(&items) };
    assert_eq!(paying_rank(&terms, &blank), Some(3), "a blank value is absent");
    let with_code = PayoutOrder { promo_code: Some("SAVE10"), ..order(&items) };
    assert_eq!(paying_rank(&terms, &with_code), Some(1));
}

#[test]
fn contains_matches_part_of_the_value() {
    let terms = terms(
        "ITEM",
        rate("5"),
        json!([group(1, json!([rule("ITEM_CATEGORY", "CONTAINS", "shoe,boot")]), rate("12"))]),
    );
    let items = [item("A", "Running Shoes", 1, "10"), item("B", "Boots/Winter", 1, "10"), item("C", "Socks", 1, "10")];
    let ranks: Vec<_> =
        compute(&terms, &order(&items), &Standing::new()).lines.iter().map(|line| line.group_rank).collect();
    assert_eq!(ranks, [Some(1), Some(1), None]);
}

#[test]
fn values_compare_ignoring_case() {
    let groups = json!([
        group(1, json!([rule("SHARED_ID", "IS", "Spring-Promo")]), rate("1")),
        group(2, json!([rule("SHARED_ID", "IS_NOT", "AUTUMN")]), rate("2"))
    ]);
    let terms = terms("ORDER", rate("5"), groups);
    let items = [item("A", "books", 1, "100")];
    let shared = |id| PayoutOrder { shared_id: Some(id), ..order(&items) };
    assert_eq!(paying_rank(&terms, &shared("SPRING-promo")), Some(1));
    assert_eq!(paying_rank(&terms, &shared("autumn")), None);
}

#[test]
fn at_order_level_an_item_rule_holds_when_any_item_satisfies_it() {
    let groups = json!([
        group(1, json!([rule("ITEM_CATEGORY", "IS", "toys")]), rate("1")),
        group(2, json!([rule("ITEM_SKU", "IS_NOT", "A")]), rate("2"))
    ]);
    let terms = terms("ORDER", rate("5"), groups);
    let books_a_and_b = [item("A", "books", 1, "10"), item("B", "books", 1, "10")];
    let only_a = [item("A", "books", 1, "10")];
    assert_eq!(paying_rank(&terms, &order(&[item("A", "books", 1, "10"), item("B", "toys", 1, "1")])), Some(1));
    assert_eq!(paying_rank(&terms, &order(&books_a_and_b)), Some(2), "B is not A");
    assert_eq!(paying_rank(&terms, &order(&only_a)), None);
    assert_eq!(paying_rank(&terms, &order(&[])), Some(2), "no items: the SKU is absent");
}

#[test]
fn a_fixed_amount_is_paid_per_unit_at_item_level_and_once_at_order_level() {
    let groups = json!([group(1, json!([rule("ITEM_SKU", "IS", "A")]), amount("2.50"))]);
    let items = [item("A", "books", 3, "30"), item("B", "books", 2, "20")];
    let by_item = compute(&terms("ITEM", amount("1"), groups.clone()), &order(&items), &Standing::new());
    assert_eq!(by_item.lines, [line(Some(0), Some(1), "30", "7.50"), line(Some(1), None, "20", "2.00")]);
    assert_eq!(by_item.total.amount, dec("9.50"));
    let by_order = compute(&terms("ORDER", amount("1"), groups), &order(&items), &Standing::new());
    assert_eq!(by_order.lines, [line(None, Some(1), "50", "2.50")]);
}

#[test]
fn each_line_is_rounded_once_half_away_from_zero() {
    let items = [item("A", "x", 1, "0.05"), item("B", "x", 1, "0.05"), item("C", "x", 1, "0.05")];
    let by_item = compute(&terms("ITEM", rate("10"), json!([])), &order(&items), &Standing::new());
    assert_eq!(by_item.lines.iter().map(|line| line.amount).collect::<Vec<_>>(), [dec("0.01"); 3]);
    assert_eq!(by_item.total.amount, dec("0.03"));
    let by_order = compute(&terms("ORDER", rate("10"), json!([])), &order(&items), &Standing::new());
    assert_eq!(by_order.total.amount, dec("0.02"), "0.015 rounds up once");
    let fixed =
        compute(&terms("ITEM", amount("0.005"), json!([])), &order(&[item("A", "x", 3, "1")]), &Standing::new());
    assert_eq!(fixed.total.amount, dec("0.02"), "0.005 × 3 is rounded after multiplying");
}

#[test]
fn a_zero_digit_currency_rounds_to_whole_units() {
    let items = [item("A", "x", 1, "1235"), item("B", "x", 3, "100")];
    let yen = PayoutOrder { currency: currency("JPY"), ..order(&items) };
    let by_rate = compute(&terms("ITEM", rate("10"), json!([])), &yen, &Standing::new());
    assert_eq!(by_rate.lines.iter().map(|line| line.amount).collect::<Vec<_>>(), [dec("124"), dec("10")]);
    assert_eq!(by_rate.total, Money { amount: dec("134"), currency: currency("JPY") });
    let by_amount = compute(&terms("ITEM", amount("0.5"), json!([])), &yen, &Standing::new());
    assert_eq!(by_amount.total.amount, dec("3"), "0.5 → 1, then 1.5 → 2");
}

#[test]
fn nothing_is_paid_when_no_group_holds_and_there_is_no_default() {
    let terms =
        terms("ITEM", serde_json::Value::Null, json!([group(1, json!([rule("ITEM_SKU", "IS", "B")]), rate("20"))]));
    let items = [item("A", "books", 1, "30"), item("B", "toys", 1, "70")];
    let payout = compute(&terms, &order(&items), &Standing::new());
    assert_eq!(payout.lines, [line(Some(1), Some(1), "70", "14.00")], "the unmatched item gets no line");
    let none = compute(&terms, &order(&items[..1]), &Standing::new());
    assert_eq!(none, Payout { total: Money::zero(currency("USD")), lines: vec![], notes: vec![] });
}

#[test]
fn an_item_level_order_without_items_is_paid_as_one_line_on_its_amount() {
    let terms = terms("ITEM", amount("4"), json!([group(1, json!([rule("ITEM_SKU", "IS", "A")]), rate("50"))]));
    let amount_only = PayoutOrder { sale_amount: dec("80"), ..order(&[]) };
    assert_eq!(compute(&terms, &amount_only, &Standing::new()).lines, [line(None, None, "80", "4.00")]);
}

#[test]
fn a_return_gives_a_negative_rate_payout() {
    let items = [item("A", "x", 1, "-19.99")];
    let payout = compute(&terms("ITEM", rate("10"), json!([])), &order(&items), &Standing::new());
    assert_eq!(payout.total.amount, dec("-2.00"), "-1.999 rounds away from zero");
}
