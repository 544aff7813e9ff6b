//! `GET /Advertisers/{SID}/PromoCodes`: the promo codes of the account's programs, by
//! program and then in the document's order. A code is `ACTIVE` while the clock is
//! within its validity and `INACTIVE` otherwise.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use jiff::Timestamp;
use serde_json::{Value, json};
use tally_app::ports::TimeRange;
use tally_core::program::{PromoCodeDoc, PromoCodeType, PromoCreditPolicy};

use super::listing::{ListingQuery, owned_programs, owner_name, page_of, time};
use super::{CompatError, authenticate};
use crate::AppState;

const PROMO_CODE_PARAMETERS: &[&str] = &["CampaignId", "Code", "State", "StartDate", "EndDate", "PageSize", "Page"];
const PROMO_CODE_STATES: &[&str] = &["ACTIVE", "INACTIVE"];

/// Filtered by `CampaignId`, `Code` (ignoring case), `State`, and `StartDate`/
/// `EndDate`: codes valid at some instant of that range.
pub(super) async fn promo_codes(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let query = ListingQuery::read(query, PROMO_CODE_PARAMETERS, &[])?;
    let wanted_state = query.choice("State", PROMO_CODE_STATES)?;
    let valid_during = query.range("StartDate", "EndDate")?;
    let code = query.value("Code");
    let page = query.page()?;
    let now = state.clock.now();
    let catalog = state.catalog.get();
    let mut rows = Vec::new();
    for entry in owned_programs(&catalog, &sid, query.campaign()?)? {
        let document = entry.program.document();
        for promo in &document.promo_codes {
            let code_state = if valid_at(promo, now) { "ACTIVE" } else { "INACTIVE" };
            if code.is_some_and(|code| !promo.code.eq_ignore_ascii_case(code))
                || wanted_state.as_deref().is_some_and(|wanted| wanted != code_state)
                || !overlaps(promo, &valid_during)
            {
                continue;
            }
            rows.push(json!({
                "Code": promo.code,
                "Type": match promo.code_type { PromoCodeType::Exact => "LI", PromoCodeType::Regex => "RE" },
                "CreditPolicy": credit_policy(promo.credit_policy),
                "CampaignId": document.program.id.0,
                "CampaignName": document.program.name,
                "AssignedPartnerId": promo.partner.0,
                "AssignedPartnerName": owner_name(document, promo.partner),
                "StartDate": time(promo.start),
                "EndDate": time(promo.end),
                "State": code_state,
            }));
        }
    }
    let (total, items): (u64, Vec<Value>) = page_of(rows, page);
    Ok(query.answer(&format!("/Advertisers/{sid}/PromoCodes"), page, total, "PromoCodes", items))
}

fn credit_policy(policy: PromoCreditPolicy) -> &'static str {
    match policy {
        PromoCreditPolicy::Always => "ALWAYS",
        PromoCreditPolicy::Involved => "INVOLVED",
        PromoCreditPolicy::Winner => "WINNER",
    }
}

/// Valid from `start` (inclusive) until `end` (exclusive).
fn valid_at(promo: &PromoCodeDoc, at: Timestamp) -> bool {
    promo.start.is_none_or(|start| at >= start) && promo.end.is_none_or(|end| at < end)
}

/// Whether the code's validity meets the inclusive range.
fn overlaps(promo: &PromoCodeDoc, range: &TimeRange) -> bool {
    let starts_in_time = range.to.is_none_or(|to| promo.start.is_none_or(|start| start <= to));
    let ends_in_time = range.from.is_none_or(|from| promo.end.is_none_or(|end| end > from));
    starts_in_time && ends_in_time
}
