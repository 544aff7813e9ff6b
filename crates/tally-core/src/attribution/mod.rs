//! Attribution (SPEC §6): which partner or media source, if any, takes the credit for a
//! conversion, and the journey of touches that led to it.
//!
//! [`attribute`] is a pure function of the program, the conversion and its candidate
//! touches. The touches are first put in one canonical order (time, then owner id, then
//! the remaining fields), so the order callers pass them in never matters; two touches
//! at the same instant are ordered by owner id, so "last" prefers the larger id.
//!
//! What decides, strongest first:
//! 1. a forced partner (`MediaPartnerId`) with terms for the event type in force;
//! 2. a unique-URL key whose partner has such terms;
//! 3. a promo code valid at the conversion whose owner has such terms, under its credit
//!    policy (ALWAYS; INVOLVED if the owner has an eligible touch; WINNER if the owner
//!    also won by touches);
//! 4. the touches: the highest credit group present among eligible touches, then the
//!    credit policy, taken from the terms of the partner of the group's latest touch
//!    (the closer's contract speaks for the event; LAST_CLICK when the group holds only
//!    media sources).
//!
//! An explicit key whose partner is not in force is ignored, and the next rule decides.

mod journey;
mod rules;
#[cfg(test)]
pub(crate) mod tests;

use jiff::Timestamp;

use crate::click::{DeviceType, OwnerKind, TouchSource};
use crate::ids::{EventTypeId, PartnerId};
use crate::program::Program;

pub use journey::{JourneyStep, Position};
pub(crate) use rules::DEFAULT_CLICK_WINDOW;

/// The conversion being attributed, as attribution needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conversion<'a> {
    /// When the event happened; the contract in force at this instant decides.
    pub at: Timestamp,
    /// The event type.
    pub event_type: EventTypeId,
    /// The promo code the order used, as sent.
    pub promo_code: Option<&'a str>,
    /// A partner named directly on the conversion (`MediaPartnerId`).
    pub forced_partner: Option<PartnerId>,
    /// The partner of the unique URL the conversion names.
    pub unique_url_partner: Option<PartnerId>,
}

/// Whether a touch was a click or an impression; referral windows differ by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TouchKind {
    /// A click (tracking link, vanity link, unique URL, STAT link).
    Click,
    /// An ad impression.
    Impression,
}

/// A candidate touch of the conversion's journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    /// When it happened.
    pub at: Timestamp,
    /// The partner or media source whose link or ad it was.
    pub owner: PartnerId,
    /// Click or impression.
    pub kind: TouchKind,
    /// How the visit reached Tally.
    pub source: TouchSource,
    /// Whether it could earn credit when it was recorded.
    pub creditable: bool,
    /// The device it came from.
    pub device: DeviceType,
}

/// The decision and the journey behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    /// Who takes the credit, or why nobody does.
    pub outcome: Outcome,
    /// Every candidate touch in time order.
    pub journey: Vec<JourneyStep>,
}

/// Who takes the credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A partner, paid under its contract.
    Credited {
        /// The partner.
        partner: PartnerId,
        /// What decided.
        rule: Rule,
    },
    /// Another media source: it takes the credit and nobody is paid.
    CreditedToMediaSource {
        /// The media source.
        source: PartnerId,
        /// What decided.
        rule: Rule,
    },
    /// Nobody.
    Refused(RefusalReason),
}

/// What decided the winner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The last eligible touch.
    LastClick,
    /// The first eligible touch.
    FirstClick,
    /// The credit group: the policy alone would have chosen a lower-group touch.
    CreditGroup,
    /// A promo code whose owner wins whatever the touches say.
    PromoCodeAlways,
    /// A promo code whose owner drove an eligible touch.
    PromoCodeInvolved,
    /// A promo code whose owner also won by touches.
    PromoCodeWinner,
    /// The partner named on the conversion.
    ForcedPartner,
    /// The unique URL the conversion names.
    UniqueUrl,
}

impl Rule {
    /// The stored and exported name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LastClick => "LAST_CLICK",
            Self::FirstClick => "FIRST_CLICK",
            Self::CreditGroup => "CREDIT_GROUP",
            Self::PromoCodeAlways => "PROMO_CODE_ALWAYS",
            Self::PromoCodeInvolved => "PROMO_CODE_INVOLVED",
            Self::PromoCodeWinner => "PROMO_CODE_WINNER",
            Self::ForcedPartner => "MEDIA_PARTNER_ID",
            Self::UniqueUrl => "UNIQUE_URL",
        }
    }
}

impl TouchKind {
    /// The stored name: `CLICK` or `IMPRESSION`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Click => "CLICK",
            Self::Impression => "IMPRESSION",
        }
    }
}

/// Why a conversion or a touch earns no credit, with the documented codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    /// No touch and no key: there is nothing to credit.
    NoTouch,
    /// After the conversion, or older than the referral window of its kind.
    OutsideAssociationWindow,
    /// The owner is unknown or has no terms for the event type at the conversion.
    ContractNotFound,
    /// The partner is inactive, or the touch was not creditable.
    PartnerNotActive,
    /// Only non-preferred sources took part.
    Unclaimed,
    /// Eligible, but another touch or key took the credit.
    OtherRefPrioritized,
    /// Another partner's traffic would have won an order that used a promo code whose
    /// owner blocks that.
    BlockedByPromoCode,
}

impl RefusalReason {
    /// The stored and exported code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoTouch => "NO_TOUCH",
            Self::OutsideAssociationWindow => "OUTSIDE_ASSOCIATION_WINDOW",
            Self::ContractNotFound => "CONTRACT_NOT_FOUND",
            Self::PartnerNotActive => "PARTNER_NOT_ACTIVE",
            Self::Unclaimed => "UNCLAIMED",
            Self::OtherRefPrioritized => "OTHER_REF_PRIORITIZED",
            Self::BlockedByPromoCode => "BLOCKED_BY_PROMOCODE",
        }
    }
}

/// Decides who takes the credit for `conversion` among `touches`, and records the journey.
pub fn attribute(program: &Program, conversion: &Conversion<'_>, touches: &[Touch]) -> Attribution {
    let touches = rules::canonical_order(touches);
    let verdicts: Vec<_> = touches.iter().map(|touch| rules::eligibility(program, conversion, touch)).collect();
    let by_touches = rules::touch_winner(program, conversion, &touches, &verdicts);
    let decision = rules::decide(program, conversion, &touches, &verdicts, by_touches);
    let blocked = decision.is_some_and(|decision| rules::blocked_by_promo_code(program, conversion, decision));
    let decision = decision.filter(|_| !blocked);
    let credited = decision.and_then(|decision| rules::credited_touch(decision, by_touches, &touches, &verdicts));
    let refusal = match decision {
        Some(_) => None,
        None if blocked => Some(RefusalReason::BlockedByPromoCode),
        None => Some(rules::refusal(conversion, &touches, &verdicts, by_touches)),
    };
    let outcome = match (decision, refusal) {
        (Some(decision), _) => credit(program, decision),
        (None, reason) => Outcome::Refused(reason.unwrap_or(RefusalReason::NoTouch)),
    };
    let journey = journey::build(&touches, &verdicts, credited, refusal);
    Attribution { outcome, journey }
}

fn credit(program: &Program, decision: rules::Decision) -> Outcome {
    let kind = program.owner(decision.owner).map(|owner| owner.kind);
    match kind {
        Some(OwnerKind::MediaSource) => Outcome::CreditedToMediaSource { source: decision.owner, rule: decision.rule },
        _ => Outcome::Credited { partner: decision.owner, rule: decision.rule },
    }
}
