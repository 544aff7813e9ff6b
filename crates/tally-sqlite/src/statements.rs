//! Rows of statements and withdrawal settings, and the sums they are read with.

use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params, params_from_iter};
use rust_decimal::Decimal;
use tally_app::ports::{ActionRecord, PartnerPeriod, StatementRecord, StatementSummary, WithdrawalRecord};
use tally_core::ids::{PartnerId, ProgramId};
use tally_core::money::Currency;
use tally_core::payout::PeriodTotals;

use crate::conversions::{ACTION_COLUMNS, action_row, from_minor};
use crate::rows::{corrupt, id_from_sql, id_to_sql, micros, timestamp};

pub(crate) const STATEMENT_COLUMNS: &str = "statement_id, program_id, partner_id, currency, statement_date,
    scheduled_on, created_at, paid_at, paid_by, payment_reference";

const WITHDRAWAL_COLUMNS: &str = "program_id, partner_id, threshold, fixed_day, updated_at, updated_by";

/// A statement's columns qualified by table, then its sums over its actions.
fn summary_select() -> String {
    let columns: Vec<String> = STATEMENT_COLUMNS.split(',').map(|column| format!("s.{}", column.trim())).collect();
    format!(
        "SELECT {}, count(a.action_id), coalesce(sum(a.sale_amount_minor), 0), coalesce(sum(a.payout_minor), 0)
         FROM statement s LEFT JOIN action a ON a.statement_id = s.statement_id",
        columns.join(", ")
    )
}

fn date(text: String) -> rusqlite::Result<Date> {
    text.parse().map_err(|_| corrupt(format!("malformed date {text:?}")))
}

fn currency(code: String) -> rusqlite::Result<Currency> {
    code.parse().map_err(|_| corrupt(format!("unknown currency {code:?}")))
}

pub(crate) fn statement_row(row: &Row<'_>) -> rusqlite::Result<StatementRecord> {
    Ok(StatementRecord {
        statement_id: row.get(0)?,
        program: ProgramId(id_from_sql(row.get(1)?)),
        partner: PartnerId(id_from_sql(row.get(2)?)),
        currency: currency(row.get(3)?)?,
        statement_date: date(row.get(4)?)?,
        scheduled_on: date(row.get(5)?)?,
        created_at: timestamp(row.get(6)?)?,
        paid_at: row.get::<_, Option<i64>>(7)?.map(timestamp).transpose()?,
        paid_by: row.get(8)?,
        payment_reference: row.get(9)?,
    })
}

fn summary_row(row: &Row<'_>) -> rusqlite::Result<StatementSummary> {
    let statement = statement_row(row)?;
    let currency = statement.currency;
    Ok(StatementSummary {
        actions: row.get::<_, i64>(10)? as u64,
        sale_amount: from_minor(row.get(11)?, currency),
        payout: from_minor(row.get(12)?, currency),
        statement,
    })
}

pub(crate) fn insert_statement(connection: &Connection, statement: &StatementRecord) -> rusqlite::Result<()> {
    connection
        .prepare_cached(&format!(
            "INSERT INTO statement ({STATEMENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT DO NOTHING"
        ))?
        .execute(params![
            statement.statement_id,
            id_to_sql(statement.program.0),
            id_to_sql(statement.partner.0),
            statement.currency.code(),
            statement.statement_date.to_string(),
            statement.scheduled_on.to_string(),
            micros(statement.created_at),
            statement.paid_at.map(micros),
            statement.paid_by,
            statement.payment_reference,
        ])?;
    Ok(())
}

pub(crate) fn unstated_actions(
    connection: &Connection,
    program: ProgramId,
    locked_before: Timestamp,
    after: &str,
    limit: u32,
) -> rusqlite::Result<Vec<ActionRecord>> {
    // The predicate repeats the partial index's, so that SQLite uses it.
    let sql = format!(
        "SELECT {ACTION_COLUMNS} FROM action
         WHERE program_id = ?1 AND state = 'APPROVED' AND statement_id IS NULL AND NOT is_test
           AND owner_kind = 'partner' AND locking_at < ?2 AND action_id > ?3
         ORDER BY action_id LIMIT ?4"
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(params![id_to_sql(program.0), micros(locked_before), after, limit], action_row)?;
    rows.collect()
}

pub(crate) fn put_on_statement(
    transaction: &Transaction<'_>,
    statement: &StatementRecord,
    action_ids: &[String],
) -> rusqlite::Result<String> {
    insert_statement(transaction, statement)?;
    let id: String = transaction
        .prepare_cached(
            "SELECT statement_id FROM statement WHERE program_id = ?1 AND partner_id = ?2 AND currency = ?3
             AND statement_date = ?4 AND scheduled_on = ?5",
        )?
        .query_row(
            params![
                id_to_sql(statement.program.0),
                id_to_sql(statement.partner.0),
                statement.currency.code(),
                statement.statement_date.to_string(),
                statement.scheduled_on.to_string(),
            ],
            |row| row.get(0),
        )?;
    let mut assign = transaction.prepare_cached(
        "UPDATE action SET statement_id = ?1
         WHERE action_id = ?2 AND state = 'APPROVED' AND statement_id IS NULL AND NOT is_test",
    )?;
    for action_id in action_ids {
        assign.execute(params![id, action_id])?;
    }
    Ok(id)
}

pub(crate) fn statements(
    connection: &Connection,
    program: ProgramId,
    partner: Option<PartnerId>,
) -> rusqlite::Result<Vec<StatementSummary>> {
    let sql = format!(
        "{} WHERE s.program_id = ?1 AND (?2 IS NULL OR s.partner_id = ?2)
         GROUP BY s.statement_id ORDER BY s.statement_date, s.scheduled_on, s.partner_id, s.statement_id",
        summary_select()
    );
    let partner = partner.map(|partner| id_to_sql(partner.0));
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(params![id_to_sql(program.0), partner], summary_row)?;
    rows.collect()
}

pub(crate) fn statement(connection: &Connection, statement_id: &str) -> rusqlite::Result<Option<StatementSummary>> {
    let sql = format!("{} WHERE s.statement_id = ?1 GROUP BY s.statement_id", summary_select());
    connection.prepare_cached(&sql)?.query_row([statement_id], summary_row).optional()
}

pub(crate) fn statement_actions(connection: &Connection, statement_id: &str) -> rusqlite::Result<Vec<ActionRecord>> {
    let sql = format!("SELECT {ACTION_COLUMNS} FROM action WHERE statement_id = ?1 ORDER BY event_at, action_id");
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map([statement_id], action_row)?;
    rows.collect()
}

pub(crate) fn mark_paid(
    connection: &Connection,
    statement_id: &str,
    at: Timestamp,
    by: &str,
    reference: Option<&str>,
) -> rusqlite::Result<bool> {
    let changed = connection
        .prepare_cached(
            "UPDATE statement SET paid_at = ?2, paid_by = ?3, payment_reference = ?4
             WHERE statement_id = ?1 AND paid_at IS NULL",
        )?
        .execute(params![statement_id, micros(at), by, reference])?;
    Ok(changed == 1)
}

fn withdrawal_row(row: &Row<'_>) -> rusqlite::Result<WithdrawalRecord> {
    let threshold: Option<String> = row.get(2)?;
    Ok(WithdrawalRecord {
        program: ProgramId(id_from_sql(row.get(0)?)),
        partner: PartnerId(id_from_sql(row.get(1)?)),
        threshold: threshold
            .map(|text| text.parse::<Decimal>().map_err(|_| corrupt(format!("malformed threshold {text:?}"))))
            .transpose()?,
        fixed_day: row.get(3)?,
        updated_at: timestamp(row.get(4)?)?,
        updated_by: row.get(5)?,
    })
}

pub(crate) fn withdrawal(
    connection: &Connection,
    program: ProgramId,
    partner: PartnerId,
) -> rusqlite::Result<Option<WithdrawalRecord>> {
    let sql = format!("SELECT {WITHDRAWAL_COLUMNS} FROM withdrawal_setting WHERE program_id = ?1 AND partner_id = ?2");
    connection
        .prepare_cached(&sql)?
        .query_row(params![id_to_sql(program.0), id_to_sql(partner.0)], withdrawal_row)
        .optional()
}

pub(crate) fn all_withdrawals(connection: &Connection) -> rusqlite::Result<Vec<WithdrawalRecord>> {
    let sql = format!("SELECT {WITHDRAWAL_COLUMNS} FROM withdrawal_setting ORDER BY program_id, partner_id");
    let mut statement = connection.prepare(&sql)?;
    let rows = statement.query_map([], withdrawal_row)?;
    rows.collect()
}

pub(crate) fn save_withdrawal(connection: &Connection, setting: &WithdrawalRecord) -> rusqlite::Result<()> {
    connection
        .prepare_cached(&format!(
            "INSERT INTO withdrawal_setting ({WITHDRAWAL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (program_id, partner_id) DO UPDATE SET threshold = excluded.threshold,
                 fixed_day = excluded.fixed_day, updated_at = excluded.updated_at, updated_by = excluded.updated_by"
        ))?
        .execute(params![
            id_to_sql(setting.program.0),
            id_to_sql(setting.partner.0),
            setting.threshold.map(|threshold| threshold.to_string()),
            setting.fixed_day,
            micros(setting.updated_at),
            setting.updated_by,
        ])?;
    Ok(())
}

/// Sums in minor units, read back in the currency of the partner's actions (one per
/// program, so the first action's currency is theirs).
pub(crate) fn partner_totals(connection: &Connection, period: &PartnerPeriod) -> rusqlite::Result<PeriodTotals> {
    let sql = format!(
        "SELECT count(*), coalesce(sum(sale_amount_minor), 0), coalesce(sum(payout_minor), 0), min(currency)
         FROM action WHERE {ACTIONS_OF_PERIOD}"
    );
    let values = [
        id_to_sql(period.program.0),
        id_to_sql(period.partner.0),
        id_to_sql(period.event_type.0),
        micros(period.start),
        micros(period.end),
        period.created_before.map_or(i64::MAX, micros),
    ];
    let totals = connection.prepare_cached(&sql)?.query_row(params_from_iter(values), |row| {
        let count: i64 = row.get(0)?;
        let Some(code) = row.get::<_, Option<String>>(3)? else {
            return Ok(PeriodTotals::default());
        };
        let currency = currency(code)?;
        let (sale_amount, payout) = (from_minor(row.get(1)?, currency), from_minor(row.get(2)?, currency));
        Ok(PeriodTotals { actions: count as u64, sale_amount, payout, bonuses_paid: 0 })
    })?;
    if totals.actions == 0 || !period.with_bonuses {
        return Ok(totals);
    }
    // The bonus lines of the same actions. `instr` passes over the actions without
    // one before their detail is parsed.
    let sql = format!(
        "SELECT DISTINCT json_extract(line.value, '$.bonus')
         FROM action, json_each(action.detail, '$.payoutLines') AS line
         WHERE {ACTIONS_OF_PERIOD} AND instr(action.detail, '\"kind\":\"BONUS\"') > 0
           AND json_extract(line.value, '$.kind') = 'BONUS'"
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let indexes = statement.query_map(params_from_iter(values), |row| row.get::<_, Option<i64>>(0))?;
    let mut bonuses_paid = 0u64;
    for index in indexes {
        if let Some(index @ 0..64) = index? {
            bonuses_paid |= 1 << index;
        }
    }
    Ok(PeriodTotals { bonuses_paid, ..totals })
}

/// A partner's real, unreversed actions of one event type in a period, made before a
/// time: what tiers, limits and bonuses count.
const ACTIONS_OF_PERIOD: &str = "program_id = ?1 AND owner_id = ?2 AND event_type_id = ?3
    AND event_at >= ?4 AND event_at < ?5 AND state <> 'REVERSED' AND NOT is_test AND created_at < ?6";
