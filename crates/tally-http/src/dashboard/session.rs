//! Dashboard sessions and CSRF tokens, both signed with the server's keyed hash, so
//! that every node accepts every other node's.
//!
//! The session cookie is `username:expiry:nonce:signature` (a username has no `:`).
//! Logging out ends every session of the user that began before it, by a time kept
//! with the user in the store.
//! The CSRF token of a session is the signature of its nonce under another purpose:
//! only the server can make it, it changes with every login, and a form posted from
//! another site cannot carry it. The login form, before any session, is protected the
//! same way by a nonce in a short-lived cookie (the "double submit" pattern).

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::{SignedDuration, Timestamp};
use tally_app::ports::UserRecord;
use tally_app::secrets::{Keyed, random_token};

use super::scope::Scope;
use super::{PageError, page_error};
use crate::AppState;

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "tally_session";
/// The login form's nonce cookie.
const LOGIN_COOKIE: &str = "tally_login";
/// How long a session lasts after logging in.
const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);
/// How long a login form may stay open.
const LOGIN_FORM_SECONDS: u32 = 3600;
/// Cookie headers longer than this are not read.
const MAX_COOKIE_HEADER: usize = 8192;
/// The largest form the dashboard reads.
pub(crate) const MAX_FORM_BYTES: usize = 64 * 1024;

/// A logged-in user, with what it may see and the CSRF token its forms carry.
pub(crate) struct Session {
    /// The user, as stored now (a deleted user's cookie stops working).
    pub(crate) user: UserRecord,
    /// What the user sees.
    pub(crate) scope: Scope,
    /// The token every form of this session posts back.
    pub(crate) csrf: String,
    /// The session's random part, which the token signs.
    nonce: String,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        DashboardHost::from_request_parts(parts, state).await?;
        let now = state.clock.now();
        let claims = cookie(&parts.headers, SESSION_COOKIE).and_then(|value| verify(&state.keyed, value, now));
        let Some(claims) = claims else { return Err(to_login(parts)) };
        let user = match state.store.user(&claims.username).await {
            // A session that began before the user's last logout is over.
            Ok(Some(user)) if user.sessions_since.is_some_and(|since| claims.began < since) => {
                return Err(to_login(parts));
            }
            Ok(Some(user)) => user,
            Ok(None) => return Err(to_login(parts)),
            Err(error) => return Err(page_error(PageError::Store(error))),
        };
        let Some(scope) = Scope::of(&user) else { return Err(to_login(parts)) };
        let csrf = state.keyed.sign(&csrf_text(&claims.nonce));
        Ok(Session { user, scope, csrf, nonce: claims.nonce })
    }
}

impl Session {
    /// Refuses a form that does not carry this session's CSRF token.
    pub(crate) fn check_csrf(&self, keyed: &Keyed, form: &Form) -> Result<(), PageError> {
        match form.get("csrf") {
            Some(token) if keyed.verify(&csrf_text(&self.nonce), token) => Ok(()),
            _ => Err(PageError::Forbidden(
                "This form has expired or did not come from this dashboard. Go back, reload the page and try again."
                    .into(),
            )),
        }
    }

    /// Who made a change, for action updates and statements.
    pub(crate) fn actor(&self) -> String {
        format!("user:{}", self.user.username)
    }
}

/// Passes unless the request came to a host the tracking edge answers: a program's
/// tracking domain or the host of one of its unique URLs. There every path is the
/// edge's (a vanity link may be any word, a unique URL is often `/`), and one it does
/// not know is "Link not found", never a login page on a brand's public domain.
pub(crate) struct DashboardHost;

impl FromRequestParts<AppState> for DashboardHost {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let catalog = state.catalog.get();
        let edge_host = request_host(&parts.headers).is_some_and(|host| {
            catalog.route(&host, parts.uri.path()).is_some()
                || catalog.programs().any(|entry| {
                    let program = &entry.program;
                    program.tracking_domains().contains(&host)
                        || program.unique_urls().iter().any(|unique| unique.host == host)
                })
        });
        if edge_host {
            let request = Request::from_parts(parts.clone(), Body::empty());
            return Err(crate::edge::by_path_or_host(State(state.clone()), request).await);
        }
        Ok(DashboardHost)
    }
}

/// The `Host` header without its port, lower case.
fn request_host(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::HOST)?.to_str().ok()?;
    let host = if raw.starts_with('[') { raw } else { raw.rsplit_once(':').map_or(raw, |(host, _)| host) };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// A posted form (`application/x-www-form-urlencoded`).
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    /// A field's value, if sent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        Ok(Form(url::form_urlencoded::parse(&bytes).into_owned().collect()))
    }
}

/// What a valid session cookie says.
struct Claims {
    username: String,
    nonce: String,
    /// When the session began (its expiry less its lifetime), to the second.
    began: Timestamp,
}

fn signed_text(payload: &str) -> String {
    format!("dashboard-session\0{payload}")
}

/// What a session's CSRF token signs: its nonce, under a purpose of its own.
fn csrf_text(nonce: &str) -> String {
    format!("dashboard-csrf\0{nonce}")
}

/// What a login form's token signs.
fn login_text(nonce: &str) -> String {
    format!("dashboard-login\0{nonce}")
}

/// Checks a session cookie's signature and expiry.
fn verify(keyed: &Keyed, value: &str, now: Timestamp) -> Option<Claims> {
    let (payload, signature) = value.rsplit_once(':')?;
    if !keyed.verify(&signed_text(payload), signature) {
        return None;
    }
    let mut parts = payload.splitn(3, ':');
    let (username, expires, nonce) = (parts.next()?, parts.next()?, parts.next()?);
    let expires = Timestamp::from_second(expires.parse().ok()?).ok()?;
    let began = expires - SESSION_LIFETIME;
    (now < expires).then(|| Claims { username: username.to_owned(), nonce: nonce.to_owned(), began })
}

/// A cookie's value from the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter(|text| text.len() <= MAX_COOKIE_HEADER)
        .flat_map(|text| text.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether the browser reached Tally over HTTPS: the configuration says so, or the
/// proxy in front of it does. A forged header can only make the sender's own cookie
/// `Secure`, which costs nobody else anything.
fn is_secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.edge.secure_cookies || headers.get("x-forwarded-proto").and_then(|value| value.to_str().ok()) == Some("https")
}

fn cookie_line(state: &AppState, headers: &HeaderMap, name: &str, value: &str, max_age: u32) -> String {
    let secure = if is_secure(state, headers) { "; Secure" } else { "" };
    format!("{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

fn set_cookie(response: &mut Response, line: &str) {
    if let Ok(value) = HeaderValue::from_str(line) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Starts a session for `username`: the cookie to set, on a redirect to `next`.
pub(crate) fn start(state: &AppState, headers: &HeaderMap, username: &str, next: &str) -> Response {
    let expires = state.clock.now() + SESSION_LIFETIME;
    let payload = format!("{username}:{}:{}", expires.as_second(), random_token(1));
    let value = format!("{payload}:{}", state.keyed.sign(&signed_text(&payload)));
    let mut response = Redirect::to(next).into_response();
    let lifetime = SESSION_LIFETIME.as_secs().unsigned_abs() as u32;
    set_cookie(&mut response, &cookie_line(state, headers, SESSION_COOKIE, &value, lifetime));
    set_cookie(&mut response, &cookie_line(state, headers, LOGIN_COOKIE, "", 0));
    response
}

/// Ends every session of the user, in this browser and wherever its cookies went.
/// Sessions are known to the second (their cookie's expiry), so the end is taken at
/// the start of this second: a login right after the logout is not ended with it.
pub(crate) async fn end_everywhere(state: &AppState, username: &str) -> Result<(), PageError> {
    let now = state.clock.now();
    let since = Timestamp::from_second(now.as_second()).unwrap_or(now);
    state.store.end_sessions(username, since).await.map_err(PageError::Store)
}

/// Ends the session in this browser.
pub(crate) fn end(state: &AppState, headers: &HeaderMap, response: &mut Response) {
    set_cookie(response, &cookie_line(state, headers, SESSION_COOKIE, "", 0));
}

/// A fresh login nonce: the cookie that carries it, and the form token that matches it.
pub(crate) fn login_nonce(state: &AppState, headers: &HeaderMap) -> (String, String) {
    let nonce = random_token(1);
    let line = cookie_line(state, headers, LOGIN_COOKIE, &nonce, LOGIN_FORM_SECONDS);
    (line, state.keyed.sign(&login_text(&nonce)))
}

/// Whether a posted login form carries the token of the browser's login nonce.
pub(crate) fn login_form_is_genuine(state: &AppState, headers: &HeaderMap, form: &Form) -> bool {
    match (cookie(headers, LOGIN_COOKIE), form.get("csrf")) {
        (Some(nonce), Some(token)) if !nonce.is_empty() => state.keyed.verify(&login_text(nonce), token),
        _ => false,
    }
}

/// Adds a `Set-Cookie` line to a response.
pub(crate) fn with_cookie(mut response: Response, line: &str) -> Response {
    set_cookie(&mut response, line);
    response
}

/// To the login page, coming back here afterwards when this was a page.
fn to_login(parts: &Parts) -> Response {
    if parts.method != Method::GET {
        return Redirect::to("/login").into_response();
    }
    let here = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    if here == "/" {
        return Redirect::to("/login").into_response();
    }
    let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    Redirect::to(&format!("/login?next={next}")).into_response()
}

/// Where to go after logging in: a path of this site only, never another site.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control)
                && path.len() <= 2000 =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_cookie_verifies_until_it_expires_and_only_with_its_key() {
        let keyed = Keyed::new("k");
        let now: Timestamp = "2026-03-02T12:00:00Z".parse().unwrap();
        let payload = format!("alice:{}:nonce1", (now + SESSION_LIFETIME).as_second());
        let value = format!("{payload}:{}", keyed.sign(&signed_text(&payload)));
        assert_eq!(verify(&keyed, &value, now).map(|claims| claims.username), Some("alice".to_owned()));
        assert!(verify(&keyed, &value, now + SESSION_LIFETIME).is_none(), "expired");
        assert!(verify(&Keyed::new("other"), &value, now).is_none(), "another key");
        let forged = value.replacen("alice", "admin", 1);
        assert!(verify(&keyed, &forged, now).is_none(), "a changed name breaks the signature");
    }

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/programs/1/actions?x=1")), "/programs/1/actions?x=1");
        for bad in ["//evil.test/", "https://evil.test/", "/\\evil.test", "evil", ""] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
