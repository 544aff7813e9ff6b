//! Modifying an order after its action is made (SPEC §8): a new absolute amount, new
//! absolute item quantities or item sub-total deltas, or a reset to the original. The
//! result is the order's new lines; the payout is then recomputed from them under the
//! contract, as for a new order. Every line is rounded once, half-up, to the currency's
//! minor unit.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::money::{Currency, MAX_AMOUNT, within_bounds};

/// One item line as the action keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// SKU, for payout rules.
    pub sku: Option<String>,
    /// Category, for payout rules.
    pub category: Option<String>,
    /// Quantity (0 once returned).
    pub quantity: u32,
    /// What the line sold for.
    pub sale_amount: Decimal,
}

/// A change to one line; quantities are absolute, the delta is added after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChange {
    /// The line, counted from 0.
    pub line: usize,
    /// The new quantity (0 for a returned item).
    pub quantity: Option<u32>,
    /// An amount added to the line's sub-total (negative for a partial refund).
    pub sub_total_delta: Option<Decimal>,
}

/// What the brand asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modification {
    /// A new sale amount for the whole order; lines are scaled in proportion.
    Amount(Decimal),
    /// Changes to some lines.
    Lines(Vec<LineChange>),
    /// Back to the order as first reported.
    Reset,
}

/// The order before a modification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderState {
    /// Its lines (empty for an order reported with only an amount).
    pub lines: Vec<Line>,
    /// Its sale amount: the sum of the lines, or the amount reported.
    pub sale_amount: Decimal,
}

/// Why a modification cannot apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModificationError {
    /// The order has no such line.
    #[error("the order has no item {0} (it has {1})")]
    NoSuchLine(usize, usize),
    /// A line with quantity 0 has no unit price to multiply.
    #[error("item {0} has quantity 0, so a new quantity has no price; send ItemSubTotalDelta instead")]
    NoUnitPrice(usize),
    /// Amounts cannot go below zero.
    #[error("the change would make {0} negative")]
    Negative(String),
    /// An order of zero cannot be scaled to a new amount.
    #[error("the order's amount is zero, so its items cannot be scaled; change the items instead")]
    NothingToScale,
    /// The change would take an amount past what Tally keeps.
    #[error("the change would make {0} more than Tally keeps (at most {MAX_AMOUNT})")]
    TooLarge(String),
}

/// Applies `modification` to `current`, given the order as first reported.
pub fn apply(
    current: &OrderState,
    original: &OrderState,
    modification: &Modification,
    currency: Currency,
) -> Result<OrderState, ModificationError> {
    let after = changed(current, original, modification, currency)?;
    if !within_bounds(after.sale_amount) {
        return Err(ModificationError::TooLarge("the sale amount".into()));
    }
    Ok(after)
}

fn changed(
    current: &OrderState,
    original: &OrderState,
    modification: &Modification,
    currency: Currency,
) -> Result<OrderState, ModificationError> {
    // Rounded to the minor unit and written with its digits (15.00, not 15).
    let round = |amount: Decimal| {
        let mut rounded =
            amount.round_dp_with_strategy(currency.minor_unit_digits(), RoundingStrategy::MidpointAwayFromZero);
        rounded.rescale(currency.minor_unit_digits());
        rounded
    };
    let non_negative = |amount: Decimal, what: String| {
        if amount.is_sign_negative() && !amount.is_zero() { Err(ModificationError::Negative(what)) } else { Ok(amount) }
    };
    match modification {
        Modification::Reset => Ok(original.clone()),
        Modification::Amount(amount) => {
            let amount = non_negative(round(*amount), "the amount".into())?;
            if current.lines.is_empty() {
                return Ok(OrderState { lines: Vec::new(), sale_amount: amount });
            }
            if current.sale_amount.is_zero() {
                return Err(ModificationError::NothingToScale);
            }
            let lines: Vec<Line> = current
                .lines
                .iter()
                .map(|line| Line {
                    sale_amount: round(line.sale_amount * amount / current.sale_amount),
                    ..line.clone()
                })
                .collect();
            Ok(with_total(lines))
        }
        Modification::Lines(changes) => {
            let mut lines = current.lines.clone();
            for change in changes {
                let count = lines.len();
                let line = lines.get_mut(change.line).ok_or(ModificationError::NoSuchLine(change.line + 1, count))?;
                if let Some(quantity) = change.quantity {
                    if line.quantity == 0 && quantity > 0 {
                        return Err(ModificationError::NoUnitPrice(change.line + 1));
                    }
                    if line.quantity > 0 {
                        line.sale_amount =
                            round(line.sale_amount / Decimal::from(line.quantity) * Decimal::from(quantity));
                    }
                    line.quantity = quantity;
                }
                if let Some(delta) = change.sub_total_delta {
                    let what = format!("item {}", change.line + 1);
                    line.sale_amount = non_negative(round(line.sale_amount + delta), what)?;
                }
            }
            Ok(with_total(lines))
        }
    }
}

fn with_total(lines: Vec<Line>) -> OrderState {
    let sale_amount = lines.iter().map(|line| line.sale_amount).sum();
    OrderState { lines, sale_amount }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        "USD".parse().unwrap()
    }

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn line(sku: &str, quantity: u32, sale: &str) -> Line {
        Line { sku: Some(sku.into()), category: None, quantity, sale_amount: dec(sale) }
    }

    fn order() -> OrderState {
        OrderState { lines: vec![line("A", 2, "60.00"), line("B", 1, "40.00")], sale_amount: dec("100.00") }
    }

    #[test]
    fn a_returned_item_and_a_partial_refund() {
        let returned = Modification::Lines(vec![LineChange { line: 0, quantity: Some(1), sub_total_delta: None }]);
        let after = apply(&order(), &order(), &returned, usd()).unwrap();
        assert_eq!(after.lines[0], line("A", 1, "30.00"));
        assert_eq!(after.sale_amount, dec("70.00"));
        let refund =
            Modification::Lines(vec![LineChange { line: 1, quantity: None, sub_total_delta: Some(dec("-5.555")) }]);
        let after = apply(&after, &order(), &refund, usd()).unwrap();
        assert_eq!(after.lines[1].sale_amount, dec("34.45"), "40.00 - 5.555 = 34.445, rounded once, half-up");
        assert_eq!(after.sale_amount, dec("64.45"));
    }

    #[test]
    fn a_new_amount_scales_the_lines_and_reset_restores_the_original() {
        let after = apply(&order(), &order(), &Modification::Amount(dec("50")), usd()).unwrap();
        assert_eq!(after.lines.iter().map(|l| l.sale_amount).collect::<Vec<_>>(), [dec("30.00"), dec("20.00")]);
        assert_eq!(after.sale_amount, dec("50.00"));
        let zero = apply(&after, &order(), &Modification::Amount(Decimal::ZERO), usd()).unwrap();
        assert!(zero.sale_amount.is_zero());
        assert_eq!(apply(&zero, &order(), &Modification::Reset, usd()).unwrap(), order());
        assert_eq!(
            apply(&zero, &order(), &Modification::Amount(dec("10")), usd()),
            Err(ModificationError::NothingToScale)
        );
        let bare = OrderState { lines: vec![], sale_amount: dec("12.00") };
        assert_eq!(apply(&bare, &bare, &Modification::Amount(dec("9.999")), usd()).unwrap().sale_amount, dec("10.00"));
    }

    #[test]
    fn impossible_changes_are_refused() {
        let missing = Modification::Lines(vec![LineChange { line: 5, quantity: Some(1), sub_total_delta: None }]);
        assert_eq!(apply(&order(), &order(), &missing, usd()), Err(ModificationError::NoSuchLine(6, 2)));
        let below =
            Modification::Lines(vec![LineChange { line: 1, quantity: None, sub_total_delta: Some(dec("-41")) }]);
        assert!(matches!(apply(&order(), &order(), &below, usd()), Err(ModificationError::Negative(_))));
        let returned = Modification::Lines(vec![LineChange { line: 1, quantity: Some(0), sub_total_delta: None }]);
        let after = apply(&order(), &order(), &returned, usd()).unwrap();
        let back = Modification::Lines(vec![LineChange { line: 1, quantity: Some(1), sub_total_delta: None }]);
        assert_eq!(apply(&after, &order(), &back, usd()), Err(ModificationError::NoUnitPrice(2)));
        assert!(matches!(
            apply(&order(), &order(), &Modification::Amount(dec("-1")), usd()),
            Err(ModificationError::Negative(_))
        ));
    }
}
