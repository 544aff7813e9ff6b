//! The integration check (SPEC §10): the documented "verification questionnaire"
//! answered by Tally itself, from a program's recent submissions. Each check says what
//! is wrong or missing, how often, in which submissions, and how to fix it. Pure: the
//! caller reads the submissions and whether their click ids were found.

use rust_decimal::Decimal;

use crate::conversion::ConversionRequest;
use crate::conversion::order;
use crate::money::Currency;

/// What a check looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// A submission could not be read at all.
    Malformed,
    /// A conversion named no click id (nor another key that stands for one).
    NoClickId,
    /// A click id that no click of the program has.
    UnknownClickId,
    /// `Amount` differs from what the items add up to.
    AmountMismatch,
    /// No `CustomerStatus`, which new-customer payouts need.
    MissingCustomerStatus,
    /// A currency other than the program's.
    OtherCurrency,
    /// An order that looks like a test, sent as a real one.
    TestTraffic,
    /// An order id sent twice for one event type.
    DuplicateOrder,
}

impl Check {
    /// The check's code.
    pub fn code(self) -> &'static str {
        match self {
            Check::Malformed => "MALFORMED",
            Check::NoClickId => "NO_CLICK_ID",
            Check::UnknownClickId => "UNKNOWN_CLICK_ID",
            Check::AmountMismatch => "AMOUNT_MISMATCH",
            Check::MissingCustomerStatus => "MISSING_CUSTOMER_STATUS",
            Check::OtherCurrency => "OTHER_CURRENCY",
            Check::TestTraffic => "TEST_TRAFFIC",
            Check::DuplicateOrder => "DUPLICATE_ORDER",
        }
    }

    /// What is wrong, in a sentence.
    pub fn title(self) -> &'static str {
        match self {
            Check::Malformed => "Submissions with missing or malformed fields",
            Check::NoClickId => "Conversions without a click id",
            Check::UnknownClickId => "Click ids that match no click",
            Check::AmountMismatch => "Amounts that do not match their items",
            Check::MissingCustomerStatus => "Conversions without a customer status",
            Check::OtherCurrency => "Conversions in another currency than the program's",
            Check::TestTraffic => "Test orders sent as real ones",
            Check::DuplicateOrder => "Order ids sent more than once",
        }
    }

    /// How to fix it.
    pub fn fix(self) -> &'static str {
        match self {
            Check::Malformed => {
                "Open one of the submissions: its ErrorReason lists every field that is missing or malformed."
            }
            Check::NoClickId => {
                "Read the click id from the landing page's irclickid parameter (or the tag's cookie) and send it as ClickId; or send a CustomerId or promo code that identifies the shopper."
            }
            Check::UnknownClickId => {
                "Send the click id exactly as it arrived on the landing page, unchanged and not truncated, and only for this program's links."
            }
            Check::AmountMismatch => {
                "Send either the order Amount or the items, or make the Amount equal the items' totals less their discounts (shipping and tax excluded)."
            }
            Check::MissingCustomerStatus => "Send CustomerStatus as New or Existing with every conversion.",
            Check::OtherCurrency => {
                "Send CurrencyCode in the program's currency, or convert amounts before sending; payouts are computed in the currency sent."
            }
            Check::TestTraffic => {
                "Send test orders through the native API with \"test\": true, or reverse them with TEST_ACTION; they then never reach reports or statements."
            }
            Check::DuplicateOrder => {
                "Send each order once per event type; retry with the same Idempotency-Key rather than resending, and use modifications to change an order."
            }
        }
    }
}

/// One recent submission, as the checks see it.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// Its id, to show as an example.
    pub submission_id: &'a str,
    /// The conversion it carried, when it could be read.
    pub request: Option<&'a ConversionRequest>,
    /// The refusal code, when refused.
    pub refusal: Option<&'a str>,
    /// Whether its click id matched a click (`None` without a click id).
    pub click_found: Option<bool>,
}

/// A check that found something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The check.
    pub check: Check,
    /// How many submissions it found.
    pub count: u64,
    /// Up to [`EXAMPLES`] of them.
    pub examples: Vec<String>,
}

/// The most example submissions a finding lists.
pub const EXAMPLES: usize = 5;

/// The checks that found something, in the order of [`Check`].
pub fn findings(observed: &[Observed<'_>], program_currency: Currency) -> Vec<Finding> {
    let mut found: Vec<Finding> = Vec::new();
    let mut note = |check: Check, id: &str| match found.iter_mut().find(|finding| finding.check == check) {
        Some(finding) => {
            finding.count += 1;
            if finding.examples.len() < EXAMPLES {
                finding.examples.push(id.to_owned());
            }
        }
        None => found.push(Finding { check, count: 1, examples: vec![id.to_owned()] }),
    };
    for submission in observed {
        let id = submission.submission_id;
        match submission.refusal {
            Some("MALFORMED" | "OID_MISSING") => note(Check::Malformed, id),
            Some("CONV_DUPLICATE") => note(Check::DuplicateOrder, id),
            _ => {}
        }
        let Some(request) = submission.request else { continue };
        if request.click_id.is_none() {
            note(Check::NoClickId, id);
        }
        if submission.click_found == Some(false) {
            note(Check::UnknownClickId, id);
        }
        if amount_mismatch(request, program_currency) {
            note(Check::AmountMismatch, id);
        }
        if request.customer_status.is_none() {
            note(Check::MissingCustomerStatus, id);
        }
        if request.currency.is_some_and(|currency| currency != program_currency) {
            note(Check::OtherCurrency, id);
        }
        if !request.test && request.order_id.to_ascii_lowercase().contains("test") {
            note(Check::TestTraffic, id);
        }
    }
    found.sort_by_key(|finding| finding.check);
    found
}

/// Whether an order that sent both an `Amount` and items has an Amount more than one
/// minor unit away from its items' sale amount.
fn amount_mismatch(request: &ConversionRequest, program_currency: Currency) -> bool {
    let Some(amount) = request.amount else { return false };
    if request.items.is_empty() {
        return false;
    }
    let currency = request.currency.unwrap_or(program_currency);
    let priced = order::price(request, currency);
    let unit = Decimal::new(1, currency.minor_unit_digits());
    (priced.sale_amount - amount).abs() > unit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversion::compatible;

    fn request(pairs: &[(&str, &str)]) -> ConversionRequest {
        let mut all = vec![("CampaignId", "1"), ("ActionTrackerId", "1"), ("EventDate", "NOW")];
        all.extend_from_slice(pairs);
        let owned: Vec<(String, String)> = all.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        compatible::parse(&owned).expect("a valid conversion")
    }

    #[test]
    fn each_problem_is_found_counted_and_exemplified() {
        let usd: Currency = "USD".parse().unwrap();
        let good = request(&[
            ("OrderId", "A-1"),
            ("ClickId", "c1"),
            ("CustomerStatus", "New"),
            ("CurrencyCode", "USD"),
            ("Amount", "10"),
        ]);
        let no_click = request(&[("OrderId", "A-2"), ("CustomerId", "C-9"), ("CurrencyCode", "USD"), ("Amount", "10")]);
        let mismatch = request(&[
            ("OrderId", "test-3"),
            ("ClickId", "c3"),
            ("CustomerStatus", "Existing"),
            ("CurrencyCode", "EUR"),
            ("Amount", "50"),
            ("ItemSubTotal1", "40"),
        ]);
        let observed = [
            Observed { submission_id: "s1", request: Some(&good), refusal: None, click_found: Some(true) },
            Observed { submission_id: "s2", request: Some(&no_click), refusal: None, click_found: None },
            Observed { submission_id: "s3", request: Some(&mismatch), refusal: None, click_found: Some(false) },
            Observed { submission_id: "s4", request: None, refusal: Some("MALFORMED"), click_found: None },
            Observed {
                submission_id: "s5",
                request: Some(&good),
                refusal: Some("CONV_DUPLICATE"),
                click_found: Some(true),
            },
        ];
        let found = findings(&observed, usd);
        let summary: Vec<(&str, u64, Vec<String>)> =
            found.iter().map(|finding| (finding.check.code(), finding.count, finding.examples.clone())).collect();
        assert_eq!(
            summary,
            [
                ("MALFORMED", 1, vec!["s4".to_owned()]),
                ("NO_CLICK_ID", 1, vec!["s2".to_owned()]),
                ("UNKNOWN_CLICK_ID", 1, vec!["s3".to_owned()]),
                ("AMOUNT_MISMATCH", 1, vec!["s3".to_owned()]),
                ("MISSING_CUSTOMER_STATUS", 1, vec!["s2".to_owned()]),
                ("OTHER_CURRENCY", 1, vec!["s3".to_owned()]),
                ("TEST_TRAFFIC", 1, vec!["s3".to_owned()]),
                ("DUPLICATE_ORDER", 1, vec!["s5".to_owned()]),
            ]
        );
        assert!(found.iter().all(|finding| !finding.check.fix().is_empty() && !finding.check.title().is_empty()));
    }

    #[test]
    fn a_clean_integration_has_no_findings() {
        let usd: Currency = "USD".parse().unwrap();
        let good = request(&[
            ("OrderId", "A-1"),
            ("ClickId", "c1"),
            ("CustomerStatus", "New"),
            ("CurrencyCode", "USD"),
            ("Amount", "40"),
            ("ItemSubTotal1", "40"),
        ]);
        let observed = [Observed { submission_id: "s1", request: Some(&good), refusal: None, click_found: Some(true) }];
        assert!(findings(&observed, usd).is_empty());
    }
}
