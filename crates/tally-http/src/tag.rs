//! The browser tag (SPEC §4.3): `GET /tag.js` serves the script a brand puts on its
//! pages, and `POST /collect` takes what it learns: landings, `identify` calls and
//! conversions.
//!
//! The tag runs on the brand's domain and sends to Tally's, so `/collect` is a
//! cross-origin endpoint. It answers CORS (the Fetch standard) only for origins on the
//! program's permitted or tracking domains, and needs no credentials: the tag carries
//! its first-party ids in the body, as `text/plain` so that no preflight is needed.

mod event;

use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tally_app::catalog::ProgramEntry;
use tally_app::conversions::{Channel, Submission};
use tally_core::conversion::native;
use tally_core::identity::IdentityKey;
use tally_core::ids::ProgramId;
use tally_core::landing::normalise_host;
use tally_core::program::Program;

use self::event::{Customer, EventKind};
use crate::AppState;
use crate::api::conversions::outcome_json;
use crate::error::{ApiError, ErrorKind};

/// The script, with `__TALLY_CONFIG__` where the program's settings go.
const SCRIPT: &str = include_str!("../assets/tag.js");
/// How long the tag keeps a click id on the brand's domain: the referral window.
const CLICK_COOKIE_DAYS: u32 = 30;
/// The largest event read: a conversion with a few hundred items.
const MAX_EVENT_BYTES: usize = 64 * 1024;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/tag.js", get(script)).route("/collect", post(collect).options(preflight))
}

/// `GET /tag.js?program=ID`: the script with its program's settings.
async fn script(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let javascript = |status: StatusCode, cache: &'static str, body: String| {
        let headers = [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, cache)];
        (status, headers, body).into_response()
    };
    let entry = match program_entry(&state, query.as_deref()) {
        Ok(entry) => entry,
        Err(_) => return javascript(StatusCode::NOT_FOUND, "no-store", "// Tally: no such program\n".into()),
    };
    let program = entry.program.id();
    let config = json!({
        "program": program.0,
        "clickParam": entry.program.tracking_template().click_id_parameter(),
        "collect": format!("/collect?program={program}"),
        "clickDays": CLICK_COOKIE_DAYS,
    });
    javascript(StatusCode::OK, "public, max-age=300", SCRIPT.replace("__TALLY_CONFIG__", &config.to_string()))
}

/// The program named by `?program=ID`.
fn program_entry(state: &AppState, query: Option<&str>) -> Result<ProgramEntry, ApiError> {
    let text = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(name, _)| name == "program")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| ApiError::parameter("program", "is required"))?;
    let not_found = || ApiError::new(ErrorKind::NotFound, format!("program {text:?} not found"));
    let id: ProgramId = text.parse().map_err(|_| not_found())?;
    state.catalog.get().program(id).cloned().ok_or_else(not_found)
}

/// The request's `Origin`, if the program's pages may send from it.
fn allowed_origin(program: &Program, headers: &HeaderMap) -> Result<HeaderValue, ApiError> {
    let refused = |why: &str| {
        ApiError::new(ErrorKind::Forbidden, format!("{why}; the tag sends from the program's permitted domains only"))
    };
    let origin = headers.get(header::ORIGIN).ok_or_else(|| refused("the request has no Origin"))?;
    let host = origin
        .to_str()
        .ok()
        .and_then(|text| url::Url::parse(text).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .and_then(|url| url.host_str().and_then(normalise_host));
    let Some(host) = host else { return Err(refused("the Origin is not an http(s) origin")) };
    let permitted = program.permitted_domains().permits(&host) || program.tracking_domains().contains(&host);
    if !permitted {
        return Err(refused(&format!("origin host {host:?} is not permitted")));
    }
    Ok(origin.clone())
}

/// Adds the CORS answer for an allowed origin.
fn with_cors(mut response: Response, origin: HeaderValue) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

/// `OPTIONS /collect`: the preflight a browser sends before a non-simple request.
async fn preflight(State(state): State<AppState>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let checked = program_entry(&state, query.as_deref()).and_then(|entry| allowed_origin(&entry.program, &headers));
    let origin = match checked {
        Ok(origin) => origin,
        Err(error) => return error.into_response(),
    };
    let answer = [
        (header::ACCESS_CONTROL_ALLOW_METHODS, "POST"),
        (header::ACCESS_CONTROL_ALLOW_HEADERS, "Content-Type"),
        (header::ACCESS_CONTROL_MAX_AGE, "600"),
    ];
    with_cors((StatusCode::NO_CONTENT, answer).into_response(), origin)
}

/// `POST /collect?program=ID`: one event. Errors from an allowed origin carry the CORS
/// headers too, so that the page (and its developer) can read why.
async fn collect(State(state): State<AppState>, RawQuery(query): RawQuery, headers: HeaderMap, body: Body) -> Response {
    let entry = match program_entry(&state, query.as_deref()) {
        Ok(entry) => entry,
        Err(error) => return error.into_response(),
    };
    let origin = match allowed_origin(&entry.program, &headers) {
        Ok(origin) => origin,
        Err(error) => return error.into_response(),
    };
    let response = match take_event(&state, &entry, body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    with_cors(response, origin)
}

async fn take_event(state: &AppState, entry: &ProgramEntry, body: Body) -> Result<Response, ApiError> {
    let body = axum::body::to_bytes(body, MAX_EVENT_BYTES).await.map_err(|_| {
        ApiError::new(ErrorKind::PayloadTooLarge, format!("an event is at most {MAX_EVENT_BYTES} bytes"))
    })?;
    let event = event::parse(&body)?;
    let program = entry.program.id();
    let visitor = IdentityKey::TagVisitor(event.visitor.clone());
    match event.kind {
        EventKind::Landing => {
            let clicked = clicked_visitors(state, program, event.click_id.as_deref()).await?;
            let found = !clicked.is_empty();
            link(state, program, "landing", visitor, clicked, Customer::default()).await?;
            Ok(axum::Json(json!({"status": "LINKED", "clickFound": found})).into_response())
        }
        EventKind::Identify(customer) => {
            let clicked = clicked_visitors(state, program, event.click_id.as_deref()).await?;
            let found = event.click_id.is_some().then_some(!clicked.is_empty());
            link(state, program, "identify", visitor, clicked, customer).await?;
            Ok(axum::Json(json!({"status": "LINKED", "clickFound": found})).into_response())
        }
        EventKind::Conversion(conversion) => {
            let submission = Submission {
                account_sid: entry.account_sid.clone(),
                channel: Channel::Tag,
                payload: String::from_utf8_lossy(&body).into_owned(),
                content_type: "application/json".into(),
                extra_keys: vec![visitor],
            };
            let outcome = state.conversions.submit(submission, native::parse(program, &conversion, true)).await?;
            let (status, answer): (StatusCode, Value) = outcome_json(&outcome);
            Ok((status, axum::Json(answer)).into_response())
        }
    }
}

/// The visitors (Tally's cookie on the tracking domain) of a click id's clicks.
async fn clicked_visitors(
    state: &AppState,
    program: ProgramId,
    click_id: Option<&str>,
) -> Result<Vec<IdentityKey>, ApiError> {
    let Some(click_id) = click_id else { return Ok(Vec::new()) };
    // The landing follows the click's redirect by milliseconds.
    state.settle_clicks().await;
    let clicks = state.store.clicks_by_click_id(program, click_id).await?;
    let mut visitors: Vec<IdentityKey> = clicks.into_iter().map(|click| IdentityKey::Visitor(click.visitor)).collect();
    visitors.dedup();
    Ok(visitors)
}

/// Links the tag's visitor with everything it was seen with.
async fn link(
    state: &AppState,
    program: ProgramId,
    source: &str,
    visitor: IdentityKey,
    clicked: Vec<IdentityKey>,
    customer: Customer,
) -> Result<(), ApiError> {
    let mut keys = vec![visitor];
    keys.extend(clicked);
    keys.extend(customer.customer_id.map(IdentityKey::Customer));
    keys.extend(customer.email_hash.map(|hash| IdentityKey::Email(state.keyed.email_hmac(&hash))));
    keys.extend(customer.profile_id.map(IdentityKey::Profile));
    state.conversions.link(program, &keys, source).await?;
    Ok(())
}
