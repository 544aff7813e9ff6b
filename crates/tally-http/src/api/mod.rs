//! The native API (`/api/v1`): JSON, bearer tokens.

mod clicks;
pub(crate) mod conversions;
mod customers;
mod programs;
mod reports;
mod statements;
mod test_requests;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde_json::Value;
use tally_app::accounts::TokenScope;
use tally_core::ids::ProgramId;

use crate::AppState;
use crate::error::{ApiError, ErrorKind};

/// The largest request body the API reads (a program document with thousands of
/// partners fits easily).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(programs::router())
        .merge(clicks::router())
        .merge(conversions::router())
        .merge(customers::router())
        .merge(statements::router())
        .merge(test_requests::router())
        .merge(reports::router())
        .route("/openapi.json", axum::routing::get(openapi))
        .fallback(|| async { ApiError::new(ErrorKind::NotFound, "no such API endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(ErrorKind::MethodNotAllowed, "this endpoint does not take that method")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// The OpenAPI 3.1 description of this API, written by hand next to the handlers; a
/// test checks that every documented path answers.
const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// The caller, from its bearer token.
pub(crate) struct Caller(pub(crate) TokenScope);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            // The scheme is case-insensitive (RFC 9110 §11.1).
            .and_then(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer").then_some(token))
            .ok_or_else(|| ApiError::new(ErrorKind::Unauthorized, "send an API token as 'Authorization: Bearer …'"))?;
        match state.accounts.authenticate_bearer(token.trim()).await? {
            Some(scope) => Ok(Caller(scope)),
            None => Err(ApiError::new(ErrorKind::Unauthorized, "the API token is not valid")),
        }
    }
}

/// The request body, refused in the API's error shape when too large or unreadable.
pub(crate) struct Body(pub(crate) axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match axum::body::Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(Body(bytes)),
            Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::new(
                ErrorKind::PayloadTooLarge,
                format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            )),
            Err(rejection) => Err(ApiError::new(ErrorKind::MalformedBody, rejection.body_text())),
        }
    }
}

/// A query string, checked: unknown and repeated parameters are refused by name.
pub(crate) fn query_parameters(
    raw: Option<&str>,
    allowed: &[&str],
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let mut parameters = std::collections::HashMap::new();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let (name, value) = (name.into_owned(), value.into_owned());
        if !allowed.contains(&name.as_str()) {
            let message = format!("unknown parameter; expected one of {}", allowed.join(", "));
            return Err(ApiError::parameter(&name, message));
        }
        if parameters.insert(name.clone(), value).is_some() {
            return Err(ApiError::parameter(&name, "given twice"));
        }
    }
    Ok(parameters)
}

/// Parses a program id from the path, as a `404` when it cannot be one.
pub(crate) fn program_id(text: &str) -> Result<ProgramId, ApiError> {
    text.parse().map_err(|_| ApiError::new(ErrorKind::NotFound, format!("program {text:?} not found")))
}

/// A request body that must be one JSON object.
pub(crate) fn json_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::new(ErrorKind::MalformedBody, "send a JSON object")),
        Err(error) => Err(ApiError::new(ErrorKind::MalformedBody, format!("the body is not JSON: {error}"))),
    }
}
