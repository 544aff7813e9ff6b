//! What the partner already has in each calendar period before this action: the input
//! tiers, limits and bonuses are judged on. The app reads it from the store, for the
//! periods [`PayoutTerms::periods`](super::PayoutTerms::periods) names, in the spans
//! [`Period::span`] gives for the action's event date.

use rust_decimal::Decimal;

use super::period::Period;
use crate::program::Metric;

/// The partner's totals in one period, not counting the action being paid.
///
/// They cover the partner's actions of this event type whose event date falls in the
/// period, leaving out reversed and test actions and the action being paid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeriodTotals {
    /// How many actions.
    pub actions: u64,
    /// The sum of their sale amounts.
    pub sale_amount: Decimal,
    /// The sum of their payouts, bonus lines included.
    pub payout: Decimal,
    /// The bonuses already on one of these actions, bit `i` for the event payout's
    /// bonus `i`: a bonus is paid once per period, even when reversals take the partner
    /// back under its threshold and a later action crosses it again.
    pub bonuses_paid: u64,
}

impl PeriodTotals {
    /// Whether bonus `index` is already on one of these actions.
    pub fn bonus_paid(&self, index: usize) -> bool {
        index < 64 && self.bonuses_paid & (1 << index) != 0
    }
}

/// The partner's totals per period; a period never given counts as zero.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    /// Indexed by the period's position in [`Period::ALL`].
    totals: [PeriodTotals; Period::ALL.len()],
}

impl Standing {
    /// No actions in any period: a partner's first action.
    pub fn new() -> Self {
        Standing::default()
    }

    /// Sets the totals of one period.
    pub fn with(mut self, period: Period, totals: PeriodTotals) -> Self {
        self.totals[period as usize] = totals;
        self
    }

    /// The totals of one period.
    pub fn totals(&self, period: Period) -> PeriodTotals {
        self.totals[period as usize]
    }
}

/// The partner's standing together with what this action adds to it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Progress<'a> {
    pub(super) standing: &'a Standing,
    /// This action's sale amount: what it adds to the REVENUE metric.
    pub(super) sale_amount: Decimal,
}

impl Progress<'_> {
    /// The metric in the period before this action.
    pub(super) fn before(&self, metric: Metric, period: Period) -> Decimal {
        let totals = self.standing.totals(period);
        match metric {
            Metric::Actions => Decimal::from(totals.actions),
            Metric::Revenue => totals.sale_amount,
        }
    }

    /// The metric in the period counting this action: one more action, its sale amount
    /// more revenue. Saturating: no real total comes near Decimal's 7.9e28.
    pub(super) fn after(&self, metric: Metric, period: Period) -> Decimal {
        let added = match metric {
            Metric::Actions => Decimal::ONE,
            Metric::Revenue => self.sale_amount,
        };
        self.before(metric, period).saturating_add(added)
    }
}
