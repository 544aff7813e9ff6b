//! Partner statements and withdrawal settings (SPEC §8):
//!
//! - `GET …/statements[?partner=ID]`: the program's statements with where each stands
//!   (`HELD`, `OPEN`, `OVERDUE`, `PAID`) and its due date; a partner sees its own.
//! - `GET …/statements/{id}[?format=csv]`: one statement with its actions, or its CSV.
//! - `POST …/statements/{id}/paid` with an optional `{"reference": "…"}`: the brand
//!   marks it paid, and its actions show `PAID`.
//! - `GET|PUT …/partners/{partnerId}/withdrawal`: `{"threshold": "50.00"}`,
//!   `{"fixedDay": 15}` or `{}` (each statement's payment date); the partner chooses,
//!   and the brand may set it for a partner.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tally_app::statements::{StatementError, StatementView, statement_csv};
use tally_core::ids::{PartnerId, ProgramId};
use tally_core::statement::Withdrawal;

use super::{Body, Caller, json_object, program_id, query_parameters};
use crate::AppState;
use crate::error::{ApiError, ErrorKind};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/programs/{id}/statements", get(list))
        .route("/programs/{id}/statements/{statement_id}", get(one))
        .route("/programs/{id}/statements/{statement_id}/paid", post(mark_paid))
        .route("/programs/{id}/partners/{partner_id}/withdrawal", get(withdrawal).put(set_withdrawal))
}

/// The program in the path, checked to be the caller's account's.
pub(super) fn owned_program(state: &AppState, caller: &Caller, id: &str) -> Result<ProgramId, ApiError> {
    let program = program_id(id)?;
    let owned = state.catalog.get().program(program).is_some_and(|entry| entry.account_sid == caller.0.account_sid);
    if owned { Ok(program) } else { Err(ApiError::new(ErrorKind::NotFound, format!("program {id:?} not found"))) }
}

fn statement_error(error: StatementError) -> ApiError {
    match error {
        StatementError::NotFound => ApiError::new(ErrorKind::NotFound, "statement not found"),
        StatementError::AlreadyPaid => ApiError::new(ErrorKind::Conflict, error.to_string()),
        StatementError::Store(error) => error.into(),
    }
}

fn statement_json(view: &StatementView) -> Value {
    let statement = &view.summary.statement;
    json!({
        "statementId": statement.statement_id,
        "programId": statement.program.0,
        "partnerId": statement.partner.0,
        "currency": statement.currency.code(),
        "statementDate": statement.statement_date.to_string(),
        "scheduledPaymentDate": statement.scheduled_on.to_string(),
        "dueDate": view.status.due_on().map(|day| day.to_string()),
        "status": view.status.as_str(),
        "actions": view.summary.actions,
        "saleAmount": view.summary.sale_amount.to_string(),
        "payout": view.summary.payout.to_string(),
        "paidAt": statement.paid_at.map(|at| at.to_string()),
        "paymentReference": statement.payment_reference,
    })
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let program = owned_program(&state, &caller, &id)?;
    let parameters = query_parameters(raw.as_deref(), &["partner"])?;
    let asked = parameters
        .get("partner")
        .map(|text| {
            text.parse::<u64>().map(PartnerId).map_err(|_| ApiError::parameter("partner", "must be a partner id"))
        })
        .transpose()?;
    // A partner sees its own statements; asking for another's shows nothing of it.
    let partner = match (caller.0.partner, asked) {
        (Some(own), Some(other)) if other != own => {
            return Err(ApiError::new(ErrorKind::NotFound, format!("partner {other} not found")));
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    let views = state.statements.list(program, partner).await?;
    let statements: Vec<Value> = views.iter().map(statement_json).collect();
    Ok(axum::Json(json!({"statements": statements})).into_response())
}

/// The statement in the path, as the caller may see it: a partner's own only, and
/// another's looks like a missing one.
async fn visible(state: &AppState, caller: &Caller, id: &str, statement_id: &str) -> Result<StatementView, ApiError> {
    let program = owned_program(state, caller, id)?;
    let view = state.statements.get(program, statement_id).await.map_err(statement_error)?;
    if caller.0.partner.is_some_and(|partner| partner != view.summary.statement.partner) {
        return Err(statement_error(StatementError::NotFound));
    }
    Ok(view)
}

async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, statement_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let parameters = query_parameters(raw.as_deref(), &["format"])?;
    let view = visible(&state, &caller, &id, &statement_id).await?;
    let actions = state.statements.actions(&statement_id).await?;
    match parameters.get("format").map(String::as_str) {
        None | Some("json") => {
            let mut body = statement_json(&view);
            body["items"] = actions
                .iter()
                .map(|action| {
                    json!({
                        "actionId": action.action_id, "eventTypeId": action.event_type.0, "orderId": action.order_id,
                        "eventDate": action.event_at.to_string(),
                        "lockingDate": action.locking_at.map(|at| at.to_string()),
                        "saleAmount": action.sale_amount.to_string(), "payout": action.payout.to_string(),
                    })
                })
                .collect();
            Ok(axum::Json(body).into_response())
        }
        Some("csv") => {
            let statement = &view.summary.statement;
            let text = statement_csv(statement, &actions);
            let file_name = format!("statement-{}-{}.csv", statement.partner.0, statement.statement_date);
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
                ],
                text,
            )
                .into_response())
        }
        Some(_) => Err(ApiError::parameter("format", "must be json or csv")),
    }
}

async fn mark_paid(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, statement_id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    if caller.0.partner.is_some() {
        return Err(ApiError::new(ErrorKind::Forbidden, "only the brand marks statements paid"));
    }
    let program = owned_program(&state, &caller, &id)?;
    let object = if body.is_empty() { serde_json::Map::new() } else { json_object(&body)? };
    if let Some(name) = object.keys().find(|name| name.as_str() != "reference") {
        return Err(ApiError::parameter(name, "is not a field of a payment; send {\"reference\": \"…\"}"));
    }
    let reference = match object.get("reference") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if !text.trim().is_empty() && text.len() <= 200 => Some(text.trim().to_owned()),
        Some(_) => return Err(ApiError::parameter("reference", "must be a text of 1 to 200 characters")),
    };
    let view = state
        .statements
        .mark_paid(program, &statement_id, &caller.0.account_sid, reference.as_deref())
        .await
        .map_err(statement_error)?;
    Ok(axum::Json(statement_json(&view)).into_response())
}

/// The partner in the path, as the caller may act for it: a partner only for itself.
fn partner_in_path(caller: &Caller, text: &str) -> Result<PartnerId, ApiError> {
    let not_found = || ApiError::new(ErrorKind::NotFound, format!("partner {text:?} not found"));
    let partner = text.parse::<u64>().map(PartnerId).map_err(|_| not_found())?;
    match caller.0.partner {
        Some(own) if own != partner => Err(not_found()),
        _ => Ok(partner),
    }
}

fn withdrawal_json(withdrawal: Withdrawal) -> Value {
    match withdrawal {
        Withdrawal::Schedule => json!({"method": "SCHEDULE"}),
        Withdrawal::Threshold(amount) => json!({"method": "THRESHOLD", "threshold": amount.to_string()}),
        Withdrawal::FixedDay(day) => json!({"method": "FIXED_DAY", "fixedDay": day}),
    }
}

async fn withdrawal(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, partner_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let program = owned_program(&state, &caller, &id)?;
    let partner = known_partner(&state, program, partner_in_path(&caller, &partner_id)?)?;
    let withdrawal = state.statements.withdrawal(program, partner).await?;
    Ok(axum::Json(withdrawal_json(withdrawal)).into_response())
}

fn known_partner(state: &AppState, program: ProgramId, partner: PartnerId) -> Result<PartnerId, ApiError> {
    let catalog = state.catalog.get();
    let known = catalog.program(program).and_then(|entry| entry.program.owner(partner)).is_some();
    if known { Ok(partner) } else { Err(ApiError::new(ErrorKind::NotFound, format!("partner {partner} not found"))) }
}

async fn set_withdrawal(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, partner_id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let program = owned_program(&state, &caller, &id)?;
    let partner = known_partner(&state, program, partner_in_path(&caller, &partner_id)?)?;
    let object = json_object(&body)?;
    if let Some(name) = object.keys().find(|name| !["threshold", "fixedDay"].contains(&name.as_str())) {
        return Err(ApiError::parameter(
            name,
            "is not a field; send {\"threshold\": \"50.00\"}, {\"fixedDay\": 1|15} or {}",
        ));
    }
    let withdrawal = match (object.get("threshold"), object.get("fixedDay")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::parameter("fixedDay", "choose a threshold or a fixed day, not both"));
        }
        (Some(Value::String(text)), None) => {
            let amount: Decimal = text
                .trim()
                .parse()
                .map_err(|_| ApiError::parameter("threshold", "must be a decimal string such as \"50.00\""))?;
            Withdrawal::threshold(amount).map_err(|error| ApiError::parameter("threshold", error.to_string()))?
        }
        (Some(_), None) => return Err(ApiError::parameter("threshold", "must be a decimal string such as \"50.00\"")),
        (None, Some(day)) => {
            let day = day.as_u64().and_then(|day| u32::try_from(day).ok());
            let day = day.ok_or_else(|| ApiError::parameter("fixedDay", "must be 1 or 15"))?;
            Withdrawal::fixed_day(day).map_err(|error| ApiError::parameter("fixedDay", error.to_string()))?
        }
        (None, None) => Withdrawal::Schedule,
    };
    let actor = match caller.0.partner {
        Some(partner) => format!("partner:{partner}"),
        None => caller.0.account_sid.clone(),
    };
    state.statements.set_withdrawal(program, partner, withdrawal, &actor).await?;
    Ok(axum::Json(withdrawal_json(withdrawal)).into_response())
}
