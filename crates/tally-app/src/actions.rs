//! Changing an action after it is made (SPEC §8): reversing it, or approving it early.
//! Only a pending action that has not reached its locking instant changes; every
//! change is recorded as an action update with its deltas, reason, actor and time.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::{Value, json};
use tally_core::click::OwnerKind;
use tally_core::ids::{EventTypeId, ProgramId, base62_128};
use tally_core::modification::{self, Line, Modification, ModificationError, OrderState};
use tally_core::money;
use tally_core::payout::{self, PayoutItem, PayoutOrder};

use crate::catalog::CatalogHandle;
use crate::conversions::payout_notes;
use crate::ports::{ActionChange, ActionRecord, ActionUpdateRecord, Clock, Store, StoreError};
use crate::pricing;
use crate::secrets::random_u128;

/// The most changes a brand may make to one action *(documented)*.
pub const MAX_MODIFICATIONS: usize = 1_000;

/// Reasons a brand gives for reversing an action *(documented names, and `OTHER`)*.
pub const REVERSAL_REASONS: &[&str] =
    &["ORDER_UPDATE", "ITEM_RETURNED", "CONS_FRAUD", "ORDER_ERROR", "TEST_ACTION", "OTHER"];

/// How a request names an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionRef {
    /// By its id.
    Id(String),
    /// By its order: unique per program and event type.
    Order {
        /// The program.
        program: ProgramId,
        /// The event type.
        event_type: EventTypeId,
        /// The brand's order id.
        order_id: String,
    },
}

/// Why an action did not change.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No such action in the caller's account.
    #[error("no such action")]
    NotFound,
    /// The action is approved, or its locking instant has passed: it cannot change.
    #[error("the action is locked")]
    Locked,
    /// The action is not pending (it was reversed).
    #[error("the action is {0}, not PENDING")]
    NotPending(String),
    /// The reason is not one Tally knows.
    #[error("unknown reason {0:?}; use one of {list}", list = REVERSAL_REASONS.join(", "))]
    UnknownReason(String),
    /// The modification does not fit the order.
    #[error(transparent)]
    Invalid(#[from] ModificationError),
    /// The action was already modified as often as allowed.
    #[error("the action was already changed {MAX_MODIFICATIONS} times, the most allowed")]
    TooManyModifications,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The use case.
#[derive(Clone)]
pub struct Actions {
    store: Arc<dyn Store>,
    catalog: Arc<CatalogHandle>,
    clock: Arc<dyn Clock>,
}

impl Actions {
    /// Builds the use case.
    pub fn new(store: Arc<dyn Store>, catalog: Arc<CatalogHandle>, clock: Arc<dyn Clock>) -> Self {
        Actions { store, catalog, clock }
    }

    /// Finds an action of the account.
    pub async fn find(&self, account_sid: &str, reference: &ActionRef) -> Result<ActionRecord, ActionError> {
        let action = match reference {
            ActionRef::Id(id) => self.store.action(id).await?,
            ActionRef::Order { program, event_type, order_id } => {
                self.store.action_by_order(*program, *event_type, order_id).await?
            }
        };
        let action = action.ok_or(ActionError::NotFound)?;
        let catalog = self.catalog.get();
        let owned = catalog.program(action.program).is_some_and(|entry| entry.account_sid == account_sid);
        if owned { Ok(action) } else { Err(ActionError::NotFound) }
    }

    /// Reverses a pending action: its amounts go to zero, the update records the
    /// negative deltas and the reason.
    pub async fn reverse(
        &self,
        account_sid: &str,
        reference: &ActionRef,
        reason: &str,
        actor: &str,
    ) -> Result<ActionRecord, ActionError> {
        if !REVERSAL_REASONS.contains(&reason) {
            return Err(ActionError::UnknownReason(reason.to_owned()));
        }
        // Zero written to the currency's minor unit, as every stored amount is.
        let zero = |action: &ActionRecord| Decimal::new(0, action.currency.minor_unit_digits());
        self.change(account_sid, reference, "REVERSED", reason, actor, |action| (zero(action), zero(action))).await
    }

    /// Approves a pending action before its locking date (early approval).
    pub async fn approve(
        &self,
        account_sid: &str,
        reference: &ActionRef,
        actor: &str,
    ) -> Result<ActionRecord, ActionError> {
        self.change(account_sid, reference, "APPROVED", "EARLY_APPROVAL", actor, |action| {
            (action.sale_amount, action.payout)
        })
        .await
    }

    async fn change(
        &self,
        account_sid: &str,
        reference: &ActionRef,
        new_state: &str,
        reason: &str,
        actor: &str,
        amounts: impl Fn(&ActionRecord) -> (Decimal, Decimal),
    ) -> Result<ActionRecord, ActionError> {
        let action = self.find(account_sid, reference).await?;
        let now = self.clock.now();
        check_changeable(&action, now)?;
        let (sale_amount, payout) = amounts(&action);
        let after = Target { state: new_state, sale_amount, payout, detail: None };
        self.commit(account_sid, action, now, after, reason, actor).await
    }

    /// Applies `after` to `action`, checked in `now`'s light, with its action update;
    /// when something changed the action meanwhile, says what it is now.
    async fn commit(
        &self,
        account_sid: &str,
        action: ActionRecord,
        now: jiff::Timestamp,
        after: Target<'_>,
        reason: &str,
        actor: &str,
    ) -> Result<ActionRecord, ActionError> {
        let update = ActionUpdateRecord {
            update_id: base62_128(random_u128()),
            action_id: action.action_id.clone(),
            program: action.program,
            at: now,
            actor: actor.to_owned(),
            from_state: action.state.clone(),
            to_state: after.state.to_owned(),
            delta_amount: after.sale_amount - action.sale_amount,
            delta_payout: after.payout - action.payout,
            reason: reason.to_owned(),
        };
        let change = ActionChange {
            expected_state: action.state.clone(),
            new_state: after.state.to_owned(),
            sale_amount: after.sale_amount,
            payout: after.payout,
            unlocked_at: now,
            detail: after.detail.clone(),
            update,
        };
        if self.store.change_action(&change).await? {
            let (sale_amount, payout) = (after.sale_amount, after.payout);
            let detail = after.detail.unwrap_or_else(|| action.detail.clone());
            return Ok(ActionRecord { state: after.state.to_owned(), sale_amount, payout, detail, ..action });
        }
        let now_stored = self.find(account_sid, &ActionRef::Id(action.action_id)).await?;
        check_changeable(&now_stored, now)?;
        Err(ActionError::NotPending(now_stored.state))
    }
}

/// A change as the compatible API receives it, for its submission record.
#[derive(Debug, Clone)]
pub struct ChangeSubmission {
    /// The account that sent it.
    pub account_sid: String,
    /// The raw body or query.
    pub payload: String,
    /// Its media type.
    pub content_type: String,
}

/// What became of a change submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeOutcome {
    /// The submission's id (its `QueuedUri` ends with it).
    pub submission_id: String,
    /// The refusal code and reason, when refused.
    pub refusal: Option<(String, String)>,
}

impl Actions {
    /// Reverses through the compatible API: the submission is kept (type `Reversal`)
    /// with its outcome, as a conversion's is.
    pub async fn submit_reversal(
        &self,
        submission: ChangeSubmission,
        reference: &ActionRef,
        reason: &str,
    ) -> Result<ChangeOutcome, StoreError> {
        let result = self.reverse(&submission.account_sid, reference, reason, &submission.account_sid).await;
        self.record(submission, "Reversal", reference, result).await
    }

    /// Modifies through the compatible API, keeping the submission (type `Modification`).
    pub async fn submit_modification(
        &self,
        submission: ChangeSubmission,
        reference: &ActionRef,
        modification: &Modification,
        reason: &str,
    ) -> Result<ChangeOutcome, StoreError> {
        let actor = submission.account_sid.clone();
        let result = self.modify(&submission.account_sid, reference, modification, reason, &actor).await;
        self.record(submission, "Modification", reference, result).await
    }

    async fn record(
        &self,
        submission: ChangeSubmission,
        kind: &str,
        reference: &ActionRef,
        result: Result<ActionRecord, ActionError>,
    ) -> Result<ChangeOutcome, StoreError> {
        let (action_id, refusal) = match result {
            Ok(action) => (Some(action.action_id), None),
            Err(ActionError::Store(error)) => return Err(error),
            Err(ActionError::NotFound) => {
                (None, Some(("ACTION_REF_NOT_FOUND", "no such action in this account".into())))
            }
            Err(error @ ActionError::Locked) => (None, Some(("ACTION_LOCKED", error.to_string()))),
            Err(error @ ActionError::NotPending(_)) => (None, Some(("ACTION_NOT_PENDING", error.to_string()))),
            Err(error @ ActionError::TooManyModifications) => {
                (None, Some(("TOO_MANY_MODIFICATIONS", error.to_string())))
            }
            Err(error @ (ActionError::UnknownReason(_) | ActionError::Invalid(_))) => {
                (None, Some(("MALFORMED", error.to_string())))
            }
        };
        let (program, event_type, order_id) = match reference {
            ActionRef::Order { program, event_type, order_id } => {
                (Some(*program), Some(*event_type), Some(order_id.clone()))
            }
            ActionRef::Id(_) => (None, None, None),
        };
        let record = crate::ports::SubmissionRecord {
            submission_id: base62_128(random_u128()),
            account_sid: submission.account_sid,
            program,
            kind: kind.into(),
            channel: "s2s".into(),
            status: "Complete".into(),
            payload: submission.payload,
            content_type: submission.content_type,
            received_at: self.clock.now(),
            error_type: refusal.as_ref().map(|(code, _)| (*code).to_owned()),
            error_reason: refusal.as_ref().map(|(_, reason)| reason.clone()),
            action_id,
            order_id,
            event_type,
            detail: None,
            customer_id: None,
            customer_email_hmac: None,
        };
        self.store.record_conversion(&record, None, &[]).await?;
        let refusal = refusal.map(|(code, reason)| (code.to_owned(), reason));
        Ok(ChangeOutcome { submission_id: record.submission_id, refusal })
    }
}

impl Actions {
    /// Modifies a pending order: a new amount, new item quantities or sub-total deltas,
    /// or a reset to the original. The payout is recomputed under the terms in force on
    /// the event date; a new sale amount of zero reverses the action.
    pub async fn modify(
        &self,
        account_sid: &str,
        reference: &ActionRef,
        modification: &Modification,
        reason: &str,
        actor: &str,
    ) -> Result<ActionRecord, ActionError> {
        if !REVERSAL_REASONS.contains(&reason) {
            return Err(ActionError::UnknownReason(reason.to_owned()));
        }
        let action = self.find(account_sid, reference).await?;
        let now = self.clock.now();
        check_changeable(&action, now)?;
        if self.store.count_action_changes(&action.action_id).await? >= MAX_MODIFICATIONS as u64 {
            return Err(ActionError::TooManyModifications);
        }
        let mut detail: Value = serde_json::from_str(&action.detail).unwrap_or_else(|_| json!({}));
        let current = OrderState { lines: lines_of(&detail["items"]), sale_amount: action.sale_amount };
        let original = match detail.get("original") {
            Some(original) => OrderState {
                lines: lines_of(&original["items"]),
                sale_amount: original["saleAmount"].as_str().and_then(|text| text.parse().ok()).unwrap_or_default(),
            },
            None => current.clone(),
        };
        let after = modification::apply(&current, &original, modification, action.currency)?;
        let priced = self.payout(&action, &after).await?;
        let zero = Decimal::new(0, action.currency.minor_unit_digits());
        let payout = match &priced {
            Priced::Terms(priced) => {
                detail["payoutLines"] = json!(priced.lines);
                detail["payoutNotes"] = payout_notes(&priced.notes);
                priced.total.amount
            }
            Priced::Nothing => zero,
            Priced::Unchanged => action.payout,
        };
        if !money::within_bounds(payout) {
            return Err(ModificationError::TooLarge("the payout".into()).into());
        }
        if detail.get("original").is_none() {
            detail["original"] = json!({"items": detail["items"].clone(), "saleAmount": action.sale_amount.to_string(),
                                        "payout": action.payout.to_string()});
        }
        if let Some(items) = detail["items"].as_array_mut() {
            for (item, line) in items.iter_mut().zip(&after.lines) {
                item["quantity"] = json!(line.quantity);
                item["saleAmount"] = json!(line.sale_amount.to_string());
            }
        }
        // The detail's copy of the payout follows the action's, as its items do.
        detail["payout"] = json!(payout.to_string());
        let state = if after.sale_amount.is_zero() { "REVERSED" } else { "PENDING" };
        let target = Target { state, sale_amount: after.sale_amount, payout, detail: Some(detail.to_string()) };
        self.commit(account_sid, action, now, target, reason, actor).await
    }

    /// The payout of the modified order under the terms in force on the event date.
    async fn payout(&self, action: &ActionRecord, order: &OrderState) -> Result<Priced, StoreError> {
        if action.owner_kind == OwnerKind::MediaSource {
            return Ok(Priced::Nothing);
        }
        let catalog = self.catalog.get();
        let Some(entry) = catalog.program(action.program) else { return Ok(Priced::Unchanged) };
        let items: Vec<PayoutItem<'_>> = order
            .lines
            .iter()
            .map(|line| PayoutItem {
                sku: line.sku.as_deref(),
                category: line.category.as_deref(),
                quantity: line.quantity,
                sale_amount: line.sale_amount,
            })
            .collect();
        let payout_order = PayoutOrder {
            currency: action.currency,
            customer_status: action.customer_status.as_deref(),
            customer_country: None,
            promo_code: action.promo_code.as_deref(),
            shared_id: action.shared_id.as_deref(),
            items: &items,
            sale_amount: order.sale_amount,
        };
        let event = (action.owner, action.event_type, action.event_at);
        let priced = pricing::price(self.store.as_ref(), &entry.program, event, &payout_order, Some(action)).await?;
        Ok(priced.map_or(Priced::Nothing, |(payout, _)| Priced::Terms(payout)))
    }
}

/// A modified order's payout.
enum Priced {
    /// Under the terms in force on the event date.
    Terms(payout::Payout),
    /// Nothing: a media source, or no terms in force.
    Nothing,
    /// As before: the program is no longer loaded.
    Unchanged,
}

/// The lines kept in an action's detail (`items`).
fn lines_of(items: &Value) -> Vec<Line> {
    let text = |item: &Value, name: &str| item.get(name).and_then(Value::as_str).map(str::to_owned);
    items
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| Line {
                    sku: text(item, "sku"),
                    category: text(item, "category"),
                    quantity: item
                        .get("quantity")
                        .and_then(Value::as_u64)
                        .and_then(|q| u32::try_from(q).ok())
                        .unwrap_or(0),
                    sale_amount: text(item, "saleAmount").and_then(|t| t.parse().ok()).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What an action becomes.
struct Target<'a> {
    state: &'a str,
    sale_amount: Decimal,
    payout: Decimal,
    /// Its new detail, when that changes.
    detail: Option<String>,
}

fn check_changeable(action: &ActionRecord, now: jiff::Timestamp) -> Result<(), ActionError> {
    let due = action.locking_at.is_some_and(|locking_at| locking_at <= now);
    match action.state.as_str() {
        "APPROVED" => Err(ActionError::Locked),
        "PENDING" if due => Err(ActionError::Locked),
        "PENDING" => Ok(()),
        other => Err(ActionError::NotPending(other.to_owned())),
    }
}
