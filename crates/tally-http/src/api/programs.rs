//! `GET` and `PUT /api/v1/programs/{id}`: the program document (SPEC §12).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tally_app::programs::{ProgramError, parse_document};

use super::{Body, Caller, program_id};
use crate::AppState;
use crate::error::{ApiError, ErrorKind};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/programs/{id}", get(export).put(apply))
}

fn brand_only(caller: &Caller) -> Result<&str, ApiError> {
    match caller.0.partner {
        None => Ok(&caller.0.account_sid),
        Some(_) => Err(ApiError::new(ErrorKind::Forbidden, "partner tokens cannot read or change program documents")),
    }
}

async fn export(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let account_sid = brand_only(&caller)?;
    let id = program_id(&id)?;
    let document = state.programs.export(Some(account_sid), id).await.map_err(program_error)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], document).into_response())
}

async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let account_sid = brand_only(&caller)?.to_owned();
    let id = program_id(&id)?;
    let is_json = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).is_some_and(|value| {
        value.split(';').next().is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return Err(ApiError::new(ErrorKind::UnsupportedMediaType, "send the program document as application/json"));
    }
    let text =
        std::str::from_utf8(&body).map_err(|_| ApiError::new(ErrorKind::MalformedBody, "the body is not UTF-8"))?;
    let document = parse_document(text).map_err(|problems| ApiError::problems(ErrorKind::MalformedBody, problems))?;
    let report = state.programs.apply(&account_sid, document, Some(id)).await.map_err(program_error)?;
    let status = if report.outcome == "created" { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, axum::Json(report)).into_response())
}

fn program_error(error: ProgramError) -> ApiError {
    match error {
        ProgramError::Invalid(problems) => ApiError::problems(ErrorKind::InvalidDocument, problems),
        ProgramError::NotFound(id) => ApiError::new(ErrorKind::NotFound, format!("program {id} not found")),
        ProgramError::Taken(id) => {
            ApiError::new(ErrorKind::Conflict, format!("program id {id} is taken by another account"))
        }
        ProgramError::UnknownAccount(_) => {
            ApiError::new(ErrorKind::Unauthorized, "the token's account no longer exists")
        }
        ProgramError::Store(error) => error.into(),
    }
}
