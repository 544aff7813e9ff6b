//! `GET /Advertisers/{SID}/UniqueUrls`: the unique URLs (whole URLs for offline ads)
//! of the account's programs, by program and then in the document's order.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;
use tally_core::program::UniqueUrlState;

use super::listing::{ListingQuery, owned_programs, owner_name, page_of};
use super::{CompatError, authenticate};
use crate::AppState;

const UNIQUE_URL_PARAMETERS: &[&str] = &["CampaignId", "State", "PageSize", "Page"];
const UNIQUE_URL_STATES: &[&str] = &["AVAILABLE", "DELETED", "INUSE", "QUARANTINE", "RESERVED"];

/// Filtered by `CampaignId` and `State`.
pub(super) async fn unique_urls(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let query = ListingQuery::read(query, UNIQUE_URL_PARAMETERS, &[])?;
    let wanted_state = query.choice("State", UNIQUE_URL_STATES)?;
    let page = query.page()?;
    let catalog = state.catalog.get();
    let mut rows = Vec::new();
    for entry in owned_programs(&catalog, &sid, query.campaign()?)? {
        let document = entry.program.document();
        for unique_url in &document.unique_urls {
            let url_state = state_name(unique_url.state);
            if wanted_state.as_deref().is_some_and(|wanted| wanted != url_state) {
                continue;
            }
            rows.push(json!({
                "Url": unique_url.url,
                "LandingPage": unique_url.landing_page.as_ref().unwrap_or(&document.program.default_landing_page),
                "CampaignId": document.program.id.0,
                "CampaignName": document.program.name,
                "State": url_state,
                "MediaPartnerId": unique_url.partner.map(|partner| partner.0),
                "MediaPartnerName": unique_url.partner.and_then(|partner| owner_name(document, partner)),
            }));
        }
    }
    let (total, items) = page_of(rows, page);
    Ok(query.answer(&format!("/Advertisers/{sid}/UniqueUrls"), page, total, "UniqueUrls", items))
}

fn state_name(state: UniqueUrlState) -> &'static str {
    match state {
        UniqueUrlState::Available => "AVAILABLE",
        UniqueUrlState::Inuse => "INUSE",
        UniqueUrlState::Reserved => "RESERVED",
        UniqueUrlState::Quarantine => "QUARANTINE",
        UniqueUrlState::Deleted => "DELETED",
    }
}
