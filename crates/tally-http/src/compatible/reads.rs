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
use tally_app::ports::{ActionQuery, ActionRecord, ActionSortKey, TestActions, TimeRange};
use tally_core::ids::ProgramId;

use super::paging::{PageRequest, envelope};
use super::{CompatError, authenticate, bad};
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

const STATES: &[&str] = &["PENDING", "APPROVED", "REVERSED"];

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
/// `ActionDateEnd`), locking date (`LockingDateStart`/`LockingDateEnd`) and creation
/// date (`StartDate`/`EndDate`), paged. Test actions are left out, as in every report.
pub(super) async fn actions(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).map(|(k, v)| (k.into(), v.into())).collect();
    let parameters = Parameters::read(&pairs)?;
    let catalog = state.catalog.get();
    let owned: Vec<ProgramId> =
        catalog.programs().filter(|entry| entry.account_sid == sid).map(|entry| entry.program.id()).collect();
    let programs = match parameters.campaign {
        Some(id) if owned.contains(&id) => vec![id],
        Some(_) => return Err(CompatError::new(StatusCode::NOT_FOUND, Some("CampaignId"), "no such campaign")),
        None => owned,
    };
    let page = PageRequest::read(parameters.value("Page"), parameters.value("PageSize"))?;
    let mut query = ActionQuery {
        programs,
        state: parameters.state,
        event_at: parameters.event_at,
        locking_at: parameters.locking_at,
        created_at: parameters.created_at,
        test: TestActions::Exclude,
        sort: ActionSortKey::CreatedAt,
        descending: true,
        ..ActionQuery::default()
    };
    let total = state.store.count_actions(&query).await?;
    query.offset = page.offset();
    query.limit = page.size as u32;
    let rows = state.store.list_actions(&query).await?;
    let items = rows.iter().map(|action| Value::Object(action_fields(action))).collect();
    let kept: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(name, _)| !matches!(name.to_ascii_lowercase().as_str(), "page" | "pagesize"))
        .collect();
    let path = format!("/Advertisers/{sid}/Actions");
    Ok(axum::Json(envelope(&path, &kept, page, total, "Actions", items)).into_response())
}

/// The listing's parameters, checked.
struct Parameters<'a> {
    pairs: &'a [(String, String)],
    campaign: Option<ProgramId>,
    state: Option<String>,
    event_at: TimeRange,
    locking_at: TimeRange,
    created_at: TimeRange,
}

impl<'a> Parameters<'a> {
    fn read(pairs: &'a [(String, String)]) -> Result<Self, CompatError> {
        for (name, _) in pairs {
            if !LISTING_PARAMETERS.iter().any(|known| known.eq_ignore_ascii_case(name)) {
                let message =
                    format!("unknown parameter {name:?}; this listing takes {}", LISTING_PARAMETERS.join(", "));
                return Err(bad(name, &message));
            }
        }
        let mut parameters = Parameters {
            pairs,
            campaign: None,
            state: None,
            event_at: TimeRange::default(),
            locking_at: TimeRange::default(),
            created_at: TimeRange::default(),
        };
        if let Some(text) = parameters.value("CampaignId") {
            let id = text.trim().parse::<u64>().map_err(|_| bad("CampaignId", "CampaignId must be a number"))?;
            parameters.campaign = Some(ProgramId(id));
        }
        if let Some(text) = parameters.value("State") {
            let state = text.trim().to_ascii_uppercase();
            if !STATES.contains(&state.as_str()) {
                return Err(bad("State", &format!("State must be one of {}", STATES.join(", "))));
            }
            parameters.state = Some(state);
        }
        parameters.event_at = parameters.range("ActionDateStart", "ActionDateEnd")?;
        parameters.locking_at = parameters.range("LockingDateStart", "LockingDateEnd")?;
        parameters.created_at = parameters.range("StartDate", "EndDate")?;
        Ok(parameters)
    }

    fn value(&self, name: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    fn instant(&self, name: &str) -> Result<Option<Timestamp>, CompatError> {
        let Some(text) = self.value(name) else { return Ok(None) };
        let message = format!("{name} must be an ISO 8601 instant such as 2026-01-31T00:00:00Z");
        text.trim().parse::<Timestamp>().map(Some).map_err(|_| bad(name, &message))
    }

    fn range(&self, start: &str, end: &str) -> Result<TimeRange, CompatError> {
        let range = TimeRange { from: self.instant(start)?, to: self.instant(end)? };
        if let (Some(from), Some(to)) = (range.from, range.to)
            && to < from
        {
            return Err(bad(end, &format!("{end} is before {start}")));
        }
        Ok(range)
    }
}
