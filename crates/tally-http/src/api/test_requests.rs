//! Partners' requests for test actions (SPEC §8):
//!
//! - `POST …/test-action-requests` with an optional `{"note": "…"}`: a partner asks the
//!   brand for a test action;
//! - `GET …/test-action-requests`: the program's requests, newest first (a partner's
//!   own);
//! - `POST …/test-action-requests/{requestId}/fulfil` with `{"actionId": "…"}`: the
//!   brand answers with a test action it made for that partner; or with
//!   `{"testConversion": {"amount": "10.00", "eventTypeId": 1}}` (the event type
//!   optional: the program's first), to have Tally make the test action for the
//!   partner who asked and answer with it;
//! - `POST …/test-action-requests/{requestId}/decline`: the brand declines.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tally_app::ports::TestActionRequestRecord;
use tally_app::test_requests::{RequestError, TestConversion};
use tally_core::ids::EventTypeId;

use super::statements::owned_program;
use super::{Body, Caller, json_object};
use crate::AppState;
use crate::error::{ApiError, ErrorKind};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/programs/{id}/test-action-requests", post(ask).get(list))
        .route("/programs/{id}/test-action-requests/{request_id}/fulfil", post(fulfil))
        .route("/programs/{id}/test-action-requests/{request_id}/decline", post(decline))
}

fn request_json(request: &TestActionRequestRecord) -> Value {
    json!({
        "requestId": request.request_id,
        "programId": request.program.0,
        "partnerId": request.partner.0,
        "note": request.note,
        "state": request.state,
        "actionId": request.action_id,
        "createdAt": request.created_at.to_string(),
        "resolvedAt": request.resolved_at.map(|at| at.to_string()),
    })
}

fn request_error(error: RequestError) -> ApiError {
    match error {
        RequestError::NotFound(_) => ApiError::new(ErrorKind::NotFound, error.to_string()),
        RequestError::NotOpen(..) => ApiError::new(ErrorKind::Conflict, error.to_string()),
        RequestError::NotAPartner(_) => ApiError::new(ErrorKind::Forbidden, error.to_string()),
        RequestError::BadNote(message) => ApiError::parameter("note", message),
        RequestError::BadAction(message) => ApiError::parameter("actionId", message),
        RequestError::Store(error) => error.into(),
    }
}

/// The fields of a body that may be empty, refusing any other name.
fn fields(body: &[u8], allowed: &[&str], shape: &str) -> Result<serde_json::Map<String, Value>, ApiError> {
    let object = if body.is_empty() { serde_json::Map::new() } else { json_object(body)? };
    match object.keys().find(|name| !allowed.contains(&name.as_str())) {
        Some(name) => Err(ApiError::parameter(name, format!("is not a field here; send {shape}"))),
        None => Ok(object),
    }
}

async fn ask(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let Some(partner) = caller.0.partner else {
        return Err(ApiError::new(ErrorKind::Forbidden, "a partner asks for a test action; the brand makes one"));
    };
    let program = owned_program(&state, &caller, &id)?;
    let object = fields(&body, &["note"], "{\"note\": \"…\"} or nothing")?;
    let note = match object.get("note") {
        None | Some(Value::Null) => "",
        Some(Value::String(text)) => text.as_str(),
        Some(_) => return Err(ApiError::parameter("note", "must be a text")),
    };
    let request = state.test_requests.ask(program, partner, note).await.map_err(request_error)?;
    Ok((StatusCode::CREATED, axum::Json(request_json(&request))).into_response())
}

async fn list(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let program = owned_program(&state, &caller, &id)?;
    let requests = state.test_requests.list(program, caller.0.partner).await.map_err(request_error)?;
    let requests: Vec<Value> = requests.iter().map(request_json).collect();
    Ok(axum::Json(json!({"requests": requests})).into_response())
}

async fn fulfil(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, request_id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let program = brand_program(&state, &caller, &id)?;
    let shape = "{\"actionId\": \"…\"} or {\"testConversion\": {\"amount\": \"10.00\"}}";
    let object = fields(&body, &["actionId", "testConversion"], shape)?;
    let request = match (object.get("actionId"), object.get("testConversion")) {
        (Some(Value::String(action_id)), None) => {
            state.test_requests.fulfil(program, &request_id, action_id).await.map_err(request_error)?
        }
        (None, Some(conversion)) => {
            let conversion = test_conversion(conversion)?;
            let account_sid = &caller.0.account_sid;
            let made = state.test_requests.fulfil_with_test_conversion(account_sid, program, &request_id, &conversion);
            made.await.map_err(|error| match error {
                RequestError::BadAction(message) => ApiError::parameter("testConversion", message),
                other => request_error(other),
            })?
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::parameter("testConversion", "send either actionId or testConversion, not both"));
        }
        _ => return Err(ApiError::parameter("actionId", format!("is required: send {shape}"))),
    };
    Ok(axum::Json(request_json(&request)).into_response())
}

/// `{"amount": "10.00", "eventTypeId": 1}`: the amount a decimal text or number, the
/// event type optional.
fn test_conversion(value: &Value) -> Result<TestConversion, ApiError> {
    let refuse = |message: &str| ApiError::parameter("testConversion", message);
    let Value::Object(object) = value else { return Err(refuse("must be an object with amount and eventTypeId")) };
    if let Some(name) = object.keys().find(|name| !["amount", "eventTypeId"].contains(&name.as_str())) {
        return Err(refuse(&format!("{name} is not a field of it; send amount and eventTypeId")));
    }
    let amount = match object.get("amount") {
        Some(Value::String(text)) => text.trim().parse::<Decimal>().ok(),
        Some(Value::Number(number)) => number.to_string().parse::<Decimal>().ok(),
        _ => return Err(refuse("amount is required: the sale amount, in the program's currency")),
    };
    let Some(amount) = amount.filter(|amount| !amount.is_sign_negative()) else {
        return Err(refuse("amount must be a decimal of at least 0, such as \"10.00\""));
    };
    let event_type = match object.get("eventTypeId") {
        None | Some(Value::Null) => None,
        Some(Value::Number(number)) => {
            Some(EventTypeId(number.as_u64().ok_or_else(|| refuse("eventTypeId must be a whole number"))?))
        }
        Some(_) => return Err(refuse("eventTypeId must be a whole number")),
    };
    Ok(TestConversion { event_type, amount })
}

async fn decline(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, request_id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let program = brand_program(&state, &caller, &id)?;
    fields(&body, &[], "nothing")?;
    let request = state.test_requests.decline(program, &request_id).await.map_err(request_error)?;
    Ok(axum::Json(request_json(&request)).into_response())
}

/// The program in the path, for its brand only: partners ask, brands answer.
fn brand_program(state: &AppState, caller: &Caller, id: &str) -> Result<tally_core::ids::ProgramId, ApiError> {
    if caller.0.partner.is_some() {
        return Err(ApiError::new(ErrorKind::Forbidden, "only the brand answers test action requests"));
    }
    owned_program(state, caller, id)
}
