//! `/programs/{id}/invalid`: refused conversions (SPEC §10) with their reason, message
//! and raw submission, filterable by code and by day, newest first. Brands only: a
//! refused conversion belongs to no partner.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use jiff::civil::Date;
use tally_app::ports::{SubmissionQuery, SubmissionRecord, TimeRange};

use super::actions::{Choice, choices};
use super::format::{number, second, words};
use super::layout::{Layout, Section};
use super::session::Session;
use super::{PageError, html, query_pairs, query_string, with_pair};
use crate::AppState;

/// Rows per page.
const PAGE_SIZE: u32 = 50;
/// The longest raw submission shown whole.
const MAX_PAYLOAD: usize = 8_000;

/// The refusal codes of SPEC §4.1, plus `NO_TOUCH`.
const CODES: &[&str] = &[
    "ACTIONTRACKER_CAMPAIGN_MISMATCH",
    "ACTIONTRACKER_NOT_FOUND",
    "ACTION_REF_NOT_FOUND",
    "BLOCKED_BY_PROMOCODE",
    "CAMPAIGN_NOT_FOUND",
    "CONTRACT_NOT_FOUND",
    "CONV_DUPLICATE",
    "MALFORMED",
    "NO_ITEM",
    "NO_TOUCH",
    "OID_MISSING",
    "OTHER_REF_PRIORITIZED",
    "OUTSIDE_ASSOCIATION_WINDOW",
    "PARTNER_NOT_ACTIVE",
    "UNCLAIMED",
];

#[derive(Template)]
#[template(path = "dashboard/invalid.html")]
struct InvalidPage {
    layout: Layout,
    program_id: u64,
    codes: Vec<Choice>,
    from: String,
    to: String,
    error: Option<String>,
    rows: Vec<Row>,
    total: String,
    page: u64,
    pages: u64,
    previous: Option<String>,
    next: Option<String>,
}

struct Row {
    received: String,
    code: String,
    code_words: String,
    message: String,
    order_id: String,
    channel: String,
    kind: String,
    payload: String,
    content_type: String,
}

/// `GET /programs/{id}/invalid?code=&from=&to=&page=`.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let catalog = state.catalog.get();
    let entry = session.scope.brand_program(&catalog, &id).ok_or(PageError::NotFound)?;
    let program = &entry.program;
    let pairs = query_pairs(raw.as_deref());
    let value = |name: &str| pairs.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.trim());
    let layout = Layout::new(&session, &catalog, Some(&entry), Section::Invalid, "Invalid conversions");
    let codes = CODES.iter().map(|code| ((*code).to_owned(), format!("{} ({code})", words(code)))).collect();
    let mut page = InvalidPage {
        layout,
        program_id: program.id().0,
        codes: choices("Every reason", codes, value("code")),
        from: value("from").to_owned(),
        to: value("to").to_owned(),
        error: None,
        rows: Vec::new(),
        total: "0".into(),
        page: 1,
        pages: 1,
        previous: None,
        next: None,
    };
    let asked = read(&pairs, program.time_zone());
    let (code, received_at, number_asked) = match asked {
        Ok(asked) => asked,
        Err(message) => {
            page.error = Some(message);
            return Ok(html(StatusCode::BAD_REQUEST, &page));
        }
    };
    let query = SubmissionQuery {
        account_sid: entry.account_sid.clone(),
        program: Some(program.id()),
        refused: Some(true),
        error_type: code,
        received_at,
        offset: (number_asked - 1) * u64::from(PAGE_SIZE),
        limit: PAGE_SIZE,
        ..SubmissionQuery::default()
    };
    let (rows, total) = tokio::join!(state.store.list_submissions(&query), state.store.count_submissions(&query));
    let (rows, total) = (rows?, total?);
    page.rows = rows.iter().map(|record| row(record, program.time_zone())).collect();
    page.total = number(total.into(), 0);
    page.page = number_asked;
    page.pages = total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let link = |number: u64| {
        let changed = with_pair(&pairs, "page", Some(&number.to_string()));
        format!("/programs/{}/invalid{}", program.id(), query_string(&changed))
    };
    page.previous = (number_asked > 1).then(|| link(number_asked - 1));
    page.next = (number_asked < page.pages).then(|| link(number_asked + 1));
    Ok(html(StatusCode::OK, &page))
}

type Asked = (Option<String>, TimeRange, u64);

/// The filters: a code, a first and last day (in the program's time zone), a page.
fn read(pairs: &[(String, String)], time_zone: &jiff::tz::TimeZone) -> Result<Asked, String> {
    let value = |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.trim());
    let code = match value("code") {
        None => None,
        Some(code) if code.len() <= 64 && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') => {
            Some(code.to_owned())
        }
        Some(_) => return Err("a reason is a code such as CONV_DUPLICATE".into()),
    };
    let day = |name: &str, label: &str| -> Result<Option<Date>, String> {
        value(name)
            .map(|text| text.parse::<Date>().map_err(|_| format!("{label} is a day such as 2026-11-24, not {text:?}")))
            .transpose()
    };
    let start = |day: Date| day.to_zoned(time_zone.clone()).map(|zoned| zoned.timestamp()).ok();
    let from = day("from", "the first day")?.and_then(start);
    let to = day("to", "the last day")?
        .and_then(|day| day.tomorrow().ok())
        .and_then(start)
        .map(|next: Timestamp| next - jiff::SignedDuration::from_micros(1));
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        return Err("the last day is before the first day".into());
    }
    let page = match value("page") {
        None => 1,
        Some(text) => {
            text.parse::<u64>().ok().filter(|page| (1..=1_000_000).contains(page)).ok_or("pages count from 1")?
        }
    };
    Ok((code, TimeRange { from, to }, page))
}

fn row(record: &SubmissionRecord, time_zone: &jiff::tz::TimeZone) -> Row {
    let mut payload = record.payload.clone();
    if payload.len() > MAX_PAYLOAD {
        let mut cut = MAX_PAYLOAD;
        while !payload.is_char_boundary(cut) {
            cut -= 1;
        }
        payload.truncate(cut);
        payload.push_str("\n… (cut here; the API's APISubmissions has it whole)");
    }
    let code = record.error_type.clone().unwrap_or_default();
    Row {
        received: second(record.received_at, time_zone),
        code_words: words(&code),
        code,
        message: record.error_reason.clone().unwrap_or_default(),
        order_id: record.order_id.clone().unwrap_or_default(),
        channel: match record.channel.as_str() {
            "s2s" => "S2S API".into(),
            "api" => "Native API".into(),
            "tag" => "Browser tag".into(),
            other => other.to_owned(),
        },
        kind: record.kind.clone(),
        payload,
        content_type: record.content_type.clone(),
    }
}
