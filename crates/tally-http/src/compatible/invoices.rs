//! `GET /Advertisers/{SID}/Invoices` and `…/Invoices/{Id}`: the partner statements of
//! the account's programs in the seed platform's invoice shape, most recently made
//! first, filtered by `CampaignId` and by when Tally made them (`StartDate`/`EndDate`).
//!
//! A statement is one partner's approved actions that locked in one month in one
//! program, so each invoice has one `MEDIA_PAYOUT` line; its `EventMonthYear` is the
//! month the actions locked. Tally charges no VAT and keeps no PDF, so those fields are
//! left out.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use serde_json::{Value, json};
use tally_app::catalog::ProgramEntry;
use tally_app::statements::{StatementError, StatementView};
use tally_core::statement::StatementStatus;

use super::listing::{ListingQuery, owned_programs, owner_name, page_of, time, within, without_json};
use super::{CompatError, authenticate};
use crate::AppState;

const INVOICE_PARAMETERS: &[&str] = &["CampaignId", "StartDate", "EndDate", "PageSize", "Page"];

pub(super) async fn invoices(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let query = ListingQuery::read(query, INVOICE_PARAMETERS, &[])?;
    let created = query.range("StartDate", "EndDate")?;
    let page = query.page()?;
    let catalog = state.catalog.get();
    let mut views = Vec::new();
    for entry in owned_programs(&catalog, &sid, query.campaign()?)? {
        for view in state.statements.list(entry.program.id(), None).await? {
            if within(&created, view.summary.statement.created_at) {
                views.push((entry, view));
            }
        }
    }
    views.sort_by(|(_, a), (_, b)| {
        let (a, b) = (&a.summary.statement, &b.summary.statement);
        b.created_at.cmp(&a.created_at).then_with(|| a.statement_id.cmp(&b.statement_id))
    });
    let rows = views.iter().map(|(entry, view)| invoice_json(&sid, entry, view)).collect();
    let (total, items) = page_of(rows, page);
    Ok(query.answer(&format!("/Advertisers/{sid}/Invoices"), page, total, "Invoices", items))
}

/// `GET /Advertisers/{SID}/Invoices/{Id}`.
pub(super) async fn invoice(
    State(state): State<AppState>,
    Path((sid, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let id = without_json(&id);
    let catalog = state.catalog.get();
    for entry in owned_programs(&catalog, &sid, None)? {
        match state.statements.get(entry.program.id(), id).await {
            Ok(view) => return Ok(axum::Json(invoice_json(&sid, entry, &view)).into_response()),
            Err(StatementError::Store(error)) => return Err(error.into()),
            Err(_) => continue,
        }
    }
    Err(CompatError::new(StatusCode::NOT_FOUND, None, "no such invoice"))
}

/// A statement in the documented invoice shape. Amounts are decimal strings in the
/// statement's currency; the due date is midnight of that day in the program's time zone.
fn invoice_json(sid: &str, entry: &ProgramEntry, view: &StatementView) -> Value {
    let (statement, summary) = (&view.summary.statement, &view.summary);
    let document = entry.program.document();
    let payout = summary.payout.to_string();
    let due_at = view.status.due_on().and_then(|day| day.to_zoned(entry.program.time_zone().clone()).ok());
    let line = json!({
        "CampaignId": document.program.id.0,
        "CampaignName": document.program.name,
        "Description": "MEDIA_PAYOUT",
        "EventMonthYear": locking_month(statement.statement_date),
        "Actions": summary.actions,
        "NetItemAmount": payout,
        "TotalItemAmount": payout,
        "Status": status_name(view.status),
        "DueDate": time(due_at.map(|due| due.timestamp())),
        "PaidDate": time(statement.paid_at),
    });
    json!({
        "Id": statement.statement_id,
        "CreatedDate": statement.created_at.to_string(),
        "MediaId": statement.partner.0,
        "MediaName": owner_name(document, statement.partner),
        "Currency": statement.currency.code(),
        "TotalAmount": payout,
        "LineItems": [line],
        "Uri": format!("/Advertisers/{sid}/Invoices/{}", statement.statement_id),
    })
}

/// `PENDING` (held for a threshold, or not yet due), `OVERDUE` or `PAID` *(documented)*.
fn status_name(status: StatementStatus) -> &'static str {
    match status {
        StatementStatus::Held | StatementStatus::Open(_) => "PENDING",
        StatementStatus::Overdue(_) => "OVERDUE",
        StatementStatus::Paid => "PAID",
    }
}

/// The month before the statement date, written `MYYYY` as documented (`22027` for
/// February 2027).
fn locking_month(statement_date: Date) -> String {
    let (month, year) = match statement_date.month() {
        1 => (12, statement_date.year() - 1),
        month => (month - 1, statement_date.year()),
    };
    format!("{month}{year}")
}
