//! [`PostgresStore`]: the Store port on PostgreSQL.

use async_trait::async_trait;
use deadpool_postgres::{Object, Pool};
use jiff::Timestamp;
use jiff::civil::Date;
use tally_app::ports::{
    AccountRecord, ActionChange, ActionQuery, ActionRecord, ActionSums, ActionUpdateRecord, ApiTokenRecord, ClickBatch,
    ClickCursor, ClickQuery, ClickSums, ForgetCustomer, ForgetReport, IdempotencyRecord, IdentityLinkRecord,
    PartnerPeriod, PartnerTurn, ProgramsFingerprint, RollupQuery, SaveOutcome, SettingRecord, StatementRecord,
    StatementSummary, Store, StoreError, StoreResult, StoredClick, StoredProgram, SubmissionQuery, SubmissionRecord,
    TestActionRequestRecord, UpdateQuery, UserRecord, WithdrawalRecord,
};
use tally_app::sql::{
    Rollup, SqlValue, action_filter, action_order, rollup_sum, submission_filter, submission_order, update_filter,
};
use tally_core::click::Click;
use tally_core::ids::{EventTypeId, PartnerId, ProgramId, VisitorId};
use tally_core::payout::PeriodTotals;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::connect::{ConnectError, MAX_CONNECTIONS, classify, pool};
use crate::conversions::{
    ACTION_COLUMNS, IDEMPOTENCY_COLUMNS, IDENTITY_COLUMNS, LinkArrays, SUBMISSION_COLUMNS, action_row,
    action_update_row, idempotency_row, identity_row, insert_idempotency, insert_links_sql, qualified_update_columns,
    submission_row,
};
use crate::migrate::migrate;
use crate::rows::{
    CLICK_COLUMNS, ClickArrays, column, id_from_sql, id_to_sql, insert_clicks_sql, micros, stored_click, time_column,
    timestamp,
};
use crate::statements::{
    STATEMENT_COLUMNS, WITHDRAWAL_COLUMNS, insert_statement, put_on_statement, statement_row, summary_row,
    summary_select, totals_row, withdrawal_row,
};
use crate::turns::{self, TurnPlaces};
use crate::write::{
    acquire_lease, approve_due, change_action, forget_customer, import_action_updates, import_conversions,
    import_idempotency_records, load_batch, record_conversion, save_program, store_error,
};

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

fn numbered(n: usize) -> String {
    format!("${n}")
}

/// A built filter's values as owned SQL parameters.
fn bound(values: &[SqlValue]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    let owned = |value: &SqlValue| -> Box<dyn ToSql + Sync + Send> {
        match value {
            SqlValue::Int(number) => Box::new(*number),
            SqlValue::Text(text) => Box::new(text.clone()),
        }
    };
    values.iter().map(owned).collect()
}

fn param_refs(params: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|param| param.as_ref() as &(dyn ToSql + Sync)).collect()
}

/// Tally's store on a PostgreSQL server, shared by every node that names it.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    turn_places: TurnPlaces,
}

impl PostgresStore {
    /// Connects to the database named by a `postgres://` URL and brings its schema up
    /// to date. The database must exist.
    pub async fn connect(url: &str) -> Result<PostgresStore, ConnectError> {
        let (pool, target) = pool(url)?;
        let mut client = match pool.get().await {
            Ok(client) => client,
            Err(error) => return Err(classify(error, target)),
        };
        if let Err(source) = migrate(&mut client).await {
            return Err(ConnectError::Migrate { target, source });
        }
        Ok(PostgresStore { pool, turn_places: TurnPlaces::new(MAX_CONNECTIONS) })
    }

    async fn client(&self) -> StoreResult<Object> {
        self.pool.get().await.map_err(|error| StoreError::Unavailable(format!("no postgres connection: {error}")))
    }

    async fn query(&self, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(store_error)?;
        client.query(&statement, params).await.map_err(store_error)
    }

    /// Runs a `SELECT count(*)` with a built filter's parameters.
    async fn count(&self, sql: &str, values: &[SqlValue]) -> StoreResult<u64> {
        let params = bound(values);
        let rows = self.query(sql, &param_refs(&params)).await?;
        let count: i64 = rows.first().map(|row| column(row, 0)).transpose()?.unwrap_or(0);
        Ok(count as u64)
    }

    async fn query_opt(&self, sql: &str, params: Params<'_>) -> StoreResult<Option<Row>> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    async fn query_one(&self, sql: &str, params: Params<'_>) -> StoreResult<Row> {
        self.query_opt(sql, params).await?.ok_or_else(|| StoreError::Corrupt(format!("no row from {sql:?}")))
    }

    async fn execute(&self, sql: &str, params: Params<'_>) -> StoreResult<u64> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(store_error)?;
        client.execute(&statement, params).await.map_err(store_error)
    }
}

fn account_row(row: &Row) -> StoreResult<AccountRecord> {
    Ok(AccountRecord {
        account_sid: column(row, 0)?,
        name: column(row, 1)?,
        auth_token_hash: column(row, 2)?,
        created_at: time_column(row, 3)?,
    })
}

fn api_token_row(row: &Row) -> StoreResult<ApiTokenRecord> {
    Ok(ApiTokenRecord {
        token_id: column(row, 0)?,
        account_sid: column(row, 1)?,
        partner: column::<Option<i64>>(row, 2)?.map(|id| PartnerId(id_from_sql(id))),
        name: column(row, 3)?,
        secret_hash: column(row, 4)?,
        created_at: time_column(row, 5)?,
    })
}

fn user_row(row: &Row) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        username: column(row, 0)?,
        password_hash: column(row, 1)?,
        role: column(row, 2)?,
        account_sid: column(row, 3)?,
        partner: column::<Option<i64>>(row, 4)?.map(|id| PartnerId(id_from_sql(id))),
        created_at: time_column(row, 5)?,
        sessions_since: column::<Option<i64>>(row, 6)?.map(timestamp).transpose()?,
    })
}

const USER_COLUMNS: &str = "username, password_hash, role, account_sid, partner_id, created_at, sessions_since";

fn program_row(row: &Row) -> StoreResult<StoredProgram> {
    Ok(StoredProgram {
        program_id: ProgramId(id_from_sql(column(row, 0)?)),
        account_sid: column(row, 1)?,
        revision: column(row, 2)?,
        document: column(row, 3)?,
        updated_at: time_column(row, 4)?,
        created_at: time_column(row, 5)?,
    })
}

const PROGRAM_COLUMNS: &str = "program_id, account_sid, revision, document, updated_at, created_at";

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        self.query_one("SELECT 1", &[]).await.map(drop)
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let row = self.query_opt("SELECT value FROM setting WHERE key = $1", &[&key]).await?;
        row.map(|row| column(&row, 0)).transpose()
    }

    async fn setting_or_insert(&self, key: &str, value: &str, now: Timestamp) -> StoreResult<String> {
        self.execute(
            "INSERT INTO setting (key, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
            &[&key, &value, &micros(now)],
        )
        .await?;
        column(&self.query_one("SELECT value FROM setting WHERE key = $1", &[&key]).await?, 0)
    }

    async fn insert_account(&self, account: &AccountRecord) -> StoreResult<()> {
        self.execute(
            "INSERT INTO account (account_sid, name, auth_token_hash, created_at) VALUES ($1, $2, $3, $4)",
            &[&account.account_sid, &account.name, &account.auth_token_hash, &micros(account.created_at)],
        )
        .await
        .map(drop)
    }

    async fn account(&self, account_sid: &str) -> StoreResult<Option<AccountRecord>> {
        let sql = "SELECT account_sid, name, auth_token_hash, created_at FROM account WHERE account_sid = $1";
        self.query_opt(sql, &[&account_sid]).await?.as_ref().map(account_row).transpose()
    }

    async fn count_accounts(&self) -> StoreResult<i64> {
        column(&self.query_one("SELECT count(*) FROM account", &[]).await?, 0)
    }

    async fn insert_api_token(&self, token: &ApiTokenRecord) -> StoreResult<()> {
        self.execute(
            "INSERT INTO api_token (token_id, account_sid, partner_id, name, secret_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &token.token_id,
                &token.account_sid,
                &token.partner.map(|partner| id_to_sql(partner.0)),
                &token.name,
                &token.secret_hash,
                &micros(token.created_at),
            ],
        )
        .await
        .map(drop)
    }

    async fn api_token(&self, token_id: &str) -> StoreResult<Option<ApiTokenRecord>> {
        let sql = "SELECT token_id, account_sid, partner_id, name, secret_hash, created_at
                   FROM api_token WHERE token_id = $1";
        self.query_opt(sql, &[&token_id]).await?.as_ref().map(api_token_row).transpose()
    }

    async fn insert_user(&self, user: &UserRecord) -> StoreResult<()> {
        self.execute(
            &format!("INSERT INTO dashboard_user ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            &[
                &user.username,
                &user.password_hash,
                &user.role,
                &user.account_sid,
                &user.partner.map(|partner| id_to_sql(partner.0)),
                &micros(user.created_at),
                &user.sessions_since.map(micros),
            ],
        )
        .await
        .map(drop)
    }

    async fn user(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM dashboard_user WHERE username = $1");
        self.query_opt(&sql, &[&username]).await?.as_ref().map(user_row).transpose()
    }

    async fn end_sessions(&self, username: &str, since: Timestamp) -> StoreResult<()> {
        let sql = "UPDATE dashboard_user SET sessions_since = $2 WHERE username = $1";
        self.execute(sql, &[&username, &micros(since)]).await.map(drop)
    }

    async fn record_login_failure(&self, name_key: &str, at: Timestamp, forget_before: Timestamp) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(store_error)?;
        let forget = "DELETE FROM login_failure WHERE failed_at < $1";
        transaction.execute(forget, &[&micros(forget_before)]).await.map_err(store_error)?;
        let insert = "INSERT INTO login_failure (name_key, failed_at) VALUES ($1, $2)";
        transaction.execute(insert, &[&name_key, &micros(at)]).await.map_err(store_error)?;
        transaction.commit().await.map_err(store_error)
    }

    async fn login_failures(&self, name_key: &str, since: Timestamp) -> StoreResult<Vec<Timestamp>> {
        let sql = "SELECT failed_at FROM login_failure WHERE name_key = $1 AND failed_at >= $2 ORDER BY failed_at";
        self.query(sql, &[&name_key, &micros(since)]).await?.iter().map(|row| time_column(row, 0)).collect()
    }

    async fn clear_login_failures(&self, name_key: &str) -> StoreResult<()> {
        self.execute("DELETE FROM login_failure WHERE name_key = $1", &[&name_key]).await.map(drop)
    }

    async fn save_program(
        &self,
        account_sid: &str,
        program_id: ProgramId,
        document: &str,
        now: Timestamp,
    ) -> StoreResult<SaveOutcome> {
        let mut client = self.client().await?;
        let outcome = save_program(&mut client, account_sid, id_to_sql(program_id.0), document, now).await?;
        outcome.ok_or_else(|| StoreError::Conflict(format!("program {program_id} belongs to another account")))
    }

    async fn program(&self, program_id: ProgramId) -> StoreResult<Option<StoredProgram>> {
        let sql = format!("SELECT {PROGRAM_COLUMNS} FROM program WHERE program_id = $1");
        self.query_opt(&sql, &[&id_to_sql(program_id.0)]).await?.as_ref().map(program_row).transpose()
    }

    async fn programs(&self) -> StoreResult<Vec<StoredProgram>> {
        let sql = format!("SELECT {PROGRAM_COLUMNS} FROM program ORDER BY program_id");
        self.query(&sql, &[]).await?.iter().map(program_row).collect()
    }

    async fn programs_fingerprint(&self) -> StoreResult<ProgramsFingerprint> {
        // sum(bigint) is numeric in PostgreSQL; cast back so both backends read an i64.
        let row = self.query_one("SELECT count(*), coalesce(sum(revision), 0)::bigint FROM program", &[]).await?;
        Ok(ProgramsFingerprint { count: column(&row, 0)?, revisions: column(&row, 1)? })
    }

    async fn append_clicks(&self, batch: ClickBatch) -> StoreResult<()> {
        if batch.clicks.is_empty() {
            return Ok(());
        }
        load_batch(&mut self.client().await?, &batch).await
    }

    async fn click_checkpoint(&self, log_id: &str) -> StoreResult<Option<u64>> {
        let sql = "SELECT loaded_through FROM click_checkpoint WHERE log_id = $1";
        let row = self.query_opt(sql, &[&log_id]).await?;
        Ok(row.map(|row| column::<i64>(&row, 0)).transpose()?.map(|seq| seq as u64))
    }

    async fn clicks_page(
        &self,
        query: &ClickQuery,
        after: Option<ClickCursor>,
        limit: u32,
    ) -> StoreResult<Vec<StoredClick>> {
        let sql = format!(
            "SELECT {CLICK_COLUMNS} FROM click
             WHERE program_id = $1 AND created_at >= $2 AND created_at < $3
               AND ($4::bigint IS NULL OR owner_id = $4) AND (created_at, click_seq) > ($5, $6)
             ORDER BY created_at, click_seq LIMIT $7"
        );
        let (after_at, after_seq) = after.map(|cursor| (micros(cursor.at), cursor.seq)).unwrap_or((i64::MIN, i64::MIN));
        let params: [&(dyn ToSql + Sync); 7] = [
            &id_to_sql(query.program.0),
            &micros(query.since),
            &micros(query.until),
            &query.owner.map(|owner| id_to_sql(owner.0)),
            &after_at,
            &after_seq,
            &i64::from(limit),
        ];
        self.query(&sql, &params).await?.iter().map(stored_click).collect()
    }

    async fn count_clicks(&self, program: ProgramId) -> StoreResult<i64> {
        column(&self.query_one("SELECT count(*) FROM click WHERE program_id = $1", &[&id_to_sql(program.0)]).await?, 0)
    }

    async fn clicks_by_click_id(&self, program: ProgramId, click_id: &str) -> StoreResult<Vec<Click>> {
        let sql = format!(
            "SELECT {CLICK_COLUMNS} FROM click WHERE program_id = $1 AND click_id = $2 ORDER BY created_at, click_seq"
        );
        let rows = self.query(&sql, &[&id_to_sql(program.0), &click_id]).await?;
        rows.iter().map(|row| Ok(stored_click(row)?.click)).collect()
    }

    async fn clicks_of_visitors(
        &self,
        program: ProgramId,
        visitors: &[VisitorId],
        since: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Click>> {
        if visitors.is_empty() {
            return Ok(Vec::new());
        }
        // `created_at + 0` keeps the time range off the program's index by time: before
        // the table's statistics catch up with a bulk of new clicks, the planner takes
        // that index for the range and reads every click of the program. On the
        // visitors' index the range is a filter over a few clicks each.
        let sql = format!(
            "SELECT {CLICK_COLUMNS} FROM click
             WHERE program_id = $1 AND visitor_id = ANY($2) AND created_at + 0 >= $3 AND created_at + 0 < $4
             ORDER BY created_at, click_seq LIMIT $5"
        );
        let visitors: Vec<&str> = visitors.iter().map(VisitorId::as_str).collect();
        let params: [&(dyn ToSql + Sync); 5] =
            [&id_to_sql(program.0), &visitors, &micros(since), &micros(until), &i64::from(limit)];
        self.query(&sql, &params).await?.iter().map(|row| Ok(stored_click(row)?.click)).collect()
    }

    async fn link_identities(&self, links: &[IdentityLinkRecord]) -> StoreResult<()> {
        if links.is_empty() {
            return Ok(());
        }
        let arrays = LinkArrays::new(links);
        self.execute(&insert_links_sql(), &arrays.params()).await.map(drop)
    }

    async fn identity_links(
        &self,
        program: ProgramId,
        keys: &[String],
        per_key: u32,
    ) -> StoreResult<Vec<IdentityLinkRecord>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // Each key's oldest links through the (program, key, time) index, so that a hub
        // is read no further than `per_key` rows.
        let sql = format!(
            "SELECT link.* FROM (SELECT DISTINCT key FROM unnest($2::text[]) AS wanted (key)) AS wanted
             CROSS JOIN LATERAL (
                 SELECT {IDENTITY_COLUMNS} FROM identity_link
                 WHERE program_id = $1 AND identity_link.key = wanted.key
                 ORDER BY linked_at, other LIMIT $3
             ) AS link
             ORDER BY link.key, link.linked_at, link.other"
        );
        let params: [&(dyn ToSql + Sync); 3] = [&id_to_sql(program.0), &keys, &i64::from(per_key)];
        self.query(&sql, &params).await?.iter().map(identity_row).collect()
    }

    async fn record_conversion(
        &self,
        submission: &SubmissionRecord,
        action: Option<&ActionRecord>,
        links: &[IdentityLinkRecord],
    ) -> StoreResult<()> {
        record_conversion(&mut self.client().await?, submission, action, links).await
    }

    async fn approve_due(&self, now: Timestamp, limit: u32) -> StoreResult<u64> {
        approve_due(&self.client().await?, now, limit).await
    }

    async fn change_action(&self, change: &ActionChange) -> StoreResult<bool> {
        change_action(&mut self.client().await?, change).await
    }

    async fn count_action_changes(&self, action_id: &str) -> StoreResult<u64> {
        let sql = "SELECT count(*) FROM action_update WHERE action_id = $1 AND actor <> 'scheduler'";
        let rows = self.query(sql, &[&action_id]).await?;
        let count: i64 = rows.first().map(|row| column(row, 0)).transpose()?.unwrap_or(0);
        Ok(count as u64)
    }

    async fn action_updates(&self, action_id: &str) -> StoreResult<Vec<ActionUpdateRecord>> {
        let sql = format!(
            "SELECT {}, action.currency FROM action_update JOIN action USING (action_id)
             WHERE action_update.action_id = $1 ORDER BY updated_at, update_id",
            qualified_update_columns()
        );
        self.query(&sql, &[&action_id]).await?.iter().map(action_update_row).collect()
    }

    async fn acquire_lease(&self, name: &str, holder: &str, now: Timestamp, until: Timestamp) -> StoreResult<bool> {
        acquire_lease(&self.client().await?, name, holder, now, until).await
    }

    async fn forget_customer(&self, request: &ForgetCustomer) -> StoreResult<ForgetReport> {
        forget_customer(&mut self.client().await?, request).await
    }

    async fn submission(&self, account_sid: &str, submission_id: &str) -> StoreResult<Option<SubmissionRecord>> {
        let sql = format!("SELECT {SUBMISSION_COLUMNS} FROM submission WHERE submission_id = $1 AND account_sid = $2");
        self.query_opt(&sql, &[&submission_id, &account_sid]).await?.as_ref().map(submission_row).transpose()
    }

    async fn unstated_actions(
        &self,
        program: ProgramId,
        locked_before: Timestamp,
        after: &str,
        limit: u32,
    ) -> StoreResult<Vec<ActionRecord>> {
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM action
             WHERE program_id = $1 AND state = 'APPROVED' AND statement_id IS NULL AND NOT is_test
               AND owner_kind = 'partner' AND locking_at < $2 AND action_id > $3
             ORDER BY action_id LIMIT $4"
        );
        let params: [&(dyn ToSql + Sync); 4] =
            [&id_to_sql(program.0), &micros(locked_before), &after, &i64::from(limit)];
        self.query(&sql, &params).await?.iter().map(action_row).collect()
    }

    async fn put_on_statement(&self, statement: &StatementRecord, action_ids: &[String]) -> StoreResult<String> {
        put_on_statement(&mut self.client().await?, statement, action_ids).await
    }

    async fn statements(&self, program: ProgramId, partner: Option<PartnerId>) -> StoreResult<Vec<StatementSummary>> {
        let sql = format!(
            "{} WHERE s.program_id = $1 AND ($2::BIGINT IS NULL OR s.partner_id = $2)
             GROUP BY s.statement_id ORDER BY s.statement_date, s.scheduled_on, s.partner_id, s.statement_id",
            summary_select()
        );
        let partner = partner.map(|partner| id_to_sql(partner.0));
        self.query(&sql, &[&id_to_sql(program.0), &partner]).await?.iter().map(summary_row).collect()
    }

    async fn statement(&self, statement_id: &str) -> StoreResult<Option<StatementSummary>> {
        let sql = format!("{} WHERE s.statement_id = $1 GROUP BY s.statement_id", summary_select());
        self.query_opt(&sql, &[&statement_id]).await?.as_ref().map(summary_row).transpose()
    }

    async fn statement_actions(&self, statement_id: &str) -> StoreResult<Vec<ActionRecord>> {
        let sql = format!("SELECT {ACTION_COLUMNS} FROM action WHERE statement_id = $1 ORDER BY event_at, action_id");
        self.query(&sql, &[&statement_id]).await?.iter().map(action_row).collect()
    }

    async fn mark_statement_paid(
        &self,
        statement_id: &str,
        at: Timestamp,
        by: &str,
        reference: Option<&str>,
    ) -> StoreResult<bool> {
        let sql = "UPDATE statement SET paid_at = $2, paid_by = $3, payment_reference = $4
                   WHERE statement_id = $1 AND paid_at IS NULL";
        Ok(self.execute(sql, &[&statement_id, &micros(at), &by, &reference]).await? == 1)
    }

    async fn withdrawal(&self, program: ProgramId, partner: PartnerId) -> StoreResult<Option<WithdrawalRecord>> {
        let sql =
            format!("SELECT {WITHDRAWAL_COLUMNS} FROM withdrawal_setting WHERE program_id = $1 AND partner_id = $2");
        let row = self.query_opt(&sql, &[&id_to_sql(program.0), &id_to_sql(partner.0)]).await?;
        row.as_ref().map(withdrawal_row).transpose()
    }

    async fn save_withdrawal(&self, setting: &WithdrawalRecord) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO withdrawal_setting ({WITHDRAWAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (program_id, partner_id) DO UPDATE SET threshold = excluded.threshold,
                 fixed_day = excluded.fixed_day, updated_at = excluded.updated_at, updated_by = excluded.updated_by"
        );
        let threshold = setting.threshold.map(|threshold| threshold.to_string());
        let fixed_day = setting.fixed_day.map(i64::from);
        let params: [&(dyn ToSql + Sync); 6] = [
            &id_to_sql(setting.program.0),
            &id_to_sql(setting.partner.0),
            &threshold,
            &fixed_day,
            &micros(setting.updated_at),
            &setting.updated_by,
        ];
        self.execute(&sql, &params).await.map(drop)
    }

    async fn partner_totals(&self, period: &PartnerPeriod) -> StoreResult<PeriodTotals> {
        let sql = format!(
            "SELECT count(*), coalesce(sum(sale_amount_minor), 0)::BIGINT, coalesce(sum(payout_minor), 0)::BIGINT,
                    min(currency)
             FROM action WHERE {ACTIONS_OF_PERIOD}"
        );
        let params: [&(dyn ToSql + Sync); 6] = [
            &id_to_sql(period.program.0),
            &id_to_sql(period.partner.0),
            &id_to_sql(period.event_type.0),
            &micros(period.start),
            &micros(period.end),
            &period.created_before.map_or(i64::MAX, micros),
        ];
        let rows = self.query(&sql, &params).await?;
        let totals = rows.first().map(totals_row).transpose()?.unwrap_or_default();
        if totals.actions == 0 || !period.with_bonuses {
            return Ok(totals);
        }
        // The bonus lines of the same actions; `strpos` passes over the actions without
        // one before their detail is parsed.
        let sql = format!(
            "SELECT DISTINCT (line ->> 'bonus')::BIGINT
             FROM action, jsonb_array_elements(CASE WHEN jsonb_typeof(action.detail::jsonb -> 'payoutLines') = 'array'
                                                    THEN action.detail::jsonb -> 'payoutLines' ELSE '[]'::jsonb END) AS line
             WHERE {ACTIONS_OF_PERIOD} AND strpos(action.detail, '\"kind\":\"BONUS\"') > 0
               AND line ->> 'kind' = 'BONUS'"
        );
        let mut bonuses_paid = 0u64;
        for row in self.query(&sql, &params).await? {
            if let Some(index @ 0..64) = column::<Option<i64>>(&row, 0)? {
                bonuses_paid |= 1 << index;
            }
        }
        Ok(PeriodTotals { bonuses_paid, ..totals })
    }

    async fn partner_turn(&self, program: ProgramId, partner: PartnerId) -> StoreResult<PartnerTurn> {
        let place = self.turn_places.place().await?;
        turns::take(place, self.client().await?, program, partner).await
    }

    async fn all_statements(&self) -> StoreResult<Vec<StatementRecord>> {
        let sql = format!("SELECT {STATEMENT_COLUMNS} FROM statement ORDER BY statement_id");
        self.query(&sql, &[]).await?.iter().map(statement_row).collect()
    }

    async fn import_statements(&self, imported: &[StatementRecord]) -> StoreResult<()> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(store_error)?;
        for statement in imported {
            insert_statement(&transaction, statement).await?;
        }
        transaction.commit().await.map_err(store_error)
    }

    async fn all_withdrawals(&self) -> StoreResult<Vec<WithdrawalRecord>> {
        let sql = format!("SELECT {WITHDRAWAL_COLUMNS} FROM withdrawal_setting ORDER BY program_id, partner_id");
        self.query(&sql, &[]).await?.iter().map(withdrawal_row).collect()
    }

    async fn insert_test_action_request(&self, request: &TestActionRequestRecord) -> StoreResult<()> {
        let sql =
            format!("INSERT INTO test_action_request ({REQUEST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        let params: [&(dyn ToSql + Sync); 8] = [
            &request.request_id,
            &id_to_sql(request.program.0),
            &id_to_sql(request.partner.0),
            &request.note,
            &request.state,
            &request.action_id,
            &micros(request.created_at),
            &request.resolved_at.map(micros),
        ];
        self.execute(&sql, &params).await.map(drop)
    }

    async fn test_action_requests(&self, program: ProgramId) -> StoreResult<Vec<TestActionRequestRecord>> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM test_action_request WHERE program_id = $1 ORDER BY created_at DESC, request_id"
        );
        self.query(&sql, &[&id_to_sql(program.0)]).await?.iter().map(request_row).collect()
    }

    async fn all_test_action_requests(&self) -> StoreResult<Vec<TestActionRequestRecord>> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM test_action_request ORDER BY request_id");
        self.query(&sql, &[]).await?.iter().map(request_row).collect()
    }

    async fn resolve_test_action_request(
        &self,
        program: ProgramId,
        request_id: &str,
        state: &str,
        action_id: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let sql = "UPDATE test_action_request SET state = $3, action_id = $4, resolved_at = $5
                   WHERE program_id = $1 AND request_id = $2 AND state = 'OPEN'";
        let params: [&(dyn ToSql + Sync); 5] = [&id_to_sql(program.0), &request_id, &state, &action_id, &micros(at)];
        Ok(self.execute(sql, &params).await? == 1)
    }

    async fn list_actions(&self, query: &ActionQuery) -> StoreResult<Vec<ActionRecord>> {
        let filter = action_filter(query, &numbered);
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM action WHERE {} ORDER BY {} LIMIT {} OFFSET {}",
            filter.condition,
            action_order(query),
            query.limit,
            query.offset
        );
        let params = bound(&filter.params);
        self.query(&sql, &param_refs(&params)).await?.iter().map(action_row).collect()
    }

    async fn count_actions(&self, query: &ActionQuery) -> StoreResult<u64> {
        let filter = action_filter(query, &numbered);
        self.count(&format!("SELECT count(*) FROM action WHERE {}", filter.condition), &filter.params).await
    }

    async fn list_submissions(&self, query: &SubmissionQuery) -> StoreResult<Vec<SubmissionRecord>> {
        let filter = submission_filter(query, &numbered);
        let sql = format!(
            "SELECT {SUBMISSION_COLUMNS} FROM submission WHERE {} ORDER BY {} LIMIT {} OFFSET {}",
            filter.condition,
            submission_order(query),
            query.limit,
            query.offset
        );
        let params = bound(&filter.params);
        self.query(&sql, &param_refs(&params)).await?.iter().map(submission_row).collect()
    }

    async fn count_submissions(&self, query: &SubmissionQuery) -> StoreResult<u64> {
        let filter = submission_filter(query, &numbered);
        self.count(&format!("SELECT count(*) FROM submission WHERE {}", filter.condition), &filter.params).await
    }

    async fn list_action_updates(&self, query: &UpdateQuery) -> StoreResult<Vec<ActionUpdateRecord>> {
        let filter = update_filter(query, &numbered);
        let sql = format!(
            "SELECT {}, action.currency FROM action_update JOIN action USING (action_id)
             WHERE {} ORDER BY action_update.updated_at, action_update.update_id LIMIT {} OFFSET {}",
            qualified_update_columns(),
            filter.condition,
            query.limit,
            query.offset
        );
        let params = bound(&filter.params);
        self.query(&sql, &param_refs(&params)).await?.iter().map(action_update_row).collect()
    }

    async fn count_action_updates(&self, query: &UpdateQuery) -> StoreResult<u64> {
        let filter = update_filter(query, &numbered);
        let sql =
            format!("SELECT count(*) FROM action_update JOIN action USING (action_id) WHERE {}", filter.condition);
        self.count(&sql, &filter.params).await
    }

    async fn click_sums(&self, query: &RollupQuery) -> StoreResult<Vec<ClickSums>> {
        let (sql, values) = rollup_sum(Rollup::Clicks, query, &numbered);
        let params = bound(&values);
        let rows = self.query(&sql, &param_refs(&params)).await?;
        rows.iter().map(|row| crate::rollups::click_sums_row(row, query.by.len())).collect()
    }

    async fn action_sums(&self, query: &RollupQuery) -> StoreResult<Vec<ActionSums>> {
        let (sql, values) = rollup_sum(Rollup::Actions, query, &numbered);
        let params = bound(&values);
        let rows = self.query(&sql, &param_refs(&params)).await?;
        rows.iter().map(|row| crate::rollups::action_sums_row(row, query.by.len())).collect()
    }

    async fn action(&self, action_id: &str) -> StoreResult<Option<ActionRecord>> {
        let sql = format!("SELECT {ACTION_COLUMNS} FROM action WHERE action_id = $1");
        self.query_opt(&sql, &[&action_id]).await?.as_ref().map(action_row).transpose()
    }

    async fn actions_by_id(&self, action_ids: &[String]) -> StoreResult<Vec<ActionRecord>> {
        let sql = format!("SELECT {ACTION_COLUMNS} FROM action WHERE action_id = ANY($1)");
        self.query(&sql, &[&action_ids]).await?.iter().map(action_row).collect()
    }

    async fn action_by_order(
        &self,
        program: ProgramId,
        event_type: EventTypeId,
        order_id: &str,
    ) -> StoreResult<Option<ActionRecord>> {
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM action WHERE program_id = $1 AND event_type_id = $2 AND order_id = $3"
        );
        let params: [&(dyn ToSql + Sync); 3] = [&id_to_sql(program.0), &id_to_sql(event_type.0), &order_id];
        self.query_opt(&sql, &params).await?.as_ref().map(action_row).transpose()
    }

    async fn idempotent_answer(&self, account_sid: &str, key: &str) -> StoreResult<Option<IdempotencyRecord>> {
        let sql = format!("SELECT {IDEMPOTENCY_COLUMNS} FROM idempotency WHERE account_sid = $1 AND key = $2");
        self.query_opt(&sql, &[&account_sid, &key]).await?.as_ref().map(idempotency_row).transpose()
    }

    async fn save_idempotent_answer(&self, record: &IdempotencyRecord) -> StoreResult<IdempotencyRecord> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(store_error)?;
        if insert_idempotency(&transaction, record).await? {
            transaction.commit().await.map_err(store_error)?;
            return Ok(record.clone());
        }
        // Another request stored one first. The insert waited for it to commit, and
        // under READ COMMITTED this next statement sees it.
        let sql = format!("SELECT {IDEMPOTENCY_COLUMNS} FROM idempotency WHERE account_sid = $1 AND key = $2");
        let statement = transaction.prepare_cached(&sql).await.map_err(store_error)?;
        let row = transaction.query_one(&statement, &[&record.account_sid, &record.key]).await.map_err(store_error)?;
        let stored = idempotency_row(&row)?;
        transaction.commit().await.map_err(store_error)?;
        Ok(stored)
    }

    async fn settings(&self) -> StoreResult<Vec<SettingRecord>> {
        let rows = self.query("SELECT key, value, created_at FROM setting ORDER BY key", &[]).await?;
        rows.iter()
            .map(|row| {
                Ok(SettingRecord { key: column(row, 0)?, value: column(row, 1)?, created_at: time_column(row, 2)? })
            })
            .collect()
    }

    async fn accounts(&self) -> StoreResult<Vec<AccountRecord>> {
        let sql = "SELECT account_sid, name, auth_token_hash, created_at FROM account ORDER BY account_sid";
        self.query(sql, &[]).await?.iter().map(account_row).collect()
    }

    async fn api_tokens(&self) -> StoreResult<Vec<ApiTokenRecord>> {
        let sql = "SELECT token_id, account_sid, partner_id, name, secret_hash, created_at
                   FROM api_token ORDER BY token_id";
        self.query(sql, &[]).await?.iter().map(api_token_row).collect()
    }

    async fn users(&self) -> StoreResult<Vec<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM dashboard_user ORDER BY username");
        self.query(&sql, &[]).await?.iter().map(user_row).collect()
    }

    async fn click_checkpoints(&self) -> StoreResult<Vec<(String, u64)>> {
        let rows = self.query("SELECT log_id, loaded_through FROM click_checkpoint ORDER BY log_id", &[]).await?;
        rows.iter().map(|row| Ok((column(row, 0)?, column::<i64>(row, 1)? as u64))).collect()
    }

    async fn clicks_after(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<StoredClick>> {
        let sql = format!("SELECT {CLICK_COLUMNS} FROM click WHERE click_seq > $1 ORDER BY click_seq LIMIT $2");
        self.query(&sql, &[&after_seq, &i64::from(limit)]).await?.iter().map(stored_click).collect()
    }

    async fn import_program(&self, program: &StoredProgram) -> StoreResult<()> {
        self.execute(
            "INSERT INTO program (program_id, account_sid, revision, document, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &id_to_sql(program.program_id.0),
                &program.account_sid,
                &program.revision,
                &program.document,
                &micros(program.created_at),
                &micros(program.updated_at),
            ],
        )
        .await
        .map(drop)
    }

    async fn import_clicks(&self, clicks: Vec<Click>, days: Vec<Date>) -> StoreResult<()> {
        if clicks.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(store_error)?;
        let insert = transaction.prepare_cached(&insert_clicks_sql()).await.map_err(store_error)?;
        let arrays = ClickArrays::new(&clicks);
        transaction.execute(&insert, &arrays.params()).await.map_err(store_error)?;
        crate::rollups::add_click_days(&transaction, &tally_app::rollup::click_days(&clicks, &days)).await?;
        transaction.commit().await.map_err(store_error)
    }

    async fn import_click_checkpoint(&self, log_id: &str, seq: u64) -> StoreResult<()> {
        self.execute(
            "INSERT INTO click_checkpoint (log_id, loaded_through, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (log_id) DO UPDATE SET loaded_through = excluded.loaded_through, updated_at = excluded.updated_at",
            &[&log_id, &(seq as i64), &micros(Timestamp::now())],
        )
        .await
        .map(drop)
    }

    async fn submissions_after(&self, after: &str, limit: u32) -> StoreResult<Vec<SubmissionRecord>> {
        let sql = format!(
            "SELECT {SUBMISSION_COLUMNS} FROM submission WHERE submission_id > $1 ORDER BY submission_id LIMIT $2"
        );
        self.query(&sql, &[&after, &i64::from(limit)]).await?.iter().map(submission_row).collect()
    }

    async fn actions_after(&self, after: &str, limit: u32) -> StoreResult<Vec<ActionRecord>> {
        let sql = format!("SELECT {ACTION_COLUMNS} FROM action WHERE action_id > $1 ORDER BY action_id LIMIT $2");
        self.query(&sql, &[&after, &i64::from(limit)]).await?.iter().map(action_row).collect()
    }

    async fn all_identity_links(&self) -> StoreResult<Vec<IdentityLinkRecord>> {
        let sql = format!("SELECT {IDENTITY_COLUMNS} FROM identity_link ORDER BY program_id, key, other");
        self.query(&sql, &[]).await?.iter().map(identity_row).collect()
    }

    async fn idempotency_records(&self) -> StoreResult<Vec<IdempotencyRecord>> {
        let sql = format!("SELECT {IDEMPOTENCY_COLUMNS} FROM idempotency ORDER BY account_sid, key");
        self.query(&sql, &[]).await?.iter().map(idempotency_row).collect()
    }

    async fn import_conversions(&self, submissions: &[SubmissionRecord], actions: &[ActionRecord]) -> StoreResult<()> {
        import_conversions(&mut self.client().await?, submissions, actions).await
    }

    async fn action_updates_after(&self, after: &str, limit: u32) -> StoreResult<Vec<ActionUpdateRecord>> {
        let sql = format!(
            "SELECT {}, action.currency FROM action_update JOIN action USING (action_id)
             WHERE update_id > $1 ORDER BY update_id LIMIT $2",
            qualified_update_columns()
        );
        self.query(&sql, &[&after, &i64::from(limit)]).await?.iter().map(action_update_row).collect()
    }

    async fn import_action_updates(&self, updates: &[ActionUpdateRecord]) -> StoreResult<()> {
        import_action_updates(&mut self.client().await?, updates).await
    }

    async fn import_idempotency_records(&self, records: &[IdempotencyRecord]) -> StoreResult<()> {
        import_idempotency_records(&mut self.client().await?, records).await
    }
}

/// A partner's real, unreversed actions of one event type in a period, made before a
/// time: what tiers, limits and bonuses count.
const ACTIONS_OF_PERIOD: &str = "program_id = $1 AND owner_id = $2 AND event_type_id = $3
    AND event_at >= $4 AND event_at < $5 AND state <> 'REVERSED' AND NOT is_test AND created_at < $6";

const REQUEST_COLUMNS: &str = "request_id, program_id, partner_id, note, state, action_id, created_at, resolved_at";

fn request_row(row: &Row) -> StoreResult<TestActionRequestRecord> {
    Ok(TestActionRequestRecord {
        request_id: column(row, 0)?,
        program: ProgramId(id_from_sql(column(row, 1)?)),
        partner: PartnerId(id_from_sql(column(row, 2)?)),
        note: column(row, 3)?,
        state: column(row, 4)?,
        action_id: column(row, 5)?,
        created_at: time_column(row, 6)?,
        resolved_at: column::<Option<i64>>(row, 7)?.map(timestamp).transpose()?,
    })
}
