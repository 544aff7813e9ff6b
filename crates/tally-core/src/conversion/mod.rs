//! Conversions in (SPEC §4): what a brand reports, checked field by field, and the
//! order's money worked out line by line.
//!
//! Every way in (the compatible S2S API, the native API, the browser tag) builds the
//! same [`ConversionRequest`]; [`compatible::parse`] does it for the documented
//! parameter names. [`order::price`] turns the items and order fields into sale
//! amounts; [`resolve`] checks the request against the program.

pub mod compatible;
pub mod native;
pub mod order;
pub mod resolve;
#[cfg(test)]
mod tests;

use jiff::Timestamp;
use rust_decimal::Decimal;

use crate::ids::{EventTypeId, PartnerId, ProgramId};
use crate::money::Currency;

/// A conversion as reported, every field checked for form but not yet against the program.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConversionRequest {
    /// `CampaignId`: the program.
    pub program: Option<ProgramId>,
    /// The event type, by id or code.
    pub event_type: Option<EventTypeRef>,
    /// `EventDate`.
    pub event_date: Option<EventDate>,
    /// `OrderId`, unique per event type.
    pub order_id: String,
    /// `ClickId`, as sent (an unknown id is not an error, it simply finds no touch).
    pub click_id: Option<String>,
    /// `CustomerId`: the brand's own customer id.
    pub customer_id: Option<String>,
    /// `CustomProfileId`: the brand's id of the browser or device.
    pub custom_profile_id: Option<String>,
    /// `CustomerEmail` as a lower-case SHA-1 or SHA-256 hex digest.
    pub customer_email_hash: Option<String>,
    /// `CustomerStatus`.
    pub customer_status: Option<CustomerStatus>,
    /// `CurrencyCode`.
    pub currency: Option<Currency>,
    /// `OrderPromoCode`.
    pub promo_code: Option<String>,
    /// `OrderDiscount`: spread over the items.
    pub order_discount: Option<Decimal>,
    /// `OrderShipping`: never part of the sale amount.
    pub order_shipping: Option<Decimal>,
    /// `OrderTax`: never part of the sale amount.
    pub order_tax: Option<Decimal>,
    /// `OrderSubTotalPostDiscount`: what the brand says the items add up to.
    pub order_subtotal_post_discount: Option<Decimal>,
    /// `Amount`: the sale amount of an order sent without items.
    pub amount: Option<Decimal>,
    /// `MediaPartnerId`: credit this partner directly.
    pub media_partner: Option<PartnerId>,
    /// `SubId1..3`.
    pub sub_ids: [Option<String>; 3],
    /// `SharedId`.
    pub shared_id: Option<String>,
    /// `UniqueUrl`, normalised to an absolute URL.
    pub unique_url: Option<String>,
    /// `IpAddress` (hashed before it is stored).
    pub ip_address: Option<String>,
    /// `UserAgent`.
    pub user_agent: Option<String>,
    /// `Note`.
    pub note: Option<String>,
    /// Device advertising and vendor ids.
    pub device_ids: Vec<DeviceId>,
    /// `AppInstallRef`: the install referrer, which may carry a click id.
    pub app_install_ref: Option<String>,
    /// `PropertyId`: the brand's site or app.
    pub property_id: Option<String>,
    /// A test conversion *(documented idea)*: its action is marked as a test, shown like
    /// a real one, but never on a statement nor in reports unless asked for. Only the
    /// native API sets it (`"test": true`).
    pub test: bool,
    /// Items, in the order they were numbered.
    pub items: Vec<ItemRequest>,
}

impl ConversionRequest {
    /// Whether the request names anything that can lead to a partner (SPEC §4.1's
    /// required attribution key).
    pub fn has_attribution_key(&self) -> bool {
        self.click_id.is_some()
            || self.customer_id.is_some()
            || self.custom_profile_id.is_some()
            || self.promo_code.is_some()
            || self.media_partner.is_some()
            || self.unique_url.is_some()
            || !self.device_ids.is_empty()
            || self.app_install_ref.is_some()
    }

    /// Whether any money field was sent, which makes `CurrencyCode` required.
    pub fn sends_money(&self) -> bool {
        let order =
            [self.order_discount, self.order_shipping, self.order_tax, self.order_subtotal_post_discount, self.amount];
        order.iter().any(Option::is_some)
            || self
                .items
                .iter()
                .any(|item| item.unit_price.is_some() || item.sub_total.is_some() || item.total_discount.is_some())
    }
}

/// One item line as reported.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemRequest {
    /// `ItemSku{n}`.
    pub sku: Option<String>,
    /// `ItemName{n}`.
    pub name: Option<String>,
    /// `ItemCategory{n}`.
    pub category: Option<String>,
    /// `ItemSubCategory{n}`.
    pub sub_category: Option<String>,
    /// `ItemBrand{n}`.
    pub brand: Option<String>,
    /// `ItemQuantity{n}`; 1 when absent.
    pub quantity: u32,
    /// `ItemPrice{n}`: the unit price.
    pub unit_price: Option<Decimal>,
    /// `ItemSubTotal{n}`: the line amount.
    pub sub_total: Option<Decimal>,
    /// `ItemTotalDiscount{n}`: discount on this line.
    pub total_discount: Option<Decimal>,
    /// `ItemPromoCode{n}`.
    pub promo_code: Option<String>,
}

/// How the request names its event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTypeRef {
    /// `ActionTrackerId` or `EventTypeId`.
    Id(EventTypeId),
    /// `EventTypeCode`.
    Code(String),
}

/// `EventDate`: an instant, or `NOW` (the time Tally receives it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventDate {
    /// When Tally receives the conversion.
    Now,
    /// A given instant.
    At(Timestamp),
}

impl EventDate {
    /// The instant, with `now` standing in for `NOW`.
    pub fn resolve(self, now: Timestamp) -> Timestamp {
        match self {
            Self::Now => now,
            Self::At(at) => at,
        }
    }
}

/// `CustomerStatus`: the two documented values match case-insensitively; anything else
/// is kept as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerStatus {
    /// A first-time customer.
    New,
    /// A returning customer.
    Existing,
    /// A brand-specific value.
    Other(String),
}

impl CustomerStatus {
    /// Reads a sent value.
    pub fn parse(text: &str) -> Self {
        if text.eq_ignore_ascii_case("new") {
            Self::New
        } else if text.eq_ignore_ascii_case("existing") {
            Self::Existing
        } else {
            Self::Other(text.to_owned())
        }
    }

    /// The stored and exported form: `New`, `Existing`, or the value as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Self::New => "New",
            Self::Existing => "Existing",
            Self::Other(text) => text,
        }
    }
}

/// The kinds of device id the compatible API takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceIdKind {
    /// `AppleIfa`: Apple's advertising id.
    AppleIfa,
    /// `AppleIfv`: Apple's vendor id.
    AppleIfv,
    /// `GoogAId`: Google's advertising id.
    GoogAId,
    /// `AndroidId`.
    AndroidId,
}

impl DeviceIdKind {
    /// Every kind, with its parameter name.
    pub const ALL: [(DeviceIdKind, &'static str); 4] = [
        (Self::AppleIfa, "AppleIfa"),
        (Self::AppleIfv, "AppleIfv"),
        (Self::GoogAId, "GoogAId"),
        (Self::AndroidId, "AndroidId"),
    ];

    /// The parameter name.
    pub fn as_str(self) -> &'static str {
        Self::ALL.iter().find(|(kind, _)| *kind == self).map_or("", |(_, name)| name)
    }
}

/// A device id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId {
    /// Which kind.
    pub kind: DeviceIdKind,
    /// The value, lower-cased (advertising ids are UUIDs, sent in either case).
    pub value: String,
}

/// A field that is missing or malformed: the S2S API's `400` lists these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The parameter name as documented (`OrderId`, `ItemPrice2`, …).
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
    /// The refusal code the submission record keeps.
    pub code: RefusalCode,
}

impl FieldError {
    pub(crate) fn malformed(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into(), code: RefusalCode::Malformed }
    }
}

/// Why a conversion made no action, with the documented codes (SPEC §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    /// The program is unknown or belongs to another account.
    CampaignNotFound,
    /// The event type is unknown.
    ActionTrackerNotFound,
    /// The event type belongs to another program.
    ActionTrackerCampaignMismatch,
    /// The order id was already used for this event type.
    ConvDuplicate,
    /// No order id.
    OidMissing,
    /// A sale with neither items nor an amount.
    NoItem,
    /// The action to modify does not exist.
    ActionRefNotFound,
    /// Every touch is after the conversion or older than its referral window.
    OutsideAssociationWindow,
    /// No partner with terms for the event type in force.
    ContractNotFound,
    /// The partner is inactive.
    PartnerNotActive,
    /// Another touch or key took the credit.
    OtherRefPrioritized,
    /// Only non-preferred sources took part.
    Unclaimed,
    /// The promo code belongs to a partner other than the one whose traffic used it.
    BlockedByPromocode,
    /// A field is missing or malformed.
    Malformed,
    /// Nothing in the conversion leads to any touch or key.
    NoTouch,
}

impl RefusalCode {
    /// The documented code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CampaignNotFound => "CAMPAIGN_NOT_FOUND",
            Self::ActionTrackerNotFound => "ACTIONTRACKER_NOT_FOUND",
            Self::ActionTrackerCampaignMismatch => "ACTIONTRACKER_CAMPAIGN_MISMATCH",
            Self::ConvDuplicate => "CONV_DUPLICATE",
            Self::OidMissing => "OID_MISSING",
            Self::NoItem => "NO_ITEM",
            Self::ActionRefNotFound => "ACTION_REF_NOT_FOUND",
            Self::OutsideAssociationWindow => "OUTSIDE_ASSOCIATION_WINDOW",
            Self::ContractNotFound => "CONTRACT_NOT_FOUND",
            Self::PartnerNotActive => "PARTNER_NOT_ACTIVE",
            Self::OtherRefPrioritized => "OTHER_REF_PRIORITIZED",
            Self::Unclaimed => "UNCLAIMED",
            Self::BlockedByPromocode => "BLOCKED_BY_PROMOCODE",
            Self::Malformed => "MALFORMED",
            Self::NoTouch => "NO_TOUCH",
        }
    }
}

impl From<crate::attribution::RefusalReason> for RefusalCode {
    fn from(reason: crate::attribution::RefusalReason) -> Self {
        use crate::attribution::RefusalReason;
        match reason {
            RefusalReason::NoTouch => Self::NoTouch,
            RefusalReason::OutsideAssociationWindow => Self::OutsideAssociationWindow,
            RefusalReason::ContractNotFound => Self::ContractNotFound,
            RefusalReason::PartnerNotActive => Self::PartnerNotActive,
            RefusalReason::Unclaimed => Self::Unclaimed,
            RefusalReason::OtherRefPrioritized => Self::OtherRefPrioritized,
            RefusalReason::BlockedByPromoCode => Self::BlockedByPromocode,
        }
    }
}
