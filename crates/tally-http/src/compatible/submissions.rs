//! `GET /Advertisers/{SID}/APISubmissions`: every conversion, modification and reversal
//! the account sent, newest first, as `APISubmissions/{Id}` shows each one, filtered by
//! `CampaignId` and by arrival (`StartDate`/`EndDate`). The listing's documented key is
//! `APISubmission`.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;
use tally_app::ports::{SubmissionQuery, SubmissionRecord};

use super::listing::{ListingQuery, owned_programs};
use super::{CompatError, authenticate, submission_json};
use crate::AppState;

const SUBMISSION_PARAMETERS: &[&str] = &["CampaignId", "StartDate", "EndDate", "PageSize", "Page"];

pub(super) async fn api_submissions(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, CompatError> {
    authenticate(&state, &headers, &sid).await?;
    let query = ListingQuery::read(query, SUBMISSION_PARAMETERS, &[])?;
    let received_at = query.range("StartDate", "EndDate")?;
    let page = query.page()?;
    let program = query.campaign()?;
    // A program of another account is not found, as in every listing.
    owned_programs(&state.catalog.get(), &sid, program)?;
    let mut submission_query =
        SubmissionQuery { account_sid: sid.clone(), program, received_at, ..SubmissionQuery::default() };
    let total = state.store.count_submissions(&submission_query).await?;
    submission_query.offset = page.offset();
    submission_query.limit = u32::try_from(page.size).unwrap_or(u32::MAX);
    let records = state.store.list_submissions(&submission_query).await?;
    let items = records.iter().map(listed_submission).collect();
    Ok(query.answer(&format!("/Advertisers/{sid}/APISubmissions"), page, total, "APISubmission", items))
}

/// A submission as `APISubmissions/{Id}` shows it, with the documented reference
/// fields it named when they were valid.
fn listed_submission(record: &SubmissionRecord) -> Value {
    let mut value = submission_json(record);
    if let Value::Object(fields) = &mut value {
        fields.insert("CampaignId".into(), record.program.map(|program| program.0).into());
        fields.insert("ActionTrackerId".into(), record.event_type.map(|event_type| event_type.0).into());
        fields.insert("OrderId".into(), record.order_id.clone().into());
    }
    value
}
