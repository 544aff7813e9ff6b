//! The dashboard (SPEC §10, §11): server-rendered HTML for brands and partners, with
//! password login, on the same numbers as the native API.
//!
//! Pages are askama templates (`templates/dashboard/`), compiled into the binary and
//! escaped automatically, so every value that came from outside is written as text.
//! The one stylesheet is embedded too: the dashboard needs no network but Tally's.
//! Nothing runs in the page; forms and links do all the work, so it works with a
//! keyboard, a screen reader and scripts turned off.
//!
//! Routes: `/` (programs), `/login`, `/logout`, `/switch?program=ID`,
//! `/programs/{id}/actions` (listing), `/programs/{id}/actions.csv` (its CSV),
//! `/programs/{id}/actions/{actionId}` (detail), `/programs/{id}/invalid` (refused
//! conversions), `/programs/{id}/performance` (reports with charts),
//! `/programs/{id}/integration` (the integration check), `/programs/{id}/statements`
//! (with `…/{statementId}/paid`, `…/{statementId}/csv` and `/programs/{id}/withdrawal`),
//! `/assets/dashboard.css`.

mod actions;
mod detail;
mod export;
mod format;
mod integration;
mod invalid;
mod journey_svg;
mod layout;
mod login;
mod notice;
mod overview;
mod performance;
mod scope;
mod session;
mod statements;
mod test_requests;
mod warnings;

use askama::Template;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tally_app::ports::StoreError;

use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/switch", get(overview::switch))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/programs/{id}/actions", get(actions::page))
        .route("/programs/{id}/actions.csv", get(export::csv))
        .route("/programs/{id}/actions/{action_id}", get(detail::page))
        .route("/programs/{id}/actions/{action_id}/{verb}", post(detail::change))
        .route("/programs/{id}/invalid", get(invalid::page))
        .route("/programs/{id}/performance", get(performance::page))
        .route("/programs/{id}/integration", get(integration::page))
        .route("/programs/{id}/statements", get(statements::page))
        .route("/programs/{id}/statements/{statement_id}/paid", post(statements::mark_paid))
        .route("/programs/{id}/statements/{statement_id}/csv", get(statements::csv))
        .route("/programs/{id}/withdrawal", post(statements::set_withdrawal))
        .route("/programs/{id}/test-requests", get(test_requests::page).post(test_requests::ask))
        .route("/programs/{id}/test-requests/{request_id}/{verb}", post(test_requests::answer))
        .route("/assets/dashboard.css", get(stylesheet))
        .layer(DefaultBodyLimit::max(session::MAX_FORM_BYTES))
}

/// The dashboard's only stylesheet.
const STYLESHEET: &str = include_str!("../../assets/dashboard.css");

/// The stylesheet's address, with a digest of its text: a build that changes it
/// changes the address, so browsers may keep it for a year.
pub(crate) fn stylesheet_href() -> &'static str {
    static HREF: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HREF.get_or_init(|| {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(STYLESHEET.as_bytes());
        let short: String = digest.iter().take(6).map(|byte| format!("{byte:02x}")).collect();
        format!("/assets/dashboard.css?v={short}")
    })
}

async fn stylesheet(_: session::DashboardHost) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLESHEET).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}

/// A rendered page with the headers every dashboard page carries: never cached (it
/// holds one user's data), never framed, no script or outside resource at all.
pub(crate) fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
                     frame-ancestors 'none'; base-uri 'none'",
                ),
            );
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
            response
        }
        Err(error) => {
            tracing::error!(%error, "a dashboard page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}

/// Why a page cannot be shown.
#[derive(Debug)]
pub(crate) enum PageError {
    /// Nothing here, or nothing this user may see (told apart by nobody).
    NotFound,
    /// A form that is not this session's.
    Forbidden(String),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        PageError::Store(error)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        page_error(self)
    }
}

#[derive(Template)]
#[template(path = "dashboard/error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
}

/// A plain page saying what went wrong, with a way back.
pub(crate) fn page_error(error: PageError) -> Response {
    let (status, title, message) = match error {
        PageError::NotFound => {
            (StatusCode::NOT_FOUND, "Not found", "There is nothing here, or it is not yours to see.".to_owned())
        }
        PageError::Forbidden(message) => (StatusCode::FORBIDDEN, "Not allowed", message),
        PageError::Store(error) => {
            tracing::error!(error = %error, "the dashboard cannot read the store");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                "Tally cannot reach its database just now. Please try again in a moment.".to_owned(),
            )
        }
    };
    html(status, &ErrorPage { title, message })
}

/// The query string's pairs, without empty values: an empty field of a GET form means
/// "no filter", not "filter on nothing".
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .filter(|(_, value)| !value.trim().is_empty())
        .collect()
}

/// A query string (with its `?`, or nothing) of these pairs.
pub(crate) fn query_string(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let mut serializer = url::form_urlencoded::Serializer::for_suffix(String::from("?"), 1);
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// The pairs with `name` set to `value` (or removed when `None`).
pub(crate) fn with_pair(pairs: &[(String, String)], name: &str, value: Option<&str>) -> Vec<(String, String)> {
    let mut changed: Vec<(String, String)> = pairs.iter().filter(|(key, _)| key != name).cloned().collect();
    if let Some(value) = value {
        changed.push((name.to_owned(), value.to_owned()));
    }
    changed
}
