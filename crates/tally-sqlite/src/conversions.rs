//! Rows of submissions, actions, identity links and idempotency records.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params, params_from_iter};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tally_app::ports::{
    ActionChange, ActionQuery, ActionRecord, ActionUpdateRecord, ForgetCustomer, ForgetReport, IdempotencyRecord,
    IdentityLinkRecord, SubmissionQuery, SubmissionRecord, UpdateQuery,
};
use tally_app::rollup::utc_day;
use tally_app::sql::{SqlValue, action_filter, action_order, submission_filter, submission_order, update_filter};
use tally_core::click::{Click, OwnerKind};
use tally_core::ids::{AdId, EventTypeId, PartnerId, ProgramId, VisitorId};
use tally_core::money::Currency;

use crate::rollups;
use crate::rows::{CLICK_COLUMNS, corrupt, id_from_sql, id_to_sql, micros, stored_click, timestamp};

pub(crate) const SUBMISSION_COLUMNS: &str = "submission_id, account_sid, program_id, kind, channel, status, payload,
    content_type, received_at, error_type, error_reason, action_id, order_id, event_type_id, detail, customer_id,
    customer_email_hmac";

pub(crate) const ACTION_COLUMNS: &str = "action_id, program_id, event_type_id, order_id, event_at, created_at, state,
    owner_id, owner_kind, rule, ad_id, click_id, referring_at, referring_type, currency, sale_amount_minor,
    payout_minor, promo_code, customer_id, customer_email_hmac, customer_status, shared_id, sub_id1, sub_id2, sub_id3,
    submission_id, is_test, detail, locking_at, statement_id, event_day, device";

pub(crate) const IDENTITY_COLUMNS: &str = "program_id, key, other, source, linked_at";

pub(crate) const IDEMPOTENCY_COLUMNS: &str = "account_sid, key, fingerprint, status, response, created_at";

/// `?1, ?2, …` for `count` parameters starting at `first`.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("?{n}")).collect::<Vec<_>>().join(", ")
}

/// An amount in minor units of its currency. Amounts are rounded to the minor unit
/// before they are stored, so this is exact; anything else is refused, never rounded.
pub(crate) fn to_minor(amount: Decimal, currency: Currency) -> rusqlite::Result<i64> {
    let scale = Decimal::from(10_i64.pow(currency.minor_unit_digits()));
    let scaled = amount.checked_mul(scale).filter(|scaled| scaled.fract().is_zero());
    scaled.and_then(|scaled| scaled.to_i64()).ok_or_else(|| {
        rusqlite::Error::ToSqlConversionFailure(
            format!("{amount} is not a whole number of {currency} minor units").into(),
        )
    })
}

pub(crate) fn from_minor(minor: i64, currency: Currency) -> Decimal {
    Decimal::new(minor, currency.minor_unit_digits())
}

pub(crate) fn insert_submission(connection: &Connection, submission: &SubmissionRecord) -> rusqlite::Result<()> {
    connection
        .prepare_cached(&format!("INSERT INTO submission ({SUBMISSION_COLUMNS}) VALUES ({})", placeholders(1, 17)))?
        .execute(params![
            submission.submission_id,
            submission.account_sid,
            submission.program.map(|program| id_to_sql(program.0)),
            submission.kind,
            submission.channel,
            submission.status,
            submission.payload,
            submission.content_type,
            micros(submission.received_at),
            submission.error_type,
            submission.error_reason,
            submission.action_id,
            submission.order_id,
            submission.event_type.map(|event_type| id_to_sql(event_type.0)),
            submission.detail,
            submission.customer_id,
            submission.customer_email_hmac,
        ])?;
    Ok(())
}

pub(crate) fn submission_row(row: &Row<'_>) -> rusqlite::Result<SubmissionRecord> {
    Ok(SubmissionRecord {
        submission_id: row.get(0)?,
        account_sid: row.get(1)?,
        program: row.get::<_, Option<i64>>(2)?.map(|id| ProgramId(id_from_sql(id))),
        kind: row.get(3)?,
        channel: row.get(4)?,
        status: row.get(5)?,
        payload: row.get(6)?,
        content_type: row.get(7)?,
        received_at: timestamp(row.get(8)?)?,
        error_type: row.get(9)?,
        error_reason: row.get(10)?,
        action_id: row.get(11)?,
        order_id: row.get(12)?,
        event_type: row.get::<_, Option<i64>>(13)?.map(|id| EventTypeId(id_from_sql(id))),
        detail: row.get(14)?,
        customer_id: row.get(15)?,
        customer_email_hmac: row.get(16)?,
    })
}

pub(crate) fn insert_action(connection: &Connection, action: &ActionRecord) -> rusqlite::Result<()> {
    let [sub_id1, sub_id2, sub_id3] = &action.sub_ids;
    connection
        .prepare_cached(&format!("INSERT INTO action ({ACTION_COLUMNS}) VALUES ({})", placeholders(1, 32)))?
        .execute(params![
            action.action_id,
            id_to_sql(action.program.0),
            id_to_sql(action.event_type.0),
            action.order_id,
            micros(action.event_at),
            micros(action.created_at),
            action.state,
            id_to_sql(action.owner.0),
            action.owner_kind.as_str(),
            action.rule,
            action.ad.map(|ad| id_to_sql(ad.0)),
            action.click_id,
            action.referring_at.map(micros),
            action.referring_type,
            action.currency.code(),
            to_minor(action.sale_amount, action.currency)?,
            to_minor(action.payout, action.currency)?,
            action.promo_code,
            action.customer_id,
            action.customer_email_hmac,
            action.customer_status,
            action.shared_id,
            sub_id1,
            sub_id2,
            sub_id3,
            action.submission_id,
            action.test,
            action.detail,
            action.locking_at.map(micros),
            action.statement_id,
            action.event_day.to_string(),
            action.device,
        ])?;
    let (sale, payout) = (to_minor(action.sale_amount, action.currency)?, to_minor(action.payout, action.currency)?);
    rollups::add_action_delta(connection, &action.action_id, rollups::counts(&action.state), sale, payout)
}

pub(crate) fn action_row(row: &Row<'_>) -> rusqlite::Result<ActionRecord> {
    let owner_kind: String = row.get(8)?;
    let currency_code: String = row.get(14)?;
    let currency: Currency =
        currency_code.parse().map_err(|_| corrupt(format!("unknown currency {currency_code:?}")))?;
    Ok(ActionRecord {
        action_id: row.get(0)?,
        program: ProgramId(id_from_sql(row.get(1)?)),
        event_type: EventTypeId(id_from_sql(row.get(2)?)),
        order_id: row.get(3)?,
        event_at: timestamp(row.get(4)?)?,
        created_at: timestamp(row.get(5)?)?,
        state: row.get(6)?,
        owner: PartnerId(id_from_sql(row.get(7)?)),
        owner_kind: OwnerKind::parse(&owner_kind)
            .ok_or_else(|| corrupt(format!("unknown owner kind {owner_kind:?}")))?,
        rule: row.get(9)?,
        ad: row.get::<_, Option<i64>>(10)?.map(|id| AdId(id_from_sql(id))),
        click_id: row.get(11)?,
        referring_at: row.get::<_, Option<i64>>(12)?.map(timestamp).transpose()?,
        referring_type: row.get(13)?,
        currency,
        sale_amount: from_minor(row.get(15)?, currency),
        payout: from_minor(row.get(16)?, currency),
        promo_code: row.get(17)?,
        customer_id: row.get(18)?,
        customer_email_hmac: row.get(19)?,
        customer_status: row.get(20)?,
        shared_id: row.get(21)?,
        sub_ids: [row.get(22)?, row.get(23)?, row.get(24)?],
        submission_id: row.get(25)?,
        test: row.get(26)?,
        detail: row.get(27)?,
        locking_at: row.get::<_, Option<i64>>(28)?.map(timestamp).transpose()?,
        statement_id: row.get(29)?,
        event_day: match row.get::<_, Option<String>>(30)? {
            Some(text) => text.parse().map_err(|_| corrupt(format!("malformed day {text:?}")))?,
            None => utc_day(timestamp(row.get(4)?)?),
        },
        device: row.get(31)?,
    })
}

pub(crate) fn record_conversion(
    transaction: &Transaction<'_>,
    submission: &SubmissionRecord,
    action: Option<&ActionRecord>,
) -> rusqlite::Result<()> {
    if let Some(action) = action {
        insert_action(transaction, action)?;
    }
    insert_submission(transaction, submission)
}

pub(crate) fn action_by_order(
    connection: &Connection,
    program: ProgramId,
    event_type: EventTypeId,
    order_id: &str,
) -> rusqlite::Result<Option<ActionRecord>> {
    let sql =
        format!("SELECT {ACTION_COLUMNS} FROM action WHERE program_id = ?1 AND event_type_id = ?2 AND order_id = ?3");
    connection.query_row(&sql, params![id_to_sql(program.0), id_to_sql(event_type.0), order_id], action_row).optional()
}

pub(crate) fn clicks_by_click_id(
    connection: &Connection,
    program: ProgramId,
    click_id: &str,
) -> rusqlite::Result<Vec<Click>> {
    // Named index: without statistics SQLite prefers the index that yields the order
    // (program and time) and reads every click of the program to find one id.
    let sql = format!(
        "SELECT {CLICK_COLUMNS} FROM click INDEXED BY click_program_click_id
         WHERE program_id = ?1 AND click_id = ?2 ORDER BY created_at, click_seq"
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(params![id_to_sql(program.0), click_id], |row| Ok(stored_click(row)?.click))?;
    rows.collect()
}

pub(crate) fn clicks_of_visitors(
    connection: &Connection,
    program: ProgramId,
    visitors: &[VisitorId],
    range: (i64, i64),
    limit: u32,
) -> rusqlite::Result<Vec<Click>> {
    if visitors.is_empty() {
        return Ok(Vec::new());
    }
    // Named index, as above: one range per visitor, then a sort of the few found.
    let sql = format!(
        "SELECT {CLICK_COLUMNS} FROM click INDEXED BY click_program_visitor_time
         WHERE program_id = ?1 AND created_at >= ?2 AND created_at < ?3
         AND visitor_id IN ({}) ORDER BY created_at, click_seq LIMIT ?4",
        placeholders(5, visitors.len())
    );
    let mut values: Vec<rusqlite::types::Value> =
        vec![id_to_sql(program.0).into(), range.0.into(), range.1.into(), i64::from(limit).into()];
    values.extend(visitors.iter().map(|visitor| visitor.as_str().to_owned().into()));
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(values), |row| Ok(stored_click(row)?.click))?;
    rows.collect()
}

pub(crate) fn link_identities(transaction: &Transaction<'_>, links: &[IdentityLinkRecord]) -> rusqlite::Result<()> {
    let mut statement = transaction.prepare_cached(&format!(
        "INSERT INTO identity_link ({IDENTITY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING"
    ))?;
    for link in links {
        statement.execute(params![id_to_sql(link.program.0), link.key, link.other, link.source, micros(link.at)])?;
    }
    Ok(())
}

pub(crate) fn identity_row(row: &Row<'_>) -> rusqlite::Result<IdentityLinkRecord> {
    Ok(IdentityLinkRecord {
        program: ProgramId(id_from_sql(row.get(0)?)),
        key: row.get(1)?,
        other: row.get(2)?,
        source: row.get(3)?,
        at: timestamp(row.get(4)?)?,
    })
}

pub(crate) fn identity_links(
    connection: &Connection,
    program: ProgramId,
    keys: &[String],
    per_key: u32,
) -> rusqlite::Result<Vec<IdentityLinkRecord>> {
    let mut keys: Vec<&String> = keys.iter().collect();
    keys.sort();
    keys.dedup();
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {IDENTITY_COLUMNS} FROM identity_link WHERE program_id = ?1 AND key = ?2
         ORDER BY linked_at, other LIMIT ?3"
    ))?;
    let mut links = Vec::new();
    for key in keys {
        let rows = statement.query_map(params![id_to_sql(program.0), key, per_key], identity_row)?;
        for row in rows {
            links.push(row?);
        }
    }
    Ok(links)
}

pub(crate) const ACTION_UPDATE_COLUMNS: &str = "update_id, action_id, program_id, updated_at, actor, from_state,
    to_state, delta_amount_minor, delta_payout_minor, reason";

/// Approves due pending actions with their updates (see `Store::approve_due`): two
/// set-based statements over the same rows, chosen in the order of the
/// `(state, locking_at, action_id)` index. The writer connection is the only writer,
/// so both statements see the same due actions.
pub(crate) fn approve_due(transaction: &Transaction<'_>, now: i64, limit: u32) -> rusqlite::Result<u64> {
    let due = "SELECT action_id FROM action WHERE state = 'PENDING' AND locking_at <= ?1
               ORDER BY state, locking_at, action_id LIMIT ?2";
    transaction
        .prepare_cached(&format!(
            "INSERT INTO action_update ({ACTION_UPDATE_COLUMNS})
             SELECT lower(hex(randomblob(16))), action_id, program_id, ?1, 'scheduler', 'PENDING', 'APPROVED', 0, 0,
                    'LOCKING_DATE'
             FROM action WHERE action_id IN ({due})"
        ))?
        .execute(params![now, limit])?;
    let approved = transaction
        .prepare_cached(&format!("UPDATE action SET state = 'APPROVED' WHERE action_id IN ({due})"))?
        .execute(params![now, limit])?;
    Ok(approved as u64)
}

/// Applies an action change (see `Store::change_action`).
pub(crate) fn change_action(transaction: &Transaction<'_>, change: &ActionChange) -> rusqlite::Result<bool> {
    let currency: Option<String> = transaction
        .prepare_cached("SELECT currency FROM action WHERE action_id = ?1")?
        .query_row([&change.update.action_id], |row| row.get(0))
        .optional()?;
    let Some(code) = currency else { return Ok(false) };
    let currency: Currency = code.parse().map_err(|_| corrupt(format!("unknown currency {code:?}")))?;
    let changed = transaction
        .prepare_cached(
            "UPDATE action SET state = ?2, sale_amount_minor = ?3, payout_minor = ?4, detail = coalesce(?7, detail),
                 locking_at = CASE WHEN ?2 = 'APPROVED' THEN ?6 ELSE locking_at END
             WHERE action_id = ?1 AND state = ?5 AND (locking_at IS NULL OR locking_at > ?6)",
        )?
        .execute(params![
            change.update.action_id,
            change.new_state,
            to_minor(change.sale_amount, currency)?,
            to_minor(change.payout, currency)?,
            change.expected_state,
            micros(change.unlocked_at),
            change.detail,
        ])?;
    if changed == 1 {
        insert_action_update(transaction, &change.update, currency)?;
        let actions = rollups::counts(&change.new_state) - rollups::counts(&change.expected_state);
        let (sale, payout) =
            (to_minor(change.update.delta_amount, currency)?, to_minor(change.update.delta_payout, currency)?);
        rollups::add_action_delta(transaction, &change.update.action_id, actions, sale, payout)?;
    }
    Ok(changed == 1)
}

/// Reads a row selected with [`ACTION_UPDATE_COLUMNS`]; amounts in the action's currency.
pub(crate) fn action_update_row(row: &Row<'_>, currency: Currency) -> rusqlite::Result<ActionUpdateRecord> {
    Ok(ActionUpdateRecord {
        update_id: row.get(0)?,
        action_id: row.get(1)?,
        program: ProgramId(id_from_sql(row.get(2)?)),
        at: timestamp(row.get(3)?)?,
        actor: row.get(4)?,
        from_state: row.get(5)?,
        to_state: row.get(6)?,
        delta_amount: from_minor(row.get(7)?, currency),
        delta_payout: from_minor(row.get(8)?, currency),
        reason: row.get(9)?,
    })
}

/// Reads action updates with their action's currency (selected as the last column).
pub(crate) fn action_updates(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<ActionUpdateRecord>> {
    let mut statement = connection.prepare_cached(sql)?;
    let rows = statement.query_map(params, |row| {
        let code: String = row.get(10)?;
        let currency: Currency = code.parse().map_err(|_| corrupt(format!("unknown currency {code:?}")))?;
        action_update_row(row, currency)
    })?;
    rows.collect()
}

pub(crate) fn insert_action_update(
    connection: &Connection,
    update: &ActionUpdateRecord,
    currency: Currency,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(&format!(
            "INSERT INTO action_update ({ACTION_UPDATE_COLUMNS}) VALUES ({})",
            placeholders(1, 10)
        ))?
        .execute(params![
            update.update_id,
            update.action_id,
            id_to_sql(update.program.0),
            micros(update.at),
            update.actor,
            update.from_state,
            update.to_state,
            to_minor(update.delta_amount, currency)?,
            to_minor(update.delta_payout, currency)?,
            update.reason,
        ])?;
    Ok(())
}

/// Takes or renews a lease (see `Store::acquire_lease`).
pub(crate) fn acquire_lease(
    connection: &Connection,
    name: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> rusqlite::Result<bool> {
    let changed = connection
        .prepare_cached(
            "INSERT INTO lease (name, holder, expires_at) VALUES (?1, ?2, ?4)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE lease.holder = excluded.holder OR lease.expires_at <= ?3",
        )?
        .execute(params![name, holder, now, until])?;
    Ok(changed == 1)
}

/// Forgets a customer in one transaction (see `Store::forget_customer`).
pub(crate) fn forget_customer(
    transaction: &Transaction<'_>,
    request: &ForgetCustomer,
) -> rusqlite::Result<ForgetReport> {
    let program = id_to_sql(request.program.0);
    let keys = serde_json::to_string(&request.keys).map_err(|error| corrupt(error.to_string()))?;
    let identity_links = transaction.execute(
        "DELETE FROM identity_link WHERE program_id = ?1
         AND (key IN (SELECT value FROM json_each(?2)) OR other IN (SELECT value FROM json_each(?2)))",
        params![program, keys],
    )?;
    let whose =
        "program_id = ?1 AND ((?2 IS NOT NULL AND customer_id = ?2) OR (?3 IS NOT NULL AND customer_email_hmac = ?3))";
    let (customer_id, email) = (&request.customer_id, &request.customer_email_hmac);
    let actions = transaction.execute(
        &format!(
            "UPDATE action SET customer_id = NULL, customer_email_hmac = NULL, detail = json_remove(detail, '$.identity')
             WHERE {whose}"
        ),
        params![program, customer_id, email],
    )?;
    let submissions = transaction.execute(
        &format!(
            "UPDATE submission SET payload = ?4, customer_id = NULL, customer_email_hmac = NULL,
             detail = json_remove(detail, '$.identity') WHERE {whose}"
        ),
        params![program, customer_id, email, request.payload_note],
    )?;
    Ok(ForgetReport { identity_links: identity_links as u64, actions: actions as u64, submissions: submissions as u64 })
}

pub(crate) fn idempotency_row(row: &Row<'_>) -> rusqlite::Result<IdempotencyRecord> {
    Ok(IdempotencyRecord {
        account_sid: row.get(0)?,
        key: row.get(1)?,
        fingerprint: row.get(2)?,
        status: row.get(3)?,
        response: row.get(4)?,
        created_at: timestamp(row.get(5)?)?,
    })
}

pub(crate) fn idempotent_answer(
    connection: &Connection,
    account_sid: &str,
    key: &str,
) -> rusqlite::Result<Option<IdempotencyRecord>> {
    let sql = format!("SELECT {IDEMPOTENCY_COLUMNS} FROM idempotency WHERE account_sid = ?1 AND key = ?2");
    connection.prepare_cached(&sql)?.query_row(params![account_sid, key], idempotency_row).optional()
}

pub(crate) fn insert_idempotency(connection: &Connection, record: &IdempotencyRecord) -> rusqlite::Result<()> {
    connection.execute(
        &format!(
            "INSERT INTO idempotency ({IDEMPOTENCY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING"
        ),
        params![
            record.account_sid,
            record.key,
            record.fingerprint,
            record.status,
            record.response,
            micros(record.created_at)
        ],
    )?;
    Ok(())
}

pub(crate) fn sql_params(values: Vec<SqlValue>) -> Vec<rusqlite::types::Value> {
    values
        .into_iter()
        .map(|value| match value {
            SqlValue::Int(number) => rusqlite::types::Value::Integer(number),
            SqlValue::Text(text) => rusqlite::types::Value::Text(text),
        })
        .collect()
}

fn numbered(n: usize) -> String {
    format!("?{n}")
}

/// A page of actions (see `Store::list_actions`).
pub(crate) fn list_actions(connection: &Connection, query: &ActionQuery) -> rusqlite::Result<Vec<ActionRecord>> {
    let filter = action_filter(query, &numbered);
    let sql = format!(
        "SELECT {ACTION_COLUMNS} FROM action WHERE {} ORDER BY {} LIMIT {} OFFSET {}",
        filter.condition,
        action_order(query),
        query.limit,
        query.offset
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(sql_params(filter.params)), action_row)?;
    rows.collect()
}

/// How many actions match (see `Store::count_actions`).
pub(crate) fn count_actions(connection: &Connection, query: &ActionQuery) -> rusqlite::Result<u64> {
    let filter = action_filter(query, &numbered);
    let sql = format!("SELECT count(*) FROM action WHERE {}", filter.condition);
    let count: i64 =
        connection.prepare_cached(&sql)?.query_row(params_from_iter(sql_params(filter.params)), |row| row.get(0))?;
    Ok(count as u64)
}

/// A page of submissions (see `Store::list_submissions`).
pub(crate) fn list_submissions(
    connection: &Connection,
    query: &SubmissionQuery,
) -> rusqlite::Result<Vec<SubmissionRecord>> {
    let filter = submission_filter(query, &numbered);
    let sql = format!(
        "SELECT {SUBMISSION_COLUMNS} FROM submission WHERE {} ORDER BY {} LIMIT {} OFFSET {}",
        filter.condition,
        submission_order(query),
        query.limit,
        query.offset
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(sql_params(filter.params)), submission_row)?;
    rows.collect()
}

/// How many submissions match (see `Store::count_submissions`).
pub(crate) fn count_submissions(connection: &Connection, query: &SubmissionQuery) -> rusqlite::Result<u64> {
    let filter = submission_filter(query, &numbered);
    let sql = format!("SELECT count(*) FROM submission WHERE {}", filter.condition);
    let count: i64 =
        connection.prepare_cached(&sql)?.query_row(params_from_iter(sql_params(filter.params)), |row| row.get(0))?;
    Ok(count as u64)
}

/// The update columns, qualified where the join with `action` would make them ambiguous.
pub(crate) fn qualified_update_columns() -> String {
    ACTION_UPDATE_COLUMNS
        .split(',')
        .map(|column| format!("action_update.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A page of action updates (see `Store::list_action_updates`).
pub(crate) fn list_action_updates(
    connection: &Connection,
    query: &UpdateQuery,
) -> rusqlite::Result<Vec<ActionUpdateRecord>> {
    let filter = update_filter(query, &numbered);
    let sql = format!(
        "SELECT {}, action.currency FROM action_update JOIN action USING (action_id)
         WHERE {} ORDER BY action_update.updated_at, action_update.update_id LIMIT {} OFFSET {}",
        qualified_update_columns(),
        filter.condition,
        query.limit,
        query.offset
    );
    action_updates(connection, &sql, params_from_iter(sql_params(filter.params)))
}

/// How many action updates match (see `Store::count_action_updates`).
pub(crate) fn count_action_updates(connection: &Connection, query: &UpdateQuery) -> rusqlite::Result<u64> {
    let filter = update_filter(query, &numbered);
    let sql = format!("SELECT count(*) FROM action_update JOIN action USING (action_id) WHERE {}", filter.condition);
    let count: i64 =
        connection.prepare_cached(&sql)?.query_row(params_from_iter(sql_params(filter.params)), |row| row.get(0))?;
    Ok(count as u64)
}
