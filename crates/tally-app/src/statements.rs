//! Partner statements (SPEC §8): the statement job puts approved actions on monthly
//! statements; brands read them, export them and mark them paid; partners read their
//! own and choose how they want to be paid. The rules are in
//! [`tally_core::statement`]; this module loads, asks, and stores.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use tally_core::ids::{PartnerId, ProgramId, base62_128};
use tally_core::money::Currency;
use tally_core::program::Program;
use tally_core::statement::{self, StatementBalance, StatementStatus, Withdrawal};

use crate::catalog::CatalogHandle;
use crate::csv_text::{end_line, push_field, push_text};
use crate::locking::hold_lease;
use crate::ports::{
    ActionRecord, Clock, StatementRecord, StatementSummary, Store, StoreError, StoreResult, WithdrawalRecord,
};
use crate::secrets::random_u128;

/// Actions read per page by the job: flat memory however many are due.
const BATCH: u32 = 5_000;

/// A statement with where it stands today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementView {
    /// The statement and its sums.
    pub summary: StatementSummary,
    /// Held, open, overdue or paid.
    pub status: StatementStatus,
}

/// Why a statement did not change.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    /// No such statement in the program.
    #[error("no such statement")]
    NotFound,
    /// It was already paid.
    #[error("the statement was already marked paid")]
    AlreadyPaid,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The use case.
#[derive(Clone)]
pub struct Statements {
    store: Arc<dyn Store>,
    catalog: Arc<CatalogHandle>,
    clock: Arc<dyn Clock>,
}

impl Statements {
    /// Builds the use case.
    pub fn new(store: Arc<dyn Store>, catalog: Arc<CatalogHandle>, clock: Arc<dyn Clock>) -> Self {
        Statements { store, catalog, clock }
    }

    /// Puts every approved real action that locked in a closed month on its statement,
    /// in every program; returns how many actions were stated. Safe to run again and
    /// on several nodes: an action moves only while it is on no statement.
    pub async fn state_closed_months(&self) -> StoreResult<u64> {
        let now = self.clock.now();
        let mut stated = 0;
        for entry in self.catalog.get().programs() {
            stated += self.state_program(&entry.program, now).await?;
        }
        Ok(stated)
    }

    async fn state_program(&self, program: &Program, now: Timestamp) -> StoreResult<u64> {
        let time_zone = program.time_zone();
        let cutoff = statement::current_month_start(now, time_zone);
        let (mut after, mut stated) = (String::new(), 0);
        loop {
            let page = self.store.unstated_actions(program.id(), cutoff, &after, BATCH).await?;
            let mut groups: HashMap<(PartnerId, Currency, Date, Date), Vec<String>> = HashMap::new();
            for action in &page {
                let (dated, scheduled) = statement_dates(program, action);
                let key = (action.owner, action.currency, dated, scheduled);
                groups.entry(key).or_default().push(action.action_id.clone());
            }
            for ((partner, currency, statement_date, scheduled_on), ids) in groups {
                let record = StatementRecord {
                    statement_id: base62_128(random_u128()),
                    program: program.id(),
                    partner,
                    currency,
                    statement_date,
                    scheduled_on,
                    created_at: now,
                    paid_at: None,
                    paid_by: None,
                    payment_reference: None,
                };
                self.store.put_on_statement(&record, &ids).await?;
                stated += ids.len() as u64;
            }
            match page.last() {
                Some(last) if page.len() == BATCH as usize => after = last.action_id.clone(),
                _ => return Ok(stated),
            }
        }
    }

    /// A program's statements, of one partner or all, with where each stands today.
    pub async fn list(&self, program: ProgramId, partner: Option<PartnerId>) -> StoreResult<Vec<StatementView>> {
        let summaries = self.store.statements(program, partner).await?;
        let mut by_partner: BTreeMap<PartnerId, Vec<StatementSummary>> = BTreeMap::new();
        for summary in summaries {
            by_partner.entry(summary.statement.partner).or_default().push(summary);
        }
        let mut views = Vec::new();
        for (partner, summaries) in by_partner {
            views.extend(self.with_statuses(program, partner, summaries).await?);
        }
        views.sort_by(|a, b| {
            let key = |view: &StatementView| (view.summary.statement.statement_date, view.summary.statement.partner);
            key(a).cmp(&key(b))
        });
        Ok(views)
    }

    /// One statement of a program, with where it stands today.
    pub async fn get(&self, program: ProgramId, statement_id: &str) -> Result<StatementView, StatementError> {
        let found = self.store.statement(statement_id).await?.filter(|summary| summary.statement.program == program);
        let partner = found.ok_or(StatementError::NotFound)?.statement.partner;
        let views = self.list(program, Some(partner)).await?;
        views
            .into_iter()
            .find(|view| view.summary.statement.statement_id == statement_id)
            .ok_or(StatementError::NotFound)
    }

    /// The actions on a statement.
    pub async fn actions(&self, statement_id: &str) -> StoreResult<Vec<ActionRecord>> {
        self.store.statement_actions(statement_id).await
    }

    /// Marks a statement paid: its actions show `PAID` from now on.
    pub async fn mark_paid(
        &self,
        program: ProgramId,
        statement_id: &str,
        actor: &str,
        reference: Option<&str>,
    ) -> Result<StatementView, StatementError> {
        self.get(program, statement_id).await?;
        if !self.store.mark_statement_paid(statement_id, self.clock.now(), actor, reference).await? {
            return Err(StatementError::AlreadyPaid);
        }
        self.get(program, statement_id).await
    }

    /// A partner's withdrawal setting (the payment schedule when it chose none).
    pub async fn withdrawal(&self, program: ProgramId, partner: PartnerId) -> StoreResult<Withdrawal> {
        Ok(self.store.withdrawal(program, partner).await?.map(|record| withdrawal_of(&record)).unwrap_or_default())
    }

    /// Stores a partner's withdrawal setting.
    pub async fn set_withdrawal(
        &self,
        program: ProgramId,
        partner: PartnerId,
        withdrawal: Withdrawal,
        actor: &str,
    ) -> StoreResult<()> {
        let (threshold, fixed_day) = match withdrawal {
            Withdrawal::Schedule => (None, None),
            Withdrawal::Threshold(amount) => (Some(amount), None),
            Withdrawal::FixedDay(day) => (None, Some(day)),
        };
        let record = WithdrawalRecord {
            program,
            partner,
            threshold,
            fixed_day,
            updated_at: self.clock.now(),
            updated_by: actor.to_owned(),
        };
        self.store.save_withdrawal(&record).await
    }

    /// The state detail of an action *(documented)*: `OPEN`, `PAYMENT_PENDING`,
    /// `PAID` or `OVERDUE`; none for a reversed one.
    pub async fn state_detail(&self, action: &ActionRecord) -> StoreResult<Option<&'static str>> {
        let status = match &action.statement_id {
            Some(id) => match self.get(action.program, id).await {
                Ok(view) => Some(view.status),
                Err(StatementError::Store(error)) => return Err(error),
                Err(_) => None,
            },
            None => None,
        };
        Ok(statement::state_detail(&action.state, status))
    }

    async fn with_statuses(
        &self,
        program: ProgramId,
        partner: PartnerId,
        summaries: Vec<StatementSummary>,
    ) -> StoreResult<Vec<StatementView>> {
        let withdrawal = self.withdrawal(program, partner).await?;
        let today = self.today(program);
        let balances: Vec<StatementBalance> = summaries
            .iter()
            .map(|summary| StatementBalance {
                scheduled_on: summary.statement.scheduled_on,
                total: summary.payout,
                paid: summary.statement.paid_at.is_some(),
            })
            .collect();
        let statuses = statement::statuses(&balances, withdrawal, today);
        Ok(summaries.into_iter().zip(statuses).map(|(summary, status)| StatementView { summary, status }).collect())
    }

    /// Today in the program's time zone (UTC for a program no longer loaded).
    fn today(&self, program: ProgramId) -> Date {
        let catalog = self.catalog.get();
        let time_zone = catalog.program(program).map(|entry| entry.program.time_zone().clone());
        self.clock.now().to_zoned(time_zone.unwrap_or(jiff::tz::TimeZone::UTC)).date()
    }
}

/// A statement as CSV, one line per action: what the brand's finance team imports.
/// Order ids are a stranger's text, defused against spreadsheet formulas.
pub fn statement_csv(statement: &StatementRecord, actions: &[ActionRecord]) -> String {
    let mut text = String::from(
        "statement_id,statement_date,partner_id,action_id,event_type_id,order_id,event_date,locking_date,currency,sale_amount,payout\n",
    );
    for action in actions {
        push_field(&mut text, &statement.statement_id);
        push_field(&mut text, &statement.statement_date.to_string());
        push_field(&mut text, &statement.partner.0.to_string());
        push_field(&mut text, &action.action_id);
        push_field(&mut text, &action.event_type.0.to_string());
        push_text(&mut text, &action.order_id);
        push_field(&mut text, &action.event_at.to_string());
        push_field(&mut text, &action.locking_at.map(|at| at.to_string()).unwrap_or_default());
        push_field(&mut text, action.currency.code());
        push_field(&mut text, &action.sale_amount.to_string());
        push_field(&mut text, &action.payout.to_string());
        end_line(&mut text);
    }
    text
}

/// The statement an action goes on, under the terms in force on its event date.
fn statement_dates(program: &Program, action: &ActionRecord) -> (Date, Date) {
    let payment = program.terms_for(action.owner, action.event_type, action.event_at).and_then(|terms| terms.payment);
    let locked_at = action.locking_at.unwrap_or(action.created_at);
    statement::statement_dates(locked_at, program.time_zone(), payment)
}

fn withdrawal_of(record: &WithdrawalRecord) -> Withdrawal {
    match (record.threshold, record.fixed_day) {
        (Some(amount), _) => Withdrawal::Threshold(amount),
        (None, Some(day)) => Withdrawal::FixedDay(day),
        (None, None) => Withdrawal::Schedule,
    }
}

/// The statement job for one node: runs under the `statements` lease, so one node
/// states at a time, and catches up after downtime since it states every closed month.
#[derive(Clone)]
pub struct StatementJob {
    statements: Statements,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    holder: String,
    lease: Duration,
}

impl StatementJob {
    /// A job run by `holder` every `interval`; its lease lasts three intervals.
    pub fn new(statements: Statements, holder: String, interval: Duration) -> Self {
        let (store, clock) = (statements.store.clone(), statements.clock.clone());
        StatementJob { statements, store, clock, holder, lease: interval * 3 }
    }

    /// Runs once: `None` when another node holds the lease, else how many actions went
    /// on a statement.
    pub async fn run_once(&self) -> StoreResult<Option<u64>> {
        if !hold_lease(self.store.as_ref(), "statements", &self.holder, self.clock.now(), self.lease).await? {
            return Ok(None);
        }
        self.statements.state_closed_months().await.map(Some)
    }
}
