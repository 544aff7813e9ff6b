//! Identity (SPEC §5): the identifiers that name a browser, a device or a customer.
//! Identifiers seen together are linked; linked identifiers form one identity, and a
//! conversion's candidate touches are those of every visitor in its identity.

use std::fmt;

use crate::conversion::DeviceIdKind;
use crate::ids::VisitorId;

/// One identifier, stored as `kind:value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityKey {
    /// A browser, by Tally's cookie on the tracking domain: clicks carry it.
    Visitor(VisitorId),
    /// A browser, by the tag's first-party cookie on the brand's site.
    TagVisitor(String),
    /// The brand's customer id.
    Customer(String),
    /// A customer's email, as the keyed HMAC of its hash.
    Email(String),
    /// The brand's own id of a browser or device (`CustomProfileId`).
    Profile(String),
    /// A device advertising or vendor id.
    Device(DeviceIdKind, String),
}

impl IdentityKey {
    /// Reads a stored key; `None` for a kind this build does not know.
    pub fn parse(text: &str) -> Option<Self> {
        let (kind, value) = text.split_once(':')?;
        let value = value.to_owned();
        Some(match kind {
            "visitor" => Self::Visitor(value.parse().ok()?),
            "tag" => Self::TagVisitor(value),
            "customer" => Self::Customer(value),
            "email" => Self::Email(value),
            "profile" => Self::Profile(value),
            _ => {
                let device = kind.strip_prefix("device.")?;
                let (kind, _) = DeviceIdKind::ALL.into_iter().find(|(_, name)| name.eq_ignore_ascii_case(device))?;
                Self::Device(kind, value)
            }
        })
    }

    /// The visitor whose clicks this key finds directly.
    pub fn visitor(&self) -> Option<&VisitorId> {
        match self {
            Self::Visitor(visitor) => Some(visitor),
            _ => None,
        }
    }
}

impl fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Visitor(visitor) => write!(f, "visitor:{visitor}"),
            Self::TagVisitor(value) => write!(f, "tag:{value}"),
            Self::Customer(value) => write!(f, "customer:{value}"),
            Self::Email(value) => write!(f, "email:{value}"),
            Self::Profile(value) => write!(f, "profile:{value}"),
            Self::Device(kind, value) => write!(f, "device.{}:{value}", kind.as_str().to_ascii_lowercase()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_text() {
        let keys = [
            IdentityKey::Visitor(VisitorId::generate(7, 7)),
            IdentityKey::TagVisitor("t1".into()),
            IdentityKey::Customer("C:17".into()),
            IdentityKey::Email("ab".repeat(32)),
            IdentityKey::Profile("p".into()),
            IdentityKey::Device(DeviceIdKind::GoogAId, "38400000-8cf0-11bd-b23e-10b96e40000d".into()),
        ];
        for key in keys {
            assert_eq!(IdentityKey::parse(&key.to_string()), Some(key));
        }
        assert_eq!(IdentityKey::parse("planet:mars"), None);
        assert_eq!(IdentityKey::parse("visitor:not valid"), None);
    }
}
