//! `/`: the user's programs, each with its last 30 days from the rollups (the numbers
//! performance reports use), and `/switch`, the header's program switcher.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tally_app::catalog::ProgramEntry;
use tally_app::ports::{RollupQuery, TestActions};

use super::format::{money, number};
use super::layout::{Layout, Section};
use super::session::Session;
use super::{PageError, html};
use crate::AppState;

/// The days the overview sums, today included.
const DAYS: i64 = 30;

#[derive(Template)]
#[template(path = "dashboard/overview.html")]
struct OverviewPage {
    layout: Layout,
    programs: Vec<ProgramCard>,
    partner_view: bool,
}

struct ProgramCard {
    id: u64,
    name: String,
    currency: &'static str,
    time_zone: String,
    partners: usize,
    clicks: String,
    actions: String,
    sale_amount: String,
    payout: String,
}

/// `GET /`.
pub(crate) async fn page(State(state): State<AppState>, session: Session) -> Result<Response, PageError> {
    let catalog = state.catalog.get();
    let mut programs = Vec::new();
    for entry in session.scope.programs(&catalog) {
        programs.push(card(&state, &session, &entry).await?);
    }
    let layout = Layout::new(&session, &catalog, None, Section::Overview, "Your programs");
    let page = OverviewPage { layout, programs, partner_view: !session.scope.is_brand() };
    Ok(html(StatusCode::OK, &page))
}

async fn card(state: &AppState, session: &Session, entry: &ProgramEntry) -> Result<ProgramCard, PageError> {
    let program = &entry.program;
    let today = state.clock.now().to_zoned(program.time_zone().clone()).date();
    let from = today.checked_sub(jiff::Span::new().days(DAYS - 1)).unwrap_or(today);
    let query = RollupQuery {
        program: program.id(),
        from,
        to: today,
        by: Vec::new(),
        owner: session.scope.partner(),
        event_type: None,
        test: TestActions::Exclude,
    };
    let (clicks, actions) = tokio::join!(state.store.click_sums(&query), state.store.action_sums(&query));
    let clicks: u64 = clicks?.iter().map(|sums| sums.clicks).sum();
    let actions = actions?;
    let joined = |amount: fn(&tally_app::ports::ActionSums) -> rust_decimal::Decimal| -> String {
        if actions.is_empty() {
            return money(rust_decimal::Decimal::ZERO, program.currency());
        }
        actions.iter().map(|sums| money(amount(sums), sums.currency)).collect::<Vec<_>>().join(" + ")
    };
    let document = program.document();
    Ok(ProgramCard {
        id: program.id().0,
        name: document.program.name.clone(),
        currency: program.currency().code(),
        time_zone: document.program.time_zone.clone(),
        partners: document.partners.len(),
        clicks: number(clicks.into(), 0),
        actions: number(actions.iter().map(|sums| sums.actions).sum::<u64>().into(), 0),
        sale_amount: joined(|sums| sums.sale_amount),
        payout: joined(|sums| sums.payout),
    })
}

#[derive(serde::Deserialize)]
pub(crate) struct Switch {
    program: Option<String>,
}

/// `GET /switch?program=ID`: the switcher's form, to that program's actions.
pub(crate) async fn switch(
    State(state): State<AppState>,
    session: Session,
    Query(switch): Query<Switch>,
) -> Result<Response, PageError> {
    let id = switch.program.unwrap_or_default();
    let entry = session.scope.program(&state.catalog.get(), &id).ok_or(PageError::NotFound)?;
    Ok(Redirect::to(&format!("/programs/{}/actions", entry.program.id())).into_response())
}
