//! Rows of statements and withdrawal settings, mapped as in tally-sqlite: dates are
//! ISO 8601 text, sums are read in minor units of the statement's currency.

use deadpool_postgres::Object;
use jiff::civil::Date;
use rust_decimal::Decimal;
use tally_app::ports::{StatementRecord, StatementSummary, StoreError, StoreResult, WithdrawalRecord};
use tally_core::ids::{PartnerId, ProgramId};
use tally_core::money::Currency;
use tally_core::payout::PeriodTotals;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::conversions::from_minor;
use crate::rows::{column, id_from_sql, id_to_sql, micros, time_column, timestamp};
use crate::write::store_error;

pub(crate) const STATEMENT_COLUMNS: &str = "statement_id, program_id, partner_id, currency, statement_date,
    scheduled_on, created_at, paid_at, paid_by, payment_reference";

pub(crate) const WITHDRAWAL_COLUMNS: &str = "program_id, partner_id, threshold, fixed_day, updated_at, updated_by";

/// A statement's columns qualified by table, then its sums over its actions.
pub(crate) fn summary_select() -> String {
    let columns: Vec<String> = STATEMENT_COLUMNS.split(',').map(|column| format!("s.{}", column.trim())).collect();
    format!(
        "SELECT {}, count(a.action_id), coalesce(sum(a.sale_amount_minor), 0)::BIGINT,
                coalesce(sum(a.payout_minor), 0)::BIGINT
         FROM statement s LEFT JOIN action a ON a.statement_id = s.statement_id",
        columns.join(", ")
    )
}

fn date(row: &Row, index: usize) -> StoreResult<Date> {
    let text: &str = column(row, index)?;
    text.parse().map_err(|_| StoreError::Corrupt(format!("malformed date {text:?}")))
}

pub(crate) fn statement_row(row: &Row) -> StoreResult<StatementRecord> {
    let code: &str = column(row, 3)?;
    Ok(StatementRecord {
        statement_id: column(row, 0)?,
        program: ProgramId(id_from_sql(column(row, 1)?)),
        partner: PartnerId(id_from_sql(column(row, 2)?)),
        currency: code.parse().map_err(|_| StoreError::Corrupt(format!("unknown currency {code:?}")))?,
        statement_date: date(row, 4)?,
        scheduled_on: date(row, 5)?,
        created_at: time_column(row, 6)?,
        paid_at: column::<Option<i64>>(row, 7)?.map(timestamp).transpose()?,
        paid_by: column(row, 8)?,
        payment_reference: column(row, 9)?,
    })
}

pub(crate) fn summary_row(row: &Row) -> StoreResult<StatementSummary> {
    let statement = statement_row(row)?;
    let currency = statement.currency;
    Ok(StatementSummary {
        actions: column::<i64>(row, 10)? as u64,
        sale_amount: from_minor(column(row, 11)?, currency)?,
        payout: from_minor(column(row, 12)?, currency)?,
        statement,
    })
}

/// Inserts a statement unless one with its key (or id) exists.
pub(crate) async fn insert_statement(
    transaction: &deadpool_postgres::Transaction<'_>,
    statement: &StatementRecord,
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO statement ({STATEMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT DO NOTHING"
    );
    let (statement_date, scheduled_on) = (statement.statement_date.to_string(), statement.scheduled_on.to_string());
    let params: [&(dyn ToSql + Sync); 10] = [
        &statement.statement_id,
        &id_to_sql(statement.program.0),
        &id_to_sql(statement.partner.0),
        &statement.currency.code(),
        &statement_date,
        &scheduled_on,
        &micros(statement.created_at),
        &statement.paid_at.map(micros),
        &statement.paid_by,
        &statement.payment_reference,
    ];
    transaction.execute(&sql, &params).await.map_err(store_error).map(drop)
}

/// See `Store::put_on_statement`: one transaction, so a statement never exists half-filled
/// by one node while another fills it.
pub(crate) async fn put_on_statement(
    client: &mut Object,
    statement: &StatementRecord,
    action_ids: &[String],
) -> StoreResult<String> {
    let transaction = client.transaction().await.map_err(store_error)?;
    insert_statement(&transaction, statement).await?;
    let (statement_date, scheduled_on) = (statement.statement_date.to_string(), statement.scheduled_on.to_string());
    let row = transaction
        .query_one(
            "SELECT statement_id FROM statement WHERE program_id = $1 AND partner_id = $2 AND currency = $3
             AND statement_date = $4 AND scheduled_on = $5",
            &[
                &id_to_sql(statement.program.0),
                &id_to_sql(statement.partner.0),
                &statement.currency.code(),
                &statement_date,
                &scheduled_on,
            ],
        )
        .await
        .map_err(store_error)?;
    let id: String = column(&row, 0)?;
    transaction
        .execute(
            "UPDATE action SET statement_id = $1
             WHERE action_id = ANY($2) AND state = 'APPROVED' AND statement_id IS NULL AND NOT is_test",
            &[&id, &action_ids],
        )
        .await
        .map_err(store_error)?;
    transaction.commit().await.map_err(store_error)?;
    Ok(id)
}

pub(crate) fn withdrawal_row(row: &Row) -> StoreResult<WithdrawalRecord> {
    let threshold: Option<&str> = column(row, 2)?;
    Ok(WithdrawalRecord {
        program: ProgramId(id_from_sql(column(row, 0)?)),
        partner: PartnerId(id_from_sql(column(row, 1)?)),
        threshold: threshold
            .map(|text| {
                text.parse::<Decimal>().map_err(|_| StoreError::Corrupt(format!("malformed threshold {text:?}")))
            })
            .transpose()?,
        fixed_day: column::<Option<i64>>(row, 3)?.map(|day| day as u8),
        updated_at: time_column(row, 4)?,
        updated_by: column(row, 5)?,
    })
}

/// Sums of a partner's actions read back in their currency; `None` currency when none.
pub(crate) fn totals_row(row: &Row) -> StoreResult<PeriodTotals> {
    let count: i64 = column(row, 0)?;
    let Some(code) = column::<Option<&str>>(row, 3)? else {
        return Ok(PeriodTotals::default());
    };
    let currency: Currency = code.parse().map_err(|_| StoreError::Corrupt(format!("unknown currency {code:?}")))?;
    let (sale_amount, payout) = (from_minor(column(row, 1)?, currency)?, from_minor(column(row, 2)?, currency)?);
    Ok(PeriodTotals { actions: count as u64, sale_amount, payout, bonuses_paid: 0 })
}
