//! The order's money (SPEC §4.1, *documented* rules): each item line's sale amount is
//! its amount less its own discount and its share of the order discount, the order
//! discount being spread over the lines in proportion to their amounts. Shipping and
//! tax are never part of the sale amount. Each line is rounded once, half-up to the
//! currency's minor unit; the order's sale amount is the sum of its rounded lines, so
//! the lines always add up to the order.

use rust_decimal::{Decimal, RoundingStrategy};

use super::ConversionRequest;
use crate::money::Currency;

/// One priced item line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricedLine {
    /// Quantity.
    pub quantity: u32,
    /// The line amount before any discount (unit price × quantity, or the sub-total).
    pub gross: Decimal,
    /// The line's own discount plus its share of the order discount, unrounded.
    pub discount: Decimal,
    /// What the line sold for: gross less discount, rounded once.
    pub sale_amount: Decimal,
}

/// The order's money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedOrder {
    /// The currency all amounts are in.
    pub currency: Currency,
    /// One line per item, in item order.
    pub lines: Vec<PricedLine>,
    /// The sale amount: the sum of the lines, or `Amount` for an order without items.
    pub sale_amount: Decimal,
    /// Shipping as sent (not part of the sale amount).
    pub shipping: Decimal,
    /// Tax as sent (not part of the sale amount).
    pub tax: Decimal,
}

/// Prices the request's order in `currency` (the request's own, or the program's when
/// it sent no money).
pub fn price(request: &ConversionRequest, currency: Currency) -> PricedOrder {
    let digits = currency.minor_unit_digits();
    // Rounded to the minor unit and written with its digits (40.00, not 40).
    let round = |amount: Decimal| {
        let mut rounded = amount.round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero);
        rounded.rescale(digits);
        rounded
    };
    let gross: Vec<Decimal> = request
        .items
        .iter()
        .map(|item| match (item.sub_total, item.unit_price) {
            (Some(sub_total), _) => sub_total,
            (None, Some(unit)) => unit * Decimal::from(item.quantity),
            (None, None) => Decimal::ZERO,
        })
        .collect();
    let after_own: Vec<Decimal> =
        request.items.iter().zip(&gross).map(|(item, gross)| gross - item.total_discount.unwrap_or_default()).collect();
    let base: Decimal = after_own.iter().sum();
    let order_discount = request.order_discount.unwrap_or_default();
    let lines: Vec<PricedLine> = request
        .items
        .iter()
        .zip(gross.iter().zip(&after_own))
        .map(|(item, (gross, after_own))| {
            let share = if base.is_zero() { Decimal::ZERO } else { order_discount * after_own / base };
            let discount = item.total_discount.unwrap_or_default() + share;
            PricedLine { quantity: item.quantity, gross: *gross, discount, sale_amount: round(gross - discount) }
        })
        .collect();
    let sale_amount = if lines.is_empty() {
        // Without items, `Amount` is the sale amount as sent; `OrderSubTotalPostDiscount`
        // is, by its name, after the discount already.
        round(request.amount.or(request.order_subtotal_post_discount).unwrap_or_default())
    } else {
        lines.iter().map(|line| line.sale_amount).sum()
    };
    PricedOrder {
        currency,
        lines,
        sale_amount,
        shipping: request.order_shipping.unwrap_or_default(),
        tax: request.order_tax.unwrap_or_default(),
    }
}
