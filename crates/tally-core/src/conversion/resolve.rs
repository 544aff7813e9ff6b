//! A request checked against its program: the event type found, the event date
//! fixed, the order priced, and the keys attribution needs looked up.

use jiff::{SignedDuration, Timestamp};

use super::order::{self, PricedOrder};
use super::{ConversionRequest, EventTypeRef, RefusalCode};
use crate::attribution::Conversion;
use crate::money::{MAX_AMOUNT, within_bounds};
use crate::program::{EventCategory, EventTypeDoc, Program};

/// How far ahead of Tally's clock an event date may be: clocks drift, orders do not
/// come from the future.
pub const MAX_CLOCK_SKEW: SignedDuration = SignedDuration::from_hours(1);

/// Why a request cannot become an action in this program, in words and as a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The documented code.
    pub code: RefusalCode,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Refusal {
    fn new(code: RefusalCode, message: impl Into<String>) -> Self {
        Refusal { code, message: message.into() }
    }
}

/// A request that fits its program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked<'p> {
    /// The event type.
    pub event_type: &'p EventTypeDoc,
    /// When the event happened.
    pub at: Timestamp,
    /// The order's money.
    pub order: PricedOrder,
}

/// Checks a request against `program` at `now`.
pub fn check<'p>(program: &'p Program, request: &ConversionRequest, now: Timestamp) -> Result<Checked<'p>, Refusal> {
    let event_type = match &request.event_type {
        Some(EventTypeRef::Id(id)) => program.event_type(*id),
        Some(EventTypeRef::Code(code)) => program.event_type_by_code(code),
        None => None,
    }
    .ok_or_else(|| Refusal::new(RefusalCode::ActionTrackerNotFound, "the event type is not in this program"))?;
    let at = request.event_date.map_or(now, |date| date.resolve(now));
    if at > now + MAX_CLOCK_SKEW {
        return Err(Refusal::new(RefusalCode::Malformed, format!("EventDate {at} is in the future")));
    }
    if event_type.category == EventCategory::Sale && request.items.is_empty() && request.amount.is_none() {
        let message = "a sale needs items (ItemSubTotal1 or ItemPrice1, …) or an Amount";
        return Err(Refusal::new(RefusalCode::NoItem, message));
    }
    let currency = request.currency.unwrap_or_else(|| program.currency());
    let order = order::price(request, currency);
    if !within_bounds(order.sale_amount) {
        let message = format!("the sale amount {} is more than Tally keeps (at most {MAX_AMOUNT})", order.sale_amount);
        return Err(Refusal::new(RefusalCode::Malformed, message));
    }
    Ok(Checked { event_type, at, order })
}

/// What attribution needs of the request.
pub fn attribution_input<'r>(
    program: &Program,
    request: &'r ConversionRequest,
    checked: &Checked<'_>,
) -> Conversion<'r> {
    let unique_url_partner = request
        .unique_url
        .as_deref()
        .and_then(|text| url::Url::parse(text).ok())
        .and_then(|url| program.unique_url_partner(&url));
    Conversion {
        at: checked.at,
        event_type: checked.event_type.id,
        promo_code: request.promo_code.as_deref(),
        forced_partner: request.media_partner,
        unique_url_partner,
    }
}
