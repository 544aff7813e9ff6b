//! Why a payout differs from what its payout group or default alone would pay: one
//! note per adjustment, with a stable code for machines and a sentence for people.

use std::fmt;

use rust_decimal::Decimal;
use serde::Serialize;

use super::period::Period;
use crate::program::Metric;

/// One adjustment to a payout, as a statement explains it. Indexes are positions in the
/// event payout's lists in the document, from 0; sentences count from 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PayoutNote {
    /// A restriction held, so the commission lines it covers pay zero.
    Restricted {
        /// Its index in `restrictions`.
        restriction: usize,
        /// The reason the document gives.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Whether it covered the whole order rather than some items.
        whole_order: bool,
    },
    /// A tier's payout replaced the default payout.
    Tier {
        /// Its index in `tiers`.
        tier: usize,
        /// What it counts.
        metric: Metric,
        /// The threshold reached.
        threshold: Decimal,
        /// The period counted in.
        period: Period,
    },
    /// The partner already had the most actions the period allows, so no commission
    /// is paid.
    LimitActions {
        /// Its index in `limits`.
        limit: usize,
        /// The period counted in.
        period: Period,
        /// The actions allowed in the period.
        max_actions: u64,
    },
    /// Commission was cut so that the period's payout stays within the limit.
    LimitPayout {
        /// Its index in `limits`.
        limit: usize,
        /// The period counted in.
        period: Period,
        /// The payout allowed in the period.
        max_payout: Decimal,
        /// How much commission was cut.
        cut: Decimal,
    },
    /// This action crossed a bonus threshold, so the bonus is paid as its own line.
    Bonus {
        /// Its index in `bonuses`.
        bonus: usize,
        /// What it counts.
        metric: Metric,
        /// The threshold crossed.
        threshold: Decimal,
        /// The period counted in.
        period: Period,
        /// The bonus paid.
        amount: Decimal,
    },
}

impl PayoutNote {
    /// A stable code: `RESTRICTED`, `TIER`, `LIMIT_ACTIONS`, `LIMIT_PAYOUT` or `BONUS`.
    pub fn code(&self) -> &'static str {
        match self {
            PayoutNote::Restricted { .. } => "RESTRICTED",
            PayoutNote::Tier { .. } => "TIER",
            PayoutNote::LimitActions { .. } => "LIMIT_ACTIONS",
            PayoutNote::LimitPayout { .. } => "LIMIT_PAYOUT",
            PayoutNote::Bonus { .. } => "BONUS",
        }
    }
}

impl fmt::Display for PayoutNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayoutNote::Restricted { restriction, reason, whole_order } => {
                let label = RestrictionLabel { index: *restriction, reason: reason.as_deref() };
                match whole_order {
                    true => write!(f, "the order matches {label}, so it pays no commission"),
                    false => write!(f, "items matching {label} pay no commission"),
                }
            }
            PayoutNote::Tier { tier, metric, threshold, period } => {
                let reached = Threshold { metric: *metric, threshold: *threshold };
                write!(f, "tier {} reached with {reached} this {period}, so its payout replaces the default", tier + 1)
            }
            PayoutNote::LimitActions { period, max_actions, .. } => {
                write!(f, "limit of {max_actions} actions per {period} reached, so no commission is paid")
            }
            PayoutNote::LimitPayout { period, max_payout, cut, .. } => {
                write!(f, "limit of {max_payout} payout per {period} reached, so commission was cut by {cut}")
            }
            PayoutNote::Bonus { metric, threshold, period, amount, .. } => {
                let reached = Threshold { metric: *metric, threshold: *threshold };
                write!(f, "bonus of {amount} earned for reaching {reached} this {period}")
            }
        }
    }
}

/// "restriction 2 (coupon sites)".
struct RestrictionLabel<'a> {
    index: usize,
    reason: Option<&'a str>,
}

impl fmt::Display for RestrictionLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "restriction {}", self.index + 1)?;
        match self.reason {
            Some(reason) => write!(f, " ({reason})"),
            None => Ok(()),
        }
    }
}

/// "100 actions" or "5000.00 in sales".
struct Threshold {
    metric: Metric,
    threshold: Decimal,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.metric {
            Metric::Actions if self.threshold == Decimal::ONE => write!(f, "1 action"),
            Metric::Actions => write!(f, "{} actions", self.threshold.normalize()),
            Metric::Revenue => write!(f, "{} in sales", self.threshold),
        }
    }
}
