//! `POST /api/v1/programs/{id}/conversions`: one conversion or a batch, answered with
//! the outcome at once; `Idempotency-Key` makes a retry return the first answer.
//! `GET /api/v1/programs/{id}/actions/{actionId}`: an action with its journey.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tally_app::actions::{ActionError, ActionRef};
use tally_app::conversions::{Channel, ConversionOutcome, Decision, Submission};
use tally_app::ports::{ActionRecord, ActionUpdateRecord, IdempotencyRecord};
use tally_core::conversion::{compatible, native};
use tally_core::ids::ProgramId;
use tally_core::modification::{LineChange, Modification};

use super::{Body, Caller, json_object, program_id};
use crate::AppState;
use crate::error::{ApiError, ErrorKind};

/// The most conversions one batch may carry.
const MAX_BATCH: usize = 100;
/// The longest idempotency key.
const MAX_KEY_LEN: usize = 255;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/programs/{id}/conversions", post(submit))
        .route("/programs/{id}/actions/{action_id}", get(action))
        .route("/programs/{id}/actions/{action_id}/reverse", post(reverse))
        .route("/programs/{id}/actions/{action_id}/approve", post(approve))
        .route("/programs/{id}/actions/{action_id}/modify", post(modify))
}

async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    if caller.0.partner.is_some() {
        return Err(ApiError::new(ErrorKind::Forbidden, "partner tokens cannot send conversions"));
    }
    let account_sid = caller.0.account_sid.clone();
    let program = program_id(&id)?;
    let key = idempotency_key(&headers)?;
    let fingerprint = hex(&Sha256::new()
        .chain_update(format!("POST /programs/{program}/conversions\n"))
        .chain_update(&body)
        .finalize());
    if let Some(key) = &key
        && let Some(first) = state.store.idempotent_answer(&account_sid, key).await?
    {
        return replay(first, &fingerprint);
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|error| ApiError::new(ErrorKind::MalformedBody, format!("the body is not JSON: {error}")))?;
    let (status, answer) = match value {
        Value::Object(mut object) if object.contains_key("conversions") => {
            let Some(Value::Array(batch)) = object.remove("conversions") else {
                return Err(ApiError::parameter("conversions", "must be an array"));
            };
            if batch.len() > MAX_BATCH || batch.is_empty() {
                return Err(ApiError::parameter("conversions", format!("must hold 1 to {MAX_BATCH} conversions")));
            }
            let mut results = Vec::with_capacity(batch.len());
            for item in batch {
                results.push(one(&state, &account_sid, program, item).await?.1);
            }
            (StatusCode::OK, json!({"results": results}))
        }
        single => one(&state, &account_sid, program, single).await?,
    };
    let answer = answer.to_string();
    let (status, answer) = match key {
        Some(key) => {
            let record = IdempotencyRecord {
                account_sid,
                key,
                fingerprint,
                status: status.as_u16(),
                response: answer,
                created_at: state.clock.now(),
            };
            let kept = state.store.save_idempotent_answer(&record).await?;
            (StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK), kept.response)
        }
        None => (status, answer),
    };
    Ok((status, [(header::CONTENT_TYPE, "application/json")], answer).into_response())
}

/// Takes one conversion object and answers with its outcome.
async fn one(
    state: &AppState,
    account_sid: &str,
    program: ProgramId,
    value: Value,
) -> Result<(StatusCode, Value), ApiError> {
    let payload = value.to_string();
    let Value::Object(object) = value else {
        return Ok((StatusCode::BAD_REQUEST, invalid_json(&[("", "a conversion must be a JSON object")])));
    };
    let submission = Submission {
        account_sid: account_sid.to_owned(),
        channel: Channel::Api,
        payload,
        content_type: "application/json".into(),
        extra_keys: Vec::new(),
    };
    let outcome = state.conversions.submit(submission, native::parse(program, &object, false)).await?;
    Ok(outcome_json(&outcome))
}

/// The outcome as the native API and the tag's collection endpoint answer it.
pub(crate) fn outcome_json(outcome: &ConversionOutcome) -> (StatusCode, Value) {
    let submission = &outcome.submission_id;
    match &outcome.decision {
        Decision::Invalid(errors) => {
            let errors: Vec<(&str, &str)> =
                errors.iter().map(|error| (error.field.as_str(), error.message.as_str())).collect();
            let mut body = invalid_json(&errors);
            body["submissionId"] = json!(submission);
            (StatusCode::BAD_REQUEST, body)
        }
        Decision::Refused { code, message, action_id } => (
            StatusCode::OK,
            json!({"submissionId": submission, "status": "REFUSED", "reason": code.as_str(), "message": message,
                   "actionId": action_id}),
        ),
        Decision::Credited(action) => (
            StatusCode::CREATED,
            json!({
                "submissionId": submission, "status": "CREDITED", "actionId": action.action_id,
                "partnerId": action.owner.0, "ownerKind": action.owner_kind.as_str(), "rule": action.rule,
                "state": action.state, "saleAmount": action.sale_amount.to_string(),
                "payout": action.payout.to_string(), "currency": action.currency.code(), "test": action.test,
            }),
        ),
    }
}

fn invalid_json(errors: &[(&str, &str)]) -> Value {
    let problems: Vec<Value> = errors.iter().map(|(path, message)| json!({"path": path, "message": message})).collect();
    json!({"status": "INVALID", "error": {"code": "invalid_parameter", "message": "the conversion has missing or malformed fields", "problems": problems}})
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|key| !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic()));
    match key {
        Some(key) => Ok(Some(key.to_owned())),
        None => {
            Err(ApiError::parameter("Idempotency-Key", format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters")))
        }
    }
}

/// The first answer again, unless the key was used for a different request.
fn replay(first: IdempotencyRecord, fingerprint: &str) -> Result<Response, ApiError> {
    if first.fingerprint != fingerprint {
        return Err(ApiError::new(
            ErrorKind::UnprocessableKey,
            "this Idempotency-Key was already used for a different request",
        ));
    }
    let status = StatusCode::from_u16(first.status).unwrap_or(StatusCode::OK);
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], first.response).into_response();
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(response)
}

async fn action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let program = program_id(&id)?;
    let not_found = || ApiError::new(ErrorKind::NotFound, format!("action {action_id:?} not found"));
    let entry = state.catalog.get().program(program).filter(|entry| entry.account_sid == caller.0.account_sid).cloned();
    entry.ok_or_else(not_found)?;
    let action = state.store.action(&action_id).await?.filter(|action| action.program == program);
    let action = action.ok_or_else(not_found)?;
    // A partner sees its own actions only, and a missing one looks like any other.
    if caller.0.partner.is_some_and(|partner| partner != action.owner) {
        return Err(not_found());
    }
    let updates = state.store.action_updates(&action.action_id).await?;
    let mut body = action_json(&action, caller.0.partner.is_some());
    body["stateDetail"] = json!(state.statements.state_detail(&action).await?);
    body["updates"] = updates_json(&updates);
    Ok(axum::Json(body).into_response())
}

/// `POST …/actions/{id}/reverse` with `{"reason": "ITEM_RETURNED"}`.
async fn reverse(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action_id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let account_sid = brand(&caller)?;
    let (_, reason) = change_body(&body, &["reason"], "a reversal")?;
    let reference = owned_action(&state, account_sid, &id, action_id).await?;
    let action = state.actions.reverse(account_sid, &reference, &reason, account_sid).await.map_err(action_error)?;
    changed(&state, action).await
}

/// `POST …/actions/{id}/modify` with a `reason` and exactly one of `amount` (the new
/// sale amount), `items` (`[{"line": 1, "quantity": 0, "subTotalDelta": "-5.00"}]`,
/// lines counted from 1) or `"reset": true`.
async fn modify(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action_id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let account_sid = brand(&caller)?;
    let (object, reason) = change_body(&body, &["reason", "amount", "items", "reset"], "a modification")?;
    let modification = native_modification(&object)?;
    let reference = owned_action(&state, account_sid, &id, action_id).await?;
    let action = state
        .actions
        .modify(account_sid, &reference, &modification, &reason, account_sid)
        .await
        .map_err(action_error)?;
    changed(&state, action).await
}

fn native_modification(object: &serde_json::Map<String, Value>) -> Result<Modification, ApiError> {
    let decimal = |value: &Value, name: &str| {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            _ => return Err(ApiError::parameter(name, "must be a decimal amount such as \"12.50\"")),
        };
        compatible::parse_decimal(&text)
            .ok_or_else(|| ApiError::parameter(name, format!("must be {}, not {text:?}", compatible::DECIMAL_AMOUNT)))
    };
    let given: Vec<&str> = ["amount", "items", "reset"].into_iter().filter(|name| object.contains_key(*name)).collect();
    match given.as_slice() {
        ["amount"] => Ok(Modification::Amount(decimal(&object["amount"], "amount")?)),
        ["reset"] if object["reset"] == Value::Bool(true) => Ok(Modification::Reset),
        ["items"] => {
            let items = object["items"]
                .as_array()
                .filter(|items| !items.is_empty())
                .ok_or_else(|| ApiError::parameter("items", "must be a non-empty array"))?;
            let mut changes = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let path = |field: &str| format!("items[{index}].{field}");
                let item = item
                    .as_object()
                    .ok_or_else(|| ApiError::parameter(&format!("items[{index}]"), "must be an object"))?;
                if let Some(name) =
                    item.keys().find(|name| !["line", "quantity", "subTotalDelta"].contains(&name.as_str()))
                {
                    return Err(ApiError::parameter(&path(name), "is not a field of an item change"));
                }
                let line = item
                    .get("line")
                    .and_then(Value::as_u64)
                    .filter(|line| *line >= 1)
                    .ok_or_else(|| ApiError::parameter(&path("line"), "must be the item's number, from 1"))?;
                let quantity = match item.get("quantity") {
                    None => None,
                    Some(value) => Some(value.as_u64().and_then(|q| u32::try_from(q).ok()).ok_or_else(|| {
                        ApiError::parameter(&path("quantity"), "must be a whole number of at least 0")
                    })?),
                };
                let sub_total_delta =
                    item.get("subTotalDelta").map(|value| decimal(value, &path("subTotalDelta"))).transpose()?;
                if quantity.is_none() && sub_total_delta.is_none() {
                    return Err(ApiError::parameter(&path("quantity"), "give quantity, subTotalDelta or both"));
                }
                changes.push(LineChange { line: (line - 1) as usize, quantity, sub_total_delta });
            }
            Ok(Modification::Lines(changes))
        }
        _ => Err(ApiError::parameter("amount", "give exactly one of amount, items or \"reset\": true")),
    }
}

/// `POST …/actions/{id}/approve`: approves a pending action before its locking date.
async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let account_sid = brand(&caller)?;
    let reference = owned_action(&state, account_sid, &id, action_id).await?;
    let action = state.actions.approve(account_sid, &reference, account_sid).await.map_err(action_error)?;
    changed(&state, action).await
}

/// The body of a change to an action: a JSON object of the `allowed` fields, with a
/// required `reason`.
fn change_body(
    body: &[u8],
    allowed: &[&str],
    what: &str,
) -> Result<(serde_json::Map<String, Value>, String), ApiError> {
    let object = json_object(body)?;
    if let Some(name) = object.keys().find(|name| !allowed.contains(&name.as_str())) {
        return Err(ApiError::parameter(name, format!("is not a field of {what}")));
    }
    let reason = object.get("reason").and_then(Value::as_str).map(str::to_owned);
    let reason = reason.ok_or_else(|| ApiError::parameter("reason", "is required"))?;
    Ok((object, reason))
}

fn brand(caller: &Caller) -> Result<&str, ApiError> {
    match caller.0.partner {
        None => Ok(&caller.0.account_sid),
        Some(_) => Err(ApiError::new(ErrorKind::Forbidden, "partner tokens cannot change actions")),
    }
}

/// The action named in the path, checked to be the caller's and in the path's program.
async fn owned_action(
    state: &AppState,
    account_sid: &str,
    program: &str,
    action_id: String,
) -> Result<ActionRef, ApiError> {
    let program = program_id(program)?;
    let reference = ActionRef::Id(action_id);
    let action = state.actions.find(account_sid, &reference).await.map_err(action_error)?;
    if action.program != program {
        return Err(action_error(ActionError::NotFound));
    }
    Ok(reference)
}

async fn changed(state: &AppState, action: ActionRecord) -> Result<Response, ApiError> {
    let mut body = action_json(&action, false);
    let updates = state.store.action_updates(&action.action_id).await?;
    body["updates"] = updates_json(&updates);
    Ok(axum::Json(body).into_response())
}

pub(crate) fn action_error(error: ActionError) -> ApiError {
    match error {
        ActionError::NotFound => ApiError::new(ErrorKind::NotFound, "action not found"),
        ActionError::Locked | ActionError::NotPending(_) => ApiError::new(ErrorKind::Conflict, error.to_string()),
        ActionError::UnknownReason(_) => ApiError::parameter("reason", error.to_string()),
        ActionError::Invalid(_) => ApiError::new(ErrorKind::InvalidParameter, error.to_string()),
        ActionError::TooManyModifications => ApiError::new(ErrorKind::Conflict, error.to_string()),
        ActionError::Store(error) => error.into(),
    }
}

fn updates_json(updates: &[ActionUpdateRecord]) -> Value {
    updates
        .iter()
        .map(|update| {
            json!({"at": update.at.to_string(), "actor": update.actor, "from": update.from_state,
                   "to": update.to_state, "deltaAmount": update.delta_amount.to_string(),
                   "deltaPayout": update.delta_payout.to_string(), "reason": update.reason})
        })
        .collect()
}

/// An action for the native API; sub ids only for the partner.
pub(crate) fn action_json(action: &ActionRecord, for_partner: bool) -> Value {
    let detail: Value = serde_json::from_str(&action.detail).unwrap_or(Value::Null);
    let mut body = Map::new();
    body.insert("actionId".into(), json!(action.action_id));
    body.insert("programId".into(), json!(action.program.0));
    body.insert("eventTypeId".into(), json!(action.event_type.0));
    body.insert("orderId".into(), json!(action.order_id));
    body.insert("eventDate".into(), json!(action.event_at.to_string()));
    body.insert("creationDate".into(), json!(action.created_at.to_string()));
    body.insert("state".into(), json!(action.state));
    body.insert("lockingDate".into(), json!(action.locking_at.map(|at| at.to_string())));
    body.insert("partnerId".into(), json!(action.owner.0));
    body.insert("ownerKind".into(), json!(action.owner_kind.as_str()));
    body.insert("rule".into(), json!(action.rule));
    body.insert("adId".into(), json!(action.ad.map(|ad| ad.0)));
    body.insert("clickId".into(), json!(action.click_id));
    body.insert("referringDate".into(), json!(action.referring_at.map(|at| at.to_string())));
    body.insert("referringType".into(), json!(action.referring_type));
    body.insert("currency".into(), json!(action.currency.code()));
    body.insert("saleAmount".into(), json!(action.sale_amount.to_string()));
    body.insert("payout".into(), json!(action.payout.to_string()));
    body.insert("promoCode".into(), json!(action.promo_code));
    body.insert("customerId".into(), json!(action.customer_id));
    body.insert("customerStatus".into(), json!(action.customer_status));
    body.insert("sharedId".into(), json!(action.shared_id));
    if for_partner {
        let [one, two, three] = &action.sub_ids;
        body.insert("subId1".into(), json!(one));
        body.insert("subId2".into(), json!(two));
        body.insert("subId3".into(), json!(three));
    }
    body.insert("test".into(), json!(action.test));
    body.insert("statementId".into(), json!(action.statement_id));
    for field in ["items", "order", "payoutLines", "payoutNotes", "journey", "identity"] {
        body.insert(field.into(), detail.get(field).cloned().unwrap_or(Value::Null));
    }
    Value::Object(body)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
