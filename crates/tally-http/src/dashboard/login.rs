//! Logging in and out. A wrong password and an unknown user get the same answer, in
//! about the same time (see `Accounts::login`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::session::{self, DashboardHost, Form, Session};
use super::{PageError, html, page_error};
use tally_app::accounts::Login;

use crate::AppState;

#[derive(Template)]
#[template(path = "dashboard/login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    username: String,
    error: Option<&'static str>,
}

#[derive(serde::Deserialize)]
pub(crate) struct NextPage {
    next: Option<String>,
}

/// `GET /login`.
pub(crate) async fn form(
    _: DashboardHost,
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<NextPage>,
) -> Response {
    let next = session::safe_next(query.next.as_deref());
    login_page(&state, &headers, StatusCode::OK, next, String::new(), None)
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: String,
    username: String,
    error: Option<&'static str>,
) -> Response {
    let (cookie, csrf) = session::login_nonce(state, headers);
    session::with_cookie(html(status, &LoginPage { csrf, next, username, error }), &cookie)
}

/// `POST /login`.
pub(crate) async fn submit(State(state): State<AppState>, headers: HeaderMap, form: Form) -> Response {
    let next = session::safe_next(form.get("next"));
    let username = form.get("username").unwrap_or("").trim().to_owned();
    if !session::login_form_is_genuine(&state, &headers, &form) {
        let message = "This login form has expired. Please log in again.";
        return login_page(&state, &headers, StatusCode::FORBIDDEN, next, username, Some(message));
    }
    let password = form.get("password").unwrap_or("");
    match state.accounts.login(&username, password).await {
        Ok(Login::Accepted(user)) => session::start(&state, &headers, &user.username, &next),
        Ok(Login::Refused) => {
            let message = "The username or password is not right.";
            login_page(&state, &headers, StatusCode::UNAUTHORIZED, next, username, Some(message))
        }
        Ok(Login::Throttled(wait)) => {
            let message = "Too many failed logins for this name: wait a few minutes, then try again.";
            let mut page = login_page(&state, &headers, StatusCode::TOO_MANY_REQUESTS, next, username, Some(message));
            if let Ok(value) = axum::http::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                page.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
            }
            page
        }
        Err(error) => page_error(PageError::Store(error)),
    }
}

/// `POST /logout`.
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: Session,
    form: Form,
) -> Response {
    if let Err(refused) = session.check_csrf(&state.keyed, &form) {
        return refused.into_response();
    }
    if let Err(error) = session::end_everywhere(&state, &session.user.username).await {
        return error.into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    session::end(&state, &headers, &mut response);
    response
}
