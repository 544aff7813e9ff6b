//! Checks a program document and compiles it, collecting every problem at once.

use std::collections::{HashMap, HashSet};
use std::fmt;

use jiff::SignedDuration;
use url::Url;

use super::document::*;
use super::model::{Ad, ContractSpan, Owner, Program, PromoCode, UniqueUrl, Validity, VanityLink, path_key};
use super::validate_terms::{check_scheduled_terms, check_template_terms};
use crate::click::OwnerKind;
use crate::ids::{PartnerId, TermsId};
use crate::landing::{
    DEFAULT_TRACKING_TEMPLATE, DomainPattern, PermittedDomains, TrackingTemplate, normalise_host, parse_deep_link,
    parse_landing_url,
};
use crate::link_query::MAX_VALUE_LEN;

/// One problem in a program document: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// JSON path of the field, e.g. `partners[2].id`.
    pub path: String,
    /// What is wrong, in lower case without a trailing period.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// First path segments a vanity link may not take, because Tally answers them itself.
const RESERVED_FIRST_SEGMENTS: &[&str] = &[
    "c",
    "i",
    "api",
    "healthz",
    "readyz",
    "metrics",
    "tag.js",
    "stat.js",
    "pageload",
    "advertisers",
    "webhooks",
    ".well-known",
    "static",
    "assets",
    "login",
    "logout",
    "dashboard",
    "favicon.ico",
    "robots.txt",
];

/// The longest click session accepted: a week.
const MAX_CLICK_SESSION_MINUTES: u32 = 7 * 24 * 60;
const DEFAULT_CLICK_SESSION_MINUTES: u32 = 30;
const MAX_NAME_LEN: usize = 200;

/// The problems found so far; every check adds to it rather than stopping.
#[derive(Default)]
pub(super) struct Problems(Vec<Problem>);

impl Problems {
    pub(super) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem { path: path.into(), message: message.into() });
    }

    pub(super) fn check(&mut self, ok: bool, path: impl Into<String>, message: impl Into<String>) {
        if !ok {
            self.add(path, message);
        }
    }

    pub(super) fn name(&mut self, path: String, name: &str) {
        let trimmed = name.trim();
        self.check(!trimmed.is_empty(), path.clone(), "must not be empty");
        self.check(name.chars().count() <= MAX_NAME_LEN, path, format!("longer than {MAX_NAME_LEN} characters"));
    }

    fn landing_page(&mut self, path: String, text: &str) -> Option<Url> {
        parse_landing_url(text).map_err(|error| self.add(path, error.to_string())).ok()
    }
}

impl Program {
    /// Checks the document and compiles it, or returns every problem found.
    pub fn compile(document: ProgramDocument) -> Result<Program, Vec<Problem>> {
        let mut problems = Problems::default();
        let settings = &document.program;

        problems.name("program.name".into(), &settings.name);
        let time_zone = jiff::tz::TimeZone::get(&settings.time_zone).ok();
        problems.check(
            time_zone.is_some(),
            "program.time_zone",
            format!("{:?} is not an IANA time zone", settings.time_zone),
        );
        let default_landing_page =
            problems.landing_page("program.default_landing_page".into(), &settings.default_landing_page);
        let tracking_domains = check_tracking_domains(&mut problems, &settings.tracking_domains);
        let permitted_domains = check_permitted_domains(&mut problems, &settings.permitted_domains);
        let template_text = settings.tracking_template.as_deref().unwrap_or(DEFAULT_TRACKING_TEMPLATE);
        let tracking_template = TrackingTemplate::parse(template_text)
            .map_err(|message| problems.add("program.tracking_template", message))
            .ok();
        let session_minutes = settings.click_session_minutes.unwrap_or(DEFAULT_CLICK_SESSION_MINUTES);
        problems.check(
            (1..=MAX_CLICK_SESSION_MINUTES).contains(&session_minutes),
            "program.click_session_minutes",
            format!("must be between 1 and {MAX_CLICK_SESSION_MINUTES}"),
        );
        check_integrations(&mut problems, settings.integrations.as_ref());
        check_event_types(&mut problems, &document.event_types);
        let owners = check_owners(&mut problems, &document);
        let ads = check_ads(&mut problems, &document.ads);
        check_template_terms(&mut problems, &document);
        let contracts = check_contracts(&mut problems, &document, &owners);
        let promo_codes = check_promo_codes(&mut problems, &document.promo_codes, &owners);
        let template_terms = index_template_terms(&document.template_terms);
        let vanity_links = check_vanity_links(&mut problems, &document, &owners, &ads, &permitted_domains);
        let unique_urls = check_unique_urls(&mut problems, &document.unique_urls, &owners);

        match (default_landing_page, tracking_template) {
            (Some(default_landing_page), Some(tracking_template)) if problems.0.is_empty() => Ok(Program {
                time_zone: time_zone.unwrap_or(jiff::tz::TimeZone::UTC),
                document,
                default_landing_page,
                permitted_domains,
                tracking_template,
                click_session: SignedDuration::from_mins(i64::from(session_minutes)),
                tracking_domains,
                owners,
                ads,
                contracts,
                template_terms,
                promo_codes,
                vanity_links,
                unique_urls,
            }),
            _ => Err(problems.0),
        }
    }
}

fn check_tracking_domains(problems: &mut Problems, domains: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut normalised = Vec::new();
    for (index, domain) in domains.iter().enumerate() {
        let path = format!("program.tracking_domains[{index}]");
        match normalise_host(domain) {
            Some(host) if seen.insert(host.clone()) => normalised.push(host),
            Some(_) => problems.add(path, format!("{domain:?} is listed twice")),
            None => problems.add(path, format!("{domain:?} is not a host name")),
        }
    }
    normalised
}

fn check_permitted_domains(problems: &mut Problems, patterns: &[String]) -> PermittedDomains {
    let parsed = patterns
        .iter()
        .enumerate()
        .filter_map(|(index, pattern)| {
            DomainPattern::parse(pattern)
                .map_err(|message| problems.add(format!("program.permitted_domains[{index}]"), message))
                .ok()
        })
        .collect();
    PermittedDomains::new(parsed)
}

fn check_integrations(problems: &mut Problems, integrations: Option<&Integrations>) {
    let Some(integrations) = integrations else { return };
    for (name, secret) in [("shopify", &integrations.shopify), ("woocommerce", &integrations.woocommerce)] {
        if let Some(secret) = secret {
            problems.check(
                (8..=512).contains(&secret.secret.len()),
                format!("program.integrations.{name}.secret"),
                "must be between 8 and 512 characters",
            );
        }
    }
}

fn check_event_types(problems: &mut Problems, event_types: &[EventTypeDoc]) {
    let mut ids = HashSet::new();
    let mut codes = HashSet::new();
    for (index, event_type) in event_types.iter().enumerate() {
        let path = format!("event_types[{index}]");
        problems.check(
            ids.insert(event_type.id),
            format!("{path}.id"),
            format!("event type {} is listed twice", event_type.id),
        );
        problems.name(format!("{path}.name"), &event_type.name);
        let code_ok = !event_type.code.is_empty()
            && event_type.code.len() <= 64
            && event_type.code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        problems.check(code_ok, format!("{path}.code"), "must be 1 to 64 letters, digits, '_' or '-'");
        problems.check(
            codes.insert(event_type.code.to_ascii_lowercase()),
            format!("{path}.code"),
            format!("code {:?} is used twice", event_type.code),
        );
    }
}

fn check_owners(problems: &mut Problems, document: &ProgramDocument) -> HashMap<PartnerId, Owner> {
    let mut owners = HashMap::new();
    let partners = document
        .partners
        .iter()
        .map(|p| (p.id, &p.name, p.credit_group, p.status == PartnerStatus::Active, OwnerKind::Partner));
    let media = document.media_sources.iter().map(|m| (m.id, &m.name, m.credit_group, true, OwnerKind::MediaSource));
    let mut partner_index = 0;
    let mut media_index = 0;
    for (id, name, credit_group, active, kind) in partners.chain(media) {
        let path = match kind {
            OwnerKind::Partner => {
                partner_index += 1;
                format!("partners[{}]", partner_index - 1)
            }
            OwnerKind::MediaSource => {
                media_index += 1;
                format!("media_sources[{}]", media_index - 1)
            }
        };
        problems.name(format!("{path}.name"), name);
        let owner = Owner { id, kind, name: name.clone(), credit_group, active };
        if owners.insert(id, owner).is_some() {
            problems.add(format!("{path}.id"), format!("id {id} is already used by a partner or media source"));
        }
    }
    owners
}

fn check_ads(problems: &mut Problems, ads: &[AdDoc]) -> HashMap<AdId, Ad> {
    let mut compiled = HashMap::new();
    for (index, ad) in ads.iter().enumerate() {
        let path = format!("ads[{index}]");
        problems.name(format!("{path}.name"), &ad.name);
        let landing_page =
            ad.landing_page.as_deref().and_then(|text| problems.landing_page(format!("{path}.landing_page"), text));
        let entry = Ad { id: ad.id, landing_page, deep_linking: ad.deep_linking };
        if compiled.insert(ad.id, entry).is_some() {
            problems.add(format!("{path}.id"), format!("ad {} is listed twice", ad.id));
        }
    }
    compiled
}

use crate::ids::AdId;

fn check_contracts(
    problems: &mut Problems,
    document: &ProgramDocument,
    owners: &HashMap<PartnerId, Owner>,
) -> HashMap<PartnerId, Vec<ContractSpan>> {
    let terms: HashSet<_> = document.template_terms.iter().map(|terms| terms.id).collect();
    let mut contracts: HashMap<PartnerId, Vec<ContractSpan>> = HashMap::new();
    for (index, contract) in document.contracts.iter().enumerate() {
        let path = format!("contracts[{index}]");
        let is_partner = owners.get(&contract.partner).is_some_and(|owner| owner.kind == OwnerKind::Partner);
        problems.check(
            is_partner,
            format!("{path}.partner"),
            format!("partner {} is not in partners", contract.partner),
        );
        problems.check(
            terms.contains(&contract.template_terms),
            format!("{path}.template_terms"),
            format!("template terms {} are not in template_terms", contract.template_terms),
        );
        let scheduled = check_scheduled_terms(problems, &path, contract, &terms);
        if contract.end.is_some_and(|end| end <= contract.start) {
            problems.add(format!("{path}.end"), "must be after start");
            continue;
        }
        let span = Validity { start: contract.start, end: contract.end };
        let spans = contracts.entry(contract.partner).or_default();
        let overlaps = spans
            .iter()
            .map(|other| other.validity)
            .any(|other| other.end.is_none_or(|end| span.start < end) && span.end.is_none_or(|end| other.start < end));
        problems.check(!overlaps, path, format!("overlaps another contract of partner {}", contract.partner));
        spans.push(ContractSpan { validity: span, terms: contract.template_terms, scheduled });
    }
    contracts
}

/// Maps template terms ids to their index in the document (first wins; duplicates are
/// refused anyway).
fn index_template_terms(terms: &[TemplateTermsDoc]) -> HashMap<TermsId, usize> {
    let mut index = HashMap::new();
    for (position, terms) in terms.iter().enumerate() {
        index.entry(terms.id).or_insert(position);
    }
    index
}

fn check_promo_codes(
    problems: &mut Problems,
    codes: &[PromoCodeDoc],
    owners: &HashMap<PartnerId, Owner>,
) -> Vec<PromoCode> {
    let mut exact_codes = HashSet::new();
    let mut compiled = Vec::new();
    for (index, promo) in codes.iter().enumerate() {
        let path = format!("promo_codes[{index}]");
        let code_ok = !promo.code.trim().is_empty() && promo.code.len() <= 255;
        problems.check(code_ok, format!("{path}.code"), "must be 1 to 255 characters");
        if promo.code_type == PromoCodeType::Exact {
            problems.check(
                exact_codes.insert(promo.code.to_lowercase()),
                format!("{path}.code"),
                format!("code {:?} is listed twice (codes match case-insensitively)", promo.code),
            );
        }
        match PromoCode::compile(promo) {
            Ok(code) => compiled.push(code),
            Err(error) => problems.add(format!("{path}.code"), format!("not a valid regular expression: {error}")),
        }
        let is_partner = owners.get(&promo.partner).is_some_and(|owner| owner.kind == OwnerKind::Partner);
        problems.check(is_partner, format!("{path}.partner"), format!("partner {} is not in partners", promo.partner));
        if let (Some(start), Some(end)) = (promo.start, promo.end) {
            problems.check(start < end, format!("{path}.end"), "must be after start");
        }
    }
    compiled
}

fn check_vanity_links(
    problems: &mut Problems,
    document: &ProgramDocument,
    owners: &HashMap<PartnerId, Owner>,
    ads: &HashMap<AdId, Ad>,
    permitted: &PermittedDomains,
) -> Vec<VanityLink> {
    if !document.vanity_links.is_empty() && document.program.tracking_domains.is_empty() {
        problems.add("program.tracking_domains", "vanity links need at least one tracking domain");
    }
    let mut paths = HashSet::new();
    let mut links = Vec::new();
    for (index, link) in document.vanity_links.iter().enumerate() {
        let path = format!("vanity_links[{index}]");
        let key = path_key(&link.path);
        if let Some(message) = vanity_path_problem(&key) {
            problems.add(format!("{path}.path"), message);
        }
        problems.check(
            paths.insert(key.clone()),
            format!("{path}.path"),
            format!("path {:?} is used twice", link.path),
        );
        problems.check(
            owners.contains_key(&link.partner),
            format!("{path}.partner"),
            format!("{} is not a partner or media source", link.partner),
        );
        if let Some(ad) = link.ad {
            problems.check(ads.contains_key(&ad), format!("{path}.ad"), format!("ad {ad} is not in ads"));
        }
        let deep_link = link.deep_link.as_deref().and_then(|text| {
            parse_deep_link(text, permitted)
                .map_err(|error| problems.add(format!("{path}.deep_link"), error.to_string()))
                .ok()
        });
        let sub_ids_doc = link.sub_ids.clone().unwrap_or_default();
        let sub_ids = [sub_ids_doc.sub_id1, sub_ids_doc.sub_id2, sub_ids_doc.sub_id3];
        for value in sub_ids.iter().chain([&link.shared_id]).flatten() {
            problems.check(
                value.chars().count() <= MAX_VALUE_LEN,
                path.clone(),
                format!("sub ids and shared id are at most {MAX_VALUE_LEN} characters"),
            );
        }
        links.push(VanityLink {
            path_key: key,
            owner: link.partner,
            ad: link.ad,
            deep_link,
            sub_ids,
            shared_id: link.shared_id.clone(),
        });
    }
    links
}

fn vanity_path_problem(key: &str) -> Option<String> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'~');
    if key.is_empty() || key.len() > 200 || !key.bytes().all(allowed) || key.contains("//") {
        return Some("must be 1 to 200 letters, digits, '-', '_', '.', '~' or single '/'".into());
    }
    let first = key.split('/').next().unwrap_or("");
    RESERVED_FIRST_SEGMENTS.contains(&first).then(|| format!("{first:?} is reserved by Tally"))
}

fn check_unique_urls(
    problems: &mut Problems,
    urls: &[UniqueUrlDoc],
    owners: &HashMap<PartnerId, Owner>,
) -> Vec<UniqueUrl> {
    let mut keys = HashSet::new();
    let mut compiled = Vec::new();
    for (index, unique) in urls.iter().enumerate() {
        let path = format!("unique_urls[{index}]");
        let needs_partner = !matches!(unique.state, UniqueUrlState::Available | UniqueUrlState::Deleted);
        match unique.partner {
            Some(partner) => problems.check(
                owners.get(&partner).is_some_and(|owner| owner.kind == OwnerKind::Partner),
                format!("{path}.partner"),
                format!("partner {partner} is not in partners"),
            ),
            None => problems.check(
                !needs_partner,
                format!("{path}.partner"),
                "is required unless the state is AVAILABLE or DELETED",
            ),
        }
        let landing_page =
            unique.landing_page.as_deref().and_then(|text| problems.landing_page(format!("{path}.landing_page"), text));
        let Some(url) = problems.landing_page(format!("{path}.url"), &unique.url) else { continue };
        if url.query().is_some() || url.fragment().is_some() || url.port().is_some() {
            problems.add(format!("{path}.url"), "a unique URL is a host and a path, without port, query or fragment");
            continue;
        }
        let host = url.host_str().unwrap_or("").trim_end_matches('.').to_owned();
        let key = path_key(url.path());
        problems.check(
            keys.insert((host.clone(), key.clone())),
            format!("{path}.url"),
            format!("{:?} is listed twice", unique.url),
        );
        compiled.push(UniqueUrl { host, path_key: key, owner: unique.partner, landing_page, state: unique.state });
    }
    compiled
}
