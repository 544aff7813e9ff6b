//! The compatible S2S API's parameters (SPEC §4.1): documented names and aliases,
//! matched without regard to case, turned into a [`ConversionRequest`] or the list of
//! every field that is missing or malformed.
//!
//! A form body and a JSON body carry the same names; the HTTP adapter flattens either
//! into name/value pairs. Empty values count as absent, as HTML forms send them.
//! Parameters this API does not know are ignored (integrations send more than Tally
//! reads), but the raw submission is kept whole.

use std::collections::BTreeMap;
use std::str::FromStr;

use jiff::Timestamp;
use rust_decimal::Decimal;

use super::{
    ConversionRequest, CustomerStatus, DeviceId, DeviceIdKind, EventDate, EventTypeRef, FieldError, ItemRequest,
    RefusalCode,
};
use crate::ids::{EventTypeId, PartnerId, ProgramId};
use crate::money::{Currency, within_bounds};

/// The longest value of any parameter but `Note`.
pub const MAX_VALUE_LEN: usize = 1024;
/// The longest `Note`.
pub const MAX_NOTE_LEN: usize = 4096;
/// The most items one conversion may carry.
pub const MAX_ITEMS: usize = 1000;

/// Parameters read per item, by their name without the number.
const ITEM_FIELDS: [&str; 10] = [
    "ItemSku",
    "ItemName",
    "ItemCategory",
    "ItemSubCategory",
    "ItemBrand",
    "ItemQuantity",
    "ItemPrice",
    "ItemSubTotal",
    "ItemTotalDiscount",
    "ItemPromoCode",
];

/// Reads the documented parameters. Every problem is listed, not only the first.
pub fn parse(pairs: &[(String, String)]) -> Result<ConversionRequest, Vec<FieldError>> {
    parse_identified(pairs, false)
}

/// Like [`parse`], for a channel that names the visitor itself (the browser tag's
/// first-party id): the request then needs no attribution key of its own.
pub fn parse_identified(pairs: &[(String, String)], identified: bool) -> Result<ConversionRequest, Vec<FieldError>> {
    let mut reader = Reader::new(pairs);
    reader.identified = identified;
    let request = reader.request();
    if reader.errors.is_empty() { Ok(request) } else { Err(reader.errors) }
}

struct Reader<'a> {
    /// Non-empty values by lower-case name, with the name as sent.
    values: BTreeMap<String, (&'a str, &'a str)>,
    errors: Vec<FieldError>,
    /// The channel names the visitor, which is a key in itself.
    identified: bool,
}

impl<'a> Reader<'a> {
    fn new(pairs: &'a [(String, String)]) -> Self {
        let mut reader = Reader { values: BTreeMap::new(), errors: Vec::new(), identified: false };
        for (name, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let limit = if name.eq_ignore_ascii_case("Note") { MAX_NOTE_LEN } else { MAX_VALUE_LEN };
            if value.len() > limit {
                reader.error(name, format!("is longer than {limit} characters"));
                continue;
            }
            match reader.values.insert(name.to_ascii_lowercase(), (name.as_str(), value)) {
                Some((_, earlier)) if earlier != value => reader.error(name, "is sent twice with different values"),
                _ => {}
            }
        }
        reader
    }

    fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::malformed(field, message));
    }

    /// The value of the first of `names` present; two aliases with different values
    /// are an error naming both.
    fn text(&mut self, names: &[&str]) -> Option<(&'a str, String)> {
        let found: Vec<(&'a str, &'a str)> =
            names.iter().filter_map(|name| self.values.get(&name.to_ascii_lowercase()).copied()).collect();
        let (first_name, first_value) = *found.first()?;
        if let Some((other, _)) = found.iter().find(|(_, value)| *value != first_value) {
            self.error(first_name, format!("and {other} are aliases and must not differ"));
        }
        Some((first_name, first_value.to_owned()))
    }

    fn string(&mut self, names: &[&str]) -> Option<String> {
        self.text(names).map(|(_, value)| value)
    }

    fn parsed<T>(&mut self, names: &[&str], what: &str, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
        let (name, value) = self.text(names)?;
        let parsed = parse(&value);
        if parsed.is_none() {
            self.error(name, format!("must be {what}, not {value:?}"));
        }
        parsed
    }

    fn decimal(&mut self, names: &[&str]) -> Option<Decimal> {
        self.parsed(names, DECIMAL_AMOUNT, parse_decimal)
    }

    fn request(&mut self) -> ConversionRequest {
        let program = self
            .parsed(&["CampaignId"], "a program id (a positive whole number)", |text| ProgramId::from_str(text).ok());
        if program.is_none() && !self.has("CampaignId") {
            self.error("CampaignId", "is required");
        }
        let event_type = self.event_type();
        let event_date = self.parsed(&["EventDate"], "ISO 8601 with a UTC offset, or NOW", parse_event_date);
        if event_date.is_none() && !self.has("EventDate") {
            self.error("EventDate", "is required");
        }
        let order_id = self.string(&["OrderId", "Oid"]).unwrap_or_default();
        if order_id.is_empty() {
            self.errors.push(FieldError {
                field: "OrderId".into(),
                message: "is required".into(),
                code: RefusalCode::OidMissing,
            });
        }
        let mut request = ConversionRequest {
            program,
            event_type,
            event_date,
            order_id,
            click_id: self.string(&["ClickId"]),
            customer_id: self.string(&["CustomerId"]),
            custom_profile_id: self.string(&["CustomProfileId"]),
            customer_email_hash: self.parsed(
                &["CustomerEmail"],
                "a SHA-1 or SHA-256 hex digest (plain-text addresses are refused)",
                parse_email_hash,
            ),
            customer_status: self.string(&["CustomerStatus"]).map(|text| CustomerStatus::parse(&text)),
            currency: self.parsed(&["CurrencyCode", "Currency"], "an ISO 4217 code such as USD", |text| {
                Currency::from_str(&text.to_ascii_uppercase()).ok()
            }),
            promo_code: self.string(&["OrderPromoCode", "PromoCode"]),
            order_discount: self.decimal(&["OrderDiscount"]),
            order_shipping: self.decimal(&["OrderShipping"]),
            order_tax: self.decimal(&["OrderTax"]),
            order_subtotal_post_discount: self.decimal(&["OrderSubTotalPostDiscount"]),
            amount: self.decimal(&["Amount"]),
            media_partner: self
                .parsed(&["MediaPartnerId", "MediaId"], "a partner id", |text| PartnerId::from_str(text).ok()),
            sub_ids: [self.string(&["SubId1"]), self.string(&["SubId2"]), self.string(&["SubId3"])],
            shared_id: self.string(&["SharedId"]),
            unique_url: self.parsed(&["UniqueUrl"], "a URL such as https://get-acme.test/", normalise_unique_url),
            ip_address: self.parsed(&["IpAddress"], "an IPv4 or IPv6 address", |text| {
                text.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
            }),
            user_agent: self.string(&["UserAgent"]),
            note: self.string(&["Note"]),
            device_ids: self.device_ids(),
            app_install_ref: self.string(&["AppInstallRef"]),
            property_id: self.string(&["PropertyId"]),
            test: false,
            items: self.items(),
        };
        if let Some(click_id) = &request.click_id
            && !click_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            self.error("ClickId", "may hold only letters, digits, '-' and '_'");
            request.click_id = None;
        }
        self.check_request(&request);
        request
    }

    fn has(&self, name: &str) -> bool {
        self.values.contains_key(&name.to_ascii_lowercase())
    }

    fn event_type(&mut self) -> Option<EventTypeRef> {
        let by_id = self
            .parsed(&["ActionTrackerId", "EventTypeId"], "an event type id", |text| EventTypeId::from_str(text).ok());
        let by_code = self.string(&["EventTypeCode"]);
        match (by_id, by_code) {
            (Some(_), Some(_)) => {
                self.error("EventTypeCode", "cannot be sent together with ActionTrackerId or EventTypeId");
                None
            }
            (Some(id), None) => Some(EventTypeRef::Id(id)),
            (None, Some(code)) => Some(EventTypeRef::Code(code)),
            (None, None) => {
                if !self.has("ActionTrackerId") && !self.has("EventTypeId") {
                    self.error("ActionTrackerId", "is required (or EventTypeId, or EventTypeCode)");
                }
                None
            }
        }
    }

    fn device_ids(&mut self) -> Vec<DeviceId> {
        let mut ids = Vec::new();
        for (kind, name) in DeviceIdKind::ALL {
            if let Some(value) = self.string(&[name]) {
                ids.push(DeviceId { kind, value: value.to_ascii_lowercase() });
            }
        }
        ids
    }

    /// Items are numbered from 1 without gaps; each is read in full.
    fn items(&mut self) -> Vec<ItemRequest> {
        let numbers: std::collections::BTreeSet<u64> =
            self.values.keys().filter_map(|name| item_number(name)).collect();
        let Some(&highest) = numbers.last() else { return Vec::new() };
        if highest as usize > MAX_ITEMS {
            self.error("ItemSku", format!("items are numbered 1 to {MAX_ITEMS} at most, not {highest}"));
            return Vec::new();
        }
        if let Some(missing) = (1..=highest).find(|number| !numbers.contains(number)) {
            self.error(&format!("ItemSku{missing}"), "items must be numbered from 1 without gaps");
        }
        numbers.into_iter().map(|number| self.item(number)).collect()
    }

    fn item(&mut self, n: u64) -> ItemRequest {
        let name = |field: &str| format!("{field}{n}");
        let quantity = self
            .parsed(&[&name("ItemQuantity")], "a whole number of at least 1", |text| {
                text.parse::<u32>().ok().filter(|quantity| *quantity >= 1)
            })
            .unwrap_or(1);
        let item = ItemRequest {
            sku: self.string(&[&name("ItemSku")]),
            name: self.string(&[&name("ItemName")]),
            category: self.string(&[&name("ItemCategory")]),
            sub_category: self.string(&[&name("ItemSubCategory")]),
            brand: self.string(&[&name("ItemBrand")]),
            quantity,
            unit_price: self.decimal(&[&name("ItemPrice")]),
            sub_total: self.decimal(&[&name("ItemSubTotal")]),
            total_discount: self.decimal(&[&name("ItemTotalDiscount")]),
            promo_code: self.string(&[&name("ItemPromoCode")]),
        };
        if item.unit_price.is_some() && item.sub_total.is_some() {
            self.error(&name("ItemSubTotal"), format!("cannot be sent together with {}", name("ItemPrice")));
        }
        item
    }

    /// Rules across fields: an attribution key, and a currency for any money.
    fn check_request(&mut self, request: &ConversionRequest) {
        if !request.has_attribution_key() && !self.identified {
            self.error(
                "ClickId",
                "an attribution key is required: ClickId, CustomerId, CustomProfileId, OrderPromoCode, \
                 MediaPartnerId, UniqueUrl or a device id",
            );
        }
        if request.currency.is_none() && request.sends_money() && !self.has("CurrencyCode") && !self.has("Currency") {
            self.error("CurrencyCode", "is required when amounts are sent");
        }
    }
}

/// The item number of a lower-case parameter name such as `itemsubtotal12`.
fn item_number(lower_name: &str) -> Option<u64> {
    let digits_from = lower_name.find(|c: char| c.is_ascii_digit())?;
    let (field, number) = lower_name.split_at(digits_from);
    let known = ITEM_FIELDS.iter().any(|name| name.eq_ignore_ascii_case(field));
    let canonical = !number.starts_with('0') && number.bytes().all(|b| b.is_ascii_digit());
    if known && canonical { number.parse().ok() } else { None }
}

/// A decimal amount: digits with an optional sign and point, no exponent, no grouping,
/// at most [`MAX_AMOUNT`] either way (so sums and products of amounts never overflow).
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let plain = text.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+');
    let has_digit = text.bytes().any(|b| b.is_ascii_digit());
    if !plain || !has_digit || text.len() > 30 {
        return None;
    }
    Decimal::from_str_exact(text).ok().filter(|amount| within_bounds(*amount))
}

/// How the parsers describe what [`parse_decimal`] takes.
pub const DECIMAL_AMOUNT: &str = "a decimal amount such as 12.50 (at most 1000000000000)";

/// `NOW`, or an ISO 8601 instant with a UTC offset (`Z` or `±hh:mm`); a time without an
/// offset is ambiguous and refused.
pub fn parse_event_date(text: &str) -> Option<EventDate> {
    if text.eq_ignore_ascii_case("now") {
        return Some(EventDate::Now);
    }
    Timestamp::from_str(text).ok().map(EventDate::At)
}

/// A SHA-1 (40) or SHA-256 (64) hex digest, lower-cased.
pub fn parse_email_hash(text: &str) -> Option<String> {
    let hex = text.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && (text.len() == 40 || text.len() == 64)).then(|| text.to_ascii_lowercase())
}

/// A unique URL as brands write it, with or without its scheme, as an absolute URL.
fn normalise_unique_url(text: &str) -> Option<String> {
    let with_scheme = if text.contains("://") { text.to_owned() } else { format!("https://{text}") };
    let url = url::Url::parse(&with_scheme).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host_str().is_some()).then(|| url.to_string())
}
