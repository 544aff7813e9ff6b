//! The writes that decide on what is stored: each one transaction that locks the row
//! it decides on, so nodes writing at the same time agree.

use deadpool_postgres::Object;
use jiff::Timestamp;
use tally_app::ports::{
    ActionChange, ActionRecord, ActionUpdateRecord, ClickBatch, ForgetCustomer, ForgetReport, IdempotencyRecord,
    IdentityLinkRecord, SaveOutcome, StoreError, StoreResult, SubmissionRecord,
};
use tally_app::rollup::click_days;
use tally_core::money::Currency;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use crate::connect::describe;
use crate::conversions::{
    ACTION_UPDATE_COLUMNS, LinkArrays, insert_action, insert_idempotency, insert_links_sql, insert_submission, to_minor,
};
use crate::rollups;
use crate::rows::{ClickArrays, column, id_to_sql, insert_clicks_sql, micros};

/// Maps a failed query: a broken uniqueness or reference rule is a conflict (as in
/// tally-sqlite, where both are constraint violations), anything else means the store
/// could not do it.
pub(crate) fn store_error(error: tokio_postgres::Error) -> StoreError {
    let conflict = error
        .code()
        .is_some_and(|code| *code == SqlState::UNIQUE_VIOLATION || *code == SqlState::FOREIGN_KEY_VIOLATION);
    if conflict { StoreError::Conflict(describe(&error)) } else { StoreError::Unavailable(describe(&error)) }
}

/// Loads a batch after the log's checkpoint and moves the checkpoint, in one
/// transaction holding the checkpoint row's lock.
pub(crate) async fn load_batch(client: &mut Object, batch: &ClickBatch) -> StoreResult<()> {
    let transaction = client.transaction().await.map_err(store_error)?;
    let now = micros(Timestamp::now());
    transaction
        .execute(
            "INSERT INTO click_checkpoint (log_id, loaded_through, updated_at) VALUES ($1, 0, $2)
             ON CONFLICT (log_id) DO NOTHING",
            &[&batch.log_id, &now],
        )
        .await
        .map_err(store_error)?;
    let row = transaction
        .query_one("SELECT loaded_through FROM click_checkpoint WHERE log_id = $1 FOR UPDATE", &[&batch.log_id])
        .await
        .map_err(store_error)?;
    let loaded_through: i64 = column(&row, 0)?;
    let already = (loaded_through + 1 - batch.first_seq as i64).clamp(0, batch.clicks.len() as i64) as usize;
    if already == batch.clicks.len() {
        // Nothing new: roll back, so a log never loaded keeps no checkpoint.
        return transaction.rollback().await.map_err(store_error);
    }
    let insert = transaction.prepare_cached(&insert_clicks_sql()).await.map_err(store_error)?;
    let fresh = &batch.clicks[already..];
    let arrays = ClickArrays::new(fresh);
    transaction.execute(&insert, &arrays.params()).await.map_err(store_error)?;
    let days = batch.days.get(already..).unwrap_or(&[]);
    rollups::add_click_days(&transaction, &click_days(fresh, days)).await?;
    transaction
        .execute(
            "UPDATE click_checkpoint SET loaded_through = $2, updated_at = $3 WHERE log_id = $1",
            &[&batch.log_id, &(batch.last_seq() as i64), &now],
        )
        .await
        .map_err(store_error)?;
    transaction.commit().await.map_err(store_error)
}

/// Saves a program document; `None` when another account owns the program. The
/// insert waits for a concurrent creator, and the row lock for a concurrent updater.
pub(crate) async fn save_program(
    client: &mut Object,
    account_sid: &str,
    program_id: i64,
    document: &str,
    now: Timestamp,
) -> StoreResult<Option<SaveOutcome>> {
    let transaction = client.transaction().await.map_err(store_error)?;
    let created = transaction
        .execute(
            "INSERT INTO program (program_id, account_sid, revision, document, created_at, updated_at)
             VALUES ($1, $2, 1, $3, $4, $4) ON CONFLICT (program_id) DO NOTHING",
            &[&program_id, &account_sid, &document, &micros(now)],
        )
        .await
        .map_err(store_error)?;
    if created == 1 {
        transaction.commit().await.map_err(store_error)?;
        return Ok(Some(SaveOutcome::Created));
    }
    let row = transaction
        .query_one(
            "SELECT account_sid, revision, document FROM program WHERE program_id = $1 FOR UPDATE",
            &[&program_id],
        )
        .await
        .map_err(store_error)?;
    let (owner, revision, stored): (&str, i64, &str) = (column(&row, 0)?, column(&row, 1)?, column(&row, 2)?);
    let outcome = if owner != account_sid {
        None
    } else if stored == document {
        Some(SaveOutcome::Unchanged(revision))
    } else {
        transaction
            .execute(
                "UPDATE program SET revision = $2, document = $3, updated_at = $4 WHERE program_id = $1",
                &[&program_id, &(revision + 1), &document, &micros(now)],
            )
            .await
            .map_err(store_error)?;
        Some(SaveOutcome::Updated(revision + 1))
    };
    transaction.commit().await.map_err(store_error)?;
    Ok(outcome)
}

/// Stores a submission, its action and its identity links in one transaction. The
/// action goes first: when its order id is taken, the unique index refuses it, the
/// transaction is dropped (so rolled back) and nothing else is written either.
pub(crate) async fn record_conversion(
    client: &mut Object,
    submission: &SubmissionRecord,
    action: Option<&ActionRecord>,
    links: &[IdentityLinkRecord],
) -> StoreResult<()> {
    let transaction = client.transaction().await.map_err(store_error)?;
    if let Some(action) = action {
        insert_action(&transaction, action).await?;
    }
    insert_submission(&transaction, submission).await?;
    if !links.is_empty() {
        let arrays = LinkArrays::new(links);
        let statement = transaction.prepare_cached(&insert_links_sql()).await.map_err(store_error)?;
        transaction.execute(&statement, &arrays.params()).await.map_err(store_error)?;
    }
    transaction.commit().await.map_err(store_error)
}

/// Approves due pending actions with their updates in one statement: the rows are
/// locked as they are chosen (`SKIP LOCKED`), so two nodes running this at once approve
/// disjoint actions and record each approval once.
pub(crate) async fn approve_due(client: &Object, now: Timestamp, limit: u32) -> StoreResult<u64> {
    let sql = format!(
        "WITH due AS (
             SELECT action_id FROM action WHERE state = 'PENDING' AND locking_at <= $1
             ORDER BY state, locking_at, action_id LIMIT $2 FOR UPDATE SKIP LOCKED
         ), approved AS (
             UPDATE action SET state = 'APPROVED' FROM due WHERE action.action_id = due.action_id
             RETURNING action.action_id, action.program_id
         )
         INSERT INTO action_update ({ACTION_UPDATE_COLUMNS})
         SELECT md5(random()::text || clock_timestamp()::text || approved.action_id), approved.action_id,
                approved.program_id, $1, 'scheduler', 'PENDING', 'APPROVED', 0, 0, 'LOCKING_DATE'
         FROM approved"
    );
    client.execute(&sql, &[&micros(now), &i64::from(limit)]).await.map_err(store_error)
}

/// Applies an action change (see `Store::change_action`): the row is locked by the
/// conditional update, so two changes racing apply one after the other, or not at all.
pub(crate) async fn change_action(client: &mut Object, change: &ActionChange) -> StoreResult<bool> {
    let transaction = client.transaction().await.map_err(store_error)?;
    let Some(row) = transaction
        .query_opt("SELECT currency FROM action WHERE action_id = $1", &[&change.update.action_id])
        .await
        .map_err(store_error)?
    else {
        return Ok(false);
    };
    let code: String = column(&row, 0)?;
    let currency: Currency = code.parse().map_err(|_| StoreError::Corrupt(format!("unknown currency {code:?}")))?;
    let changed = transaction
        .execute(
            "UPDATE action SET state = $2, sale_amount_minor = $3, payout_minor = $4, detail = coalesce($7, detail),
                 locking_at = CASE WHEN $2 = 'APPROVED' THEN $6 ELSE locking_at END
             WHERE action_id = $1 AND state = $5 AND (locking_at IS NULL OR locking_at > $6)",
            &[
                &change.update.action_id,
                &change.new_state,
                &to_minor(change.sale_amount, currency, "sale amount")?,
                &to_minor(change.payout, currency, "payout")?,
                &change.expected_state,
                &micros(change.unlocked_at),
                &change.detail,
            ],
        )
        .await
        .map_err(store_error)?;
    if changed == 1 {
        insert_action_update(&transaction, &change.update, currency).await?;
        let actions = rollups::counts(&change.new_state) - rollups::counts(&change.expected_state);
        let sale = to_minor(change.update.delta_amount, currency, "sale amount change")?;
        let payout = to_minor(change.update.delta_payout, currency, "payout change")?;
        rollups::add_action_delta(&transaction, &change.update.action_id, actions, sale, payout).await?;
    }
    transaction.commit().await.map_err(store_error)?;
    Ok(changed == 1)
}

/// Writes action updates exactly as given, each in its action's currency.
pub(crate) async fn import_action_updates(client: &mut Object, updates: &[ActionUpdateRecord]) -> StoreResult<()> {
    let transaction = client.transaction().await.map_err(store_error)?;
    for update in updates {
        let row = transaction
            .query_one("SELECT currency FROM action WHERE action_id = $1", &[&update.action_id])
            .await
            .map_err(store_error)?;
        let code: String = column(&row, 0)?;
        let currency: Currency = code.parse().map_err(|_| StoreError::Corrupt(format!("unknown currency {code:?}")))?;
        insert_action_update(&transaction, update, currency).await?;
    }
    transaction.commit().await.map_err(store_error)
}

/// Writes one action update, its deltas in minor units of the action's currency.
async fn insert_action_update(
    transaction: &deadpool_postgres::Transaction<'_>,
    update: &ActionUpdateRecord,
    currency: Currency,
) -> StoreResult<()> {
    let insert =
        format!("INSERT INTO action_update ({ACTION_UPDATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
    let statement = transaction.prepare_cached(&insert).await.map_err(store_error)?;
    let params: [&(dyn ToSql + Sync); 10] = [
        &update.update_id,
        &update.action_id,
        &id_to_sql(update.program.0),
        &micros(update.at),
        &update.actor,
        &update.from_state,
        &update.to_state,
        &to_minor(update.delta_amount, currency, "delta amount")?,
        &to_minor(update.delta_payout, currency, "delta payout")?,
        &update.reason,
    ];
    transaction.execute(&statement, &params).await.map_err(store_error).map(drop)
}

/// Takes or renews a lease (see `Store::acquire_lease`).
pub(crate) async fn acquire_lease(
    client: &Object,
    name: &str,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> StoreResult<bool> {
    let changed = client
        .execute(
            "INSERT INTO lease (name, holder, expires_at) VALUES ($1, $2, $4)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE lease.holder = excluded.holder OR lease.expires_at <= $3",
            &[&name, &holder, &micros(now), &micros(until)],
        )
        .await
        .map_err(store_error)?;
    Ok(changed == 1)
}

/// Forgets a customer in one transaction (see `Store::forget_customer`).
pub(crate) async fn forget_customer(client: &mut Object, request: &ForgetCustomer) -> StoreResult<ForgetReport> {
    let transaction = client.transaction().await.map_err(store_error)?;
    let program = id_to_sql(request.program.0);
    let identity_links = transaction
        .execute(
            "DELETE FROM identity_link WHERE program_id = $1 AND (key = ANY($2) OR other = ANY($2))",
            &[&program, &request.keys],
        )
        .await
        .map_err(store_error)?;
    let whose = "program_id = $1 AND (($2::text IS NOT NULL AND customer_id = $2) \
                 OR ($3::text IS NOT NULL AND customer_email_hmac = $3))";
    let (customer_id, email) = (&request.customer_id, &request.customer_email_hmac);
    let actions = transaction
        .execute(
            &format!(
                "UPDATE action SET customer_id = NULL, customer_email_hmac = NULL,
                 detail = (detail::jsonb - 'identity')::text WHERE {whose}"
            ),
            &[&program, customer_id, email],
        )
        .await
        .map_err(store_error)?;
    let submissions = transaction
        .execute(
            &format!(
                "UPDATE submission SET payload = $4, customer_id = NULL, customer_email_hmac = NULL,
                 detail = (detail::jsonb - 'identity')::text WHERE {whose}"
            ),
            &[&program, customer_id, email, &request.payload_note],
        )
        .await
        .map_err(store_error)?;
    transaction.commit().await.map_err(store_error)?;
    Ok(ForgetReport { identity_links, actions, submissions })
}

/// Writes submissions and actions exactly as given, in one transaction.
pub(crate) async fn import_conversions(
    client: &mut Object,
    submissions: &[SubmissionRecord],
    actions: &[ActionRecord],
) -> StoreResult<()> {
    let transaction = client.transaction().await.map_err(store_error)?;
    for submission in submissions {
        insert_submission(&transaction, submission).await?;
    }
    for action in actions {
        insert_action(&transaction, action).await?;
    }
    transaction.commit().await.map_err(store_error)
}

/// Writes idempotency records in one transaction; a key already stored keeps its
/// record, as in tally-sqlite.
pub(crate) async fn import_idempotency_records(client: &mut Object, records: &[IdempotencyRecord]) -> StoreResult<()> {
    let transaction = client.transaction().await.map_err(store_error)?;
    for record in records {
        insert_idempotency(&transaction, record).await?;
    }
    transaction.commit().await.map_err(store_error)
}
