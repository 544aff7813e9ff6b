//! Property tests: the decision is total, deterministic, order-independent and monotone.

use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::sample::select;

use super::*;

static PROGRAM: LazyLock<Program> = LazyLock::new(program);

const OWNERS: [u64; 10] = [1, 2, 3, 4, 5, 6, 7, 10, 11, 99];

fn touch_strategy(owners: Vec<u64>) -> impl Strategy<Value = Touch> {
    let minutes_before = -3_000i64..50_000;
    let flags = (any::<bool>(), prop::bool::weighted(0.9));
    let kinds = (select(TouchSource::ALL.to_vec()), select(DeviceType::ALL.to_vec()));
    (minutes_before, select(owners), flags, kinds).prop_map(
        |(minutes, owner, (impression, creditable), (source, device))| Touch {
            at: conversion_at() - SignedDuration::from_mins(minutes),
            owner: PartnerId(owner),
            kind: if impression { TouchKind::Impression } else { TouchKind::Click },
            source,
            creditable,
            device,
        },
    )
}

fn touches_strategy() -> impl Strategy<Value = Vec<Touch>> {
    prop::collection::vec(touch_strategy(OWNERS.to_vec()), 0..8)
}

fn with_shuffled(touches: Vec<Touch>) -> impl Strategy<Value = (Vec<Touch>, Vec<Touch>)> {
    (Just(touches.clone()), Just(touches).prop_shuffle())
}

fn conversion_strategy() -> impl Strategy<Value = Conversion<'static>> {
    let code = prop::option::of(select(vec!["ALPHA10", "alpha10", "GAMMA7", "BETA5", "OLD", "NOPE"]));
    let owner = || prop::option::weighted(0.2, select(OWNERS.to_vec()).prop_map(PartnerId));
    (code, owner(), owner()).prop_map(|(promo_code, forced_partner, unique_url_partner)| Conversion {
        promo_code,
        forced_partner,
        unique_url_partner,
        ..conversion()
    })
}

/// The referral window of the test program, in minutes, mirrored by hand.
fn window_minutes(owner: PartnerId, kind: TouchKind) -> Option<i64> {
    match (owner == BETA, kind) {
        (true, TouchKind::Click) => Some(7 * 24 * 60),
        (true, TouchKind::Impression) => Some(24 * 60),
        (false, TouchKind::Click) => Some(30 * 24 * 60),
        (false, TouchKind::Impression) => None,
    }
}

fn winner(outcome: Outcome) -> Option<(PartnerId, Rule)> {
    match outcome {
        Outcome::Credited { partner, rule } => Some((partner, rule)),
        Outcome::CreditedToMediaSource { source, rule } => Some((source, rule)),
        Outcome::Refused(_) => None,
    }
}

proptest! {
    #[test]
    fn there_is_exactly_one_winner_or_a_refusal(conversion in conversion_strategy(), touches in touches_strategy()) {
        let result = attribute(&PROGRAM, &conversion, &touches);
        prop_assert_eq!(result.journey.len(), touches.len());
        prop_assert!(result.journey.windows(2).all(|pair| pair[0].touch.at <= pair[1].touch.at));
        prop_assert!(result.journey.iter().all(|step| step.credited == step.reason.is_none()));
        let credited: Vec<_> = result.journey.iter().filter(|step| step.credited).collect();
        match winner(result.outcome) {
            None => prop_assert!(credited.is_empty()),
            Some((owner, rule)) => {
                prop_assert!(credited.len() <= 1);
                prop_assert!(credited.iter().all(|step| step.touch.owner == owner));
                let by_touches =
                    matches!(rule, Rule::LastClick | Rule::FirstClick | Rule::CreditGroup | Rule::PromoCodeWinner);
                prop_assert!(!by_touches || credited.len() == 1);
            }
        }
    }

    #[test]
    fn the_decision_is_deterministic_and_independent_of_input_order(
        conversion in conversion_strategy(),
        (touches, shuffled) in touches_strategy().prop_flat_map(with_shuffled),
    ) {
        let first = attribute(&PROGRAM, &conversion, &touches);
        prop_assert_eq!(&first, &attribute(&PROGRAM, &conversion, &touches));
        prop_assert_eq!(&first, &attribute(&PROGRAM, &conversion, &shuffled));
    }

    #[test]
    fn a_touch_after_the_conversion_or_outside_its_window_never_wins(
        conversion in conversion_strategy(),
        touches in touches_strategy(),
    ) {
        let result = attribute(&PROGRAM, &conversion, &touches);
        for step in result.journey.iter().filter(|step| step.credited) {
            let age = conversion.at.duration_since(step.touch.at);
            prop_assert!(age >= SignedDuration::ZERO);
            let window = window_minutes(step.touch.owner, step.touch.kind).map(SignedDuration::from_mins);
            prop_assert!(window.is_some_and(|window| age <= window));
        }
    }

    #[test]
    fn adding_an_older_touch_never_changes_a_last_click_winner(
        touches in prop::collection::vec(touch_strategy(OWNERS.iter().copied().filter(|id| *id != 2).collect()), 1..8),
        older in touch_strategy(OWNERS.iter().copied().filter(|id| *id != 2).collect()),
        hours_earlier in 0i64..48,
    ) {
        let before = attribute(&PROGRAM, &conversion(), &touches);
        let Some((owner, rule)) = winner(before.outcome) else { return Ok(()) };
        prop_assert!(matches!(rule, Rule::LastClick | Rule::CreditGroup));
        let group = |id: PartnerId| PROGRAM.owner(id).map(|owner| owner.credit_group);
        // A touch of a higher credit group than the winner's may take over: that is the group rule.
        prop_assume!(group(older.owner).is_none_or(|older_group| Some(older_group) >= group(owner)));
        let earliest = touches.iter().map(|touch| touch.at).min().unwrap_or(conversion_at());
        let older = Touch { at: earliest - SignedDuration::from_hours(hours_earlier + 1), ..older };
        let mut extended = touches.clone();
        extended.push(older);
        prop_assert_eq!(attribute(&PROGRAM, &conversion(), &extended).outcome, before.outcome);
    }
}
