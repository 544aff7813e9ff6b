//! The program document's shape, exactly as brands write it (SPEC §12).
//!
//! Field names are part of the public interface: keep them, add new ones beside them.
//! Every struct refuses unknown keys. Sections that a document leaves out default to
//! empty, and the exported document always carries every section, so that export is
//! the canonical form and applying it again changes nothing.

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::{AdId, EventTypeId, PartnerId, ProgramId, TermsId};
use crate::money::Currency;
use crate::payout::Period;

/// The whole setup of one program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramDocument {
    /// Program-wide settings.
    pub program: ProgramSettings,
    /// Conversion event types.
    #[serde(default)]
    pub event_types: Vec<EventTypeDoc>,
    /// Partners.
    #[serde(default)]
    pub partners: Vec<PartnerDoc>,
    /// Other media sources (paid search, email, networks).
    #[serde(default)]
    pub media_sources: Vec<MediaSourceDoc>,
    /// Ads (creatives) that links point through.
    #[serde(default)]
    pub ads: Vec<AdDoc>,
    /// Reusable contract terms.
    #[serde(default)]
    pub template_terms: Vec<TemplateTermsDoc>,
    /// Which partner is bound to which terms, and when.
    #[serde(default)]
    pub contracts: Vec<ContractDoc>,
    /// Promo codes owned by partners.
    #[serde(default)]
    pub promo_codes: Vec<PromoCodeDoc>,
    /// Short paths on the tracking domains.
    #[serde(default)]
    pub vanity_links: Vec<VanityLinkDoc>,
    /// Whole URLs for offline ads.
    #[serde(default)]
    pub unique_urls: Vec<UniqueUrlDoc>,
}

/// Program-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramSettings {
    /// The numeric program id used in links.
    pub id: ProgramId,
    /// Display name.
    pub name: String,
    /// The program's currency.
    pub currency: Currency,
    /// IANA time zone, e.g. `America/New_York`; locking and statements count in it.
    pub time_zone: String,
    /// Hosts on which vanity links and this program's links answer.
    #[serde(default)]
    pub tracking_domains: Vec<String>,
    /// Where a click lands when nothing more specific applies.
    pub default_landing_page: String,
    /// Whether links may carry a `u` deep link.
    #[serde(default)]
    pub deep_linking: bool,
    /// Hosts a deep link may point to: `acme.test` or `*.acme.test`.
    #[serde(default)]
    pub permitted_domains: Vec<String>,
    /// Query appended to landing pages; default `irclickid={clickid}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_template: Option<String>,
    /// Rolling click session in minutes; default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub click_session_minutes: Option<u32>,
    /// Shopping-cart webhook secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrations: Option<Integrations>,
}

/// Shopping-cart integrations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Integrations {
    /// Shopify order webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shopify: Option<WebhookSecret>,
    /// WooCommerce order webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub woocommerce: Option<WebhookSecret>,
}

/// The shared secret that signs a cart's webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSecret {
    /// The secret.
    pub secret: String,
}

/// What kind of conversion an event type records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventCategory {
    /// A purchase.
    Sale,
    /// A sign-up or other lead.
    Lead,
    /// An app install.
    Install,
    /// An in-app event.
    AppEvent,
}

/// An event type (the seed platform's action tracker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTypeDoc {
    /// Numeric id, as sent in `ActionTrackerId` / `EventTypeId`.
    pub id: EventTypeId,
    /// Code, as sent in `EventTypeCode`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// What it records.
    pub category: EventCategory,
}

/// Credit groups *(documented)*: a lower group takes credit only when no higher one took part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CreditGroup {
    /// The highest group, and the default.
    #[default]
    Preferred,
    /// The middle group.
    Standard,
    /// The lowest group; a journey with only these is unclaimed.
    NonPreferred,
}

/// Whether a partner currently takes part in the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartnerStatus {
    /// Active (default).
    #[default]
    Active,
    /// Inactive: its links still land shoppers, but its clicks earn nothing.
    Inactive,
}

/// A partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerDoc {
    /// Numeric id used in links; shares one id space with media sources.
    pub id: PartnerId,
    /// Display name, also the `{irmpname}` template token.
    pub name: String,
    /// Credit group.
    #[serde(default)]
    pub credit_group: CreditGroup,
    /// Status.
    #[serde(default)]
    pub status: PartnerStatus,
}

/// Another media source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaSourceDoc {
    /// Numeric id used in links; shares one id space with partners.
    pub id: PartnerId,
    /// Display name.
    pub name: String,
    /// Credit group.
    #[serde(default)]
    pub credit_group: CreditGroup,
}

/// The kind of creative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AdType {
    /// A text link.
    TextLink,
    /// A banner image.
    Banner,
    /// A coupon.
    Coupon,
    /// A product link.
    Product,
    /// A video.
    Video,
    /// A social post.
    Social,
    /// An email.
    Email,
    /// An offline placement (print, radio, podcast).
    Offline,
    /// An app placement.
    App,
    /// Anything else.
    Other,
}

/// An ad.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdDoc {
    /// Numeric id used in links.
    pub id: AdId,
    /// Display name.
    pub name: String,
    /// The kind of creative.
    #[serde(rename = "type")]
    pub ad_type: AdType,
    /// Where its clicks land; default the program's default landing page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_page: Option<String>,
    /// Per-ad deep-link switch; default the program's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deep_linking: Option<bool>,
}

/// Reusable contract terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateTermsDoc {
    /// Numeric id.
    pub id: TermsId,
    /// Display name.
    pub name: String,
    /// Terms per event type.
    #[serde(default)]
    pub event_payouts: Vec<EventPayoutDoc>,
}

/// How credit is chosen among a journey's touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CreditPolicy {
    /// The last touch wins (default).
    #[default]
    LastClick,
    /// The first touch wins.
    FirstClick,
}

/// Whether payouts are computed per order or per item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PayoutLevel {
    /// One payout for the order (default).
    #[default]
    Order,
    /// A payout per item line.
    Item,
}

/// The terms for one event type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventPayoutDoc {
    /// The event type these terms pay.
    pub event_type: EventTypeId,
    /// Last or first click.
    #[serde(default)]
    pub credit_policy: CreditPolicy,
    /// How old a touch may be to earn credit.
    #[serde(default)]
    pub referral_windows: Vec<ReferralWindowDoc>,
    /// Order or item level.
    #[serde(default)]
    pub payout_level: PayoutLevel,
    /// What is paid when no payout group applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_payout: Option<PayoutDoc>,
    /// Ranked payout groups; the first whose rules all hold applies.
    #[serde(default)]
    pub payout_groups: Vec<PayoutGroupDoc>,
    /// Conditions under which nothing is paid: the whole order at ORDER level, the
    /// matching items at ITEM level.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restrictions: Vec<RestrictionDoc>,
    /// Payouts that replace the default one once the partner reaches a threshold in a
    /// calendar period.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<TierDoc>,
    /// Caps on actions or payout per calendar period.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<LimitDoc>,
    /// Fixed amounts paid once per calendar period when a threshold is crossed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bonuses: Vec<BonusDoc>,
    /// When pending actions lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locking: Option<MonthsAndDays>,
    /// When locked actions are paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<MonthsAndDays>,
}

/// A touch kind a referral window applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WindowTouch {
    /// Clicks (and vanity links, unique URLs).
    Click,
    /// Impressions.
    Impression,
}

/// The unit of a referral window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WindowUnit {
    /// Days of 24 hours.
    Day,
    /// Hours.
    Hour,
}

/// How long a touch keeps its chance of credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralWindowDoc {
    /// The touch kind.
    pub touch: WindowTouch,
    /// The length.
    pub window: u32,
    /// The unit.
    pub unit: WindowUnit,
}

impl ReferralWindowDoc {
    /// The window's length.
    pub fn duration(&self) -> jiff::SignedDuration {
        let hours_per_unit = match self.unit {
            WindowUnit::Day => 24,
            WindowUnit::Hour => 1,
        };
        jiff::SignedDuration::from_hours(i64::from(self.window) * hours_per_unit)
    }
}

/// A payout: a rate of the sale amount (percent) or a fixed amount; exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutDoc {
    /// Percent of the sale amount, as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rust_decimal::serde::str_option")]
    pub rate: Option<Decimal>,
    /// A fixed amount in the program's currency, as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rust_decimal::serde::str_option")]
    pub amount: Option<Decimal>,
    /// Allows a rate above 100 percent (up to 10000), which is refused otherwise as a
    /// likely typo.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rate_over_100: bool,
}

/// A condition under which nothing is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictionDoc {
    /// Conditions that must all hold, as in payout groups.
    pub rules: Vec<RuleDoc>,
    /// Why, for statements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a tier or bonus threshold counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Metric {
    /// The number of actions.
    Actions,
    /// The sum of their sale amounts.
    Revenue,
}

/// A payout that replaces the default one from the action that reaches the threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierDoc {
    /// What is counted.
    pub metric: Metric,
    /// How much, as a decimal string: a whole number of actions, or an amount.
    #[serde(with = "rust_decimal::serde::str")]
    pub threshold: Decimal,
    /// The calendar period counted in.
    pub period: Period,
    /// What the tier pays.
    pub payout: PayoutDoc,
}

/// A cap per calendar period: give `max_actions` or `max_payout`, not both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitDoc {
    /// DAY, WEEK or MONTH.
    pub period: Period,
    /// Actions beyond this many in the period pay no commission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_actions: Option<u64>,
    /// Commission is cut so that the period's payout stays within this amount.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rust_decimal::serde::str_option")]
    pub max_payout: Option<Decimal>,
}

/// A fixed amount paid once per period, on the action that crosses the threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BonusDoc {
    /// What is counted.
    pub metric: Metric,
    /// How much, as a decimal string: a whole number of actions, or an amount.
    #[serde(with = "rust_decimal::serde::str")]
    pub threshold: Decimal,
    /// The calendar period counted in.
    pub period: Period,
    /// The bonus, in the program's currency.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

/// A ranked payout group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutGroupDoc {
    /// Rank; lower ranks are tried first.
    pub rank: u32,
    /// Conditions that must all hold.
    #[serde(default)]
    pub rules: Vec<RuleDoc>,
    /// What the group pays.
    pub payout: PayoutDoc,
}

/// A variable a payout rule can test *(documented)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleVariable {
    /// The item's SKU.
    ItemSku,
    /// The item's category.
    ItemCategory,
    /// `New` or `Existing`.
    CustomerStatus,
    /// The customer's country.
    CustomerCountry,
    /// The order's promo code.
    PromoCode,
    /// The shared id.
    SharedId,
}

/// How a rule compares *(documented)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleOperator {
    /// Equal to one of the values.
    Is,
    /// Equal to none of the values.
    IsNot,
    /// Contains one of the values.
    Contains,
}

/// A condition of a payout group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    /// What is tested.
    pub variable: RuleVariable,
    /// How.
    pub operator: RuleOperator,
    /// Against what; a comma means "or".
    pub values: String,
}

/// "N months and D days after the end of the month" *(documented)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthsAndDays {
    /// Whole months.
    pub months: u32,
    /// Then days.
    pub days: u32,
}

/// A partner bound to template terms from a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractDoc {
    /// The partner.
    pub partner: PartnerId,
    /// The terms.
    pub template_terms: TermsId,
    /// In force from.
    pub start: Timestamp,
    /// In force until (exclusive); open-ended when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
    /// Other terms that apply instead within a span of the contract, e.g. a holiday rate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduled_terms: Vec<ScheduledTermsDoc>,
}

/// Template terms in force instead of the contract's own from `start` until `end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledTermsDoc {
    /// The terms.
    pub template_terms: TermsId,
    /// In force from.
    pub start: Timestamp,
    /// In force until (exclusive).
    pub end: Timestamp,
}

/// How a promo code is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PromoCodeType {
    /// Exact, case-insensitive (default).
    #[default]
    Exact,
    /// A regular expression, case-sensitive.
    Regex,
}

/// When a promo code's owner takes the credit *(documented)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PromoCreditPolicy {
    /// Whatever the clicks say (default).
    #[default]
    Always,
    /// If the owner drove any touch of the journey.
    Involved,
    /// Only if the owner also won by clicks.
    Winner,
}

/// A promo code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromoCodeDoc {
    /// The code, or a regular expression.
    pub code: String,
    /// Exact or regex.
    #[serde(rename = "type", default)]
    pub code_type: PromoCodeType,
    /// The owning partner.
    pub partner: PartnerId,
    /// When the owner takes credit.
    #[serde(default)]
    pub credit_policy: PromoCreditPolicy,
    /// Valid from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Timestamp>,
    /// Valid until (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
    /// When another partner's traffic would take the credit for an order that used this
    /// code, refuse the conversion as `BLOCKED_BY_PROMOCODE` instead (SPEC §6).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub block_other_partners: bool,
}

/// Sub ids preset on a vanity link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubIdsDoc {
    /// Sub id 1.
    #[serde(rename = "subId1", default, skip_serializing_if = "Option::is_none")]
    pub sub_id1: Option<String>,
    /// Sub id 2.
    #[serde(rename = "subId2", default, skip_serializing_if = "Option::is_none")]
    pub sub_id2: Option<String>,
    /// Sub id 3.
    #[serde(rename = "subId3", default, skip_serializing_if = "Option::is_none")]
    pub sub_id3: Option<String>,
}

/// A vanity link: `https://{tracking-domain}/{path}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VanityLinkDoc {
    /// The path, with or without its leading `/`.
    pub path: String,
    /// The partner or media source credited.
    pub partner: PartnerId,
    /// The ad, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad: Option<AdId>,
    /// Where it lands, on a permitted domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deep_link: Option<String>,
    /// Preset sub ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_ids: Option<SubIdsDoc>,
    /// Preset shared id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_id: Option<String>,
}

/// The life of a unique URL *(documented)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UniqueUrlState {
    /// In the pool, assigned to nobody.
    Available,
    /// Assigned and live.
    Inuse,
    /// Held for a partner, not yet live.
    Reserved,
    /// Recently released; visits land but earn nothing.
    Quarantine,
    /// Gone.
    Deleted,
}

/// A unique URL for an offline ad.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UniqueUrlDoc {
    /// The whole URL, e.g. `https://get-acme.test/`.
    pub url: String,
    /// The partner it is assigned to (required unless AVAILABLE or DELETED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<PartnerId>,
    /// Where it lands; default the program's default landing page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_page: Option<String>,
    /// Its state.
    pub state: UniqueUrlState,
}
