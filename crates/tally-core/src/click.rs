//! The click record: one visit of a tracking link, vanity link, unique URL or
//! impression pixel, exactly as it is stored.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::{AdId, ClickId, PartnerId, ProgramId, VisitorId};

/// How the visit reached Tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TouchSource {
    /// A `/c/{partner}/{ad}/{program}` tracking link.
    Link,
    /// A vanity path on a tracking domain.
    Vanity,
    /// A unique URL of an offline ad.
    UniqueUrl,
    /// A link rewritten by a partner's STAT tag.
    Stat,
    /// An `/i/` impression pixel.
    Impression,
}

impl TouchSource {
    /// Every source, for parsing and tests.
    pub const ALL: [TouchSource; 5] = [Self::Link, Self::Vanity, Self::UniqueUrl, Self::Stat, Self::Impression];

    /// The stored and exported name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Vanity => "vanity",
            Self::UniqueUrl => "unique_url",
            Self::Stat => "stat",
            Self::Impression => "impression",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.as_str() == name)
    }

    /// Whether this touch is an impression rather than a click.
    pub fn is_impression(self) -> bool {
        self == Self::Impression
    }
}

/// Whether the touch belongs to a partner or to another media source (paid search,
/// email, another network). Both share one id space within a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerKind {
    /// A partner, paid under its contract.
    Partner,
    /// Another media source: can take the credit, pays nobody.
    MediaSource,
}

impl OwnerKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Partner => "partner",
            Self::MediaSource => "media_source",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Partner, Self::MediaSource].into_iter().find(|kind| kind.as_str() == name)
    }
}

/// The kind of device, from the user agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceType {
    /// A desktop or laptop browser.
    Desktop,
    /// A phone.
    Mobile,
    /// A tablet.
    Tablet,
    /// A crawler or other automated client.
    Bot,
    /// Anything else, or no user agent at all.
    Other,
}

impl DeviceType {
    /// Every device type.
    pub const ALL: [DeviceType; 5] = [Self::Desktop, Self::Mobile, Self::Tablet, Self::Bot, Self::Other];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Desktop => "desktop",
            Self::Mobile => "mobile",
            Self::Tablet => "tablet",
            Self::Bot => "bot",
            Self::Other => "other",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|device| device.as_str() == name)
    }
}

/// One recorded click or impression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Click {
    /// The journey's click id: shared by repeat clicks within the click session.
    pub click_id: ClickId,
    /// When Tally answered it.
    pub at: Timestamp,
    /// The program.
    pub program: ProgramId,
    /// The partner or media source whose link it was.
    pub owner: PartnerId,
    /// Whether the owner is a partner or another media source.
    pub owner_kind: OwnerKind,
    /// The ad, when the link names one.
    pub ad: Option<AdId>,
    /// How the visit reached Tally.
    pub source: TouchSource,
    /// The browser, from Tally's first-party cookie.
    pub visitor: VisitorId,
    /// Keyed hash of the client address (never the address itself).
    pub ip_hash: Option<String>,
    /// Coarse geography (ISO 3166 country), when known.
    pub country: Option<String>,
    /// The user agent, truncated to a sane length.
    pub user_agent: String,
    /// Device type parsed from the user agent.
    pub device: DeviceType,
    /// Operating system parsed from the user agent.
    pub os: String,
    /// Browser parsed from the user agent.
    pub browser: String,
    /// The referring page, when the browser sent one.
    pub referrer_url: Option<String>,
    /// The referring page's host.
    pub referrer_domain: Option<String>,
    /// Where the shopper was sent, with the tracking template applied.
    pub landing_page: String,
    /// The partner's sub ids (seen by the partner only).
    pub sub_ids: [Option<String>; 3],
    /// The shared id (seen by partner and brand).
    pub shared_id: Option<String>,
    /// First click of its click session.
    pub unique: bool,
    /// Made by a crawler or other automated client.
    pub bot: bool,
    /// One of more clicks from its address on its program than a person makes in a
    /// short time ([`crate::flood`]). Absent in journals written before the flag.
    #[serde(default)]
    pub flood: bool,
    /// Something about the link was wrong (refused deep link, oversized or undecodable
    /// parameters); the shopper still landed on a safe page.
    pub malformed: bool,
    /// Whether the touch can earn credit: false for a partner that is inactive or has
    /// no contract in force.
    pub creditable: bool,
}
