//! How the dashboard writes amounts, instants and names: amounts with their currency
//! and the currency's minor unit, instants in the program's time zone.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use tally_core::ids::PartnerId;
use tally_core::money::Currency;
use tally_core::program::Program;

/// `1,234.50 USD`.
pub(crate) fn money(amount: Decimal, currency: Currency) -> String {
    format!("{} {}", number(amount, currency.minor_unit_digits()), currency.code())
}

/// A decimal with `digits` decimals and thousands separators: `-1,234.50`.
pub(crate) fn number(amount: Decimal, digits: u32) -> String {
    let rounded = amount.round_dp_with_strategy(digits, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{:.*}", digits as usize, rounded.abs());
    let (whole, fraction) = text.split_once('.').map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let mut grouped = String::with_capacity(text.len() + whole.len() / 3 + 1);
    if rounded.is_sign_negative() && !rounded.is_zero() {
        grouped.push('-');
    }
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if let Some(fraction) = fraction {
        grouped.push('.');
        grouped.push_str(fraction);
    }
    grouped
}

/// An amount stored as a decimal string in an action's detail, with its currency; the
/// text as it is when it is not a number.
pub(crate) fn money_text(text: &str, currency: Currency) -> String {
    match text.parse::<Decimal>() {
        Ok(amount) => money(amount, currency),
        Err(_) => text.to_owned(),
    }
}

/// `2026-03-02 07:00` in the time zone.
pub(crate) fn minute(at: Timestamp, time_zone: &TimeZone) -> String {
    at.to_zoned(time_zone.clone()).strftime("%Y-%m-%d %H:%M").to_string()
}

/// `2026-03-02 07:00:05` in the time zone.
pub(crate) fn second(at: Timestamp, time_zone: &TimeZone) -> String {
    at.to_zoned(time_zone.clone()).strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// A partner's or media source's name with its id: `Trail Blog (101)`.
pub(crate) fn owner_name(program: &Program, owner: PartnerId) -> String {
    match program.owner(owner) {
        Some(found) => format!("{} ({})", found.name, owner),
        None => format!("Partner {owner}"),
    }
}

/// An event type's name, or its id when the program no longer has it.
pub(crate) fn event_type_name(program: &Program, event_type: tally_core::ids::EventTypeId) -> String {
    program.event_type(event_type).map_or_else(|| format!("Event type {event_type}"), |found| found.name.clone())
}

/// `APPROVED` → `Approved`, `OTHER_REF_PRIORITIZED` → `Other ref prioritized`.
pub(crate) fn words(code: &str) -> String {
    let lower = code.replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_have_their_minor_unit_and_separators() {
        let usd: Currency = "USD".parse().unwrap();
        let jpy: Currency = "JPY".parse().unwrap();
        assert_eq!(money("1234.5".parse().unwrap(), usd), "1,234.50 USD");
        assert_eq!(money("-1234567.125".parse().unwrap(), usd), "-1,234,567.13 USD");
        assert_eq!(money("0".parse().unwrap(), usd), "0.00 USD");
        assert_eq!(money("999".parse().unwrap(), jpy), "999 JPY");
        assert_eq!(money("-0.001".parse().unwrap(), usd), "0.00 USD");
    }

    #[test]
    fn codes_read_as_words() {
        assert_eq!(words("OTHER_REF_PRIORITIZED"), "Other ref prioritized");
        assert_eq!(words("APPROVED"), "Approved");
        assert_eq!(words(""), "");
    }
}
