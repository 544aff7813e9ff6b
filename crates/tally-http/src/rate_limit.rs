//! Rate limits on the management APIs (SPEC §11): the native API and the compatible
//! API's reads and action changes, per credential (the `Authorization` header, or the
//! client address without one), with `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//! `X-RateLimit-Reset` (seconds until the window turns) on every answer, and `429` with
//! `Retry-After` past the limit. Conversion ingest and the tracking edge are never
//! limited: a brand's order or a shopper's click is never refused for being one too many.
//! Each node counts the requests it answers.

use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tally_core::rate_limit::{Allowance, RateLimit, RateWindows};

use crate::AppState;
use crate::error::{ApiError, ErrorKind};

/// The most callers counted at once: a few MB at most.
const MAX_CALLERS: usize = 100_000;

/// The requests each caller made in the current window.
pub struct ApiLimits {
    windows: Mutex<RateWindows>,
    keys: RandomState,
}

impl ApiLimits {
    /// Limits every caller to `limit`.
    pub fn new(limit: RateLimit) -> ApiLimits {
        ApiLimits { windows: Mutex::new(RateWindows::new(limit, MAX_CALLERS)), keys: RandomState::new() }
    }

    fn take(&self, key: u64, now_ms: u64) -> Option<Allowance> {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        windows.is_on().then(|| windows.take(key, now_ms))
    }
}

/// The middleware: counts the request against its caller, answers `429` past the
/// limit, and says where the caller stands.
pub(crate) async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if is_ingest(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let key = match request.headers().get(AUTHORIZATION) {
        Some(credentials) => state.api_limits.keys.hash_one(credentials.as_bytes()),
        None => state.api_limits.keys.hash_one(request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())),
    };
    let now_ms = state.clock.now().as_millisecond().max(0) as u64;
    let Some(allowance) = state.api_limits.take(key, now_ms) else { return next.run(request).await };
    let reset_seconds = allowance.reset_ms.div_ceil(1000);
    let mut response = if allowance.allowed {
        next.run(request).await
    } else {
        let message =
            format!("more than {} requests in a minute from this caller; retry in {reset_seconds} s", allowance.limit);
        let mut refused = ApiError::new(ErrorKind::RateLimited, message).into_response();
        refused.headers_mut().insert(RETRY_AFTER, HeaderValue::from(reset_seconds));
        refused
    };
    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static("x-ratelimit-limit"), HeaderValue::from(allowance.limit));
    headers.insert(HeaderName::from_static("x-ratelimit-remaining"), HeaderValue::from(allowance.remaining));
    headers.insert(HeaderName::from_static("x-ratelimit-reset"), HeaderValue::from(reset_seconds));
    response
}

/// Conversions in: `POST /api/v1/programs/{id}/conversions` and `POST
/// /Advertisers/{sid}/Conversions` (or `.json`).
fn is_ingest(method: &Method, path: &str) -> bool {
    *method == Method::POST
        && ((path.starts_with("/api/v1/programs/") && path.ends_with("/conversions"))
            || (path.starts_with("/Advertisers/")
                && (path.ends_with("/Conversions") || path.ends_with("/Conversions.json"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_conversions_in_are_ingest() {
        assert!(is_ingest(&Method::POST, "/api/v1/programs/1000/conversions"));
        assert!(is_ingest(&Method::POST, "/Advertisers/TA1/Conversions.json"));
        assert!(!is_ingest(&Method::GET, "/api/v1/programs/1000/actions"));
        assert!(!is_ingest(&Method::PUT, "/Advertisers/TA1/Actions"));
        assert!(!is_ingest(&Method::GET, "/Advertisers/TA1/Conversions"));
    }
}
