//! The edge's decision for one visit: where the shopper lands and what click is
//! recorded. Pure: the HTTP adapter gathers the request's facts, the app supplies
//! `now` and fresh ids, and this function decides.

use jiff::Timestamp;
use url::Url;

use crate::click::{Click, TouchSource};
use crate::ids::{AdId, ClickId, VisitorId};
use crate::landing::{TemplateValues, parse_deep_link};
use crate::link_query::LinkQuery;
use crate::program::{Owner, Program, UniqueUrl, UniqueUrlState, VanityLink};
use crate::session::{SessionJar, SessionKey};
use crate::user_agent::{MAX_USER_AGENT_LEN, UserAgentInfo, truncate_to_boundary};

/// The longest referring URL kept.
pub const MAX_REFERRER_LEN: usize = 2048;

/// What a request resolved to within a program.
#[derive(Debug, Clone, Copy)]
pub enum VisitTarget<'a> {
    /// `/c/{owner}/{ad}/{program}`.
    Link {
        /// The partner or media source.
        owner: &'a Owner,
        /// The ad.
        ad: AdId,
    },
    /// `/i/{owner}/{ad}/{program}`.
    Impression {
        /// The partner or media source.
        owner: &'a Owner,
        /// The ad.
        ad: AdId,
    },
    /// A vanity path on a tracking domain.
    Vanity(&'a VanityLink),
    /// A unique URL.
    UniqueUrl(&'a UniqueUrl),
}

/// The facts of the request, already parsed by the adapter.
#[derive(Debug, Clone)]
pub struct VisitRequest<'a> {
    /// When the request arrived.
    pub now: Timestamp,
    /// The link's query.
    pub query: &'a LinkQuery,
    /// The `User-Agent` header, empty if absent or unreadable.
    pub user_agent: &'a str,
    /// It, parsed ([`crate::user_agent::parse_user_agent`], which the app caches).
    pub agent: UserAgentInfo,
    /// The `Referer` header.
    pub referrer: Option<&'a str>,
    /// Keyed hash of the client address.
    pub ip_hash: Option<String>,
    /// The country a trusted proxy or CDN placed the client in, as it sent it
    /// ([`country_code`] checks it).
    pub country: Option<&'a str>,
    /// Whether the address is flooding the program with clicks (the app's
    /// [`crate::flood::FloodWatch`] counts them).
    pub flood: bool,
    /// The browser's visitor id (from its cookie, or new).
    pub visitor: VisitorId,
    /// A fresh click id, used if this visit opens a new session.
    pub fresh_click_id: ClickId,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitPlan {
    /// The click to store before answering; none for a unique URL that is not live.
    pub click: Option<Click>,
    /// Where to redirect; none for an impression.
    pub location: Option<String>,
}

struct Landing {
    url: Url,
    malformed: bool,
}

/// Decides the landing page and the click for one visit, and updates the browser's
/// click sessions.
pub fn plan_visit(
    program: &Program,
    target: VisitTarget<'_>,
    request: &VisitRequest<'_>,
    sessions: &mut SessionJar,
) -> VisitPlan {
    let (owner_id, ad, source) = match target {
        VisitTarget::Link { owner, ad } => (owner.id, Some(ad), TouchSource::Link),
        VisitTarget::Impression { owner, ad } => (owner.id, Some(ad), TouchSource::Impression),
        VisitTarget::Vanity(link) => (link.owner, link.ad, TouchSource::Vanity),
        VisitTarget::UniqueUrl(unique) => match (unique.owner, unique.state) {
            (Some(owner), UniqueUrlState::Inuse) => (owner, None, TouchSource::UniqueUrl),
            _ => return VisitPlan { click: None, location: Some(program.default_landing_page().to_string()) },
        },
    };
    let Some(owner) = program.owner(owner_id) else {
        return VisitPlan { click: None, location: Some(program.default_landing_page().to_string()) };
    };
    let (preset_sub_ids, preset_shared_id) = match target {
        VisitTarget::Vanity(link) => (link.sub_ids.clone(), link.shared_id.clone()),
        _ => Default::default(),
    };
    let sub_ids = [0, 1, 2].map(|index| preset_sub_ids[index].clone().or_else(|| request.query.sub_ids[index].clone()));
    let shared_id = preset_shared_id.or_else(|| request.query.shared_id.clone());
    let landing = choose_landing(program, target, ad, request.query);

    let key = SessionKey { program: program.id(), owner: owner.id, impressions: source.is_impression() };
    let session = sessions.continue_or_start(key, request.now, program.click_session(), request.fresh_click_id.clone());
    let location = (!source.is_impression()).then(|| {
        let values = TemplateValues {
            click_id: session.click_id.as_str(),
            partner_id: owner.id.0,
            ad_id: ad.map(|ad| ad.0),
            program_id: program.id().0,
            shared_id: shared_id.as_deref(),
            partner_name: &owner.name,
        };
        program.tracking_template().apply(&landing.url, &values)
    });
    let agent = &request.agent;
    let referrer_url = request.referrer.map(|referrer| truncate_to_boundary(referrer, MAX_REFERRER_LEN).to_owned());
    let referrer_domain = referrer_url
        .as_deref()
        .and_then(|text| Url::parse(text).ok())
        .and_then(|url| url.host_str().map(str::to_owned));
    let click = Click {
        click_id: session.click_id,
        at: request.now,
        program: program.id(),
        owner: owner.id,
        owner_kind: owner.kind,
        ad,
        source,
        visitor: request.visitor.clone(),
        ip_hash: request.ip_hash.clone(),
        country: request.country.and_then(country_code),
        user_agent: truncate_to_boundary(request.user_agent, MAX_USER_AGENT_LEN).to_owned(),
        device: agent.device,
        os: agent.os.clone(),
        browser: agent.browser.clone(),
        referrer_url,
        referrer_domain,
        landing_page: location.clone().unwrap_or_else(|| landing.url.to_string()),
        sub_ids,
        shared_id,
        unique: session.unique,
        bot: agent.bot,
        flood: request.flood,
        malformed: landing.malformed || request.query.malformed,
        creditable: program.is_creditable(owner, request.now),
    };
    VisitPlan { click: Some(click), location }
}

/// An ISO 3166-1 alpha-2 country code, upper case, from a proxy's or CDN's country
/// header; `None` for anything else, and for the codes CDNs use for "unknown" (`XX`)
/// and Tor (`T1`), which name no country.
pub fn country_code(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    let letters = code.len() == 2 && code.bytes().all(|byte| byte.is_ascii_uppercase());
    (letters && code != "XX" && code != "T1").then_some(code)
}

/// The deep link if the program and ad allow it and its host is permitted; else the
/// most specific configured page. A deep link that is not followed marks the click
/// malformed, so the integration check can point at it.
fn choose_landing(program: &Program, target: VisitTarget<'_>, ad: Option<AdId>, query: &LinkQuery) -> Landing {
    let ad = ad.and_then(|id| program.ad(id));
    let configured = match target {
        VisitTarget::Vanity(link) => link.deep_link.clone().or_else(|| ad.and_then(|ad| ad.landing_page.clone())),
        VisitTarget::UniqueUrl(unique) => unique.landing_page.clone(),
        _ => ad.and_then(|ad| ad.landing_page.clone()),
    };
    let fallback = configured.unwrap_or_else(|| program.default_landing_page().clone());
    let Some(deep_link) = query.deep_link.as_deref() else {
        return Landing { url: fallback, malformed: false };
    };
    let allowed = matches!(target, VisitTarget::Link { .. })
        && ad.and_then(|ad| ad.deep_linking).unwrap_or(program.deep_linking())
        && program.deep_linking();
    match parse_deep_link(deep_link, program.permitted_domains()) {
        Ok(url) if allowed => Landing { url, malformed: false },
        _ => Landing { url: fallback, malformed: true },
    }
}

#[cfg(test)]
mod tests {
    use super::country_code;

    #[test]
    fn a_country_header_gives_a_two_letter_code_or_nothing() {
        assert_eq!(country_code("de").as_deref(), Some("DE"));
        assert_eq!(country_code(" US ").as_deref(), Some("US"));
        for unknown in ["XX", "T1", "", "D", "DEU", "Deutschland", "d3", "ÄÖ"] {
            assert_eq!(country_code(unknown), None, "{unknown:?}");
        }
    }
}
