//! Checks of template terms (SPEC §7) and of the terms scheduled within contracts,
//! collecting every problem with its path, as [`validate`](super::validate) does.

use std::collections::HashSet;

use jiff::Timestamp;
use rust_decimal::Decimal;

use super::document::*;
use super::model::{ScheduledSpan, Validity};
use super::validate::Problems;
use crate::ids::TermsId;
use crate::money::{Currency, MAX_AMOUNT, within_bounds};
use crate::payout::Period;

/// The highest rate a payout may give when it says `rate_over_100`.
const MAX_BONUSES: usize = 64;
const MAX_RATE_OVER_100: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

pub(super) fn check_template_terms(problems: &mut Problems, document: &ProgramDocument) {
    let event_types: HashSet<_> = document.event_types.iter().map(|event_type| event_type.id).collect();
    let currency = document.program.currency;
    let mut ids = HashSet::new();
    for (index, terms) in document.template_terms.iter().enumerate() {
        let path = format!("template_terms[{index}]");
        problems.check(
            ids.insert(terms.id),
            format!("{path}.id"),
            format!("template terms {} are listed twice", terms.id),
        );
        problems.name(format!("{path}.name"), &terms.name);
        let mut paid_event_types = HashSet::new();
        for (payout_index, payout) in terms.event_payouts.iter().enumerate() {
            let path = format!("{path}.event_payouts[{payout_index}]");
            problems.check(
                event_types.contains(&payout.event_type),
                format!("{path}.event_type"),
                format!("event type {} is not in event_types", payout.event_type),
            );
            problems.check(
                paid_event_types.insert(payout.event_type),
                format!("{path}.event_type"),
                format!("event type {} has terms twice", payout.event_type),
            );
            check_event_payout(problems, &path, payout, currency);
        }
    }
}

fn check_event_payout(problems: &mut Problems, path: &str, payout: &EventPayoutDoc, currency: Currency) {
    check_referral_windows(problems, path, &payout.referral_windows);
    if let Some(default_payout) = &payout.default_payout {
        check_payout(problems, &format!("{path}.default_payout"), default_payout);
    }
    check_payout_groups(problems, path, &payout.payout_groups);
    check_restrictions(problems, path, &payout.restrictions);
    check_tiers(problems, path, &payout.tiers, currency);
    check_limits(problems, path, &payout.limits, currency);
    check_bonuses(problems, path, &payout.bonuses, currency);
    for (name, schedule) in [("locking", payout.locking), ("payment", payout.payment)] {
        if let Some(schedule) = schedule {
            problems.check(
                schedule.months <= 24 && schedule.days <= 366,
                format!("{path}.{name}"),
                "at most 24 months and 366 days",
            );
        }
    }
}

fn check_referral_windows(problems: &mut Problems, path: &str, windows: &[ReferralWindowDoc]) {
    let mut window_touches = HashSet::new();
    for (window_index, window) in windows.iter().enumerate() {
        let window_path = format!("{path}.referral_windows[{window_index}]");
        problems.check(window.window > 0, format!("{window_path}.window"), "must be at least 1");
        let max = match window.unit {
            WindowUnit::Day => 365,
            WindowUnit::Hour => 365 * 24,
        };
        problems.check(window.window <= max, format!("{window_path}.window"), "must not exceed a year");
        problems.check(window_touches.insert(window.touch), window_path, "a touch kind has two windows");
    }
}

/// A rate is a percent from 0 to 100, or to 10000 with `rate_over_100`; an amount is
/// not negative. Amounts may be finer than the currency's minor unit: an ITEM-level
/// amount is paid per unit and rounded after multiplying.
fn check_payout(problems: &mut Problems, path: &str, payout: &PayoutDoc) {
    match (payout.rate, payout.amount) {
        (Some(rate), None) if payout.rate_over_100 => problems.check(
            rate >= Decimal::ZERO && rate <= MAX_RATE_OVER_100,
            format!("{path}.rate"),
            "with rate_over_100 a rate is a percentage between 0 and 10000",
        ),
        (Some(rate), None) => problems.check(
            rate >= Decimal::ZERO && rate <= Decimal::ONE_HUNDRED,
            format!("{path}.rate"),
            "a rate is a percentage between 0 and 100 (set rate_over_100 to allow more)",
        ),
        (None, Some(amount)) => {
            problems.check(amount >= Decimal::ZERO, format!("{path}.amount"), "must not be negative");
            problems.check(within_bounds(amount), format!("{path}.amount"), format!("must be at most {MAX_AMOUNT}"));
            problems.check(!payout.rate_over_100, format!("{path}.rate_over_100"), "applies only to a rate");
        }
        _ => problems.add(path, "give exactly one of \"rate\" or \"amount\""),
    }
}

fn check_payout_groups(problems: &mut Problems, path: &str, groups: &[PayoutGroupDoc]) {
    let mut ranks = HashSet::new();
    for (group_index, group) in groups.iter().enumerate() {
        let group_path = format!("{path}.payout_groups[{group_index}]");
        problems.check(
            ranks.insert(group.rank),
            format!("{group_path}.rank"),
            format!("rank {} is used twice", group.rank),
        );
        check_payout(problems, &format!("{group_path}.payout"), &group.payout);
        check_rules(problems, &group_path, &group.rules);
    }
}

fn check_rules(problems: &mut Problems, path: &str, rules: &[RuleDoc]) {
    for (rule_index, rule) in rules.iter().enumerate() {
        let has_value = rule.values.split(',').any(|value| !value.trim().is_empty());
        problems.check(has_value, format!("{path}.rules[{rule_index}].values"), "must name at least one value");
    }
}

fn check_restrictions(problems: &mut Problems, path: &str, restrictions: &[RestrictionDoc]) {
    for (index, restriction) in restrictions.iter().enumerate() {
        let path = format!("{path}.restrictions[{index}]");
        // Without rules a restriction would hold for every order: no terms at all.
        problems.check(!restriction.rules.is_empty(), format!("{path}.rules"), "a restriction needs at least one rule");
        check_rules(problems, &path, &restriction.rules);
        if let Some(reason) = &restriction.reason {
            problems.name(format!("{path}.reason"), reason);
        }
    }
}

fn check_tiers(problems: &mut Problems, path: &str, tiers: &[TierDoc], currency: Currency) {
    let mut ladders = HashSet::new();
    for (index, tier) in tiers.iter().enumerate() {
        let path = format!("{path}.tiers[{index}]");
        check_threshold(problems, &path, tier.metric, tier.threshold, currency);
        problems.check(
            ladders.insert((tier.metric, tier.period, tier.threshold.normalize())),
            format!("{path}.threshold"),
            "another tier of the same metric and period has this threshold",
        );
        check_payout(problems, &format!("{path}.payout"), &tier.payout);
    }
}

fn check_limits(problems: &mut Problems, path: &str, limits: &[LimitDoc], currency: Currency) {
    for (index, limit) in limits.iter().enumerate() {
        let path = format!("{path}.limits[{index}]");
        problems.check(
            matches!(limit.period, Period::Day | Period::Week | Period::Month),
            format!("{path}.period"),
            "a limit counts per DAY, WEEK or MONTH",
        );
        match (limit.max_actions, limit.max_payout) {
            (Some(_), None) => {}
            (None, Some(max_payout)) => {
                let max_path = format!("{path}.max_payout");
                problems.check(max_payout >= Decimal::ZERO, max_path.clone(), "must not be negative");
                check_money_places(problems, max_path, max_payout, currency);
            }
            _ => problems.add(path, "give exactly one of \"max_actions\" or \"max_payout\""),
        }
    }
}

fn check_bonuses(problems: &mut Problems, path: &str, bonuses: &[BonusDoc], currency: Currency) {
    // Each bonus paid in a period is one bit of `PeriodTotals::bonuses_paid`.
    problems.check(bonuses.len() <= MAX_BONUSES, format!("{path}.bonuses"), "at most 64 bonuses per event payout");
    for (index, bonus) in bonuses.iter().enumerate() {
        let path = format!("{path}.bonuses[{index}]");
        check_threshold(problems, &path, bonus.metric, bonus.threshold, currency);
        let amount_path = format!("{path}.amount");
        problems.check(bonus.amount >= Decimal::ZERO, amount_path.clone(), "must not be negative");
        check_money_places(problems, amount_path, bonus.amount, currency);
    }
}

/// Above zero; a whole number of actions, or revenue in the currency's minor unit.
fn check_threshold(problems: &mut Problems, path: &str, metric: Metric, threshold: Decimal, currency: Currency) {
    let path = format!("{path}.threshold");
    problems.check(threshold > Decimal::ZERO, path.clone(), "must be greater than 0");
    match metric {
        Metric::Actions => {
            problems.check(threshold.fract().is_zero(), path, "a number of actions must be a whole number")
        }
        Metric::Revenue => check_money_places(problems, path, threshold, currency),
    }
}

/// Trailing zeros do not count: `100.00` is fine in yen.
fn check_money_places(problems: &mut Problems, path: String, amount: Decimal, currency: Currency) {
    let digits = currency.minor_unit_digits();
    problems.check(within_bounds(amount), path.clone(), format!("must be at most {MAX_AMOUNT}"));
    problems.check(
        amount.normalize().scale() <= digits,
        path,
        format!("has more decimal places than {currency} has ({digits})"),
    );
}

/// Checks the terms scheduled within a contract and returns those that can be used:
/// each names known terms, ends after it starts, lies within the contract, and
/// overlaps no other.
pub(super) fn check_scheduled_terms(
    problems: &mut Problems,
    path: &str,
    contract: &ContractDoc,
    known_terms: &HashSet<TermsId>,
) -> Vec<ScheduledSpan> {
    let contract_span = Validity { start: contract.start, end: contract.end };
    let mut spans: Vec<(usize, ScheduledSpan)> = Vec::new();
    for (index, scheduled) in contract.scheduled_terms.iter().enumerate() {
        let path = format!("{path}.scheduled_terms[{index}]");
        problems.check(
            known_terms.contains(&scheduled.template_terms),
            format!("{path}.template_terms"),
            format!("template terms {} are not in template_terms", scheduled.template_terms),
        );
        if scheduled.end <= scheduled.start {
            problems.add(format!("{path}.end"), "must be after start");
            continue;
        }
        problems.check(lies_within(&contract_span, scheduled), path.clone(), "lies outside its contract");
        if let Some((other, _)) = spans.iter().find(|(_, other)| overlaps(&other.validity, scheduled)) {
            problems.add(path, format!("overlaps scheduled_terms[{other}]"));
        }
        let validity = Validity { start: scheduled.start, end: Some(scheduled.end) };
        spans.push((index, ScheduledSpan { validity, terms: scheduled.template_terms }));
    }
    spans.into_iter().map(|(_, span)| span).collect()
}

fn lies_within(contract: &Validity, scheduled: &ScheduledTermsDoc) -> bool {
    contract.start <= scheduled.start && contract.end.is_none_or(|end| scheduled.end <= end)
}

fn overlaps(validity: &Validity, scheduled: &ScheduledTermsDoc) -> bool {
    let ends_after_start = validity.end.is_none_or(|end: Timestamp| scheduled.start < end);
    ends_after_start && validity.start < scheduled.end
}
