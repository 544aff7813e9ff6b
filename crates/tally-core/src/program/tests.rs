//! Scheduled terms, the checks of the keys tiers, limits, bonuses and restrictions
//! added, and export round trips.

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::json;

use super::*;
use crate::ids::{EventTypeId, PartnerId};

const PARTNER: PartnerId = PartnerId(7);
const SALE: EventTypeId = EventTypeId(1);
const LEAD: EventTypeId = EventTypeId(2);

/// A program with base terms 100 (sales 10 %, leads 2.00), holiday terms 200 (sales
/// 20 % only), and partner 7's contract on the base terms for 2025, with the holiday
/// terms scheduled for Black Friday weekend; `event_payout` is merged into the base
/// terms' sale payout.
fn document(event_payout: serde_json::Value) -> serde_json::Value {
    let mut sale = json!({"event_type": 1, "payout_level": "ORDER", "default_payout": {"rate": "10"}});
    for (key, value) in event_payout.as_object().expect("keys").clone() {
        sale[key] = value;
    }
    json!({
        "program": {
            "id": 1, "name": "Acme", "currency": "USD", "time_zone": "America/New_York",
            "default_landing_page": "https://acme.test/"
        },
        "event_types": [
            {"id": 1, "code": "sale", "name": "Sale", "category": "SALE"},
            {"id": 2, "code": "lead", "name": "Lead", "category": "LEAD"}
        ],
        "partners": [{"id": 7, "name": "Seven", "credit_group": "PREFERRED", "status": "ACTIVE"}],
        "template_terms": [
            {"id": 100, "name": "Base", "event_payouts": [sale, {"event_type": 2, "default_payout": {"amount": "2.00"}}]},
            {"id": 200, "name": "Holiday", "event_payouts": [{"event_type": 1, "default_payout": {"rate": "20"}}]}
        ],
        "contracts": [{
            "partner": 7, "template_terms": 100, "start": "2025-01-01T05:00:00Z", "end": "2026-01-01T05:00:00Z",
            "scheduled_terms": [{"template_terms": 200, "start": "2025-11-28T05:00:00Z", "end": "2025-12-01T05:00:00Z"}]
        }]
    })
}

fn compile(document: serde_json::Value) -> Result<Program, Vec<Problem>> {
    Program::compile(serde_json::from_value(document).expect("document parses"))
}

fn at(instant: &str) -> Timestamp {
    instant.parse().expect("RFC 3339 instant")
}

fn default_payout_at(program: &Program, event_type: EventTypeId, instant: &str) -> Option<PayoutDoc> {
    program.terms_for(PARTNER, event_type, at(instant)).and_then(|terms| terms.default_payout.clone())
}

fn rate(percent: &str) -> Option<PayoutDoc> {
    Some(PayoutDoc { rate: Some(percent.parse().expect("rate")), amount: None, rate_over_100: false })
}

fn problems(document: serde_json::Value) -> Vec<(String, String)> {
    let problems = compile(document).expect_err("refused");
    problems.into_iter().map(|problem| (problem.path, problem.message)).collect()
}

#[test]
fn scheduled_terms_apply_inside_their_span_and_the_contract_terms_outside() {
    let program = compile(document(json!({}))).expect("compiles");
    assert_eq!(default_payout_at(&program, SALE, "2025-11-28T05:00:00Z"), rate("20"), "from its start");
    assert_eq!(default_payout_at(&program, SALE, "2025-11-30T12:00:00Z"), rate("20"));
    assert_eq!(default_payout_at(&program, SALE, "2025-11-28T04:59:59Z"), rate("10"));
    assert_eq!(default_payout_at(&program, SALE, "2025-12-01T05:00:00Z"), rate("10"), "until its end, exclusive");
    assert_eq!(default_payout_at(&program, SALE, "2026-01-01T05:00:00Z"), None, "no contract in force");
}

#[test]
fn scheduled_terms_without_the_event_type_leave_the_contract_terms_in_force_for_it() {
    let program = compile(document(json!({}))).expect("compiles");
    let lead = default_payout_at(&program, LEAD, "2025-11-29T12:00:00Z").and_then(|payout| payout.amount);
    assert_eq!(lead, Some(Decimal::new(200, 2)));
}

#[test]
fn every_problem_in_the_new_keys_is_listed_together() {
    let mut document = document(json!({
        "default_payout": {"rate": "150"},
        "restrictions": [{"rules": []}, {"rules": [{"variable": "PROMO_CODE", "operator": "IS", "values": " , "}]}],
        "tiers": [
            {"metric": "ACTIONS", "threshold": "10", "period": "MONTH", "payout": {"rate": "15"}},
            {"metric": "ACTIONS", "threshold": "10.0", "period": "MONTH", "payout": {"rate": "20"}},
            {"metric": "ACTIONS", "threshold": "2.5", "period": "DAY", "payout": {"rate": "20"}},
            {"metric": "REVENUE", "threshold": "0", "period": "YEAR", "payout": {"rate": "120", "rate_over_100": true}},
            {"metric": "REVENUE", "threshold": "10.001", "period": "YEAR", "payout": {"rate": "10001", "rate_over_100": true}}
        ],
        "limits": [
            {"period": "QUARTER", "max_actions": 5},
            {"period": "DAY"},
            {"period": "WEEK", "max_actions": 5, "max_payout": "10"},
            {"period": "MONTH", "max_payout": "-1"},
            {"period": "MONTH", "max_payout": "0.005"}
        ],
        "bonuses": [{"metric": "REVENUE", "threshold": "-5", "period": "WEEK", "amount": "-1.001"}]
    }));
    document["contracts"][0]["scheduled_terms"] = json!([
        {"template_terms": 200, "start": "2025-11-28T05:00:00Z", "end": "2025-12-01T05:00:00Z"},
        {"template_terms": 200, "start": "2025-11-30T05:00:00Z", "end": "2025-12-02T05:00:00Z"},
        {"template_terms": 999, "start": "2025-12-24T05:00:00Z", "end": "2025-12-24T05:00:00Z"},
        {"template_terms": 200, "start": "2025-12-31T05:00:00Z", "end": "2026-01-02T05:00:00Z"}
    ]);
    let payout = "template_terms[0].event_payouts[0]";
    let scheduled = "contracts[0].scheduled_terms";
    let expected: Vec<(String, &str)> = vec![
        (
            format!("{payout}.default_payout.rate"),
            "a rate is a percentage between 0 and 100 (set rate_over_100 to allow more)",
        ),
        (format!("{payout}.restrictions[0].rules"), "a restriction needs at least one rule"),
        (format!("{payout}.restrictions[1].rules[0].values"), "must name at least one value"),
        (format!("{payout}.tiers[1].threshold"), "another tier of the same metric and period has this threshold"),
        (format!("{payout}.tiers[2].threshold"), "a number of actions must be a whole number"),
        (format!("{payout}.tiers[3].threshold"), "must be greater than 0"),
        (format!("{payout}.tiers[4].threshold"), "has more decimal places than USD has (2)"),
        (format!("{payout}.tiers[4].payout.rate"), "with rate_over_100 a rate is a percentage between 0 and 10000"),
        (format!("{payout}.limits[0].period"), "a limit counts per DAY, WEEK or MONTH"),
        (format!("{payout}.limits[1]"), "give exactly one of \"max_actions\" or \"max_payout\""),
        (format!("{payout}.limits[2]"), "give exactly one of \"max_actions\" or \"max_payout\""),
        (format!("{payout}.limits[3].max_payout"), "must not be negative"),
        (format!("{payout}.limits[4].max_payout"), "has more decimal places than USD has (2)"),
        (format!("{payout}.bonuses[0].threshold"), "must be greater than 0"),
        (format!("{payout}.bonuses[0].amount"), "must not be negative"),
        (format!("{payout}.bonuses[0].amount"), "has more decimal places than USD has (2)"),
        (format!("{scheduled}[1]"), "overlaps scheduled_terms[0]"),
        (format!("{scheduled}[2].template_terms"), "template terms 999 are not in template_terms"),
        (format!("{scheduled}[2].end"), "must be after start"),
        (format!("{scheduled}[3]"), "lies outside its contract"),
    ];
    let expected: Vec<(String, String)> = expected.into_iter().map(|(path, message)| (path, message.into())).collect();
    assert_eq!(problems(document), expected);
}

#[test]
fn a_rate_over_100_percent_needs_the_explicit_flag() {
    let refused = problems(document(json!({"default_payout": {"rate": "150"}})));
    assert_eq!(refused.len(), 1, "{refused:?}");
    let tier = json!({"metric": "ACTIONS", "threshold": "5", "period": "MONTH", "payout": {"rate": "200"}});
    let group = json!({"rank": 1, "rules": [], "payout": {"rate": "101"}});
    let refused = problems(document(json!({"tiers": [tier], "payout_groups": [group]})));
    assert_eq!(refused.len(), 2, "{refused:?}");
    let flagged = |rate: &str| json!({"rate": rate, "rate_over_100": true});
    let tier = json!({"metric": "ACTIONS", "threshold": "5", "period": "MONTH", "payout": flagged("200")});
    let group = json!({"rank": 1, "rules": [], "payout": flagged("101")});
    let accepted = document(json!({"default_payout": flagged("150"), "tiers": [tier], "payout_groups": [group]}));
    assert!(compile(accepted).is_ok());
    let flag_on_amount = problems(document(json!({"default_payout": {"amount": "5", "rate_over_100": true}})));
    assert_eq!(flag_on_amount[0].1, "applies only to a rate");
}

#[test]
fn a_document_with_every_new_key_exports_exactly_as_applied() {
    let rule = json!({"variable": "ITEM_CATEGORY", "operator": "IS", "values": "gift cards"});
    let document = document(json!({
        "default_payout": {"rate": "110", "rate_over_100": true},
        "restrictions": [{"rules": [rule], "reason": "gift cards"}],
        "tiers": [{"metric": "REVENUE", "threshold": "5000.00", "period": "QUARTER", "payout": {"rate": "12.5"}}],
        "limits": [{"period": "DAY", "max_actions": 100}, {"period": "MONTH", "max_payout": "2500.00"}],
        "bonuses": [{"metric": "ACTIONS", "threshold": "50", "period": "WEEK", "amount": "75.00"}]
    }));
    let program = compile(document.clone()).expect("compiles");
    let exported = serde_json::to_value(program.document()).expect("exports");
    let sale = &exported["template_terms"][0]["event_payouts"][0];
    for key in ["restrictions", "tiers", "limits", "bonuses"] {
        assert_eq!(sale[key], document["template_terms"][0]["event_payouts"][0][key], "{key}");
    }
    assert_eq!(exported["contracts"], document["contracts"]);
    let reapplied = compile(exported.clone()).expect("compiles again");
    assert_eq!(serde_json::to_value(reapplied.document()).expect("exports"), exported);
}

#[test]
fn a_document_without_the_new_keys_exports_without_them() {
    let mut document = document(json!({}));
    document["contracts"][0].as_object_mut().expect("contract").remove("scheduled_terms");
    let program = compile(document).expect("compiles");
    let exported = serde_json::to_string(program.document()).expect("exports");
    for key in ["restrictions", "tiers", "limits", "bonuses", "scheduled_terms", "rate_over_100"] {
        assert!(!exported.contains(key), "{key} in {exported}");
    }
}

#[test]
fn money_in_terms_is_bounded_like_money_in_orders() {
    let huge = "1000000000000.01";
    let refused = problems(document(json!({
        "default_payout": {"amount": huge},
        "limits": [{"period": "MONTH", "max_payout": huge}],
        "bonuses": [{"metric": "REVENUE", "threshold": huge, "period": "WEEK", "amount": huge}]
    })));
    let payout = "template_terms[0].event_payouts[0]";
    let at_most = |field: &str| (format!("{payout}.{field}"), "must be at most 1000000000000".to_owned());
    for expected in [
        at_most("default_payout.amount"),
        at_most("limits[0].max_payout"),
        at_most("bonuses[0].threshold"),
        at_most("bonuses[0].amount"),
    ] {
        assert!(refused.contains(&expected), "{expected:?} in {refused:?}");
    }
}
