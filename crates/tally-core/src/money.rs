//! Money: a decimal amount with its ISO 4217 currency. Never floating point.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// An ISO 4217 currency, known by its alphabetic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(iso_currency::Currency);

/// A currency code that is not in ISO 4217.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an ISO 4217 currency code")]
pub struct UnknownCurrency(pub String);

impl Currency {
    /// The three-letter code, e.g. `USD`.
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point of the currency's minor unit (2 for USD, 0 for JPY).
    pub fn minor_unit_digits(self) -> u32 {
        self.0.exponent().map(u32::from).unwrap_or(0)
    }
}

/// The largest sale amount or payout Tally keeps, in any currency: a thousand billion.
/// Stores hold money as 64-bit counts of minor units, and reports add many together; an
/// amount past this is a mistake in the sender's data, refused with its name rather
/// than failing in the store.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// Whether `amount` is within what Tally keeps ([`MAX_AMOUNT`] either way of zero).
pub fn within_bounds(amount: Decimal) -> bool {
    amount.abs() <= MAX_AMOUNT
}

impl FromStr for Currency {
    type Err = UnknownCurrency;
    fn from_str(code: &str) -> Result<Self, UnknownCurrency> {
        let is_three_letters = code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase());
        iso_currency::Currency::from_code(code)
            .filter(|_| is_three_letters)
            .map(Currency)
            .ok_or_else(|| UnknownCurrency(code.to_owned()))
    }
}

impl TryFrom<String> for Currency {
    type Error = UnknownCurrency;
    fn try_from(code: String) -> Result<Self, UnknownCurrency> {
        code.parse()
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.code().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount of money in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    /// The decimal amount, exact.
    pub amount: Decimal,
    /// Its currency.
    pub currency: Currency,
}

/// Two amounts in different currencies were combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot combine {left} with {right}")]
pub struct CurrencyMismatch {
    /// The currency of the left operand.
    pub left: Currency,
    /// The currency of the right operand.
    pub right: Currency,
}

impl Money {
    /// Zero in the given currency.
    pub fn zero(currency: Currency) -> Self {
        Money { amount: Decimal::ZERO, currency }
    }

    /// Adds two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, CurrencyMismatch> {
        if self.currency != other.currency {
            return Err(CurrencyMismatch { left: self.currency, right: other.currency });
        }
        Ok(Money { amount: self.amount + other.amount, currency: self.currency })
    }

    /// Rounds half-up (away from zero at the midpoint) to the currency's minor unit.
    /// Tally rounds once per line, never on intermediate sums.
    pub fn round_to_minor_unit(self) -> Money {
        let digits = self.currency.minor_unit_digits();
        let mut amount = self.amount.round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero);
        // Written with the minor unit's digits: 0.00, not 0.
        amount.rescale(digits);
        Money { amount, currency: self.currency }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_bounded_at_a_thousand_billion_either_way() {
        assert_eq!(MAX_AMOUNT, Decimal::from(1_000_000_000_000_i64));
        assert!(within_bounds(MAX_AMOUNT) && within_bounds(-MAX_AMOUNT));
        assert!(!within_bounds(MAX_AMOUNT + Decimal::new(1, 2)));
        assert_eq!(crate::conversion::compatible::parse_decimal("1000000000000.01"), None);
        assert_eq!(crate::conversion::compatible::parse_decimal("-1000000000000"), Some(-MAX_AMOUNT));
    }

    #[test]
    fn currencies_are_iso_4217_upper_case_codes() {
        assert_eq!("USD".parse::<Currency>().map(Currency::minor_unit_digits), Ok(2));
        assert_eq!("JPY".parse::<Currency>().map(Currency::minor_unit_digits), Ok(0));
        for bad in ["usd", "XYZ", "US", "EURO", ""] {
            assert!(bad.parse::<Currency>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn money_refuses_to_mix_currencies_and_rounds_half_up() {
        let usd: Currency = "USD".parse().unwrap();
        let eur: Currency = "EUR".parse().unwrap();
        let a = Money { amount: Decimal::new(1005, 3), currency: usd };
        assert!(a.checked_add(Money::zero(eur)).is_err());
        assert_eq!(a.round_to_minor_unit().amount, Decimal::new(101, 2));
    }
}
