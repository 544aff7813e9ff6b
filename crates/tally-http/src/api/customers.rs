//! `DELETE /api/v1/programs/{id}/customers?customerId=…&customerEmail=…`: a privacy
//! request (SPEC §5). The customer's identity links, id, email and raw submissions are
//! removed; its actions stay, with their money.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::delete;
use tally_core::conversion::compatible::{MAX_VALUE_LEN, parse_email_hash};

use super::{Caller, program_id, query_parameters};
use crate::AppState;
use crate::error::{ApiError, ErrorKind};

const PARAMETERS: &[&str] = &["customerId", "customerEmail"];

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/programs/{id}/customers", delete(forget))
}

async fn forget(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    if caller.0.partner.is_some() {
        return Err(ApiError::new(ErrorKind::Forbidden, "partner tokens cannot delete customers"));
    }
    let program = program_id(&id)?;
    let owned = state.catalog.get().program(program).is_some_and(|entry| entry.account_sid == caller.0.account_sid);
    if !owned {
        return Err(ApiError::new(ErrorKind::NotFound, format!("program {program} not found")));
    }
    let parameters = query_parameters(raw.as_deref(), PARAMETERS)?;
    let customer_id = parameters.get("customerId").map(|id| id.trim()).filter(|id| !id.is_empty());
    if customer_id.is_some_and(|id| id.len() > MAX_VALUE_LEN) {
        return Err(ApiError::parameter("customerId", format!("is longer than {MAX_VALUE_LEN} characters")));
    }
    let email = match parameters.get("customerEmail") {
        Some(text) => Some(parse_email_hash(text.trim()).ok_or_else(|| {
            ApiError::parameter("customerEmail", "must be the SHA-1 or SHA-256 hex digest the conversions sent")
        })?),
        None => None,
    };
    if customer_id.is_none() && email.is_none() {
        return Err(ApiError::parameter("customerId", "name the customer by customerId, customerEmail or both"));
    }
    let report = state.conversions.forget_customer(program, customer_id, email.as_deref()).await?;
    Ok(axum::Json(report).into_response())
}
