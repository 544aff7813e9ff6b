//! The brand's account and programs in the compatible read API:
//! `GET /Advertisers/{SID}/CompanyInformation`, `…/Campaigns` (a paged listing of the
//! account's programs, by id) and `…/Campaigns/{Id}`, each also with `.json`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tally_app::catalog::ProgramEntry;
use tally_core::ids::ProgramId;

use super::listing::{ListingQuery, owned_programs, page_of, without_json};
use super::{CompatError, authenticate};
use crate::AppState;

const CAMPAIGN_PARAMETERS: &[&str] = &["Name", "State", "PageSize", "Page"];

/// A program's states *(documented)*; a Tally program that exists is always `ACTIVE`.
const PROGRAM_STATES: &[&str] = &[
    "ACTIVE",
    "AWAITING_REVIEW",
    "CANCELLED",
    "CLOSED",
    "DEACTIVATED",
    "DELINQUENT",
    "REJECTED",
    "SETUP",
    "SETUP_COMPLETE",
];

/// `GET /Advertisers/{SID}/CompanyInformation`: the account's name. Tally keeps no
/// address, contacts or tax details, so those documented fields are left out.
pub(super) async fn company_information(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    ListingQuery::read(query, &[], &[])?;
    let account = state.store.account(&sid).await?;
    let account = account.ok_or_else(|| CompatError::new(StatusCode::NOT_FOUND, None, "no such account"))?;
    let uri = format!("/Advertisers/{sid}/CompanyInformation");
    Ok(axum::Json(json!({"CompanyName": account.name, "Uri": uri})).into_response())
}

/// `GET /Advertisers/{SID}/Campaigns`: the account's programs by id, filtered by
/// `Name` (ignoring case) and `State`.
pub(super) async fn campaigns(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let query = ListingQuery::read(query, CAMPAIGN_PARAMETERS, &[])?;
    let wanted_state = query.choice("State", PROGRAM_STATES)?;
    let name = query.value("Name");
    let page = query.page()?;
    let catalog = state.catalog.get();
    let rows: Vec<Value> = owned_programs(&catalog, &sid, None)?
        .into_iter()
        .filter(|entry| name.is_none_or(|name| entry.program.document().program.name.eq_ignore_ascii_case(name)))
        .filter(|_| wanted_state.as_deref().is_none_or(|wanted| wanted == "ACTIVE"))
        .map(|entry| campaign_json(&sid, entry))
        .collect();
    let (total, items) = page_of(rows, page);
    Ok(query.answer(&format!("/Advertisers/{sid}/Campaigns"), page, total, "Campaigns", items))
}

/// `GET /Advertisers/{SID}/Campaigns/{Id}`: one of the account's programs.
pub(super) async fn campaign(
    State(state): State<AppState>,
    Path((sid, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let not_found = || CompatError::new(StatusCode::NOT_FOUND, None, "no such campaign");
    let id = without_json(&id).parse::<u64>().map_err(|_| not_found())?;
    let catalog = state.catalog.get();
    let entry = catalog.program(ProgramId(id)).filter(|entry| entry.account_sid == sid).ok_or_else(not_found)?;
    Ok(axum::Json(campaign_json(&sid, entry)).into_response())
}

/// A program in the documented shape, with its currency added.
fn campaign_json(sid: &str, entry: &ProgramEntry) -> Value {
    let settings = &entry.program.document().program;
    json!({
        "Id": settings.id.0,
        "Name": settings.name,
        "State": "ACTIVE",
        "Currency": settings.currency.code(),
        "TrackingDomain": settings.tracking_domains.first(),
        "GatewayTrackingSettings": {
            "DefaultLandingPage": settings.default_landing_page,
            "CampaignTrackingTemplate": settings.tracking_template,
            "DeepLinking": settings.deep_linking,
            "DeepLinkDomains": settings.permitted_domains.join(","),
        },
        "Uri": format!("/Advertisers/{sid}/Campaigns/{}", settings.id.0),
    })
}
