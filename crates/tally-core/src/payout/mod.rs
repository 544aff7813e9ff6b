//! Payouts (SPEC §7): what one conversion earns under the terms in force.
//!
//! [`PayoutTerms::compile`] turns an event type's terms into a form that is cheap to
//! evaluate, once per program; [`compute`] is then a pure function of those terms and
//! the order. It allocates the lines it returns and, at ITEM level, the list of groups
//! whose order rules hold; evaluating a rule never allocates.
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

mod terms;
#[cfg(test)]
mod tests;
mod text;

use rust_decimal::Decimal;

use crate::money::{Currency, Money};

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

/// What an order earns: the lines, and their sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    /// The sum of the lines' rounded amounts.
    pub total: Money,
    /// One line per order (ORDER level) or per paid item (ITEM level).
    pub lines: Vec<PayoutLine>,
}

/// One paid line, with what decided it, so a statement can explain the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayoutLine {
    /// The item's index in [`PayoutOrder::items`] at ITEM level; `None` for the whole order.
    pub item: Option<usize>,
    /// The rank of the payout group that applied; `None` for the default payout.
    pub group_rank: Option<u32>,
    /// The sale amount of the line: what a rate applied to.
    pub basis: Decimal,
    /// The payout, rounded to the currency's minor unit.
    pub amount: Decimal,
}

/// Computes what `order` earns under `terms`. Pure: no I/O, no clock.
pub fn compute(terms: &PayoutTerms, order: &PayoutOrder<'_>) -> Payout {
    let lines = terms.lines(order);
    // Saturating rather than panicking: no real order comes near Decimal's 7.9e28.
    let zero = Decimal::new(0, order.currency.minor_unit_digits());
    let total = lines.iter().fold(zero, |sum, line| sum.saturating_add(line.amount));
    Payout { total: Money { amount: total, currency: order.currency }, lines }
}
