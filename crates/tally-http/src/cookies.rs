//! Tally's first-party cookies on the tracking domain: the visitor id, and the signed
//! click sessions (RFC 6265 syntax).

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use tally_app::secrets::Keyed;
use tally_core::ids::VisitorId;
use tally_core::session::SessionJar;

const VISITOR_COOKIE: &str = "tally_vid";
const SESSIONS_COOKIE: &str = "tally_ses";
/// 400 days, the longest lifetime browsers honour (RFC 6265bis §5.5).
const VISITOR_MAX_AGE: u32 = 400 * 24 * 3600;
/// A week, the longest click session a program may set.
const SESSIONS_MAX_AGE: u32 = 7 * 24 * 3600;
/// Cookie headers longer than this are not read (a browser's own limit is about 4 kB a cookie).
const MAX_COOKIE_HEADER: usize = 8192;

/// What the browser's cookies say.
#[derive(Debug, Default)]
pub(crate) struct BrowserState {
    pub(crate) visitor: Option<VisitorId>,
    pub(crate) sessions: SessionJar,
}

/// Reads Tally's cookies. A missing, oversized, damaged or wrongly signed cookie is
/// treated as absent: it costs the journey its continuity, never the click.
pub(crate) fn read(headers: &HeaderMap, keyed: &Keyed) -> BrowserState {
    let mut state = BrowserState::default();
    for header in headers.get_all(COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        if text.len() > MAX_COOKIE_HEADER {
            continue;
        }
        for pair in text.split(';') {
            let Some((name, value)) = pair.trim().split_once('=') else { continue };
            match name {
                VISITOR_COOKIE if state.visitor.is_none() => state.visitor = value.parse().ok(),
                SESSIONS_COOKIE if state.sessions.is_empty() => {
                    if let Some((signature, jar)) = value.split_once(':')
                        && keyed.verify(jar, signature)
                    {
                        state.sessions = SessionJar::decode(jar);
                    }
                }
                _ => {}
            }
        }
    }
    state
}

fn attributes(secure: bool) -> &'static str {
    if secure { "; Path=/; HttpOnly; Secure; SameSite=None" } else { "; Path=/; HttpOnly; SameSite=Lax" }
}

/// The visitor cookie, refreshed on every visit so an active browser keeps it.
pub(crate) fn visitor_cookie(visitor: &VisitorId, secure: bool) -> String {
    format!("{VISITOR_COOKIE}={visitor}; Max-Age={VISITOR_MAX_AGE}{}", attributes(secure))
}

/// The signed click-session cookie.
pub(crate) fn sessions_cookie(sessions: &SessionJar, keyed: &Keyed, secure: bool) -> String {
    let jar = sessions.encode();
    format!("{SESSIONS_COOKIE}={}:{jar}; Max-Age={SESSIONS_MAX_AGE}{}", keyed.sign(&jar), attributes(secure))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use tally_core::ids::{ClickId, PartnerId, ProgramId};
    use tally_core::session::SessionKey;

    fn jar() -> SessionJar {
        let mut jar = SessionJar::default();
        let click: ClickId = "abc".parse().unwrap();
        jar.continue_or_start(
            SessionKey { program: ProgramId(1), owner: PartnerId(2), impressions: false },
            jiff::Timestamp::UNIX_EPOCH,
            jiff::SignedDuration::from_mins(30),
            click,
        );
        jar
    }

    fn headers(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    #[test]
    fn signed_sessions_and_the_visitor_are_read_back() {
        let keyed = Keyed::new("key");
        let set = sessions_cookie(&jar(), &keyed, false);
        let value = set.split(';').next().unwrap();
        let state = read(&headers(&format!("other=1; tally_vid=V123; {value}")), &keyed);
        assert_eq!(state.visitor.map(|v| v.to_string()).as_deref(), Some("V123"));
        assert_eq!(state.sessions, jar());
    }

    #[test]
    fn forged_or_damaged_cookies_are_ignored() {
        let keyed = Keyed::new("key");
        let forged = format!("tally_ses=AAAA:{}", jar().encode());
        assert!(read(&headers(&forged), &keyed).sessions.is_empty());
        assert!(read(&headers("tally_vid=<script>"), &keyed).visitor.is_none());
        let other_key = sessions_cookie(&jar(), &Keyed::new("other"), false);
        assert!(read(&headers(other_key.split(';').next().unwrap()), &keyed).sessions.is_empty());
    }
}
