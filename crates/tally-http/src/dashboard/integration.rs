//! `/programs/{id}/integration`: the integration check (SPEC §10), the documented
//! "verification questionnaire" answered by Tally from the program's recent
//! submissions (`tally_app::integration`): what is wrong, how often, where, and how to
//! fix it. Brands only.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tally_app::integration::{IntegrationCheck, WINDOW_DAYS};

use super::format::{minute, number};
use super::layout::{Layout, Section};
use super::session::Session;
use super::{PageError, html};
use crate::AppState;

#[derive(Template)]
#[template(path = "dashboard/integration.html")]
struct IntegrationPage {
    layout: Layout,
    since: String,
    days: i64,
    checked: String,
    findings: Vec<FindingView>,
}

struct FindingView {
    code: &'static str,
    title: &'static str,
    count: String,
    examples: Vec<String>,
    fix: &'static str,
}

/// `GET /programs/{id}/integration`.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let catalog = state.catalog.get();
    let entry = session.scope.brand_program(&catalog, &id).ok_or(PageError::NotFound)?;
    let program = &entry.program;
    let check = IntegrationCheck::new(state.store.clone(), state.clock.clone());
    let report = check.run(&entry.account_sid, program.id(), program.currency()).await?;
    let layout = Layout::new(&session, &catalog, Some(&entry), Section::Integration, "Integration check");
    let page = IntegrationPage {
        layout,
        since: minute(report.since, program.time_zone()),
        days: WINDOW_DAYS,
        checked: number(report.checked.into(), 0),
        findings: report
            .findings
            .iter()
            .map(|finding| FindingView {
                code: finding.check.code(),
                title: finding.check.title(),
                count: number(finding.count.into(), 0),
                examples: finding.examples.clone(),
                fix: finding.check.fix(),
            })
            .collect(),
    };
    Ok(html(StatusCode::OK, &page))
}
