//! Conversions in (SPEC §4): every way in ends here. Validate, find the identity and
//! its touches, attribute, price the payout, and store the submission with its action
//! (or its refusal) in one transaction before answering.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tally_core::attribution::{self, Attribution, Outcome, Rule, Touch, TouchKind};
use tally_core::click::{Click, OwnerKind};
use tally_core::conversion::order::PricedOrder;
use tally_core::conversion::resolve::{self, Checked, Refusal};
use tally_core::conversion::{ConversionRequest, EventTypeRef, FieldError, RefusalCode};
use tally_core::identity::IdentityKey;
use tally_core::ids::{PartnerId, ProgramId, base62_128};
use tally_core::payout::{self, PayoutItem, PayoutOrder};
use tally_core::program::Program;
use tally_core::{lifecycle, money};

use crate::catalog::CatalogHandle;
use crate::loader::ClickLoader;
use crate::ports::{
    ActionRecord, Clock, ForgetCustomer, ForgetReport, IdentityLinkRecord, Store, StoreError, StoreResult,
    SubmissionRecord,
};
use crate::pricing;
use crate::secrets::{Keyed, random_u128};

/// At most this many identifiers are followed from one conversion: a shared computer
/// or a reused id must not pull a whole customer base into one journey.
const MAX_IDENTITY_KEYS: usize = 64;
/// At most this many links are followed from one identifier, the oldest first: a
/// "guest" customer id sent on every order, or a shop's shared computer, would
/// otherwise link everyone.
const LINKS_PER_KEY: u32 = 16;
/// At most this many touches are considered for one conversion.
const MAX_TOUCHES: u32 = 500;
/// How long a conversion waits for clicks answered just before it to reach the store.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(2);

/// How a submission came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The compatible server-to-server API.
    S2s,
    /// The native API.
    Api,
    /// The browser tag.
    Tag,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Self::S2s => "s2s",
            Self::Api => "api",
            Self::Tag => "tag",
        }
    }
}

/// A submission as received.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The account it is for (already authenticated).
    pub account_sid: String,
    /// How it came in.
    pub channel: Channel,
    /// The raw body.
    pub payload: String,
    /// The body's media type.
    pub content_type: String,
    /// Identifiers the channel adds: the tag's first-party visitor, say.
    pub extra_keys: Vec<IdentityKey>,
}

/// What became of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionOutcome {
    /// The submission's id (its `QueuedUri` ends with it).
    pub submission_id: String,
    /// The decision.
    pub decision: Decision,
}

/// An action made, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Missing or malformed fields: nothing was attributed.
    Invalid(Vec<FieldError>),
    /// Refused with a documented code; `action_id` names the existing action of a duplicate.
    Refused {
        /// The code.
        code: RefusalCode,
        /// In words.
        message: String,
        /// The action already made for this order, for `CONV_DUPLICATE`.
        action_id: Option<String>,
    },
    /// An action was made.
    Credited(Box<ActionRecord>),
}

/// The conversions use case.
#[derive(Clone)]
pub struct Conversions {
    store: Arc<dyn Store>,
    catalog: Arc<CatalogHandle>,
    keyed: Keyed,
    clock: Arc<dyn Clock>,
    loader: Option<Arc<ClickLoader>>,
}

impl Conversions {
    /// Builds the use case; `loader`, when given, is waited on so that a click answered
    /// just before a conversion is found by it.
    pub fn new(
        store: Arc<dyn Store>,
        catalog: Arc<CatalogHandle>,
        keyed: Keyed,
        clock: Arc<dyn Clock>,
        loader: Option<Arc<ClickLoader>>,
    ) -> Self {
        Conversions { store, catalog, keyed, clock, loader }
    }

    /// Takes in one conversion. Whatever the decision, the submission is stored before
    /// this returns; an `Err` means the store failed and nothing was acknowledged.
    pub async fn submit(
        &self,
        submission: Submission,
        request: Result<ConversionRequest, Vec<FieldError>>,
    ) -> StoreResult<ConversionOutcome> {
        let now = self.clock.now();
        let mut record = SubmissionRecord {
            submission_id: new_id(),
            account_sid: submission.account_sid.clone(),
            program: None,
            kind: "Conversion".into(),
            channel: submission.channel.as_str().into(),
            status: "Complete".into(),
            payload: submission.payload.clone(),
            content_type: submission.content_type.clone(),
            received_at: now,
            error_type: None,
            error_reason: None,
            action_id: None,
            order_id: None,
            event_type: None,
            detail: None,
            customer_id: None,
            customer_email_hmac: None,
        };
        let request = match request {
            Ok(request) => request,
            Err(errors) => {
                let code = errors.iter().map(|error| error.code).find(|code| *code != RefusalCode::Malformed);
                let reason = errors.iter().map(|error| format!("{}: {}", error.field, error.message)).collect();
                let code = code.unwrap_or(RefusalCode::Malformed);
                self.refuse(&mut record, code, reason_text(reason), None, &[]).await?;
                return Ok(ConversionOutcome {
                    submission_id: record.submission_id,
                    decision: Decision::Invalid(errors),
                });
            }
        };
        record.order_id = Some(request.order_id.clone());
        record.customer_id = request.customer_id.clone();
        record.customer_email_hmac = request.customer_email_hash.as_deref().map(|digest| self.keyed.email_hmac(digest));
        let decision = self.decide(&submission, &request, now, &mut record).await?;
        Ok(ConversionOutcome { submission_id: record.submission_id, decision })
    }

    async fn decide(
        &self,
        submission: &Submission,
        request: &ConversionRequest,
        now: Timestamp,
        record: &mut SubmissionRecord,
    ) -> StoreResult<Decision> {
        let catalog = self.catalog.get();
        let entry = request
            .program
            .and_then(|id| catalog.program(id))
            .filter(|entry| entry.account_sid == submission.account_sid);
        let Some(entry) = entry else {
            let message = "the program does not exist in this account".to_owned();
            return self.refuse(record, RefusalCode::CampaignNotFound, message, None, &[]).await;
        };
        let program = entry.program.clone();
        record.program = Some(program.id());
        let checked = match resolve::check(&program, request, now) {
            Ok(checked) => checked,
            Err(refusal) => {
                let refusal = self.mismatch_or(refusal, &submission.account_sid, request);
                return self.refuse(record, refusal.code, refusal.message, None, &[]).await;
            }
        };
        record.event_type = Some(checked.event_type.id);

        // Once, before any click is read: a click answered a moment ago is then found.
        self.settle().await;
        let keys = self.identity_keys(&program, request, submission).await?;
        let links = links_between(program.id(), &keys, "conversion", now);
        let (clicks, identity) = self.touches(&program, &keys, checked.at).await?;
        let touches: Vec<Touch> = clicks.iter().map(touch_of).collect();
        let input = resolve::attribution_input(&program, request, &checked);
        let attribution = attribution::attribute(&program, &input, &touches);
        let journey = journey_json(&attribution, &clicks);

        let (owner, rule) = match attribution.outcome {
            Outcome::Credited { partner, rule } => (partner, rule),
            Outcome::CreditedToMediaSource { source, rule } => (source, rule),
            Outcome::Refused(reason) => {
                record.detail = Some(json!({"journey": journey, "identity": identity}).to_string());
                let code = RefusalCode::from(reason);
                return self.refuse(record, code, refusal_message(code), None, &links).await;
            }
        };
        // The partner's turn is held until the action is stored: its next order is
        // priced on a standing that includes this one.
        let (priced, _turn) = match program.owner(owner).map(|owner| owner.kind) {
            Some(OwnerKind::MediaSource) => None,
            _ => self.payout(&program, owner, request, &checked).await?,
        }
        .unzip();
        let action = self.action(&program, request, &checked, &attribution, &clicks, (owner, rule), record, now);
        let zero = Decimal::new(0, checked.order.currency.minor_unit_digits());
        let payout = priced.as_ref().map_or(zero, |priced| priced.total.amount);
        if !money::within_bounds(payout) {
            let message = format!("the payout {payout} is more than Tally keeps (at most {})", money::MAX_AMOUNT);
            return self.refuse(record, RefusalCode::Malformed, message, None, &links).await;
        }
        let detail = action_detail(payout, priced.as_ref(), request, &checked, journey, identity);
        let action = ActionRecord { payout, detail, ..action };
        record.action_id = Some(action.action_id.clone());
        match self.store.record_conversion(record, Some(&action), &links).await {
            Ok(()) => Ok(Decision::Credited(Box::new(action))),
            Err(StoreError::Conflict(_)) => {
                record.action_id = None;
                let existing =
                    self.store.action_by_order(program.id(), checked.event_type.id, &request.order_id).await?;
                let existing_id = existing.map(|action| action.action_id);
                let message = format!(
                    "order {:?} already made action {} for this event type",
                    request.order_id,
                    existing_id.as_deref().unwrap_or("?")
                );
                self.refuse(record, RefusalCode::ConvDuplicate, message, existing_id, &links).await
            }
            Err(error) => Err(error),
        }
    }

    async fn refuse(
        &self,
        record: &mut SubmissionRecord,
        code: RefusalCode,
        message: String,
        action_id: Option<String>,
        links: &[IdentityLinkRecord],
    ) -> StoreResult<Decision> {
        record.error_type = Some(code.as_str().into());
        record.error_reason = Some(message.clone());
        self.store.record_conversion(record, None, links).await?;
        Ok(Decision::Refused { code, message, action_id })
    }

    /// An event type unknown here but known in another program of the same account is
    /// a mismatch, not an unknown tracker.
    fn mismatch_or(&self, refusal: Refusal, account_sid: &str, request: &ConversionRequest) -> Refusal {
        if refusal.code != RefusalCode::ActionTrackerNotFound {
            return refusal;
        }
        let catalog = self.catalog.get();
        let elsewhere = catalog.programs().any(|entry| {
            entry.account_sid == account_sid
                && match &request.event_type {
                    Some(EventTypeRef::Id(id)) => entry.program.event_type(*id).is_some(),
                    Some(EventTypeRef::Code(code)) => entry.program.event_type_by_code(code).is_some(),
                    None => false,
                }
        });
        if elsewhere {
            let message = "the event type belongs to another program of this account".into();
            Refusal { code: RefusalCode::ActionTrackerCampaignMismatch, message }
        } else {
            refusal
        }
    }

    /// The conversion's own identifiers: stored linked to each other with the
    /// conversion, so that later conversions of any of them find this one's devices.
    async fn identity_keys(
        &self,
        program: &Program,
        request: &ConversionRequest,
        submission: &Submission,
    ) -> StoreResult<Vec<IdentityKey>> {
        let mut keys: BTreeSet<IdentityKey> = submission.extra_keys.iter().cloned().collect();
        if let Some(customer) = &request.customer_id {
            keys.insert(IdentityKey::Customer(customer.clone()));
        }
        if let Some(digest) = &request.customer_email_hash {
            keys.insert(IdentityKey::Email(self.keyed.email_hmac(digest)));
        }
        if let Some(profile) = &request.custom_profile_id {
            keys.insert(IdentityKey::Profile(profile.clone()));
        }
        for device in &request.device_ids {
            keys.insert(IdentityKey::Device(device.kind, device.value.clone()));
        }
        for click_id in request.click_id.iter().chain(install_ref_click_id(request).iter()) {
            for click in self.store.clicks_by_click_id(program.id(), click_id).await? {
                keys.insert(IdentityKey::Visitor(click.visitor));
            }
        }
        Ok(keys.into_iter().collect())
    }

    /// Forgets a customer of a program (a privacy request): its identity links, and its
    /// id, email and raw submissions wherever they were kept. Its actions stay, with
    /// their money, so partners are still paid what they earned.
    pub async fn forget_customer(
        &self,
        program: ProgramId,
        customer_id: Option<&str>,
        email_digest: Option<&str>,
    ) -> StoreResult<ForgetReport> {
        let email_hmac = email_digest.map(|digest| self.keyed.email_hmac(digest));
        let keys = customer_id
            .map(|id| IdentityKey::Customer(id.to_owned()))
            .into_iter()
            .chain(email_hmac.clone().map(IdentityKey::Email))
            .map(|key| key.to_string())
            .collect();
        let at = self.clock.now();
        let request = ForgetCustomer {
            program,
            keys,
            customer_id: customer_id.map(str::to_owned),
            customer_email_hmac: email_hmac,
            payload_note: format!("(removed at {at} on a request to delete the customer's personal data)"),
        };
        self.store.forget_customer(&request).await
    }

    /// Links identifiers seen together (by an `identify` call or a page load).
    pub async fn link(&self, program: ProgramId, keys: &[IdentityKey], source: &str) -> StoreResult<()> {
        self.store.link_identities(&links_between(program, keys, source, self.clock.now())).await
    }

    /// The clicks of every visitor in the identity, within the longest referral window
    /// before the event, with the identity's keys and the link that joined each.
    async fn touches(
        &self,
        program: &Program,
        keys: &[IdentityKey],
        at: Timestamp,
    ) -> StoreResult<(Vec<Click>, Vec<Value>)> {
        let mut seen: HashSet<String> = keys.iter().map(ToString::to_string).collect();
        let mut identity: Vec<Value> = keys.iter().map(|key| json!({"key": redact(key), "via": null})).collect();
        let mut frontier: Vec<String> = seen.iter().cloned().collect();
        while !frontier.is_empty() && seen.len() < MAX_IDENTITY_KEYS {
            let links = self.store.identity_links(program.id(), &frontier, LINKS_PER_KEY).await?;
            frontier.clear();
            for link in links {
                if seen.len() < MAX_IDENTITY_KEYS && seen.insert(link.other.clone()) {
                    if let Some(key) = IdentityKey::parse(&link.other) {
                        identity
                            .push(json!({"key": redact(&key), "via": link.source, "linkedAt": link.at.to_string()}));
                    }
                    frontier.push(link.other);
                }
            }
        }
        let visitors: Vec<_> =
            seen.iter().filter_map(|key| IdentityKey::parse(key)?.visitor().cloned()).collect::<Vec<_>>();
        let since = at - program.lookback();
        let until = at + jiff::SignedDuration::from_micros(1);
        let clicks = self.store.clicks_of_visitors(program.id(), &visitors, since, until, MAX_TOUCHES).await?;
        Ok((clicks, identity))
    }

    async fn settle(&self) {
        if let Some(loader) = &self.loader
            && !loader.caught_up(SETTLE_TIMEOUT).await
        {
            tracing::warn!("attributing before the store has every click answered");
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn action(
        &self,
        program: &Program,
        request: &ConversionRequest,
        checked: &Checked<'_>,
        attribution: &Attribution,
        clicks: &[Click],
        (owner, rule): (PartnerId, Rule),
        record: &SubmissionRecord,
        now: Timestamp,
    ) -> ActionRecord {
        let owner_kind = program.owner(owner).map_or(OwnerKind::Partner, |owner| owner.kind);
        let credited = attribution
            .journey
            .iter()
            .find(|step| step.credited)
            .and_then(|step| clicks.iter().find(|click| touch_of(click) == step.touch));
        let referring_type = match (credited, rule) {
            (Some(click), _) => touch_of(click).kind.as_str(),
            (None, Rule::ForcedPartner) => "MEDIA_PARTNER_ID",
            (None, Rule::UniqueUrl) => "UNIQUE_URL",
            (None, _) => "PROMO_CODE",
        };
        ActionRecord {
            action_id: new_id(),
            program: program.id(),
            event_type: checked.event_type.id,
            order_id: request.order_id.clone(),
            event_at: checked.at,
            created_at: now,
            state: "PENDING".into(),
            owner,
            owner_kind,
            rule: rule.as_str().into(),
            ad: credited.and_then(|click| click.ad),
            click_id: credited.map(|click| click.click_id.to_string()),
            referring_at: credited.map(|click| click.at),
            referring_type: referring_type.into(),
            currency: checked.order.currency,
            sale_amount: checked.order.sale_amount,
            // Priced by the caller, which can read the partner's standing.
            payout: Decimal::new(0, checked.order.currency.minor_unit_digits()),
            promo_code: request.promo_code.clone(),
            customer_id: request.customer_id.clone(),
            customer_email_hmac: request.customer_email_hash.as_deref().map(|digest| self.keyed.email_hmac(digest)),
            customer_status: request.customer_status.as_ref().map(|status| status.as_str().to_owned()),
            shared_id: request.shared_id.clone().or_else(|| credited.and_then(|click| click.shared_id.clone())),
            sub_ids: if request.sub_ids.iter().any(Option::is_some) {
                request.sub_ids.clone()
            } else {
                credited.map(|click| click.sub_ids.clone()).unwrap_or_default()
            },
            submission_id: record.submission_id.clone(),
            test: request.test,
            detail: String::new(),
            locking_at: locking_at(program, owner, owner_kind, checked),
            statement_id: None,
            event_day: checked.at.to_zoned(program.time_zone().clone()).date(),
            device: credited.map(|click| click.device.as_str().to_owned()),
        }
    }

    /// What the partner earns under the terms in force on the event date, with its
    /// pricing turn; `None` without terms (a partner wins only with terms in force, so
    /// they are there).
    async fn payout(
        &self,
        program: &Program,
        partner: PartnerId,
        request: &ConversionRequest,
        checked: &Checked<'_>,
    ) -> StoreResult<Option<(payout::Payout, pricing::PricingTurn)>> {
        let items: Vec<PayoutItem<'_>> = request
            .items
            .iter()
            .zip(&checked.order.lines)
            .map(|(item, line)| PayoutItem {
                sku: item.sku.as_deref(),
                category: item.category.as_deref(),
                quantity: line.quantity,
                sale_amount: line.sale_amount,
            })
            .collect();
        let order = PayoutOrder {
            currency: checked.order.currency,
            customer_status: request.customer_status.as_ref().map(|status| status.as_str()),
            customer_country: None,
            promo_code: request.promo_code.as_deref(),
            shared_id: request.shared_id.as_deref(),
            items: &items,
            sale_amount: checked.order.sale_amount,
        };
        let event = (partner, checked.event_type.id, checked.at);
        pricing::price(self.store.as_ref(), program, event, &order, None).await
    }
}

/// The links that join identifiers seen together: each to the first, both ways, so a
/// lookup from any of them is one index probe.
fn links_between(program: ProgramId, keys: &[IdentityKey], source: &str, at: Timestamp) -> Vec<IdentityLinkRecord> {
    let Some((hub, rest)) = keys.split_first() else { return Vec::new() };
    let record = |key: String, other: String| IdentityLinkRecord { program, key, other, source: source.into(), at };
    rest.iter()
        .flat_map(|other| {
            let (a, b) = (hub.to_string(), other.to_string());
            [record(a.clone(), b.clone()), record(b, a)]
        })
        .collect()
}

/// When a partner's action locks: the locking rule of the terms in force on the event
/// date, counted in the program's time zone (`tally_core::lifecycle`). Media sources
/// are paid nothing, so their actions lock at once.
fn locking_at(program: &Program, owner: PartnerId, kind: OwnerKind, checked: &Checked<'_>) -> Option<Timestamp> {
    match kind {
        OwnerKind::MediaSource => Some(checked.at),
        OwnerKind::Partner => {
            let rule = program.terms_for(owner, checked.event_type.id, checked.at)?.locking?;
            Some(lifecycle::locking_instant(checked.at, program.time_zone(), rule))
        }
    }
}

/// The touch a stored click stands for.
fn touch_of(click: &Click) -> Touch {
    Touch {
        at: click.at,
        owner: click.owner,
        kind: if click.source.is_impression() { TouchKind::Impression } else { TouchKind::Click },
        source: click.source,
        creditable: click.creditable,
        device: click.device,
    }
}

/// The journey as stored: each touch with its click, visitor, position and verdict.
fn journey_json(attribution: &Attribution, clicks: &[Click]) -> Vec<Value> {
    let mut used = vec![false; clicks.len()];
    attribution
        .journey
        .iter()
        .map(|step| {
            let index =
                clicks.iter().enumerate().position(|(index, click)| !used[index] && touch_of(click) == step.touch);
            let click = index.map(|index| {
                used[index] = true;
                &clicks[index]
            });
            json!({
                "at": step.touch.at.to_string(),
                "partnerId": step.touch.owner.0,
                "kind": step.touch.kind.as_str(),
                "source": step.touch.source.as_str(),
                "device": step.touch.device.as_str(),
                "clickId": click.map(|click| click.click_id.to_string()),
                "visitor": click.map(|click| click.visitor.to_string()),
                "adId": click.and_then(|click| click.ad).map(|ad| ad.0),
                "bot": click.is_some_and(|click| click.bot),
                "flood": click.is_some_and(|click| click.flood),
                "position": step.position.as_str(),
                "credited": step.credited,
                "reason": step.reason.map(|reason| RefusalCode::from(reason).as_str()),
            })
        })
        .collect()
}

fn action_detail(
    payout: Decimal,
    priced: Option<&payout::Payout>,
    request: &ConversionRequest,
    checked: &Checked<'_>,
    journey: Vec<Value>,
    identity: Vec<Value>,
) -> String {
    let order: &PricedOrder = &checked.order;
    let items: Vec<Value> = request
        .items
        .iter()
        .zip(&order.lines)
        .map(|(item, line)| {
            json!({
                "sku": item.sku, "name": item.name, "category": item.category, "subCategory": item.sub_category,
                "brand": item.brand, "quantity": line.quantity, "unitPrice": item.unit_price.map(|d| d.to_string()),
                "gross": line.gross.to_string(), "discount": line.discount.round_dp(6).normalize().to_string(),
                "saleAmount": line.sale_amount.to_string(), "promoCode": item.promo_code,
            })
        })
        .collect();
    json!({
        "items": items,
        "order": {
            "amount": request.amount.map(|d| d.to_string()),
            "discount": request.order_discount.map(|d| d.to_string()),
            "shipping": order.shipping.to_string(),
            "tax": order.tax.to_string(),
            "subTotalPostDiscount": request.order_subtotal_post_discount.map(|d| d.to_string()),
        },
        "payout": payout.to_string(),
        "payoutLines": priced.map(|priced| json!(priced.lines)),
        "payoutNotes": priced.map(|priced| payout_notes(&priced.notes)),
        "journey": journey,
        "identity": identity,
        "note": request.note,
        "propertyId": request.property_id,
        "uniqueUrl": request.unique_url,
    })
    .to_string()
}

/// Why a payout differs from the plain rate, in code and in words.
pub(crate) fn payout_notes(notes: &[payout::PayoutNote]) -> Value {
    notes.iter().map(|note| json!({"code": note.code(), "message": note.to_string()})).collect()
}

/// An identifier as shown in a journey: email HMACs are shortened, never shown whole.
fn redact(key: &IdentityKey) -> String {
    match key {
        IdentityKey::Email(hmac) => format!("email:{}…", &hmac[..hmac.len().min(8)]),
        other => other.to_string(),
    }
}

/// A click id carried by an install referrer (`…clickid=…` or `irclickid=…`).
fn install_ref_click_id(request: &ConversionRequest) -> Option<String> {
    let reference = request.app_install_ref.as_deref()?;
    url::form_urlencoded::parse(reference.trim_start_matches('?').as_bytes())
        .find(|(name, _)| name.eq_ignore_ascii_case("clickid") || name.eq_ignore_ascii_case("irclickid"))
        .map(|(_, value)| value.into_owned())
        .filter(|value| value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

fn reason_text(parts: Vec<String>) -> String {
    parts.join("; ")
}

fn refusal_message(code: RefusalCode) -> String {
    match code {
        RefusalCode::NoTouch => "no click, promo code, unique URL or partner id leads to a partner".into(),
        RefusalCode::OutsideAssociationWindow => "every touch is after the event or outside its referral window".into(),
        RefusalCode::ContractNotFound => "no partner in the journey has terms for this event type in force".into(),
        RefusalCode::PartnerNotActive => "the partners in the journey are not active".into(),
        RefusalCode::Unclaimed => "only non-preferred sources took part".into(),
        other => other.as_str().into(),
    }
}

/// An opaque, unguessable id: 128 random bits in base62.
fn new_id() -> String {
    base62_128(random_u128())
}
