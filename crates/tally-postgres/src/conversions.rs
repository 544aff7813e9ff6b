//! Rows of submissions, actions, identity links and idempotency records, mapped as in
//! tally-sqlite: money is `BIGINT` minor units of the row's currency.

use deadpool_postgres::Transaction;
use rust_decimal::Decimal;
use tally_app::ports::{
    ActionRecord, ActionUpdateRecord, IdempotencyRecord, IdentityLinkRecord, StoreError, StoreResult, SubmissionRecord,
};
use tally_app::rollup::utc_day;
use tally_core::click::OwnerKind;
use tally_core::ids::{AdId, EventTypeId, PartnerId, ProgramId};
use tally_core::money::Currency;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use crate::connect::describe;
use crate::rollups;
use crate::rows::{column, id_from_sql, id_to_sql, micros, time_column, timestamp};
use crate::write::store_error;

pub(crate) const SUBMISSION_COLUMNS: &str = "submission_id, account_sid, program_id, kind, channel, status, payload,
    content_type, received_at, error_type, error_reason, action_id, order_id, event_type_id, detail, customer_id,
    customer_email_hmac";

pub(crate) const ACTION_COLUMNS: &str = "action_id, program_id, event_type_id, order_id, event_at, created_at, state,
    owner_id, owner_kind, rule, ad_id, click_id, referring_at, referring_type, currency, sale_amount_minor,
    payout_minor, promo_code, customer_id, customer_email_hmac, customer_status, shared_id, sub_id1, sub_id2, sub_id3,
    submission_id, is_test, detail, locking_at, statement_id, event_day, device";

pub(crate) const IDENTITY_COLUMNS: &str = "program_id, key, other, source, linked_at";

pub(crate) const IDEMPOTENCY_COLUMNS: &str = "account_sid, key, fingerprint, status, response, created_at";

/// The unique index that makes an order id unique per event type (CONV_DUPLICATE).
const ACTION_ORDER_INDEX: &str = "action_order";

/// `$1, $2, …` for `count` parameters.
fn placeholders(count: usize) -> String {
    (1..=count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// An amount in minor units of its currency, computed on the decimal's integer
/// mantissa so that nothing is rounded. Amounts are rounded to the minor unit before
/// they reach the store, so this is exact; an amount with more digits (or too large for
/// 64 bits) is a bug of the caller and is refused as [`StoreError::Corrupt`] rather than
/// rounded. Not [`StoreError::Conflict`]: that means a taken order id to the callers of
/// `record_conversion`, and retrying cannot help, so not `Unavailable` either.
pub(crate) fn to_minor(amount: Decimal, currency: Currency, what: &str) -> StoreResult<i64> {
    let digits = currency.minor_unit_digits();
    let (mantissa, scale) = (amount.mantissa(), amount.scale());
    let minor = if scale <= digits {
        10_i128.checked_pow(digits - scale).and_then(|factor| mantissa.checked_mul(factor))
    } else {
        10_i128.checked_pow(scale - digits).filter(|divisor| mantissa % divisor == 0).map(|divisor| mantissa / divisor)
    };
    minor.and_then(|minor| i64::try_from(minor).ok()).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "{what} {amount} is not a whole number of {currency} minor units ({digits} decimals) within 64 bits; \
             amounts must be rounded before they are stored"
        ))
    })
}

/// An amount back from minor units of its currency.
pub(crate) fn from_minor(minor: i64, currency: Currency) -> StoreResult<Decimal> {
    Decimal::try_new(minor, currency.minor_unit_digits())
        .map_err(|error| StoreError::Corrupt(format!("amount {minor} in {currency} minor units: {error}")))
}

/// Maps a failed insert of an action: a taken (program, event type, order id) is a
/// conflict that names the order.
fn action_error(error: tokio_postgres::Error, action: &ActionRecord) -> StoreError {
    let taken_order = error
        .as_db_error()
        .is_some_and(|db| *db.code() == SqlState::UNIQUE_VIOLATION && db.constraint() == Some(ACTION_ORDER_INDEX));
    if taken_order {
        StoreError::Conflict(format!(
            "order id {:?} of event type {} in program {} already has an action ({})",
            action.order_id,
            action.event_type,
            action.program,
            describe(&error)
        ))
    } else {
        store_error(error)
    }
}

pub(crate) async fn insert_submission(transaction: &Transaction<'_>, submission: &SubmissionRecord) -> StoreResult<()> {
    let sql = format!("INSERT INTO submission ({SUBMISSION_COLUMNS}) VALUES ({})", placeholders(17));
    let statement = transaction.prepare_cached(&sql).await.map_err(store_error)?;
    let params: [&(dyn ToSql + Sync); 17] = [
        &submission.submission_id,
        &submission.account_sid,
        &submission.program.map(|program| id_to_sql(program.0)),
        &submission.kind,
        &submission.channel,
        &submission.status,
        &submission.payload,
        &submission.content_type,
        &micros(submission.received_at),
        &submission.error_type,
        &submission.error_reason,
        &submission.action_id,
        &submission.order_id,
        &submission.event_type.map(|event_type| id_to_sql(event_type.0)),
        &submission.detail,
        &submission.customer_id,
        &submission.customer_email_hmac,
    ];
    transaction.execute(&statement, &params).await.map_err(store_error).map(drop)
}

pub(crate) const ACTION_UPDATE_COLUMNS: &str = "update_id, action_id, program_id, updated_at, actor, from_state,
    to_state, delta_amount_minor, delta_payout_minor, reason";

/// The update columns qualified by table, for joins with `action`.
pub(crate) fn qualified_update_columns() -> String {
    ACTION_UPDATE_COLUMNS
        .split(',')
        .map(|column| format!("action_update.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a row selected with the update columns followed by the action's currency.
pub(crate) fn action_update_row(row: &Row) -> StoreResult<ActionUpdateRecord> {
    let code: String = column(row, 10)?;
    let currency: Currency = code.parse().map_err(|_| StoreError::Corrupt(format!("unknown currency {code:?}")))?;
    Ok(ActionUpdateRecord {
        update_id: column(row, 0)?,
        action_id: column(row, 1)?,
        program: ProgramId(id_from_sql(column(row, 2)?)),
        at: time_column(row, 3)?,
        actor: column(row, 4)?,
        from_state: column(row, 5)?,
        to_state: column(row, 6)?,
        delta_amount: from_minor(column(row, 7)?, currency)?,
        delta_payout: from_minor(column(row, 8)?, currency)?,
        reason: column(row, 9)?,
    })
}

/// Reads a row selected with [`SUBMISSION_COLUMNS`].
pub(crate) fn submission_row(row: &Row) -> StoreResult<SubmissionRecord> {
    Ok(SubmissionRecord {
        submission_id: column(row, 0)?,
        account_sid: column(row, 1)?,
        program: column::<Option<i64>>(row, 2)?.map(|id| ProgramId(id_from_sql(id))),
        kind: column(row, 3)?,
        channel: column(row, 4)?,
        status: column(row, 5)?,
        payload: column(row, 6)?,
        content_type: column(row, 7)?,
        received_at: time_column(row, 8)?,
        error_type: column(row, 9)?,
        error_reason: column(row, 10)?,
        action_id: column(row, 11)?,
        order_id: column(row, 12)?,
        event_type: column::<Option<i64>>(row, 13)?.map(|id| EventTypeId(id_from_sql(id))),
        detail: column(row, 14)?,
        customer_id: column(row, 15)?,
        customer_email_hmac: column(row, 16)?,
    })
}

pub(crate) async fn insert_action(transaction: &Transaction<'_>, action: &ActionRecord) -> StoreResult<()> {
    let sale_amount = to_minor(action.sale_amount, action.currency, "sale amount")?;
    let payout = to_minor(action.payout, action.currency, "payout")?;
    let sql = format!("INSERT INTO action ({ACTION_COLUMNS}) VALUES ({})", placeholders(32));
    let statement = transaction.prepare_cached(&sql).await.map_err(store_error)?;
    let [sub_id1, sub_id2, sub_id3] = &action.sub_ids;
    let event_day = action.event_day.to_string();
    let params: [&(dyn ToSql + Sync); 32] = [
        &action.action_id,
        &id_to_sql(action.program.0),
        &id_to_sql(action.event_type.0),
        &action.order_id,
        &micros(action.event_at),
        &micros(action.created_at),
        &action.state,
        &id_to_sql(action.owner.0),
        &action.owner_kind.as_str(),
        &action.rule,
        &action.ad.map(|ad| id_to_sql(ad.0)),
        &action.click_id,
        &action.referring_at.map(micros),
        &action.referring_type,
        &action.currency.code(),
        &sale_amount,
        &payout,
        &action.promo_code,
        &action.customer_id,
        &action.customer_email_hmac,
        &action.customer_status,
        &action.shared_id,
        sub_id1,
        sub_id2,
        sub_id3,
        &action.submission_id,
        &action.test,
        &action.detail,
        &action.locking_at.map(micros),
        &action.statement_id,
        &event_day,
        &action.device,
    ];
    transaction.execute(&statement, &params).await.map_err(|error| action_error(error, action))?;
    rollups::add_action_delta(transaction, &action.action_id, rollups::counts(&action.state), sale_amount, payout).await
}

/// Reads a row selected with [`ACTION_COLUMNS`].
pub(crate) fn action_row(row: &Row) -> StoreResult<ActionRecord> {
    let owner_kind: &str = column(row, 8)?;
    let currency_code: &str = column(row, 14)?;
    let currency: Currency =
        currency_code.parse().map_err(|_| StoreError::Corrupt(format!("unknown currency {currency_code:?}")))?;
    Ok(ActionRecord {
        action_id: column(row, 0)?,
        program: ProgramId(id_from_sql(column(row, 1)?)),
        event_type: EventTypeId(id_from_sql(column(row, 2)?)),
        order_id: column(row, 3)?,
        event_at: time_column(row, 4)?,
        created_at: time_column(row, 5)?,
        state: column(row, 6)?,
        owner: PartnerId(id_from_sql(column(row, 7)?)),
        owner_kind: OwnerKind::parse(owner_kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown owner kind {owner_kind:?}")))?,
        rule: column(row, 9)?,
        ad: column::<Option<i64>>(row, 10)?.map(|id| AdId(id_from_sql(id))),
        click_id: column(row, 11)?,
        referring_at: column::<Option<i64>>(row, 12)?.map(timestamp).transpose()?,
        referring_type: column(row, 13)?,
        currency,
        sale_amount: from_minor(column(row, 15)?, currency)?,
        payout: from_minor(column(row, 16)?, currency)?,
        promo_code: column(row, 17)?,
        customer_id: column(row, 18)?,
        customer_email_hmac: column(row, 19)?,
        customer_status: column(row, 20)?,
        shared_id: column(row, 21)?,
        sub_ids: [column(row, 22)?, column(row, 23)?, column(row, 24)?],
        submission_id: column(row, 25)?,
        test: column(row, 26)?,
        detail: column(row, 27)?,
        locking_at: column::<Option<i64>>(row, 28)?.map(timestamp).transpose()?,
        statement_id: column(row, 29)?,
        event_day: match column::<Option<&str>>(row, 30)? {
            Some(text) => text.parse().map_err(|_| StoreError::Corrupt(format!("malformed day {text:?}")))?,
            None => utc_day(time_column(row, 4)?),
        },
        device: column(row, 31)?,
    })
}

/// Reads a row selected with [`IDENTITY_COLUMNS`].
pub(crate) fn identity_row(row: &Row) -> StoreResult<IdentityLinkRecord> {
    Ok(IdentityLinkRecord {
        program: ProgramId(id_from_sql(column(row, 0)?)),
        key: column(row, 1)?,
        other: column(row, 2)?,
        source: column(row, 3)?,
        at: time_column(row, 4)?,
    })
}

/// One statement for a batch of links, one array per column, inserted in the given
/// order; links already stored, or earlier in the batch, are left as they are.
pub(crate) fn insert_links_sql() -> String {
    format!(
        "INSERT INTO identity_link ({IDENTITY_COLUMNS})
         SELECT {IDENTITY_COLUMNS}
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[])
         WITH ORDINALITY AS batch ({IDENTITY_COLUMNS}, position)
         ORDER BY position
         ON CONFLICT DO NOTHING"
    )
}

/// The links as the parameters of [`insert_links_sql`]: the first of each (program,
/// key, other) only, sorted by it, so that nodes linking the same identifiers at once
/// take the index's locks in the same order and cannot deadlock.
pub(crate) struct LinkArrays<'a> {
    programs: Vec<i64>,
    keys: Vec<&'a str>,
    others: Vec<&'a str>,
    sources: Vec<&'a str>,
    times: Vec<i64>,
}

impl<'a> LinkArrays<'a> {
    pub(crate) fn new(links: &'a [IdentityLinkRecord]) -> Self {
        let mut firsts: Vec<&IdentityLinkRecord> = links.iter().collect();
        // A stable sort keeps the first of equal links before the others, and `dedup_by`
        // keeps the first of each run.
        firsts.sort_by(|a, b| (a.program, &a.key, &a.other).cmp(&(b.program, &b.key, &b.other)));
        firsts.dedup_by(|later, first| {
            (later.program, &later.key, &later.other) == (first.program, &first.key, &first.other)
        });
        LinkArrays {
            programs: firsts.iter().map(|link| id_to_sql(link.program.0)).collect(),
            keys: firsts.iter().map(|link| link.key.as_str()).collect(),
            others: firsts.iter().map(|link| link.other.as_str()).collect(),
            sources: firsts.iter().map(|link| link.source.as_str()).collect(),
            times: firsts.iter().map(|link| micros(link.at)).collect(),
        }
    }

    /// The parameters, in the order of [`IDENTITY_COLUMNS`].
    pub(crate) fn params(&self) -> [&(dyn ToSql + Sync); 5] {
        [&self.programs, &self.keys, &self.others, &self.sources, &self.times]
    }
}

/// Reads a row selected with [`IDEMPOTENCY_COLUMNS`].
pub(crate) fn idempotency_row(row: &Row) -> StoreResult<IdempotencyRecord> {
    let status: i32 = column(row, 3)?;
    Ok(IdempotencyRecord {
        account_sid: column(row, 0)?,
        key: column(row, 1)?,
        fingerprint: column(row, 2)?,
        status: u16::try_from(status).map_err(|_| StoreError::Corrupt(format!("bad HTTP status {status}")))?,
        response: column(row, 4)?,
        created_at: time_column(row, 5)?,
    })
}

/// Stores an idempotency record unless one is stored under its (account, key), which
/// is kept; returns whether it was stored.
pub(crate) async fn insert_idempotency(transaction: &Transaction<'_>, record: &IdempotencyRecord) -> StoreResult<bool> {
    let sql = format!(
        "INSERT INTO idempotency ({IDEMPOTENCY_COLUMNS}) VALUES ({}) ON CONFLICT (account_sid, key) DO NOTHING",
        placeholders(6)
    );
    let statement = transaction.prepare_cached(&sql).await.map_err(store_error)?;
    let params: [&(dyn ToSql + Sync); 6] = [
        &record.account_sid,
        &record.key,
        &record.fingerprint,
        &i32::from(record.status),
        &record.response,
        &micros(record.created_at),
    ];
    Ok(transaction.execute(&statement, &params).await.map_err(store_error)? == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        code.parse().unwrap_or_else(|_| panic!("{code} is a currency"))
    }

    #[test]
    fn amounts_map_exactly_to_minor_units_and_back() {
        let cases = [
            ("USD", Decimal::new(10_050, 2), 10_050),
            ("USD", Decimal::new(1_005_000, 4), 10_050),
            ("USD", Decimal::new(-1_005, 2), -1_005),
            ("USD", Decimal::new(7, 0), 700),
            ("JPY", Decimal::new(12_345, 0), 12_345),
            ("JPY", Decimal::new(123_450, 1), 12_345),
            ("BHD", Decimal::new(1_234, 3), 1_234),
            ("USD", Decimal::ZERO, 0),
        ];
        for (code, amount, minor) in cases {
            assert_eq!(to_minor(amount, currency(code), "amount").ok(), Some(minor), "{amount} {code}");
            assert_eq!(from_minor(minor, currency(code)).ok(), Some(amount), "{minor} {code}");
        }
    }

    #[test]
    fn amounts_finer_than_the_minor_unit_or_too_large_are_refused_not_rounded() {
        let refused = [
            ("USD", Decimal::new(1_005, 3)),
            ("JPY", Decimal::new(1, 1)),
            ("USD", Decimal::MAX),
            ("JPY", Decimal::from(i64::MAX) + Decimal::ONE),
        ];
        for (code, amount) in refused {
            let outcome = to_minor(amount, currency(code), "payout");
            assert!(matches!(&outcome, Err(StoreError::Corrupt(message)) if message.contains("payout")), "{outcome:?}");
        }
    }
}
