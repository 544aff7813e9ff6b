//! Pricing an order for a partner: the terms in force on the event date, and what the
//! partner already has in the periods its tiers, limits and bonuses count, read from
//! the store. Shared by new conversions and by modifications, so both pay alike.

use jiff::Timestamp;
use tally_core::ids::{EventTypeId, PartnerId};
use tally_core::payout::{self, Payout, PayoutOrder, PayoutTerms, PeriodTotals, Standing};
use tally_core::program::Program;

use crate::ports::{ActionRecord, PartnerPeriod, Store, StoreResult};

/// What `partner` earns for `order`, or `None` without terms in force. `itself` is the
/// action being re-priced by a modification: it is taken out of the period totals, so
/// an action never counts towards its own tier or limit.
pub(crate) async fn price(
    store: &dyn Store,
    program: &Program,
    (partner, event_type, event_at): (PartnerId, EventTypeId, Timestamp),
    order: &PayoutOrder<'_>,
    itself: Option<&ActionRecord>,
) -> StoreResult<Option<Payout>> {
    let Some(doc) = program.terms_for(partner, event_type, event_at) else { return Ok(None) };
    let terms = PayoutTerms::compile(doc);
    let mut standing = Standing::new();
    for &period in terms.periods() {
        let span = period.span(event_at, program.time_zone());
        let range = PartnerPeriod { program: program.id(), partner, event_type, start: span.start, end: span.end };
        let mut totals = store.partner_totals(&range).await?;
        if let Some(action) = itself.filter(|action| counts_in(action, span.start, span.end)) {
            totals = PeriodTotals {
                actions: totals.actions.saturating_sub(1),
                sale_amount: totals.sale_amount - action.sale_amount,
                payout: totals.payout - action.payout,
            };
        }
        standing = standing.with(period, totals);
    }
    Ok(Some(payout::compute(&terms, order, &standing)))
}

/// Whether the store's period totals include `action`.
fn counts_in(action: &ActionRecord, start: Timestamp, end: Timestamp) -> bool {
    !action.test && action.state != "REVERSED" && start <= action.event_at && action.event_at < end
}
