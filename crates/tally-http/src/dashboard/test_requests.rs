//! `/programs/{id}/test-requests` (SPEC §8): a partner asks the brand for a test action
//! and sees what became of it; the brand answers each request by having the test action
//! made (an amount and an event type), with a test action it made itself (its id), or
//! declines it. The rules are in `tally_app::test_requests`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tally_app::catalog::ProgramEntry;
use tally_app::ports::TestActionRequestRecord;
use tally_app::test_requests::{MAX_NOTE_CHARS, RequestError, TestConversion};
use tally_core::ids::EventTypeId;

use super::format::{minute, owner_name};
use super::layout::{Layout, Section};
use super::notice::{Notice, NoticeQuery};
use super::session::{Form, Session};
use super::{PageError, html};
use crate::AppState;

#[derive(Template)]
#[template(path = "dashboard/test_requests.html")]
struct RequestsPage {
    layout: Layout,
    program_id: u64,
    notice: Option<Notice>,
    rows: Vec<Row>,
    partner_view: bool,
    max_note: usize,
    /// The program's event types, (id, name), for the brand's "make a test action".
    event_types: Vec<(u64, String)>,
    currency: &'static str,
}

struct Row {
    request_id: String,
    partner: String,
    note: String,
    asked: String,
    state: &'static str,
    state_class: &'static str,
    action_href: Option<String>,
    action_id: String,
    open: bool,
    answer_href: String,
}

const NOTICES: &[(&str, &str, bool)] = &[
    ("asked", "Your request is sent to the brand.", false),
    ("note", "A note is at most 500 characters, without control characters.", true),
    ("fulfilled", "The request is answered with that test action.", false),
    ("made", "A test action was made for the partner and answers the request.", false),
    (
        "test",
        "No test action was made: the amount must be a number of at least 0, for an event type of the program.",
        true,
    ),
    ("declined", "The request is declined.", false),
    ("action", "That is not a test action of this program credited to the partner who asked.", true),
    ("answered", "That request was answered already.", true),
];

/// `GET /programs/{id}/test-requests`.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let catalog = state.catalog.get();
    let entry = session.scope.program(&catalog, &id).ok_or(PageError::NotFound)?;
    let partner = session.scope.partner();
    let requests = state.test_requests.list(entry.program.id(), partner).await.map_err(page_error)?;
    let layout = Layout::new(&session, &catalog, Some(&entry), Section::TestRequests, "Test actions");
    let page = RequestsPage {
        layout,
        program_id: entry.program.id().0,
        notice: Notice::pick(query.notice.as_deref(), NOTICES),
        rows: requests.iter().map(|request| row(&entry, request)).collect(),
        partner_view: partner.is_some(),
        max_note: MAX_NOTE_CHARS,
        event_types: entry.program.document().event_types.iter().map(|kind| (kind.id.0, kind.name.clone())).collect(),
        currency: entry.program.currency().code(),
    };
    Ok(html(StatusCode::OK, &page))
}

fn row(entry: &ProgramEntry, request: &TestActionRequestRecord) -> Row {
    let program = entry.program.id();
    let (state, state_class) = match request.state.as_str() {
        "OPEN" => ("Open", "badge-pending"),
        "FULFILLED" => ("Fulfilled", "badge-approved"),
        _ => ("Declined", "badge-reversed"),
    };
    Row {
        request_id: request.request_id.clone(),
        partner: owner_name(&entry.program, request.partner),
        note: request.note.clone(),
        asked: minute(request.created_at, entry.program.time_zone()),
        state,
        state_class,
        action_href: request.action_id.as_ref().map(|action| format!("/programs/{program}/actions/{action}")),
        action_id: request.action_id.clone().unwrap_or_default(),
        open: request.state == "OPEN",
        answer_href: format!("/programs/{program}/test-requests/{}", request.request_id),
    }
}

fn back(entry: &ProgramEntry, notice: &str) -> Response {
    Redirect::to(&format!("/programs/{}/test-requests?notice={notice}", entry.program.id())).into_response()
}

fn page_error(error: RequestError) -> PageError {
    match error {
        RequestError::Store(error) => PageError::Store(error),
        _ => PageError::NotFound,
    }
}

/// `POST /programs/{id}/test-requests` with an optional `note`: a partner asks.
pub(crate) async fn ask(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, PageError> {
    session.check_csrf(&state.keyed, &form)?;
    let partner = session.scope.partner();
    let entry = session.scope.program(&state.catalog.get(), &id).filter(|_| partner.is_some());
    let (Some(entry), Some(partner)) = (entry, partner) else { return Err(PageError::NotFound) };
    match state.test_requests.ask(entry.program.id(), partner, form.get("note").unwrap_or("")).await {
        Ok(_) => Ok(back(&entry, "asked")),
        Err(RequestError::BadNote(_)) => Ok(back(&entry, "note")),
        Err(error) => Err(page_error(error)),
    }
}

/// `POST /programs/{id}/test-requests/{requestId}/make` (with `amount` and
/// `event_type`), `…/fulfil` (with `action_id`) or `…/decline`: the brand answers.
pub(crate) async fn answer(
    State(state): State<AppState>,
    session: Session,
    Path((id, request_id, verb)): Path<(String, String, String)>,
    form: Form,
) -> Result<Response, PageError> {
    session.check_csrf(&state.keyed, &form)?;
    let entry = session.scope.brand_program(&state.catalog.get(), &id).ok_or(PageError::NotFound)?;
    let program = entry.program.id();
    let answered = match verb.as_str() {
        "fulfil" => {
            let action_id = form.get("action_id").map(str::trim).unwrap_or("");
            state.test_requests.fulfil(program, &request_id, action_id).await.map(|_| "fulfilled")
        }
        "make" => {
            let amount = form.get("amount").and_then(|text| text.trim().parse().ok());
            let event_type = form.get("event_type").and_then(|text| text.parse().ok()).map(EventTypeId);
            let Some(amount) = amount.filter(|amount: &rust_decimal::Decimal| !amount.is_sign_negative()) else {
                return Ok(back(&entry, "test"));
            };
            let conversion = TestConversion { event_type, amount };
            let made =
                state.test_requests.fulfil_with_test_conversion(&entry.account_sid, program, &request_id, &conversion);
            match made.await {
                Err(RequestError::BadAction(_)) => return Ok(back(&entry, "test")),
                other => other.map(|_| "made"),
            }
        }
        "decline" => state.test_requests.decline(program, &request_id).await.map(|_| "declined"),
        _ => return Err(PageError::NotFound),
    };
    match answered {
        Ok(notice) => Ok(back(&entry, notice)),
        Err(RequestError::BadAction(_)) => Ok(back(&entry, "action")),
        Err(RequestError::NotOpen(..)) => Ok(back(&entry, "answered")),
        Err(error) => Err(page_error(error)),
    }
}
