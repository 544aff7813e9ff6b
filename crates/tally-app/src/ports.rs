//! Ports: what the use cases need from storage and from the clock.
//!
//! One [`Store`] trait with plain data records, so that a second backend is a second
//! implementation behind the same [`crate::conformance`] suite, not a rewrite.

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use tally_core::click::{Click, OwnerKind};
use tally_core::ids::{AdId, EventTypeId, PartnerId, ProgramId, VisitorId};
use tally_core::money::Currency;
use tally_core::payout::PeriodTotals;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the message names it.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store cannot be reached or refused the operation; retrying may help.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back (a bug or a damaged store).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

/// A database written by a newer Tally than this one: starting would risk it, so both
/// backends refuse with this message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the database schema is at version {found}, newer than this tally understands ({supported}); upgrade tally")]
pub struct SchemaTooNew {
    /// Version found in the database.
    pub found: i64,
    /// Latest version this build knows.
    pub supported: i64,
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// A brand account: the compatible API's account SID and hashed auth token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// Public account SID.
    pub account_sid: String,
    /// Display name.
    pub name: String,
    /// SHA-256 (hex) of the auth token.
    pub auth_token_hash: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A bearer token of the native API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    /// Public part of the token, used to look it up.
    pub token_id: String,
    /// The account it acts for.
    pub account_sid: String,
    /// Set when the token acts for one partner only.
    pub partner: Option<PartnerId>,
    /// Display name.
    pub name: String,
    /// SHA-256 (hex) of the secret part.
    pub secret_hash: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A dashboard login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Login name.
    pub username: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// `admin`, `brand` or `partner`.
    pub role: String,
    /// The account a brand or partner user belongs to.
    pub account_sid: Option<String>,
    /// The partner a partner user acts for.
    pub partner: Option<PartnerId>,
    /// When it was created.
    pub created_at: Timestamp,
    /// Dashboard sessions that began before this instant are over: logging out ends
    /// every session of the user, including a cookie copied elsewhere.
    pub sessions_since: Option<Timestamp>,
}

/// A program document as stored: canonical JSON plus bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProgram {
    /// The program id.
    pub program_id: ProgramId,
    /// The owning account.
    pub account_sid: String,
    /// Increases by one with every change.
    pub revision: i64,
    /// The canonical document.
    pub document: String,
    /// Last change.
    pub updated_at: Timestamp,
    /// When it was first saved.
    pub created_at: Timestamp,
}

/// A stored setting (a secret or other store-wide value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingRecord {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// When it was first written.
    pub created_at: Timestamp,
}

/// What saving a program document did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOutcome {
    /// A new program, at revision 1.
    Created,
    /// The document changed; the new revision.
    Updated(i64),
    /// The same document was already stored.
    Unchanged(i64),
}

/// Which clicks to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickQuery {
    /// The program.
    pub program: ProgramId,
    /// From this instant (inclusive).
    pub since: Timestamp,
    /// Until this instant (exclusive).
    pub until: Timestamp,
    /// Only this partner's clicks.
    pub owner: Option<PartnerId>,
}

/// Where a page of clicks ends, to continue after it: clicks are read in
/// (time, insertion) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClickCursor {
    /// Time of the last click read.
    pub at: Timestamp,
    /// Store-assigned insertion sequence of the last click read.
    pub seq: i64,
}

/// A stored click with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClick {
    /// Where this click sits in the read order.
    pub cursor: ClickCursor,
    /// The click.
    pub click: Click,
}

/// A run of consecutive clicks from one click log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickBatch {
    /// The log they come from (one per node).
    pub log_id: String,
    /// The sequence number of the first click; the others follow without gaps.
    pub first_seq: u64,
    /// The clicks, in log order.
    pub clicks: Vec<Click>,
    /// Each click's day in its program's time zone, for the click rollup; a click
    /// without one (the list is shorter) counts on its UTC day.
    pub days: Vec<Date>,
}

impl ClickBatch {
    /// The sequence number of the last click (`first_seq - 1` for an empty batch).
    pub fn last_seq(&self) -> u64 {
        (self.first_seq + self.clicks.len() as u64).saturating_sub(1)
    }
}

/// One conversion submission as received (the compatible API's `APISubmissions`),
/// kept whether it made an action or was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionRecord {
    /// Opaque, unguessable id.
    pub submission_id: String,
    /// The account that sent it.
    pub account_sid: String,
    /// The program it named, when it named a valid one.
    pub program: Option<ProgramId>,
    /// `Conversion`, `Modification` or `Reversal`.
    pub kind: String,
    /// How it came in: `s2s`, `api` or `tag`.
    pub channel: String,
    /// `Queued`, `In Progress` or `Complete`.
    pub status: String,
    /// The raw body, exactly as received.
    pub payload: String,
    /// The body's media type.
    pub content_type: String,
    /// When it arrived.
    pub received_at: Timestamp,
    /// The refusal code, when refused.
    pub error_type: Option<String>,
    /// The refusal in words, when refused.
    pub error_reason: Option<String>,
    /// The action it made.
    pub action_id: Option<String>,
    /// The order id it named, for finding refused conversions.
    pub order_id: Option<String>,
    /// The event type it named, when valid.
    pub event_type: Option<EventTypeId>,
    /// JSON detail of the decision (the journey considered), when attribution refused it.
    pub detail: Option<String>,
    /// The customer id it named, so that a privacy request can find it.
    pub customer_id: Option<String>,
    /// The keyed HMAC of the email it named, for the same reason.
    pub customer_email_hmac: Option<String>,
}

/// An action: a conversion credited to a partner or another media source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRecord {
    /// Opaque, unguessable id.
    pub action_id: String,
    /// The program.
    pub program: ProgramId,
    /// The event type.
    pub event_type: EventTypeId,
    /// The brand's order id, unique per event type.
    pub order_id: String,
    /// When the event happened.
    pub event_at: Timestamp,
    /// When Tally created the action.
    pub created_at: Timestamp,
    /// `PENDING`, `APPROVED` or `REVERSED`.
    pub state: String,
    /// Who took the credit.
    pub owner: PartnerId,
    /// A partner (paid) or a media source (paid nothing).
    pub owner_kind: OwnerKind,
    /// What decided (`LAST_CLICK`, `PROMO_CODE_ALWAYS`, …).
    pub rule: String,
    /// The ad of the credited touch.
    pub ad: Option<AdId>,
    /// The click id of the credited touch.
    pub click_id: Option<String>,
    /// When the credited touch happened.
    pub referring_at: Option<Timestamp>,
    /// `CLICK`, `IMPRESSION`, or the key that decided (`PROMO_CODE`, `MEDIA_PARTNER`, `UNIQUE_URL`).
    pub referring_type: String,
    /// The currency of the amounts.
    pub currency: Currency,
    /// The sale amount, rounded per line.
    pub sale_amount: Decimal,
    /// The payout, rounded per line.
    pub payout: Decimal,
    /// The order's promo code.
    pub promo_code: Option<String>,
    /// The brand's customer id.
    pub customer_id: Option<String>,
    /// Keyed HMAC of the customer's email hash.
    pub customer_email_hmac: Option<String>,
    /// `New`, `Existing` or the brand's own value.
    pub customer_status: Option<String>,
    /// The shared id.
    pub shared_id: Option<String>,
    /// Sub ids (shown to the partner only).
    pub sub_ids: [Option<String>; 3],
    /// The submission that made it.
    pub submission_id: String,
    /// A test action.
    pub test: bool,
    /// JSON detail: items with their payouts, the journey, order fields.
    pub detail: String,
    /// When it locks (becomes `APPROVED`), from the terms in force on the event date;
    /// `None` when the terms set no locking rule.
    pub locking_at: Option<Timestamp>,
    /// The statement it is on, once approved and stated.
    pub statement_id: Option<String>,
    /// The event's day in the program's time zone, fixed when the action is made: the
    /// day reports count it on.
    pub event_day: Date,
    /// The device type of the credited click, for reports by device.
    pub device: Option<String>,
}

/// Two identifiers seen together (a visitor and a customer, say): linked ids form one
/// identity (SPEC §5). Stored once per direction, so a lookup is one index probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityLinkRecord {
    /// The program.
    pub program: ProgramId,
    /// One identifier, e.g. `customer:C-17`.
    pub key: String,
    /// The other.
    pub other: String,
    /// What joined them: `identify`, `conversion`, `page_load`.
    pub source: String,
    /// When they were first seen together.
    pub at: Timestamp,
}

/// One change of an action: what changed, by how much, who did it and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionUpdateRecord {
    /// Opaque id.
    pub update_id: String,
    /// The action.
    pub action_id: String,
    /// Its program.
    pub program: ProgramId,
    /// When.
    pub at: Timestamp,
    /// Who: `scheduler`, or the account or user that asked.
    pub actor: String,
    /// The state before.
    pub from_state: String,
    /// The state after.
    pub to_state: String,
    /// Change of the sale amount, in the action's currency.
    pub delta_amount: Decimal,
    /// Change of the payout.
    pub delta_payout: Decimal,
    /// Why (`LOCKING_DATE`, `ORDER_UPDATE`, `ITEM_RETURNED`, …).
    pub reason: String,
}

/// A change of one action's state and amounts, with the update that records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionChange {
    /// The state the action must be in; otherwise nothing changes.
    pub expected_state: String,
    /// The state after.
    pub new_state: String,
    /// The sale amount after.
    pub sale_amount: Decimal,
    /// The payout after.
    pub payout: Decimal,
    /// Nothing changes once the action's locking instant is at or before this.
    pub unlocked_at: Timestamp,
    /// The action's new JSON detail (its items after a modification), if it changes.
    pub detail: Option<String>,
    /// The record of the change (its action id names the action).
    pub update: ActionUpdateRecord,
}

/// Whom to forget, in one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgetCustomer {
    /// The program.
    pub program: ProgramId,
    /// The customer's identifiers as stored in identity links (`customer:…`, `email:…`).
    pub keys: Vec<String>,
    /// The brand's customer id, if given.
    pub customer_id: Option<String>,
    /// The keyed HMAC of the customer's email, if given.
    pub customer_email_hmac: Option<String>,
    /// What replaces a forgotten submission's raw payload.
    pub payload_note: String,
}

/// What forgetting a customer changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ForgetReport {
    /// Identity links removed.
    pub identity_links: u64,
    /// Actions whose customer fields were cleared.
    pub actions: u64,
    /// Submissions whose payload and customer fields were cleared.
    pub submissions: u64,
}

/// The first answer given to a request with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The account whose key it is.
    pub account_sid: String,
    /// The key as sent.
    pub key: String,
    /// SHA-256 of the request (method, path, body), to refuse a key reused for another request.
    pub fingerprint: String,
    /// The answer's HTTP status.
    pub status: u16,
    /// The answer's body.
    pub response: String,
    /// When the first answer was given.
    pub created_at: Timestamp,
}

/// An instant range; either end may be open. Both ends are inclusive, as the
/// compatible API's `…Start`/`…End` parameters are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    /// From this instant.
    pub from: Option<Timestamp>,
    /// Up to and including this instant.
    pub to: Option<Timestamp>,
}

/// Which test actions a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TestActions {
    /// Real actions only (the default: reports leave test actions out unless asked).
    #[default]
    Exclude,
    /// Both.
    Include,
    /// Test actions only.
    Only,
}

/// What a listing is ordered by; ties are broken by action id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActionSortKey {
    /// When Tally made the action (the compatible listing's order).
    #[default]
    CreatedAt,
    /// When the event happened.
    EventAt,
    /// When the action locks.
    LockingAt,
    /// The sale amount.
    SaleAmount,
    /// The payout.
    Payout,
}

/// Which actions to list, in what order, which page (SPEC §8, §10).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActionQuery {
    /// The programs to list from (the caller's); empty lists nothing.
    pub programs: Vec<ProgramId>,
    /// Only this partner's or media source's actions.
    pub owner: Option<PartnerId>,
    /// Only actions in this state.
    pub state: Option<String>,
    /// Only this event type.
    pub event_type: Option<EventTypeId>,
    /// Event date range.
    pub event_at: TimeRange,
    /// Locking date range.
    pub locking_at: TimeRange,
    /// Creation date range.
    pub created_at: TimeRange,
    /// Actions made, or changed other than by approval, in this range: the compatible
    /// listing's "last updated" `StartDate`/`EndDate`, so that an incremental sync also
    /// picks up modifications and reversals.
    pub changed_at: TimeRange,
    /// Only orders that used this promo code (exact, ignoring case).
    pub promo_code: Option<String>,
    /// Only this order id.
    pub order_id: Option<String>,
    /// Only orders with an item of this SKU (exact).
    pub sku: Option<String>,
    /// Test actions or not.
    pub test: TestActions,
    /// Sort key.
    pub sort: ActionSortKey,
    /// Newest or largest first.
    pub descending: bool,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return at most.
    pub limit: u32,
    /// Only actions after this one in (creation time, id) order: the cursor an export
    /// pages with, so that reading a million rows never skips or rereads one. Used with
    /// the default sort ascending.
    pub after: Option<(Timestamp, String)>,
}

/// Which submissions to list (the compatible `APISubmissions`, invalid conversions,
/// the integration check), newest first unless asked otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmissionQuery {
    /// The account that sent them.
    pub account_sid: String,
    /// Only those naming this program.
    pub program: Option<ProgramId>,
    /// `Some(true)`: refused ones only; `Some(false)`: accepted ones only.
    pub refused: Option<bool>,
    /// Only those refused with this code.
    pub error_type: Option<String>,
    /// Only `Conversion`, `Modification` or `Reversal`.
    pub kind: Option<String>,
    /// Only this order id.
    pub order_id: Option<String>,
    /// When they arrived.
    pub received_at: TimeRange,
    /// Oldest first instead.
    pub ascending: bool,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return at most.
    pub limit: u32,
}

/// Which action updates to list (the compatible `ActionUpdates`), oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateQuery {
    /// The programs to list from (the caller's); empty lists nothing.
    pub programs: Vec<ProgramId>,
    /// Only this action's.
    pub action_id: Option<String>,
    /// When they were made.
    pub at: TimeRange,
    /// Only updates that left their action in this state.
    pub state: Option<String>,
    /// Only updates of actions whose event time is in this range.
    pub event_at: TimeRange,
    /// Only updates of actions that lock (or locked) in this range.
    pub locking_at: TimeRange,
    /// Updates of test actions or not.
    pub test: TestActions,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return at most.
    pub limit: u32,
}

/// What a performance report groups by (SPEC §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportDimension {
    /// The local day.
    Day,
    /// The partner or media source.
    Partner,
    /// The ad.
    Ad,
    /// The device type.
    Device,
    /// The shared id.
    SharedId,
}

/// Which rollup rows to sum, and by what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupQuery {
    /// The program.
    pub program: ProgramId,
    /// First local day (inclusive).
    pub from: Date,
    /// Last local day (inclusive).
    pub to: Date,
    /// The dimensions to group by, in order; empty sums everything into one row.
    pub by: Vec<ReportDimension>,
    /// Only this partner's.
    pub owner: Option<PartnerId>,
    /// Only this event type's actions (clicks have none, and are not filtered).
    pub event_type: Option<EventTypeId>,
    /// Test actions or not (clicks are never tests).
    pub test: TestActions,
}

/// Clicks summed for one key: the key's values in the order of [`RollupQuery::by`]
/// (a day as `2026-11-24`, ids as numbers, no ad as `-1`, no device or shared id as ``).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickSums {
    /// The key.
    pub key: Vec<String>,
    /// Clicks.
    pub clicks: u64,
    /// Unique clicks.
    pub unique_clicks: u64,
}

/// Actions summed for one key and currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionSums {
    /// The key, as for [`ClickSums`].
    pub key: Vec<String>,
    /// The currency of the amounts.
    pub currency: Currency,
    /// Actions that count (not reversed).
    pub actions: u64,
    /// Their sale amount.
    pub sale_amount: Decimal,
    /// Their payout.
    pub payout: Decimal,
}

/// A partner's statement (SPEC §8): the approved actions that locked in one month,
/// with one payment date. What it pays is summed from its actions when read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRecord {
    /// Opaque, unguessable id.
    pub statement_id: String,
    /// The program.
    pub program: ProgramId,
    /// The partner paid.
    pub partner: PartnerId,
    /// The currency of its actions.
    pub currency: Currency,
    /// The first day of the month after its actions locked, in the program's time zone.
    pub statement_date: Date,
    /// The payment date under the terms' schedule.
    pub scheduled_on: Date,
    /// When Tally made it.
    pub created_at: Timestamp,
    /// When it was marked paid.
    pub paid_at: Option<Timestamp>,
    /// Who marked it paid.
    pub paid_by: Option<String>,
    /// The brand's reference for the payment (a transfer id).
    pub payment_reference: Option<String>,
}

/// A statement with the sums of its actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementSummary {
    /// The statement.
    pub statement: StatementRecord,
    /// How many actions it holds.
    pub actions: u64,
    /// Their sale amount.
    pub sale_amount: Decimal,
    /// What it pays.
    pub payout: Decimal,
}

/// A partner's request for a test action, and what the brand did with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestActionRequestRecord {
    /// Opaque id.
    pub request_id: String,
    /// The program.
    pub program: ProgramId,
    /// The partner asking.
    pub partner: PartnerId,
    /// What the partner wants tested, in its words (may be empty).
    pub note: String,
    /// `OPEN`, `FULFILLED` or `DECLINED`.
    pub state: String,
    /// The test action that fulfilled it.
    pub action_id: Option<String>,
    /// When it was asked.
    pub created_at: Timestamp,
    /// When the brand fulfilled or declined it.
    pub resolved_at: Option<Timestamp>,
}

/// How a partner wants to be paid in one program; neither field means on each
/// statement's payment date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRecord {
    /// The program.
    pub program: ProgramId,
    /// The partner.
    pub partner: PartnerId,
    /// A balance threshold in the program's currency.
    pub threshold: Option<Decimal>,
    /// A fixed day of the month (1 or 15).
    pub fixed_day: Option<u8>,
    /// When it was set.
    pub updated_at: Timestamp,
    /// Who set it.
    pub updated_by: String,
}

/// A partner's actions of one event type in a period, for tiers, limits and bonuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerPeriod {
    /// The program.
    pub program: ProgramId,
    /// The partner.
    pub partner: PartnerId,
    /// The event type.
    pub event_type: EventTypeId,
    /// From (inclusive).
    pub start: Timestamp,
    /// Until (exclusive).
    pub end: Timestamp,
    /// Only actions Tally made before this instant: when a modification re-prices an
    /// action, those made before it, so that it never counts itself nor later ones.
    pub created_before: Option<Timestamp>,
    /// Also read which bonuses the actions already hold (it parses their payout lines,
    /// so only when a bonus counts in the period).
    pub with_bonuses: bool,
}

/// A partner's turn to be priced, across the processes that write one store: from
/// reading its standing to storing its action, no other process prices an order of
/// that partner. The turn ends when this is dropped.
pub struct PartnerTurn {
    _held: Option<Box<dyn Send + Sync>>,
}

impl PartnerTurn {
    /// For a store that one process alone writes: the process's own turns suffice.
    pub fn local() -> Self {
        PartnerTurn { _held: None }
    }

    /// A turn that lasts as long as `guard`.
    pub fn holding(guard: impl Send + Sync + 'static) -> Self {
        PartnerTurn { _held: Some(Box::new(guard)) }
    }
}

/// The click log could not make a click durable; the click must not be answered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClickLogError {
    /// Writing or syncing failed.
    #[error("the click log cannot write: {0}")]
    Io(String),
    /// The backlog of clicks not yet loaded into the store reached its bound.
    #[error("the click log holds {0} clicks not yet in the store, its limit")]
    Full(u64),
    /// The log has shut down.
    #[error("the click log has stopped")]
    Stopped,
}

/// Where a click is made durable before its redirect is answered: an append-only log
/// on local disk, group-committed, later loaded into the store.
#[async_trait]
pub trait ClickLog: Send + Sync + 'static {
    /// Appends a click and returns once it is durable.
    async fn append(&self, click: Click) -> Result<(), ClickLogError>;
}

/// Reads a log's last durable sequence number from any thread.
pub type DurableProbe = std::sync::Arc<dyn Fn() -> u64 + Send + Sync>;

/// Reads a click log back, for loading it into the store.
pub trait ClickLogReader: Send + 'static {
    /// The log's identity, under which the store keeps its checkpoint.
    fn log_id(&self) -> &str;
    /// The sequence number of the last durable click (0 when the log is empty).
    fn durable_seq(&self) -> u64;
    /// The same, readable from other threads while this reader is in use.
    fn durable_probe(&self) -> DurableProbe;
    /// Waits, blocking the thread, until a click after `seq` is durable or `timeout`
    /// passes; returns whether one is.
    fn wait_past(&self, seq: u64, timeout: std::time::Duration) -> bool;
    /// Reads up to `max` durable clicks after `seq`, in order.
    fn read_after(&mut self, seq: u64, max: usize) -> std::io::Result<Option<ClickBatch>>;
    /// Tells the log that clicks up to `seq` are in the store, so their files can go.
    fn release_through(&mut self, seq: u64) -> std::io::Result<()>;
}

/// Fingerprint of all stored programs: changes whenever any program changes, so that a
/// node can notice changes made by another node or by the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProgramsFingerprint {
    /// Number of programs.
    pub count: i64,
    /// Sum of their revisions (revisions only grow).
    pub revisions: i64,
}

/// Everything Tally keeps.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the store answers.
    async fn ping(&self) -> StoreResult<()>;

    /// Reads a setting.
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Stores a setting unless one exists, and returns the value that is stored, so
    /// that nodes racing to create a secret all end up with the same one.
    async fn setting_or_insert(&self, key: &str, value: &str, now: Timestamp) -> StoreResult<String>;

    /// Creates an account; a taken SID is a conflict.
    async fn insert_account(&self, account: &AccountRecord) -> StoreResult<()>;
    /// Finds an account.
    async fn account(&self, account_sid: &str) -> StoreResult<Option<AccountRecord>>;
    /// Counts accounts.
    async fn count_accounts(&self) -> StoreResult<i64>;

    /// Creates an API token.
    async fn insert_api_token(&self, token: &ApiTokenRecord) -> StoreResult<()>;
    /// Finds an API token by its public id.
    async fn api_token(&self, token_id: &str) -> StoreResult<Option<ApiTokenRecord>>;

    /// Creates a dashboard user; a taken name is a conflict.
    async fn insert_user(&self, user: &UserRecord) -> StoreResult<()>;
    /// Finds a dashboard user.
    async fn user(&self, username: &str) -> StoreResult<Option<UserRecord>>;
    /// Ends every dashboard session of a user that began before `since` (see
    /// [`UserRecord::sessions_since`]); an unknown user is no error.
    async fn end_sessions(&self, username: &str, since: Timestamp) -> StoreResult<()>;
    /// Counts a failed dashboard login of a name (by its keyed hash), and forgets every
    /// name's failures from before `forget_before`.
    async fn record_login_failure(&self, name_key: &str, at: Timestamp, forget_before: Timestamp) -> StoreResult<()>;
    /// A name's failed logins at or after `since`, oldest first.
    async fn login_failures(&self, name_key: &str, since: Timestamp) -> StoreResult<Vec<Timestamp>>;
    /// Forgets a name's failed logins (it logged in).
    async fn clear_login_failures(&self, name_key: &str) -> StoreResult<()>;

    /// Saves a program's canonical document for an account, in one transaction. A
    /// program owned by another account is a conflict.
    async fn save_program(
        &self,
        account_sid: &str,
        program_id: ProgramId,
        document: &str,
        now: Timestamp,
    ) -> StoreResult<SaveOutcome>;
    /// Loads one program.
    async fn program(&self, program_id: ProgramId) -> StoreResult<Option<StoredProgram>>;
    /// Loads all programs.
    async fn programs(&self) -> StoreResult<Vec<StoredProgram>>;
    /// The programs' fingerprint.
    async fn programs_fingerprint(&self) -> StoreResult<ProgramsFingerprint>;

    /// Loads a batch of clicks from a click log, in one transaction with the log's
    /// checkpoint: clicks at or before the checkpoint are skipped, so a batch loaded
    /// twice (after a crash between commit and acknowledgement) is stored once.
    async fn append_clicks(&self, batch: ClickBatch) -> StoreResult<()>;
    /// The last sequence number of a click log loaded into the store.
    async fn click_checkpoint(&self, log_id: &str) -> StoreResult<Option<u64>>;
    /// Reads up to `limit` clicks after `after`, in (time, insertion) order.
    async fn clicks_page(
        &self,
        query: &ClickQuery,
        after: Option<ClickCursor>,
        limit: u32,
    ) -> StoreResult<Vec<StoredClick>>;
    /// Counts a program's clicks.
    async fn count_clicks(&self, program: ProgramId) -> StoreResult<i64>;

    /// Reads the clicks of a click id (a journey id: repeat clicks in one click session
    /// share it), in time order.
    async fn clicks_by_click_id(&self, program: ProgramId, click_id: &str) -> StoreResult<Vec<Click>>;
    /// Reads the clicks of these visitors in `[since, until)`, in time order, at most `limit`.
    async fn clicks_of_visitors(
        &self,
        program: ProgramId,
        visitors: &[VisitorId],
        since: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Click>>;

    /// Records links between identifiers; links already known are kept as they are.
    async fn link_identities(&self, links: &[IdentityLinkRecord]) -> StoreResult<()>;
    /// The links of these identifiers: at most `per_key` of each, the oldest first, so a
    /// hub linked to thousands costs no more than that. Ordered by key, then time, then
    /// the other identifier.
    async fn identity_links(
        &self,
        program: ProgramId,
        keys: &[String],
        per_key: u32,
    ) -> StoreResult<Vec<IdentityLinkRecord>>;

    /// Stores a submission, its action when it made one, and the identity links it
    /// brought, in one transaction (one commit per conversion). An action whose
    /// (program, event type, order id) is taken is a conflict, and then nothing is written.
    async fn record_conversion(
        &self,
        submission: &SubmissionRecord,
        action: Option<&ActionRecord>,
        links: &[IdentityLinkRecord],
    ) -> StoreResult<()>;
    /// Forgets a customer (a privacy request): removes every identity link of its ids,
    /// and its id, email HMAC and raw submissions from actions and submissions, keeping
    /// their money. Returns what was changed.
    async fn forget_customer(&self, request: &ForgetCustomer) -> StoreResult<ForgetReport>;
    /// Approves up to `limit` pending actions whose locking instant is at or before
    /// `now`, each with an action update by `scheduler` for `LOCKING_DATE`, in one
    /// transaction; returns how many. An action is approved once, whoever runs this.
    async fn approve_due(&self, now: Timestamp, limit: u32) -> StoreResult<u64>;
    /// Applies a change to an action that is still in the expected state and not yet
    /// locked, with its update, in one transaction; returns whether it applied.
    async fn change_action(&self, change: &ActionChange) -> StoreResult<bool>;
    /// How many of an action's updates were made by someone other than the scheduler.
    async fn count_action_changes(&self, action_id: &str) -> StoreResult<u64>;
    /// An action's updates, oldest first.
    async fn action_updates(&self, action_id: &str) -> StoreResult<Vec<ActionUpdateRecord>>;
    /// Takes or renews the lease `name` for `holder` until `until`, if it is free,
    /// expired at `now`, or already `holder`'s; returns whether `holder` holds it.
    async fn acquire_lease(&self, name: &str, holder: &str, now: Timestamp, until: Timestamp) -> StoreResult<bool>;
    /// Approved real actions of partners in `program`, not on a statement, locked
    /// before `locked_before`, after action id `after` in id order, at most `limit`.
    async fn unstated_actions(
        &self,
        program: ProgramId,
        locked_before: Timestamp,
        after: &str,
        limit: u32,
    ) -> StoreResult<Vec<ActionRecord>>;
    /// Puts actions on the statement with `statement`'s key (program, partner,
    /// currency, statement date, payment date), made from `statement` unless it exists;
    /// only approved actions not yet on a statement move. Returns the statement's id.
    async fn put_on_statement(&self, statement: &StatementRecord, action_ids: &[String]) -> StoreResult<String>;
    /// A program's statements with their sums, of one partner or all, oldest first.
    async fn statements(&self, program: ProgramId, partner: Option<PartnerId>) -> StoreResult<Vec<StatementSummary>>;
    /// One statement with its sums.
    async fn statement(&self, statement_id: &str) -> StoreResult<Option<StatementSummary>>;
    /// The actions on a statement, in event order.
    async fn statement_actions(&self, statement_id: &str) -> StoreResult<Vec<ActionRecord>>;
    /// Marks a statement paid unless it already is; returns whether it changed.
    async fn mark_statement_paid(
        &self,
        statement_id: &str,
        at: Timestamp,
        by: &str,
        reference: Option<&str>,
    ) -> StoreResult<bool>;
    /// A partner's withdrawal setting in a program.
    async fn withdrawal(&self, program: ProgramId, partner: PartnerId) -> StoreResult<Option<WithdrawalRecord>>;
    /// Stores a partner's withdrawal setting, replacing the previous one.
    async fn save_withdrawal(&self, setting: &WithdrawalRecord) -> StoreResult<()>;
    /// The count, sale amount and payout of a partner's real, unreversed actions of
    /// one event type with an event in the period (made before `created_before`, if set).
    async fn partner_totals(&self, period: &PartnerPeriod) -> StoreResult<PeriodTotals>;
    /// Waits for the partner's turn to be priced among every process writing this
    /// store (see [`PartnerTurn`]).
    async fn partner_turn(&self, program: ProgramId, partner: PartnerId) -> StoreResult<PartnerTurn>;
    /// A page of actions matching the query, in its order.
    async fn list_actions(&self, query: &ActionQuery) -> StoreResult<Vec<ActionRecord>>;
    /// How many actions match the query, ignoring its paging.
    async fn count_actions(&self, query: &ActionQuery) -> StoreResult<u64>;
    /// A page of submissions matching the query.
    async fn list_submissions(&self, query: &SubmissionQuery) -> StoreResult<Vec<SubmissionRecord>>;
    /// How many submissions match the query, ignoring its paging.
    async fn count_submissions(&self, query: &SubmissionQuery) -> StoreResult<u64>;
    /// A page of action updates matching the query.
    async fn list_action_updates(&self, query: &UpdateQuery) -> StoreResult<Vec<ActionUpdateRecord>>;
    /// How many action updates match the query, ignoring its paging.
    async fn count_action_updates(&self, query: &UpdateQuery) -> StoreResult<u64>;
    /// Clicks of the click rollup, summed by the query's dimensions.
    async fn click_sums(&self, query: &RollupQuery) -> StoreResult<Vec<ClickSums>>;
    /// Actions of the action rollup, summed by the query's dimensions and currency.
    async fn action_sums(&self, query: &RollupQuery) -> StoreResult<Vec<ActionSums>>;
    /// Finds a submission of an account.
    async fn submission(&self, account_sid: &str, submission_id: &str) -> StoreResult<Option<SubmissionRecord>>;
    /// Finds an action.
    async fn action(&self, action_id: &str) -> StoreResult<Option<ActionRecord>>;
    /// Finds several actions at once, in no particular order; unknown ids are left out.
    async fn actions_by_id(&self, action_ids: &[String]) -> StoreResult<Vec<ActionRecord>>;
    /// Finds the action of an order.
    async fn action_by_order(
        &self,
        program: ProgramId,
        event_type: EventTypeId,
        order_id: &str,
    ) -> StoreResult<Option<ActionRecord>>;

    /// The first answer given under an idempotency key.
    async fn idempotent_answer(&self, account_sid: &str, key: &str) -> StoreResult<Option<IdempotencyRecord>>;
    /// Keeps the first answer given under an idempotency key; when another request
    /// stored one first, that one is kept and returned.
    async fn save_idempotent_answer(&self, record: &IdempotencyRecord) -> StoreResult<IdempotencyRecord>;

    // Whole-store listing and import, for `tally store copy`.

    /// Lists every setting, by key.
    async fn settings(&self) -> StoreResult<Vec<SettingRecord>>;
    /// Lists every account, by SID.
    async fn accounts(&self) -> StoreResult<Vec<AccountRecord>>;
    /// Lists every API token, by token id.
    async fn api_tokens(&self) -> StoreResult<Vec<ApiTokenRecord>>;
    /// Lists every dashboard user, by name.
    async fn users(&self) -> StoreResult<Vec<UserRecord>>;
    /// Lists every click log's checkpoint `(log id, last loaded sequence)`, by log id.
    async fn click_checkpoints(&self) -> StoreResult<Vec<(String, u64)>>;
    /// Reads up to `limit` clicks of every program whose insertion sequence is after
    /// `after_seq`, in insertion order (use `0` to start).
    async fn clicks_after(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<StoredClick>>;
    /// Writes a program exactly as given (revision and times kept); an existing program
    /// with the same id is a conflict.
    async fn import_program(&self, program: &StoredProgram) -> StoreResult<()>;
    /// Appends clicks in the given order, in one transaction, without touching any click
    /// log checkpoint.
    async fn import_clicks(&self, clicks: Vec<Click>, days: Vec<Date>) -> StoreResult<()>;
    /// Sets a click log's checkpoint, creating or replacing it.
    async fn import_click_checkpoint(&self, log_id: &str, seq: u64) -> StoreResult<()>;
    /// Reads up to `limit` submissions with ids after `after` (empty to start), by id.
    async fn submissions_after(&self, after: &str, limit: u32) -> StoreResult<Vec<SubmissionRecord>>;
    /// Reads up to `limit` actions with ids after `after` (empty to start), by id.
    async fn actions_after(&self, after: &str, limit: u32) -> StoreResult<Vec<ActionRecord>>;
    /// Lists every identity link, by (program, key, other).
    async fn all_identity_links(&self) -> StoreResult<Vec<IdentityLinkRecord>>;
    /// Lists every idempotency record, by (account, key).
    async fn idempotency_records(&self) -> StoreResult<Vec<IdempotencyRecord>>;
    /// Writes submissions and actions exactly as given, in one transaction.
    async fn import_conversions(&self, submissions: &[SubmissionRecord], actions: &[ActionRecord]) -> StoreResult<()>;
    /// Reads up to `limit` action updates with ids after `after` (empty to start), by id.
    async fn action_updates_after(&self, after: &str, limit: u32) -> StoreResult<Vec<ActionUpdateRecord>>;
    /// Writes action updates exactly as given, in one transaction.
    async fn import_action_updates(&self, updates: &[ActionUpdateRecord]) -> StoreResult<()>;
    /// Every statement, for a copy.
    async fn all_statements(&self) -> StoreResult<Vec<StatementRecord>>;
    /// Writes statements exactly as given, for a copy.
    async fn import_statements(&self, statements: &[StatementRecord]) -> StoreResult<()>;
    /// Every withdrawal setting, for a copy.
    async fn all_withdrawals(&self) -> StoreResult<Vec<WithdrawalRecord>>;

    /// Stores a new test action request, or one being copied.
    async fn insert_test_action_request(&self, request: &TestActionRequestRecord) -> StoreResult<()>;
    /// The test action requests of a program, newest first.
    async fn test_action_requests(&self, program: ProgramId) -> StoreResult<Vec<TestActionRequestRecord>>;
    /// Every test action request, for a copy, by id.
    async fn all_test_action_requests(&self) -> StoreResult<Vec<TestActionRequestRecord>>;
    /// Moves an `OPEN` request of the program to `state` with its action; false when
    /// there is no such open request (already resolved, or unknown).
    async fn resolve_test_action_request(
        &self,
        program: ProgramId,
        request_id: &str,
        state: &str,
        action_id: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Writes idempotency records exactly as given.
    async fn import_idempotency_records(&self, records: &[IdempotencyRecord]) -> StoreResult<()>;
}

/// The current time. Use cases read it through this port so tests can set it.
pub trait Clock: Send + Sync + 'static {
    /// Now, as a UTC instant.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until told to move, for tests.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<Timestamp>);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: Timestamp) -> Self {
        ManualClock(std::sync::Mutex::new(at))
    }

    /// Moves the clock.
    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
