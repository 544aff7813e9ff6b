//! The tracking edge: `/c/` links, `/i/` impressions, and vanity links and unique URLs
//! matched by host. Every answer is a redirect to a safe page, a pixel, or a plain page;
//! never a 500 for bad input, never a redirect before the click is stored.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tally_app::visits::{VisitAddress, VisitInput, VisitOutcome};
use tally_core::ids::VisitorId;
use tally_core::session::SessionJar;

use crate::AppState;
use crate::cookies;
use crate::pages;

/// The three ids of a link path, raw. Ids are digits, so anything that needs decoding
/// is already not a valid id; it is refused later as an unknown link.
fn link_ids<'a>(path: &'a str, prefix: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let mut parts = path.strip_prefix(prefix)?.split('/');
    let ids = (parts.next()?, parts.next()?, parts.next()?);
    parts.next().is_none().then_some(ids)
}

/// Any path not routed elsewhere: `/c/{owner}/{ad}/{program}` links and
/// `/i/{owner}/{ad}/{program}` impressions, else a vanity link or unique URL of the
/// request's host, else an unknown link. Links are told apart here rather than by the
/// router, which would allocate their three ids as path parameters on every click.
pub(crate) async fn by_path_or_host(State(state): State<AppState>, request: Request) -> Response {
    let (request, _) = request.into_parts();
    if request.method != Method::GET && request.method != Method::HEAD {
        return pages::not_found();
    }
    let path = request.uri.path();
    if let Some((owner, ad, program)) = link_ids(path, "/c/") {
        return visit(&state, &request, VisitAddress::Link { owner, ad, program }).await;
    }
    if let Some((owner, ad, program)) = link_ids(path, "/i/") {
        return visit(&state, &request, VisitAddress::Impression { owner, ad, program }).await;
    }
    let Some(host) = request_host(&request) else { return pages::not_found() };
    let path = request.uri.path().to_owned();
    visit(&state, &request, VisitAddress::Host { host: &host, path: &path }).await
}

async fn visit(state: &AppState, request: &Parts, address: VisitAddress<'_>) -> Response {
    let headers = &request.headers;
    let browser = cookies::read(headers, &state.keyed);
    let user_agent = header_lossy(headers, header::USER_AGENT);
    let referrer = header_lossy(headers, header::REFERER);
    let input = VisitInput {
        address,
        raw_query: request.uri.query().unwrap_or(""),
        user_agent: user_agent.as_deref().unwrap_or(""),
        referrer: referrer.as_deref(),
        client_ip: client_ip(state, request),
        country: state.edge.country_header.as_ref().and_then(|name| header_text(headers, name)),
        visitor: browser.visitor,
        sessions: browser.sessions,
        probe: request.method == Method::HEAD,
    };
    let secure = state.edge.secure_cookies
        || (state.edge.trust_proxy_headers && header_text(headers, "x-forwarded-proto") == Some("https"));
    match state.visits.visit(input).await {
        VisitOutcome::Redirect { location, visitor, sessions } => {
            with_browser_cookies(redirect(&location), state, &visitor, &sessions, secure)
        }
        VisitOutcome::Pixel { visitor, sessions } => with_browser_cookies(pixel(), state, &visitor, &sessions, secure),
        VisitOutcome::Probe { location: Some(location) } | VisitOutcome::Land { location } => redirect(&location),
        VisitOutcome::Probe { location: None } => pixel(),
        VisitOutcome::NotFound => pages::not_found(),
        VisitOutcome::Unavailable(_) => pages::unavailable(),
    }
}

fn redirect(location: &str) -> Response {
    // Landing URLs are serialised by the URL parser, so they are always ASCII; a value
    // that still cannot be a header is refused rather than sent.
    let Ok(location) = HeaderValue::from_str(location) else { return pages::not_found() };
    let mut response = StatusCode::FOUND.into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(header::LOCATION, location);
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A transparent 1×1 GIF (GIF89a), the smallest image every client accepts.
const PIXEL_GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

fn pixel() -> Response {
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, "image/gif")], PIXEL_GIF).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Keeps the visitor id and the click sessions in the browser.
fn with_browser_cookies(
    mut response: Response,
    state: &AppState,
    visitor: &VisitorId,
    sessions: &SessionJar,
    secure: bool,
) -> Response {
    set_cookie(&mut response, cookies::visitor_cookie(visitor, secure));
    set_cookie(&mut response, cookies::sessions_cookie(sessions, &state.keyed, secure));
    response
}

fn set_cookie(response: &mut Response, cookie: String) {
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// A header as text, with bytes that are not UTF-8 replaced: browsers send user agents
/// and referrers in other encodings, and the click must still be recorded.
fn header_lossy<K: header::AsHeaderName>(headers: &HeaderMap, name: K) -> Option<std::borrow::Cow<'_, str>> {
    headers.get(name).map(|value| String::from_utf8_lossy(value.as_bytes()))
}

fn header_text<K: header::AsHeaderName>(headers: &HeaderMap, name: K) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The request's host without port, lower case: from `Host`, or the URI's authority.
fn request_host(request: &Parts) -> Option<String> {
    let raw = header_text(&request.headers, header::HOST).or_else(|| request.uri.authority().map(|a| a.as_str()))?;
    let without_port = if raw.starts_with('[') {
        raw.split_once(']').map(|(host, _)| &host[1..])?
    } else {
        raw.rsplit_once(':').map_or(raw, |(host, _)| host)
    };
    (!without_port.is_empty() && without_port.len() <= 253).then(|| without_port.to_ascii_lowercase())
}

fn client_ip(state: &AppState, request: &Parts) -> Option<IpAddr> {
    if state.edge.trust_proxy_headers {
        let forwarded = header_text(&request.headers, "x-forwarded-for")
            .and_then(|list| list.split(',').next())
            .and_then(|first| first.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    request.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_paths_have_exactly_three_segments() {
        assert_eq!(link_ids("/c/1/2/3", "/c/"), Some(("1", "2", "3")));
        assert_eq!(link_ids("/c/1/2/3/4", "/c/"), None);
        assert_eq!(link_ids("/c/1/2", "/c/"), None);
    }
}
