//! Pricing an order for a partner: the terms in force on the event date, and what the
//! partner already has in the periods its tiers, limits and bonuses count, read from
//! the store. Shared by new conversions and by modifications, so both pay alike.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use jiff::Timestamp;
use tally_core::ids::{EventTypeId, PartnerId, ProgramId};
use tally_core::payout::{self, Payout, PayoutOrder, PayoutTerms, Standing};
use tally_core::program::Program;

use crate::ports::{ActionRecord, PartnerPeriod, PartnerTurn, Store, StoreResult};

/// The partner's turn, held by a new order priced on its standing (see [`take_turn`]):
/// keep it until the action is stored. Empty when the terms count no period.
pub(crate) struct PricingTurn {
    _held: Option<(tokio::sync::OwnedMutexGuard<()>, PartnerTurn)>,
}

/// What `partner` earns for `order`, or `None` without terms in force. `itself` is the
/// action being re-priced by a modification: only actions made before it count, so it
/// keeps the place in its period it had when it was made.
pub(crate) async fn price(
    store: &dyn Store,
    program: &Program,
    (partner, event_type, event_at): (PartnerId, EventTypeId, Timestamp),
    order: &PayoutOrder<'_>,
    itself: Option<&ActionRecord>,
) -> StoreResult<Option<(Payout, PricingTurn)>> {
    let Some(doc) = program.terms_for(partner, event_type, event_at) else { return Ok(None) };
    let terms = PayoutTerms::compile(doc);
    // A new order under terms that count periods takes its partner's turn before it reads
    // the standing: this process's turn first, so that at most one of its orders per
    // partner waits on the store's (another node's). A modification needs none: it is
    // priced among the actions made before it, which later orders do not change.
    let turn = if itself.is_none() && !terms.periods().is_empty() {
        let local = take_turn(program.id(), partner).await;
        Some((local, store.partner_turn(program.id(), partner).await?))
    } else {
        None
    };
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
    Ok(Some((payout::compute(&terms, order, &standing), PricingTurn { _held: turn })))
}

/// One partner's turn to be priced.
type Turn = tokio::sync::Mutex<()>;

/// Turns to price and store a partner's orders, one at a time. Two orders priced
/// together would both read the standing before either is stored, and both could take
/// the last place under a limit or both cross a bonus's threshold. The turn is held
/// from pricing until the action is stored. Per process; across the nodes sharing a
/// store, [`Store::partner_turn`](crate::ports::Store::partner_turn) is taken as well.
async fn take_turn(program: ProgramId, partner: PartnerId) -> tokio::sync::OwnedMutexGuard<()> {
    type Turns = HashMap<(ProgramId, PartnerId), Weak<Turn>>;
    static TURNS: LazyLock<Mutex<Turns>> = LazyLock::new(Mutex::default);
    let turn = {
        let mut turns = TURNS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Only partners with an order in flight keep an entry.
        turns.retain(|_, turn| turn.strong_count() > 0);
        let existing = turns.get(&(program, partner)).and_then(Weak::upgrade);
        existing.unwrap_or_else(|| {
            let turn = Arc::new(Turn::new(()));
            turns.insert((program, partner), Arc::downgrade(&turn));
            turn
        })
    };
    turn.lock_owned().await
}
