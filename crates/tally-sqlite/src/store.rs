//! [`SqliteStore`]: the Store port on SQLite, one method per port operation.

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use tally_app::ports::{
    AccountRecord, ActionChange, ActionQuery, ActionRecord, ActionSums, ActionUpdateRecord, ApiTokenRecord, ClickBatch,
    ClickCursor, ClickQuery, ClickSums, ForgetCustomer, ForgetReport, IdempotencyRecord, IdentityLinkRecord,
    PartnerPeriod, PartnerTurn, ProgramsFingerprint, RollupQuery, SaveOutcome, SettingRecord, StatementRecord,
    StatementSummary, Store, StoreError, StoreResult, StoredClick, StoredProgram, SubmissionQuery, SubmissionRecord,
    TestActionRequestRecord, UpdateQuery, UserRecord, WithdrawalRecord,
};
use tally_app::rollup::click_days;
use tally_core::click::Click;
use tally_core::ids::{EventTypeId, PartnerId, ProgramId, VisitorId};
use tally_core::payout::PeriodTotals;

use crate::conversions::{
    self, ACTION_COLUMNS, IDEMPOTENCY_COLUMNS, IDENTITY_COLUMNS, SUBMISSION_COLUMNS, action_row, idempotency_row,
    identity_row, submission_row,
};

use crate::handle::SqliteStore;
use crate::records::{
    ACCOUNT_COLUMNS, API_TOKEN_COLUMNS, PROGRAM_COLUMNS, USER_COLUMNS, account_row, all, api_token_row, program_row,
    user_row,
};
use crate::requests;
use crate::rollups;
use crate::rows::{CLICK_COLUMNS, id_to_sql, insert_clicks, micros, stored_click, timestamp};
use crate::statements::{self, STATEMENT_COLUMNS, statement_row};

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|connection| connection.query_row("SELECT 1", [], |_| Ok(()))).await
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let key = key.to_owned();
        self.read(move |connection| {
            connection.query_row("SELECT value FROM setting WHERE key = ?1", [key], |row| row.get(0)).optional()
        })
        .await
    }

    async fn setting_or_insert(&self, key: &str, value: &str, now: Timestamp) -> StoreResult<String> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.write(move |connection| {
            connection.execute(
                "INSERT INTO setting (key, value, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO NOTHING",
                params![key, value, micros(now)],
            )?;
            connection.query_row("SELECT value FROM setting WHERE key = ?1", [key], |row| row.get(0))
        })
        .await
    }

    async fn insert_account(&self, account: &AccountRecord) -> StoreResult<()> {
        let account = account.clone();
        self.write(move |connection| {
            connection.execute(
                "INSERT INTO account (account_sid, name, auth_token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![account.account_sid, account.name, account.auth_token_hash, micros(account.created_at)],
            )?;
            Ok(())
        })
        .await
    }

    async fn account(&self, account_sid: &str) -> StoreResult<Option<AccountRecord>> {
        let sid = account_sid.to_owned();
        self.read(move |connection| {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE account_sid = ?1");
            connection.prepare_cached(&sql)?.query_row([sid], account_row).optional()
        })
        .await
    }

    async fn count_accounts(&self) -> StoreResult<i64> {
        self.read(|connection| connection.query_row("SELECT count(*) FROM account", [], |row| row.get(0))).await
    }

    async fn insert_api_token(&self, token: &ApiTokenRecord) -> StoreResult<()> {
        let token = token.clone();
        self.write(move |connection| {
            connection.execute(
                "INSERT INTO api_token (token_id, account_sid, partner_id, name, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    token.token_id,
                    token.account_sid,
                    token.partner.map(|partner| id_to_sql(partner.0)),
                    token.name,
                    token.secret_hash,
                    micros(token.created_at)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn api_token(&self, token_id: &str) -> StoreResult<Option<ApiTokenRecord>> {
        let token_id = token_id.to_owned();
        self.read(move |connection| {
            connection
                .query_row(
                    &format!("SELECT {API_TOKEN_COLUMNS} FROM api_token WHERE token_id = ?1"),
                    [token_id],
                    api_token_row,
                )
                .optional()
        })
        .await
    }

    async fn insert_user(&self, user: &UserRecord) -> StoreResult<()> {
        let user = user.clone();
        self.write(move |connection| {
            connection.execute(
                &format!("INSERT INTO dashboard_user ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                params![
                    user.username,
                    user.password_hash,
                    user.role,
                    user.account_sid,
                    user.partner.map(|partner| id_to_sql(partner.0)),
                    micros(user.created_at),
                    user.sessions_since.map(micros),
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn end_sessions(&self, username: &str, since: Timestamp) -> StoreResult<()> {
        let username = username.to_owned();
        self.write(move |connection| {
            let sql = "UPDATE dashboard_user SET sessions_since = ?2 WHERE username = ?1";
            connection.execute(sql, params![username, micros(since)]).map(drop)
        })
        .await
    }

    async fn record_login_failure(&self, name_key: &str, at: Timestamp, forget_before: Timestamp) -> StoreResult<()> {
        let name_key = name_key.to_owned();
        self.write(move |connection| {
            let transaction = connection.transaction()?;
            transaction.execute("DELETE FROM login_failure WHERE failed_at < ?1", params![micros(forget_before)])?;
            let sql = "INSERT INTO login_failure (name_key, failed_at) VALUES (?1, ?2)";
            transaction.execute(sql, params![name_key, micros(at)])?;
            transaction.commit()
        })
        .await
    }

    async fn login_failures(&self, name_key: &str, since: Timestamp) -> StoreResult<Vec<Timestamp>> {
        let name_key = name_key.to_owned();
        self.read(move |connection| {
            let sql = "SELECT failed_at FROM login_failure WHERE name_key = ?1 AND failed_at >= ?2 ORDER BY failed_at";
            let mut statement = connection.prepare_cached(sql)?;
            let rows = statement.query_map(params![name_key, micros(since)], |row| timestamp(row.get(0)?))?;
            rows.collect()
        })
        .await
    }

    async fn clear_login_failures(&self, name_key: &str) -> StoreResult<()> {
        let name_key = name_key.to_owned();
        self.write(move |connection| {
            connection.execute("DELETE FROM login_failure WHERE name_key = ?1", params![name_key]).map(drop)
        })
        .await
    }

    async fn user(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        let username = username.to_owned();
        self.read(move |connection| {
            connection
                .query_row(
                    &format!("SELECT {USER_COLUMNS} FROM dashboard_user WHERE username = ?1"),
                    [username],
                    user_row,
                )
                .optional()
        })
        .await
    }

    async fn save_program(
        &self,
        account_sid: &str,
        program_id: ProgramId,
        document: &str,
        now: Timestamp,
    ) -> StoreResult<SaveOutcome> {
        let (sid, document) = (account_sid.to_owned(), document.to_owned());
        let id = id_to_sql(program_id.0);
        let outcome = self
            .write(move |connection| {
                let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let existing: Option<(String, i64, String)> = transaction
                    .query_row("SELECT account_sid, revision, document FROM program WHERE program_id = ?1", [id], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })
                    .optional()?;
                let outcome = match existing {
                    None => {
                        transaction.execute(
                            "INSERT INTO program (program_id, account_sid, revision, document, created_at, updated_at) VALUES (?1, ?2, 1, ?3, ?4, ?4)",
                            params![id, sid, document, micros(now)],
                        )?;
                        Some(SaveOutcome::Created)
                    }
                    Some((owner, _, _)) if owner != sid => None,
                    Some((_, revision, stored)) if stored == document => Some(SaveOutcome::Unchanged(revision)),
                    Some((_, revision, _)) => {
                        transaction.execute(
                            "UPDATE program SET revision = ?2, document = ?3, updated_at = ?4 WHERE program_id = ?1",
                            params![id, revision + 1, document, micros(now)],
                        )?;
                        Some(SaveOutcome::Updated(revision + 1))
                    }
                };
                transaction.commit()?;
                Ok(outcome)
            })
            .await?;
        outcome.ok_or_else(|| StoreError::Conflict(format!("program {program_id} belongs to another account")))
    }

    async fn program(&self, program_id: ProgramId) -> StoreResult<Option<StoredProgram>> {
        let id = id_to_sql(program_id.0);
        self.read(move |connection| {
            connection
                .query_row(&format!("SELECT {PROGRAM_COLUMNS} FROM program WHERE program_id = ?1"), [id], program_row)
                .optional()
        })
        .await
    }

    async fn programs(&self) -> StoreResult<Vec<StoredProgram>> {
        self.read(|connection| {
            let mut statement =
                connection.prepare(&format!("SELECT {PROGRAM_COLUMNS} FROM program ORDER BY program_id"))?;
            let rows = statement.query_map([], program_row)?;
            rows.collect()
        })
        .await
    }

    async fn programs_fingerprint(&self) -> StoreResult<ProgramsFingerprint> {
        self.read(|connection| {
            connection.query_row("SELECT count(*), coalesce(sum(revision), 0) FROM program", [], |row| {
                Ok(ProgramsFingerprint { count: row.get(0)?, revisions: row.get(1)? })
            })
        })
        .await
    }

    async fn append_clicks(&self, batch: ClickBatch) -> StoreResult<()> {
        if batch.clicks.is_empty() {
            return Ok(());
        }
        self.write(move |connection| {
            let transaction = connection.transaction()?;
            let loaded_through: i64 = transaction
                .query_row("SELECT loaded_through FROM click_checkpoint WHERE log_id = ?1", [&batch.log_id], |row| row.get(0))
                .optional()?
                .unwrap_or(0);
            let already = (loaded_through + 1 - batch.first_seq as i64).clamp(0, batch.clicks.len() as i64) as usize;
            if already < batch.clicks.len() {
                let fresh = &batch.clicks[already..];
                insert_clicks(&transaction, fresh)?;
                let days = batch.days.get(already..).unwrap_or(&[]);
                rollups::add_click_days(&transaction, &click_days(fresh, days))?;
                transaction.execute(
                    "INSERT INTO click_checkpoint (log_id, loaded_through, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (log_id) DO UPDATE SET loaded_through = excluded.loaded_through, updated_at = excluded.updated_at",
                    params![batch.log_id, batch.last_seq() as i64, micros(Timestamp::now())],
                )?;
            }
            transaction.commit()
        })
        .await
    }

    async fn click_checkpoint(&self, log_id: &str) -> StoreResult<Option<u64>> {
        let log_id = log_id.to_owned();
        self.read(move |connection| {
            connection
                .query_row("SELECT loaded_through FROM click_checkpoint WHERE log_id = ?1", [log_id], |row| {
                    row.get::<_, i64>(0)
                })
                .optional()
                .map(|loaded| loaded.map(|seq| seq as u64))
        })
        .await
    }

    async fn clicks_page(
        &self,
        query: &ClickQuery,
        after: Option<ClickCursor>,
        limit: u32,
    ) -> StoreResult<Vec<StoredClick>> {
        let query = query.clone();
        self.read(move |connection| {
            // One lower bound, `max(since, cursor)`, lets SQLite seek to the cursor: with
            // two bounds it seeks on the first, checks the row value row by row from the
            // start of the range, and every page of an export reads all those before it.
            let sql = format!(
                "SELECT {CLICK_COLUMNS} FROM click
                 WHERE program_id = ?1 AND created_at >= max(?2, ?5) AND created_at < ?3
                   AND (?4 IS NULL OR owner_id = ?4) AND (created_at, click_seq) > (?5, ?6)
                 ORDER BY created_at, click_seq LIMIT ?7"
            );
            let mut statement = connection.prepare_cached(&sql)?;
            let (after_at, after_seq) =
                after.map(|cursor| (micros(cursor.at), cursor.seq)).unwrap_or((i64::MIN, i64::MIN));
            let rows = statement.query_map(
                params![
                    id_to_sql(query.program.0),
                    micros(query.since),
                    micros(query.until),
                    query.owner.map(|owner| id_to_sql(owner.0)),
                    after_at,
                    after_seq,
                    limit
                ],
                stored_click,
            )?;
            rows.collect()
        })
        .await
    }

    async fn count_clicks(&self, program: ProgramId) -> StoreResult<i64> {
        let id = id_to_sql(program.0);
        self.read(move |connection| {
            connection.query_row("SELECT count(*) FROM click WHERE program_id = ?1", [id], |row| row.get(0))
        })
        .await
    }

    async fn clicks_by_click_id(&self, program: ProgramId, click_id: &str) -> StoreResult<Vec<Click>> {
        let click_id = click_id.to_owned();
        self.read(move |connection| conversions::clicks_by_click_id(connection, program, &click_id)).await
    }

    async fn clicks_of_visitors(
        &self,
        program: ProgramId,
        visitors: &[VisitorId],
        since: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Click>> {
        let visitors = visitors.to_vec();
        let range = (micros(since), micros(until));
        self.read(move |connection| conversions::clicks_of_visitors(connection, program, &visitors, range, limit)).await
    }

    async fn link_identities(&self, links: &[IdentityLinkRecord]) -> StoreResult<()> {
        if links.is_empty() {
            return Ok(());
        }
        let links = links.to_vec();
        self.write(move |connection| {
            let transaction = connection.transaction()?;
            conversions::link_identities(&transaction, &links)?;
            transaction.commit()
        })
        .await
    }

    async fn identity_links(
        &self,
        program: ProgramId,
        keys: &[String],
        per_key: u32,
    ) -> StoreResult<Vec<IdentityLinkRecord>> {
        let keys = keys.to_vec();
        self.read(move |connection| conversions::identity_links(connection, program, &keys, per_key)).await
    }

    async fn record_conversion(
        &self,
        submission: &SubmissionRecord,
        action: Option<&ActionRecord>,
        links: &[IdentityLinkRecord],
    ) -> StoreResult<()> {
        let (submission, action, links) = (submission.clone(), action.cloned(), links.to_vec());
        self.write(move |connection| {
            let transaction = connection.transaction()?;
            conversions::record_conversion(&transaction, &submission, action.as_ref())?;
            conversions::link_identities(&transaction, &links)?;
            transaction.commit()
        })
        .await
    }

    async fn forget_customer(&self, request: &ForgetCustomer) -> StoreResult<ForgetReport> {
        let request = request.clone();
        self.write(move |connection| {
            let transaction = connection.transaction()?;
            let report = conversions::forget_customer(&transaction, &request)?;
            transaction.commit()?;
            Ok(report)
        })
        .await
    }

    async fn approve_due(&self, now: Timestamp, limit: u32) -> StoreResult<u64> {
        self.write(move |connection| {
            let transaction = connection.transaction()?;
            let approved = conversions::approve_due(&transaction, micros(now), limit)?;
            transaction.commit()?;
            Ok(approved)
        })
        .await
    }

    async fn change_action(&self, change: &ActionChange) -> StoreResult<bool> {
        let change = change.clone();
        self.write(move |connection| {
            let transaction = connection.transaction()?;
            let changed = conversions::change_action(&transaction, &change)?;
            transaction.commit()?;
            Ok(changed)
        })
        .await
    }

    async fn count_action_changes(&self, action_id: &str) -> StoreResult<u64> {
        let action_id = action_id.to_owned();
        self.read(move |connection| {
            connection
                .prepare_cached("SELECT count(*) FROM action_update WHERE action_id = ?1 AND actor <> 'scheduler'")?
                .query_row([action_id], |row| row.get::<_, i64>(0))
                .map(|count| count as u64)
        })
        .await
    }

    async fn action_updates(&self, action_id: &str) -> StoreResult<Vec<ActionUpdateRecord>> {
        let action_id = action_id.to_owned();
        self.read(move |connection| {
            let sql = format!(
                "SELECT {}, action.currency FROM action_update JOIN action USING (action_id)
                 WHERE action_update.action_id = ?1 ORDER BY updated_at, update_id",
                conversions::qualified_update_columns()
            );
            conversions::action_updates(connection, &sql, [action_id])
        })
        .await
    }

    async fn acquire_lease(&self, name: &str, holder: &str, now: Timestamp, until: Timestamp) -> StoreResult<bool> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |connection| conversions::acquire_lease(connection, &name, &holder, micros(now), micros(until)))
            .await
    }

    async fn submission(&self, account_sid: &str, submission_id: &str) -> StoreResult<Option<SubmissionRecord>> {
        let (account_sid, submission_id) = (account_sid.to_owned(), submission_id.to_owned());
        self.read(move |connection| {
            let sql =
                format!("SELECT {SUBMISSION_COLUMNS} FROM submission WHERE submission_id = ?1 AND account_sid = ?2");
            connection.prepare_cached(&sql)?.query_row(params![submission_id, account_sid], submission_row).optional()
        })
        .await
    }

    async fn unstated_actions(
        &self,
        program: ProgramId,
        locked_before: Timestamp,
        after: &str,
        limit: u32,
    ) -> StoreResult<Vec<ActionRecord>> {
        let after = after.to_owned();
        self.read(move |connection| statements::unstated_actions(connection, program, locked_before, &after, limit))
            .await
    }

    async fn put_on_statement(&self, statement: &StatementRecord, action_ids: &[String]) -> StoreResult<String> {
        let (statement, action_ids) = (statement.clone(), action_ids.to_vec());
        self.write(move |connection| {
            let transaction = connection.transaction()?;
            let id = statements::put_on_statement(&transaction, &statement, &action_ids)?;
            transaction.commit()?;
            Ok(id)
        })
        .await
    }

    async fn statements(&self, program: ProgramId, partner: Option<PartnerId>) -> StoreResult<Vec<StatementSummary>> {
        self.read(move |connection| statements::statements(connection, program, partner)).await
    }

    async fn statement(&self, statement_id: &str) -> StoreResult<Option<StatementSummary>> {
        let statement_id = statement_id.to_owned();
        self.read(move |connection| statements::statement(connection, &statement_id)).await
    }

    async fn statement_actions(&self, statement_id: &str) -> StoreResult<Vec<ActionRecord>> {
        let statement_id = statement_id.to_owned();
        self.read(move |connection| statements::statement_actions(connection, &statement_id)).await
    }

    async fn mark_statement_paid(
        &self,
        statement_id: &str,
        at: Timestamp,
        by: &str,
        reference: Option<&str>,
    ) -> StoreResult<bool> {
        let (statement_id, by, reference) = (statement_id.to_owned(), by.to_owned(), reference.map(str::to_owned));
        self.write(move |connection| statements::mark_paid(connection, &statement_id, at, &by, reference.as_deref()))
            .await
    }

    async fn withdrawal(&self, program: ProgramId, partner: PartnerId) -> StoreResult<Option<WithdrawalRecord>> {
        self.read(move |connection| statements::withdrawal(connection, program, partner)).await
    }

    async fn save_withdrawal(&self, setting: &WithdrawalRecord) -> StoreResult<()> {
        let setting = setting.clone();
        self.write(move |connection| statements::save_withdrawal(connection, &setting)).await
    }

    async fn partner_totals(&self, period: &PartnerPeriod) -> StoreResult<PeriodTotals> {
        let period = *period;
        self.read(move |connection| statements::partner_totals(connection, &period)).await
    }

    async fn partner_turn(&self, _program: ProgramId, _partner: PartnerId) -> StoreResult<PartnerTurn> {
        // One `tally serve` per SQLite file (its click journal beside the file is
        // locked), so the process's own turns are every turn.
        Ok(PartnerTurn::local())
    }

    async fn all_statements(&self) -> StoreResult<Vec<StatementRecord>> {
        self.read(|connection| {
            let sql = format!("SELECT {STATEMENT_COLUMNS} FROM statement ORDER BY statement_id");
            all(connection, &sql, statement_row)
        })
        .await
    }

    async fn import_statements(&self, imported: &[StatementRecord]) -> StoreResult<()> {
        let imported = imported.to_vec();
        self.write(move |connection| {
            let transaction = connection.transaction()?;
            for statement in &imported {
                statements::insert_statement(&transaction, statement)?;
            }
            transaction.commit()
        })
        .await
    }

    async fn all_withdrawals(&self) -> StoreResult<Vec<WithdrawalRecord>> {
        self.read(statements::all_withdrawals).await
    }

    async fn insert_test_action_request(&self, request: &TestActionRequestRecord) -> StoreResult<()> {
        let request = request.clone();
        self.write(move |connection| requests::insert(connection, &request)).await
    }

    async fn test_action_requests(&self, program: ProgramId) -> StoreResult<Vec<TestActionRequestRecord>> {
        self.read(move |connection| requests::of_program(connection, program)).await
    }

    async fn all_test_action_requests(&self) -> StoreResult<Vec<TestActionRequestRecord>> {
        self.read(requests::all).await
    }

    async fn resolve_test_action_request(
        &self,
        program: ProgramId,
        request_id: &str,
        state: &str,
        action_id: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let (request_id, state, action_id) = (request_id.to_owned(), state.to_owned(), action_id.map(str::to_owned));
        self.write(move |connection| {
            requests::resolve(connection, (program, &request_id), (&state, action_id.as_deref()), at)
        })
        .await
    }

    async fn list_actions(&self, query: &ActionQuery) -> StoreResult<Vec<ActionRecord>> {
        let query = query.clone();
        self.read(move |connection| conversions::list_actions(connection, &query)).await
    }

    async fn count_actions(&self, query: &ActionQuery) -> StoreResult<u64> {
        let query = query.clone();
        self.read(move |connection| conversions::count_actions(connection, &query)).await
    }

    async fn list_submissions(&self, query: &SubmissionQuery) -> StoreResult<Vec<SubmissionRecord>> {
        let query = query.clone();
        self.read(move |connection| conversions::list_submissions(connection, &query)).await
    }

    async fn count_submissions(&self, query: &SubmissionQuery) -> StoreResult<u64> {
        let query = query.clone();
        self.read(move |connection| conversions::count_submissions(connection, &query)).await
    }

    async fn list_action_updates(&self, query: &UpdateQuery) -> StoreResult<Vec<ActionUpdateRecord>> {
        let query = query.clone();
        self.read(move |connection| conversions::list_action_updates(connection, &query)).await
    }

    async fn count_action_updates(&self, query: &UpdateQuery) -> StoreResult<u64> {
        let query = query.clone();
        self.read(move |connection| conversions::count_action_updates(connection, &query)).await
    }

    async fn click_sums(&self, query: &RollupQuery) -> StoreResult<Vec<ClickSums>> {
        let query = query.clone();
        self.read(move |connection| rollups::click_sums(connection, &query)).await
    }

    async fn action_sums(&self, query: &RollupQuery) -> StoreResult<Vec<ActionSums>> {
        let query = query.clone();
        self.read(move |connection| rollups::action_sums(connection, &query)).await
    }

    async fn action(&self, action_id: &str) -> StoreResult<Option<ActionRecord>> {
        let action_id = action_id.to_owned();
        self.read(move |connection| {
            let sql = format!("SELECT {ACTION_COLUMNS} FROM action WHERE action_id = ?1");
            connection.prepare_cached(&sql)?.query_row([action_id], action_row).optional()
        })
        .await
    }

    async fn actions_by_id(&self, action_ids: &[String]) -> StoreResult<Vec<ActionRecord>> {
        // One parameter however many ids: a JSON array, read back by `json_each`.
        let ids = serde_json::to_string(action_ids).map_err(|error| StoreError::Unavailable(error.to_string()))?;
        self.read(move |connection| {
            let sql =
                format!("SELECT {ACTION_COLUMNS} FROM action WHERE action_id IN (SELECT value FROM json_each(?1))");
            connection.prepare_cached(&sql)?.query_map([ids], action_row)?.collect()
        })
        .await
    }

    async fn action_by_order(
        &self,
        program: ProgramId,
        event_type: EventTypeId,
        order_id: &str,
    ) -> StoreResult<Option<ActionRecord>> {
        let order_id = order_id.to_owned();
        self.read(move |connection| conversions::action_by_order(connection, program, event_type, &order_id)).await
    }

    async fn idempotent_answer(&self, account_sid: &str, key: &str) -> StoreResult<Option<IdempotencyRecord>> {
        let (account_sid, key) = (account_sid.to_owned(), key.to_owned());
        self.read(move |connection| conversions::idempotent_answer(connection, &account_sid, &key)).await
    }

    async fn save_idempotent_answer(&self, record: &IdempotencyRecord) -> StoreResult<IdempotencyRecord> {
        let record = record.clone();
        self.write(move |connection| {
            conversions::insert_idempotency(connection, &record)?;
            conversions::idempotent_answer(connection, &record.account_sid, &record.key)?
                .ok_or(rusqlite::Error::QueryReturnedNoRows)
        })
        .await
    }

    async fn settings(&self) -> StoreResult<Vec<SettingRecord>> {
        self.read(|connection| {
            all(connection, "SELECT key, value, created_at FROM setting ORDER BY key", |row| {
                Ok(SettingRecord { key: row.get(0)?, value: row.get(1)?, created_at: timestamp(row.get(2)?)? })
            })
        })
        .await
    }

    async fn accounts(&self) -> StoreResult<Vec<AccountRecord>> {
        self.read(|connection| {
            all(connection, &format!("SELECT {ACCOUNT_COLUMNS} FROM account ORDER BY account_sid"), account_row)
        })
        .await
    }

    async fn api_tokens(&self) -> StoreResult<Vec<ApiTokenRecord>> {
        self.read(|connection| {
            all(connection, &format!("SELECT {API_TOKEN_COLUMNS} FROM api_token ORDER BY token_id"), api_token_row)
        })
        .await
    }

    async fn users(&self) -> StoreResult<Vec<UserRecord>> {
        self.read(|connection| {
            all(connection, &format!("SELECT {USER_COLUMNS} FROM dashboard_user ORDER BY username"), user_row)
        })
        .await
    }

    async fn click_checkpoints(&self) -> StoreResult<Vec<(String, u64)>> {
        self.read(|connection| {
            all(connection, "SELECT log_id, loaded_through FROM click_checkpoint ORDER BY log_id", |row| {
                Ok((row.get(0)?, row.get::<_, i64>(1)? as u64))
            })
        })
        .await
    }

    async fn clicks_after(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<StoredClick>> {
        self.read(move |connection| {
            let sql = format!("SELECT {CLICK_COLUMNS} FROM click WHERE click_seq > ?1 ORDER BY click_seq LIMIT ?2");
            let mut statement = connection.prepare_cached(&sql)?;
            let rows = statement.query_map(params![after_seq, limit], stored_click)?;
            rows.collect()
        })
        .await
    }

    async fn import_program(&self, program: &StoredProgram) -> StoreResult<()> {
        let program = program.clone();
        self.write(move |connection| {
            connection.execute(
                "INSERT INTO program (program_id, account_sid, revision, document, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id_to_sql(program.program_id.0),
                    program.account_sid,
                    program.revision,
                    program.document,
                    micros(program.created_at),
                    micros(program.updated_at)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn import_clicks(&self, clicks: Vec<Click>, days: Vec<Date>) -> StoreResult<()> {
        if clicks.is_empty() {
            return Ok(());
        }
        self.write(move |connection| {
            let transaction = connection.transaction()?;
            insert_clicks(&transaction, &clicks)?;
            rollups::add_click_days(&transaction, &click_days(&clicks, &days))?;
            transaction.commit()
        })
        .await
    }

    async fn import_click_checkpoint(&self, log_id: &str, seq: u64) -> StoreResult<()> {
        let log_id = log_id.to_owned();
        self.write(move |connection| {
            connection.execute(
                "INSERT INTO click_checkpoint (log_id, loaded_through, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (log_id) DO UPDATE SET loaded_through = excluded.loaded_through, updated_at = excluded.updated_at",
                params![log_id, seq as i64, micros(Timestamp::now())],
            )?;
            Ok(())
        })
        .await
    }

    async fn submissions_after(&self, after: &str, limit: u32) -> StoreResult<Vec<SubmissionRecord>> {
        let after = after.to_owned();
        self.read(move |connection| {
            let sql = format!(
                "SELECT {SUBMISSION_COLUMNS} FROM submission WHERE submission_id > ?1 ORDER BY submission_id LIMIT ?2"
            );
            let mut statement = connection.prepare_cached(&sql)?;
            let rows = statement.query_map(params![after, limit], submission_row)?;
            rows.collect()
        })
        .await
    }

    async fn actions_after(&self, after: &str, limit: u32) -> StoreResult<Vec<ActionRecord>> {
        let after = after.to_owned();
        self.read(move |connection| {
            let sql = format!("SELECT {ACTION_COLUMNS} FROM action WHERE action_id > ?1 ORDER BY action_id LIMIT ?2");
            let mut statement = connection.prepare_cached(&sql)?;
            let rows = statement.query_map(params![after, limit], action_row)?;
            rows.collect()
        })
        .await
    }

    async fn all_identity_links(&self) -> StoreResult<Vec<IdentityLinkRecord>> {
        self.read(|connection| {
            let sql = format!("SELECT {IDENTITY_COLUMNS} FROM identity_link ORDER BY program_id, key, other");
            all(connection, &sql, identity_row)
        })
        .await
    }

    async fn idempotency_records(&self) -> StoreResult<Vec<IdempotencyRecord>> {
        self.read(|connection| {
            all(
                connection,
                &format!("SELECT {IDEMPOTENCY_COLUMNS} FROM idempotency ORDER BY account_sid, key"),
                idempotency_row,
            )
        })
        .await
    }

    async fn import_conversions(&self, submissions: &[SubmissionRecord], actions: &[ActionRecord]) -> StoreResult<()> {
        let (submissions, actions) = (submissions.to_vec(), actions.to_vec());
        self.write(move |connection| {
            let transaction = connection.transaction()?;
            for submission in &submissions {
                conversions::insert_submission(&transaction, submission)?;
            }
            for action in &actions {
                conversions::insert_action(&transaction, action)?;
            }
            transaction.commit()
        })
        .await
    }

    async fn action_updates_after(&self, after: &str, limit: u32) -> StoreResult<Vec<ActionUpdateRecord>> {
        let after = after.to_owned();
        self.read(move |connection| {
            let sql = format!(
                "SELECT {}, action.currency FROM action_update JOIN action USING (action_id)
                 WHERE update_id > ?1 ORDER BY update_id LIMIT ?2",
                conversions::qualified_update_columns()
            );
            conversions::action_updates(connection, &sql, params![after, limit])
        })
        .await
    }

    async fn import_action_updates(&self, updates: &[ActionUpdateRecord]) -> StoreResult<()> {
        let updates = updates.to_vec();
        self.write(move |connection| {
            let transaction = connection.transaction()?;
            for update in &updates {
                let currency: String = transaction.query_row(
                    "SELECT currency FROM action WHERE action_id = ?1",
                    [&update.action_id],
                    |row| row.get(0),
                )?;
                let currency = currency.parse().map_err(|_| rusqlite::Error::InvalidQuery)?;
                conversions::insert_action_update(&transaction, update, currency)?;
            }
            transaction.commit()
        })
        .await
    }

    async fn import_idempotency_records(&self, records: &[IdempotencyRecord]) -> StoreResult<()> {
        let records = records.to_vec();
        self.write(move |connection| {
            let transaction = connection.transaction()?;
            for record in &records {
                conversions::insert_idempotency(&transaction, record)?;
            }
            transaction.commit()
        })
        .await
    }
}
