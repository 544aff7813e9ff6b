//! The click edge's use case: resolve the address, let the core plan the visit, store
//! the click durably, then answer.

use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tally_core::flood::{FloodLimit, FloodWatch};
use tally_core::ids::{AdId, ClickId, ProgramId, VisitorId};
use tally_core::link_query::LinkQuery;
use tally_core::program::{Owner, Program};
use tally_core::session::SessionJar;
use tally_core::user_agent::{UserAgentCache, UserAgentInfo, parse_user_agent};
use tally_core::visit::{VisitRequest, VisitTarget, plan_visit};

use crate::catalog::{Catalog, CatalogHandle, HostRoute};
use crate::metrics::Metrics;
use crate::metrics::SourceLabel;
use crate::ports::Clock;
use crate::ports::{ClickLog, ClickLogError};
use crate::secrets::{Keyed, random_u128};

/// How the request addressed Tally.
#[derive(Debug, Clone, Copy)]
pub enum VisitAddress<'a> {
    /// `/c/{owner}/{ad}/{program}`, ids as sent.
    Link {
        /// Partner or media source id.
        owner: &'a str,
        /// Ad id.
        ad: &'a str,
        /// Program id.
        program: &'a str,
    },
    /// `/i/{owner}/{ad}/{program}`.
    Impression {
        /// Partner or media source id.
        owner: &'a str,
        /// Ad id.
        ad: &'a str,
        /// Program id.
        program: &'a str,
    },
    /// Any other path, matched by host: vanity links and unique URLs.
    Host {
        /// The `Host` header without port.
        host: &'a str,
        /// The request path.
        path: &'a str,
    },
}

/// Everything the edge learned from the request.
#[derive(Debug, Clone)]
pub struct VisitInput<'a> {
    /// The address.
    pub address: VisitAddress<'a>,
    /// The raw query string, still encoded.
    pub raw_query: &'a str,
    /// The user agent, empty if absent or unreadable.
    pub user_agent: &'a str,
    /// The referrer.
    pub referrer: Option<&'a str>,
    /// The client address.
    pub client_ip: Option<IpAddr>,
    /// The client's country, as a trusted proxy's or CDN's header gave it.
    pub country: Option<&'a str>,
    /// The visitor id from the browser's cookie, if it sent a valid one.
    pub visitor: Option<VisitorId>,
    /// The browser's click sessions, from its (verified) cookie.
    pub sessions: SessionJar,
    /// A probe (HTTP `HEAD`: link checkers, chat previews, crawlers): answered as a
    /// visit would be, but nobody visited, so nothing is recorded.
    pub probe: bool,
}

/// What to answer.
#[derive(Debug)]
pub enum VisitOutcome {
    /// Redirect, after the click was stored.
    Redirect {
        /// Where to.
        location: String,
        /// The visitor id to keep in the browser.
        visitor: VisitorId,
        /// The click sessions to keep in the browser.
        sessions: SessionJar,
    },
    /// Answer the impression pixel, after the impression was stored.
    Pixel {
        /// The visitor id to keep in the browser.
        visitor: VisitorId,
        /// The click sessions to keep in the browser.
        sessions: SessionJar,
    },
    /// A probe's answer: where a visit would go (`None`: the impression pixel),
    /// with nothing recorded and no cookies.
    Probe {
        /// Where to.
        location: Option<String>,
    },
    /// Redirect without recording anything (a unique URL that is not live).
    Land {
        /// Where to.
        location: String,
    },
    /// Unknown link.
    NotFound,
    /// The click could not be stored.
    Unavailable(ClickLogError),
}

/// How many (program, address) pairs the flood watch remembers: about 1.5 MB.
const FLOOD_WATCH_CAPACITY: usize = 1 << 16;
/// How many user agents are kept parsed: at most about 2.5 MB.
const USER_AGENT_CACHE_CAPACITY: usize = 1 << 12;

/// The click edge.
#[derive(Clone)]
pub struct Visits {
    catalog: Arc<CatalogHandle>,
    click_log: Arc<dyn ClickLog>,
    clock: Arc<dyn Clock>,
    keyed: Keyed,
    metrics: Arc<Metrics>,
    /// This node's recent clicks per address; each node flags the floods it sees.
    floods: Arc<Mutex<FloodWatch>>,
    flood_keys: RandomState,
    user_agents: Arc<Mutex<UserAgentCache>>,
}

impl Visits {
    /// Builds the use case.
    pub fn new(
        catalog: Arc<CatalogHandle>,
        click_log: Arc<dyn ClickLog>,
        clock: Arc<dyn Clock>,
        keyed: Keyed,
        metrics: Arc<Metrics>,
        flood_limit: FloodLimit,
    ) -> Self {
        let floods = Arc::new(Mutex::new(FloodWatch::new(flood_limit, FLOOD_WATCH_CAPACITY)));
        let user_agents = Arc::new(Mutex::new(UserAgentCache::new(USER_AGENT_CACHE_CAPACITY)));
        Visits { catalog, click_log, clock, keyed, metrics, floods, flood_keys: RandomState::new(), user_agents }
    }

    /// Handles one visit.
    pub async fn visit(&self, input: VisitInput<'_>) -> VisitOutcome {
        let outcome = self.plan_and_record(input).await;
        self.metrics.answer(match &outcome {
            VisitOutcome::Redirect { .. } => "redirect",
            VisitOutcome::Pixel { .. } => "impression",
            VisitOutcome::Probe { .. } => "probe",
            VisitOutcome::Land { .. } => "not_live",
            VisitOutcome::NotFound => "not_found",
            VisitOutcome::Unavailable(_) => "unavailable",
        });
        outcome
    }

    async fn plan_and_record(&self, input: VisitInput<'_>) -> VisitOutcome {
        let catalog = self.catalog.get();
        let now = self.clock.now();
        let Some((program, target)) = locate(&catalog, input.address) else {
            return VisitOutcome::NotFound;
        };
        let query = LinkQuery::parse(input.raw_query);
        let visitor = input.visitor.unwrap_or_else(|| VisitorId::generate(unix_millis(now), random_u128()));
        let ip_hash = input.client_ip.map(|address| self.keyed.ip_hash(&address));
        let flood = match (input.client_ip, &ip_hash) {
            (Some(address), Some(ip_hash)) if !input.probe => self.is_flooding(program.id(), address, ip_hash, now),
            _ => false,
        };
        let request = VisitRequest {
            now,
            query: &query,
            user_agent: input.user_agent,
            agent: self.parse_user_agent(input.user_agent),
            referrer: input.referrer,
            ip_hash,
            country: input.country,
            flood,
            visitor: visitor.clone(),
            fresh_click_id: ClickId::generate(unix_millis(now), random_u128()),
        };
        let mut sessions = input.sessions;
        let plan = plan_visit(program, target, &request, &mut sessions);
        let Some(click) = plan.click else {
            return VisitOutcome::Land {
                location: plan.location.unwrap_or_else(|| program.default_landing_page().to_string()),
            };
        };
        if input.probe {
            // The location names a click id that was never stored: a probe never
            // follows it, and a conversion naming it is reported as unknown.
            return VisitOutcome::Probe { location: plan.location };
        }
        let source = click.source.as_str();
        if let Err(error) = self.click_log.append(click).await {
            return VisitOutcome::Unavailable(error);
        }
        self.metrics.clicks_recorded.get_or_create(&SourceLabel { source }).inc();
        match plan.location {
            Some(location) => VisitOutcome::Redirect { location, visitor, sessions },
            None => VisitOutcome::Pixel { visitor, sessions },
        }
    }

    /// The user agent parsed, from the cache when it was seen lately; parsing happens
    /// outside the lock.
    fn parse_user_agent(&self, user_agent: &str) -> UserAgentInfo {
        let cache = || self.user_agents.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(info) = cache().get(user_agent) {
            return info;
        }
        let info = parse_user_agent(user_agent);
        cache().insert(user_agent, &info);
        info
    }

    /// Counts a click from `address` on the program and says whether the address is
    /// flooding it. Loopback is never counted: it is this machine (a local proxy
    /// without `trust_proxy_headers`, the demo's shoppers, a health check), not a
    /// shopper.
    fn is_flooding(&self, program: ProgramId, address: IpAddr, ip_hash: &str, now: jiff::Timestamp) -> bool {
        if address.to_canonical().is_loopback() {
            return false;
        }
        let key = self.flood_keys.hash_one((program.0, ip_hash));
        let flagged = self.floods.lock().unwrap_or_else(PoisonError::into_inner).observe(key, unix_millis(now));
        if flagged {
            self.metrics.clicks_flagged_flood.inc();
        }
        flagged
    }
}

/// Finds the program and what in it the address names. Ids that are not numbers in
/// range, and anything the program does not know, make the link unknown.
fn locate<'c>(catalog: &'c Catalog, address: VisitAddress<'_>) -> Option<(&'c Program, VisitTarget<'c>)> {
    let link = |owner: &str, ad: &str, program: &str| -> Option<(&'c Program, &'c Owner, AdId)> {
        let program = &catalog.program(program.parse().ok()?)?.program;
        let owner = program.owner(owner.parse().ok()?)?;
        let ad = program.ad(ad.parse().ok()?)?.id;
        Some((program, owner, ad))
    };
    match address {
        VisitAddress::Link { owner, ad, program } => {
            let (program, owner, ad) = link(owner, ad, program)?;
            Some((program, VisitTarget::Link { owner, ad }))
        }
        VisitAddress::Impression { owner, ad, program } => {
            let (program, owner, ad) = link(owner, ad, program)?;
            Some((program, VisitTarget::Impression { owner, ad }))
        }
        VisitAddress::Host { host, path } => match catalog.route(host, path)? {
            HostRoute::Vanity(id, index) => {
                let program = &catalog.program(id)?.program;
                Some((program, VisitTarget::Vanity(program.vanity_links().get(index)?)))
            }
            HostRoute::UniqueUrl(id, index) => {
                let program = &catalog.program(id)?.program;
                Some((program, VisitTarget::UniqueUrl(program.unique_urls().get(index)?)))
            }
        },
    }
}

/// Milliseconds since the Unix epoch, for the time prefix of new ids.
fn unix_millis(now: jiff::Timestamp) -> u64 {
    now.as_millisecond().max(0) as u64
}
