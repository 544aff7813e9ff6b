//! `POST /PageLoad` (SPEC §4.3, documented): a server or an app registers a landing:
//! the page (or app URI) a visitor opened and an id it knows the visitor by.
//!
//! What Tally can do honestly: when `PageUrl` carries the program's click-id parameter
//! of a click it recorded, the given ids are linked with that click's visitor, so a
//! later conversion naming any of them finds the click. A tracking link that nobody
//! followed has no click: a click is recorded only by the redirect, where Tally sees the
//! browser, so such a `PageUrl` gets a warning and no invented click.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::json;
use tally_core::click::Click;
use tally_core::conversion::DeviceIdKind;
use tally_core::conversion::EventDate;
use tally_core::conversion::compatible::{MAX_VALUE_LEN, parse_email_hash, parse_event_date};
use tally_core::identity::IdentityKey;
use tally_core::ids::ProgramId;
use tally_core::landing::MAX_LANDING_URL_LEN;
use tally_core::program::Program;
use url::Url;

use super::{CompatError, authenticate, pairs};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/PageLoad", post(page_load))
}

/// A parsed page load.
struct PageLoad {
    program: ProgramId,
    event_date: EventDate,
    page_url: Url,
    ids: Vec<IdentityKey>,
}

async fn page_load(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, CompatError> {
    let sid = basic_user(&headers).unwrap_or_default();
    authenticate(&state, &headers, &sid).await?;
    let (pairs, _) = pairs(&headers, &body)?;
    let load = parse(&pairs)?;
    let catalog = state.catalog.get();
    let entry = catalog.program(load.program).filter(|entry| entry.account_sid == sid);
    let Some(entry) = entry else {
        return Err(bad("CampaignId", "the program does not exist in this account"));
    };
    let mut warnings = Vec::new();
    let click = match click_id_in(&entry.program, &load.page_url, &mut warnings) {
        Some(click_id) => first_click(&state, load.program, &click_id, &mut warnings).await?,
        None => None,
    };
    let mut keys = load.ids;
    if let Some(click) = &click {
        keys.push(IdentityKey::Visitor(click.visitor.clone()));
        if let EventDate::At(at) = load.event_date
            && at < click.at
        {
            warnings.push("EventDate is before the click".to_owned());
        }
    }
    state.conversions.link(load.program, &keys, "page_load").await?;
    let answer = json!({
        "landingPage": load.page_url.as_str(),
        "clickId": click.as_ref().map(|click| click.click_id.to_string()),
        "sessionStart": click.as_ref().map(|click| click.at.to_string()),
        "warnings": warnings,
    });
    Ok(axum::Json(answer).into_response())
}

/// The account SID of HTTP Basic credentials (checked by [`authenticate`]).
fn basic_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    scheme.eq_ignore_ascii_case("basic").then(|| text.split_once(':').map(|(user, _)| user.to_owned()))?
}

fn bad(field: &str, message: impl Into<String>) -> CompatError {
    CompatError::new(StatusCode::BAD_REQUEST, Some(field), message)
}

/// Reads the fields strictly: unknown or repeated names are refused, like the S2S API.
fn parse(pairs: &[(String, String)]) -> Result<PageLoad, CompatError> {
    let (mut program, mut event_date, mut page_url, mut ids) = (None, None, None, Vec::new());
    let mut seen = std::collections::HashSet::new();
    for (name, value) in pairs {
        if !seen.insert(name.as_str()) {
            return Err(bad(name, "is given twice"));
        }
        let value = value.trim();
        if value.is_empty() {
            return Err(bad(name, "must not be empty"));
        }
        match name.as_str() {
            "CampaignId" => program = Some(value.parse::<ProgramId>().map_err(|_| bad(name, "must be a program id"))?),
            "EventDate" => {
                let date =
                    parse_event_date(value).ok_or_else(|| bad(name, "must be NOW or ISO 8601 with a UTC offset"))?;
                event_date = Some(date);
            }
            "PageUrl" => page_url = Some(parse_page_url(value)?),
            _ => ids.push(id_field(name, value)?),
        }
    }
    let program = program.ok_or_else(|| bad("CampaignId", "is required"))?;
    let event_date = event_date.ok_or_else(|| bad("EventDate", "is required"))?;
    let page_url = page_url.ok_or_else(|| bad("PageUrl", "is required"))?;
    if ids.is_empty() {
        return Err(bad(
            "CustomProfileId",
            "a page load needs an id: CustomProfileId, CustomerId, CustomerEmail or a device id",
        ));
    }
    Ok(PageLoad { program, event_date, page_url, ids })
}

fn parse_page_url(text: &str) -> Result<Url, CompatError> {
    if text.len() > MAX_LANDING_URL_LEN {
        return Err(bad("PageUrl", format!("must be at most {MAX_LANDING_URL_LEN} bytes")));
    }
    Url::parse(text).map_err(|_| bad("PageUrl", "must be an absolute URL (a web page or an app URI)"))
}

/// An identifier field, or the refusal of an unknown name.
fn id_field(name: &str, value: &str) -> Result<IdentityKey, CompatError> {
    if value.len() > MAX_VALUE_LEN {
        return Err(bad(name, format!("must be at most {MAX_VALUE_LEN} bytes")));
    }
    if let Some((kind, _)) = DeviceIdKind::ALL.into_iter().find(|(_, field)| *field == name) {
        return Ok(IdentityKey::Device(kind, value.to_owned()));
    }
    match name {
        "CustomProfileId" => Ok(IdentityKey::Profile(value.to_owned())),
        "CustomerId" => Ok(IdentityKey::Customer(value.to_owned())),
        "CustomerEmail" => parse_email_hash(value)
            .map(IdentityKey::Email)
            .ok_or_else(|| bad(name, "must be a SHA-1 or SHA-256 hex digest of the email")),
        _ => Err(bad(name, "is not a field of a page load")),
    }
}

/// The click id `PageUrl` carries in the program's click-id parameter; warns when it is
/// a tracking link or an app URI that names no click.
fn click_id_in(program: &Program, page_url: &Url, warnings: &mut Vec<String>) -> Option<String> {
    let parameter = program.tracking_template().click_id_parameter();
    let value_of =
        |name: &str| page_url.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned());
    if let Some(click_id) = parameter.and_then(value_of) {
        return Some(click_id);
    }
    let segments: Vec<&str> = page_url.path_segments().map(Iterator::collect).unwrap_or_default();
    if segments.len() == 4 && segments[0] == "c" && segments[1..].iter().all(|s| s.parse::<u64>().is_ok()) {
        warnings.push(
            "PageUrl is a tracking link, not a landing: a click is recorded only when a browser follows the \
             link, so no click was registered; send the landing URL with its click id instead"
                .to_owned(),
        );
    } else if value_of("sharedid").is_some() {
        warnings.push("PageUrl has a sharedid but no click id; a sharedid does not name one click".to_owned());
    } else {
        warnings.push("PageUrl carries no click id; the ids were linked with each other only".to_owned());
    }
    None
}

/// The first click of a click id (its session start), or a warning.
async fn first_click(
    state: &AppState,
    program: ProgramId,
    click_id: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<Click>, CompatError> {
    state.settle_clicks().await;
    let clicks = state.store.clicks_by_click_id(program, click_id).await?;
    let first = clicks.into_iter().min_by_key(|click| click.at);
    if first.is_none() {
        warnings.push(format!("no click {click_id:?} in this program; nothing was linked to a click"));
    }
    Ok(first)
}
