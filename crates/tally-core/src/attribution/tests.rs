//! Unit tests, one per rule, and property tests of the whole decision.

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::*;
use crate::program::ProgramDocument;

const ALPHA: PartnerId = PartnerId(1); // PREFERRED, terms 100: LAST_CLICK, no windows
const BETA: PartnerId = PartnerId(2); // PREFERRED, terms 200: FIRST_CLICK, click 7 days, impression 24 hours
const GAMMA: PartnerId = PartnerId(3); // STANDARD, terms 100
const DELTA: PartnerId = PartnerId(4); // NON_PREFERRED, terms 100
const INACTIVE: PartnerId = PartnerId(5); // inactive, terms 100
const LAPSED: PartnerId = PartnerId(6); // contract ended before the conversion
const LEADS_ONLY: PartnerId = PartnerId(7); // terms only for event type 2
const SEARCH: PartnerId = PartnerId(10); // media source, PREFERRED
const EMAIL: PartnerId = PartnerId(11); // media source, NON_PREFERRED
const UNKNOWN: PartnerId = PartnerId(99);

fn contract(partner: u64, terms: u64) -> serde_json::Value {
    json!({"partner": partner, "template_terms": terms, "start": "2025-01-01T00:00:00Z"})
}

fn partner(id: u64, group: &str, status: &str) -> serde_json::Value {
    json!({"id": id, "name": format!("p{id}"), "credit_group": group, "status": status})
}

/// The test program; the constants above say what each owner is.
pub(crate) fn program() -> Program {
    let settings = json!({
        "id": 1, "name": "Acme", "currency": "USD", "time_zone": "UTC", "default_landing_page": "https://acme.test/"
    });
    let windows =
        json!([{"touch": "CLICK", "window": 7, "unit": "DAY"}, {"touch": "IMPRESSION", "window": 24, "unit": "HOUR"}]);
    let document = json!({
        "program": settings,
        "event_types": [
            {"id": 1, "code": "sale", "name": "Sale", "category": "SALE"},
            {"id": 2, "code": "lead", "name": "Lead", "category": "LEAD"}
        ],
        "partners": [
            partner(1, "PREFERRED", "ACTIVE"), partner(2, "PREFERRED", "ACTIVE"),
            partner(3, "STANDARD", "ACTIVE"), partner(4, "NON_PREFERRED", "ACTIVE"),
            partner(5, "PREFERRED", "INACTIVE"), partner(6, "PREFERRED", "ACTIVE"),
            partner(7, "PREFERRED", "ACTIVE")
        ],
        "media_sources": [
            {"id": 10, "name": "Search", "credit_group": "PREFERRED"},
            {"id": 11, "name": "Email", "credit_group": "NON_PREFERRED"}
        ],
        "template_terms": [
            {"id": 100, "name": "Standard", "event_payouts": [{"event_type": 1}]},
            {"id": 200, "name": "First", "event_payouts": [
                {"event_type": 1, "credit_policy": "FIRST_CLICK", "referral_windows": windows}
            ]},
            {"id": 300, "name": "Leads", "event_payouts": [{"event_type": 2}]}
        ],
        "contracts": [
            contract(1, 100), contract(2, 200), contract(3, 100), contract(4, 100), contract(5, 100), contract(7, 300),
            {"partner": 6, "template_terms": 100, "start": "2025-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}
        ],
        "promo_codes": [
            {"code": "ALPHA10", "partner": 1, "credit_policy": "ALWAYS"},
            {"code": "GAMMA\\d+", "type": "REGEX", "partner": 3, "credit_policy": "INVOLVED"},
            {"code": "BETA5", "partner": 2, "credit_policy": "WINNER"},
            {"code": "OLD", "partner": 1, "end": "2026-01-01T00:00:00Z"},
            {"code": "BETA-ONLY", "partner": 2, "credit_policy": "WINNER", "block_other_partners": true}
        ]
    });
    let document: ProgramDocument = serde_json::from_value(document).expect("document parses");
    Program::compile(document).expect("document compiles")
}

pub(super) fn conversion_at() -> Timestamp {
    "2026-06-01T12:00:00Z".parse().expect("valid instant")
}

pub(super) fn conversion() -> Conversion<'static> {
    Conversion {
        at: conversion_at(),
        event_type: EventTypeId(1),
        promo_code: None,
        forced_partner: None,
        unique_url_partner: None,
    }
}

/// A creditable desktop click `hours_before` the conversion (negative: after it).
pub(super) fn click(owner: PartnerId, hours_before: i64) -> Touch {
    Touch {
        at: conversion_at() - SignedDuration::from_hours(hours_before),
        owner,
        kind: TouchKind::Click,
        source: TouchSource::Link,
        creditable: true,
        device: DeviceType::Desktop,
    }
}

fn impression(owner: PartnerId, hours_before: i64) -> Touch {
    Touch { kind: TouchKind::Impression, source: TouchSource::Impression, ..click(owner, hours_before) }
}

fn run(conversion: &Conversion<'_>, touches: &[Touch]) -> Attribution {
    attribute(&program(), conversion, touches)
}

fn reasons(attribution: &Attribution) -> Vec<Option<&'static str>> {
    attribution.journey.iter().map(|step| step.reason.map(RefusalReason::as_str)).collect()
}

#[test]
fn last_click_credits_the_latest_eligible_touch() {
    let result = run(&conversion(), &[click(ALPHA, 48), click(GAMMA, 1), click(ALPHA, 5)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: ALPHA, rule: Rule::CreditGroup });
    let result = run(&conversion(), &[click(ALPHA, 48), click(ALPHA, 5), click(SEARCH, 1)]);
    assert_eq!(result.outcome, Outcome::CreditedToMediaSource { source: SEARCH, rule: Rule::LastClick });
}

#[test]
fn first_click_policy_of_the_closers_terms_credits_the_earliest_touch() {
    let result = run(&conversion(), &[click(BETA, 2), click(ALPHA, 72)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: ALPHA, rule: Rule::FirstClick });
    assert_eq!(reasons(&result), [None, Some("OTHER_REF_PRIORITIZED")]);
}

#[test]
fn a_higher_credit_group_beats_a_later_lower_group_touch() {
    let result = run(&conversion(), &[click(ALPHA, 10), click(GAMMA, 1), click(DELTA, 0)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: ALPHA, rule: Rule::CreditGroup });
    let result = run(&conversion(), &[click(GAMMA, 10), click(DELTA, 1)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: GAMMA, rule: Rule::CreditGroup });
}

#[test]
fn a_journey_of_only_non_preferred_sources_is_unclaimed() {
    let result = run(&conversion(), &[click(DELTA, 10), click(EMAIL, 1)]);
    assert_eq!(result.outcome, Outcome::Refused(RefusalReason::Unclaimed));
    assert_eq!(reasons(&result), [Some("UNCLAIMED"), Some("UNCLAIMED")]);
}

#[test]
fn a_media_source_wins_like_a_partner_and_pays_nobody() {
    let result = run(&conversion(), &[click(ALPHA, 10), click(SEARCH, 1)]);
    assert_eq!(result.outcome, Outcome::CreditedToMediaSource { source: SEARCH, rule: Rule::LastClick });
    assert!(result.journey[1].credited);
}

#[test]
fn a_touch_after_the_conversion_is_outside_the_window() {
    let result = run(&conversion(), &[click(ALPHA, 10), click(GAMMA, -1)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: ALPHA, rule: Rule::LastClick });
    assert_eq!(reasons(&result), [None, Some("OUTSIDE_ASSOCIATION_WINDOW")]);
}

#[test]
fn clicks_older_than_their_window_are_outside_it() {
    let thirty_days = 30 * 24;
    let result = run(&conversion(), &[click(ALPHA, thirty_days + 1), click(BETA, 7 * 24 + 1)]);
    assert_eq!(result.outcome, Outcome::Refused(RefusalReason::OutsideAssociationWindow));
    let result = run(&conversion(), &[click(ALPHA, thirty_days)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: ALPHA, rule: Rule::LastClick });
}

#[test]
fn impressions_earn_credit_only_within_a_configured_impression_window() {
    let result = run(&conversion(), &[impression(ALPHA, 1)]);
    assert_eq!(result.outcome, Outcome::Refused(RefusalReason::OutsideAssociationWindow));
    let result = run(&conversion(), &[impression(BETA, 23)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: BETA, rule: Rule::FirstClick });
    let result = run(&conversion(), &[impression(BETA, 25)]);
    assert_eq!(result.outcome, Outcome::Refused(RefusalReason::OutsideAssociationWindow));
}

#[test]
fn partners_without_terms_in_force_at_the_conversion_are_contract_not_found() {
    for partner in [LAPSED, LEADS_ONLY, UNKNOWN] {
        let result = run(&conversion(), &[click(partner, 1)]);
        assert_eq!(result.outcome, Outcome::Refused(RefusalReason::ContractNotFound), "partner {partner}");
    }
    let lead = Conversion { event_type: EventTypeId(2), ..conversion() };
    assert_eq!(
        run(&lead, &[click(LEADS_ONLY, 1)]).outcome,
        Outcome::Credited { partner: LEADS_ONLY, rule: Rule::LastClick }
    );
}

#[test]
fn inactive_partners_and_uncreditable_touches_are_partner_not_active() {
    let uncreditable = Touch { creditable: false, ..click(ALPHA, 1) };
    let result = run(&conversion(), &[click(INACTIVE, 2), uncreditable]);
    assert_eq!(result.outcome, Outcome::Refused(RefusalReason::PartnerNotActive));
    assert_eq!(reasons(&result), [Some("PARTNER_NOT_ACTIVE"), Some("PARTNER_NOT_ACTIVE")]);
}

#[test]
fn an_always_promo_code_credits_its_owner_whatever_the_touches() {
    let coded = Conversion { promo_code: Some("alpha10"), ..conversion() };
    let result = run(&coded, &[click(GAMMA, 1)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: ALPHA, rule: Rule::PromoCodeAlways });
    assert_eq!(reasons(&result), [Some("OTHER_REF_PRIORITIZED")]);
    assert_eq!(run(&coded, &[]).outcome, Outcome::Credited { partner: ALPHA, rule: Rule::PromoCodeAlways });
}

#[test]
fn an_expired_promo_code_is_ignored() {
    let coded = Conversion { promo_code: Some("OLD"), ..conversion() };
    assert_eq!(run(&coded, &[click(GAMMA, 1)]).outcome, Outcome::Credited { partner: GAMMA, rule: Rule::LastClick });
}

#[test]
fn an_involved_regex_code_credits_its_owner_only_if_it_has_an_eligible_touch() {
    let coded = Conversion { promo_code: Some("GAMMA25"), ..conversion() };
    let result = run(&coded, &[click(GAMMA, 10), click(ALPHA, 1)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: GAMMA, rule: Rule::PromoCodeInvolved });
    assert!(result.journey[0].credited);
    assert_eq!(run(&coded, &[click(ALPHA, 1)]).outcome, Outcome::Credited { partner: ALPHA, rule: Rule::LastClick });
    let lower = Conversion { promo_code: Some("gamma25"), ..conversion() };
    let result = run(&lower, &[click(GAMMA, 10), click(ALPHA, 1)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: ALPHA, rule: Rule::LastClick }, "regex is case-sensitive");
    let partial = Conversion { promo_code: Some("XGAMMA25"), ..conversion() };
    assert_eq!(run(&partial, &[click(GAMMA, 1)]).outcome, Outcome::Credited { partner: GAMMA, rule: Rule::LastClick });
}

#[test]
fn a_winner_code_credits_its_owner_only_if_it_also_won_by_touches() {
    let coded = Conversion { promo_code: Some("BETA5"), ..conversion() };
    let result = run(&coded, &[click(GAMMA, 10), click(BETA, 1)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: BETA, rule: Rule::PromoCodeWinner });
    let result = run(&coded, &[click(ALPHA, 10), click(BETA, 1)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: ALPHA, rule: Rule::FirstClick });
}

#[test]
fn a_blocking_code_refuses_an_order_another_partner_would_win() {
    let coded = Conversion { promo_code: Some("beta-only"), ..conversion() };
    let result = run(&coded, &[click(GAMMA, 10), click(ALPHA, 1)]);
    assert_eq!(result.outcome, Outcome::Refused(RefusalReason::BlockedByPromoCode));
    assert_eq!(reasons(&result), [Some("BLOCKED_BY_PROMOCODE"), Some("BLOCKED_BY_PROMOCODE")]);
    assert!(result.journey.iter().all(|step| !step.credited));
    // Its owner still wins, media sources are not partners, and explicit keys are stronger.
    let result = run(&coded, &[click(GAMMA, 10), click(BETA, 1)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: BETA, rule: Rule::PromoCodeWinner });
    let searched = run(&coded, &[click(SEARCH, 1)]).outcome;
    assert_eq!(searched, Outcome::CreditedToMediaSource { source: SEARCH, rule: Rule::LastClick });
    let forced = Conversion { forced_partner: Some(GAMMA), ..coded };
    assert_eq!(
        run(&forced, &[click(ALPHA, 1)]).outcome,
        Outcome::Credited { partner: GAMMA, rule: Rule::ForcedPartner }
    );
}

#[test]
fn a_forced_partner_with_terms_in_force_wins_directly() {
    let forced = Conversion { forced_partner: Some(GAMMA), promo_code: Some("ALPHA10"), ..conversion() };
    let result = run(&forced, &[click(ALPHA, 1)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: GAMMA, rule: Rule::ForcedPartner });
    assert_eq!(reasons(&result), [Some("OTHER_REF_PRIORITIZED")]);
    let lapsed = Conversion { forced_partner: Some(LAPSED), ..conversion() };
    assert_eq!(run(&lapsed, &[click(ALPHA, 1)]).outcome, Outcome::Credited { partner: ALPHA, rule: Rule::LastClick });
}

#[test]
fn a_unique_url_key_credits_its_partner() {
    let keyed = Conversion { unique_url_partner: Some(DELTA), ..conversion() };
    let result = run(&keyed, &[click(ALPHA, 3), click(DELTA, 5)]);
    assert_eq!(result.outcome, Outcome::Credited { partner: DELTA, rule: Rule::UniqueUrl });
    assert_eq!(reasons(&result), [None, Some("OTHER_REF_PRIORITIZED")]);
}

#[test]
fn no_touch_and_no_key_is_refused_as_no_touch() {
    let result = run(&conversion(), &[]);
    assert_eq!(result.outcome, Outcome::Refused(RefusalReason::NoTouch));
    assert_eq!(RefusalReason::NoTouch.as_str(), "NO_TOUCH");
    assert!(result.journey.is_empty());
}

#[test]
fn the_journey_lists_every_touch_in_time_order_with_its_position() {
    let result = run(&conversion(), &[click(ALPHA, 1), click(GAMMA, 30), click(UNKNOWN, 5)]);
    let owners: Vec<_> = result.journey.iter().map(|step| step.touch.owner).collect();
    assert_eq!(owners, [GAMMA, UNKNOWN, ALPHA]);
    let positions: Vec<_> = result.journey.iter().map(|step| step.position.as_str()).collect();
    assert_eq!(positions, ["INTRODUCER", "INFLUENCER", "CLOSER"]);
    assert_eq!(reasons(&result), [Some("OTHER_REF_PRIORITIZED"), Some("CONTRACT_NOT_FOUND"), None]);
    assert_eq!(run(&conversion(), &[click(ALPHA, 1)]).journey[0].position, Position::Closer);
}

#[test]
fn touches_at_the_same_instant_are_ordered_by_owner_id() {
    let result = run(&conversion(), &[click(SEARCH, 1), click(ALPHA, 1)]);
    assert_eq!(result.outcome, Outcome::CreditedToMediaSource { source: SEARCH, rule: Rule::LastClick });
}

#[test]
fn a_refusal_gives_the_reason_of_the_latest_touch_before_the_conversion() {
    let result = run(&conversion(), &[click(INACTIVE, 5), click(UNKNOWN, 2), click(ALPHA, -1)]);
    assert_eq!(result.outcome, Outcome::Refused(RefusalReason::ContractNotFound));
}

mod properties;
