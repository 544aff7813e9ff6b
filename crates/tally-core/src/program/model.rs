//! The compiled program: the document checked and turned into lookups the edge uses.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use url::Url;

use regex::Regex;

use super::document::{
    CreditGroup, EventPayoutDoc, EventTypeDoc, ProgramDocument, PromoCodeDoc, PromoCodeType, PromoCreditPolicy,
    UniqueUrlState,
};
use crate::click::OwnerKind;
use crate::ids::{AdId, EventTypeId, PartnerId, ProgramId, TermsId};
use crate::landing::{PermittedDomains, TrackingTemplate};

/// A program ready for use. Built only by [`Program::compile`], so it is always valid.
#[derive(Debug, Clone)]
pub struct Program {
    pub(super) document: ProgramDocument,
    pub(super) time_zone: jiff::tz::TimeZone,
    pub(super) default_landing_page: Url,
    pub(super) permitted_domains: PermittedDomains,
    pub(super) tracking_template: TrackingTemplate,
    pub(super) click_session: SignedDuration,
    pub(super) tracking_domains: Vec<String>,
    pub(super) owners: HashMap<PartnerId, Owner>,
    pub(super) ads: HashMap<AdId, Ad>,
    pub(super) contracts: HashMap<PartnerId, Vec<ContractSpan>>,
    pub(super) template_terms: HashMap<TermsId, usize>,
    pub(super) promo_codes: Vec<PromoCode>,
    pub(super) vanity_links: Vec<VanityLink>,
    pub(super) unique_urls: Vec<UniqueUrl>,
}

/// A partner or media source, as the edge needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Its id.
    pub id: PartnerId,
    /// Partner or media source.
    pub kind: OwnerKind,
    /// Display name.
    pub name: String,
    /// Credit group.
    pub credit_group: CreditGroup,
    /// False for an inactive partner.
    pub active: bool,
}

/// An ad, as the edge needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ad {
    /// Its id.
    pub id: AdId,
    /// Its own landing page.
    pub landing_page: Option<Url>,
    /// Its deep-link switch, overriding the program's.
    pub deep_linking: Option<bool>,
}

/// A contract's time span: from `start`, until `end` (exclusive) if set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// First instant in force.
    pub start: Timestamp,
    /// First instant no longer in force.
    pub end: Option<Timestamp>,
}

impl Validity {
    /// Whether the span covers the instant.
    pub fn covers(&self, at: Timestamp) -> bool {
        self.start <= at && self.end.is_none_or(|end| at < end)
    }
}

/// A partner's contract: which template terms, and when, with the terms scheduled
/// within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ContractSpan {
    pub(super) validity: Validity,
    pub(super) terms: TermsId,
    /// Within the contract and not overlapping each other.
    pub(super) scheduled: Vec<ScheduledSpan>,
}

/// Template terms in force instead of the contract's own within a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ScheduledSpan {
    pub(super) validity: Validity,
    pub(super) terms: TermsId,
}

/// A promo code compiled for matching: exact codes folded to lower case, regular
/// expressions compiled once.
#[derive(Debug, Clone)]
pub struct PromoCode {
    matcher: PromoMatcher,
    /// The owning partner.
    pub owner: PartnerId,
    /// When the owner takes the credit.
    pub credit_policy: PromoCreditPolicy,
    /// Valid from (inclusive), if bounded.
    pub start: Option<Timestamp>,
    /// Valid until (exclusive), if bounded.
    pub end: Option<Timestamp>,
    /// Another partner's traffic cannot take the credit for an order using this code.
    pub blocks_other_partners: bool,
}

#[derive(Debug, Clone)]
enum PromoMatcher {
    Exact(String),
    Regex(Regex),
}

impl PromoCode {
    /// Compiles a code; a regular expression must match the whole code, so `SAVE\d+`
    /// does not also match `XSAVE10Y`. The expression is checked on its own first, so
    /// that anchoring cannot turn an invalid one such as `a)|(b` into a valid one.
    pub(super) fn compile(doc: &PromoCodeDoc) -> Result<Self, regex::Error> {
        let matcher = match doc.code_type {
            PromoCodeType::Exact => PromoMatcher::Exact(doc.code.to_lowercase()),
            PromoCodeType::Regex => {
                Regex::new(&doc.code)?;
                PromoMatcher::Regex(Regex::new(&format!("^(?:{})$", doc.code))?)
            }
        };
        let (owner, credit_policy, start, end) = (doc.partner, doc.credit_policy, doc.start, doc.end);
        Ok(PromoCode { matcher, owner, credit_policy, start, end, blocks_other_partners: doc.block_other_partners })
    }

    /// Whether the code applies to `text` used at `at`: exact codes ignore case,
    /// regular expressions do not.
    pub fn matches(&self, text: &str, at: Timestamp) -> bool {
        let in_time = self.start.is_none_or(|start| start <= at) && self.end.is_none_or(|end| at < end);
        in_time
            && match &self.matcher {
                PromoMatcher::Exact(code) => *code == text.to_lowercase(),
                PromoMatcher::Regex(regex) => regex.is_match(text),
            }
    }

    fn is_exact(&self) -> bool {
        matches!(self.matcher, PromoMatcher::Exact(_))
    }
}

/// A vanity link with its path normalised for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VanityLink {
    /// Lower case, without leading or trailing `/`.
    pub path_key: String,
    /// The partner or media source.
    pub owner: PartnerId,
    /// The ad, if any.
    pub ad: Option<AdId>,
    /// Where it lands, if set.
    pub deep_link: Option<Url>,
    /// Preset sub ids.
    pub sub_ids: [Option<String>; 3],
    /// Preset shared id.
    pub shared_id: Option<String>,
}

/// A unique URL with its host and path normalised for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueUrl {
    /// ASCII lower-case host.
    pub host: String,
    /// Lower-case path without trailing `/` (empty for the root).
    pub path_key: String,
    /// The partner it is assigned to.
    pub owner: Option<PartnerId>,
    /// Where it lands, if set.
    pub landing_page: Option<Url>,
    /// Its state.
    pub state: UniqueUrlState,
}

/// Normalises a request or configured path for vanity and unique-URL matching: people
/// type these from print and audio, so case and a trailing slash do not matter.
pub fn path_key(path: &str) -> String {
    path.trim_matches('/').to_lowercase()
}

impl Program {
    /// The program id.
    pub fn id(&self) -> ProgramId {
        self.document.program.id
    }

    /// The document it was compiled from, in canonical form.
    pub fn document(&self) -> &ProgramDocument {
        &self.document
    }

    /// The landing page used when nothing more specific applies.
    pub fn default_landing_page(&self) -> &Url {
        &self.default_landing_page
    }

    /// Whether the program allows deep links at all.
    pub fn deep_linking(&self) -> bool {
        self.document.program.deep_linking
    }

    /// Hosts deep links may point to.
    pub fn permitted_domains(&self) -> &PermittedDomains {
        &self.permitted_domains
    }

    /// The query appended to landing pages.
    pub fn tracking_template(&self) -> &TrackingTemplate {
        &self.tracking_template
    }

    /// The rolling click session.
    pub fn click_session(&self) -> SignedDuration {
        self.click_session
    }

    /// Normalised tracking domains.
    pub fn tracking_domains(&self) -> &[String] {
        &self.tracking_domains
    }

    /// The program's time zone: locking and statements count days in it.
    pub fn time_zone(&self) -> &jiff::tz::TimeZone {
        &self.time_zone
    }

    /// The program's currency.
    pub fn currency(&self) -> crate::money::Currency {
        self.document.program.currency
    }

    /// An event type by its numeric id (`ActionTrackerId` / `EventTypeId`).
    pub fn event_type(&self, id: EventTypeId) -> Option<&EventTypeDoc> {
        self.document.event_types.iter().find(|event_type| event_type.id == id)
    }

    /// An event type by its code (`EventTypeCode`), ignoring case.
    pub fn event_type_by_code(&self, code: &str) -> Option<&EventTypeDoc> {
        self.document.event_types.iter().find(|event_type| event_type.code.eq_ignore_ascii_case(code))
    }

    /// The partner whose unique URL this is, matched like the edge matches visits
    /// (host and path, ignoring case and a trailing slash); only a URL in use counts.
    pub fn unique_url_partner(&self, url: &Url) -> Option<PartnerId> {
        let host = url.host_str()?.to_ascii_lowercase();
        let key = path_key(url.path());
        self.unique_urls
            .iter()
            .find(|unique| unique.host == host && unique.path_key == key && unique.state == UniqueUrlState::Inuse)
            .and_then(|unique| unique.owner)
    }

    /// A partner or media source by id.
    pub fn owner(&self, id: PartnerId) -> Option<&Owner> {
        self.owners.get(&id)
    }

    /// An ad by id.
    pub fn ad(&self, id: AdId) -> Option<&Ad> {
        self.ads.get(&id)
    }

    /// Vanity links.
    pub fn vanity_links(&self) -> &[VanityLink] {
        &self.vanity_links
    }

    /// Unique URLs.
    pub fn unique_urls(&self) -> &[UniqueUrl] {
        &self.unique_urls
    }

    /// Whether a touch of this owner at this instant can earn credit: media sources
    /// always take part; a partner must be active and have a contract in force.
    pub fn is_creditable(&self, owner: &Owner, at: Timestamp) -> bool {
        match owner.kind {
            OwnerKind::MediaSource => true,
            OwnerKind::Partner => {
                owner.active
                    && self
                        .contracts
                        .get(&owner.id)
                        .is_some_and(|spans| spans.iter().any(|span| span.validity.covers(at)))
            }
        }
    }

    /// How far back a touch can still earn credit: the longest referral window of any
    /// terms, and at least the default click window. Touches older than this are never
    /// read for a conversion.
    pub fn lookback(&self) -> SignedDuration {
        let longest = self
            .document
            .template_terms
            .iter()
            .flat_map(|terms| &terms.event_payouts)
            .flat_map(|payout| &payout.referral_windows)
            .map(|window| window.duration())
            .max()
            .unwrap_or_default();
        longest.max(crate::attribution::DEFAULT_CLICK_WINDOW)
    }

    /// The terms in force at `at` for the partner and one event type: those of terms
    /// scheduled in its contract for that instant, else those of the contract's own
    /// template. Scheduled terms without terms for the event type leave the contract's
    /// in force for it, so a holiday rate for sales need not repeat every other event
    /// type. `None` without a contract in force or without terms for the event type.
    pub fn terms_for(&self, partner: PartnerId, event_type: EventTypeId, at: Timestamp) -> Option<&EventPayoutDoc> {
        let contract = self.contracts.get(&partner)?.iter().find(|span| span.validity.covers(at))?;
        let scheduled = contract.scheduled.iter().find(|span| span.validity.covers(at));
        scheduled
            .and_then(|span| self.event_payout(span.terms, event_type))
            .or_else(|| self.event_payout(contract.terms, event_type))
    }

    fn event_payout(&self, terms: TermsId, event_type: EventTypeId) -> Option<&EventPayoutDoc> {
        let terms = self.document.template_terms.get(*self.template_terms.get(&terms)?)?;
        terms.event_payouts.iter().find(|payout| payout.event_type == event_type)
    }

    /// The promo code that `text` names at `at`, if any. Exact codes are tried first
    /// (they are unique); then regular expressions in document order.
    pub fn promo_code(&self, text: &str, at: Timestamp) -> Option<&PromoCode> {
        let exact = self.promo_codes.iter().filter(|code| code.is_exact());
        let regex = self.promo_codes.iter().filter(|code| !code.is_exact());
        exact.chain(regex).find(|code| code.matches(text, at))
    }
}
