//! The recorded journey: every candidate touch with its position and whether it won.

use super::rules::Verdict;
use super::{RefusalReason, Touch};

/// Where a touch sits in the journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Position {
    /// The first of several touches.
    Introducer,
    /// Between the first and the last.
    Influencer,
    /// The last touch (also a journey's only touch).
    Closer,
}

impl Position {
    /// The stored and exported name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Introducer => "INTRODUCER",
            Self::Influencer => "INFLUENCER",
            Self::Closer => "CLOSER",
        }
    }

    fn of(index: usize, len: usize) -> Self {
        if index + 1 == len {
            Self::Closer
        } else if index == 0 {
            Self::Introducer
        } else {
            Self::Influencer
        }
    }
}

/// One touch of the journey, as the action stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JourneyStep {
    /// The touch.
    pub touch: Touch,
    /// Its position in time order.
    pub position: Position,
    /// Whether this touch took the credit.
    pub credited: bool,
    /// Why it did not, when it did not.
    pub reason: Option<RefusalReason>,
}

/// Builds the journey from touches in canonical order; `credited` is the index of the
/// touch that took the credit, and `refusal` why nobody did, if nobody did.
pub(super) fn build(
    touches: &[Touch],
    verdicts: &[Verdict],
    credited: Option<usize>,
    refusal: Option<RefusalReason>,
) -> Vec<JourneyStep> {
    let len = touches.len();
    touches
        .iter()
        .zip(verdicts)
        .enumerate()
        .map(|(index, (touch, verdict))| {
            let won = credited == Some(index);
            let reason = if won { None } else { Some(loser_reason(verdict, refusal)) };
            JourneyStep { touch: *touch, position: Position::of(index, len), credited: won, reason }
        })
        .collect()
}

/// An ineligible touch keeps its own reason; an eligible one lost to another touch or
/// key, or (when nobody won) shares the conversion's refusal: an unclaimed journey, or
/// a blocking promo code.
fn loser_reason(verdict: &Verdict, refusal: Option<RefusalReason>) -> RefusalReason {
    match (verdict, refusal) {
        (Err(reason), _) => *reason,
        (Ok(_), None) => RefusalReason::OtherRefPrioritized,
        (Ok(_), Some(RefusalReason::BlockedByPromoCode)) => RefusalReason::BlockedByPromoCode,
        (Ok(_), Some(_)) => RefusalReason::Unclaimed,
    }
}
