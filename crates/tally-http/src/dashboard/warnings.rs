//! Integrity warnings on one action (SPEC §10, §11): what a careful brand would check
//! before paying it, worked out from what the action recorded.

use jiff::SignedDuration;
use rust_decimal::Decimal;
use serde_json::Value;
use tally_app::ports::ActionRecord;
use tally_core::money::Currency;

use super::format::money;

/// A conversion this soon after its credited click is suspicious (click injection, a
/// cookie-stuffing redirect, or a tester).
const TOO_SOON: SignedDuration = SignedDuration::from_secs(30);
/// An event date this far after Tally received it is a clock or integration error.
const FUTURE_SLACK: SignedDuration = SignedDuration::from_mins(5);

/// One warning: a short title and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Warning {
    pub(crate) title: &'static str,
    pub(crate) text: String,
}

/// The warnings of an action, given its parsed detail and its program's currency.
pub(crate) fn of(action: &ActionRecord, detail: &Value, program_currency: Currency) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if action.test {
        warnings.push(Warning {
            title: "Test action",
            text: "This is a test action: it is never put on a statement and is left out of reports unless asked for."
                .into(),
        });
    }
    if let (Some(referred), "CLICK") = (action.referring_at, action.referring_type.as_str()) {
        let gap = action.event_at.duration_since(referred);
        if gap >= SignedDuration::ZERO && gap < TOO_SOON {
            warnings.push(Warning {
                title: "Converted seconds after the click",
                text: format!(
                    "The conversion happened {} second{} after the credited click. Check for click injection, a forced redirect or test traffic.",
                    gap.as_secs(),
                    if gap.as_secs() == 1 { "" } else { "s" }
                ),
            });
        }
    }
    if let Some(credited) = credited_touch(detail) {
        if credited["flood"] == true {
            warnings.push(Warning {
                title: "Credited click was part of a click flood",
                text: "The click that won the credit came from an address that sent this program more clicks than a person makes in a short time. Check the partner's traffic for click spamming.".into(),
            });
        }
        if credited["bot"] == true {
            warnings.push(Warning {
                title: "Credited click came from a crawler",
                text: "The click that won the credit was made by a crawler or another automated client, going by its user agent.".into(),
            });
        }
    }
    if action.currency != program_currency {
        warnings.push(Warning {
            title: "Other currency",
            text: format!(
                "The conversion was reported in {}, the program's currency is {}.",
                action.currency.code(),
                program_currency.code()
            ),
        });
    }
    if let Some(items_total) = items_total(detail)
        && items_total != action.sale_amount
        && action.state != "REVERSED"
    {
        warnings.push(Warning {
            title: "Sale amount does not match the items",
            text: format!(
                "The items add up to {}, the action's sale amount is {}.",
                money(items_total, action.currency),
                money(action.sale_amount, action.currency)
            ),
        });
    }
    if let (Some(sent), Some(items_total)) = (decimal(&detail["order"]["amount"]), items_total(detail))
        && sent != items_total
    {
        warnings.push(Warning {
            title: "Amount sent does not match the items",
            text: format!(
                "The conversion's Amount was {}, its items add up to {}.",
                money(sent, action.currency),
                money(items_total, action.currency)
            ),
        });
    }
    if action.event_at > action.created_at + FUTURE_SLACK {
        warnings.push(Warning {
            title: "Event date in the future",
            text: "The event date is later than the moment Tally received the conversion: check the clock or time zone of the sender.".into(),
        });
    }
    warnings
}

/// The journey's credited step (journeys stored before the flags carry neither).
fn credited_touch(detail: &Value) -> Option<&Value> {
    detail["journey"].as_array()?.iter().find(|step| step["credited"] == true)
}

fn decimal(value: &Value) -> Option<Decimal> {
    value.as_str()?.parse().ok()
}

/// The sum of the items' sale amounts, when the action has items.
fn items_total(detail: &Value) -> Option<Decimal> {
    let items = detail["items"].as_array().filter(|items| !items.is_empty())?;
    items.iter().map(|item| decimal(&item["saleAmount"])).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn action() -> ActionRecord {
        let at: jiff::Timestamp = "2026-03-02T12:00:00Z".parse().unwrap();
        ActionRecord {
            action_id: "A".into(),
            program: tally_core::ids::ProgramId(1),
            event_type: tally_core::ids::EventTypeId(1),
            order_id: "O".into(),
            event_at: at,
            created_at: at,
            state: "PENDING".into(),
            owner: tally_core::ids::PartnerId(101),
            owner_kind: tally_core::click::OwnerKind::Partner,
            rule: "LAST_CLICK".into(),
            ad: None,
            click_id: None,
            referring_at: Some(at - SignedDuration::from_hours(1)),
            referring_type: "CLICK".into(),
            currency: "USD".parse().unwrap(),
            sale_amount: "20.00".parse().unwrap(),
            payout: "2.00".parse().unwrap(),
            promo_code: None,
            customer_id: None,
            customer_email_hmac: None,
            customer_status: None,
            shared_id: None,
            sub_ids: [None, None, None],
            submission_id: "S".into(),
            test: false,
            detail: String::new(),
            locking_at: None,
            statement_id: None,
            event_day: at.to_zoned(jiff::tz::TimeZone::UTC).date(),
            device: None,
        }
    }

    fn titles(action: &ActionRecord, detail: &Value, currency: &str) -> Vec<&'static str> {
        of(action, detail, currency.parse().unwrap()).into_iter().map(|warning| warning.title).collect()
    }

    #[test]
    fn a_clean_action_has_no_warning() {
        let journey = json!([{"credited": false, "flood": true, "bot": true}, {"credited": true, "flood": false}]);
        let detail = json!({"items": [{"saleAmount": "20.00"}], "order": {"amount": null}, "journey": journey});
        assert!(titles(&action(), &detail, "USD").is_empty());
    }

    #[test]
    fn each_problem_is_named() {
        let mut suspicious = action();
        suspicious.test = true;
        suspicious.referring_at = Some(suspicious.event_at - SignedDuration::from_secs(3));
        suspicious.created_at = suspicious.event_at - SignedDuration::from_hours(1);
        let detail = json!({
            "items": [{"saleAmount": "15.00"}],
            "order": {"amount": "25.00"},
            "journey": [
                {"credited": false, "flood": false, "bot": false},
                {"credited": true, "flood": true, "bot": true},
            ],
        });
        assert_eq!(
            titles(&suspicious, &detail, "EUR"),
            vec![
                "Test action",
                "Converted seconds after the click",
                "Credited click was part of a click flood",
                "Credited click came from a crawler",
                "Other currency",
                "Sale amount does not match the items",
                "Amount sent does not match the items",
                "Event date in the future",
            ]
        );
    }
}
