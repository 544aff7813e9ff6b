//! `/programs/{id}/statements` (SPEC §8): the brand sees every partner's statements and
//! marks them paid; a partner sees its own and chooses how it wants to be paid. Both
//! download a statement's actions as CSV. The rules are in `tally_app::statements`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rust_decimal::Decimal;
use tally_app::catalog::ProgramEntry;
use tally_app::statements::{StatementError, StatementView, statement_csv};
use tally_core::ids::PartnerId;
use tally_core::statement::{StatementStatus, Withdrawal};

use super::format::{minute, money, owner_name};
use super::layout::{Layout, Section};
use super::notice::{Notice, NoticeQuery};
use super::session::{Form, Session};
use super::{PageError, html};
use crate::AppState;

#[derive(Template)]
#[template(path = "dashboard/statements.html")]
struct StatementsPage {
    layout: Layout,
    program_id: u64,
    notice: Option<Notice>,
    rows: Vec<Row>,
    partner_view: bool,
    withdrawal: Option<WithdrawalForm>,
}

struct Row {
    statement_id: String,
    partner: String,
    statement_date: String,
    payment_date: String,
    due_date: String,
    status: &'static str,
    status_class: &'static str,
    actions: u64,
    sale_amount: String,
    payout: String,
    paid: String,
    payable: bool,
    csv_href: String,
    paid_href: String,
}

struct WithdrawalForm {
    schedule: bool,
    threshold: String,
    fixed_day: Option<u8>,
    currency: &'static str,
}

const NOTICES: &[(&str, &str, bool)] = &[
    ("paid", "The statement is marked paid; its actions show Paid.", false),
    ("already_paid", "That statement was already marked paid.", true),
    ("reference", "A payment reference is at most 200 characters.", true),
    ("withdrawal", "Your payment setting is saved.", false),
    ("threshold", "A balance threshold is an amount from 20 to 10,000.", true),
    ("fixed_day", "A fixed payment day is the 1st or the 15th.", true),
];

/// `GET /programs/{id}/statements`.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let catalog = state.catalog.get();
    let entry = session.scope.program(&catalog, &id).ok_or(PageError::NotFound)?;
    let program = entry.program.id();
    let partner = session.scope.partner();
    let views = state.statements.list(program, partner).await?;
    let withdrawal = match partner {
        Some(partner) => Some(withdrawal_form(state.statements.withdrawal(program, partner).await?, &entry)),
        None => None,
    };
    let layout = Layout::new(&session, &catalog, Some(&entry), Section::Statements, "Statements");
    let page = StatementsPage {
        layout,
        program_id: program.0,
        notice: Notice::pick(query.notice.as_deref(), NOTICES),
        rows: views.iter().rev().map(|view| row(&entry, view)).collect(),
        partner_view: partner.is_some(),
        withdrawal,
    };
    Ok(html(StatusCode::OK, &page))
}

fn withdrawal_form(withdrawal: Withdrawal, entry: &ProgramEntry) -> WithdrawalForm {
    let currency = entry.program.currency().code();
    match withdrawal {
        Withdrawal::Schedule => WithdrawalForm { schedule: true, threshold: String::new(), fixed_day: None, currency },
        Withdrawal::Threshold(amount) => {
            WithdrawalForm { schedule: false, threshold: amount.to_string(), fixed_day: None, currency }
        }
        Withdrawal::FixedDay(day) => {
            WithdrawalForm { schedule: false, threshold: String::new(), fixed_day: Some(day), currency }
        }
    }
}

fn row(entry: &ProgramEntry, view: &StatementView) -> Row {
    let statement = &view.summary.statement;
    let base = format!("/programs/{}/statements/{}", entry.program.id(), statement.statement_id);
    let (status, status_class) = match view.status {
        StatementStatus::Held => ("Held", "badge-pending"),
        StatementStatus::Open(_) => ("Open", "badge-pending"),
        StatementStatus::Overdue(_) => ("Overdue", "badge-reversed"),
        StatementStatus::Paid => ("Paid", "badge-approved"),
    };
    let paid = match (statement.paid_at, &statement.payment_reference) {
        (Some(at), Some(reference)) => format!("{} · {reference}", minute(at, entry.program.time_zone())),
        (Some(at), None) => minute(at, entry.program.time_zone()),
        (None, _) => String::new(),
    };
    Row {
        statement_id: statement.statement_id.clone(),
        partner: owner_name(&entry.program, statement.partner),
        statement_date: statement.statement_date.to_string(),
        payment_date: statement.scheduled_on.to_string(),
        due_date: view.status.due_on().map(|day| day.to_string()).unwrap_or_default(),
        status,
        status_class,
        actions: view.summary.actions,
        sale_amount: money(view.summary.sale_amount, statement.currency),
        payout: money(view.summary.payout, statement.currency),
        paid,
        payable: view.status != StatementStatus::Paid,
        csv_href: format!("{base}/csv"),
        paid_href: format!("{base}/paid"),
    }
}

fn back(entry: &ProgramEntry, notice: &str) -> Response {
    Redirect::to(&format!("/programs/{}/statements?notice={notice}", entry.program.id())).into_response()
}

/// `POST /programs/{id}/statements/{statementId}/paid` with an optional `reference`.
pub(crate) async fn mark_paid(
    State(state): State<AppState>,
    session: Session,
    Path((id, statement_id)): Path<(String, String)>,
    form: Form,
) -> Result<Response, PageError> {
    session.check_csrf(&state.keyed, &form)?;
    let entry = session.scope.brand_program(&state.catalog.get(), &id).ok_or(PageError::NotFound)?;
    let reference = form.get("reference").map(str::trim).filter(|text| !text.is_empty());
    if reference.is_some_and(|text| text.chars().count() > 200) {
        return Ok(back(&entry, "reference"));
    }
    match state.statements.mark_paid(entry.program.id(), &statement_id, &session.actor(), reference).await {
        Ok(_) => Ok(back(&entry, "paid")),
        Err(StatementError::AlreadyPaid) => Ok(back(&entry, "already_paid")),
        Err(StatementError::NotFound) => Err(PageError::NotFound),
        Err(StatementError::Store(error)) => Err(PageError::Store(error)),
    }
}

/// `POST /programs/{id}/withdrawal`: the partner's choice of `schedule`, `threshold`
/// (with `threshold`) or `fixed_day` (with `fixed_day`).
pub(crate) async fn set_withdrawal(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, PageError> {
    session.check_csrf(&state.keyed, &form)?;
    let partner = session.scope.partner();
    let entry = session.scope.program(&state.catalog.get(), &id).filter(|_| partner.is_some());
    let (Some(entry), Some(partner)) = (entry, partner) else { return Err(PageError::NotFound) };
    let withdrawal = match form.get("method") {
        Some("threshold") => {
            let amount = form.get("threshold").and_then(|text| text.trim().parse::<Decimal>().ok());
            match amount.map(Withdrawal::threshold) {
                Some(Ok(withdrawal)) => withdrawal,
                _ => return Ok(back(&entry, "threshold")),
            }
        }
        Some("fixed_day") => {
            match form.get("fixed_day").and_then(|text| text.parse::<u32>().ok()).map(Withdrawal::fixed_day) {
                Some(Ok(withdrawal)) => withdrawal,
                _ => return Ok(back(&entry, "fixed_day")),
            }
        }
        _ => Withdrawal::Schedule,
    };
    let actor = session.actor();
    match state.statements.set_withdrawal(entry.program.id(), partner, withdrawal, &actor).await {
        Ok(()) => Ok(back(&entry, "withdrawal")),
        Err(error) => Err(PageError::Store(error)),
    }
}

/// `GET /programs/{id}/statements/{statementId}/csv`: the statement's actions, in the
/// native API's statement CSV columns.
pub(crate) async fn csv(
    State(state): State<AppState>,
    session: Session,
    Path((id, statement_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let entry = session.scope.program(&state.catalog.get(), &id).ok_or(PageError::NotFound)?;
    let view = match state.statements.get(entry.program.id(), &statement_id).await {
        Ok(view) => view,
        Err(StatementError::Store(error)) => return Err(PageError::Store(error)),
        Err(_) => return Err(PageError::NotFound),
    };
    let statement = &view.summary.statement;
    if session.scope.partner().is_some_and(|own: PartnerId| own != statement.partner) {
        return Err(PageError::NotFound);
    }
    let actions = state.statements.actions(&statement_id).await?;
    let text = statement_csv(statement, &actions);
    let file_name = format!("statement-{}-{}.csv", statement.partner, statement.statement_date);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        text,
    )
        .into_response())
}
