//! `GET /Advertisers/{SID}/MediaPartners` and `…/MediaPartners/{Id}`: the partners and
//! other media sources of the account's programs, one row per id (ids are the
//! account's), with the programs each takes part in and its contract dates there.
//! The listing's documented key is `Partners`.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tally_app::catalog::ProgramEntry;
use tally_core::ids::PartnerId;
use tally_core::program::{PartnerStatus, ProgramDocument};

use super::listing::{ListingQuery, owned_programs, page_of, time, without_json};
use super::{CompatError, authenticate, bad};
use crate::AppState;

const PARTNER_PARAMETERS: &[&str] = &["CampaignId", "Id", "State", "PageSize", "Page"];
const UNSUPPORTED: &[&str] = &["GroupId", "Country", "StartDate", "EndDate", "RelationshipState"];

/// A partner's states *(documented)*. Tally's partners are `ACTIVE`, or `DEACTIVATED`
/// when inactive in every program listed.
const PARTNER_STATES: &[&str] =
    &["ACTIVE", "EXPIRED", "PENDING", "DECLINED", "SUSPENDED", "DEACTIVATED", "CLOSING", "CLOSED", "NOT_APPLICABLE"];

/// One partner or media source across the programs listed.
struct PartnerRow {
    name: String,
    media_source: bool,
    active: bool,
    programs: Vec<Value>,
}

/// `GET /Advertisers/{SID}/MediaPartners`, by id, filtered by `CampaignId`, `Id` (a
/// comma-separated list) and `State`.
pub(super) async fn media_partners(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let query = ListingQuery::read(query, PARTNER_PARAMETERS, UNSUPPORTED)?;
    let ids = query.value("Id").map(parse_ids).transpose()?;
    let wanted_state = query.choice("State", PARTNER_STATES)?;
    let page = query.page()?;
    let catalog = state.catalog.get();
    let programs = owned_programs(&catalog, &sid, query.campaign()?)?;
    let rows: Vec<Value> = partner_rows(&programs)
        .into_iter()
        .filter(|(id, _)| ids.as_ref().is_none_or(|ids| ids.contains(id)))
        .filter(|(_, row)| wanted_state.as_deref().is_none_or(|wanted| wanted == row.state()))
        .map(|(id, row)| row.into_json(&sid, id))
        .collect();
    let (total, items) = page_of(rows, page);
    Ok(query.answer(&format!("/Advertisers/{sid}/MediaPartners"), page, total, "Partners", items))
}

/// `GET /Advertisers/{SID}/MediaPartners/{Id}`.
pub(super) async fn media_partner(
    State(state): State<AppState>,
    Path((sid, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let not_found = || CompatError::new(StatusCode::NOT_FOUND, None, "no such partner");
    let id = PartnerId(without_json(&id).parse::<u64>().map_err(|_| not_found())?);
    let catalog = state.catalog.get();
    let programs = owned_programs(&catalog, &sid, None)?;
    let row = partner_rows(&programs).remove(&id).ok_or_else(not_found)?;
    Ok(axum::Json(row.into_json(&sid, id)).into_response())
}

fn parse_ids(text: &str) -> Result<Vec<PartnerId>, CompatError> {
    text.split(',')
        .map(|id| id.trim().parse::<u64>().map(PartnerId))
        .collect::<Result<_, _>>()
        .map_err(|_| bad("Id", "Id must be partner ids separated by commas"))
}

/// Every partner and media source of `programs` (in id order), merged by id.
fn partner_rows(programs: &[&ProgramEntry]) -> BTreeMap<PartnerId, PartnerRow> {
    let mut rows: BTreeMap<PartnerId, PartnerRow> = BTreeMap::new();
    for entry in programs {
        let document = entry.program.document();
        let sources = document.media_sources.iter().map(|source| (source.id, &source.name, true, true));
        let partners = document
            .partners
            .iter()
            .map(|partner| (partner.id, &partner.name, false, partner.status == PartnerStatus::Active));
        for (id, name, media_source, active) in partners.chain(sources) {
            let row = rows.entry(id).or_insert_with(|| PartnerRow {
                name: name.clone(),
                media_source,
                active: false,
                programs: Vec::new(),
            });
            row.active |= active;
            row.programs.push(membership(document, id));
        }
    }
    rows
}

/// A partner's place in one program: its contract terms and dates there, if any.
fn membership(document: &ProgramDocument, partner: PartnerId) -> Value {
    let contracts: Vec<_> = document.contracts.iter().filter(|contract| contract.partner == partner).collect();
    let first = contracts.iter().map(|contract| contract.start).min();
    let latest = contracts.iter().max_by_key(|contract| contract.start);
    let terms = latest.and_then(|contract| {
        document.template_terms.iter().find(|terms| terms.id == contract.template_terms).map(|terms| &terms.name)
    });
    json!({
        "Id": document.program.id.0.to_string(),
        "Name": document.program.name,
        "ContractName": terms,
        "JoinDate": time(first),
        "ExpirationDate": time(latest.and_then(|contract| contract.end)),
    })
}

impl PartnerRow {
    fn state(&self) -> &'static str {
        if self.active { "ACTIVE" } else { "DEACTIVATED" }
    }

    /// The documented partner shape; `PartnerType` is `DIRECT`, or Tally's
    /// `MEDIA_SOURCE` for other media (paid search, email, networks).
    fn into_json(self, sid: &str, id: PartnerId) -> Value {
        json!({
            "Id": id.0.to_string(),
            "Name": self.name,
            "State": self.state(),
            "PartnerType": if self.media_source { "MEDIA_SOURCE" } else { "DIRECT" },
            "Programs": self.programs,
            "Uri": format!("/Advertisers/{sid}/MediaPartners/{}", id.0),
        })
    }
}
