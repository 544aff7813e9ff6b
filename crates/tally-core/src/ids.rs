//! Identifiers: one newtype per entity.
//!
//! Numeric ids (programs, partners, ads, event types) are chosen by the brand in its
//! program document and appear in tracking links. Ids a stranger could enumerate
//! (click ids, visitor ids) are random and carry at least 80 bits of entropy.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares a numeric id newtype, as used in tracking links (`/c/{partner}/{ad}/{program}`).
macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(text: &str) -> Result<Self, IdError> {
                parse_numeric_id(text).map($name)
            }
        }
    };
}

numeric_id!(
    /// A program (the seed platform's "campaign").
    ProgramId
);
numeric_id!(
    /// A partner or an other-media source: they share one id space per program.
    PartnerId
);
numeric_id!(
    /// An ad (creative) of a program.
    AdId
);
numeric_id!(
    /// An event type (the seed platform's "action tracker").
    EventTypeId
);
numeric_id!(
    /// A set of template terms.
    TermsId
);

/// Why a textual id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not a decimal number, or out of range.
    #[error("not a numeric id between 1 and 999999999999")]
    NotNumeric,
    /// Wrong length or characters outside the id alphabet.
    #[error("not a well-formed id")]
    Malformed,
}

/// The largest numeric id accepted: twelve digits keeps ids exact in every JSON
/// reader (well inside 2^53) and in both databases' BIGINT.
pub const MAX_NUMERIC_ID: u64 = 999_999_999_999;

fn parse_numeric_id(text: &str) -> Result<u64, IdError> {
    let all_digits = !text.is_empty() && text.len() <= 12 && text.bytes().all(|b| b.is_ascii_digit());
    if !all_digits {
        return Err(IdError::NotNumeric);
    }
    match text.parse::<u64>() {
        Ok(id) if (1..=MAX_NUMERIC_ID).contains(&id) => Ok(id),
        _ => Err(IdError::NotNumeric),
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// 22 base62 characters: a 48-bit millisecond time prefix, so that new ids append at
/// the end of the store's indexes instead of scattering over them, then 80 random bits,
/// so that they cannot be guessed.
fn time_ordered_token(unix_millis: u64, random: u128) -> String {
    let time_bits = u128::from(unix_millis & 0xFFFF_FFFF_FFFF) << 80;
    let random_bits = random & ((1u128 << 80) - 1);
    base62_128(time_bits | random_bits)
}

/// Encodes a 128-bit value as 22 base62 digits. The alphabet is in ASCII order and the
/// width is fixed, so the text sorts like the number.
pub fn base62_128(value: u128) -> String {
    // Two u128 divisions split the value into chunks of 10 digits, which u64
    // arithmetic encodes (a u128 division per digit costs more than the rest).
    const TEN_DIGITS: u128 = 62u128.pow(10);
    let mut digits = [b'0'; 22];
    let chunks = [
        (value % TEN_DIGITS) as u64,
        (value / TEN_DIGITS % TEN_DIGITS) as u64,
        (value / TEN_DIGITS / TEN_DIGITS) as u64,
    ];
    for (chunk, slots) in chunks.into_iter().zip(digits.rchunks_mut(10)) {
        let mut chunk = chunk;
        for slot in slots.iter_mut().rev() {
            *slot = BASE62[(chunk % 62) as usize];
            chunk /= 62;
        }
    }
    digits.iter().map(|&b| b as char).collect()
}

/// A click id: stands for one browser's journey with one partner within the program's
/// click session, and is what the landing page receives as `irclickid`.
///
/// Generated ids are 22 base62 characters: a 48-bit millisecond time prefix, so that
/// new ids append at the end of the store's index instead of scattering, then 80 random
/// bits, so that they cannot be guessed. Ids read back from outside (a conversion's
/// `ClickId`) are accepted if URL-safe and at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClickId(String);

impl ClickId {
    /// The longest click id accepted from outside.
    pub const MAX_LEN: usize = 64;

    /// Builds a new click id from the time it was made and 80 random bits.
    pub fn generate(unix_millis: u64, random: u128) -> Self {
        ClickId(time_ordered_token(unix_millis, random))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Text conversions of an opaque id made of URL-safe characters: parsing checks the
/// alphabet and the length, so every value that exists is well formed.
macro_rules! token_id_conversions {
    ($name:ident, $max_len:expr) => {
        impl FromStr for $name {
            type Err = IdError;
            fn from_str(text: &str) -> Result<Self, IdError> {
                if is_url_safe_token(text, $max_len) { Ok($name(text.to_owned())) } else { Err(IdError::Malformed) }
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(text: String) -> Result<Self, IdError> {
                text.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn is_url_safe_token(text: &str, max_len: usize) -> bool {
    !text.is_empty()
        && text.len() <= max_len
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

token_id_conversions!(ClickId, ClickId::MAX_LEN);

/// A visitor: one browser or device, as named by Tally's first-party cookie.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VisitorId(String);

impl VisitorId {
    /// Builds a new visitor id from the time it was made and 80 random bits. The time
    /// prefix keeps the store's index of clicks by visitor appending (most clicks come
    /// from new visitors) instead of rewriting a random page per click.
    pub fn generate(unix_millis: u64, random: u128) -> Self {
        VisitorId(time_ordered_token(unix_millis, random))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

token_id_conversions!(VisitorId, 64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_is_fixed_width_and_digit_by_digit() {
        let digit_by_digit = |mut value: u128| {
            let mut digits = [b'0'; 22];
            for slot in digits.iter_mut().rev() {
                *slot = BASE62[(value % 62) as usize];
                value /= 62;
            }
            String::from_utf8(digits.to_vec()).unwrap_or_default()
        };
        let samples = [0, 1, 61, 62, 62u128.pow(10) - 1, 62u128.pow(10), 62u128.pow(20) + 5, u128::MAX / 3, u128::MAX];
        for value in samples {
            assert_eq!(base62_128(value), digit_by_digit(value), "{value}");
        }
        assert_eq!(base62_128(u128::MAX), "7n42DGM5Tflk9n8mt7Fhc7");
        assert!(base62_128(62u128.pow(10) - 1) < base62_128(62u128.pow(10)));
    }

    #[test]
    fn generated_visitor_ids_sort_by_time() {
        assert!(VisitorId::generate(1_000, u128::MAX) < VisitorId::generate(1_001, 0));
        assert_ne!(VisitorId::generate(5, 1), VisitorId::generate(5, 2));
    }

    #[test]
    fn numeric_ids_refuse_zero_signs_and_overflow() {
        assert_eq!("42".parse::<PartnerId>(), Ok(PartnerId(42)));
        for bad in ["0", "", "-1", "+1", "1.0", "9999999999999", "18446744073709551616", "٣"] {
            assert!(bad.parse::<PartnerId>().is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn generated_click_ids_sort_by_time_and_differ_by_random_bits() {
        let early = ClickId::generate(1_000, u128::MAX);
        let late = ClickId::generate(1_001, 0);
        assert!(early < late);
        assert_eq!(early.as_str().len(), 22);
        assert_ne!(ClickId::generate(5, 1), ClickId::generate(5, 2));
    }

    #[test]
    fn click_ids_from_outside_must_be_url_safe_and_short() {
        assert!("abc-DEF_123".parse::<ClickId>().is_ok());
        assert!("a".repeat(64).parse::<ClickId>().is_ok());
        assert!("a".repeat(65).parse::<ClickId>().is_err());
        assert!("abc def".parse::<ClickId>().is_err());
        assert!("".parse::<ClickId>().is_err());
    }
}
