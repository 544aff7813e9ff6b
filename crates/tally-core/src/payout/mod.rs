//! Payouts (SPEC §7): what one conversion earns under the terms in force.
//!
//! [`PayoutTerms::compile`] turns an event type's terms into a form that is cheap to
//! evaluate, once per program; [`compute`] is then a pure function of those terms, the
//! order, and the partner's [`Standing`]: what it already has in each calendar period
//! the terms count in ([`PayoutTerms::periods`]). It allocates the lines and notes it
//! returns and, at ITEM level, the lists of groups and restrictions whose order rules
//! hold; evaluating a rule never allocates.
//!
//! The rules, following the documented behaviour of the commercial platform:
//! - Payout groups are tried by rank, lowest first; the first whose rules all hold
//!   applies and no other does. When none holds the default payout applies; when there
//!   is no default either, nothing is paid and no line is written.
//! - At ORDER level there is one line for the order. A rate applies to the order's sale
//!   amount; a fixed amount is paid once. An item rule (`ITEM_SKU`, `ITEM_CATEGORY`)
//!   holds when *any* item satisfies it, so `ITEM_SKU IS_NOT A` holds for an order of
//!   items A and B; each item rule is judged on its own, so one item may satisfy one
//!   rule and another item the next.
//! - At ITEM level the groups are evaluated for each item on its own, giving at most one
//!   line per item. A rate applies to the item's sale amount; a fixed amount is paid per
//!   unit (amount × quantity). An order sent without items is paid as one line over its
//!   sale amount, with no item index, so a conversion that carries only an amount is
//!   still paid.
//! - Values compare case-insensitively (Unicode lower case), with both sides trimmed;
//!   a comma in a rule's values means "or", and empty values are ignored.
//! - A rule on an absent value (no promo code, or an order without items): `IS` and
//!   `CONTAINS` fail, `IS_NOT` holds. A value that is empty after trimming is absent.
//! - A rate is a percent: basis × rate / 100. Each line is rounded once, half away from
//!   zero, to the currency's minor unit; the total is the sum of the rounded lines, so
//!   it always agrees with them. A negative sale amount (a return) gives a negative
//!   rate payout, with no special case.
//!
//! Restrictions, tiers, limits and bonuses, applied in that order:
//! - **Restrictions** hold when all their rules hold, judged like a group's rules. At
//!   ORDER level (and for an order without items) the first restriction that holds
//!   makes the order's line pay zero; at ITEM level each item matching one pays zero.
//!   The zero line is still written, naming the restriction, with a `RESTRICTED` note.
//!   A restriction zeroes commission only: the action still counts toward the period
//!   and a bonus it crosses is paid, since skipping it would lose that period's bonus
//!   for good (the next action no longer crosses).
//! - **Tiers** replace the *default* payout, never a payout group's: a group that holds
//!   still wins, since groups are the brand's deliberate exceptions. A tier is reached
//!   when the partner, counting this action, reaches its threshold in the calendar
//!   period of the event date: ACTIONS when prior actions + 1 >= threshold, REVENUE
//!   when prior sale amount + this sale amount >= threshold. Tiers of one metric and
//!   period form a ladder whose highest reached threshold applies; if tiers of several
//!   ladders are reached, the one listed last applies. A tier is not retroactive:
//!   actions before the one that reaches it keep what they were paid. Without a default
//!   payout, a reached tier still pays where the default would have.
//! - **Limits** cap commission per DAY, WEEK or MONTH. With `max_actions`, an action
//!   when the partner already has that many in the period pays no commission. With
//!   `max_payout`, commission is cut so that the period's payout (prior payout, which
//!   counts bonuses, plus this commission) stays within the max; once reached, it is
//!   zero. The cut comes off commission lines from the last back, so earlier items keep
//!   their full amount; each line touched names the limit, and the note says how much
//!   was cut. Several payout limits: the one with the least room left applies. The
//!   action is still kept by the app, with its payout zero or cut.
//! - **Bonuses** pay a fixed amount, as a line of their own (`LineKind::Bonus`), on the
//!   action that crosses the threshold: prior < threshold <= prior + this action's
//!   contribution (1 action, or its sale amount). So it is paid once per period, on one
//!   action, as long as the period's totals only grow; if reversals take the partner
//!   back below the threshold, crossing it again pays again. Limits never cut a bonus:
//!   a bonus rewards volume that a limit, which caps commission, does not undo.
//! - Periods are calendar periods in the program's time zone ([`Period::span`]): a day,
//!   an ISO week from Monday, a month, a quarter, a year.
//! - Every adjustment leaves a [`PayoutNote`] with a stable code and a sentence.

mod note;
mod period;
mod rules;
mod standing;
mod terms;
#[cfg(test)]
mod tests;
mod text;
mod volume;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::money::{Currency, Money};

pub use note::PayoutNote;
pub use period::{Period, PeriodSpan};
pub use standing::{PeriodTotals, Standing};
pub use terms::PayoutTerms;

/// The order being paid for, as payout rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayoutOrder<'a> {
    /// The order's currency; lines are rounded to its minor unit.
    pub currency: Currency,
    /// `New` or `Existing`, as the order said.
    pub customer_status: Option<&'a str>,
    /// The customer's country.
    pub customer_country: Option<&'a str>,
    /// The promo code used.
    pub promo_code: Option<&'a str>,
    /// The shared id.
    pub shared_id: Option<&'a str>,
    /// The item lines; may be empty.
    pub items: &'a [PayoutItem<'a>],
    /// Sale amount of the whole order (sum of item sale amounts, or the order Amount when there are no items).
    pub sale_amount: Decimal,
}

/// One item line of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayoutItem<'a> {
    /// The item's SKU.
    pub sku: Option<&'a str>,
    /// The item's category.
    pub category: Option<&'a str>,
    /// Units bought; a fixed item-level payout is paid per unit.
    pub quantity: u32,
    /// Line sale amount after discount, already rounded.
    pub sale_amount: Decimal,
}

/// What an order earns: the lines, their sum, and why it differs from the plain rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    /// The sum of the lines' rounded amounts.
    pub total: Money,
    /// Commission lines, one per order (ORDER level) or per paid item (ITEM level),
    /// then one line per bonus earned.
    pub lines: Vec<PayoutLine>,
    /// Every adjustment made: restrictions, tier, limits, bonuses, in that order.
    pub notes: Vec<PayoutNote>,
}

/// What a line pays for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LineKind {
    /// Commission on the order or an item.
    #[default]
    Commission,
    /// A performance bonus.
    Bonus,
}

/// One line, with what decided it, so a statement can explain the amount. Indexes into
/// the terms are positions in the event payout's lists in the document, from 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PayoutLine {
    /// Commission or bonus.
    pub kind: LineKind,
    /// The item's index in [`PayoutOrder::items`] at ITEM level; `None` for the whole order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    /// The rank of the payout group that applied; `None` for a tier, the default, a
    /// restricted line or a bonus.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_rank: Option<u32>,
    /// The tier whose payout replaced the default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<usize>,
    /// The restriction that made the line pay zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restriction: Option<usize>,
    /// The limit that zeroed or cut the line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// The bonus a bonus line pays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bonus: Option<usize>,
    /// The sale amount of the line: what a rate applied to; zero for a bonus.
    pub basis: Decimal,
    /// The payout, rounded to the currency's minor unit.
    pub amount: Decimal,
}

/// Computes what `order` earns under `terms`, given the partner's `standing` in the
/// periods the terms count in. Pure: no I/O, no clock.
pub fn compute(terms: &PayoutTerms, order: &PayoutOrder<'_>, standing: &Standing) -> Payout {
    let progress = standing::Progress { standing, sale_amount: order.sale_amount };
    let mut notes = Vec::new();
    let mut lines = terms.commission_lines(order, &progress, &mut notes);
    volume::apply_limits(&terms.limits, standing, order.currency, &mut lines, &mut notes);
    volume::add_bonuses(&terms.bonuses, &progress, order.currency, &mut lines, &mut notes);
    // Saturating rather than panicking: no real order comes near Decimal's 7.9e28.
    let zero = Decimal::new(0, order.currency.minor_unit_digits());
    let total = lines.iter().fold(zero, |sum, line| sum.saturating_add(line.amount));
    Payout { total: Money { amount: total, currency: order.currency }, lines, notes }
}
