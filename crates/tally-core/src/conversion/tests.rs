//! Tests of the compatible parameters, the order's money and the checks against a program.

use rust_decimal::Decimal;

use super::compatible::parse;
use super::order::price;
use super::resolve::{attribution_input, check};
use super::*;
use crate::money::Currency;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
}

fn base() -> Vec<(&'static str, &'static str)> {
    vec![
        ("CampaignId", "1"),
        ("ActionTrackerId", "1"),
        ("EventDate", "2026-03-01T10:00:00-05:00"),
        ("OrderId", "O-1"),
        ("ClickId", "abc"),
    ]
}

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(String, String)> {
    let mut list = base();
    list.extend_from_slice(extra);
    pairs(&list)
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn fields(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(|error| error.field.as_str()).collect()
}

#[test]
fn reads_the_documented_names_and_aliases_in_any_case() {
    let request = parse(&pairs(&[
        ("campaignid", "1"),
        ("EventTypeId", "1"),
        ("EventDate", "NOW"),
        ("Oid", "O-9"),
        ("MediaId", "7"),
        ("Currency", "eur"),
        ("PromoCode", "SAVE10"),
        ("CustomerStatus", "NEW"),
        ("CustomerEmail", "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3"),
    ]))
    .unwrap();
    assert_eq!(request.program, Some(crate::ids::ProgramId(1)));
    assert_eq!(request.event_type, Some(EventTypeRef::Id(crate::ids::EventTypeId(1))));
    assert_eq!(request.event_date, Some(EventDate::Now));
    assert_eq!(request.order_id, "O-9");
    assert_eq!(request.media_partner, Some(crate::ids::PartnerId(7)));
    assert_eq!(request.currency, Some("EUR".parse().unwrap()));
    assert_eq!(request.promo_code.as_deref(), Some("SAVE10"));
    assert_eq!(request.customer_status, Some(CustomerStatus::New));
    assert_eq!(request.customer_email_hash.as_deref(), Some("a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"));
}

#[test]
fn lists_every_missing_field() {
    let errors = parse(&pairs(&[("Note", "hello")])).unwrap_err();
    assert_eq!(fields(&errors), ["CampaignId", "ActionTrackerId", "EventDate", "OrderId", "ClickId"]);
    let order = errors.iter().find(|error| error.field == "OrderId").unwrap();
    assert_eq!(order.code, RefusalCode::OidMissing);
}

#[test]
fn refuses_malformed_values_with_their_names() {
    for (name, value) in [
        ("EventDate", "2026-03-01T10:00:00"),
        ("EventDate", "yesterday"),
        ("CustomerEmail", "shopper@example.com"),
        ("CurrencyCode", "DOLLARS"),
        ("Amount", "1e3"),
        ("Amount", "12,50"),
        ("IpAddress", "300.1.1.1"),
        ("UniqueUrl", "javascript:alert(1)"),
        ("ClickId", "a b"),
        ("CampaignId", "-4"),
    ] {
        let mut list = base();
        list.retain(|(existing, _)| *existing != name);
        list.push((name, value));
        list.push(("CurrencyCode", "USD"));
        list.dedup_by_key(|(name, _)| *name);
        let errors = parse(&pairs(&list)).expect_err(value);
        assert!(fields(&errors).contains(&name), "{name}={value}: {errors:?}");
    }
}

#[test]
fn aliases_that_disagree_and_repeated_names_are_refused() {
    let errors = parse(&with(&[("PromoCode", "A"), ("OrderPromoCode", "B")])).unwrap_err();
    assert_eq!(errors.len(), 1);
    let errors = parse(&with(&[("Note", "a"), ("note", "b")])).unwrap_err();
    assert_eq!(fields(&errors), ["note"]);
    assert!(parse(&with(&[("PromoCode", "A"), ("OrderPromoCode", "A")])).is_ok());
}

#[test]
fn one_event_type_reference_only() {
    let errors = parse(&with(&[("EventTypeCode", "sale")])).unwrap_err();
    assert_eq!(fields(&errors), ["EventTypeCode"]);
}

#[test]
fn money_needs_a_currency() {
    let errors = parse(&with(&[("ItemSubTotal1", "10")])).unwrap_err();
    assert_eq!(fields(&errors), ["CurrencyCode"]);
}

#[test]
fn an_attribution_key_is_required() {
    let list: Vec<_> = base().into_iter().filter(|(name, _)| *name != "ClickId").collect();
    let errors = parse(&pairs(&list)).unwrap_err();
    assert_eq!(fields(&errors), ["ClickId"]);
    for key in ["CustomerId", "CustomProfileId", "PromoCode", "MediaPartnerId", "UniqueUrl", "GoogAId"] {
        let mut list = list.clone();
        list.push((key, if key == "MediaPartnerId" { "3" } else { "x.test" }));
        assert!(parse(&pairs(&list)).is_ok(), "{key}");
    }
}

#[test]
fn items_are_numbered_from_one_without_gaps_and_price_or_subtotal() {
    let errors = parse(&with(&[("CurrencyCode", "USD"), ("ItemSku1", "A"), ("ItemSku3", "C")])).unwrap_err();
    assert_eq!(fields(&errors), ["ItemSku2"]);
    let errors = parse(&with(&[("CurrencyCode", "USD"), ("ItemPrice1", "1"), ("ItemSubTotal1", "2")])).unwrap_err();
    assert_eq!(fields(&errors), ["ItemSubTotal1"]);
    let errors = parse(&with(&[("ItemQuantity1", "0")])).unwrap_err();
    assert_eq!(fields(&errors), ["ItemQuantity1"]);
    let request =
        parse(&with(&[("CurrencyCode", "USD"), ("ItemSku2", "B"), ("ItemSku1", "A"), ("ItemPrice2", "3")])).unwrap();
    assert_eq!(request.items.len(), 2);
    assert_eq!(request.items[0].sku.as_deref(), Some("A"));
    assert_eq!(request.items[1].unit_price, Some(dec("3")));
    assert_eq!(request.items[1].quantity, 1);
}

#[test]
fn empty_values_count_as_absent() {
    let request = parse(&with(&[("CustomerId", ""), ("Note", "  ")])).unwrap();
    assert_eq!(request.customer_id, None);
    assert_eq!(request.note, None);
}

fn priced(extra: &[(&'static str, &'static str)]) -> order::PricedOrder {
    let request = parse(&with(extra)).unwrap();
    let usd: Currency = "USD".parse().unwrap();
    price(&request, request.currency.unwrap_or(usd))
}

#[test]
fn the_order_discount_is_spread_in_proportion_and_shipping_is_excluded() {
    let order = priced(&[
        ("CurrencyCode", "USD"),
        ("ItemPrice1", "30"),
        ("ItemQuantity1", "2"),
        ("ItemSubTotal2", "40"),
        ("OrderDiscount", "10"),
        ("OrderShipping", "5.99"),
        ("OrderTax", "8"),
    ]);
    let sales: Vec<Decimal> = order.lines.iter().map(|line| line.sale_amount).collect();
    assert_eq!(sales, [dec("54.00"), dec("36.00")]);
    assert_eq!(order.sale_amount, dec("90.00"));
    assert_eq!(order.shipping, dec("5.99"));
}

#[test]
fn each_line_is_rounded_once_half_up() {
    // A discount of 1.00 over three lines of 10.00: each line is 9.666… rounded once to
    // 9.67, and the order is the sum of its rounded lines.
    let order = priced(&[
        ("CurrencyCode", "USD"),
        ("ItemSubTotal1", "10.00"),
        ("ItemSubTotal2", "10.00"),
        ("ItemSubTotal3", "10.00"),
        ("OrderDiscount", "1.00"),
    ]);
    assert!(order.lines.iter().all(|line| line.sale_amount == dec("9.67")));
    assert_eq!(order.sale_amount, dec("29.01"));
    let order = priced(&[("CurrencyCode", "USD"), ("ItemSubTotal1", "0.125")]);
    assert_eq!(order.sale_amount, dec("0.13"));
    let order = priced(&[("CurrencyCode", "JPY"), ("ItemSubTotal1", "100.5")]);
    assert_eq!(order.sale_amount, dec("101"));
}

#[test]
fn item_discounts_come_before_the_order_discount() {
    let order = priced(&[
        ("CurrencyCode", "USD"),
        ("ItemSubTotal1", "60"),
        ("ItemTotalDiscount1", "20"),
        ("ItemSubTotal2", "40"),
        ("OrderDiscount", "8"),
    ]);
    let sales: Vec<Decimal> = order.lines.iter().map(|line| line.sale_amount).collect();
    assert_eq!(sales, [dec("36.00"), dec("36.00")]);
}

#[test]
fn without_items_the_amount_is_the_sale_amount() {
    let order = priced(&[("CurrencyCode", "USD"), ("Amount", "49.995"), ("OrderShipping", "4")]);
    assert!(order.lines.is_empty());
    assert_eq!(order.sale_amount, dec("50.00"));
}

fn program() -> crate::program::Program {
    crate::attribution::tests::program()
}

#[test]
fn checks_against_the_program() {
    let now: jiff::Timestamp = "2026-03-02T00:00:00Z".parse().unwrap();
    let program = program();
    let request = parse(&with(&[("CurrencyCode", "USD"), ("Amount", "10")])).unwrap();
    let checked = check(&program, &request, now).unwrap();
    assert_eq!(checked.at, "2026-03-01T15:00:00Z".parse().unwrap());
    assert_eq!(checked.order.sale_amount, dec("10.00"));

    let by_code = parse(&pairs(&[
        ("CampaignId", "1"),
        ("EventTypeCode", "LEAD"),
        ("EventDate", "NOW"),
        ("OrderId", "L-1"),
        ("CustomerId", "c1"),
    ]))
    .unwrap();
    let checked = check(&program, &by_code, now).unwrap();
    assert_eq!(checked.event_type.id, crate::ids::EventTypeId(2));
    assert_eq!(checked.at, now);

    let no_items = parse(&with(&[])).unwrap();
    assert_eq!(check(&program, &no_items, now).unwrap_err().code, RefusalCode::NoItem);
    let unknown = parse(&pairs(&[
        ("CampaignId", "1"),
        ("ActionTrackerId", "77"),
        ("EventDate", "NOW"),
        ("OrderId", "X"),
        ("ClickId", "abc"),
    ]))
    .unwrap();
    assert_eq!(check(&program, &unknown, now).unwrap_err().code, RefusalCode::ActionTrackerNotFound);
    let future = parse(&pairs(&[
        ("CampaignId", "1"),
        ("ActionTrackerId", "2"),
        ("EventDate", "2026-03-02T02:00:00Z"),
        ("OrderId", "X"),
        ("ClickId", "abc"),
    ]))
    .unwrap();
    assert_eq!(check(&program, &future, now).unwrap_err().code, RefusalCode::Malformed);
}

#[test]
fn attribution_input_carries_the_explicit_keys() {
    let now: jiff::Timestamp = "2026-03-02T00:00:00Z".parse().unwrap();
    let program = program();
    let request =
        parse(&with(&[("CurrencyCode", "USD"), ("Amount", "10"), ("MediaPartnerId", "2"), ("PromoCode", "x")]))
            .unwrap();
    let checked = check(&program, &request, now).unwrap();
    let input = attribution_input(&program, &request, &checked);
    assert_eq!(input.forced_partner, Some(crate::ids::PartnerId(2)));
    assert_eq!(input.promo_code, Some("x"));
    assert_eq!(input.at, checked.at);
}
