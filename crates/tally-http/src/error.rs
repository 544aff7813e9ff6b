//! The API's one error shape: `{"error": {"code", "message", "problems"?}}`, with a
//! stable snake_case code per kind, decided once here.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tally_app::ports::StoreError;
use tally_core::program::Problem;

/// Every kind of API error, with its status and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A parameter is missing or malformed.
    InvalidParameter,
    /// The body is not valid JSON of the expected shape.
    MalformedBody,
    /// The body parsed but has problems.
    InvalidDocument,
    /// The body is not JSON.
    UnsupportedMediaType,
    /// The body is larger than the API reads.
    PayloadTooLarge,
    /// The path exists but not with this method.
    MethodNotAllowed,
    /// No or wrong credentials.
    Unauthorized,
    /// The credentials may not do this.
    Forbidden,
    /// No such thing (for this caller).
    NotFound,
    /// The thing exists and belongs to someone else, or clashes.
    Conflict,
    /// An idempotency key was reused for a different request.
    UnprocessableKey,
    /// The caller made more requests than its limit allows; retry after the window.
    RateLimited,
    /// The store cannot be reached; retry.
    Unavailable,
    /// A bug or damaged data.
    Internal,
}

impl ErrorKind {
    fn status_and_code(self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidParameter => (StatusCode::BAD_REQUEST, "invalid_parameter"),
            Self::MalformedBody => (StatusCode::BAD_REQUEST, "malformed_body"),
            Self::InvalidDocument => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_document"),
            Self::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict => (StatusCode::CONFLICT, "conflict"),
            Self::UnprocessableKey => (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"),
            Self::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// An API error.
#[derive(Debug)]
pub struct ApiError {
    kind: ErrorKind,
    message: String,
    problems: Vec<Problem>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "<[Problem]>::is_empty")]
    problems: &'a [Problem],
}

impl ApiError {
    /// An error with a message for the client.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError { kind, message: message.into(), problems: Vec::new() }
    }

    /// A document refused with every problem listed.
    pub fn problems(kind: ErrorKind, problems: Vec<Problem>) -> Self {
        let message = format!("the document has {} problem(s); nothing was changed", problems.len());
        ApiError { kind, message, problems }
    }

    /// A missing or malformed parameter, named.
    pub fn parameter(name: &str, message: impl std::fmt::Display) -> Self {
        ApiError::new(ErrorKind::InvalidParameter, format!("{name}: {message}"))
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(message) => ApiError::new(ErrorKind::Conflict, message),
            StoreError::Unavailable(_) => {
                tracing::error!(%error, "store unavailable");
                ApiError::new(ErrorKind::Unavailable, "the store is unavailable; retry shortly")
            }
            StoreError::Corrupt(_) => {
                tracing::error!(%error, "corrupt stored data");
                ApiError::new(ErrorKind::Internal, "internal error")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.kind.status_and_code();
        let body = Body { error: Detail { code, message: &self.message, problems: &self.problems } };
        let mut response = (status, Json(body)).into_response();
        if self.kind == ErrorKind::Unauthorized {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.kind == ErrorKind::Unavailable {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
