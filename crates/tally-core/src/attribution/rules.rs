//! The rules of SPEC §6, each a small pure step of [`super::attribute`].

use jiff::SignedDuration;

use super::{Conversion, RefusalReason, Rule, Touch, TouchKind};
use crate::click::OwnerKind;
use crate::ids::PartnerId;
use crate::program::{CreditGroup, CreditPolicy, Program, PromoCreditPolicy, ReferralWindowDoc, WindowTouch};

/// The click window used when the terms list no windows (impressions then get none).
pub(crate) const DEFAULT_CLICK_WINDOW: SignedDuration = SignedDuration::from_hours(30 * 24);

/// An eligible touch's owner: its credit group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Eligible {
    group: CreditGroup,
}

/// Whether a touch may take the credit, or why not.
pub(super) type Verdict = Result<Eligible, RefusalReason>;

/// What the touches alone decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ByTouches {
    /// The touch at this index of the canonical order won, by this rule.
    Winner { index: usize, rule: Rule },
    /// Eligible touches exist, but all are non-preferred.
    Unclaimed,
    /// No touch is eligible.
    NoneEligible,
}

/// Who takes the credit, and by what rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decision {
    pub(super) owner: PartnerId,
    pub(super) rule: Rule,
}

/// Sorts the touches into one total order, so the input order never matters.
pub(super) fn canonical_order(touches: &[Touch]) -> Vec<Touch> {
    let mut sorted = touches.to_vec();
    sorted.sort_by_key(|touch| {
        (touch.at, touch.owner, touch.kind, touch.source.as_str(), touch.device.as_str(), touch.creditable)
    });
    sorted
}

/// Checks one touch: in time, known owner, active, terms in force at the conversion,
/// and inside the referral window of its kind.
pub(super) fn eligibility(program: &Program, conversion: &Conversion<'_>, touch: &Touch) -> Verdict {
    if touch.at > conversion.at {
        return Err(RefusalReason::OutsideAssociationWindow);
    }
    let owner = program.owner(touch.owner).ok_or(RefusalReason::ContractNotFound)?;
    if !owner.active || !touch.creditable {
        return Err(RefusalReason::PartnerNotActive);
    }
    let windows = match owner.kind {
        OwnerKind::MediaSource => &[][..],
        OwnerKind::Partner => {
            let terms = program.terms_for(owner.id, conversion.event_type, conversion.at);
            &terms.ok_or(RefusalReason::ContractNotFound)?.referral_windows[..]
        }
    };
    let window = referral_window(windows, touch.kind).ok_or(RefusalReason::OutsideAssociationWindow)?;
    if conversion.at.duration_since(touch.at) > window {
        return Err(RefusalReason::OutsideAssociationWindow);
    }
    Ok(Eligible { group: owner.credit_group })
}

/// The window for a touch kind: the configured one, none if the terms configure other
/// kinds only, and the defaults (clicks 30 days, impressions none) if they configure none.
fn referral_window(windows: &[ReferralWindowDoc], kind: TouchKind) -> Option<SignedDuration> {
    let touch = match kind {
        TouchKind::Click => WindowTouch::Click,
        TouchKind::Impression => WindowTouch::Impression,
    };
    if windows.is_empty() {
        return (touch == WindowTouch::Click).then_some(DEFAULT_CLICK_WINDOW);
    }
    windows.iter().find(|window| window.touch == touch).map(ReferralWindowDoc::duration)
}

/// The winner by touches: the highest credit group present, then its credit policy.
pub(super) fn touch_winner(
    program: &Program,
    conversion: &Conversion<'_>,
    touches: &[Touch],
    verdicts: &[Verdict],
) -> ByTouches {
    let eligible: Vec<(usize, CreditGroup)> =
        verdicts.iter().enumerate().filter_map(|(index, verdict)| Some((index, verdict.ok()?.group))).collect();
    let Some(top) = eligible.iter().map(|(_, group)| *group).min() else { return ByTouches::NoneEligible };
    if top == CreditGroup::NonPreferred {
        return ByTouches::Unclaimed;
    }
    let in_group: Vec<usize> = eligible.iter().filter(|(_, group)| *group == top).map(|(index, _)| *index).collect();
    let policy = group_policy(program, conversion, touches, &in_group);
    let Some(index) = pick(policy, &in_group) else { return ByTouches::NoneEligible };
    let all: Vec<usize> = eligible.iter().map(|(index, _)| *index).collect();
    let rule = match policy {
        _ if pick(policy, &all) != Some(index) => Rule::CreditGroup,
        CreditPolicy::LastClick => Rule::LastClick,
        CreditPolicy::FirstClick => Rule::FirstClick,
    };
    ByTouches::Winner { index, rule }
}

/// The credit policy of the terms of the group's latest partner touch.
fn group_policy(program: &Program, conversion: &Conversion<'_>, touches: &[Touch], in_group: &[usize]) -> CreditPolicy {
    in_group
        .iter()
        .rev()
        .filter_map(|index| touches.get(*index))
        .find_map(|touch| program.terms_for(touch.owner, conversion.event_type, conversion.at))
        .map(|terms| terms.credit_policy)
        .unwrap_or_default()
}

fn pick(policy: CreditPolicy, indices: &[usize]) -> Option<usize> {
    match policy {
        CreditPolicy::LastClick => indices.last().copied(),
        CreditPolicy::FirstClick => indices.first().copied(),
    }
}

/// Applies the explicit keys, then the promo code, then the touches.
pub(super) fn decide(
    program: &Program,
    conversion: &Conversion<'_>,
    touches: &[Touch],
    verdicts: &[Verdict],
    by_touches: ByTouches,
) -> Option<Decision> {
    let touch_winner = match by_touches {
        ByTouches::Winner { index, rule } => touches.get(index).map(|touch| Decision { owner: touch.owner, rule }),
        ByTouches::Unclaimed | ByTouches::NoneEligible => None,
    };
    explicit(program, conversion, conversion.forced_partner, Rule::ForcedPartner)
        .or_else(|| explicit(program, conversion, conversion.unique_url_partner, Rule::UniqueUrl))
        .or_else(|| promo(program, conversion, touches, verdicts, touch_winner))
        .or(touch_winner)
}

/// A partner named by a key wins if it is active with terms for the event in force.
fn explicit(
    program: &Program,
    conversion: &Conversion<'_>,
    partner: Option<PartnerId>,
    rule: Rule,
) -> Option<Decision> {
    let owner = partner?;
    in_force(program, conversion, owner).then_some(Decision { owner, rule })
}

fn in_force(program: &Program, conversion: &Conversion<'_>, partner: PartnerId) -> bool {
    program.owner(partner).is_some_and(|owner| owner.kind == OwnerKind::Partner && owner.active)
        && program.terms_for(partner, conversion.event_type, conversion.at).is_some()
}

/// The promo code's owner, when the code's credit policy lets it win.
fn promo(
    program: &Program,
    conversion: &Conversion<'_>,
    touches: &[Touch],
    verdicts: &[Verdict],
    touch_winner: Option<Decision>,
) -> Option<Decision> {
    let code = program.promo_code(conversion.promo_code?, conversion.at)?;
    let owner = code.owner;
    if !in_force(program, conversion, owner) {
        return None;
    }
    let involved = touches.iter().zip(verdicts).any(|(touch, verdict)| touch.owner == owner && verdict.is_ok());
    let (wins, rule) = match code.credit_policy {
        PromoCreditPolicy::Always => (true, Rule::PromoCodeAlways),
        PromoCreditPolicy::Involved => (involved, Rule::PromoCodeInvolved),
        PromoCreditPolicy::Winner => (touch_winner.is_some_and(|winner| winner.owner == owner), Rule::PromoCodeWinner),
    };
    wins.then_some(Decision { owner, rule })
}

/// Whether the code the order used blocks this winner: another partner, winning through
/// the code's rules or the touches (an explicit key names its partner on purpose).
pub(super) fn blocked_by_promo_code(program: &Program, conversion: &Conversion<'_>, decision: Decision) -> bool {
    if matches!(decision.rule, Rule::ForcedPartner | Rule::UniqueUrl) {
        return false;
    }
    let Some(code) = conversion.promo_code.and_then(|text| program.promo_code(text, conversion.at)) else {
        return false;
    };
    let winner_is_partner = program.owner(decision.owner).is_some_and(|owner| owner.kind == OwnerKind::Partner);
    code.blocks_other_partners && winner_is_partner && decision.owner != code.owner
}

/// The touch recorded as credited: the touch winner if it is the winner's, else the
/// winner's latest eligible touch, if any.
pub(super) fn credited_touch(
    decision: Decision,
    by_touches: ByTouches,
    touches: &[Touch],
    verdicts: &[Verdict],
) -> Option<usize> {
    if let ByTouches::Winner { index, .. } = by_touches
        && touches.get(index).is_some_and(|touch| touch.owner == decision.owner)
    {
        return Some(index);
    }
    let owned = |index: &usize| touches.get(*index).is_some_and(|touch| touch.owner == decision.owner);
    (0..touches.len()).rev().filter(owned).find(|index| verdicts.get(*index).is_some_and(Result::is_ok))
}

/// Why nobody won: no touch at all, an unclaimed journey, or the reason of the latest
/// touch not after the conversion (after-conversion touches only: outside the window).
pub(super) fn refusal(
    conversion: &Conversion<'_>,
    touches: &[Touch],
    verdicts: &[Verdict],
    by_touches: ByTouches,
) -> RefusalReason {
    if touches.is_empty() {
        return RefusalReason::NoTouch;
    }
    if by_touches == ByTouches::Unclaimed {
        return RefusalReason::Unclaimed;
    }
    touches
        .iter()
        .zip(verdicts)
        .rev()
        .find(|(touch, _)| touch.at <= conversion.at)
        .and_then(|(_, verdict)| verdict.err())
        .unwrap_or(RefusalReason::OutsideAssociationWindow)
}
