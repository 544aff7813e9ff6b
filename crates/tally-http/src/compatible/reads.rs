//! The compatible API's reads of actions: `GET /Advertisers/{SID}/Actions` (a paged
//! listing) and `GET /Advertisers/{SID}/Actions/{Id}` (one action with its items and
//! journey), in the documented field names. This API is the brand's, and sub ids are
//! for partners, so they are never in it.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use tally_app::actions::{ActionError, ActionRef};
use tally_app::ports::{ActionQuery, ActionRecord, ActionSortKey, TestActions};

use super::listing::{ListingQuery, owned_programs};
use super::{CompatError, authenticate};
use crate::AppState;

/// The listing's parameters *(documented names)*, matched ignoring case.
const LISTING_PARAMETERS: &[&str] = &[
    "CampaignId",
    "State",
    "ActionDateStart",
    "ActionDateEnd",
    "LockingDateStart",
    "LockingDateEnd",
    "StartDate",
    "EndDate",
    "PageSize",
    "Page",
];

pub(super) const STATES: &[&str] = &["PENDING", "APPROVED", "REVERSED"];

/// The documented fields of an action, as the listing and the detail both show them.
pub(super) fn action_fields(action: &ActionRecord) -> Map<String, Value> {
    let time = |at: Option<Timestamp>| at.map(|at| at.to_string());
    let fields = json!({
        "Id": action.action_id,
        "CampaignId": action.program.0,
        "ActionTrackerId": action.event_type.0,
        "MediaPartnerId": action.owner.0,
        "AdId": action.ad.map(|ad| ad.0),
        "State": action.state,
        "Amount": action.sale_amount.to_string(),
        "Payout": action.payout.to_string(),
        "Currency": action.currency.code(),
        "Oid": action.order_id,
        "EventDate": action.event_at.to_string(),
        "CreationDate": action.created_at.to_string(),
        "LockingDate": time(action.locking_at),
        "ReferringDate": time(action.referring_at),
        "ReferringType": action.referring_type,
        "PromoCode": action.promo_code,
        "CustomerId": action.customer_id,
        "CustomerStatus": action.customer_status,
        "SharedId": action.shared_id,
    });
    match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `GET /Advertisers/{SID}/Actions/{Id}` (also `{Id}.json`).
pub(super) async fn action(
    State(state): State<AppState>,
    Path((sid, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let id = id.strip_suffix(".json").unwrap_or(&id).to_owned();
    let action = state.actions.find(&sid, &ActionRef::Id(id)).await.map_err(|error| match error {
        ActionError::Store(error) => CompatError::from(error),
        _ => CompatError::new(StatusCode::NOT_FOUND, None, "no such action"),
    })?;
    let detail: Value = serde_json::from_str(&action.detail).unwrap_or(Value::Null);
    let mut fields = action_fields(&action);
    fields.insert("Items".into(), detail.get("items").cloned().unwrap_or(Value::Null));
    fields.insert("Journey".into(), detail.get("journey").cloned().unwrap_or(Value::Null));
    Ok(axum::Json(Value::Object(fields)).into_response())
}

/// `GET /Advertisers/{SID}/Actions` (also `Actions.json`): the account's actions,
/// newest first, filtered by `CampaignId`, `State`, event date (`ActionDateStart`/
/// `ActionDateEnd`), locking date (`LockingDateStart`/`LockingDateEnd`) and last update
/// (`StartDate`/`EndDate`: made, modified or reversed then; approval is not an update,
/// as documented), paged. Test actions are left out, as in every report.
pub(super) async fn actions(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let query = ListingQuery::read(query, LISTING_PARAMETERS, &[])?;
    let page = query.page()?;
    let programs = owned_programs(&state.catalog.get(), &sid, query.campaign()?)?
        .into_iter()
        .map(|entry| entry.program.id())
        .collect();
    let mut listing = ActionQuery {
        programs,
        state: query.choice("State", STATES)?,
        event_at: query.range("ActionDateStart", "ActionDateEnd")?,
        locking_at: query.range("LockingDateStart", "LockingDateEnd")?,
        changed_at: query.range("StartDate", "EndDate")?,
        test: TestActions::Exclude,
        sort: ActionSortKey::CreatedAt,
        descending: true,
        ..ActionQuery::default()
    };
    let total = state.store.count_actions(&listing).await?;
    listing.offset = page.offset();
    listing.limit = page.size as u32;
    let rows = state.store.list_actions(&listing).await?;
    let items = rows.iter().map(|action| Value::Object(action_fields(action))).collect();
    Ok(query.answer(&format!("/Advertisers/{sid}/Actions"), page, total, "Actions", items))
}
