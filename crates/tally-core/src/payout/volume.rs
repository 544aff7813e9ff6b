//! Terms that depend on what the partner already has in a calendar period: tiers,
//! limits and bonuses. Each is judged on the [`Progress`] the app's [`Standing`] and
//! this action make; the rules are stated in the module docs of [`payout`](super).

use rust_decimal::{Decimal, RoundingStrategy};

use super::note::PayoutNote;
use super::period::Period;
use super::standing::{Progress, Standing};
use super::terms::Pay;
use super::{LineKind, PayoutLine};
use crate::money::{Currency, Money};
use crate::program::{BonusDoc, LimitDoc, Metric, TierDoc};

/// A tier: its payout replaces the default from the action that reaches the threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tier {
    metric: Metric,
    threshold: Decimal,
    pub(super) period: Period,
    pub(super) pay: Pay,
}

/// A limit, with its index in the document (a limit giving neither cap is dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Limit {
    index: usize,
    pub(super) period: Period,
    cap: Cap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cap {
    Actions(u64),
    Payout(Decimal),
}

/// A bonus paid once per period on the action that crosses the threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Bonus {
    metric: Metric,
    threshold: Decimal,
    pub(super) period: Period,
    amount: Decimal,
}

/// The tier in force for this action, with its index. Tiers of one metric and period
/// form a ladder whose highest reached rung counts; when rungs of several ladders are
/// reached, the one listed last in the document applies. No allocation: tiers are few.
pub(super) fn tier_in_force<'a>(tiers: &'a [Tier], progress: &Progress<'_>) -> Option<(usize, &'a Tier)> {
    let reached = |tier: &&Tier| progress.after(tier.metric, tier.period) >= tier.threshold;
    let is_top_of_ladder = |tier: &Tier| {
        !tiers.iter().filter(reached).any(|other| other.same_ladder(tier) && other.threshold > tier.threshold)
    };
    let mut from_last = tiers.iter().enumerate().rev();
    from_last.find(|(_, tier)| reached(tier) && is_top_of_ladder(tier))
}

impl Tier {
    pub(super) fn compile(doc: &TierDoc) -> Self {
        Tier { metric: doc.metric, threshold: doc.threshold, period: doc.period, pay: Pay::compile(&doc.payout) }
    }

    fn same_ladder(&self, other: &Tier) -> bool {
        self.metric == other.metric && self.period == other.period
    }

    pub(super) fn note(&self, index: usize) -> PayoutNote {
        PayoutNote::Tier { tier: index, metric: self.metric, threshold: self.threshold, period: self.period }
    }
}

impl Limit {
    /// `None` for a limit with neither cap; one with both (refused by validation)
    /// counts actions.
    pub(super) fn compile(index: usize, doc: &LimitDoc) -> Option<Self> {
        let cap = match (doc.max_actions, doc.max_payout) {
            (Some(max_actions), _) => Cap::Actions(max_actions),
            (None, Some(max_payout)) => Cap::Payout(max_payout),
            (None, None) => return None,
        };
        Some(Limit { index, period: doc.period, cap })
    }
}

/// Applies the limits to the commission lines. An action limit already reached zeroes
/// every commission line; otherwise the tightest payout limit cuts commission lines
/// from the last one back. Bonus lines are never cut.
pub(super) fn apply_limits(
    limits: &[Limit],
    standing: &Standing,
    currency: Currency,
    lines: &mut [PayoutLine],
    notes: &mut Vec<PayoutNote>,
) {
    if let Some(limit) = limits.iter().find(|limit| limit.actions_reached(standing)) {
        zero_commission(lines, limit.index);
        notes.push(limit.note(Decimal::ZERO));
        return;
    }
    let Some((limit, room)) = tightest_payout_room(limits, standing, currency) else { return };
    let commission = commission_total(lines);
    if commission <= room {
        return;
    }
    let cut = commission - room;
    cut_commission_from_last(lines, cut, limit.index);
    notes.push(limit.note(cut));
}

impl Limit {
    fn actions_reached(&self, standing: &Standing) -> bool {
        matches!(self.cap, Cap::Actions(max) if standing.totals(self.period).actions >= max)
    }

    /// What the period may still pay, rounded down to the minor unit so that a cut
    /// line stays a whole number of minor units and the limit is never passed.
    fn payout_room(&self, standing: &Standing, currency: Currency) -> Option<Decimal> {
        let Cap::Payout(max) = self.cap else { return None };
        let room = max.saturating_sub(standing.totals(self.period).payout).max(Decimal::ZERO);
        let digits = currency.minor_unit_digits();
        Some(room.round_dp_with_strategy(digits, RoundingStrategy::ToZero))
    }

    fn note(&self, cut: Decimal) -> PayoutNote {
        match self.cap {
            Cap::Actions(max_actions) => {
                PayoutNote::LimitActions { limit: self.index, period: self.period, max_actions }
            }
            Cap::Payout(max_payout) => {
                PayoutNote::LimitPayout { limit: self.index, period: self.period, max_payout, cut }
            }
        }
    }
}

fn tightest_payout_room<'a>(
    limits: &'a [Limit],
    standing: &Standing,
    currency: Currency,
) -> Option<(&'a Limit, Decimal)> {
    let rooms = limits.iter().filter_map(|limit| Some((limit, limit.payout_room(standing, currency)?)));
    rooms.min_by_key(|(_, room)| *room)
}

fn commission_total(lines: &[PayoutLine]) -> Decimal {
    let commission = lines.iter().filter(|line| line.kind == LineKind::Commission);
    commission.fold(Decimal::ZERO, |sum, line| sum.saturating_add(line.amount))
}

fn zero_commission(lines: &mut [PayoutLine], limit: usize) {
    let paying = |line: &&mut PayoutLine| line.kind == LineKind::Commission && line.restriction.is_none();
    for line in lines.iter_mut().filter(paying) {
        line.amount = rounded_zero(line.amount);
        line.limit = Some(limit);
    }
}

/// Takes `cut` off positive commission lines, the last first, so earlier lines keep
/// their full amount. The positive lines always cover the cut: it is at most the
/// commission total, which is at most their sum.
fn cut_commission_from_last(lines: &mut [PayoutLine], mut cut: Decimal, limit: usize) {
    let positive = |line: &&mut PayoutLine| line.kind == LineKind::Commission && line.amount > Decimal::ZERO;
    for line in lines.iter_mut().rev().filter(positive) {
        if cut <= Decimal::ZERO {
            break;
        }
        let taken = cut.min(line.amount);
        line.amount -= taken;
        line.limit = Some(limit);
        cut -= taken;
    }
}

/// Zero written with the same number of decimal places as `like`: 0.00, not 0.
fn rounded_zero(like: Decimal) -> Decimal {
    Decimal::new(0, like.scale())
}

impl Bonus {
    pub(super) fn compile(doc: &BonusDoc) -> Self {
        Bonus { metric: doc.metric, threshold: doc.threshold, period: doc.period, amount: doc.amount }
    }

    /// Whether this action takes the metric from below the threshold to it or beyond,
    /// and no other action of the period holds bonus `index` already.
    fn earned(&self, index: usize, progress: &Progress<'_>) -> bool {
        let before = progress.before(self.metric, self.period);
        let crossed = before < self.threshold && self.threshold <= progress.after(self.metric, self.period);
        crossed && !progress.standing.totals(self.period).bonus_paid(index)
    }
}

/// Adds a line for each bonus this action earns, in document order.
pub(super) fn add_bonuses(
    bonuses: &[Bonus],
    progress: &Progress<'_>,
    currency: Currency,
    lines: &mut Vec<PayoutLine>,
    notes: &mut Vec<PayoutNote>,
) {
    for (index, bonus) in bonuses.iter().enumerate().filter(|(index, bonus)| bonus.earned(*index, progress)) {
        let amount = Money { amount: bonus.amount, currency }.round_to_minor_unit().amount;
        lines.push(PayoutLine { kind: LineKind::Bonus, bonus: Some(index), amount, ..PayoutLine::default() });
        let (metric, threshold, period) = (bonus.metric, bonus.threshold, bonus.period);
        notes.push(PayoutNote::Bonus { bonus: index, metric, threshold, period, amount });
    }
}
