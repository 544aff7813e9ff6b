//! Pricing an order for a partner: the terms in force on the event date, and what the
//! partner already has in the periods its tiers, limits and bonuses count, read from
//! the store. Shared by new conversions and by modifications, so both pay alike.

use jiff::Timestamp;
use tally_core::ids::{EventTypeId, PartnerId};
use tally_core::payout::{self, Payout, PayoutOrder, PayoutTerms, Standing};
use tally_core::program::Program;

use crate::ports::{ActionRecord, PartnerPeriod, Store, StoreResult};

/// What `partner` earns for `order`, or `None` without terms in force. `itself` is the
/// action being re-priced by a modification: only actions made before it count, so it
/// keeps the place in its period it had when it was made.
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
        let range = PartnerPeriod {
            program: program.id(),
            partner,
            event_type,
            start: span.start,
            end: span.end,
            created_before: itself.map(|action| action.created_at),
            with_bonuses: terms.has_bonus_in(period),
        };
        standing = standing.with(period, store.partner_totals(&range).await?);
    }
    Ok(Some(payout::compute(&terms, order, &standing)))
}
