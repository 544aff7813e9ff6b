//! Payout terms compiled for evaluation: groups sorted by rank, rules compiled once
//! (see [`rules`](super::rules)), rates turned into fractions, and the periods that
//! tiers, limits and bonuses count in collected, so the app knows what to read.

use rust_decimal::Decimal;

use super::period::Period;
use super::rules::{ItemValues, OrderValues, RuleSet};
use super::standing::Progress;
use super::volume::{Bonus, Limit, Tier, tier_in_force};
use super::{LineKind, PayoutItem, PayoutLine, PayoutNote, PayoutOrder};
use crate::money::{Currency, Money};
use crate::program::{EventPayoutDoc, PayoutDoc, PayoutGroupDoc, PayoutLevel, RestrictionDoc};

/// An event type's payout terms, ready for [`compute`](super::compute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutTerms {
    level: PayoutLevel,
    /// Sorted by rank, lowest first.
    groups: Vec<Group>,
    default_payout: Option<Pay>,
    /// In document order: the first that holds is the one a line names.
    restrictions: Vec<Restriction>,
    pub(super) tiers: Vec<Tier>,
    pub(super) limits: Vec<Limit>,
    pub(super) bonuses: Vec<Bonus>,
    /// Distinct, shortest first.
    periods: Vec<Period>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    rank: u32,
    rules: RuleSet,
    pay: Pay,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Restriction {
    rules: RuleSet,
    reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pay {
    /// The percent divided by 100 once here, rather than on every line.
    Rate { fraction: Decimal },
    /// Per order at ORDER level, per unit at ITEM level.
    Fixed { amount: Decimal },
}

/// What pays a line that no group claims: the tier in force, else the default.
#[derive(Debug, Clone, Copy)]
struct Fallback {
    tier: Option<usize>,
    pay: Option<Pay>,
}

impl PayoutTerms {
    /// Compiles the terms. Groups are sorted stably by rank, so equal ranks (which
    /// validation refuses) would keep document order. A payout giving both a rate and an
    /// amount uses the rate, and one giving neither pays zero; validation refuses both.
    pub fn compile(doc: &EventPayoutDoc) -> Self {
        let mut groups: Vec<Group> = doc.payout_groups.iter().map(Group::compile).collect();
        groups.sort_by_key(|group| group.rank);
        let limits = doc.limits.iter().enumerate().filter_map(|(index, limit)| Limit::compile(index, limit));
        let mut terms = PayoutTerms {
            level: doc.payout_level,
            groups,
            default_payout: doc.default_payout.as_ref().map(Pay::compile),
            restrictions: doc.restrictions.iter().map(Restriction::compile).collect(),
            tiers: doc.tiers.iter().map(Tier::compile).collect(),
            limits: limits.collect(),
            bonuses: doc.bonuses.iter().map(Bonus::compile).collect(),
            periods: Vec::new(),
        };
        terms.periods = terms.collect_periods();
        terms
    }

    /// Whether payouts are per order or per item.
    pub fn level(&self) -> PayoutLevel {
        self.level
    }

    /// The distinct periods the tiers, limits and bonuses count in, shortest first;
    /// empty when there are none. The app gives [`compute`](super::compute) the
    /// partner's totals for each.
    pub fn periods(&self) -> &[Period] {
        &self.periods
    }

    /// Whether a bonus counts in `period`: only then does the app need to know which
    /// bonuses the partner's actions of the period already hold.
    pub fn has_bonus_in(&self, period: Period) -> bool {
        self.bonuses.iter().any(|bonus| bonus.period == period)
    }

    fn collect_periods(&self) -> Vec<Period> {
        let tiers = self.tiers.iter().map(|tier| tier.period);
        let limits = self.limits.iter().map(|limit| limit.period);
        let bonuses = self.bonuses.iter().map(|bonus| bonus.period);
        let used: Vec<Period> = tiers.chain(limits).chain(bonuses).collect();
        Period::ALL.into_iter().filter(|period| used.contains(period)).collect()
    }

    /// The commission lines `order` earns: one per item at ITEM level (for items that a
    /// restriction, group, tier or default covers), else at most one. Notes the
    /// restrictions that held and the tier that paid.
    pub(super) fn commission_lines(
        &self,
        order: &PayoutOrder<'_>,
        progress: &Progress<'_>,
        notes: &mut Vec<PayoutNote>,
    ) -> Vec<PayoutLine> {
        let tier = tier_in_force(&self.tiers, progress);
        let fallback = match tier {
            Some((index, tier)) => Fallback { tier: Some(index), pay: Some(tier.pay) },
            None => Fallback { tier: None, pay: self.default_payout },
        };
        let order_values = OrderValues::of(order);
        let lines = match self.level == PayoutLevel::Item && !order.items.is_empty() {
            true => self.item_lines(order, &order_values, fallback),
            false => self.order_line(order, &order_values, fallback).into_iter().collect(),
        };
        self.note_restrictions(&lines, notes);
        if let Some((index, tier)) = tier.filter(|&(index, _)| lines.iter().any(|line| line.tier == Some(index))) {
            notes.push(tier.note(index));
        }
        lines
    }

    fn order_line(&self, order: &PayoutOrder<'_>, values: &OrderValues<'_>, fallback: Fallback) -> Option<PayoutLine> {
        let currency = order.currency;
        let holds = |rules: &RuleSet| rules.hold_for_order(values, order.items);
        if let Some(index) = self.restrictions.iter().position(|restriction| holds(&restriction.rules)) {
            return Some(restricted_line(index, order.sale_amount, currency));
        }
        let group = self.groups.iter().find(|group| holds(&group.rules));
        line(group, fallback, order.sale_amount, 1, currency)
    }

    fn item_lines(&self, order: &PayoutOrder<'_>, values: &OrderValues<'_>, fallback: Fallback) -> Vec<PayoutLine> {
        let groups: Vec<&Group> = self.groups.iter().filter(|group| group.rules.order_rules_hold(values)).collect();
        let restrictions: Vec<(usize, &Restriction)> = self
            .restrictions
            .iter()
            .enumerate()
            .filter(|(_, restriction)| restriction.rules.order_rules_hold(values))
            .collect();
        let line_for = |(index, item): (usize, &PayoutItem<'_>)| {
            let item_values = ItemValues::of(item);
            let restricted =
                restrictions.iter().find(|(_, restriction)| restriction.rules.item_rules_hold(&item_values));
            let line = match restricted {
                Some(&(restriction, _)) => restricted_line(restriction, item.sale_amount, order.currency),
                None => {
                    let group = groups.iter().copied().find(|group| group.rules.item_rules_hold(&item_values));
                    line(group, fallback, item.sale_amount, item.quantity, order.currency)?
                }
            };
            Some(PayoutLine { item: Some(index), ..line })
        };
        order.items.iter().enumerate().filter_map(line_for).collect()
    }

    /// One note per restriction that held, in the order of the lines it covers.
    fn note_restrictions(&self, lines: &[PayoutLine], notes: &mut Vec<PayoutNote>) {
        for (position, line) in lines.iter().enumerate() {
            let Some(index) = line.restriction else { continue };
            let noted = lines[..position].iter().any(|earlier| earlier.restriction == Some(index));
            let Some(restriction) = self.restrictions.get(index).filter(|_| !noted) else { continue };
            let reason = restriction.reason.clone();
            notes.push(PayoutNote::Restricted { restriction: index, reason, whole_order: line.item.is_none() });
        }
    }
}

/// The line paid by `group`, or by the fallback when no group applies; `None` when
/// neither pays. `units` multiplies a fixed amount. Rounded here, once.
fn line(
    group: Option<&Group>,
    fallback: Fallback,
    basis: Decimal,
    units: u32,
    currency: Currency,
) -> Option<PayoutLine> {
    let (group_rank, tier, pay) = match group {
        Some(group) => (Some(group.rank), None, group.pay),
        None => (None, fallback.tier, fallback.pay?),
    };
    let amount = round(pay.unrounded(basis, units), currency);
    Some(PayoutLine { group_rank, tier, basis, amount, ..PayoutLine::default() })
}

/// A line a restriction holds for: written so the statement can say why it pays zero.
fn restricted_line(restriction: usize, basis: Decimal, currency: Currency) -> PayoutLine {
    let amount = round(Decimal::ZERO, currency);
    PayoutLine { kind: LineKind::Commission, restriction: Some(restriction), basis, amount, ..PayoutLine::default() }
}

fn round(amount: Decimal, currency: Currency) -> Decimal {
    Money { amount, currency }.round_to_minor_unit().amount
}

impl Group {
    fn compile(doc: &PayoutGroupDoc) -> Self {
        Group { rank: doc.rank, rules: RuleSet::compile(&doc.rules), pay: Pay::compile(&doc.payout) }
    }
}

impl Restriction {
    fn compile(doc: &RestrictionDoc) -> Self {
        Restriction { rules: RuleSet::compile(&doc.rules), reason: doc.reason.clone() }
    }
}

impl Pay {
    pub(super) fn compile(doc: &PayoutDoc) -> Self {
        match (doc.rate, doc.amount) {
            (Some(rate), _) => Pay::Rate { fraction: rate / Decimal::ONE_HUNDRED },
            (None, Some(amount)) => Pay::Fixed { amount },
            (None, None) => Pay::Fixed { amount: Decimal::ZERO },
        }
    }

    /// Saturating rather than panicking: no real order comes near Decimal's 7.9e28.
    fn unrounded(self, basis: Decimal, units: u32) -> Decimal {
        match self {
            Pay::Rate { fraction } => basis.saturating_mul(fraction),
            Pay::Fixed { amount } => amount.saturating_mul(Decimal::from(units)),
        }
    }
}
