//! `GET /Advertisers/{SID}/ActionUpdates`: the changelog of the account's actions
//! (state changes, amount changes, reversals), oldest first, filtered by `CampaignId`,
//! by when the update was made (`StartDate`/`EndDate`), by the `State` it left the
//! action in, and by its action's event and locking dates (`ActionDateStart`/
//! `ActionDateEnd`, `LockingDateStart`/`LockingDateEnd`). Each row carries its action's
//! currency and reference fields; sub ids stay out, as everywhere in this API.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};
use tally_app::ports::{ActionRecord, ActionUpdateRecord, UpdateQuery};

use super::listing::{ListingQuery, owned_programs, time};
use super::reads::STATES;
use super::{CompatError, authenticate};
use crate::AppState;

const UPDATE_PARAMETERS: &[&str] = &[
    "CampaignId",
    "StartDate",
    "EndDate",
    "State",
    "ActionDateStart",
    "ActionDateEnd",
    "LockingDateStart",
    "LockingDateEnd",
    "PageSize",
    "Page",
];

pub(super) async fn action_updates(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let query = ListingQuery::read(query, UPDATE_PARAMETERS, &[])?;
    let at = query.range("StartDate", "EndDate")?;
    let filters = UpdateQuery {
        state: query.choice("State", STATES)?,
        event_at: query.range("ActionDateStart", "ActionDateEnd")?,
        locking_at: query.range("LockingDateStart", "LockingDateEnd")?,
        ..UpdateQuery::default()
    };
    let page = query.page()?;
    let programs = {
        let catalog = state.catalog.get();
        owned_programs(&catalog, &sid, query.campaign()?)?.iter().map(|entry| entry.program.id()).collect()
    };
    let mut update_query = UpdateQuery { programs, at, ..filters };
    let total = state.store.count_action_updates(&update_query).await?;
    update_query.offset = page.offset();
    update_query.limit = u32::try_from(page.size).unwrap_or(u32::MAX);
    let updates = state.store.list_action_updates(&update_query).await?;
    // The page's actions in one read.
    let mut ids: Vec<String> = updates.iter().map(|update| update.action_id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let actions: HashMap<String, ActionRecord> =
        state.store.actions_by_id(&ids).await?.into_iter().map(|action| (action.action_id.clone(), action)).collect();
    let items = updates.iter().map(|update| update_json(&sid, update, actions.get(&update.action_id))).collect();
    Ok(query.answer(&format!("/Advertisers/{sid}/ActionUpdates"), page, total, "ActionUpdates", items))
}

/// An update in the documented shape: `State` is the action's state after it,
/// `Disposition` the reason, the deltas decimal strings in the action's `Currency`.
fn update_json(sid: &str, update: &ActionUpdateRecord, action: Option<&ActionRecord>) -> Value {
    json!({
        "Id": update.update_id,
        "ActionId": update.action_id,
        "CampaignId": update.program.0,
        "ActionTrackerId": action.map(|action| action.event_type.0),
        "MediaPartnerId": action.map(|action| action.owner.0),
        "AdId": action.and_then(|action| action.ad).map(|ad| ad.0),
        "State": update.to_state,
        "Disposition": update.reason,
        "DeltaAmount": update.delta_amount.to_string(),
        "DeltaPayout": update.delta_payout.to_string(),
        "Currency": action.map(|action| action.currency.code()),
        "UpdateDate": update.at.to_string(),
        "ActionDate": time(action.map(|action| action.event_at)),
        "LockingDate": time(action.and_then(|action| action.locking_at)),
        "Oid": action.map(|action| &action.order_id),
        "CustomerId": action.and_then(|action| action.customer_id.as_ref()),
        "SharedId": action.and_then(|action| action.shared_id.as_ref()),
        "ActionUri": format!("/Advertisers/{sid}/Actions/{}", update.action_id),
    })
}
